"""Role management inside an organisation, under ``/api/v1/identity/organisations/{organisation_id}/members``:
its domain admins (``roles:manage``) and operators give and take the organisational roles (professional,
staff, domain admin). Global roles (patient, operator) are given to accounts by operators (``admin_api``).
``/me/organisations``: the organisations a person may act for.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from kairos.identity import memberships
from kairos.identity.domain.roles import Role
from kairos.identity.memberships import Member
from kairos.identity.profiles_api import Cipher
from kairos.identity.schemas import MemberRead, MyOrganisationRead
from kairos.identity.sessions_api import IdentityCaller, Me
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import Page, PageRequest, page_request
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["roles"])

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
PageDep = Annotated[PageRequest, Depends(page_request)]


def member_read(member: Member) -> MemberRead:
    return MemberRead(
        user_id=member.user_id, email=member.email, display_name=member.display_name, roles=list(member.roles)
    )


@router.get("/me/organisations")
async def list_my_organisations(me: Me, caller: IdentityCaller, uow: Uow) -> list[MyOrganisationRead]:
    """Your organisations and roles in each; a session acts for one (``organisation`` at /authorize)."""
    found = await memberships.my_organisations(uow=uow, by=caller, user_id=me.id)
    return [
        MyOrganisationRead(
            organisation_id=organisation.id,
            name=organisation.name,
            kind=organisation.kind,
            roles=list(organisation.roles),
            is_acting=caller.acts_for(organisation.id),
        )
        for organisation in found
    ]


@router.get("/organisations/{organisation_id}/members")
async def list_members(
    organisation_id: uuid.UUID, me: Me, caller: IdentityCaller, uow: Uow, page: PageDep
) -> Page[MemberRead]:
    """The organisation's members and their roles in it (``members:read``)."""
    found, next_cursor = await memberships.list_members(
        uow=uow, by=caller, actor_id=me.id, organisation_id=organisation_id, page=page
    )
    return Page(items=[member_read(member) for member in found], next_cursor=next_cursor)


@router.put("/organisations/{organisation_id}/members/{user_id}/roles/{role}")
async def assign_member_role(
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
    me: Me,
    caller: IdentityCaller,
    uow: Uow,
    cipher: Cipher,
) -> MemberRead:
    """Give an account an organisational role in the organisation (``roles:manage``); effective at its next token."""
    member = await memberships.change_role(
        uow=uow,
        by=caller,
        actor_id=me.id,
        organisation_id=organisation_id,
        user_id=user_id,
        role=role,
        give=True,
        cipher=cipher,
    )
    return member_read(member)


@router.delete("/organisations/{organisation_id}/members/{user_id}/roles/{role}")
async def revoke_member_role(
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    role: Role,
    me: Me,
    caller: IdentityCaller,
    uow: Uow,
    cipher: Cipher,
) -> MemberRead:
    """Take an organisational role from a member (``roles:manage``); a professional leaves the directory at once."""
    member = await memberships.change_role(
        uow=uow,
        by=caller,
        actor_id=me.id,
        organisation_id=organisation_id,
        user_id=user_id,
        role=role,
        give=False,
        cipher=cipher,
    )
    return member_read(member)
