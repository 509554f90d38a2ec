"""Loading and saving appointments: the event stream and its projection in one transaction; never commits."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, Self
from uuid import UUID

from sqlalchemy import ColumnElement, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.appointments.access_audit import record_writes
from kairos.appointments.domain.appointment import (
    EVENT_TYPES,
    Appointment,
    AppointmentEvent,
    Period,
    Requested,
    Status,
)
from kairos.appointments.domain.availability import (
    Booking,
    Busy,
    DaysOff,
    ExtraHours,
    Hold,
    RecurringPeriod,
    Schedule,
)
from kairos.appointments.domain.configuration import (
    AppointmentTypeSettings,
    AutoApprovalRule,
    CancellationPolicy,
    DomainConfiguration,
    Terminology,
)
from kairos.appointments.domain.notifications import DEFAULT_RULES, NotificationRule
from kairos.appointments.notification_addressing import address
from kairos.appointments.personal_data import PersonalData, event_context, open_token, projection_context, seal
from kairos.appointments.seats import SeatRefused, Seats, Terms
from kairos.appointments.tables import appointment_events, appointments, domains, resources, schedules
from kairos.platform.clock import Clock
from kairos.platform.crypto.cipher import DataCipher
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import PageRequest, keyset

# Events that move an appointment to another time.
_MOVES = ("rescheduled", "proposed")


class TimeTaken(Exception):
    """Another appointment holds this resource at an overlapping time (the exclusion constraint said so)."""


class ConcurrentChange(Exception):
    """The appointment changed since it was loaded; load it again and retry the decision."""


class NotFound(Exception):
    """No such appointment or resource (or none the caller may see)."""


@dataclasses.dataclass(frozen=True)
class Resource:
    id: UUID
    resource_no: int
    organisation_id: UUID
    kind: str
    display_name: str
    zone: str
    user_id: str | None
    domain: str | None = None


@dataclasses.dataclass(frozen=True)
class AppointmentFilter:
    """Which appointments a listing shows: ``visible`` says whose (the caller's right), the rest narrows."""

    visible_to_patient: str | None = None  # the caller's own appointments …
    visible_in_organisation: UUID | None = None  # … or those of the organisation it reads for
    sees_all: bool = False  # operators
    statuses: tuple[Status, ...] = ()
    resource_id: UUID | None = None
    patient: str | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None


class AppointmentRepository:
    def __init__(self, session: AsyncSession, clock: Clock, cipher: Callable[[], DataCipher]) -> None:
        self._session = session
        self._clock = clock
        self._cipher = cipher  # resolved when health data is sealed or opened
        self.seats = Seats(session)
        # What ``save`` wrote in this unit of work, for its audit records (kairos.appointments.access_audit).
        self.saved: list[tuple[Appointment, tuple[AppointmentEvent, ...]]] = []

    async def resource(self, resource_id: UUID) -> Resource:
        row = (await self._session.execute(select(resources).where(resources.c.id == resource_id))).mappings().first()
        if row is None:
            raise NotFound(f"resource {resource_id}")
        return Resource(**{name: row[name] for name in Resource.__dataclass_fields__})

    async def resources(
        self, page: PageRequest, *, organisation_id: UUID | None = None, domain: str | None = None
    ) -> list[Resource]:
        statement = select(resources)
        if organisation_id is not None:
            statement = statement.where(resources.c.organisation_id == organisation_id)
        if domain is not None:
            statement = statement.where(resources.c.domain == domain)
        rows = (await self._session.execute(keyset(statement, [resources.c.id], page))).mappings()
        return [Resource(**{name: row[name] for name in Resource.__dataclass_fields__}) for row in rows]

    async def add_resource(self, resource: Resource) -> Resource:
        number = await self._session.scalar(
            insert(resources)
            .values(
                id=resource.id,
                organisation_id=resource.organisation_id,
                kind=resource.kind,
                display_name=resource.display_name,
                zone=resource.zone,
                user_id=resource.user_id,
                domain=resource.domain,
            )
            .returning(resources.c.resource_no)
        )
        assert number is not None
        return dataclasses.replace(resource, resource_no=number)

    async def domain(self, name: str) -> tuple[DomainConfiguration, int]:
        row = (await self._session.execute(select(domains).where(domains.c.name == name))).mappings().first()
        if row is None:
            raise NotFound(f"domain {name}")
        return decode_configuration(row["configuration"]), row["version"]

    async def all_domains(self) -> list[tuple[DomainConfiguration, int]]:
        rows = (await self._session.execute(select(domains).order_by(domains.c.name))).mappings()
        return [(decode_configuration(row["configuration"]), row["version"]) for row in rows]

    async def put_domain(self, configuration: DomainConfiguration, *, at: datetime) -> int:
        """Store a configuration as the domain's next version; return that version."""
        version = await self._session.scalar(
            pg_insert(domains)
            .values(
                name=configuration.name, version=1, configuration=encode_configuration(configuration), updated_at=at
            )
            .on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "version": domains.c.version + 1,
                    "configuration": encode_configuration(configuration),
                    "updated_at": at,
                },
            )
            .returning(domains.c.version)
        )
        assert version is not None
        return version

    async def schedule(self, resource_id: UUID) -> Schedule | None:
        row = (
            (await self._session.execute(select(schedules).where(schedules.c.resource_id == resource_id)))
            .mappings()
            .first()
        )
        return None if row is None else decode_schedule(row)

    async def put_schedule(self, schedule: Schedule, *, at: datetime) -> None:
        values = {**encode_schedule(schedule), "updated_at": at}
        await self._session.execute(
            pg_insert(schedules)
            .values(resource_id=schedule.resource_id, **values)
            .on_conflict_do_update(index_elements=["resource_id"], set_=values)
        )

    async def bookings(
        self, resource_id: UUID, *, start: datetime, end: datetime, excluding: UUID | None = None
    ) -> list[Busy]:
        """Appointments and live holds taking the resource's time in a window, as the slot engine sees them;
        ``excluding`` leaves out one appointment or hold (the one being moved or used)."""
        statement = select(
            appointments.c.starts_at,
            appointments.c.ends_at,
            appointments.c.blocked_from,
            appointments.c.blocked_until,
            appointments.c.appointment_type,
        ).where(
            appointments.c.resource_id == resource_id,
            appointments.c.holds_time,
            appointments.c.blocked_until > start,
            appointments.c.blocked_from < end,
        )
        if excluding is not None:
            statement = statement.where(appointments.c.id != excluding)
        rows = await self._session.execute(statement)
        busy: list[Busy] = [
            Booking(
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                appointment_type=row.appointment_type,
                buffer_before=row.starts_at - row.blocked_from,
                buffer_after=row.blocked_until - row.ends_at,
            )
            for row in rows
        ]
        now = self._clock.now()
        for hold, blocked_from, blocked_until in await self.seats.live_holds(
            resource_id, start=start, end=end, now=now, excluding=excluding
        ):
            busy.append(
                Hold(
                    starts_at=hold.period.starts_at,
                    ends_at=hold.period.ends_at,
                    appointment_type=hold.appointment_type,
                    expires_at=hold.expires_at,
                    buffer_before=hold.period.starts_at - blocked_from,
                    buffer_after=blocked_until - hold.period.ends_at,
                )
            )
        return busy

    async def find(
        self, criteria: AppointmentFilter, page: PageRequest, *, newest_first: bool = False
    ) -> list[Appointment]:
        """One page of the appointments that match, by start then id, or the reverse (the projection, not the
        streams)."""
        reachable: list[ColumnElement[bool]] = []
        if criteria.visible_to_patient is not None:
            reachable.append(appointments.c.patient == criteria.visible_to_patient)
        if criteria.visible_in_organisation is not None:
            reachable.append(appointments.c.organisation_id == criteria.visible_in_organisation)
        statement = select(appointments)
        if not criteria.sees_all:
            statement = statement.where(or_(*reachable) if reachable else appointments.c.id.is_(None))
        if criteria.statuses:
            statement = statement.where(appointments.c.status.in_([status.value for status in criteria.statuses]))
        if criteria.resource_id is not None:
            statement = statement.where(appointments.c.resource_id == criteria.resource_id)
        if criteria.patient is not None:
            statement = statement.where(appointments.c.patient == criteria.patient)
        if criteria.starts_from is not None:
            statement = statement.where(appointments.c.starts_at >= criteria.starts_from)
        if criteria.starts_before is not None:
            statement = statement.where(appointments.c.starts_at < criteria.starts_before)
        ordered = keyset(statement, [appointments.c.starts_at, appointments.c.id], page, descending=newest_first)
        rows = (await self._session.execute(ordered)).mappings()
        return [_from_projection(row, await self.opened_projection(row)) for row in rows]

    async def opened_projection(self, row: Any) -> PersonalData:
        """A projection row's message and answers, opened."""
        if row["personal_data"] is None:  # written before migration 0007 and not sealed yet
            return PersonalData(message=row["legacy_message"], answers=dict(row["legacy_answers"] or {}))
        return await open_token(self._cipher(), row["personal_data"], context=projection_context(row["id"]))

    async def decode_events(self, rows: Iterable[Any]) -> list[AppointmentEvent]:
        """Stored events (rows of ``appointment_events``) with their sealed health data opened."""
        decoded = []
        for row in rows:
            personal = None
            if row["personal_data"] is not None:
                context = event_context(row["appointment_id"], row["sequence"])
                personal = await open_token(self._cipher(), row["personal_data"], context=context)
            decoded.append(decode_event(row, personal))
        return decoded

    async def personal_data(self, appointment_ids: Iterable[UUID]) -> dict[UUID, PersonalData]:
        """The opened message and answers of each appointment (for exports and other reads of health data;
        the caller audits the access)."""
        ids = list(appointment_ids)
        if not ids:
            return {}
        rows = (await self._session.execute(select(appointments).where(appointments.c.id.in_(ids)))).mappings()
        return {row["id"]: await self.opened_projection(row) for row in rows}

    async def patients_appointment_ids(self, patient: str) -> list[UUID]:
        """Every appointment of a patient (a data subject), oldest first."""
        found = await self._session.scalars(
            select(appointments.c.id).where(appointments.c.patient == patient).order_by(appointments.c.starts_at)
        )
        return list(found)

    async def has_fulfilled(self, *, patient: str, organisation_id: UUID) -> bool:
        """Whether the patient has had an appointment fulfilled by the organisation (a returning patient)."""
        found = await self._session.scalar(
            select(appointments.c.id)
            .where(
                appointments.c.patient == patient,
                appointments.c.organisation_id == organisation_id,
                appointments.c.status == Status.FULFILLED.value,
            )
            .limit(1)
        )
        return found is not None

    async def get(self, appointment_id: UUID) -> Appointment:
        rows = (
            await self._session.execute(
                select(appointment_events)
                .where(appointment_events.c.appointment_id == appointment_id)
                .order_by(appointment_events.c.sequence)
            )
        ).mappings()
        events = await self.decode_events(rows)
        if not events:
            raise NotFound(f"appointment {appointment_id}")
        return Appointment.replay(events)

    async def history(self, appointment_id: UUID) -> list[AppointmentEvent]:
        rows = (
            await self._session.execute(
                select(appointment_events)
                .where(appointment_events.c.appointment_id == appointment_id)
                .order_by(appointment_events.c.sequence)
            )
        ).mappings()
        return await self.decode_events(rows)

    async def save(
        self, appointment: Appointment, *, resource: Resource, terms: Terms | None = None, hold_id: UUID | None = None
    ) -> None:
        """Append the new events, bring the projection up to date and make the appointment's seat follow its
        time and status, in the caller's transaction. ``terms`` (the type's buffers and capacity) are needed
        whenever the appointment takes time anew; ``hold_id`` names a hold of the patient to take it with."""
        if not appointment.pending_events:
            return
        self.saved.append((appointment, appointment.pending_events))
        terms = terms or Terms()
        first_sequence = appointment.version - len(appointment.pending_events) + 1
        for offset, event in enumerate(appointment.pending_events):
            sequence = first_sequence + offset
            data = encode_event(event)
            sealed = None
            if isinstance(event, Requested):  # health data goes into the sealed column, never into ``data``
                personal = PersonalData(message=data.pop("message"), answers=data.pop("answers"))
                sealed = await seal(self._cipher(), personal, context=event_context(appointment.id, sequence))
            await self._session.execute(
                insert(appointment_events).values(
                    appointment_id=appointment.id,
                    sequence=sequence,
                    kind=event.kind,
                    data=data,
                    personal_data=sealed,
                    actor=event.actor,
                    reason=event.reason,
                    occurred_at=event.occurred_at,
                )
            )
        state: dict[str, Any] = {
            "status": appointment.status.value,
            "holds_time": appointment.status.holds_time,
            "version": appointment.version,
            "reschedules": appointment.reschedules,
            "updated_at": appointment.pending_events[-1].occurred_at,
        }
        blocked_from, blocked_until = terms.blocked(appointment.period)
        # The blocked time (buffers included) is fixed when the appointment takes a time.
        times = {
            "starts_at": appointment.period.starts_at,
            "ends_at": appointment.period.ends_at,
            "blocked_from": blocked_from,
            "blocked_until": blocked_until,
        }
        if first_sequence == 1:
            await self._session.execute(
                insert(appointments).values(
                    id=appointment.id,
                    resource_id=appointment.resource_id,
                    resource_no=resource.resource_no,
                    organisation_id=appointment.organisation_id,
                    patient=appointment.patient,
                    appointment_type=appointment.appointment_type,
                    personal_data=await seal(
                        self._cipher(),
                        PersonalData(message=appointment.message, answers=appointment.answers),
                        context=projection_context(appointment.id),
                    ),
                    **state,
                    **times,
                )
            )
        else:
            is_moved = any(event.kind in _MOVES for event in appointment.pending_events)
            changed = await self._session.execute(
                update(appointments)
                .where(appointments.c.id == appointment.id, appointments.c.version == first_sequence - 1)
                .values(**state, **(times if is_moved else {}))
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                raise ConcurrentChange(str(appointment.id))
        await self._follow_with_seat(appointment, resource=resource, terms=terms, hold_id=hold_id)

    async def _follow_with_seat(
        self, appointment: Appointment, *, resource: Resource, terms: Terms, hold_id: UUID | None
    ) -> None:
        """The appointment takes a seat at its time while its status holds time, and none otherwise."""
        current = await self.seats.seat_of(appointment.id)
        wanted = appointment.period if appointment.status.holds_time else None
        if current is not None and current[1] != wanted:
            await self.seats.release(current[0])
            current = None
        if wanted is None or current is not None:
            return
        now = self._clock.now()
        if hold_id is not None:
            await self.seats.use_hold(
                hold_id,
                appointment_id=appointment.id,
                holder=appointment.patient,
                resource_no=resource.resource_no,
                appointment_type=appointment.appointment_type,
                period=wanted,
                now=now,
            )
            return
        try:
            await self.seats.take(
                resource_id=resource.id,
                resource_no=resource.resource_no,
                appointment_type=appointment.appointment_type,
                period=wanted,
                terms=terms,
                holder=appointment.patient,
                now=now,
                appointment_id=appointment.id,
            )
        except SeatRefused as refused:
            raise TimeTaken(str(wanted.starts_at)) from refused


def _from_projection(row: Any, personal: PersonalData) -> Appointment:
    return Appointment(
        id=row["id"],
        resource_id=row["resource_id"],
        patient=row["patient"],
        organisation_id=row["organisation_id"],
        appointment_type=row["appointment_type"],
        period=Period(row["starts_at"], row["ends_at"]),
        status=Status(row["status"]),
        message=personal.message,
        answers=dict(personal.answers),
        version=row["version"],
        reschedules=row["reschedules"],
    )


def encode_configuration(configuration: DomainConfiguration) -> dict[str, Any]:
    return {
        "name": configuration.name,
        "label": configuration.label,
        "terminology": dataclasses.asdict(configuration.terminology),
        "appointment_types": [
            {
                "code": kind.code,
                "label": kind.label,
                "duration_minutes": kind.duration.total_seconds() / 60,
                "buffer_before_minutes": kind.buffer_before.total_seconds() / 60,
                "buffer_after_minutes": kind.buffer_after.total_seconds() / 60,
                "needs_approval": kind.needs_approval,
                "capacity": kind.capacity,
                "minimum_notice_minutes": kind.minimum_notice.total_seconds() / 60,
                "booking_horizon_days": None if kind.booking_horizon is None else kind.booking_horizon.days,
                "daily_limit": kind.daily_limit,
                "weekly_limit": kind.weekly_limit,
                "start_every_minutes": None if kind.start_every is None else kind.start_every.total_seconds() / 60,
            }
            for kind in configuration.appointment_types
        ],
        "form_schema": configuration.form_schema,
        "reason_codes": list(configuration.reason_codes),
        "cancellation": {
            "cutoff_hours": configuration.cancellation.cutoff.total_seconds() / 3600,
            "reason_required": configuration.cancellation.reason_required,
            "max_reschedules": configuration.cancellation.max_reschedules,
        },
        "auto_approval": [
            {
                "name": rule.name,
                "appointment_types": list(rule.appointment_types),
                "minimum_notice_hours": rule.minimum_notice.total_seconds() / 3600,
                "maximum_notice_hours": None
                if rule.maximum_notice is None
                else rule.maximum_notice.total_seconds() / 3600,
                "answers": rule.answers,
                "returning_patients_only": rule.returning_patients_only,
            }
            for rule in configuration.auto_approval
        ],
        "hold_minutes": configuration.hold_duration.total_seconds() / 60,
        "waitlist_offer_minutes": configuration.waitlist_offer_window.total_seconds() / 60,
        "notifications": [
            {
                "change": rule.change,
                "recipients": list(rule.recipients),
                "channels": list(rule.channels),
                "before_hours": list(rule.before_hours),
            }
            for rule in configuration.notifications
        ],
    }


def decode_configuration(data: dict[str, Any]) -> DomainConfiguration:
    return DomainConfiguration(
        name=data["name"],
        label=data["label"],
        terminology=Terminology(**data["terminology"]),
        appointment_types=tuple(
            AppointmentTypeSettings(
                code=kind["code"],
                label=kind["label"],
                duration=timedelta(minutes=kind["duration_minutes"]),
                buffer_before=timedelta(minutes=kind["buffer_before_minutes"]),
                buffer_after=timedelta(minutes=kind["buffer_after_minutes"]),
                needs_approval=kind["needs_approval"],
                capacity=kind["capacity"],
                minimum_notice=timedelta(minutes=kind.get("minimum_notice_minutes", 0)),
                booking_horizon=_days(kind.get("booking_horizon_days")),
                daily_limit=kind.get("daily_limit"),
                weekly_limit=kind.get("weekly_limit"),
                start_every=_minutes(kind.get("start_every_minutes")),
            )
            for kind in data["appointment_types"]
        ),
        form_schema=data["form_schema"],
        reason_codes=tuple(data["reason_codes"]),
        cancellation=CancellationPolicy(
            cutoff=timedelta(hours=data["cancellation"]["cutoff_hours"]),
            reason_required=data["cancellation"]["reason_required"],
            max_reschedules=data["cancellation"].get("max_reschedules", CancellationPolicy.max_reschedules),
        ),
        # Versions stored before these settings existed read as the defaults.
        auto_approval=tuple(
            AutoApprovalRule(
                name=rule["name"],
                appointment_types=tuple(rule.get("appointment_types", ())),
                minimum_notice=timedelta(hours=rule.get("minimum_notice_hours", 0)),
                maximum_notice=_hours(rule.get("maximum_notice_hours")),
                answers=dict(rule.get("answers", {})),
                returning_patients_only=rule.get("returning_patients_only", False),
            )
            for rule in data.get("auto_approval", ())
        ),
        hold_duration=timedelta(minutes=data.get("hold_minutes", 5)),
        waitlist_offer_window=timedelta(minutes=data.get("waitlist_offer_minutes", 120)),
        notifications=DEFAULT_RULES
        if data.get("notifications") is None
        else tuple(
            NotificationRule(
                change=rule["change"],
                recipients=tuple(rule["recipients"]),
                channels=tuple(rule["channels"]),
                before_hours=tuple(rule.get("before_hours") or ()),
            )
            for rule in data["notifications"]
        ),
    )


def _periods(periods: tuple[RecurringPeriod, ...]) -> list[dict[str, Any]]:
    return [
        {"rule": p.rule, "start_time": p.start_time.isoformat(), "duration_minutes": p.duration.total_seconds() / 60}
        for p in periods
    ]


def encode_schedule(schedule: Schedule) -> dict[str, Any]:
    return {
        "zone": schedule.zone,
        "valid_from": schedule.valid_from,
        "valid_until": schedule.valid_until,
        "working_hours": _periods(schedule.working_hours),
        "breaks": _periods(schedule.breaks),
        "days_off": [
            {"first_day": d.first_day.isoformat(), "last_day": d.last_day.isoformat()} for d in schedule.days_off
        ],
        "extra_hours": [
            {
                "day": e.day.isoformat(),
                "start_time": e.start_time.isoformat(),
                "duration_minutes": e.duration.total_seconds() / 60,
            }
            for e in schedule.extra_hours
        ],
    }


def _decoded_periods(items: list[dict[str, Any]]) -> tuple[RecurringPeriod, ...]:
    return tuple(
        RecurringPeriod(
            rule=item["rule"],
            start_time=time.fromisoformat(item["start_time"]),
            duration=timedelta(minutes=item["duration_minutes"]),
        )
        for item in items
    )


def decode_schedule(row: Any) -> Schedule:
    return Schedule(
        id=row["resource_id"],
        resource_id=row["resource_id"],
        location_id=row["resource_id"],
        zone=row["zone"],
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        working_hours=_decoded_periods(row["working_hours"]),
        breaks=_decoded_periods(row["breaks"]),
        days_off=tuple(
            DaysOff(first_day=date.fromisoformat(d["first_day"]), last_day=date.fromisoformat(d["last_day"]))
            for d in row["days_off"]
        ),
        extra_hours=tuple(
            ExtraHours(
                day=date.fromisoformat(e["day"]),
                start_time=time.fromisoformat(e["start_time"]),
                duration=timedelta(minutes=e["duration_minutes"]),
            )
            for e in row["extra_hours"]
        ),
    )


def _days(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(days=value)


def _hours(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(hours=value)


def _minutes(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def encode_event(event: AppointmentEvent) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for item in dataclasses.fields(event):
        if item.name in {"appointment_id", "actor", "occurred_at", "reason"}:
            continue
        value = getattr(event, item.name)
        if isinstance(value, Period):
            value = {"starts_at": value.starts_at.isoformat(), "ends_at": value.ends_at.isoformat()}
        elif isinstance(value, UUID):
            value = str(value)
        data[item.name] = value
    return data


def decode_event(row: Any, personal: PersonalData | None = None) -> AppointmentEvent:
    """A stored event; ``personal`` is its opened health data (``AppointmentRepository.decode_events``)."""
    kind = EVENT_TYPES[row["kind"]]
    data = dict(row["data"])
    if personal is not None:
        data |= personal.as_dict()
    if "period" in data:
        period = data.pop("period")
        data["period"] = Period(datetime.fromisoformat(period["starts_at"]), datetime.fromisoformat(period["ends_at"]))
    if kind is Requested:
        data["resource_id"] = UUID(data["resource_id"])
        data["organisation_id"] = UUID(data["organisation_id"])
    return kind(
        appointment_id=row["appointment_id"],
        actor=row["actor"],
        occurred_at=row["occurred_at"],
        reason=row["reason"],
        **data,
    )


class AppointmentsUnitOfWork(UnitOfWork):
    appointments: AppointmentRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.appointments = AppointmentRepository(self.session, self.clock, lambda: self.cipher)
        return self

    async def commit(self) -> None:
        """Every appointment written is audited, and every change event addressed by the domain's notification
        rules, in the same transaction."""
        record_writes(self, self.appointments.saved)
        self.appointments.saved.clear()
        self._pending = await address(self, self._pending)
        await super().commit()
