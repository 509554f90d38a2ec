"""Use cases of role management inside an organisation (issue 4 §8): who is a member with which roles, and
giving or taking organisational roles at run time.

Identity decides with its own records, not the caller's token: the roles the actor holds now, globally and in
the organisation concerned, through the one mapping of ``kairos.identity.domain.roles`` that tokens carry too.
A change is effective from the person's next token (access tokens live 10 minutes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kairos.contracts.events.identity import RoleAssigned, RoleRevoked
from kairos.identity.access import NotAllowed, require_permission
from kairos.identity.domain.roles import Role, RoleChangeForbidden, authorise_role_change
from kairos.identity.profiles import withdraw_listing
from kairos.identity.repository import ACCOUNT_COLUMNS, load_account_record, open_account
from kairos.identity.service import InvalidRoleAssignment, UnknownUser
from kairos.identity.tables import memberships, organisations, users
from kairos.platform import audit
from kairos.platform.auth.principal import Principal
from kairos.platform.crypto import DataCipher
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import PageRequest, keyset, page_of


class LastDomainAdmin(Exception):
    """An organisation keeps at least one domain admin: nobody else could manage its roles."""


@dataclass(frozen=True)
class Member:
    user_id: uuid.UUID
    email: str
    display_name: str
    roles: tuple[Role, ...]


async def list_members(
    *, uow: UnitOfWork, by: Principal, actor_id: uuid.UUID, organisation_id: uuid.UUID, page: PageRequest
) -> tuple[list[Member], str | None]:
    """The organisation's members and their roles there, by account id; each listing is audited."""
    async with uow:
        await require_permission(uow, by=actor_id, organisation_id=organisation_id, permission="members:read", token=by)
        member_ids = (
            select(memberships.c.user_id).where(memberships.c.organisation_id == organisation_id).distinct()
        ).scalar_subquery()
        query = select(*ACCOUNT_COLUMNS).where(users.c.id.in_(member_ids))
        rows = (await uow.session.execute(keyset(query, [users.c.id], page))).mappings().all()
        items, next_cursor = page_of(rows, page, key=lambda row: (row["id"],))
        accounts = [await open_account(uow.cipher, row) for row in items]
        held: dict[uuid.UUID, list[Role]] = {}
        for user_id, role in await uow.session.execute(
            select(memberships.c.user_id, memberships.c.role)
            .where(
                memberships.c.organisation_id == organisation_id, memberships.c.user_id.in_([a.id for a in accounts])
            )
            .order_by(memberships.c.role)
        ):
            held.setdefault(user_id, []).append(Role(role))
        for account in accounts:
            audit.record(
                uow,
                actor=by,
                action="read",
                resource_type="identity.membership",
                resource_id=f"{organisation_id}:{account.id}",
                data_subject=account.id,
                fields=("display_name", "email", "roles"),
                purpose="role management",
            )
        await uow.commit()
    members = [Member(a.id, a.email, a.display_name, tuple(held.get(a.id, ()))) for a in accounts]
    return members, next_cursor


async def read_member(uow: UnitOfWork, user_id: uuid.UUID, organisation_id: uuid.UUID) -> Member:
    account = await load_account_record(uow.session, uow.cipher, user_id=user_id)
    if account is None:
        raise UnknownUser("no such user")
    roles = await uow.session.scalars(
        select(memberships.c.role)
        .where(memberships.c.user_id == user_id, memberships.c.organisation_id == organisation_id)
        .order_by(memberships.c.role)
    )
    return Member(account.id, account.email, account.display_name, tuple(Role(role) for role in roles))


async def change_role(
    *,
    uow: UnitOfWork,
    by: Principal,
    actor_id: uuid.UUID,
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
    give: bool,
    cipher: DataCipher,
) -> Member:
    """Give (``give``) or take an organisational role inside the organisation; doing what is already so changes
    nothing and publishes nothing."""
    async with uow:
        actor_roles = await require_permission(
            uow, by=actor_id, organisation_id=organisation_id, permission="roles:manage", token=by
        )
        try:
            authorise_role_change(actor_roles=actor_roles, role=role)
        except RoleChangeForbidden as refused:
            raise NotAllowed(str(refused)) from refused
        if not role.is_organisational:
            raise InvalidRoleAssignment(f"the role {role.value} is held globally: operators give it to the account")
        # The organisation's row is locked so that two admins taking each other's role cannot leave none.
        await uow.session.execute(
            select(organisations.c.id).where(organisations.c.id == organisation_id).with_for_update()
        )
        exists = await uow.session.scalar(select(users.c.id).where(users.c.id == user_id).with_for_update())
        if exists is None:
            raise UnknownUser("no such user")
        now = uow.clock.now()
        if give:
            inserted = await uow.session.execute(
                pg_insert(memberships)
                .values(user_id=user_id, organisation_id=organisation_id, role=role.value)
                .on_conflict_do_nothing()
                .returning(memberships.c.role)
            )
            changed = inserted.first() is not None
            event: RoleAssigned | RoleRevoked = RoleAssigned(
                user_id=user_id, organisation_id=organisation_id, role=role.value, actor=by.subject, assigned_at=now
            )
        else:
            if role is Role.DOMAIN_ADMIN:
                await _keep_a_domain_admin(uow, organisation_id, leaving=user_id)
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
            event = RoleRevoked(
                user_id=user_id, organisation_id=organisation_id, role=role.value, actor=by.subject, revoked_at=now
            )
        if changed and not give and role is Role.PROFESSIONAL:
            await withdraw_listing(uow=uow, cipher=cipher, user_id=user_id, organisation_id=organisation_id)
        if changed:
            uow.publish(event, subject=f"user:{user_id}")
            audit.record(
                uow,
                actor=by,
                action="create" if give else "delete",
                resource_type="identity.membership",
                resource_id=f"{organisation_id}:{user_id}",
                data_subject=user_id,
                fields=("roles",),
                purpose="role management",
            )
        member = await read_member(uow, user_id, organisation_id)
        await uow.commit()
    return member


async def _keep_a_domain_admin(uow: UnitOfWork, organisation_id: uuid.UUID, *, leaving: uuid.UUID) -> None:
    others = await uow.session.scalar(
        select(func.count()).where(
            memberships.c.organisation_id == organisation_id,
            memberships.c.role == Role.DOMAIN_ADMIN.value,
            memberships.c.user_id != leaving,
        )
    )
    holds = await uow.session.scalar(
        select(func.count()).where(
            memberships.c.organisation_id == organisation_id,
            memberships.c.role == Role.DOMAIN_ADMIN.value,
            memberships.c.user_id == leaving,
        )
    )
    if holds and not others:
        raise LastDomainAdmin("the organisation would be left without a domain admin")


@dataclass(frozen=True)
class Organisation:
    id: uuid.UUID
    name: str
    kind: str
    roles: tuple[Role, ...]


async def my_organisations(*, uow: UnitOfWork, by: Principal, user_id: uuid.UUID) -> list[Organisation]:
    """The organisations the person is a member of, first joined first, with their roles in each: those a
    session may act for (``organisation`` at authorization)."""
    async with uow:
        rows = await uow.session.execute(
            select(organisations.c.id, organisations.c.name, organisations.c.kind, memberships.c.role)
            .select_from(memberships.join(organisations, organisations.c.id == memberships.c.organisation_id))
            .where(memberships.c.user_id == user_id)
            .order_by(memberships.c.created_at, organisations.c.id, memberships.c.role)
        )
        found: dict[uuid.UUID, Organisation] = {}
        for row in rows:
            held = found.get(row.id)
            roles = (*held.roles, Role(row.role)) if held else (Role(row.role),)
            found[row.id] = Organisation(row.id, row.name, row.kind, roles)
        audit.record(
            uow,
            actor=by,
            action="read",
            resource_type="identity.membership",
            resource_id=str(user_id),
            data_subject=user_id,
            fields=("roles",),
        )
        await uow.commit()
    return list(found.values())
