"""Use cases of the identity service that are not OAuth grants: accounts, organisations, clients."""

from __future__ import annotations

import functools
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from kairos.contracts.events.audit import AuditAction
from kairos.contracts.events.identity import RoleAssigned, RoleRevoked, UserRegistered
from kairos.identity.blocklist import common_passwords
from kairos.identity.domain.passwords import PasswordPolicy
from kairos.identity.domain.roles import Role
from kairos.identity.oauth import digest, revoke_session_tokens
from kairos.identity.passwords import PasswordHasher
from kairos.identity.repository import email_lookup, normalised_email, sealed_account
from kairos.identity.tables import browser_sessions, memberships, oauth_clients, organisations, users
from kairos.platform import audit
from kairos.platform.auth.principal import Principal
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


class UnknownUser(Exception):
    """No account has this id."""


class UnknownOrganisation(Exception):
    """No organisation has this id."""


class UnknownSession(Exception):
    """The user has no session with this id; another user's session is just as unknown (no enumeration)."""


class InvalidRoleAssignment(Exception):
    """An organisational role without an organisation, or a global role given one."""


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
    password_hash: str | None = None,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Create an account; organisational roles need an organisation (they are held inside it).

    ``password_hash`` instead of ``password``: a password already checked and hashed by the caller. ``user_id``
    fixes the new account's id (the demo's professionals, whom other services' demo data name). Publishes
    ``UserRegistered`` with the unit of work's commit, whoever creates the account (registration, operator, CLI).
    """
    normalised = normalised_email(email)
    lookup = await email_lookup(uow.cipher, normalised)
    exists = await uow.session.scalar(select(users.c.id).where(users.c.email_lookup == lookup))
    if exists is not None:
        raise AccountExists(normalised)
    organisational = {role for role in roles if role.is_organisational}
    if organisational and organisation_id is None:
        raise ValueError(f"roles {sorted(organisational)} are held inside an organisation: give one")
    if organisational:
        await _require_organisation(uow, organisation_id)
    if password is not None:
        POLICY.check(password, blocklist=common_passwords(), has_mfa=False, email=normalised).raise_if_not_acceptable()
    user_id = user_id or new_id()
    now = uow.clock.now()
    sealed = await sealed_account(uow.cipher, user_id, email=normalised, display_name=display_name)
    try:
        # A savepoint: two registrations of one address racing past the check above meet the unique index (of
        # the address's lookup hash), and the loser's transaction stays usable for what its caller does about it.
        async with uow.session.begin_nested():
            await uow.session.execute(
                insert(users).values(
                    id=user_id,
                    password_hash=await hasher().hash_async(password) if password else password_hash,
                    locale=locale,
                    zone=zone,
                    global_roles=sorted(role.value for role in roles - organisational),
                    email_verified_at=now if email_verified else None,
                    **sealed,
                )
            )
    except IntegrityError as error:
        if _is_unique_violation(error):
            raise AccountExists(normalised) from error
        raise
    for role in sorted(organisational):
        await uow.session.execute(
            insert(memberships).values(user_id=user_id, organisation_id=organisation_id, role=role.value)
        )
    uow.publish(
        UserRegistered(
            user_id=user_id,
            organisation_id=organisation_id if organisational else None,
            roles=sorted(role.value for role in roles),
            locale=locale,
            registered_at=now,
            display_name=display_name,
        ),
        subject=f"user:{user_id}",
    )
    return user_id


def _is_unique_violation(error: IntegrityError) -> bool:
    return getattr(error.orig, "sqlstate", None) == "23505"


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


async def assign_role(
    *, uow: UnitOfWork, user_id: uuid.UUID, role: Role, organisation_id: uuid.UUID | None, by: Principal
) -> None:
    """Give a user a role, inside the organisation for organisational roles, globally otherwise.

    Effective from the user's next token: access tokens carry roles until they expire (10 minutes). A change
    publishes ``identity.role.assigned`` and is audited; giving a role already held changes nothing.
    (The admin API gives organisational roles through ``memberships.change_role``.)
    """
    _check_scope(role, organisation_id)
    async with uow:
        held = await _lock_user(uow, user_id)
        if organisation_id is not None:
            await _require_organisation(uow, organisation_id)
            inserted = await uow.session.execute(
                pg_insert(memberships)
                .values(user_id=user_id, organisation_id=organisation_id, role=role.value)
                .on_conflict_do_nothing()
                .returning(memberships.c.role)
            )
            changed = inserted.first() is not None
        else:
            changed = role.value not in held
            if changed:
                await uow.session.execute(
                    update(users).where(users.c.id == user_id).values(global_roles=sorted({*held, role.value}))
                )
        if changed:
            now = uow.clock.now()
            event = RoleAssigned(
                user_id=user_id, organisation_id=organisation_id, role=role.value, actor=by.subject, assigned_at=now
            )
            _publish_role_change(uow, event, by=by, organisation_id=organisation_id, action="create")
        await uow.commit()


async def remove_role(
    *, uow: UnitOfWork, user_id: uuid.UUID, role: Role, organisation_id: uuid.UUID | None, by: Principal
) -> None:
    """Take a role from a user (in the organisation, for organisational roles); nothing to do when not held.

    A change publishes ``identity.role.revoked`` and is audited."""
    _check_scope(role, organisation_id)
    async with uow:
        held = await _lock_user(uow, user_id)
        if organisation_id is not None:
            deleted = await uow.session.execute(
                delete(memberships)
                .where(
                    memberships.c.user_id == user_id,
                    memberships.c.organisation_id == organisation_id,
                    memberships.c.role == role.value,
                )
                .returning(memberships.c.role)
            )
            changed = deleted.first() is not None
        else:
            changed = role.value in held
            if changed:
                await uow.session.execute(
                    update(users).where(users.c.id == user_id).values(global_roles=sorted(set(held) - {role.value}))
                )
        if changed:
            now = uow.clock.now()
            event = RoleRevoked(
                user_id=user_id, organisation_id=organisation_id, role=role.value, actor=by.subject, revoked_at=now
            )
            _publish_role_change(uow, event, by=by, organisation_id=organisation_id, action="delete")
        await uow.commit()


def _publish_role_change(
    uow: UnitOfWork,
    event: RoleAssigned | RoleRevoked,
    *,
    by: Principal,
    organisation_id: uuid.UUID | None,
    action: AuditAction,
) -> None:
    uow.publish(event, subject=f"user:{event.user_id}")
    audit.record(
        uow,
        actor=by,
        action="update" if organisation_id is None else action,  # a global role is a field of the account
        # A global role is the account's; an organisational one a membership (as ``memberships.change_role``).
        resource_type="identity.account" if organisation_id is None else "identity.membership",
        resource_id=event.user_id if organisation_id is None else f"{organisation_id}:{event.user_id}",
        data_subject=event.user_id,
        fields=("global_roles",) if organisation_id is None else ("roles",),
        purpose="account administration",
    )


async def require_organisation(*, uow: UnitOfWork, organisation_id: uuid.UUID) -> None:
    """``UnknownOrganisation`` unless the organisation exists."""
    await _require_organisation(uow, organisation_id)


def _check_scope(role: Role, organisation_id: uuid.UUID | None) -> None:
    if role.is_organisational and organisation_id is None:
        raise InvalidRoleAssignment(f"the role {role.value} is held inside an organisation: give one")
    if not role.is_organisational and organisation_id is not None:
        raise InvalidRoleAssignment(f"the role {role.value} is held globally, not inside an organisation")


async def _lock_user(uow: UnitOfWork, user_id: uuid.UUID) -> list[str]:
    """The user's global roles, the row locked so that concurrent role changes do not lose each other."""
    held = await uow.session.scalar(select(users.c.global_roles).where(users.c.id == user_id).with_for_update())
    if held is None:
        raise UnknownUser("no such user")
    return list(held)


async def _require_organisation(uow: UnitOfWork, organisation_id: uuid.UUID | None) -> None:
    found = await uow.session.scalar(select(organisations.c.id).where(organisations.c.id == organisation_id))
    if found is None:
        raise UnknownOrganisation("no such organisation")


async def revoke_session(*, uow: UnitOfWork, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """End one of the user's browser sessions and revoke the tokens obtained in it."""
    async with uow:
        owner = await uow.session.scalar(select(browser_sessions.c.user_id).where(browser_sessions.c.id == session_id))
        if owner != user_id:
            raise UnknownSession("no such session")
        await _revoke_sessions(uow, [session_id])
        await uow.commit()


async def revoke_sessions(*, uow: UnitOfWork, user_id: uuid.UUID, keep: uuid.UUID | None = None) -> int:
    """End all of the user's browser sessions (but ``keep``) and revoke their tokens; how many were ended."""
    async with uow:
        query = select(browser_sessions.c.id).where(
            browser_sessions.c.user_id == user_id, browser_sessions.c.revoked_at.is_(None)
        )
        if keep is not None:
            query = query.where(browser_sessions.c.id != keep)
        ended = list(await uow.session.scalars(query.with_for_update()))
        await _revoke_sessions(uow, ended)
        await uow.commit()
    return len(ended)


async def _revoke_sessions(uow: UnitOfWork, session_ids: list[uuid.UUID]) -> None:
    now = uow.clock.now()
    await uow.session.execute(
        update(browser_sessions)
        .where(browser_sessions.c.id.in_(session_ids), browser_sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    for session_id in session_ids:
        await uow.session.run_sync(lambda session, ended=session_id: revoke_session_tokens(session, ended, at=now))
