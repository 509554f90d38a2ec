"""Every endpoint of the appointments service, called by every role against one organisation's and one patient's
data (issue 5 §9, OWASP API1 broken object-level and API5 broken function-level authorisation): the owner and
the organisation's people get what is theirs; everyone else gets a problem (403, or 404 where saying "forbidden"
would reveal that the record exists) with none of the other party's data, and a refused write changes nothing.

The routes come from the service's own OpenAPI document (and the FHIR facade's routers, which it leaves out), so
a new route without a row in ``MATRIX`` fails ``test_every_route_has_a_row``. Tokens carry exactly the
permissions identity's role mapping gives each role (``kairos.identity.domain.roles``). The service is served
over real HTTP (the slot stream is Server-Sent Events) on a database of its own.
"""

from __future__ import annotations

import itertools
import json
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text

from kairos.appointments.fhir_mapping import ANSWERS_EXTENSION, APPOINTMENT_TYPE_SYSTEM
from kairos.appointments.settings import AppointmentsSettings
from kairos.identity.domain.roles import DEFAULT_PERMISSIONS, Role
from kairos.platform.config import Settings
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.appointments.conftest import appointments_service
from tests.integration.appointments.test_live_slots import Instance, started

pytestmark = pytest.mark.integration

API = "/api/v1/appointments"
FHIR = "/fhir/R4"
PRACTICE = uuid.uuid4()  # the organisation whose data is at stake
ELSEWHERE = uuid.uuid4()  # another organisation, with resources of its own
OWNER = f"patient-owner-{uuid.uuid4().hex[:8]}"  # the patient whose appointments are at stake
OTHER_PATIENT = f"patient-other-{uuid.uuid4().hex[:8]}"
DOCTOR = f"doctor-{uuid.uuid4().hex[:8]}"  # the professional whose account the practice's doctor resource is
SECRET = "Chest pain since Tuesday"  # the owner's message: no refused caller may read it
FIRST = datetime(2027, 9, 6, 6, 0, tzinfo=UTC)  # far ahead of any cut-off or notice
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"

CLINIC = {
    "label": "Clinic",
    "terminology": {"client": "patient", "professional": "doctor"},
    "appointment_types": [{"code": "consultation", "label": "Consultation", "duration_minutes": 30}],
    "form_schema": {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]},
    "reason_codes": ["fully_booked"],
    "cancellation": {"cutoff_hours": 24, "reason_required": True},
    "hold_minutes": 60,
}
COUNSEL = {**CLINIC, "label": "Counsel"}  # the other organisation's domain
SCHEDULE = {
    "zone": "UTC",
    "valid_from": "2027-01-01",
    "working_hours": [{"rule": WEEKDAYS, "start_time": "08:00", "duration_minutes": 600}],
}
OTHER_SCHEDULE = {**SCHEDULE, "working_hours": [{"rule": WEEKDAYS, "start_time": "09:00", "duration_minutes": 60}]}
BUSY_ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:busy@tests\r\n"
    b"DTSTAMP:20270101T000000Z\r\nDTSTART:20271201T090000Z\r\nDTEND:20271201T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def permissions(role: Role) -> list[str]:
    return sorted(DEFAULT_PERMISSIONS[role])


PATIENT_SCOPES = "openid patient/*.read patient/*.write"
USER_SCOPES = "openid user/*.read user/*.write"

# Who calls: the claims identity would put in each one's access token (None: no token at all).
ACTORS: dict[str, dict[str, Any] | None] = {
    "patient": {"sub": OWNER, "roles": ["patient"], "permissions": permissions(Role.PATIENT), "scope": PATIENT_SCOPES},
    "other_patient": {
        "sub": OTHER_PATIENT,
        "roles": ["patient"],
        "permissions": permissions(Role.PATIENT),
        "scope": PATIENT_SCOPES,
    },
    "professional": {
        "sub": DOCTOR,
        "roles": ["professional"],
        "permissions": permissions(Role.PROFESSIONAL),
        "org": str(PRACTICE),
        "scope": USER_SCOPES,
    },
    "professional_elsewhere": {
        "sub": "doctor-elsewhere",
        "roles": ["professional"],
        "permissions": permissions(Role.PROFESSIONAL),
        "org": str(ELSEWHERE),
        "scope": USER_SCOPES,
    },
    "staff": {
        "sub": "reception",
        "roles": ["staff"],
        "permissions": permissions(Role.STAFF),
        "org": str(PRACTICE),
        "scope": USER_SCOPES,
    },
    "staff_elsewhere": {
        "sub": "reception-elsewhere",
        "roles": ["staff"],
        "permissions": permissions(Role.STAFF),
        "org": str(ELSEWHERE),
        "scope": USER_SCOPES,
    },
    "domain_admin": {
        "sub": "admin",
        "roles": ["domain_admin"],
        "permissions": permissions(Role.DOMAIN_ADMIN),
        "org": str(PRACTICE),
        "scope": USER_SCOPES,
    },
    "domain_admin_elsewhere": {
        "sub": "admin-elsewhere",
        "roles": ["domain_admin"],
        "permissions": permissions(Role.DOMAIN_ADMIN),
        "org": str(ELSEWHERE),
        "scope": USER_SCOPES,
    },
    "operator": {
        "sub": "operator",
        "roles": ["operator"],
        "permissions": permissions(Role.OPERATOR),
        "scope": USER_SCOPES,
    },
    # A backend client (client credentials): its own id as subject, no roles, a system scope.
    "service": {"sub": "reporting", "client_id": "reporting", "scope": "system/*.read"},
    "anonymous": None,
}

# Expected outcomes. OK: the row's success status. SEES / BLIND: 200, with / without the owner's record in it.
OK, SEES, BLIND = "ok", "sees", "blind"
Outcome = str | int


@dataclass
class Case:
    """What one call needs, made fresh for it: path parameters, body, and how to tell that nothing changed."""

    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    query: dict[str, str] | None = None
    state: tuple[str, dict[str, Any]] | None = None  # SQL whose rows a refused call must leave as they were
    marker: str | None = None  # the owner's record id: present iff the caller may see it (SEES / BLIND)
    cleanup: list[tuple[str, str]] = field(default_factory=list)  # (method, path) the owner calls afterwards
    releases_created_hold: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    instance: Instance
    client: httpx.AsyncClient
    issuer: TestIssuer
    doctor: str  # the practice's doctor: no working hours (any time is requestable), the DOCTOR's account
    room: str  # the practice's room with working hours: slots, explanations, streams, FHIR Schedule and Slot
    managed: str  # the practice's resource whose hours the matrix changes (schedule, bulk changes)
    elsewhere: str  # the other organisation's doctor
    shared: str  # a pending appointment of the owner at the practice, for reads
    calendar_url: str
    times: Iterator[datetime] = field(default_factory=lambda: (FIRST + timedelta(hours=n) for n in itertools.count()))

    @property
    def runtime(self) -> ServiceRuntime:
        return self.instance.runtime

    def headers(self, actor: str) -> dict[str, str]:
        claims = ACTORS[actor]
        return {} if claims is None else {"Authorization": f"Bearer {self.issuer.token(**claims)}"}

    async def call(self, actor: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=self.headers(actor), **kwargs)

    async def ok(self, actor: str, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(actor, method, path, **kwargs)
        assert response.is_success, response.text
        return response.json() if response.content and "json" in response.headers["content-type"] else None

    async def pending(self) -> str:
        """A fresh request of the owner's at the practice, at a time of its own."""
        created = await self.ok(
            "patient",
            "POST",
            f"{API}/appointments",
            json={
                "resource_id": self.doctor,
                "appointment_type": "consultation",
                "starts_at": next(self.times).isoformat(),
                "message": SECRET,
                "answers": {"reason": SECRET},
            },
        )
        return str(created["id"])

    async def booked(self) -> str:
        appointment_id = await self.pending()
        await self.ok("staff", "POST", f"{API}/appointments/{appointment_id}/decision", json={"decision": "approve"})
        return appointment_id

    async def proposed(self) -> str:
        appointment_id = await self.pending()
        await self.ok(
            "staff",
            "POST",
            f"{API}/appointments/{appointment_id}/proposal",
            json={"starts_at": next(self.times).isoformat()},
        )
        return appointment_id

    async def hold(self) -> str:
        held = await self.ok(
            "patient",
            "POST",
            f"{API}/resources/{self.doctor}/holds",
            json={"appointment_type": "consultation", "starts_at": next(self.times).isoformat()},
        )
        return str(held["id"])

    async def rows(self, sql: str, values: dict[str, Any]) -> list[Any]:
        async with self.runtime.engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql), values)).all()]


def appointment_state(appointment_id: str) -> tuple[str, dict[str, Any]]:
    return (
        "SELECT status, version, starts_at, ends_at, (SELECT count(*) FROM appointment_events e"
        " WHERE e.appointment_id = a.id) FROM appointments a WHERE id = :id",
        {"id": appointment_id},
    )


def count_of(table: str) -> tuple[str, dict[str, Any]]:
    return f"SELECT count(*) FROM {table}", {}


# --- how each row prepares its call ---------------------------------------------------------------------------

Prepare = Callable[[World, str], Awaitable[Case]]


async def reads_shared(world: World, _: str) -> Case:
    return Case({"appointment_id": world.shared})


async def lists_shared(world: World, _: str) -> Case:
    return Case(marker=world.shared)


async def nothing(_: World, __: str) -> Case:
    return Case()


def on_fresh(make: str, body: Callable[[World], Any] | Any = None) -> Prepare:
    """A fresh appointment of the owner (``make``: pending, booked or proposed), and the call's body."""

    async def prepare(world: World, _: str) -> Case:
        appointment_id = await getattr(world, make)()
        sent = body(world) if callable(body) else body
        return Case({"appointment_id": appointment_id}, json=sent, state=appointment_state(appointment_id))

    return prepare


async def batch_decision(world: World, _: str) -> Case:
    appointment_id = await world.pending()
    return Case(
        json={"decisions": [{"appointment_id": appointment_id, "decision": "approve"}]},
        state=appointment_state(appointment_id),
    )


async def new_request(world: World, _: str) -> Case:
    body = {
        "resource_id": world.doctor,
        "appointment_type": "consultation",
        "starts_at": next(world.times).isoformat(),
        "answers": {"reason": "Check-up"},
    }
    return Case(json=body, state=count_of("appointments"))


async def new_resource(_: World, __: str) -> Case:
    body = {"organisation_id": str(PRACTICE), "display_name": "Room 2", "zone": "UTC", "domain": "clinic"}
    return Case(json=body, state=count_of("resources"))


async def clinic_domain(_: World, __: str) -> Case:
    return Case(
        {"name": "clinic"},
        json={**CLINIC, "label": "Clinic (changed)"},
        state=("SELECT version, configuration FROM domains WHERE name = 'clinic'", {}),
    )


async def domain_named(_: World, __: str) -> Case:
    return Case({"name": "clinic"})


async def managed_schedule(world: World, _: str) -> Case:
    state = "SELECT working_hours, days_off, extra_hours FROM schedules WHERE resource_id = :id", {"id": world.managed}
    [(hours, _days_off, _extra)] = await world.rows(*state)
    other = SCHEDULE if "09:00" in json.dumps(hours) else OTHER_SCHEDULE  # so that an allowed write changes it
    return Case({"resource_id": world.managed}, json=other, state=state)


async def room(world: World, _: str) -> Case:
    return Case({"resource_id": world.room})


async def doctor(world: World, _: str) -> Case:
    return Case({"resource_id": world.doctor})


def room_query(**query: str) -> Prepare:
    async def prepare(world: World, _: str) -> Case:
        return Case({"resource_id": world.room}, query=query)

    return prepare


async def any_slots(_: World, __: str) -> Case:
    return Case(
        query={"appointment_type": "consultation", "from": "2027-10-04T00:00:00Z", "to": "2027-10-06T00:00:00Z"}
    )


def feed_state(world: World) -> tuple[str, dict[str, Any]]:
    return "SELECT token_hash FROM calendar_feeds WHERE resource_id = :id", {"id": world.doctor}


async def with_feed(world: World, _: str) -> Case:
    await world.ok("operator", "POST", f"{API}/resources/{world.doctor}/calendar-feed")
    return Case({"resource_id": world.doctor}, state=feed_state(world))


async def feed_url(world: World, _: str) -> Case:
    created = await world.ok("operator", "POST", f"{API}/resources/{world.doctor}/calendar-feed")
    return Case({"token": created["token"]})


def imports_state(world: World) -> tuple[str, dict[str, Any]]:
    return (
        "SELECT id, refreshed_at, busy_count FROM calendar_imports WHERE resource_id = :id ORDER BY id",
        {"id": world.doctor},
    )


async def doctor_imports(world: World, _: str) -> Case:
    return Case({"resource_id": world.doctor}, state=imports_state(world))


async def import_file(world: World, _: str) -> Case:
    return Case(
        {"resource_id": world.doctor},
        files={"file": ("busy.ics", BUSY_ICS, "text/calendar")},
        data={"name": "Hospital rota"},
        state=imports_state(world),
    )


async def import_url(world: World, _: str) -> Case:
    return Case(
        {"resource_id": world.doctor},
        json={"url": world.calendar_url, "name": "On call"},
        state=imports_state(world),
    )


async def url_import(world: World, _: str) -> Case:
    created = await world.ok(
        "operator", "POST", f"{API}/resources/{world.doctor}/calendar-imports/url", json={"url": world.calendar_url}
    )
    return Case({"resource_id": world.doctor, "import_id": created["id"]}, state=imports_state(world))


async def file_import(world: World, _: str) -> Case:
    created = await world.ok(
        "operator",
        "POST",
        f"{API}/resources/{world.doctor}/calendar-imports/file",
        files={"file": ("busy.ics", BUSY_ICS, "text/calendar")},
    )
    return Case({"resource_id": world.doctor, "import_id": created["id"]}, state=imports_state(world))


def holds_of_owner() -> tuple[str, dict[str, Any]]:
    return "SELECT id FROM seats WHERE holder = :holder AND expires_at IS NOT NULL ORDER BY id", {"holder": OWNER}


async def new_hold(world: World, _: str) -> Case:
    return Case(
        {"resource_id": world.doctor},
        json={"appointment_type": "consultation", "starts_at": next(world.times).isoformat()},
        state=count_of("seats"),
        releases_created_hold=True,  # a patient holds at most 3 slots: give each back
    )


async def owners_hold(world: World, _: str) -> Case:
    hold_id = await world.hold()
    return Case({"hold_id": hold_id}, state=holds_of_owner(), cleanup=[("DELETE", f"{API}/holds/{hold_id}")])


async def new_waitlist_entry(world: World, _: str) -> Case:
    earliest = next(world.times)
    body = {
        "resource_id": world.doctor,
        "appointment_type": "consultation",
        "earliest": earliest.isoformat(),
        "latest": (earliest + timedelta(days=1)).isoformat(),
    }
    return Case(json=body, state=count_of("waitlist_entries"))


async def owners_waitlist_entry(world: World, _: str) -> Case:
    earliest = next(world.times)
    entry = await world.ok(
        "patient",
        "POST",
        f"{API}/waitlist",
        json={
            "resource_id": world.doctor,
            "appointment_type": "consultation",
            "earliest": earliest.isoformat(),
            "latest": (earliest + timedelta(hours=1)).isoformat(),
        },
    )
    return Case(
        {"entry_id": entry["id"]},
        marker=entry["id"],
        state=("SELECT status FROM waitlist_entries WHERE id = :id", {"id": entry["id"]}),
    )


def close_a_day(world: World) -> dict[str, Any]:
    day = next(world.times).date().isoformat()
    return {
        "resources": {"resource_ids": [world.managed]},
        "change": {"kind": "close-dates", "days": [{"first_day": day, "last_day": day}]},
    }


async def bulk_change(world: World, _: str) -> Case:
    return Case(json=close_a_day(world), query={"preview": "false"}, state=count_of("bulk_changes"))


async def applied_bulk_change(world: World, _: str) -> Case:
    applied = await world.ok(
        "operator", "POST", f"{API}/availability/bulk-changes", params={"preview": "false"}, json=close_a_day(world)
    )
    return Case(
        {"change_id": applied["change_id"]},
        state=("SELECT undone_at FROM bulk_changes WHERE id = :id", {"id": applied["change_id"]}),
    )


async def listed_bulk_change(world: World, _: str) -> Case:
    applied = await applied_bulk_change(world, _)
    return Case(marker=applied.params["change_id"])


# --- FHIR ------------------------------------------------------------------------------------------------------


async def fhir_shared(world: World, _: str) -> Case:
    return Case({"appointment_id": world.shared})


async def fhir_version(world: World, _: str) -> Case:
    return Case({"appointment_id": world.shared, "version_id": "1"})


async def fhir_request(world: World, actor: str) -> Case:
    subject = (ACTORS[actor] or {}).get("sub", OWNER)  # each asks for themselves: the permission decides
    body = {
        "resourceType": "Appointment",
        "status": "proposed",
        "appointmentType": {"coding": [{"system": APPOINTMENT_TYPE_SYSTEM, "code": "consultation"}]},
        "start": next(world.times).isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{subject}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{world.doctor}"}, "status": "needs-action"},
        ],
        "extension": [{"url": ANSWERS_EXTENSION, "valueString": json.dumps({"reason": "Check-up"})}],
    }
    return Case(json=body, state=count_of("appointments"), headers={"Content-Type": "application/fhir+json"})


async def fhir_answer(world: World, _: str) -> Case:
    appointment_id = await world.pending()
    body = {
        "resourceType": "AppointmentResponse",
        "appointment": {"reference": f"Appointment/{appointment_id}"},
        "actor": {"reference": f"Practitioner/{world.doctor}"},
        "participantStatus": "accepted",
    }
    return Case(json=body, state=appointment_state(appointment_id), headers={"Content-Type": "application/fhir+json"})


async def fhir_response(world: World, _: str) -> Case:
    return Case({"response_id": f"{await world.booked()}-2"})  # the approval: the second event of the stream


async def fhir_schedule(world: World, _: str) -> Case:
    return Case({"schedule_id": world.room})


async def fhir_slots(world: World, _: str) -> Case:
    return Case(query={"schedule": f"Schedule/{world.room}", "start": "ge2027-10-04T00:00:00Z"})


async def fhir_shared_search(world: World, _: str) -> Case:
    return Case(marker=world.shared)


# --- the matrix --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    outcomes: tuple[Outcome, ...]  # one per actor, in the order of ACTORS
    prepare: Prepare
    succeeds_with: int = 200

    def __post_init__(self) -> None:
        assert len(self.outcomes) == len(ACTORS), f"{self.method} {self.path}: one outcome per actor"

    def outcome(self, actor: str) -> Outcome:
        return self.outcomes[list(ACTORS).index(actor)]


# Columns: patient (the owner), another patient, the practice's professional, another organisation's, the
# practice's staff, another's, the practice's domain admin, another's, an operator, a system/*.read client, nobody.
#    pat    other  pro    pro'   staff  staff' admin  admin' op     svc    anon
PUBLIC = (OK,) * 11
ONLY_PRACTICE_READS = (OK, 404, OK, 404, OK, 404, 404, 404, OK, 404, 401)  # the owner, the practice, operators
PRACTICE_DECIDES = (403, 404, OK, 404, OK, 404, 404, 404, 403, 404, 401)  # seen ≠ decided: the patient 403
CALENDAR_KEEPERS = (403, 403, OK, 403, OK, 403, OK, 403, OK, 403, 401)  # the doctor, staff, admins, operators
PATIENTS_ASK = (OK, OK, 403, 403, 403, 403, 403, 403, 403, 403, 401)  # for themselves only
HOLDER_ONLY = (OK, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401)
LISTS = (SEES, BLIND, SEES, BLIND, SEES, BLIND, BLIND, BLIND, SEES, BLIND, 401)

MATRIX: list[Row] = [
    # calendars
    Row("GET", "/appointments/{appointment_id}.ics", ONLY_PRACTICE_READS, reads_shared),
    Row("POST", "/resources/{resource_id}/calendar-feed", CALENDAR_KEEPERS, with_feed, 201),
    Row("DELETE", "/resources/{resource_id}/calendar-feed", CALENDAR_KEEPERS, with_feed, 204),
    Row("GET", "/feeds/{token}.ics", PUBLIC, feed_url),  # the secret URL is the credential
    Row("GET", "/resources/{resource_id}/calendar-imports", CALENDAR_KEEPERS, doctor_imports),
    Row("POST", "/resources/{resource_id}/calendar-imports/file", CALENDAR_KEEPERS, import_file, 201),
    Row("POST", "/resources/{resource_id}/calendar-imports/url", CALENDAR_KEEPERS, import_url, 201),
    Row("POST", "/resources/{resource_id}/calendar-imports/{import_id}/refresh", CALENDAR_KEEPERS, url_import),
    Row("DELETE", "/resources/{resource_id}/calendar-imports/{import_id}", CALENDAR_KEEPERS, file_import, 204),
    # resources, domains, schedules and slots
    Row(
        "POST", "/resources", (403, 403, 403, 403, 403, 403, OK, 403, OK, 403, 401), new_resource, 201
    ),  # the organisation's domain admin
    Row("GET", "/resources", PUBLIC, nothing),
    Row("PUT", "/domains/{name}", (403, 403, 403, 403, 403, 403, OK, 403, OK, 403, 401), clinic_domain),
    Row("GET", "/domains/{name}", PUBLIC, domain_named),
    Row("GET", "/domains", PUBLIC, nothing),
    Row("PUT", "/resources/{resource_id}/schedule", CALENDAR_KEEPERS, managed_schedule, 204),
    Row("GET", "/resources/{resource_id}/schedule", PUBLIC, room),
    Row(
        "GET",
        "/resources/{resource_id}/slots",
        PUBLIC,
        room_query(
            **{"appointment_type": "consultation", "from": "2027-10-04T00:00:00Z", "to": "2027-10-05T00:00:00Z"}
        ),
    ),
    Row(
        "GET",
        "/resources/{resource_id}/slots/explain",
        PUBLIC,
        room_query(appointment_type="consultation", starts_at="2027-10-04T09:00:00Z"),
    ),
    Row("GET", "/resources/{resource_id}/slots/stream", PUBLIC, room),
    Row("GET", "/directory", PUBLIC, nothing),
    Row("GET", "/resources/{resource_id}/professional", PUBLIC, doctor),
    Row("GET", "/slots", PUBLIC, any_slots),
    # appointments and their workflow
    Row("POST", "/appointments", PATIENTS_ASK, new_request, 201),
    Row("GET", "/appointments", LISTS, lists_shared),
    Row("GET", "/appointments/{appointment_id}", ONLY_PRACTICE_READS, reads_shared),
    Row("GET", "/appointments/{appointment_id}/history", ONLY_PRACTICE_READS, reads_shared),
    Row(
        "POST",
        "/appointments/{appointment_id}/decision",
        PRACTICE_DECIDES,
        on_fresh("pending", {"decision": "approve"}),
    ),
    Row("POST", "/appointments/decisions", PRACTICE_DECIDES, batch_decision),  # 200; the item says the outcome
    Row(
        "POST",
        "/appointments/{appointment_id}/status",
        PRACTICE_DECIDES,
        on_fresh("pending", {"status": "entered-in-error", "reason": "Duplicate"}),
    ),
    Row(
        "POST",
        "/appointments/{appointment_id}/proposal",
        PRACTICE_DECIDES,
        on_fresh("pending", lambda world: {"starts_at": next(world.times).isoformat()}),
    ),
    Row(
        "POST",
        "/appointments/{appointment_id}/proposal/answer",
        (OK, 404, 403, 404, 403, 404, 404, 404, 403, 404, 401),  # the patient answers
        on_fresh("proposed", {"accept": True}),
    ),
    Row(
        "POST",
        "/appointments/{appointment_id}/reschedule",
        (OK, 404, OK, 404, OK, 404, 404, 404, 403, 404, 401),  # the patient or the practice
        on_fresh("booked", lambda world: {"starts_at": next(world.times).isoformat(), "reason": "Clash"}),
    ),
    Row(
        "POST",
        "/appointments/{appointment_id}/cancellation",
        (OK, 404, OK, 404, OK, 404, 404, 404, 403, 404, 401),
        on_fresh("booked", {"reason": "Feeling better"}),
    ),
    # holds and the waitlist
    Row("POST", "/resources/{resource_id}/holds", PATIENTS_ASK, new_hold, 201),
    Row("GET", "/holds/{hold_id}", HOLDER_ONLY, owners_hold),
    Row("DELETE", "/holds/{hold_id}", HOLDER_ONLY, owners_hold, 204),
    Row("POST", "/waitlist", PATIENTS_ASK, new_waitlist_entry, 201),
    Row(
        "GET",
        "/waitlist",
        (SEES, BLIND, BLIND, BLIND, BLIND, BLIND, BLIND, BLIND, BLIND, BLIND, 401),
        owners_waitlist_entry,
    ),
    Row("DELETE", "/waitlist/{entry_id}", HOLDER_ONLY, owners_waitlist_entry, 204),
    # bulk availability changes: the organisation's domain admins (staff lack availability:manage), operators
    Row("POST", "/availability/bulk-changes", (403, 403, 403, 403, 403, 403, OK, 403, OK, 403, 401), bulk_change, 201),
    Row(
        "GET",
        "/availability/bulk-changes",
        (BLIND, BLIND, BLIND, BLIND, BLIND, BLIND, SEES, BLIND, SEES, BLIND, 401),  # those who may undo them
        listed_bulk_change,
    ),
    Row(
        "POST",
        "/availability/bulk-changes/{change_id}/undo",
        (404, 404, 404, 404, 404, 404, OK, 404, OK, 404, 401),  # another's change is not theirs to know of
        applied_bulk_change,
    ),
    # FHIR R4 with SMART scopes: patients patient/*, the organisation's people and operators user/*, the client
    # system/*.read (it sees every appointment and writes nothing). A refused AppointmentResponse is a 422: the
    # appointment it cites is not one the caller can answer (FHIR's processing error, saying no more).
    Row("GET", f"{FHIR}/metadata", PUBLIC, nothing),
    Row("GET", f"{FHIR}/.well-known/smart-configuration", PUBLIC, nothing),
    Row(
        "GET", f"{FHIR}/Appointment/{{appointment_id}}", (OK, 404, OK, 404, OK, 404, 404, 404, OK, OK, 401), fhir_shared
    ),
    Row(
        "GET",
        f"{FHIR}/Appointment/{{appointment_id}}/_history/{{version_id}}",
        (OK, 404, OK, 404, OK, 404, 404, 404, OK, OK, 401),
        fhir_version,
    ),
    Row(
        "GET",
        f"{FHIR}/Appointment",
        (SEES, BLIND, SEES, BLIND, SEES, BLIND, BLIND, BLIND, SEES, SEES, 401),
        fhir_shared_search,
    ),
    Row("POST", f"{FHIR}/Appointment", (OK, OK, 403, 403, 403, 403, 403, 403, 403, 403, 401), fhir_request, 201),
    Row(
        "POST",
        f"{FHIR}/AppointmentResponse",
        (403, 422, OK, 422, OK, 422, 422, 422, 403, 403, 401),
        fhir_answer,
        201,
    ),
    Row(
        "GET",
        f"{FHIR}/AppointmentResponse/{{response_id}}",
        (OK, 404, OK, 404, OK, 404, 404, 404, OK, OK, 401),
        fhir_response,
    ),
    Row("GET", f"{FHIR}/Schedule/{{schedule_id}}", (OK,) * 10 + (401,), fhir_schedule),
    Row("GET", f"{FHIR}/Schedule", (OK,) * 10 + (401,), nothing),
    Row("GET", f"{FHIR}/Slot", (OK,) * 10 + (401,), fhir_slots),
]


def route_key(path: str) -> str:
    return path if path.startswith(FHIR) else path.removeprefix(API)


def served_routes(runtime: ServiceRuntime) -> set[tuple[str, str]]:
    """Every route: the OpenAPI document's, and the FHIR facade's (left out of it), but its catch-all."""
    documented = {
        (method.upper(), route_key(path))
        for path, operations in runtime.app.openapi()["paths"].items()
        for method in operations
    }
    fhir = {
        (method, route.path)
        for router in runtime.app.state.fhir_routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.name != "unsupported"
        for method in route.methods
    }
    return documented | fhir


@pytest.fixture(scope="module")
def calendar_url() -> Iterator[str]:
    """A real HTTP server publishing an iCalendar file, for URL imports."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("Content-Length", str(len(BUSY_ICS)))
            self.end_headers()
            self.wfile.write(BUSY_ICS)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rota.ics"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
async def world(base_settings: Settings, issuer: TestIssuer, calendar_url: str) -> AsyncIterator[World]:
    runtime = await appointments_service(base_settings, name="matrix")
    # No gRPC port shared with other test runs; the tests' calendar server is on loopback.
    runtime.app.state.appointments_settings = AppointmentsSettings(grpc_port=0, calendar_allow_private_addresses=True)
    instance = await started(runtime)
    operator = {"Authorization": f"Bearer {issuer.token(**ACTORS['operator'])}"}  # type: ignore[arg-type]
    async with httpx.AsyncClient(base_url=instance.url, timeout=30) as client:

        async def resource(organisation: uuid.UUID, name: str, domain: str, user_id: str | None = None) -> str:
            created = await client.post(
                f"{API}/resources",
                json={
                    "organisation_id": str(organisation),
                    "kind": "professional",
                    "display_name": name,
                    "zone": "UTC",
                    "domain": domain,
                    "user_id": user_id,
                },
                headers=operator,
            )
            assert created.status_code == 201, created.text
            return str(created.json()["id"])

        for name, configuration in (("clinic", CLINIC), ("counsel", COUNSEL)):
            configured = await client.put(f"{API}/domains/{name}", json=configuration, headers=operator)
            assert configured.status_code == 200, configured.text
        doctor = await resource(PRACTICE, "Dr. Ada Byron", "clinic", DOCTOR)
        room = await resource(PRACTICE, "Room 1", "clinic")
        managed = await resource(PRACTICE, "Dr. Grace Hopper", "clinic")
        elsewhere = await resource(ELSEWHERE, "Mr. Elsewhere", "counsel", "doctor-elsewhere")
        for scheduled in (room, managed):
            hours = await client.put(f"{API}/resources/{scheduled}/schedule", json=SCHEDULE, headers=operator)
            assert hours.status_code == 204, hours.text
        world = World(instance, client, issuer, doctor, room, managed, elsewhere, "", calendar_url)
        world.shared = await world.pending()
        # The other party's own record, which must never show up as the owner's.
        await world.ok(
            "other_patient",
            "POST",
            f"{API}/appointments",
            json={
                "resource_id": elsewhere,
                "appointment_type": "consultation",
                "starts_at": next(world.times).isoformat(),
                "answers": {"reason": "Contract"},
            },
        )
        yield world
    await runtime.stop()
    instance.stop.set()
    await instance.serving


def test_every_route_has_a_row(world: World) -> None:
    """A new route without a row of the matrix fails here: every endpoint has a role × owner test."""
    rows = [(row.method, row.path) for row in MATRIX]
    assert len(rows) == len(set(rows)), "one row per route"
    assert served_routes(world.runtime) == set(rows)


def is_problem(response: httpx.Response, *, fhir: bool) -> bool:
    if fhir:
        return bool(response.json().get("resourceType") == "OperationOutcome")
    return response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: f"{row.method} {row.path}")
async def test_each_role_reaches_only_what_is_its_own(world: World, row: Row, actor: str) -> None:
    case = await row.prepare(world, actor)
    before = await world.rows(*case.state) if case.state else None
    expected = row.outcome(actor)
    is_fhir = row.path.startswith(FHIR)
    url = (row.path if is_fhir else API + row.path).format(**case.params)
    headers = {**world.headers(actor), **case.headers}
    try:
        if row.path.endswith("/slots/stream") and expected == OK:
            await _opens_the_stream(world, url, headers)
            return
        response = await world.client.request(
            row.method, url, headers=headers, params=case.query, json=case.json, files=case.files, data=case.data
        )
        if row.path == "/appointments/decisions" and actor != "anonymous":
            # 200 always; the item carries the outcome (ok, or an RFC 9457 problem with its status).
            assert response.status_code == 200, response.text
            [result] = response.json()["results"]
            outcome = result["outcome"] if result["outcome"] == "ok" else result["problem"]["status"]
            assert outcome == expected, result
            if expected == OK:
                assert result["appointment"]["status"] == "booked"
        elif expected == OK:
            assert response.status_code == row.succeeds_with, response.text
        elif expected in (SEES, BLIND):
            assert response.status_code == 200, response.text
            assert (case.marker in response.text) == (expected == SEES), response.text
            if expected == BLIND:
                assert OWNER not in response.text
                assert SECRET not in response.text
        else:
            assert response.status_code == expected, response.text
            assert is_problem(response, fhir=is_fhir), response.text
            assert OWNER not in response.text
            assert SECRET not in response.text
        if case.state is not None and before is not None:
            after = await world.rows(*case.state)
            if expected == OK and row.method != "GET":
                assert after != before, "an allowed write changes what it says it changes"
            else:
                assert after == before, "a read, or a refused write, changes nothing"
        if case.releases_created_hold and response.status_code == 201:
            await world.call(actor, "DELETE", f"{API}/holds/{response.json()['id']}")
    finally:
        for method, path in case.cleanup:
            await world.call("patient", method, path)


async def _opens_the_stream(world: World, url: str, headers: dict[str, str]) -> None:
    async with world.client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                assert line == "event: ready"
                return
    raise AssertionError("the stream ended before it was ready")


async def test_a_patient_asking_for_someone_elses_appointments_is_refused(world: World) -> None:
    refused = await world.call("other_patient", "GET", f"{API}/appointments", params={"patient": OWNER})
    assert refused.status_code == 403
    assert OWNER not in refused.text


async def test_a_domain_used_by_another_organisation_is_not_the_admins_to_change(world: World) -> None:
    """The bug this matrix found: any domain admin could rewrite any domain, e.g. another practice's form."""
    before = await world.rows("SELECT version FROM domains WHERE name = 'counsel'", {})
    refused = await world.call("domain_admin", "PUT", f"{API}/domains/counsel", json=COUNSEL)
    assert refused.status_code == 403, refused.text
    assert await world.rows("SELECT version FROM domains WHERE name = 'counsel'", {}) == before
    allowed = await world.call("domain_admin_elsewhere", "PUT", f"{API}/domains/counsel", json=COUNSEL)
    assert allowed.status_code == 200, allowed.text
    new = await world.call("domain_admin_elsewhere", "PUT", f"{API}/domains/mediation", json=COUNSEL)
    assert new.status_code == 200, new.text  # a domain nobody books under yet


async def test_the_practice_reads_a_page_of_one_patients_many_appointments(world: World) -> None:
    """Found by the matrix: the read's audit record names every id shown, and overflowed the event's subject."""
    for _ in range(10):
        await world.pending()
    listed = await world.call("staff", "GET", f"{API}/appointments", params={"patient": OWNER, "limit": "50"})
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) >= 10
    searched = await world.call("service", "GET", f"{FHIR}/Appointment", params={"patient": OWNER, "_count": "50"})
    assert searched.status_code == 200, searched.text
