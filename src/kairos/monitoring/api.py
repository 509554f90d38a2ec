"""The monitoring service's HTTP API, under ``/api/v1/monitoring``."""

from typing import Annotated

from fastapi import APIRouter, Depends

from kairos.monitoring.repository import MonitoringUnitOfWork
from kairos.monitoring.schemas import ServiceInstanceRead
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
