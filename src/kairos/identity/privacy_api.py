"""Data-subject requests under ``/api/v1/identity`` (GDPR Art. 15, 17, 20): a person asks for an export or the
erasure of their account (``/me/data-requests``), follows it and downloads the export; an operator (``gdpr:manage``)
asks on a person's behalf (``/users/{user_id}/data-requests``) and reads an erasure's receipt. The sagas are in
``kairos.identity.privacy``.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from kairos.identity import privacy
from kairos.identity.admin_api import permitted
from kairos.identity.api import State
from kairos.identity.domain.privacy import (
    DataSubjectRequest,
    ExportExpired,
    ExportNotReady,
    ReauthenticationRequired,
    RequestKind,
    RequestStatus,
)
from kairos.identity.privacy import PrivacySettings, UnknownDataRequest
from kairos.identity.schemas import DataRequestCreate, DataRequestRead, ErasureReceiptRead, ErasureStatementRead
from kairos.identity.sessions_api import IdentityCaller, Me
from kairos.identity.tables import browser_sessions
from kairos.platform.auth.principal import Principal
from kairos.platform.crypto import DataCipher
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http import problems
from kairos.platform.http.pagination import Page, PageRequest, page_request
from kairos.platform.runtime import ServiceRuntime, unit_of_work

router = APIRouter(tags=["data-subject requests"])

problems.register(UnknownDataRequest, status=404, slug="not-found", title="Not Found")
problems.register(
    ReauthenticationRequired, status=401, slug="reauthentication-required", title="Sign in again to do this"
)
problems.register(ExportNotReady, status=409, slug="export-not-ready", title="The export is not ready")
problems.register(ExportExpired, status=410, slug="export-expired", title="The export is no longer kept")

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
PageDep = Annotated[PageRequest, Depends(page_request)]
GdprManager = Annotated[Principal, permitted("gdpr:manage")]


def privacy_settings(request: Request) -> PrivacySettings:
    settings: PrivacySettings = request.app.state.privacy_settings
    return settings


def data_cipher(request: Request) -> DataCipher:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.cipher


Settings = Annotated[PrivacySettings, Depends(privacy_settings)]
Cipher = Annotated[DataCipher, Depends(data_cipher)]


def request_read(request: DataSubjectRequest, identity: State) -> DataRequestRead:
    base = f"{identity.issuer}"
    downloadable = request.kind is RequestKind.EXPORT and request.status is RequestStatus.COMPLETE
    return DataRequestRead(
        id=request.id,
        kind=request.kind.value,
        status=request.status.value,
        requested_at=request.requested_at,
        deadline=request.deadline,
        completed_at=request.completed_at,
        failed_at=request.failed_at,
        failure_reason=request.failure_reason,
        answered=sorted(request.answered),
        waiting_for=sorted(request.waiting_for),
        download_url=f"{base}/me/data-requests/{request.id}/download" if downloadable else None,
        receipt_url=f"{base}/data-requests/{request.id}/receipt" if request.kind is RequestKind.ERASURE else None,
    )


# --- the person's own requests -------------------------------------------------------------------------------------


@router.post("/me/data-requests", status_code=201)
async def request_my_data(
    body: DataRequestCreate,
    me: Me,
    caller: IdentityCaller,
    uow: Uow,
    settings: Settings,
    identity: State,
    response: Response,
) -> DataRequestRead:
    """Ask for an export of your data, or for the erasure of your account (200: one of that kind is open already)."""
    signed_in_at = None
    if me.session_id is not None:
        async with identity.runtime.sessionmaker() as session:
            signed_in_at = await session.scalar(
                select(browser_sessions.c.created_at).where(browser_sessions.c.id == me.session_id)
            )
    asked = await privacy.request_data(
        uow=uow,
        by=caller,
        subject_id=me.id,
        kind=RequestKind(body.kind),
        settings=settings,
        signed_in_at=signed_in_at,
    )
    if not asked.is_new:
        response.status_code = 200
    return request_read(asked.request, identity)


@router.get("/me/data-requests")
async def list_my_data_requests(
    me: Me, caller: IdentityCaller, uow: Uow, page: PageDep, identity: State
) -> Page[DataRequestRead]:
    """Your export and erasure requests and where each stands, oldest first."""
    found, next_cursor = await privacy.list_requests(uow=uow, by=caller, subject_id=me.id, page=page)
    return Page(items=[request_read(request, identity) for request in found], next_cursor=next_cursor)


@router.get("/me/data-requests/{request_id}")
async def read_my_data_request(
    request_id: uuid.UUID, me: Me, caller: IdentityCaller, uow: Uow, identity: State
) -> DataRequestRead:
    """One of your requests: which services have answered, which are awaited."""
    found = await privacy.read_request(uow=uow, by=caller, subject_id=me.id, request_id=request_id)
    return request_read(found, identity)


@router.get(
    "/me/data-requests/{request_id}/download",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "the export, one JSON document"}},
)
async def download_my_export(
    request_id: uuid.UUID, me: Me, caller: IdentityCaller, uow: Uow, cipher: Cipher
) -> Response:
    """Your complete export: one JSON document with identity's data and every service's part."""
    document = await privacy.export_document(uow=uow, cipher=cipher, by=caller, subject_id=me.id, request_id=request_id)
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="kairos-export-{request_id}.json"',
            "Cache-Control": "no-store",
        },
    )


# --- operators, on a person's behalf --------------------------------------------------------------------------------


@router.post("/users/{user_id}/data-requests", status_code=201)
async def request_data_for(
    user_id: uuid.UUID,
    body: DataRequestCreate,
    operator: GdprManager,
    uow: Uow,
    settings: Settings,
    identity: State,
    response: Response,
) -> DataRequestRead:
    """Open an export or erasure request for a person who asked by other means (``gdpr:manage``)."""
    asked = await privacy.request_data(
        uow=uow, by=operator, subject_id=user_id, kind=RequestKind(body.kind), settings=settings, on_behalf=True
    )
    if not asked.is_new:
        response.status_code = 200
    return request_read(asked.request, identity)


@router.get("/users/{user_id}/data-requests")
async def list_data_requests_of(
    user_id: uuid.UUID, operator: GdprManager, uow: Uow, page: PageDep, identity: State
) -> Page[DataRequestRead]:
    """A person's export and erasure requests (``gdpr:manage``); the export itself goes to the person only."""
    found, next_cursor = await privacy.list_requests(uow=uow, by=operator, subject_id=user_id, page=page)
    return Page(items=[request_read(request, identity) for request in found], next_cursor=next_cursor)


@router.get("/data-requests/{request_id}/receipt")
async def read_erasure_receipt(request_id: uuid.UUID, operator: GdprManager, uow: Uow) -> ErasureReceiptRead:
    """An erasure's receipt: what each service deleted or kept anonymised, and why (``gdpr:manage``)."""
    receipt = await privacy.erasure_receipt(uow=uow, request_id=request_id)
    request = receipt.request
    return ErasureReceiptRead(
        id=request.id,
        status=request.status.value,
        requested_at=request.requested_at,
        completed_at=request.completed_at,
        failed_at=request.failed_at,
        failure_reason=request.failure_reason,
        statements={
            service: ErasureStatementRead.model_validate(statement) for service, statement in receipt.statements.items()
        },
    )
