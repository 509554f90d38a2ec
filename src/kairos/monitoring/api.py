"""The monitoring service's HTTP API, under ``/api/v1/monitoring``."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from kairos.monitoring import service
from kairos.monitoring.repository import AuditFilter, MonitoringUnitOfWork
from kairos.monitoring.schemas import AuditEntryRead, AuditVerificationRead, ServiceInstanceRead
from kairos.platform.auth import require
from kairos.platform.http.pagination import Page, PageRequest, page_of, page_request
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["monitoring"])

OPERATOR = Depends(require(roles=["operator"]))
Uow = Annotated[MonitoringUnitOfWork, Depends(unit_of_work)]


@router.get("/services", dependencies=[OPERATOR])
async def list_service_instances(
    uow: Uow, page: Annotated[PageRequest, Depends(page_request)], service: str | None = None
) -> Page[ServiceInstanceRead]:
    """Service instances that have announced themselves, by service."""
    async with uow:
        rows = await uow.instances.page(page, service=service)
    items, next_cursor = page_of(rows, page, key=lambda row: (row["service"], row["instance"]))
    return Page(items=[ServiceInstanceRead.model_validate(dict(row)) for row in items], next_cursor=next_cursor)


@router.get("/audit", dependencies=[OPERATOR])
async def read_audit_trail(
    uow: Uow,
    page: Annotated[PageRequest, Depends(page_request)],
    data_subject: Annotated[str | None, Query(max_length=200, description="whose data (a user id)")] = None,
    actor: Annotated[str | None, Query(max_length=200, description="who accessed it (a user or client id)")] = None,
    service_name: Annotated[str | None, Query(alias="service", max_length=100, examples=["appointments"])] = None,
    recorded_from: Annotated[AwareDatetime | None, Query(alias="from", examples=["2026-12-01T00:00:00Z"])] = None,
    recorded_before: Annotated[AwareDatetime | None, Query(alias="to", examples=["2026-12-08T00:00:00Z"])] = None,
) -> Page[AuditEntryRead]:
    """The audit trail of personal-data access, oldest first; operators only."""
    criteria = AuditFilter(
        data_subject=data_subject,
        actor=actor,
        service=service_name,
        recorded_from=recorded_from,
        recorded_before=recorded_before,
    )
    found = await service.audit_trail(uow=uow, criteria=criteria, page=page)
    items, next_cursor = page_of(found, page, key=lambda stored: (stored.entry.position,))
    return Page(items=[AuditEntryRead.from_domain(stored) for stored in items], next_cursor=next_cursor)


@router.get("/audit/verification", dependencies=[OPERATOR])
async def verify_audit_trail(uow: Uow) -> AuditVerificationRead:
    """Recompute the audit trail's hash chain and report the first broken link; operators only."""
    return AuditVerificationRead.from_domain(await service.verify_audit_trail(uow=uow))
