"""FHIR R4 Schedule and Slot, read from the slot engine (``/fhir/R4/Schedule``, ``/fhir/R4/Slot``).

- A **Schedule** is a bookable resource's working time: its ``id`` is the resource's id, its ``actor`` the
  resource (``Practitioner``, ``Location`` or ``Device``, as in Appointment), its ``serviceType`` the
  appointment types of the resource's domain, its ``planningHorizon`` the schedule's validity.
- A **Slot** is generated, never stored: ``free`` slots are what the slot engine offers for each appointment
  type (``serviceType``); ``busy`` slots are appointments that hold the time (``busy-tentative`` while they
  await a decision) and ``busy-unavailable`` is time an imported external calendar marks busy. Busy slots
  say when, never who. A free slot's id is ``<resource id>-<type number>-<epoch seconds>``.

Slot search takes ``schedule`` (or ``actor``), ``start`` (prefixes ge, gt, lt, le, eq; at most 31 days
apart, from now and a week by default), ``status``, ``service-type`` and ``_count``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from kairos.appointments import calendar_store, service
from kairos.appointments.domain.configuration import DomainConfiguration
from kairos.appointments.fhir import (
    PREFIX,
    FhirResponse,
    FhirRoute,
    fhir_base,
    smart,
)
from kairos.appointments.fhir_mapping import APPOINTMENT_TYPE_SYSTEM, RESOURCE_TYPES, instant, reference, search_bundle
from kairos.appointments.fhir_scopes import Interaction
from kairos.appointments.fhir_search import CURSOR, DEFAULT_COUNT, SearchError, as_uuid, parse_date
from kairos.appointments.repository import AppointmentsUnitOfWork, NotFound, Resource, decode_configuration
from kairos.appointments.tables import appointments, domains, resources, schedules
from kairos.platform.http.pagination import PageRequest, decode_cursor, encode_cursor, keyset, page_of
from kairos.platform.runtime import unit_of_work

router = APIRouter(prefix=PREFIX, route_class=FhirRoute, include_in_schema=False)

Uow = Annotated[AppointmentsUnitOfWork, Depends(unit_of_work)]
ReadsSchedules = Annotated[Any, Depends(smart("Schedule", Interaction.READ))]
SearchesSchedules = Annotated[Any, Depends(smart("Schedule", Interaction.SEARCH))]
SearchesSlots = Annotated[Any, Depends(smart("Slot", Interaction.SEARCH))]

SLOT_STATUSES = ("free", "busy", "busy-tentative", "busy-unavailable")
SLOT_STATUS_SYSTEM = "http://hl7.org/fhir/slotstatus"
MAX_SLOT_WINDOW = timedelta(days=31)
DEFAULT_SLOT_WINDOW = timedelta(days=7)
MAX_COUNT = 500
MAX_SCHEDULES_PER_SLOT_SEARCH = 50
TENTATIVE = frozenset({"proposed", "pending", "waitlist"})
KINDS = {resource_type: kind for kind, resource_type in RESOURCE_TYPES.items()}


# --- Schedule ------------------------------------------------------------------------------------------------


@router.get("/Schedule/{schedule_id}")
async def read_schedule(schedule_id: str, uow: Uow, access: ReadsSchedules) -> Response:
    """A bookable resource's schedule."""
    resource_id = as_uuid(schedule_id)
    found = await _schedules(uow, ids=[resource_id] if resource_id else [], page=PageRequest(limit=1))
    if not found:
        raise NotFound(f"Schedule/{schedule_id}")
    return FhirResponse(schedule_resource(*found[0]))


@router.get("/Schedule")
async def search_schedules(request: Request, uow: Uow, access: SearchesSchedules) -> Response:
    """Schedules by ``actor`` (Practitioner/<id>, Location/<id>, Device/<id> or an id), ``_id`` and ``active``."""
    params = request.query_params
    ids: list[UUID] | None = None
    applied: list[tuple[str, str]] = []
    for name in ("actor", "_id"):
        for value in params.getlist(name):
            wanted = {_referenced_id(part, parameter=name) for part in value.split(",")}
            ids = list(wanted) if ids is None else [item for item in ids if item in wanted]
            applied.append((name, value))
    active = params.get("active")
    if active is not None:
        if active not in {"true", "false"}:
            raise SearchError("active: true or false")
        applied.append(("active", active))
        if active == "false":
            ids = []  # every schedule here is active
    count = _count(params.get("_count"), default=DEFAULT_COUNT)
    page = PageRequest(cursor=params.get(CURSOR), limit=count)
    found = await _schedules(uow, ids=ids, page=PageRequest(cursor=page.cursor, limit=page.limit))
    kept, next_cursor = page_of(found, page, key=lambda item: (item[0].id,))
    base = fhir_base(request)
    applied.append(("_count", str(count)))
    return FhirResponse(
        search_bundle(
            [schedule_resource(*item) for item in kept],
            base=base,
            self_url=f"{base}/Schedule?{urlencode(applied)}",
            next_url=f"{base}/Schedule?{urlencode([*applied, (CURSOR, next_cursor)])}" if next_cursor else None,
        )
    )


@dataclass(frozen=True)
class _ScheduleRow:
    valid_from: Any
    valid_until: Any
    zone: str
    updated_at: datetime


async def _schedules(
    uow: AppointmentsUnitOfWork, *, ids: list[UUID] | None, page: PageRequest
) -> list[tuple[Resource, _ScheduleRow, DomainConfiguration | None]]:
    """Resources with working hours (the ones given, or all), a page by id, with their domain's configuration."""
    statement = select(resources, schedules.c.valid_from, schedules.c.valid_until, schedules.c.updated_at).join(
        schedules, schedules.c.resource_id == resources.c.id
    )
    if ids is not None:
        statement = statement.where(resources.c.id.in_(ids))
    async with uow:
        rows = (await uow.session.execute(keyset(statement, [resources.c.id], page))).mappings().all()
        names = {row["domain"] for row in rows if row["domain"]}
        configurations = {
            row["name"]: decode_configuration(row["configuration"])
            for row in (await uow.session.execute(select(domains).where(domains.c.name.in_(names)))).mappings()
        }
    return [
        (
            Resource(**{name: row[name] for name in Resource.__dataclass_fields__}),
            _ScheduleRow(row["valid_from"], row["valid_until"], row["zone"], row["updated_at"]),
            configurations.get(row["domain"] or ""),
        )
        for row in rows
    ]


def schedule_resource(
    resource: Resource, schedule: _ScheduleRow, configuration: DomainConfiguration | None
) -> dict[str, Any]:
    kind = RESOURCE_TYPES.get(resource.kind, "Device")
    horizon: dict[str, str] = {"start": schedule.valid_from.isoformat()}
    if schedule.valid_until is not None:
        horizon["end"] = schedule.valid_until.isoformat()
    body: dict[str, Any] = {
        "resourceType": "Schedule",
        "id": str(resource.id),
        "meta": {"lastUpdated": instant(schedule.updated_at)},
        "active": True,
        "actor": [reference(kind, str(resource.id), display=resource.display_name)],
        "planningHorizon": horizon,
        "comment": f"Working hours of {resource.display_name}, in {schedule.zone}",
    }
    if configuration is not None and configuration.appointment_types:
        body["serviceType"] = [_service_type(item.code, item.label) for item in configuration.appointment_types]
    return body


def _service_type(code: str, label: str) -> dict[str, Any]:
    return {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": code, "display": label}], "text": label}


# --- Slot ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotSearch:
    schedule_ids: list[UUID] | None
    window: tuple[datetime, datetime]
    statuses: frozenset[str]
    service_types: frozenset[str] | None
    count: int
    cursor: str | None
    applied: list[tuple[str, str]] = field(default_factory=list)


def parse_slot_search(parameters: Iterable[tuple[str, str]], *, now: datetime, strict: bool = False) -> SlotSearch:
    ids: list[UUID] | None = None
    low: datetime | None = None
    high: datetime | None = None
    statuses: set[str] | None = None
    service_types: set[str] | None = None
    count, cursor = DEFAULT_COUNT, None
    applied: list[tuple[str, str]] = []
    for name, value in parameters:
        if not value.strip():
            continue
        if name in {"schedule", "actor"}:
            wanted = {_referenced_id(part, parameter=name) for part in value.split(",")}
            ids = list(wanted) if ids is None else [item for item in ids if item in wanted]
        elif name == "start":
            criterion = parse_date(value)
            match criterion.prefix:
                case "ge":
                    low = max(low or criterion.low, criterion.low)
                case "gt":
                    low = max(low or criterion.high, criterion.high)
                case "lt":
                    high = min(high or criterion.low, criterion.low)
                case "le":
                    high = min(high or criterion.high, criterion.high)
                case "eq":
                    low = max(low or criterion.low, criterion.low)
                    high = min(high or criterion.high, criterion.high)
                case _:
                    raise SearchError(f"start: the prefix {criterion.prefix!r} is not supported", code="not-supported")
        elif name == "status":
            asked = {token.strip().rpartition("|")[2] for token in value.split(",")}
            if not asked <= set(SLOT_STATUSES):
                raise SearchError(f"status: one of {', '.join(SLOT_STATUSES)}")
            statuses = asked if statuses is None else statuses & asked
        elif name == "service-type":
            asked = set()
            for token in value.split(","):
                system, bar, code = token.strip().rpartition("|")
                if bar and system not in {"", APPOINTMENT_TYPE_SYSTEM}:
                    raise SearchError(f"service-type: {token!r} is not from {APPOINTMENT_TYPE_SYSTEM}")
                asked.add(code)
            service_types = asked if service_types is None else service_types & asked
        elif name == "_count":
            count = _count(value, default=DEFAULT_COUNT)
            continue
        elif name == CURSOR:
            cursor = value
        elif strict:
            raise SearchError(f"{name}: not a search parameter of this server's Slot", code="not-supported")
        else:
            continue
        applied.append((name, value))
    low = low or now
    high = high or low + DEFAULT_SLOT_WINDOW
    if high - low > MAX_SLOT_WINDOW:
        raise SearchError(f"start: search at most {MAX_SLOT_WINDOW.days} days at once", code="too-costly")
    applied.append(("_count", str(count)))
    return SlotSearch(
        schedule_ids=ids,
        window=(low, high),
        statuses=frozenset(statuses if statuses is not None else SLOT_STATUSES),
        service_types=None if service_types is None else frozenset(service_types),
        count=count,
        cursor=cursor,
        applied=applied,
    )


@router.get("/Slot")
async def search_slots(request: Request, uow: Uow, access: SearchesSlots) -> Response:
    """Free and busy slots of schedules, generated by the slot engine, by start then id."""
    criteria = parse_slot_search(
        request.query_params.multi_items(), now=datetime.now(UTC), strict=_prefers_strict(request)
    )
    found = await _schedules(uow, ids=criteria.schedule_ids, page=PageRequest(limit=MAX_SCHEDULES_PER_SLOT_SEARCH))
    slots: list[dict[str, Any]] = []
    for resource, _, configuration in found[:MAX_SCHEDULES_PER_SLOT_SEARCH]:
        if "free" in criteria.statuses and configuration is not None:
            slots += await _free_slots(uow, resource, configuration, criteria)
        if criteria.statuses - {"free"}:
            slots += await _busy_slots(uow, resource, criteria)
    slots.sort(key=lambda slot: (slot["start"], slot["id"]))
    if criteria.cursor is not None:
        after_start, after_id = decode_cursor(criteria.cursor, width=2)
        slots = [slot for slot in slots if (slot["start"], slot["id"]) > (after_start, after_id)]
    kept, more = slots[: criteria.count], len(slots) > criteria.count
    base = fhir_base(request)
    next_cursor = encode_cursor([kept[-1]["start"], kept[-1]["id"]]) if more else None
    return FhirResponse(
        search_bundle(
            kept,
            base=base,
            self_url=f"{base}/Slot?{urlencode(criteria.applied)}",
            next_url=f"{base}/Slot?{urlencode([*criteria.applied, (CURSOR, next_cursor)])}" if next_cursor else None,
        )
    )


async def _free_slots(
    uow: AppointmentsUnitOfWork, resource: Resource, configuration: DomainConfiguration, criteria: SlotSearch
) -> list[dict[str, Any]]:
    found = []
    for number, kind in enumerate(configuration.appointment_types):
        if criteria.service_types is not None and kind.code not in criteria.service_types:
            continue
        for slot in await service.find_free_slots(
            uow=uow,
            resource_id=resource.id,
            appointment_type=kind.code,
            window_start=criteria.window[0],
            window_end=criteria.window[1],
            asker_zone="UTC",
        ):
            found.append(
                slot_resource(
                    f"{resource.id}-{number}-{int(slot.starts_at.timestamp())}",
                    resource.id,
                    "free",
                    slot.starts_at,
                    slot.ends_at,
                    service_type=_service_type(kind.code, kind.label),
                )
            )
    return found


async def _busy_slots(uow: AppointmentsUnitOfWork, resource: Resource, criteria: SlotSearch) -> list[dict[str, Any]]:
    start, end = criteria.window
    found = []
    async with uow:
        rows = await uow.session.execute(
            select(
                appointments.c.id,
                appointments.c.starts_at,
                appointments.c.ends_at,
                appointments.c.status,
                appointments.c.appointment_type,
            ).where(
                appointments.c.resource_id == resource.id,
                appointments.c.holds_time,
                appointments.c.starts_at >= start,
                appointments.c.starts_at < end,
            )
        )
        for row in rows:
            status = "busy-tentative" if row.status in TENTATIVE else "busy"
            if status in criteria.statuses and (
                criteria.service_types is None or row.appointment_type in criteria.service_types
            ):
                found.append(slot_resource(f"appt-{row.id}", resource.id, status, row.starts_at, row.ends_at))
        if "busy-unavailable" in criteria.statuses and criteria.service_types is None:
            for block in await calendar_store.imported_busy(uow.session, resource.id, start=start, end=end):
                if block.starts_at >= start:
                    slot_id = f"{resource.id}-x-{int(block.starts_at.timestamp())}"
                    found.append(
                        slot_resource(slot_id, resource.id, "busy-unavailable", block.starts_at, block.ends_at)
                    )
    return found


def slot_resource(
    slot_id: str,
    resource_id: UUID,
    status: str,
    starts_at: datetime,
    ends_at: datetime,
    *,
    service_type: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Slot",
        "id": slot_id,
        "schedule": {"reference": f"Schedule/{resource_id}"},
        "status": status,
        "start": instant(starts_at),
        "end": instant(ends_at),
    }
    if service_type is not None:
        body["serviceType"] = [service_type]
    return body


# --- helpers --------------------------------------------------------------------------------------------------


def _referenced_id(text: str, *, parameter: str) -> UUID:
    segments = text.strip().split("/")
    if len(segments) > 1:
        allowed = {"Schedule"} if parameter in {"schedule", "_id"} else set(KINDS)
        if segments[-2] not in allowed:
            raise SearchError(f"{parameter}: {text!r} is not a reference to {' or '.join(sorted(allowed))}")
    found = as_uuid(segments[-1])
    if found is None:
        raise SearchError(f"{parameter}: {text!r} names no resource of this server")
    return found


def _count(value: str | None, *, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        count = int(value)
    except ValueError as error:
        raise SearchError(f"_count: {value!r} is not a whole number") from error
    if count < 1:
        raise SearchError("_count: at least 1", code="not-supported")
    return min(count, MAX_COUNT)


def _prefers_strict(request: Request) -> bool:
    preferences = {
        part.strip() for value in request.headers.getlist("prefer") for part in value.replace(";", ",").split(",")
    }
    return "handling=strict" in preferences
