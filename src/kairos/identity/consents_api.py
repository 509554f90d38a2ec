"""A person's consents, under ``/api/v1/identity``: the purposes asked about (``/consents/purposes``), and
one's own records (``/me/consents``): grant, withdraw, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from kairos.identity import consents
from kairos.identity.domain.consents import PURPOSES, ConsentRecord
from kairos.identity.schemas import ConsentCreate, ConsentRead, PurposeRead
from kairos.identity.sessions_api import IdentityCaller, Me
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import Page, PageRequest, page_request
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["consents"])

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
PageDep = Annotated[PageRequest, Depends(page_request)]


def consent_read(record: ConsentRecord) -> ConsentRead:
    return ConsentRead(
        id=record.id,
        purpose=record.purpose,
        version=record.version,
        granted_at=record.granted_at,
        closed_at=record.closed_at,
        closed_by=record.closed_by,
        is_current=record.is_current,
    )


@router.get("/consents/purposes")
async def list_purposes() -> list[PurposeRead]:
    """The purposes Kairos asks consent for, with the current version of each one's text."""
    return [PurposeRead(name=p.name, version=p.version, description=p.description) for p in PURPOSES.values()]


@router.get("/me/consents")
async def list_my_consents(me: Me, caller: IdentityCaller, uow: Uow, page: PageDep) -> Page[ConsentRead]:
    """Every consent you gave, oldest first, with when it was withdrawn or superseded."""
    records, next_cursor = await consents.consent_history(uow=uow, by=caller, user_id=me.id, page=page)
    return Page(items=[consent_read(record) for record in records], next_cursor=next_cursor)


@router.post("/me/consents", status_code=201)
async def grant_my_consent(
    body: ConsentCreate, me: Me, caller: IdentityCaller, uow: Uow, response: Response
) -> ConsentRead:
    """Consent to the current version of a purpose (201; 200 when you had already)."""
    granted = await consents.grant_consent(
        uow=uow, by=caller, user_id=me.id, purpose=body.purpose, version=body.version
    )
    if not granted.is_new:
        response.status_code = 200
    return consent_read(granted.record)


@router.delete("/me/consents/{purpose}")
async def withdraw_my_consent(purpose: str, me: Me, caller: IdentityCaller, uow: Uow) -> ConsentRead:
    """Withdraw your consent to a purpose; the record stays in your history, closed."""
    return consent_read(await consents.withdraw_consent(uow=uow, by=caller, user_id=me.id, purpose=purpose))
