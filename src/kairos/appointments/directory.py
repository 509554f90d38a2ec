"""The directory of bookable professionals: kept from identity's events, searched by the web app and the assistant.

Each professional event is applied as an idempotent upsert that also compares the event's own time with the
one last applied, so a redelivered or late older event changes nothing (the platform's inbox already drops
exact redeliveries; this guards against reordering across subjects and replays). A professional appears once
verified and leaves on "lapsed" or at the verification's expiry. Their bookable resources are the resources
whose ``user_id`` is the professional's account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, case, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from kairos.appointments import calendar_store, patients
from kairos.appointments.domain.availability import AppointmentType, Schedule, zone_named
from kairos.appointments.domain.configuration import DomainConfiguration, UnknownAppointmentType
from kairos.appointments.domain.directory import EARLIEST_FREE_HORIZON, Bookable, earliest_free_slot
from kairos.appointments.domain.slots import InvalidSlotQuery, ResourceAvailability, Slot, find_slots
from kairos.appointments.repository import (
    AppointmentsUnitOfWork,
    NotFound,
    Resource,
    decode_configuration,
    decode_schedule,
)
from kairos.appointments.tables import directory_professionals, domains, resources, schedules
from kairos.contracts.events.appointments import DirectoryChanged
from kairos.contracts.events.identity import (
    ProfessionalVerificationLapsed,
    ProfessionalVerified,
    ProfileUpdated,
    UserRegistered,
)
from kairos.platform.events import EventHandlers, EventMeta
from kairos.platform.http.pagination import PageRequest, keyset, page_of

MAX_MATCHING_PROFESSIONALS = 200  # an "any suitable professional" search looks at this many at most
SLOT_SEARCH_LIMIT = timedelta(days=62)

handlers = EventHandlers[AppointmentsUnitOfWork]()


# --- the read model, kept from identity's events -------------------------------------------------------------

_table = directory_professionals


@handlers.on(ProfessionalVerified)
async def list_verified_professional(event: ProfessionalVerified, meta: EventMeta, uow: AppointmentsUnitOfWork) -> None:
    verified = {
        "organisation_id": event.organisation_id,
        "specialty": event.specialty,
        "languages": sorted({language.strip().lower() for language in event.languages if language.strip()}),
        "location": event.location,
        "listed": True,
        "expires_at": event.expires_at,
        "verification_changed_at": event.verified_at,
    }
    incoming = pg_insert(_table).values(user_id=str(event.user_id), display_name=event.display_name, **verified)
    # The profile's own name wins when the profile changed after this verification.
    name = case(
        (
            or_(_table.c.profile_changed_at.is_(None), _table.c.profile_changed_at <= event.verified_at),
            incoming.excluded.display_name,
        ),
        else_=_table.c.display_name,
    )
    listed = await uow.session.execute(
        incoming.on_conflict_do_update(
            index_elements=["user_id"],
            set_={**{column: incoming.excluded[column] for column in verified}, "display_name": name},
            where=_table.c.verification_changed_at <= event.verified_at,
        )
    )
    _changed(uow, str(event.user_id), listed)


@handlers.on(ProfessionalVerificationLapsed)
async def unlist_lapsed_professional(
    event: ProfessionalVerificationLapsed, meta: EventMeta, uow: AppointmentsUnitOfWork
) -> None:
    # Recorded even for someone never listed here, so that an older "verified" arriving later stays ignored.
    incoming = pg_insert(_table).values(
        user_id=str(event.user_id),
        organisation_id=event.organisation_id,
        display_name="",
        specialty="",
        listed=False,
        verification_changed_at=event.lapsed_at,
    )
    unlisted = await uow.session.execute(
        incoming.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"listed": False, "verification_changed_at": event.lapsed_at},
            where=_table.c.verification_changed_at <= event.lapsed_at,
        )
    )
    _changed(uow, str(event.user_id), unlisted)


@handlers.on(UserRegistered)
async def name_registered_person(event: UserRegistered, meta: EventMeta, uow: AppointmentsUnitOfWork) -> None:
    """The name given at sign-up, for the practice's lists (``patients``); older producers sent none."""
    if event.display_name:
        await patients.record_name(
            uow.session,
            uow.cipher,
            user_id=str(event.user_id),
            display_name=event.display_name,
            changed_at=event.registered_at,
        )


@handlers.on(ProfileUpdated)
async def rename_professional(event: ProfileUpdated, meta: EventMeta, uow: AppointmentsUnitOfWork) -> None:
    """Anyone's name is kept for the practice's lists (``patients``); professionals the directory knows are
    renamed there too; other accounts are not kept in the directory."""
    await patients.record_name(
        uow.session,
        uow.cipher,
        user_id=str(event.user_id),
        display_name=event.display_name,
        changed_at=event.updated_at,
    )
    renamed = await uow.session.execute(
        _table.update()
        .where(
            _table.c.user_id == str(event.user_id),
            or_(_table.c.profile_changed_at.is_(None), _table.c.profile_changed_at <= event.updated_at),
        )
        .values(display_name=event.display_name, profile_changed_at=event.updated_at)
    )
    _changed(uow, str(event.user_id), renamed)


def _changed(uow: AppointmentsUnitOfWork, user_id: str, result: Any) -> None:
    """Say so when an entry changed (not for a late, older event): caches of the directory drop theirs."""
    if result.rowcount:
        uow.publish(DirectoryChanged(user_id=user_id), subject=f"user:{user_id}")


async def seed_professional(
    uow: AppointmentsUnitOfWork,
    *,
    user_id: UUID,
    organisation_id: UUID,
    display_name: str,
    specialty: str,
    languages: Sequence[str],
    location: str | None,
    at: datetime,
) -> None:
    """A directory row as a "verified" event would make it (demo data, before identity's events arrive)."""
    await list_verified_professional(
        ProfessionalVerified(
            user_id=user_id,
            organisation_id=organisation_id,
            display_name=display_name,
            specialty=specialty,
            languages=list(languages),
            location=location,
            verified_at=at,
        ),
        EventMeta(id=user_id, occurred_at=at, producer="appointments", subject=f"user:{user_id}", correlation_id=None),
        uow,
    )


# --- searching -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DirectoryQuery:
    text: str | None = None  # in the name, specialty or location
    specialty: str | None = None
    organisation_id: UUID | None = None
    language: str | None = None
    domain: str | None = None
    appointment_type: str | None = None  # for the earliest free time; else each resource's domain's first type


@dataclass(frozen=True)
class Professional:
    user_id: str
    organisation_id: UUID
    display_name: str
    specialty: str
    languages: tuple[str, ...]
    location: str | None


@dataclass(frozen=True)
class EarliestFree:
    slot: Slot
    appointment_type: str


@dataclass(frozen=True)
class DirectoryEntry:
    professional: Professional
    resources: list[Resource] = field(default_factory=list)
    earliest_free: EarliestFree | None = None


async def search(
    *, uow: AppointmentsUnitOfWork, query: DirectoryQuery, page: PageRequest
) -> tuple[list[DirectoryEntry], str | None]:
    """One page of listed professionals that match, by name, each with their resources and earliest free time."""
    async with uow:
        now = uow.clock.now()
        statement = select(_table).where(*_matching(query, now))
        rows = (
            (await uow.session.execute(keyset(statement, [_table.c.display_name, _table.c.user_id], page)))
            .mappings()
            .all()
        )
        found, next_cursor = page_of(rows, page, key=lambda row: (row["display_name"], row["user_id"]))
        professionals = [_professional(row) for row in found]
        inputs = await _SearchInputs.load(uow, [p.user_id for p in professionals], domain=query.domain)
        entries = []
        for professional in professionals:
            owned = inputs.resources_of.get(professional.user_id, [])
            bookables = await inputs.bookables(uow, owned, query.appointment_type, now=now)
            earliest = earliest_free_slot(bookables, now=now) if bookables else None
            entries.append(
                DirectoryEntry(
                    professional=professional,
                    resources=owned,
                    earliest_free=None
                    if earliest is None
                    else EarliestFree(earliest[0], earliest[1].appointment_type.code),
                )
            )
    return entries, next_cursor


async def any_suitable_slots(
    *,
    uow: AppointmentsUnitOfWork,
    query: DirectoryQuery,
    appointment_type: str,
    window_start: datetime,
    window_end: datetime,
    asker_zone: str,
) -> list[Slot]:
    """Free slots of every listed professional who matches, merged by time ("any suitable professional")."""
    zone_named(asker_zone, InvalidSlotQuery)
    if window_end - window_start > SLOT_SEARCH_LIMIT:
        raise InvalidSlotQuery(f"search at most {SLOT_SEARCH_LIMIT.days} days at once")
    async with uow:
        now = uow.clock.now()
        user_ids = (
            (
                await uow.session.execute(
                    select(_table.c.user_id)
                    .where(*_matching(query, now))
                    .order_by(_table.c.display_name, _table.c.user_id)
                    .limit(MAX_MATCHING_PROFESSIONALS)
                )
            )
            .scalars()
            .all()
        )
        inputs = await _SearchInputs.load(uow, list(user_ids), domain=query.domain)
        owned = [resource for user_id in user_ids for resource in inputs.resources_of.get(user_id, [])]
        bookables = await inputs.bookables(
            uow, owned, appointment_type, now=now, window=(window_start, window_end), strict_type=True
        )
    found = {
        slot
        for bookable in bookables
        for slot in find_slots(
            bookable.availability.schedule,
            bookable.appointment_type,
            bookable.availability.busy,
            window_start=window_start,
            window_end=window_end,
            now=now,
            asker_zone=asker_zone,
        )
    }
    return sorted(found)


@dataclass(frozen=True)
class ResourceProfessional:
    """Who a resource books, as the directory publishes them: shown as verified only while they are."""

    resource: Resource
    user_id: str
    display_name: str
    professional: Professional | None  # None while not verified (never, lapsed or expired)
    verified_until: datetime | None = None


async def professional_of(*, uow: AppointmentsUnitOfWork, resource_id: UUID) -> ResourceProfessional:
    """The professional a resource books (404 for a room or a device), and whether they are verified now."""
    async with uow:
        now = uow.clock.now()
        resource = await uow.appointments.resource(resource_id)
        if resource.user_id is None:
            raise NotFound(f"resource {resource_id} books no professional")
        statement = select(_table).where(_table.c.user_id == resource.user_id)
        row = (await uow.session.execute(statement)).mappings().first()
    # The practice's name for the resource until the directory knows the person (or after an erasure).
    display_name = (row["display_name"] if row is not None else "") or resource.display_name
    if row is None or not row["listed"] or (row["expires_at"] is not None and row["expires_at"] <= now):
        return ResourceProfessional(resource, resource.user_id, display_name, professional=None)
    return ResourceProfessional(
        resource, resource.user_id, display_name, professional=_professional(row), verified_until=row["expires_at"]
    )


def _matching(query: DirectoryQuery, now: datetime) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [
        _table.c.listed,
        or_(_table.c.expires_at.is_(None), _table.c.expires_at > now),
    ]
    if query.text:
        pattern = f"%{_escaped(query.text)}%"
        clauses.append(
            or_(
                _table.c.display_name.ilike(pattern, escape="\\"),
                _table.c.specialty.ilike(pattern, escape="\\"),
                _table.c.location.ilike(pattern, escape="\\"),
            )
        )
    if query.specialty:
        clauses.append(func.lower(_table.c.specialty) == query.specialty.strip().lower())
    if query.organisation_id is not None:
        clauses.append(_table.c.organisation_id == query.organisation_id)
    if query.language:
        clauses.append(_table.c.languages.contains([query.language.strip().lower()]))
    if query.domain:
        clauses.append(exists().where(resources.c.user_id == _table.c.user_id, resources.c.domain == query.domain))
    return clauses


def _escaped(text: str) -> str:
    return text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _professional(row: Any) -> Professional:
    return Professional(
        user_id=row["user_id"],
        organisation_id=row["organisation_id"],
        display_name=row["display_name"],
        specialty=row["specialty"],
        languages=tuple(row["languages"]),
        location=row["location"],
    )


@dataclass
class _SearchInputs:
    """What the slot engine needs for a page of professionals, loaded in a few queries."""

    resources_of: dict[str, list[Resource]]
    schedules: dict[UUID, Schedule]
    configurations: dict[str, DomainConfiguration]

    @classmethod
    async def load(cls, uow: AppointmentsUnitOfWork, user_ids: list[str], *, domain: str | None) -> _SearchInputs:
        if not user_ids:
            return cls({}, {}, {})
        statement = select(resources).where(resources.c.user_id.in_(user_ids))
        if domain:
            statement = statement.where(resources.c.domain == domain)
        rows = (await uow.session.execute(statement.order_by(resources.c.display_name, resources.c.id))).mappings()
        resources_of: dict[str, list[Resource]] = defaultdict(list)
        for row in rows:
            resources_of[row["user_id"]].append(Resource(**{name: row[name] for name in Resource.__dataclass_fields__}))
        ids = [resource.id for owned in resources_of.values() for resource in owned]
        found_schedules = {
            row["resource_id"]: decode_schedule(row)
            for row in (await uow.session.execute(select(schedules).where(schedules.c.resource_id.in_(ids)))).mappings()
        }
        names = {resource.domain for owned in resources_of.values() for resource in owned if resource.domain}
        configurations = {
            row["name"]: decode_configuration(row["configuration"])
            for row in (await uow.session.execute(select(domains).where(domains.c.name.in_(names)))).mappings()
        }
        return cls(dict(resources_of), found_schedules, configurations)

    async def bookables(
        self,
        uow: AppointmentsUnitOfWork,
        owned: list[Resource],
        appointment_type: str | None,
        *,
        now: datetime,
        window: tuple[datetime, datetime] | None = None,
        strict_type: bool = False,
    ) -> list[Bookable]:
        start, end = window or (now, now + EARLIEST_FREE_HORIZON)
        chosen: list[tuple[Resource, Schedule, AppointmentType]] = []
        for resource in owned:
            schedule = self.schedules.get(resource.id)
            configuration = self.configurations.get(resource.domain or "")
            if schedule is None or configuration is None or not configuration.appointment_types:
                continue
            code = appointment_type or configuration.appointment_types[0].code
            try:
                kind = configuration.appointment_type(code).for_slot_search()
            except UnknownAppointmentType:
                if strict_type or appointment_type is None:
                    continue
                kind = configuration.appointment_types[0].for_slot_search()
            chosen.append((resource, schedule, kind))
        if not chosen:
            return []
        margin = max(kind.buffer_before + kind.buffer_after + kind.duration for _, _, kind in chosen)
        imported = await calendar_store.imported_busy_of(
            uow.session, [resource.id for resource, _, _ in chosen], start=start - margin, end=end + margin
        )
        bookables = []
        for resource, schedule, kind in chosen:
            # Through the repository, so that whatever takes a resource's time there (bookings, holds) counts here.
            busy = await uow.appointments.bookings(resource.id, start=start - margin, end=end + margin)
            availability = ResourceAvailability(schedule, (*busy, *imported.get(resource.id, [])))
            bookables.append(Bookable(availability, kind))
        return bookables


__all__ = [
    "DirectoryEntry",
    "DirectoryQuery",
    "EarliestFree",
    "Professional",
    "ResourceProfessional",
    "any_suitable_slots",
    "handlers",
    "professional_of",
    "search",
    "seed_professional",
]
