"""Bulk availability changes over HTTP: ``/api/v1/appointments/availability/bulk-changes``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from kairos.appointments import bulk_changes
from kairos.appointments.domain.availability import DaysOff, RecurringPeriod
from kairos.appointments.domain.bulk_changes import (
    AddHours,
    Change,
    CloseDates,
    ReplaceWeeklyHours,
    ResourcePreview,
)
from kairos.appointments.repository import AppointmentsUnitOfWork
from kairos.appointments.schemas import DaysOffModel, RecurringPeriodModel
from kairos.platform.auth import CurrentPrincipal
from kairos.platform.http.pagination import Page, PageRequest, page_of, page_request
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["availability"])

Uow = Annotated[AppointmentsUnitOfWork, Depends(unit_of_work)]
MAX_LISTED = 500


class TargetsWrite(BaseModel):
    """Listed resources, or every resource of an organisation and/or a domain (at least one of the three)."""

    resource_ids: list[UUID] = Field(default_factory=list, max_length=MAX_LISTED)
    organisation_id: UUID | None = None
    domain: str | None = Field(default=None, max_length=100)


class CloseDatesWrite(BaseModel):
    kind: Literal["close-dates"]
    days: list[DaysOffModel] = Field(min_length=1, max_length=100, description="local days, first to last inclusive")


class AddHoursWrite(BaseModel):
    kind: Literal["add-hours"]
    days: list[date] = Field(min_length=1, max_length=366)
    start_time: time = Field(examples=["09:00"])
    duration_minutes: int = Field(gt=0, le=24 * 60)


class ReplaceWeeklyHoursWrite(BaseModel):
    kind: Literal["replace-weekly-hours"]
    starting: date
    working_hours: list[RecurringPeriodModel] = Field(min_length=1, max_length=50)
    breaks: list[RecurringPeriodModel] | None = Field(default=None, max_length=50, description="null: kept")


ChangeWrite = Annotated[CloseDatesWrite | AddHoursWrite | ReplaceWeeklyHoursWrite, Field(discriminator="kind")]


class BulkChangeCreate(BaseModel):
    resources: TargetsWrite
    change: ChangeWrite

    def to_domain(self) -> tuple[bulk_changes.Targets, Change]:
        targets = bulk_changes.Targets(
            resource_ids=tuple(self.resources.resource_ids),
            organisation_id=self.resources.organisation_id,
            domain=self.resources.domain,
        )
        change = self.change
        if isinstance(change, CloseDatesWrite):
            return targets, CloseDates(tuple(DaysOff(d.first_day, d.last_day) for d in change.days))
        if isinstance(change, AddHoursWrite):
            return targets, AddHours(tuple(change.days), change.start_time, timedelta(minutes=change.duration_minutes))
        return targets, ReplaceWeeklyHours(
            change.starting,
            _periods(change.working_hours),
            None if change.breaks is None else _periods(change.breaks),
        )


def _periods(items: list[RecurringPeriodModel]) -> tuple[RecurringPeriod, ...]:
    return tuple(RecurringPeriod(p.rule, p.start_time, timedelta(minutes=p.duration_minutes)) for p in items)


class TimeSpanRead(BaseModel):
    starts_at: datetime
    ends_at: datetime


class ConflictRead(BaseModel):
    appointment_id: UUID
    starts_at: datetime
    ends_at: datetime
    status: str


class ResourceChangeRead(BaseModel):
    resource_id: UUID
    changed: bool
    working_time_before: list[TimeSpanRead] = Field(description="within the days the change is about")
    working_time_after: list[TimeSpanRead]
    minutes_before: float
    minutes_after: float
    conflicts: list[ConflictRead] = Field(description="appointments the working time after would not cover")

    @classmethod
    def from_domain(cls, result: ResourcePreview) -> ResourceChangeRead:
        zone = result.before.time_zone
        return cls(
            resource_id=result.resource_id,
            changed=result.is_changed,
            working_time_before=[
                TimeSpanRead(starts_at=start.astimezone(zone), ends_at=end.astimezone(zone))
                for start, end in result.working_before
            ],
            working_time_after=[
                TimeSpanRead(starts_at=start.astimezone(zone), ends_at=end.astimezone(zone))
                for start, end in result.working_after
            ],
            minutes_before=result.time_before.total_seconds() / 60,
            minutes_after=result.time_after.total_seconds() / 60,
            conflicts=[
                ConflictRead(
                    appointment_id=conflict.id,
                    starts_at=conflict.starts_at,
                    ends_at=conflict.ends_at,
                    status=conflict.status,
                )
                for conflict in result.conflicts
            ],
        )


class BulkChangeRead(BaseModel):
    change_id: UUID | None = Field(description="null for a preview; what to undo otherwise")
    applied: bool
    resources: list[ResourceChangeRead]
    skipped: list[UUID] = Field(description="targeted resources without working hours, left as they are")


class RecentChangeRead(BaseModel):
    change_id: UUID
    change: dict[str, Any] = Field(description="the change as it was sent (`kind` and its fields)")
    applied_by: str
    applied_at: datetime
    undone_at: datetime | None
    resource_ids: list[UUID] = Field(description="the resources whose schedules it rewrote")

    @classmethod
    def from_domain(cls, recent: bulk_changes.RecentChange) -> RecentChangeRead:
        return cls(
            change_id=recent.change_id,
            change=recent.change,
            applied_by=recent.applied_by,
            applied_at=recent.applied_at,
            undone_at=recent.undone_at,
            resource_ids=recent.resource_ids,
        )


class BulkChangeUndone(BaseModel):
    change_id: UUID
    undone_at: datetime
    restored: list[UUID]


@router.post("/availability/bulk-changes", status_code=200, responses={201: {"model": BulkChangeRead}})
async def post_bulk_change(
    body: BulkChangeCreate,
    preview: Annotated[bool, Query(description="true: compute only, write nothing; false: apply")],
    request: Request,
    response: Response,
    uow: Uow,
    me: CurrentPrincipal,
) -> BulkChangeRead:
    """Preview (200) or apply (201) one availability change to many resources; conflicts are reported only."""
    targets, change = body.to_domain()
    outcome = await bulk_changes.change_availability(
        uow=uow,
        by=me,
        targets=targets,
        change=change,
        change_document=body.change.model_dump(mode="json"),
        apply=not preview,
        max_resources=request.app.state.appointments_settings.bulk_change_max_resources,
    )
    if not preview:
        response.status_code = 201
    return BulkChangeRead(
        change_id=outcome.change_id,
        applied=not preview,
        resources=[ResourceChangeRead.from_domain(result) for result in outcome.previews],
        skipped=outcome.skipped,
    )


@router.get("/availability/bulk-changes")
async def list_bulk_changes(
    uow: Uow, me: CurrentPrincipal, page: Annotated[PageRequest, Depends(page_request)]
) -> Page[RecentChangeRead]:
    """Applied bulk changes the caller may undo, latest first (undone ones too, with when)."""
    found = await bulk_changes.recent_changes(uow=uow, by=me, page=page)
    items, next_cursor = page_of(found, page, key=lambda recent: (recent.applied_at, recent.change_id))
    return Page(items=[RecentChangeRead.from_domain(recent) for recent in items], next_cursor=next_cursor)


@router.post("/availability/bulk-changes/{change_id}/undo")
async def undo_bulk_change(change_id: UUID, uow: Uow, me: CurrentPrincipal) -> BulkChangeUndone:
    """Restore the exact schedules a bulk change replaced (409 when a later change touched them)."""
    undone = await bulk_changes.undo_change(uow=uow, by=me, change_id=change_id)
    return BulkChangeUndone(change_id=undone.change_id, undone_at=undone.undone_at, restored=undone.resource_ids)
