"""Single sign-on through an organisation's own OpenID provider (Microsoft Entra ID, or any OpenID Connect issuer).

The rules are in ``kairos.identity.domain.federation``; this module keeps the registrations, talks to the
providers and records who is linked to whom. The relying-party side is Authlib's: its httpx client builds the
authorization request (code flow, PKCE S256, ``state``, ``nonce``) and redeems the code; the ID token is
checked with the provider's JWKS (joserfc, Authlib's JOSE layer) and Authlib's ``CodeIDToken`` claims rules
(``iss``, ``aud``, ``azp``, ``exp``, ``iat``, ``nonce``, ``at_hash``), as Authlib's own OpenID client does, with
the one difference Entra ID needs: ``iss`` is compared with the discovered issuer once the token's tenant is put
into it (``expected_issuer``).

A sign-in attempt is bound to the browser that started it: its ``state`` is in a cookie there and only a digest
of it in ``federation_attempts``; a callback whose ``state`` is not the browser's own is refused (login CSRF,
RFC 9700 §4.7), and each attempt is used once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from sqlalchemy import any_, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kairos.contracts.events.identity import RoleAssigned
from kairos.identity.access import require_permission
from kairos.identity.domain import federation as rules
from kairos.identity.domain.federation import Outcome, ProviderConfiguration, ProviderKind, TokenRefused
from kairos.identity.domain.roles import Role
from kairos.identity.repository import email_lookup, load_account_record
from kairos.identity.service import create_user
from kairos.identity.tables import external_identities, federation_attempts, identity_providers, memberships, users
from kairos.platform import audit
from kairos.platform.auth.principal import Principal
from kairos.platform.crypto import DataCipher
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.ids import new_id

log = structlog.get_logger(__name__)

ATTEMPT_LIFETIME = timedelta(minutes=10)  # to sign in at the provider
LINK_LIFETIME = timedelta(minutes=15)  # to type the Kairos password that proves the account to link
METADATA_LIFETIME_SECONDS = 3600.0
HTTP_TIMEOUT_SECONDS = 10.0
ID_TOKEN_LEEWAY_SECONDS = 120  # clock skew between us and the provider, as Authlib's client allows
SCOPE = "openid profile email"


class UnknownProvider(Exception):
    """No enabled provider has this id (in this organisation)."""


class ProviderChangeInvalid(Exception):
    """A field that a registration always has was sent empty."""


class AttemptNotUsable(Exception):
    """The callback's ``state`` names no attempt of this browser, or one used or expired."""


class ProviderUnreachable(Exception):
    """The provider's discovery, keys or token endpoint did not answer as it should."""


@dataclass(frozen=True)
class ProviderRecord:
    id: uuid.UUID
    organisation_id: uuid.UUID
    display_name: str
    kind: ProviderKind
    issuer: str
    tenant: str | None
    allowed_tenants: tuple[str, ...]
    client_id: str
    allowed_email_domains: tuple[str, ...]
    default_role: Role
    is_jit_allowed: bool
    created_at: datetime
    is_enabled: bool = True
    updated_at: datetime | None = None

    @property
    def configuration(self) -> ProviderConfiguration:
        return ProviderConfiguration(
            kind=self.kind,
            issuer=self.issuer,
            tenant=self.tenant,
            allowed_tenants=frozenset(self.allowed_tenants),
            allowed_email_domains=frozenset(self.allowed_email_domains),
            default_role=self.default_role,
            is_jit_allowed=self.is_jit_allowed,
        )


@dataclass(frozen=True)
class ProviderChoice:
    """A "sign in with …" button."""

    id: uuid.UUID
    display_name: str


def _record(row: Any) -> ProviderRecord:
    return ProviderRecord(
        id=row.id,
        organisation_id=row.organisation_id,
        display_name=row.display_name,
        kind=ProviderKind(row.kind),
        issuer=row.issuer,
        tenant=row.tenant,
        allowed_tenants=tuple(row.allowed_tenants),
        client_id=row.client_id,
        allowed_email_domains=tuple(row.allowed_email_domains),
        default_role=Role(row.default_role),
        is_jit_allowed=row.is_jit_allowed,
        created_at=row.created_at,
        is_enabled=row.disabled_at is None,
        updated_at=row.updated_at,
    )


def _authority_of(record: ProviderRecord) -> str:
    """An Entra registration's authority, from its issuer (``<authority>/<tenant>/v2.0``)."""
    return record.issuer.removesuffix(f"/{record.tenant}/v2.0")


def _secret_context(provider_id: uuid.UUID) -> bytes:
    return f"identity.identity_providers.client_secret:{provider_id}".encode()


def _verifier_context(state_hash: bytes) -> bytes:
    return b"identity.federation_attempts.code_verifier:" + state_hash.hex().encode()


def digest(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


# --- registrations (domain admins and operators: roles:manage, since a provider makes members) ----------------


async def register_provider(
    *,
    uow: UnitOfWork,
    by: Principal,
    actor_id: uuid.UUID,
    organisation_id: uuid.UUID,
    display_name: str,
    kind: ProviderKind,
    issuer: str | None,
    tenant: str | None,
    authority: str,
    allowed_tenants: list[str],
    client_id: str,
    client_secret: str,
    allowed_email_domains: list[str],
    default_role: Role,
    is_jit_allowed: bool,
    cipher: DataCipher,
) -> ProviderRecord:
    """Register the organisation's identity provider; the client secret is kept encrypted."""
    async with uow:
        await require_permission(uow, by=actor_id, organisation_id=organisation_id, permission="roles:manage", token=by)
        configuration = rules.configure(
            kind=kind,
            issuer=issuer,
            tenant=tenant,
            authority=authority,
            allowed_tenants=allowed_tenants,
            allowed_email_domains=allowed_email_domains,
            default_role=default_role,
            is_jit_allowed=is_jit_allowed,
        )
        provider_id = new_id()
        now = uow.clock.now()
        values = {
            "id": provider_id,
            "organisation_id": organisation_id,
            "display_name": display_name,
            "kind": configuration.kind.value,
            "issuer": configuration.issuer,
            "tenant": configuration.tenant,
            "allowed_tenants": sorted(configuration.allowed_tenants),
            "client_id": client_id,
            "client_secret": await cipher.encrypt(client_secret.encode(), context=_secret_context(provider_id)),
            "allowed_email_domains": sorted(configuration.allowed_email_domains),
            "default_role": configuration.default_role.value,
            "is_jit_allowed": configuration.is_jit_allowed,
            "created_at": now,
        }
        await uow.session.execute(insert(identity_providers).values(**values))
        audit.record(
            uow,
            actor=by,
            action="create",
            resource_type="identity.identity_provider",
            resource_id=provider_id,
            fields=("display_name", "kind", "issuer", "client_id", "client_secret", "allowed_email_domains"),
        )
        await uow.commit()
    return ProviderRecord(
        id=provider_id,
        organisation_id=organisation_id,
        display_name=display_name,
        kind=configuration.kind,
        issuer=configuration.issuer,
        tenant=configuration.tenant,
        allowed_tenants=tuple(sorted(configuration.allowed_tenants)),
        client_id=client_id,
        allowed_email_domains=tuple(sorted(configuration.allowed_email_domains)),
        default_role=configuration.default_role,
        is_jit_allowed=configuration.is_jit_allowed,
        created_at=now,
    )


async def list_providers(
    *, uow: UnitOfWork, by: Principal, actor_id: uuid.UUID, organisation_id: uuid.UUID
) -> list[ProviderRecord]:
    """The organisation's providers, enabled or not (secrets are never read back)."""
    async with uow:
        await require_permission(uow, by=actor_id, organisation_id=organisation_id, permission="roles:manage", token=by)
        rows = await uow.session.execute(
            select(identity_providers)
            .where(identity_providers.c.organisation_id == organisation_id)
            .order_by(identity_providers.c.created_at, identity_providers.c.id)
        )
        return [_record(row) for row in rows]


async def read_provider(
    *, uow: UnitOfWork, by: Principal, actor_id: uuid.UUID, organisation_id: uuid.UUID, provider_id: uuid.UUID
) -> ProviderRecord:
    async with uow:
        await require_permission(uow, by=actor_id, organisation_id=organisation_id, permission="roles:manage", token=by)
        return _record(await _provider_row(uow, organisation_id, provider_id))


async def _provider_row(
    uow: UnitOfWork, organisation_id: uuid.UUID, provider_id: uuid.UUID, *, lock: bool = False
) -> Any:
    query = select(identity_providers).where(
        identity_providers.c.id == provider_id, identity_providers.c.organisation_id == organisation_id
    )
    row = (await uow.session.execute(query.with_for_update() if lock else query)).first()
    if row is None:
        raise UnknownProvider("no such provider in the organisation")
    return row


# Fields of a registration that a change may leave out but never empty.
_REQUIRED = ("display_name", "client_id", "client_secret", "default_role", "is_jit_allowed", "is_enabled")


async def update_provider(
    *,
    uow: UnitOfWork,
    by: Principal,
    actor_id: uuid.UUID,
    organisation_id: uuid.UUID,
    provider_id: uuid.UUID,
    changes: Mapping[str, Any],
    cipher: DataCipher,
) -> ProviderRecord:
    """Change a registration (the fields given), checked as a new one is; ``is_enabled`` disables or enables it.

    A new issuer (another OpenID provider, or another Entra tenant or cloud) names people in another namespace:
    the provider's links are then removed, so that nobody there signs in as an account linked at the old one.
    """
    if empty := sorted(name for name in _REQUIRED if name in changes and changes[name] is None):
        raise ProviderChangeInvalid(f"these cannot be empty: {', '.join(empty)}")
    async with uow:
        await require_permission(uow, by=actor_id, organisation_id=organisation_id, permission="roles:manage", token=by)
        current = _record(await _provider_row(uow, organisation_id, provider_id, lock=True))
        configuration = rules.configure(
            kind=current.kind,
            issuer=changes.get("issuer", current.issuer if current.kind is ProviderKind.OIDC else None),
            tenant=changes.get("tenant", current.tenant),
            authority=changes.get("authority") or (_authority_of(current) if current.tenant else ""),
            allowed_tenants=changes.get("allowed_tenants", current.allowed_tenants),
            allowed_email_domains=changes.get("allowed_email_domains", current.allowed_email_domains),
            default_role=changes.get("default_role", current.default_role),
            is_jit_allowed=changes.get("is_jit_allowed", current.is_jit_allowed),
        )
        now = uow.clock.now()
        values: dict[str, Any] = {
            "display_name": changes.get("display_name", current.display_name),
            "issuer": configuration.issuer,
            "tenant": configuration.tenant,
            "allowed_tenants": sorted(configuration.allowed_tenants),
            "client_id": changes.get("client_id", current.client_id),
            "allowed_email_domains": sorted(configuration.allowed_email_domains),
            "default_role": configuration.default_role.value,
            "is_jit_allowed": configuration.is_jit_allowed,
            "updated_at": now,
        }
        if "client_secret" in changes:
            values["client_secret"] = await cipher.encrypt(
                str(changes["client_secret"]).encode(), context=_secret_context(provider_id)
            )
        if "is_enabled" in changes and bool(changes["is_enabled"]) != current.is_enabled:
            values["disabled_at"] = None if changes["is_enabled"] else now
        changed = [name for name in ("display_name", "client_id") if values[name] != getattr(current, name)]
        changed += [name for name in ("client_secret", "disabled_at") if name in values]
        changed += [
            name
            for name in (
                "issuer",
                "tenant",
                "allowed_tenants",
                "allowed_email_domains",
                "default_role",
                "is_jit_allowed",
            )
            if getattr(configuration, name) != getattr(current.configuration, name)
        ]
        if configuration.issuer != current.issuer:
            await uow.session.execute(
                delete(external_identities).where(external_identities.c.provider_id == provider_id)
            )
            changed.append("external_identities")
        await uow.session.execute(
            update(identity_providers).where(identity_providers.c.id == provider_id).values(**values)
        )
        audit.record(
            uow,
            actor=by,
            action="update",
            resource_type="identity.identity_provider",
            resource_id=provider_id,
            fields=tuple(sorted(set(changed))),
        )
        row = await _provider_row(uow, organisation_id, provider_id)
        await uow.commit()
    log.info("identity.identity_provider_updated", provider_id=str(provider_id), fields=sorted(set(changed)))
    return _record(row)


async def delete_provider(
    *, uow: UnitOfWork, by: Principal, actor_id: uuid.UUID, organisation_id: uuid.UUID, provider_id: uuid.UUID
) -> None:
    """Remove a registration with its links and sign-ins in progress; the accounts and memberships it made stay
    (their people sign in with a password, a passkey or another provider)."""
    async with uow:
        await require_permission(uow, by=actor_id, organisation_id=organisation_id, permission="roles:manage", token=by)
        await _provider_row(uow, organisation_id, provider_id, lock=True)
        links = await uow.session.execute(
            delete(external_identities)
            .where(external_identities.c.provider_id == provider_id)
            .returning(external_identities.c.user_id)
        )
        for user_id in {row.user_id for row in links}:
            audit.record(
                uow,
                actor=by,
                action="delete",
                resource_type="identity.account",
                resource_id=user_id,
                data_subject=user_id,
                fields=("external_identities",),
                purpose=f"identity provider {provider_id} removed",
            )
        await uow.session.execute(delete(identity_providers).where(identity_providers.c.id == provider_id))
        audit.record(
            uow, actor=by, action="delete", resource_type="identity.identity_provider", resource_id=provider_id
        )
        await uow.commit()
    log.info("identity.identity_provider_deleted", provider_id=str(provider_id))


async def sign_in_choices(
    *, uow: UnitOfWork, organisation_id: uuid.UUID | None = None, email: str | None = None
) -> list[ProviderChoice]:
    """The providers to offer on the sign-in page: an organisation's, or those trusted for an address's domain."""
    query = select(identity_providers.c.id, identity_providers.c.display_name).where(
        identity_providers.c.disabled_at.is_(None)
    )
    if organisation_id is not None:
        query = query.where(identity_providers.c.organisation_id == organisation_id)
    elif email:
        query = query.where(any_(identity_providers.c.allowed_email_domains) == rules.email_domain(email))
    else:
        return []
    async with uow:
        rows = await uow.session.execute(query.order_by(identity_providers.c.display_name, identity_providers.c.id))
        return [ProviderChoice(row.id, row.display_name) for row in rows]


# --- talking to providers ----------------------------------------------------------------------------------


class OpenIdProviders:
    """Providers' discovery documents and key sets, fetched over HTTP and kept for an hour (keys again at once
    when a token names a key not in them: the provider rotated its keys)."""

    def __init__(self) -> None:
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False)

    async def metadata(self, issuer: str) -> dict[str, Any]:
        cached = self._metadata.get(issuer)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        document = await self._get_json(f"{issuer}/.well-known/openid-configuration")
        # OIDC Discovery §4.3: the document's issuer is the one asked for (Entra's multi-tenant documents carry
        # the "{tenantid}" template in place of the tenant, the one difference we allow).
        advertised = str(document.get("issuer", ""))
        if advertised != issuer and not _is_tenant_template_of(advertised, issuer):
            raise ProviderUnreachable("the discovery document names another issuer")
        for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(endpoint), str):
                raise ProviderUnreachable(f"the discovery document has no {endpoint}")
        self._metadata[issuer] = (time.monotonic() + METADATA_LIFETIME_SECONDS, document)
        return document

    async def keys(self, metadata: Mapping[str, Any], *, refresh: bool = False) -> KeySet:
        uri = str(metadata["jwks_uri"])
        cached = self._keys.get(uri)
        if cached is not None and cached[0] > time.monotonic() and not refresh:
            return cached[1]
        try:
            key_set = KeySet.import_key_set(await self._get_json(uri))  # type: ignore[arg-type]
        except (ValueError, KeyError, JoseError) as error:
            raise ProviderUnreachable("the provider's key set is not valid") from error
        self._keys[uri] = (time.monotonic() + METADATA_LIFETIME_SECONDS, key_set)
        return key_set

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self.http() as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                found = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnreachable(f"{url} did not answer with JSON") from error
        if not isinstance(found, dict):
            raise ProviderUnreachable(f"{url} did not answer with an object")
        return found


def _is_tenant_template_of(advertised: str, issuer: str) -> bool:
    # An Entra issuer asked for as ".../organizations/v2.0" advertises ".../{tenantid}/v2.0".
    head, _, tail = issuer.rstrip("/").rpartition("/")  # tail is "v2.0"
    base, _, tenant = head.rpartition("/")
    return tenant in rules.ENTRA_MULTI_TENANT and advertised == f"{base}/{rules.TENANT_PLACEHOLDER}/{tail}"


@dataclass(frozen=True)
class Started:
    authorization_url: str
    state: str  # for the browser's cookie


@dataclass(frozen=True)
class Answered:
    """A provider's validated answer and what it leads to."""

    outcome: Outcome
    provider: ProviderRecord
    person: rules.ExternalPerson
    user_id: uuid.UUID | None  # the account signed in, linked or made; for PROVE_TO_LINK, the one to prove
    next_url: str


class Federation:
    """Sign-in through organisations' providers, for the pages in ``federation_api``."""

    def __init__(self, *, providers: OpenIdProviders, redirect_uri: str) -> None:
        self.providers = providers
        self.redirect_uri = redirect_uri

    async def start(
        self,
        *,
        uow: UnitOfWork,
        cipher: DataCipher,
        provider_id: uuid.UUID,
        next_url: str,
        session_id: uuid.UUID | None,
    ) -> Started:
        """A fresh authorization request to the provider (state, nonce, PKCE) and its record."""
        async with uow:
            row = (
                await uow.session.execute(
                    select(identity_providers).where(
                        identity_providers.c.id == provider_id, identity_providers.c.disabled_at.is_(None)
                    )
                )
            ).first()
        if row is None:
            raise UnknownProvider("no such provider")
        provider = _record(row)
        metadata = await self.providers.metadata(provider.issuer)
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        async with self._client(provider, client_secret=None) as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
            )
        state_hash = digest(state)
        async with uow:
            now = uow.clock.now()
            await uow.session.execute(
                insert(federation_attempts).values(
                    state_hash=state_hash,
                    provider_id=provider.id,
                    nonce=nonce,
                    code_verifier=await cipher.encrypt(verifier.encode(), context=_verifier_context(state_hash)),
                    next_url=next_url or None,
                    session_id=session_id,
                    created_at=now,
                    expires_at=now + ATTEMPT_LIFETIME,
                )
            )
            await uow.commit()
        return Started(url, state)

    async def finish(
        self,
        *,
        uow: UnitOfWork,
        cipher: DataCipher,
        state: str,
        code: str,
        signed_in_session: tuple[uuid.UUID, uuid.UUID] | None,
    ) -> Answered:
        """Redeem the code, check the ID token, and sign in, link or create as the rules decide.

        ``signed_in_session``: (session id, user id) of the browser's complete session, if it has one. Raises
        ``AttemptNotUsable``, ``ProviderUnreachable`` or ``TokenRefused``."""
        state_hash = digest(state)
        async with uow:
            attempt = (
                await uow.session.execute(
                    select(federation_attempts).where(federation_attempts.c.state_hash == state_hash).with_for_update()
                )
            ).first()
            if attempt is None or attempt.used_at is not None or attempt.expires_at <= uow.clock.now():
                raise AttemptNotUsable("no such attempt, or used or expired")
            # Used now, whatever comes next: a code or state is good for one try (RFC 9700 §4.5.3).
            await uow.session.execute(
                update(federation_attempts)
                .where(federation_attempts.c.state_hash == state_hash)
                .values(used_at=uow.clock.now())
            )
            row = (
                await uow.session.execute(
                    select(identity_providers).where(
                        identity_providers.c.id == attempt.provider_id, identity_providers.c.disabled_at.is_(None)
                    )
                )
            ).first()
            if row is None:
                await uow.commit()
                raise UnknownProvider("the provider was disabled")
            secret = await cipher.decrypt(row.client_secret, context=_secret_context(row.id))
            verifier = await cipher.decrypt(attempt.code_verifier, context=_verifier_context(state_hash))
            await uow.commit()
        provider = _record(row)
        claims = await self._id_token_claims(
            provider, client_secret=secret.decode(), code=code, verifier=verifier.decode(), nonce=attempt.nonce
        )
        person = rules.external_person(provider.configuration, claims)
        starter = attempt.session_id
        signed_in_user = (
            signed_in_session[1] if signed_in_session is not None and signed_in_session[0] == starter else None
        )
        async with uow:
            answered = await self._act(
                uow,
                provider=provider,
                person=person,
                signed_in_user=signed_in_user,
                state_hash=state_hash,
                next_url=attempt.next_url or "",
            )
            await uow.commit()
        log.info(
            "identity.federated_sign_in",
            provider_id=str(provider.id),
            outcome=answered.outcome.value,
            user_id=str(answered.user_id) if answered.user_id else None,
        )
        return answered

    async def _act(
        self,
        uow: UnitOfWork,
        *,
        provider: ProviderRecord,
        person: rules.ExternalPerson,
        signed_in_user: uuid.UUID | None,
        state_hash: bytes,
        next_url: str,
    ) -> Answered:
        now = uow.clock.now()
        linked = (
            await uow.session.execute(
                select(users.c.id, users.c.disabled_at)
                .select_from(external_identities.join(users, users.c.id == external_identities.c.user_id))
                .where(
                    external_identities.c.provider_id == provider.id, external_identities.c.subject == person.subject
                )
            )
        ).first()
        holder = (
            None
            if person.email is None
            else await uow.session.scalar(
                select(users.c.id).where(users.c.email_lookup == await email_lookup(uow.cipher, person.email))
            )
        )
        outcome = rules.decide(
            person=person,
            is_jit_allowed=provider.is_jit_allowed,
            linked_account_enabled=None if linked is None else linked.disabled_at is None,
            signed_in_to_link=signed_in_user is not None,
            address_holder_exists=holder is not None,
        )
        user_id: uuid.UUID | None = None
        if outcome is Outcome.SIGN_IN:
            user_id = linked.id  # type: ignore[union-attr]
            await uow.session.execute(
                update(external_identities)
                .where(
                    external_identities.c.provider_id == provider.id, external_identities.c.subject == person.subject
                )
                .values(last_signed_in_at=now)
            )
        elif outcome is Outcome.LINK_SIGNED_IN:
            user_id = signed_in_user
            await link(uow, provider_id=provider.id, subject=person.subject, user_id=signed_in_user, at=now)  # type: ignore[arg-type]
        elif outcome is Outcome.CREATE:
            user_id = await create_user(
                uow=uow,
                email=person.email,  # type: ignore[arg-type]
                password=None,
                display_name=person.display_name,
                roles=frozenset({provider.default_role}),
                organisation_id=provider.organisation_id,
                email_verified=person.is_email_trusted,
            )
            await link(uow, provider_id=provider.id, subject=person.subject, user_id=user_id, at=now)
            audit.record(
                uow,
                actor=str(user_id),
                action="create",
                resource_type="identity.account",
                resource_id=user_id,
                data_subject=user_id,
                fields=("email", "display_name", "roles"),
                purpose=f"first sign-in through identity provider {provider.id}",
            )
        elif outcome is Outcome.PROVE_TO_LINK:
            user_id = holder
            await uow.session.execute(
                update(federation_attempts)
                .where(federation_attempts.c.state_hash == state_hash)
                .values(
                    link_user_id=holder,
                    link_subject=person.subject,
                    link_methods=list(rules.session_methods(person)),
                    expires_at=now + LINK_LIFETIME,
                )
            )
        return Answered(outcome, provider, person, user_id, next_url)

    async def _id_token_claims(
        self, provider: ProviderRecord, *, client_secret: str, code: str, verifier: str, nonce: str
    ) -> dict[str, Any]:
        metadata = await self.providers.metadata(provider.issuer)
        try:
            async with self._client(provider, client_secret=client_secret) as client:
                token = await client.fetch_token(
                    metadata["token_endpoint"], grant_type="authorization_code", code=code, code_verifier=verifier
                )
        except (OAuthError, httpx.HTTPError, ValueError) as error:
            raise ProviderUnreachable(f"the token endpoint refused the code: {error}") from error
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise TokenRefused("the provider sent no ID token")
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[alg for alg in algorithms if alg != "none"])
        try:
            try:
                decoded = jwt.decode(id_token, await self.providers.keys(metadata), registry=registry)
            except InvalidKeyIdError:
                decoded = jwt.decode(id_token, await self.providers.keys(metadata, refresh=True), registry=registry)
        except (JoseError, ValueError) as error:
            raise TokenRefused(f"the ID token's signature does not verify: {error}") from error
        issuer = rules.expected_issuer(provider.configuration, str(metadata["issuer"]), decoded.claims)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "values": [issuer]},
                "aud": {"essential": True, "values": [provider.client_id]},
            },
            {"nonce": nonce, "client_id": provider.client_id, "access_token": token.get("access_token")},
        )
        try:
            claims.validate(leeway=ID_TOKEN_LEEWAY_SECONDS)
        except JoseError as error:
            raise TokenRefused(f"the ID token is not valid: {error}") from error
        return dict(claims)

    def _client(self, provider: ProviderRecord, *, client_secret: str | None) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=client_secret,
            redirect_uri=self.redirect_uri,
            scope=SCOPE,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post",  # noqa: S106 (a method's name)
            timeout=HTTP_TIMEOUT_SECONDS,
        )


async def link(uow: UnitOfWork, *, provider_id: uuid.UUID, subject: str, user_id: uuid.UUID, at: datetime) -> None:
    """Record that the person at the provider signs in as ``user_id`` (a second link of the same person is a no-op),
    and make them a member of the provider's organisation with its default role."""
    await uow.session.execute(
        pg_insert(external_identities)
        .values(provider_id=provider_id, subject=subject, user_id=user_id, linked_at=at, last_signed_in_at=at)
        .on_conflict_do_nothing()
    )
    audit.record(
        uow,
        actor=str(user_id),
        action="update",
        resource_type="identity.account",
        resource_id=user_id,
        data_subject=user_id,
        fields=("external_identities",),
        purpose=f"linked to identity provider {provider_id}",
    )
    await join_organisation(uow, provider_id=provider_id, user_id=user_id, at=at)


async def join_organisation(uow: UnitOfWork, *, provider_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> None:
    """The membership a provider gives the people it signs in: its default role in its organisation (a patient too:
    the organisation is then the one their tokens act for). Only when linking or creating, so that a role a domain
    admin took away is not given back at the next sign-in."""
    provider = (
        await uow.session.execute(
            select(identity_providers.c.organisation_id, identity_providers.c.default_role).where(
                identity_providers.c.id == provider_id
            )
        )
    ).one()
    joined = await uow.session.execute(
        pg_insert(memberships)
        .values(user_id=user_id, organisation_id=provider.organisation_id, role=provider.default_role)
        .on_conflict_do_nothing()
        .returning(memberships.c.role)
    )
    if joined.first() is None:
        return  # held already (an account made with the role, or a member before)
    uow.publish(
        RoleAssigned(
            user_id=user_id,
            organisation_id=provider.organisation_id,
            role=provider.default_role,
            actor=f"identity-provider:{provider_id}",
            assigned_at=at,
        ),
        subject=f"user:{user_id}",
    )
    audit.record(
        uow,
        actor=str(user_id),
        action="create",
        resource_type="identity.membership",
        resource_id=f"{provider.organisation_id}:{user_id}",
        data_subject=user_id,
        fields=("roles",),
        purpose=f"signed in through identity provider {provider_id}",
    )


@dataclass(frozen=True)
class PendingLink:
    provider_id: uuid.UUID
    subject: str
    user_id: uuid.UUID
    email: str
    next_url: str


async def pending_link(uow: UnitOfWork, *, state: str) -> PendingLink | None:
    """The link this browser's answered attempt waits to prove, if it still may."""
    async with uow:
        row = (
            await uow.session.execute(
                select(
                    federation_attempts.c.provider_id,
                    federation_attempts.c.link_subject,
                    federation_attempts.c.link_user_id,
                    federation_attempts.c.next_url,
                )
                .select_from(federation_attempts.join(users, users.c.id == federation_attempts.c.link_user_id))
                .where(
                    federation_attempts.c.state_hash == digest(state),
                    federation_attempts.c.link_subject.is_not(None),
                    federation_attempts.c.expires_at > uow.clock.now(),
                    users.c.disabled_at.is_(None),
                )
            )
        ).first()
        if row is None:
            return None
        account = await load_account_record(uow.session, uow.cipher, user_id=row.link_user_id)
    if account is None:
        return None
    return PendingLink(row.provider_id, row.link_subject, row.link_user_id, account.email, row.next_url or "")


async def complete_link(uow: UnitOfWork, *, state: str, pending: PendingLink) -> bool:
    """The Kairos account is proven: link it, once (False when another request used the proof first)."""
    async with uow:
        claimed = await uow.session.execute(
            update(federation_attempts)
            .where(
                federation_attempts.c.state_hash == digest(state),
                federation_attempts.c.link_subject == pending.subject,
            )
            .values(link_subject=None, link_user_id=None, link_methods=None)
        )
        if claimed.rowcount == 0:  # type: ignore[attr-defined]
            return False
        await link(
            uow, provider_id=pending.provider_id, subject=pending.subject, user_id=pending.user_id, at=uow.clock.now()
        )
        await uow.commit()
    return True
