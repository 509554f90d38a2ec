"""The OpenID Connect provider, on Authlib's authorization-server core.

Authlib's server is synchronous and framework-agnostic: routes read the HTTP request, then run the
grant in a worker thread with a synchronous SQLAlchemy session (psycopg) that commits once at the end
(``OAuthServer.run``). Profile, per RFC 9700 (OAuth 2.0 Security BCP):
- authorization code with PKCE, S256 only, required of every client; no implicit, no password grant;
- redirect URIs matched exactly; ``iss`` in the authorization response (RFC 9207);
- refresh tokens rotated on every use; reusing a rotated one revokes its whole family (§4.14.2); one obtained
  in a browser session ends with it (signed out, idle or past its absolute timeout), and refreshing is
  activity that keeps the session going;
- access tokens are JWTs (RFC 9068 ``at+jwt``) signed with the active key; their ids are recorded so
  that revocation (RFC 7009) and introspection (RFC 7662) can answer for them;
- a person's tokens act for one organisation (``org``), named at authorization (``organisation``, one of the
  person's; by default the first they joined) and kept by the code and every refresh token of the grant; their
  roles and permissions are those held globally and in that organisation, nowhere else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import jwt
from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer, OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, OAuth2Payload, grants
from authlib.oauth2.rfc6749.errors import AccessDeniedError
from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, TokenMixin
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import OpenIDCode, UserInfo
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from kairos.identity.domain.roles import Role, effective_permissions
from kairos.identity.keys import SigningKeys
from kairos.identity.repository import load_account_record_sync
from kairos.identity.sessions import IDLE_TIMEOUT
from kairos.identity.tables import (
    access_tokens,
    authorization_codes,
    browser_sessions,
    memberships,
    oauth_clients,
    refresh_tokens,
)
from kairos.platform.crypto import DataCipher

CIPHER = "kairos.cipher"  # where a grant's session carries the service's cipher (``Session.info``)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
REFRESH_TOKEN_LIFETIME = timedelta(days=14)
AUTHORIZATION_CODE_LIFETIME = timedelta(minutes=2)
ID_TOKEN_LIFETIME = timedelta(minutes=10)
SCOPES_SUPPORTED = ["openid", "profile", "email", "offline_access"]
ORGANISATION_PARAMETER = "organisation"  # of /authorize: the organisation the session acts for

T = TypeVar("T")


def digest(secret: str) -> bytes:
    """Codes, refresh tokens and client secrets are high-entropy: a SHA-256 digest is enough to store them."""
    return hashlib.sha256(secret.encode()).digest()


# --- what a route hands to the worker thread ------------------------------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class HttpResponse:
    status: int
    body: str | bytes
    headers: list[tuple[str, str]]

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:
        self.headers = [(name, v) for name, v in self.headers if name.lower() != "location"] + [("Location", value)]


class _Payload(OAuth2Payload):
    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            self._datalist[name].append(value)
        self._data = {name: values[0] for name, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class KairosRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(self, http: HttpRequest, session: Session) -> None:
        super().__init__(method=http.method, uri=http.url, headers=http.headers)
        self.payload = _Payload([*http.query, *http.form])
        self._args = dict(http.query)
        self._form = dict(http.form)
        self.session = session
        self.family_id: uuid.UUID | None = None
        self.session_id: uuid.UUID | None = None
        self.amr: list[str] = ["pwd"]  # how the browser session's user authenticated (RFC 8176)
        self.organisation_id: uuid.UUID | None = None  # the organisation the grant acts for

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


# --- models Authlib asks for -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A user as tokens describe them, acting for one organisation (``organisation_id``) or none."""

    id: uuid.UUID
    email: str
    display_name: str
    locale: str
    zone: str
    email_verified: bool
    roles: frozenset[Role]  # held globally, and in ``organisation_id``
    organisation_id: uuid.UUID | None
    global_roles: frozenset[Role] = frozenset()
    organisations: tuple[uuid.UUID, ...] = ()  # every organisation the person is a member of, first joined first

    def get_user_id(self) -> str:
        return str(self.id)


def load_account(session: Session, user_id: uuid.UUID, organisation_id: uuid.UUID | None = None) -> Account | None:
    """The enabled account, acting for ``organisation_id`` if given (with no organisational role at all once it is
    no longer a member there), else for the first organisation it joined."""
    row = load_account_record_sync(session, session.info[CIPHER], user_id, is_enabled=True)  # cipher: ``run``
    if row is None:
        return None
    held = session.execute(
        select(memberships.c.organisation_id, memberships.c.role)
        .where(memberships.c.user_id == user_id)
        .order_by(memberships.c.created_at, memberships.c.organisation_id)
    ).all()
    joined = tuple(dict.fromkeys(org for org, _ in held))
    acting = organisation_id if organisation_id is not None else (joined[0] if joined else None)
    if acting not in joined:
        acting = None
    global_roles = frozenset(Role(role) for role in row.global_roles)
    roles = global_roles | {Role(role) for org, role in held if org == acting}
    return Account(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        locale=row.locale,
        zone=row.zone,
        email_verified=row.is_email_verified,
        roles=frozenset(roles),
        organisation_id=acting,
        global_roles=global_roles,
        organisations=joined,
    )


def chosen_organisation(request: KairosRequest, account: Account) -> uuid.UUID | None:
    """The organisation an authorization request asks to act for: one of the person's (``AccessDeniedError``
    otherwise, alike for an unknown organisation and another's), or by default the first they joined."""
    wanted = request.payload.data.get(ORGANISATION_PARAMETER)
    if not wanted:
        return account.organisations[0] if account.organisations else None
    try:
        organisation = uuid.UUID(wanted)
    except ValueError:
        organisation = None
    if organisation is None or organisation not in account.organisations:
        raise AccessDeniedError(description="the account is not a member of the organisation asked for")
    return organisation


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    secret_hash: str | None
    name: str
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    first_party: bool

    @property
    def is_public(self) -> bool:
        return self.secret_hash is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # RFC 6749 §3.1.2.3: only when exactly one is registered.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        return " ".join(part for part in scope.split() if part in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact string match (RFC 9700 §4.1.3)

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret_hash is not None and hmac.compare_digest(digest(client_secret).hex(), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


def load_client(session: Session, client_id: str) -> Client | None:
    row = session.execute(select(oauth_clients).where(oauth_clients.c.client_id == client_id)).mappings().first()
    if row is None:
        return None
    return Client(
        client_id=row["client_id"],
        secret_hash=row["secret_hash"],
        name=row["name"],
        grant_types=tuple(row["grant_types"]),
        redirect_uris=tuple(row["redirect_uris"]),
        post_logout_redirect_uris=tuple(row["post_logout_redirect_uris"]),
        scopes=tuple(row["scopes"]),
        first_party=row["first_party"],
    )


@dataclass(frozen=True)
class AuthorizationCode(AuthorizationCodeMixin):  # type: ignore[misc]
    code_hash: bytes
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str
    code_challenge_method: str
    auth_time: datetime
    amr: tuple[str, ...]
    organisation_id: uuid.UUID | None = None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        """What the session that obtained the code did to authenticate (``pwd``, then ``otp``)."""
        return list(self.amr)


@dataclass(frozen=True)
class IssuedToken(TokenMixin):  # type: ignore[misc]
    """A refresh token, or an access token's record, as revocation and introspection see them."""

    kind: str  # "refresh_token" or "access_token"
    key: bytes | str  # refresh-token digest, or access-token jti
    client_id: str
    user_id: uuid.UUID | None
    family_id: uuid.UUID | None
    scope: str
    issued_at: datetime
    expires_at: datetime
    revoked: bool
    rotated: bool = False
    organisation_id: uuid.UUID | None = None  # refresh tokens: the organisation the grant acts for

    def check_client(self, client: Client) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.expires_at <= datetime.now(UTC)

    def is_revoked(self) -> bool:
        return self.revoked or self.rotated


def _refresh_token(session: Session, token: str) -> IssuedToken | None:
    row = session.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == digest(token))).mappings().first()
    if row is None:
        return None
    return IssuedToken(
        kind="refresh_token",
        key=row["token_hash"],
        client_id=row["client_id"],
        user_id=row["user_id"],
        family_id=row["family_id"],
        scope=row["scope"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        revoked=row["revoked_at"] is not None,
        rotated=row["rotated_at"] is not None,
        organisation_id=row["organisation_id"],
    )


def _access_token(session: Session, token: str, keys: SigningKeys, issuer: str) -> IssuedToken | None:
    try:
        header = jwt.get_unverified_header(token)
        key = next((k for k in keys.jwks()["keys"] if k["kid"] == header.get("kid")), None)
        if key is None:
            return None
        claims = jwt.decode(
            token,
            jwt.PyJWK(key).key,
            algorithms=[key["alg"]],
            issuer=issuer,
            options={"verify_aud": False, "verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    row = session.execute(select(access_tokens).where(access_tokens.c.jti == claims.get("jti"))).mappings().first()
    if row is None:
        return None
    return IssuedToken(
        kind="access_token",
        key=row["jti"],
        client_id=row["client_id"],
        user_id=row["user_id"],
        family_id=row["family_id"],
        scope=row["scope"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        revoked=row["revoked_at"] is not None,
    )


def revoke_family(session: Session, family_id: uuid.UUID, *, at: datetime) -> None:
    """Revoke every refresh and access token descending from one grant."""
    session.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    session.execute(
        update(access_tokens)
        .where(access_tokens.c.family_id == family_id, access_tokens.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


def revoke_session_tokens(session: Session, session_id: uuid.UUID, *, at: datetime) -> None:
    """Revoke the refresh tokens (and their access tokens) obtained in one browser session."""
    families = session.scalars(
        select(refresh_tokens.c.family_id).where(refresh_tokens.c.session_id == session_id).distinct()
    ).all()
    for family in families:
        revoke_family(session, family, at=at)


# --- grants ----------------------------------------------------------------------------------------------


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, S256 only (RFC 9700 §2.1.1): no challenge or ``plain`` is refused."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: AuthorizationCode) -> str:
        return authorization_code.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012

    def create_authorization_response(self, redirect_uri: str, grant_user: Account | None) -> Any:
        if grant_user is not None:
            try:
                self.request.organisation_id = chosen_organisation(self.request, grant_user)
            except AccessDeniedError as refused:
                refused.redirect_uri = redirect_uri
                raise
        return super().create_authorization_response(redirect_uri, grant_user)

    def save_authorization_code(self, code: str, request: KairosRequest) -> None:
        data = request.payload.data
        now = datetime.now(UTC)
        request.session.execute(
            insert(authorization_codes).values(
                code_hash=digest(code),
                client_id=request.client.get_client_id(),
                user_id=request.user.id,
                session_id=request.session_id,
                redirect_uri=data.get("redirect_uri") or request.client.get_default_redirect_uri(),
                scope=request.client.get_allowed_scope(data.get("scope")),
                nonce=data.get("nonce"),
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                auth_time=getattr(request, "auth_time", now),
                amr=request.amr,
                expires_at=now + AUTHORIZATION_CODE_LIFETIME,
                organisation_id=request.organisation_id,
            )
        )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        session: Session = self.request.session
        row = (
            session.execute(
                select(authorization_codes)
                .where(
                    authorization_codes.c.code_hash == digest(code), authorization_codes.c.client_id == client.client_id
                )
                .with_for_update()
            )
            .mappings()
            .first()
        )
        if row is None or row["expires_at"] <= datetime.now(UTC):
            return None
        if row["used_at"] is not None:
            # RFC 6749 §4.1.2: a code used twice revokes what it gave.
            revoke_family(session, _family_of_code(row["code_hash"]), at=datetime.now(UTC))
            return None
        self.request.session_id = row["session_id"]
        self.request.family_id = _family_of_code(row["code_hash"])
        self.request.organisation_id = row["organisation_id"]
        return AuthorizationCode(
            code_hash=row["code_hash"],
            user_id=row["user_id"],
            session_id=row["session_id"],
            redirect_uri=row["redirect_uri"],
            scope=row["scope"],
            nonce=row["nonce"],
            code_challenge=row["code_challenge"],
            code_challenge_method=row["code_challenge_method"],
            auth_time=row["auth_time"],
            amr=tuple(row["amr"]),
            organisation_id=row["organisation_id"],
        )

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        self.request.session.execute(
            update(authorization_codes)
            .where(authorization_codes.c.code_hash == authorization_code.code_hash)
            .values(used_at=datetime.now(UTC))
        )

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Account | None:
        return load_account(self.request.session, authorization_code.user_id, authorization_code.organisation_id)


def _family_of_code(code_hash: bytes) -> uuid.UUID:
    """The token family of a code, derived from it, so that a replayed code finds what it issued."""
    return uuid.UUID(bytes=hashlib.sha256(b"family:" + code_hash).digest()[:16])


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        session: Session = self.request.session
        token = _refresh_token(session, refresh_token)
        if token is None or token.revoked or token.is_expired():
            return None
        if token.rotated:
            # A rotated token used again: someone holds a copy. Revoke the whole family (RFC 9700 §4.14.2).
            assert token.family_id is not None
            revoke_family(session, token.family_id, at=datetime.now(UTC))
            return None
        self.request.family_id = token.family_id
        self.request.organisation_id = token.organisation_id  # a refresh never changes the organisation
        self.request.session_id = session.scalar(
            select(refresh_tokens.c.session_id).where(refresh_tokens.c.token_hash == token.key)
        )
        if self.request.session_id is not None and not self._session_goes_on(token, self.request.session_id):
            # The browser session it was obtained in timed out (or is gone): so does the grant.
            assert token.family_id is not None
            revoke_family(session, token.family_id, at=datetime.now(UTC))
            return None
        return token

    def _session_goes_on(self, token: IssuedToken, session_id: uuid.UUID) -> bool:
        """Whether the token's browser session still lets it refresh; a refresh is the person's activity in the
        application, so it restarts the session's idle clock (never past its absolute timeout).

        A third-party application allowed ``offline_access`` acts while the person is away (OIDC Core §11): its
        tokens outlive the session's timeouts, and end when the session is signed out (``revoke_session_tokens``),
        the grant is revoked, or they expire."""
        client: Client = self.request.client
        if not client.first_party and "offline_access" in token.scope.split():
            return True
        if token.client_id != client.client_id:
            return True  # refused by the grant (another client's token): no activity recorded for it
        now = datetime.now(UTC)
        touched = self.request.session.execute(
            update(browser_sessions)
            .where(
                browser_sessions.c.id == session_id,
                browser_sessions.c.revoked_at.is_(None),
                browser_sessions.c.expires_at > now,
                browser_sessions.c.last_seen_at > now - IDLE_TIMEOUT,
            )
            .values(last_seen_at=now)
            .returning(browser_sessions.c.id)
        ).first()
        return touched is not None

    def authenticate_user(self, refresh_token: IssuedToken) -> Account | None:
        assert refresh_token.user_id is not None
        return load_account(self.request.session, refresh_token.user_id, refresh_token.organisation_id)

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        self.request.session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == refresh_token.key)
            .values(rotated_at=datetime.now(UTC))
        )


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012


class KairosOpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, server: OAuthServer) -> None:
        super().__init__(require_nonce=False)
        self._server = server

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self._server.keys.current.jose_key

    def get_client_algorithm(self, client: Client) -> str:
        return self._server.keys.current.algorithm

    def get_encode_header(self, client: Client) -> dict[str, str]:
        key = self._server.keys.current
        return {"alg": key.algorithm, "kid": key.kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {
            "iss": self._server.issuer,
            "aud": [client.get_client_id()],
            "exp": int(time.time() + ID_TOKEN_LIFETIME.total_seconds()),
        }

    def exists_nonce(self, nonce: str, request: KairosRequest) -> bool:
        used = request.session.scalar(
            select(authorization_codes.c.code_hash)
            .where(authorization_codes.c.client_id == request.payload.client_id, authorization_codes.c.nonce == nonce)
            .limit(1)
        )
        return used is not None

    def generate_user_info(self, user: Account, scope: str) -> UserInfo:
        return user_info(user, scope)


def user_info(user: Account, scope: str) -> UserInfo:
    """The OpenID claims of a user that a scope lets a client see (OIDC Core §5.4)."""
    scopes = set(scope.split())
    info = UserInfo(sub=str(user.id))
    if "profile" in scopes:
        info.update(name=user.display_name, locale=user.locale, zoneinfo=user.zone)
    if "email" in scopes:
        info.update(email=user.email, email_verified=user.email_verified)
    return info


# --- revocation and introspection --------------------------------------------------------------------------


class _TokenLookup:
    server: OAuthServer

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        session = self.server.current_session()
        lookups: list[Callable[[], IssuedToken | None]] = [
            lambda: _refresh_token(session, token_string),
            lambda: _access_token(session, token_string, self.server.keys, self.server.issuer),
        ]
        if token_type_hint == "access_token":  # noqa: S105  # a hint's name, not a secret
            lookups.reverse()
        for lookup in lookups:
            found = lookup()
            if found is not None:
                return found
        return None


class Revocation(_TokenLookup, RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]  # noqa: RUF012

    def revoke_token(self, token: IssuedToken, request: KairosRequest) -> None:
        now = datetime.now(UTC)
        if token.kind == "refresh_token" and token.family_id is not None:
            revoke_family(request.session, token.family_id, at=now)  # RFC 7009 §2.1: and its access tokens
        else:
            request.session.execute(
                update(access_tokens).where(access_tokens.c.jti == token.key).values(revoked_at=now)
            )


class Introspection(_TokenLookup, IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012

    def check_permission(self, token: IssuedToken, client: Client, request: KairosRequest) -> bool:
        # A client may introspect its own tokens, and a resource server (client_credentials) any token.
        return token.client_id == client.client_id or client.check_grant_type("client_credentials")

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        return {
            "active": True,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "client_id": token.client_id,
            "scope": token.scope,
            "sub": str(token.user_id) if token.user_id else token.client_id,
            "iss": self.server.issuer,
            "iat": int(token.issued_at.timestamp()),
            "exp": int(token.expires_at.timestamp()),
        }


# --- the server ---------------------------------------------------------------------------------------------


class OAuthServer(AuthorizationServer):  # type: ignore[misc]
    def __init__(
        self, *, engine: Engine, keys: SigningKeys, issuer: str, audience: str, cipher: Callable[[], DataCipher]
    ) -> None:
        # Scopes are checked per client (``Client.get_allowed_scope``): services add their own, e.g. SMART's.
        super().__init__(scopes_supported=None)
        self.engine = engine
        self.cipher = cipher  # resolved on first use, as the service's units of work do
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self._local = threading.local()
        self.register_token_generator("default", self._generate_token)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True), KairosOpenIDCode(self)])
        self.register_grant(RefreshTokenGrant)
        self.register_grant(ClientCredentialsGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        issuer_parameter = IssuerParameter()
        issuer_parameter.get_issuer = lambda: self.issuer  # type: ignore[method-assign]
        self.register_extension(issuer_parameter)

    # Authlib's hooks

    def query_client(self, client_id: str) -> Client | None:
        return load_client(self.current_session(), client_id)

    def save_token(self, token: dict[str, Any], request: KairosRequest) -> None:
        claims = jwt.decode(token["access_token"], options={"verify_signature": False})
        family = request.family_id
        if family is None and "refresh_token" in token:
            family = uuid.uuid4()
        issued_at = datetime.fromtimestamp(claims["iat"], UTC)
        user_id = request.user.id if request.user is not None else None
        request.session.execute(
            insert(access_tokens).values(
                jti=claims["jti"],
                client_id=request.client.get_client_id(),
                user_id=user_id,
                family_id=family,
                scope=token.get("scope", ""),
                issued_at=issued_at,
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        )
        if "refresh_token" in token:
            request.session.execute(
                insert(refresh_tokens).values(
                    token_hash=digest(token["refresh_token"]),
                    family_id=family,
                    client_id=request.client.get_client_id(),
                    user_id=user_id,
                    session_id=request.session_id,
                    scope=token.get("scope", ""),
                    issued_at=issued_at,
                    expires_at=issued_at + REFRESH_TOKEN_LIFETIME,
                    organisation_id=request.organisation_id,
                )
            )

    def create_oauth2_request(self, request: KairosRequest | HttpRequest) -> KairosRequest:
        if isinstance(request, KairosRequest):
            return request
        return KairosRequest(request, self.current_session())

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> HttpResponse:
        payload = json.dumps(body) if isinstance(body, dict) else (body or "")
        return HttpResponse(status, payload, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def authorization_error(self, request: KairosRequest, error: OAuth2Error) -> HttpResponse:
        """An error redirected to the client, with ``iss`` as RFC 9207 §2 requires of error responses too."""
        response: HttpResponse = self.handle_error_response(request, error)
        if response.location:
            response.location = add_params_to_uri(response.location, {"iss": self.issuer})
        return response

    # Tokens

    def _generate_token(
        self,
        grant_type: str,
        client: Client,
        user: Account | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        key = self.keys.current
        now = int(time.time())
        lifetime = int(ACCESS_TOKEN_LIFETIME.total_seconds())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(user.id) if user is not None else client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_hex(16),
            "scope": scope or "",
        }
        if user is not None:
            # Roles and permissions held globally and in the one organisation acted for, never another's.
            claims["roles"] = sorted(user.roles)
            claims["permissions"] = sorted(effective_permissions(user.roles))
            claims["global_permissions"] = sorted(effective_permissions(user.global_roles))
            if user.organisation_id is not None:
                claims["org"] = str(user.organisation_id)
        access_token = jwt.encode(
            claims, key.private_key, algorithm=key.algorithm, headers={"kid": key.kid, "typ": "at+jwt"}
        )
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access_token,
            "expires_in": lifetime,
            "scope": scope or "",
        }
        # A third-party application keeps access beyond the access token only when the person allowed
        # offline_access (OIDC Core §11); Kairos's own applications always may.
        may_stay = client.first_party or "offline_access" in (scope or "").split()
        if include_refresh_token and user is not None and client.check_grant_type("refresh_token") and may_stay:
            token["refresh_token"] = secrets.token_urlsafe(48)
        return token

    # Running a grant: one synchronous transaction in a worker thread

    def current_session(self) -> Session:
        session: Session | None = getattr(self._local, "session", None)
        if session is None:
            raise RuntimeError("no OAuth transaction is open in this thread")
        return session

    def run(self, work: Callable[[Session], T]) -> T:
        """Run Authlib work in one transaction, committed at the end (revocations on failed grants too).

        Called in a worker thread; ``current_session`` is that thread's session.
        """
        with Session(self.engine, info={CIPHER: self.cipher()}) as session, session.begin():
            self._local.session = session
            try:
                return work(session)
            finally:
                self._local.session = None
