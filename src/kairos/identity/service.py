"""Use cases of the identity service that are not OAuth grants: accounts, organisations, clients."""

from __future__ import annotations

import functools
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import insert, select

from kairos.identity.blocklist import common_passwords
from kairos.identity.domain.passwords import PasswordPolicy
from kairos.identity.domain.roles import Role
from kairos.identity.oauth import digest
from kairos.identity.passwords import PasswordHasher
from kairos.identity.tables import memberships, oauth_clients, organisations, users
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.ids import new_id

POLICY = PasswordPolicy()
GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials"})


@functools.cache
def hasher() -> PasswordHasher:
    """Built on first use: it hashes a dummy password up front (for unknown-account sign-ins)."""
    return PasswordHasher()


class AccountExists(Exception):
    """An account with this e-mail address exists already."""


class InvalidClient(Exception):
    """The client registration is not allowed (unknown grant, missing redirect URI…)."""


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str | None


async def create_organisation(
    *, uow: UnitOfWork, name: str, kind: str, domain: str, organisation_id: uuid.UUID | None = None
) -> uuid.UUID:
    organisation_id = organisation_id or new_id()
    await uow.session.execute(insert(organisations).values(id=organisation_id, name=name, kind=kind, domain=domain))
    return organisation_id


async def create_user(
    *,
    uow: UnitOfWork,
    email: str,
    password: str | None,
    display_name: str,
    roles: frozenset[Role],
    organisation_id: uuid.UUID | None = None,
    locale: str = "en",
    zone: str = "UTC",
    email_verified: bool = False,
) -> uuid.UUID:
    """Create an account; organisational roles need an organisation (they are held inside it)."""
    normalised = email.strip().lower()
    exists = await uow.session.scalar(select(users.c.id).where(users.c.email == normalised))
    if exists is not None:
        raise AccountExists(normalised)
    organisational = {role for role in roles if role.is_organisational}
    if organisational and organisation_id is None:
        raise ValueError(f"roles {sorted(organisational)} are held inside an organisation: give one")
    if password is not None:
        POLICY.check(password, blocklist=common_passwords(), has_mfa=False, email=normalised).raise_if_not_acceptable()
    user_id = new_id()
    now = uow.clock.now()
    await uow.session.execute(
        insert(users).values(
            id=user_id,
            email=normalised,
            password_hash=await hasher().hash_async(password) if password else None,
            display_name=display_name,
            locale=locale,
            zone=zone,
            global_roles=sorted(role.value for role in roles - organisational),
            email_verified_at=now if email_verified else None,
        )
    )
    for role in sorted(organisational):
        await uow.session.execute(
            insert(memberships).values(user_id=user_id, organisation_id=organisation_id, role=role.value)
        )
    return user_id


async def create_client(
    *,
    uow: UnitOfWork,
    name: str,
    grant_types: frozenset[str],
    redirect_uris: tuple[str, ...] = (),
    post_logout_redirect_uris: tuple[str, ...] = (),
    scopes: tuple[str, ...] = ("openid", "profile", "email", "offline_access"),
    public: bool = False,
    first_party: bool = False,
    client_id: str | None = None,
) -> RegisteredClient:
    """Register an OAuth client; the secret is shown once, only its digest is kept."""
    unknown = grant_types - GRANT_TYPES
    if unknown:
        raise InvalidClient(f"unsupported grant types: {', '.join(sorted(unknown))} (no implicit, no password grant)")
    if "authorization_code" in grant_types and not redirect_uris:
        raise InvalidClient("the authorization_code grant needs at least one redirect URI")
    if public and "client_credentials" in grant_types:
        raise InvalidClient("a public client cannot use client_credentials")
    identifier = client_id or f"kairos-{secrets.token_hex(8)}"
    secret = None if public else secrets.token_urlsafe(32)
    await uow.session.execute(
        insert(oauth_clients).values(
            client_id=identifier,
            secret_hash=None if secret is None else digest(secret).hex(),
            name=name,
            grant_types=sorted(grant_types),
            redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris),
            scopes=list(scopes),
            first_party=first_party,
        )
    )
    return RegisteredClient(identifier, secret)
