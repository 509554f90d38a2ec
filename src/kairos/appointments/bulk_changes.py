"""Use cases of bulk availability changes: preview, apply (atomically, the previous schedules kept), undo.

Who: operators; an organisation's domain admins, and its staff who hold ``availability:manage``, for the
organisation's resources only; a professional who holds ``availability:manage``, for their own resources (those
whose ``user_id`` is their account) — a change, its undo and the list of recent changes alike. Conflicting
appointments are reported, never cancelled: the practice decides.
Resources without working hours are skipped (they accept any time; a change would restrict them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update

from kairos.appointments.domain.bulk_changes import (
    Change,
    InvalidBulkChange,
    ResourcePreview,
    ScheduledAppointment,
    conflict_window,
    preview,
)
from kairos.appointments.repository import AppointmentsUnitOfWork, NotFound, decode_schedule, encode_schedule
from kairos.appointments.service import Forbidden, resource_changed
from kairos.appointments.tables import appointments, bulk_change_schedules, bulk_changes, resources, schedules
from kairos.platform.auth import Principal
from kairos.platform.http.pagination import PageRequest, keyset
from kairos.platform.ids import new_id


class ChangedSince(Exception):
    """A later change touched schedules this change wrote: undoing it would undo that one too."""

    def __init__(self, resource_ids: list[UUID]) -> None:
        super().__init__(
            f"{len(resource_ids)} schedule(s) changed after this bulk change; undo the later changes first"
        )
        self.resource_ids = resource_ids

    @property
    def problem_extensions(self) -> dict[str, object]:
        return {"changed_resources": [str(resource_id) for resource_id in self.resource_ids]}


class AlreadyUndone(Exception):
    """This bulk change was undone already."""


@dataclass(frozen=True)
class Targets:
    """Which resources a change is for: listed ones, or every one of an organisation and/or a domain."""

    resource_ids: tuple[UUID, ...] = ()
    organisation_id: UUID | None = None
    domain: str | None = None


@dataclass(frozen=True)
class BulkChangeOutcome:
    change_id: UUID | None  # None for a preview
    previews: list[ResourcePreview]
    skipped: list[UUID]  # resources without working hours


@dataclass(frozen=True)
class UndoneChange:
    change_id: UUID
    undone_at: datetime
    resource_ids: list[UUID]


@dataclass(frozen=True)
class RecentChange:
    change_id: UUID
    change: dict[str, Any]  # as it was sent
    applied_by: str
    applied_at: datetime
    undone_at: datetime | None
    resource_ids: list[UUID]  # the schedules it rewrote


def _manages_organisation(by: Principal) -> bool:
    return by.has_role("domain_admin") or (by.has_role("staff") and by.has_permission("availability:manage"))


def _manages_own(by: Principal) -> bool:
    return by.has_role("professional") and by.has_permission("availability:manage")


def _may_manage(by: Principal, organisation_id: UUID | None, owners: Sequence[str | None] = ()) -> bool:
    """Whether ``by`` changes these resources' hours: the organisation's, each owned by ``owners``."""
    if by.has_role("operator"):
        return True
    if organisation_id is None or by.organisation_id != str(organisation_id):
        return False
    if _manages_organisation(by):
        return True
    return _manages_own(by) and bool(owners) and all(owner == by.subject for owner in owners)


async def change_availability(
    *,
    uow: AppointmentsUnitOfWork,
    by: Principal,
    targets: Targets,
    change: Change,
    change_document: dict[str, Any],
    apply: bool,
    max_resources: int,
) -> BulkChangeOutcome:
    """Compute the change for every targeted resource; with ``apply``, write it in one transaction."""
    if not (by.has_role("operator") or _manages_organisation(by) or _manages_own(by)):
        raise Forbidden(
            "only domain admins, staff who manage availability, professionals (their own hours) and operators "
            "change it in bulk"
        )
    async with uow:
        targeted = await _resources(uow, by, targets)
        if len(targeted) > max_resources:
            raise InvalidBulkChange(f"a bulk change touches at most {max_resources} resources")
        organisations = {organisation for _, organisation, _ in targeted}
        owners = [owner for _, _, owner in targeted]
        if not all(_may_manage(by, organisation, owners) for organisation in organisations):
            raise Forbidden("only the organisation's people (a professional: their own hours) change its availability")
        now = uow.clock.now()
        loaded = await _schedules(uow, [resource_id for resource_id, _, _ in targeted], lock=apply)
        skipped = [resource_id for resource_id, _, _ in targeted if resource_id not in loaded]
        previews = []
        for resource_id, _, _ in targeted:
            if resource_id in loaded:
                schedule = loaded[resource_id]
                booked = await _appointments(uow, resource_id, conflict_window(schedule, change))
                previews.append(preview(schedule, change, booked, now=now))
        if not apply:
            return BulkChangeOutcome(change_id=None, previews=previews, skipped=skipped)
        change_id = new_id()
        await uow.session.execute(
            insert(bulk_changes).values(
                id=change_id,
                organisation_id=next(iter(organisations)) if len(organisations) == 1 else None,
                change=change_document,
                applied_by=by.subject,
                applied_at=now,
            )
        )
        for result in previews:
            if result.is_changed:
                await uow.appointments.put_schedule(result.after, at=now)
                resource_changed(uow, result.resource_id)
                await uow.session.execute(
                    insert(bulk_change_schedules).values(
                        change_id=change_id,
                        resource_id=result.resource_id,
                        schedule_before=_stored(result.before),
                        schedule_after=_stored(result.after),
                    )
                )
        await uow.commit()
        return BulkChangeOutcome(change_id=change_id, previews=previews, skipped=skipped)


async def undo_change(*, uow: AppointmentsUnitOfWork, by: Principal, change_id: UUID) -> UndoneChange:
    """Restore the schedules a bulk change rewrote, exactly, unless something changed them since (409)."""
    async with uow:
        row = (
            (await uow.session.execute(select(bulk_changes).where(bulk_changes.c.id == change_id).with_for_update()))
            .mappings()
            .first()
        )
        written = (
            (
                await uow.session.execute(
                    select(bulk_change_schedules, resources.c.user_id)
                    .join(resources, resources.c.id == bulk_change_schedules.c.resource_id)
                    .where(bulk_change_schedules.c.change_id == change_id)
                    .order_by(bulk_change_schedules.c.resource_id)
                )
            )
            .mappings()
            .all()
        )
        owners = [item["user_id"] for item in written]
        if row is None or not _may_manage(by, row["organisation_id"], owners):
            raise NotFound(f"bulk change {change_id}")  # others' changes are not theirs to know of
        if row["undone_at"] is not None:
            raise AlreadyUndone(f"bulk change {change_id} was undone at {row['undone_at'].isoformat()}")
        current = await _schedules(uow, [item["resource_id"] for item in written], lock=True)
        changed = [
            item["resource_id"]
            for item in written
            if item["resource_id"] not in current or _stored(current[item["resource_id"]]) != item["schedule_after"]
        ]
        if changed:
            raise ChangedSince(changed)
        now = uow.clock.now()
        for item in written:
            await uow.appointments.put_schedule(_restored(item["resource_id"], item["schedule_before"]), at=now)
            resource_changed(uow, item["resource_id"])
        await uow.session.execute(
            update(bulk_changes).where(bulk_changes.c.id == change_id).values(undone_by=by.subject, undone_at=now)
        )
        await uow.commit()
        return UndoneChange(change_id=change_id, undone_at=now, resource_ids=[item["resource_id"] for item in written])


async def recent_changes(*, uow: AppointmentsUnitOfWork, by: Principal, page: PageRequest) -> list[RecentChange]:
    """The bulk changes the caller could undo (or could have), latest first: an organisation's to its managers,
    those that rewrote only a professional's own hours to that professional, every one to operators."""
    statement = select(bulk_changes)
    if not by.has_role("operator"):
        organisation = _uuid_or_none(by.organisation_id)
        if organisation is None or not (_manages_organisation(by) or _manages_own(by)):
            return []
        statement = statement.where(bulk_changes.c.organisation_id == organisation)
        if not _manages_organisation(by):
            written = select(bulk_change_schedules.c.resource_id).where(
                bulk_change_schedules.c.change_id == bulk_changes.c.id
            )
            others = written.join(resources, resources.c.id == bulk_change_schedules.c.resource_id).where(
                resources.c.user_id.is_distinct_from(by.subject)
            )
            statement = statement.where(written.exists(), ~others.exists())
    async with uow:
        rows = (
            (
                await uow.session.execute(
                    keyset(statement, [bulk_changes.c.applied_at, bulk_changes.c.id], page, descending=True)
                )
            )
            .mappings()
            .all()
        )
        touched: dict[UUID, list[UUID]] = {}
        if rows:
            pairs = await uow.session.execute(
                select(bulk_change_schedules.c.change_id, bulk_change_schedules.c.resource_id)
                .where(bulk_change_schedules.c.change_id.in_([row["id"] for row in rows]))
                .order_by(bulk_change_schedules.c.resource_id)
            )
            for change_id, resource_id in pairs:
                touched.setdefault(change_id, []).append(resource_id)
    return [
        RecentChange(
            change_id=row["id"],
            change=row["change"],
            applied_by=row["applied_by"],
            applied_at=row["applied_at"],
            undone_at=row["undone_at"],
            resource_ids=touched.get(row["id"], []),
        )
        for row in rows
    ]


async def _resources(
    uow: AppointmentsUnitOfWork, by: Principal, targets: Targets
) -> list[tuple[UUID, UUID, str | None]]:
    """(resource id, organisation id, owner's account) of each targeted resource, in id order."""
    statement = select(resources.c.id, resources.c.organisation_id, resources.c.user_id).order_by(resources.c.id)
    if targets.resource_ids:
        statement = statement.where(resources.c.id.in_(targets.resource_ids))
    elif targets.organisation_id is None and targets.domain is None:
        raise InvalidBulkChange("name the resources, an organisation or a domain")
    if targets.organisation_id is not None:
        statement = statement.where(resources.c.organisation_id == targets.organisation_id)
    if targets.domain is not None:
        statement = statement.where(resources.c.domain == targets.domain)
        if not by.has_role("operator") and targets.organisation_id is None:
            # A domain spans organisations: theirs is what a practice's people change.
            statement = statement.where(resources.c.organisation_id == _uuid_or_none(by.organisation_id))
    found = [(row.id, row.organisation_id, row.user_id) for row in await uow.session.execute(statement)]
    missing = set(targets.resource_ids) - {resource_id for resource_id, _, _ in found}
    if missing:
        raise NotFound(f"resource {sorted(missing)[0]}")
    return found


async def _schedules(uow: AppointmentsUnitOfWork, resource_ids: list[UUID], *, lock: bool) -> dict[UUID, Any]:
    if not resource_ids:
        return {}
    statement = select(schedules).where(schedules.c.resource_id.in_(resource_ids)).order_by(schedules.c.resource_id)
    if lock:  # in id order, so that two bulk changes over the same resources cannot deadlock
        statement = statement.with_for_update()
    rows = (await uow.session.execute(statement)).mappings()
    return {row["resource_id"]: decode_schedule(row) for row in rows}


async def _appointments(
    uow: AppointmentsUnitOfWork, resource_id: UUID, window: tuple[datetime, datetime]
) -> list[ScheduledAppointment]:
    rows = await uow.session.execute(
        select(appointments.c.id, appointments.c.starts_at, appointments.c.ends_at, appointments.c.status).where(
            appointments.c.resource_id == resource_id,
            appointments.c.holds_time,
            appointments.c.ends_at > window[0],
            appointments.c.starts_at < window[1],
        )
    )
    return [ScheduledAppointment(row.id, resource_id, row.starts_at, row.ends_at, row.status) for row in rows]


def _stored(schedule: Any) -> dict[str, Any]:
    """A schedule as JSON (the repository's encoding, its dates as ISO text)."""
    encoded = encode_schedule(schedule)
    return {
        **encoded,
        "valid_from": encoded["valid_from"].isoformat(),
        "valid_until": None if encoded["valid_until"] is None else encoded["valid_until"].isoformat(),
    }


def _restored(resource_id: UUID, stored: dict[str, Any]) -> Any:
    return decode_schedule(
        {
            **stored,
            "resource_id": resource_id,
            "valid_from": date.fromisoformat(stored["valid_from"]),
            "valid_until": None if stored["valid_until"] is None else date.fromisoformat(stored["valid_until"]),
        }
    )


def _uuid_or_none(value: str | None) -> UUID | None:
    try:
        return None if value is None else UUID(value)
    except ValueError:
        return None
