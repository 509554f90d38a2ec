"""The operator's API, under ``/api/v1/identity``: accounts, their roles, and OAuth clients; what
``kairos users`` and ``kairos clients`` do, over HTTP. Every route needs ``users:manage`` or ``clients:manage``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import RowMapping, select

from kairos.identity import memberships as membership_changes
from kairos.identity import service
from kairos.identity.domain.roles import Role
from kairos.identity.profiles_api import Cipher
from kairos.identity.repository import ACCOUNT_COLUMNS, AccountRecord, email_lookup, load_account_record, open_account
from kairos.identity.schemas import (
    ClientCreate,
    ClientCreated,
    ClientRead,
    MembershipRead,
    RoleAssignmentCreate,
    UserCreate,
    UserRead,
)
from kairos.identity.service import InvalidRoleAssignment, UnknownOrganisation, UnknownUser
from kairos.identity.sessions_api import IdentityCaller, Me
from kairos.identity.tables import memberships, oauth_clients, users
from kairos.platform import audit
from kairos.platform.auth.principal import Principal, require
from kairos.platform.crypto import DataCipher
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http import problems
from kairos.platform.http.pagination import Page, PageRequest, keyset, page_of, page_request
from kairos.platform.runtime import unit_of_work

log = structlog.get_logger(__name__)

router = APIRouter(tags=["administration"])

problems.register(UnknownUser, status=404, slug="not-found", title="Not Found")
problems.register(UnknownOrganisation, status=422, slug="unknown-organisation", title="The organisation is unknown")
problems.register(
    InvalidRoleAssignment, status=422, slug="invalid-role-assignment", title="The role does not fit the organisation"
)

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
PageDep = Annotated[PageRequest, Depends(page_request)]


def permitted(*permissions: str) -> Any:
    """``require(permissions=...)`` on the caller as identity verifies it (``IdentityCaller``)."""
    check = require(permissions=permissions)

    async def dependency(principal: IdentityCaller) -> Principal:
        return await check(principal)

    return Depends(dependency)


MANAGES_USERS = permitted("users:manage")
MANAGES_CLIENTS = permitted("clients:manage")
UserManager = Annotated[Principal, MANAGES_USERS]
ClientManager = Annotated[Principal, MANAGES_CLIENTS]

_USER_FIELDS = ("display_name", "email", "email_verified_at", "global_roles", "locale", "memberships", "zone")
# Why an operator reads or writes an account, in its audit records.
PURPOSE = "account administration"


@router.post("/users", status_code=201)
async def create_user(body: UserCreate, uow: Uow, request: Request, response: Response, by: UserManager) -> UserRead:
    """Create an account; without a password the person sets one through a password reset."""
    async with uow:
        user_id = await service.create_user(
            uow=uow,
            email=body.email,
            password=body.password.get_secret_value() if body.password is not None else None,
            display_name=body.display_name,
            roles=frozenset(body.roles),
            organisation_id=body.organisation_id,
            email_verified=body.is_email_verified,
        )
        audit.record(
            uow,
            actor=by,
            action="create",
            resource_type="identity.account",
            resource_id=user_id,
            data_subject=user_id,
            fields=("display_name", "email", "global_roles", "memberships", *(("password",) if body.password else ())),
            purpose=PURPOSE,
        )
        await uow.commit()
    log.info("identity.user_created", user_id=str(user_id), by=by.subject)
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{user_id}"
    return await _user(uow, user_id, by=by)


@router.get("/users")
async def list_users(
    uow: Uow, page: PageDep, by: UserManager, email: Annotated[str | None, Query(max_length=320)] = None
) -> Page[UserRead]:
    """Accounts, in the order they were created; ``email`` finds one. Each account listed is audited."""
    query = select(*ACCOUNT_COLUMNS)
    async with uow:
        if email is not None:
            query = query.where(users.c.email_lookup == await email_lookup(uow.cipher, email))
        rows = (await uow.session.execute(keyset(query, [users.c.id], page))).mappings().all()
        items, next_cursor = page_of(rows, page, key=lambda row: (row["id"],))
        accounts = [await open_account(uow.cipher, row) for row in items]
        held = await _memberships(uow, [account.id for account in accounts])
        for account in accounts:
            _audit_read(uow, by, account.id)
        await uow.commit()
    return Page(items=[_user_read(account, held.get(account.id, [])) for account in accounts], next_cursor=next_cursor)


@router.get("/users/{user_id}")
async def read_user(user_id: uuid.UUID, uow: Uow, by: UserManager) -> UserRead:
    """One account, with its roles."""
    return await _user(uow, user_id, by=by)


@router.post("/users/{user_id}/roles")
async def assign_role(
    user_id: uuid.UUID, body: RoleAssignmentCreate, uow: Uow, by: UserManager, me: Me, cipher: Cipher
) -> UserRead:
    """Give an account a role: organisational roles inside the organisation named, the others globally."""
    await _change_role(
        uow,
        user_id=user_id,
        role=body.role,
        organisation_id=body.organisation_id,
        by=by,
        actor_id=me.id,
        cipher=cipher,
        give=True,
    )
    log.info("identity.role_assigned", user_id=str(user_id), role=body.role.value, by=by.subject)
    return await _user(uow, user_id, by=by)


@router.delete("/users/{user_id}/roles/{role}")
async def remove_role(
    user_id: uuid.UUID,
    role: Role,
    uow: Uow,
    by: UserManager,
    me: Me,
    cipher: Cipher,
    organisation_id: uuid.UUID | None = None,
) -> UserRead:
    """Take a role from an account (organisational roles: in the organisation named)."""
    await _change_role(
        uow,
        user_id=user_id,
        role=role,
        organisation_id=organisation_id,
        by=by,
        actor_id=me.id,
        cipher=cipher,
        give=False,
    )
    log.info("identity.role_removed", user_id=str(user_id), role=role.value, by=by.subject)
    return await _user(uow, user_id, by=by)


async def _change_role(
    uow: UnitOfWork,
    *,
    user_id: uuid.UUID,
    role: Role,
    organisation_id: uuid.UUID | None,
    by: Principal,
    actor_id: uuid.UUID,
    cipher: DataCipher,
    give: bool,
) -> None:
    """Organisational roles change as a domain admin's do (``memberships.change_role``: the same checks, the last
    domain admin kept, a lapsed listing, events and audit); global roles by ``service``, with events and audit."""
    if organisation_id is None or not role.is_organisational:
        change = service.assign_role if give else service.remove_role
        await change(uow=uow, user_id=user_id, role=role, organisation_id=organisation_id, by=by)
        return
    async with uow:
        # An unknown organisation is the operator's mistake to be told of (422), not another's secret (403).
        await service.require_organisation(uow=uow, organisation_id=organisation_id)
    await membership_changes.change_role(
        uow=uow,
        by=by,
        actor_id=actor_id,
        organisation_id=organisation_id,
        user_id=user_id,
        role=role,
        give=give,
        cipher=cipher,
    )


@router.post("/clients", status_code=201)
async def register_client(body: ClientCreate, uow: Uow, by: ClientManager) -> ClientCreated:
    """Register an OAuth client; the answer holds its secret, this once."""
    async with uow:
        registered = await service.create_client(
            uow=uow,
            name=body.name,
            grant_types=frozenset(body.grant_types),
            redirect_uris=tuple(body.redirect_uris),
            post_logout_redirect_uris=tuple(body.post_logout_redirect_uris),
            scopes=tuple(dict.fromkeys(body.scopes)),
            public=body.is_public,
            first_party=body.is_first_party,
        )
        await uow.commit()
    log.info("identity.client_registered", client_id=registered.client_id, by=by.subject)
    async with uow:
        row = (
            (await uow.session.execute(select(oauth_clients).where(oauth_clients.c.client_id == registered.client_id)))
            .mappings()
            .one()
        )
    return ClientCreated(**_client_read(row).model_dump(), client_secret=registered.client_secret)


@router.get("/clients", dependencies=[MANAGES_CLIENTS])
async def list_clients(uow: Uow, page: PageDep) -> Page[ClientRead]:
    """OAuth clients, by client id."""
    async with uow:
        rows = (
            (await uow.session.execute(keyset(select(oauth_clients), [oauth_clients.c.client_id], page)))
            .mappings()
            .all()
        )
    items, next_cursor = page_of(rows, page, key=lambda row: (row["client_id"],))
    return Page(items=[_client_read(row) for row in items], next_cursor=next_cursor)


async def _user(uow: UnitOfWork, user_id: uuid.UUID, *, by: Principal) -> UserRead:
    async with uow:
        account = await load_account_record(uow.session, uow.cipher, user_id=user_id)
        if account is None:
            raise UnknownUser("no such user")
        held = await _memberships(uow, [user_id])
        _audit_read(uow, by, user_id)
        await uow.commit()
    return _user_read(account, held.get(user_id, []))


def _audit_read(uow: UnitOfWork, by: Principal, user_id: uuid.UUID) -> None:
    audit.record(
        uow,
        actor=by,
        action="read",
        resource_type="identity.account",
        resource_id=user_id,
        data_subject=user_id,
        fields=_USER_FIELDS,
        purpose=PURPOSE,
    )


async def _memberships(uow: UnitOfWork, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[MembershipRead]]:
    rows = await uow.session.execute(
        select(memberships.c.user_id, memberships.c.organisation_id, memberships.c.role)
        .where(memberships.c.user_id.in_(user_ids))
        .order_by(memberships.c.created_at, memberships.c.organisation_id, memberships.c.role)
    )
    held: dict[uuid.UUID, list[MembershipRead]] = {}
    for user_id, organisation_id, role in rows:
        held.setdefault(user_id, []).append(MembershipRead(organisation_id=organisation_id, role=Role(role)))
    return held


def _user_read(account: AccountRecord, held: list[MembershipRead]) -> UserRead:
    return UserRead(
        id=account.id,
        email=account.email,
        display_name=account.display_name,
        locale=account.locale,
        zone=account.zone,
        roles=[Role(role) for role in account.global_roles],
        memberships=held,
        is_email_verified=account.is_email_verified,
        is_disabled=account.disabled_at is not None,
        created_at=account.created_at,
    )


def _client_read(row: RowMapping) -> ClientRead:
    return ClientRead(
        client_id=row["client_id"],
        name=row["name"],
        grant_types=list(row["grant_types"]),
        redirect_uris=list(row["redirect_uris"]),
        post_logout_redirect_uris=list(row["post_logout_redirect_uris"]),
        scopes=list(row["scopes"]),
        is_public=row["secret_hash"] is None,
        is_first_party=row["first_party"],
        created_at=row["created_at"],
    )
