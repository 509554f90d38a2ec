"""The directory kept from identity's events, "any suitable professional" slots, iCalendar files, feeds and
imports (from a file and from a real local HTTP server), and the FHIR Schedule and Slot, on the real database."""

from __future__ import annotations

import http.server
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar

from kairos.appointments.settings import AppointmentsSettings
from kairos.contracts.demo import HARBOUR_DOCTOR, HARBOUR_MEDICAL_PRACTICE
from kairos.contracts.events.identity import ProfessionalVerificationLapsed, ProfessionalVerified, ProfileUpdated
from kairos.platform.config import Settings
from kairos.platform.events.consumer import Outcome
from kairos.platform.events.envelope import Envelope, IntegrationEvent
from kairos.platform.ids import new_id
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from tests.fhir_r4 import assert_valid_r4
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

API = "/api/v1/appointments"
FHIR = "/fhir/R4"
PRACTICE = uuid.uuid4()
MONDAY = datetime(2027, 3, 1, tzinfo=UTC)  # a Monday far enough ahead for any notice
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


@dataclass
class Setup:
    client: httpx.AsyncClient
    issuer: TestIssuer
    runtime: ServiceRuntime
    professional: uuid.UUID  # the account verified by the first event
    resource_id: str

    def bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}

    def patient(self, name: str = "patient-1", scope: str = "openid") -> dict[str, str]:
        return self.bearer(sub=name, roles=["patient"], permissions=["appointments:request"], scope=scope)

    def admin(self) -> dict[str, str]:
        return self.bearer(sub="admin-1", roles=["domain_admin"], org=str(PRACTICE))

    def the_professional(self) -> dict[str, str]:
        return self.bearer(
            sub=str(self.professional),
            roles=["professional"],
            permissions=["appointments:read", "appointments:decide"],
            org=str(PRACTICE),
        )

    async def deliver(self, event: IntegrationEvent, *, subject: str) -> Outcome:
        envelope = Envelope(
            id=new_id(),
            type=event.event_type,
            version=event.event_version,
            occurred_at=datetime.now(UTC),
            producer="identity",
            subject=subject,
            data=event.model_dump(mode="json"),
        )
        assert self.runtime.consumer is not None
        return await self.runtime.consumer.handle(envelope)

    async def request(self, starts_at: datetime, patient: str = "patient-1") -> dict[str, Any]:
        response = await self.client.post(
            f"{API}/appointments",
            json={
                "resource_id": self.resource_id,
                "appointment_type": "follow-up",
                "starts_at": starts_at.isoformat(),
                "answers": {"reason": "Check-up"},
            },
            headers=self.patient(patient),
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def free_starts(self, day: datetime, kind: str = "follow-up") -> set[datetime]:
        response = await self.client.get(
            f"{API}/resources/{self.resource_id}/slots",
            params={"appointment_type": kind, "from": day.isoformat(), "to": (day + timedelta(days=1)).isoformat()},
        )
        assert response.status_code == 200, response.text
        return {datetime.fromisoformat(slot["starts_at"]) for slot in response.json()}


def verified(user_id: uuid.UUID, **changes: Any) -> ProfessionalVerified:
    fields: dict[str, Any] = {
        "user_id": user_id,
        "organisation_id": PRACTICE,
        "display_name": "Dr. Ana Souza",
        "specialty": "Dermatology",
        "languages": ["PT", "en"],
        "location": "Porto",
        "verified_at": datetime.now(UTC) - timedelta(minutes=5),
    }
    return ProfessionalVerified(**{**fields, **changes})


@pytest.fixture(scope="module")
async def setup(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Setup]:
    runtime = await appointments_service(base_settings, name="directory", demo=True)
    await runtime.start()
    professional = uuid.uuid4()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app), base_url="http://kairos.test"
    ) as client:
        setup = Setup(client, issuer, runtime, professional, "")
        created = await client.post(
            f"{API}/resources",
            json={
                "organisation_id": str(PRACTICE),
                "display_name": "Dr. Ana Souza",
                "zone": "Europe/Lisbon",
                "user_id": str(professional),
                "domain": "medical",
            },
            headers=setup.admin(),
        )
        assert created.status_code == 201, created.text
        setup.resource_id = created.json()["id"]
        schedule = await client.put(
            f"{API}/resources/{setup.resource_id}/schedule",
            json={
                "zone": "Europe/Lisbon",
                "valid_from": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
                "working_hours": [{"rule": WEEKDAYS, "start_time": "09:00", "duration_minutes": 480}],
            },
            headers=setup.admin(),
        )
        assert schedule.status_code == 204, schedule.text
        yield setup
    await runtime.stop()


# --- the directory ---------------------------------------------------------------------------------------------


async def test_the_demo_directory_lists_its_professionals_before_any_event(setup: Setup) -> None:
    listed = (await setup.client.get(f"{API}/directory", params={"organisation": str(HARBOUR_MEDICAL_PRACTICE)})).json()
    (doctor,) = listed["items"]
    assert doctor["user_id"] == str(HARBOUR_DOCTOR)
    assert doctor["display_name"] == "Dr. Mira Haddad"
    assert [resource["display_name"] for resource in doctor["resources"]] == ["Dr. Mira Haddad"]
    assert doctor["earliest_free"] is not None  # weekdays of working hours from today on
    assert doctor["earliest_free"]["resource_id"] == doctor["resources"][0]["id"]


async def test_a_verified_professional_is_listed_once_with_resources_and_earliest_free_time(setup: Setup) -> None:
    event = verified(setup.professional)
    assert await setup.deliver(event, subject=f"user:{setup.professional}") is Outcome.HANDLED

    found = (await setup.client.get(f"{API}/directory", params={"q": "souza"})).json()["items"]
    assert len(found) == 1
    (souza,) = found
    assert souza["user_id"] == str(setup.professional)
    assert souza["specialty"] == "Dermatology"
    assert souza["languages"] == ["en", "pt"]
    assert [resource["id"] for resource in souza["resources"]] == [setup.resource_id]
    earliest = souza["earliest_free"]
    assert earliest["appointment_type"] == "consultation"  # the domain's first type
    assert datetime.fromisoformat(earliest["starts_at"]) > datetime.now(UTC)

    # The earliest free time is exactly the first slot the resource's own search offers.
    start = datetime.now(UTC)
    slots = (
        await setup.client.get(
            f"{API}/resources/{setup.resource_id}/slots",
            params={
                "appointment_type": "consultation",
                "from": start.isoformat(),
                "to": (start + timedelta(days=8)).isoformat(),
            },
        )
    ).json()
    assert datetime.fromisoformat(slots[0]["starts_at"]) == datetime.fromisoformat(earliest["starts_at"])

    for params, expected in [
        ({"specialty": "dermatology"}, 1),
        ({"language": "PT"}, 1),
        ({"language": "sv"}, 0),
        ({"domain": "legal", "q": "souza"}, 0),
        ({"domain": "medical", "q": "souza"}, 1),
        ({"organisation": str(PRACTICE)}, 1),
        ({"q": "100%_"}, 0),  # wildcards are literal
    ]:
        items = (await setup.client.get(f"{API}/directory", params=params)).json()["items"]
        assert len([item for item in items if item["user_id"] == str(setup.professional)]) == expected, params


async def test_events_are_applied_once_and_in_their_own_order(setup: Setup) -> None:
    other = uuid.uuid4()
    now = datetime.now(UTC)
    assert await setup.deliver(verified(other, display_name="Dr. Old", verified_at=now), subject=f"user:{other}")
    renamed = ProfileUpdated(user_id=other, display_name="Dr. Newname", updated_at=now + timedelta(seconds=1))
    await setup.deliver(renamed, subject=f"user:{other}")
    # An older verification arriving late changes nothing (neither the name nor the specialty).
    await setup.deliver(
        verified(other, display_name="Dr. Older", specialty="Surgery", verified_at=now - timedelta(days=1)),
        subject=f"user:{other}",
    )
    (listed,) = [
        item
        for item in (await setup.client.get(f"{API}/directory", params={"q": "Dr."})).json()["items"]
        if item["user_id"] == str(other)
    ]
    assert listed["display_name"] == "Dr. Newname"
    assert listed["specialty"] == "Dermatology"
    assert listed["resources"] == []
    assert listed["earliest_free"] is None

    lapsed = ProfessionalVerificationLapsed(user_id=other, organisation_id=PRACTICE, lapsed_at=now + timedelta(1))
    await setup.deliver(lapsed, subject=f"user:{other}")
    await setup.deliver(verified(other, verified_at=now + timedelta(hours=1)), subject=f"user:{other}")  # older
    everyone = (await setup.client.get(f"{API}/directory", params={"limit": 200})).json()["items"]
    assert str(other) not in {item["user_id"] for item in everyone}

    expired = uuid.uuid4()
    await setup.deliver(verified(expired, expires_at=now - timedelta(seconds=1)), subject=f"user:{expired}")
    everyone = (await setup.client.get(f"{API}/directory", params={"limit": 200})).json()["items"]
    assert str(expired) not in {item["user_id"] for item in everyone}


async def test_any_suitable_professional_merges_the_slots_of_every_match(setup: Setup) -> None:
    await setup.deliver(verified(setup.professional), subject=f"user:{setup.professional}")
    params = {
        "appointment_type": "follow-up",
        "from": MONDAY.isoformat(),
        "to": (MONDAY + timedelta(days=1)).isoformat(),
        "domain": "medical",
    }
    # The demo doctor's schedule starts today and repeats weekly: both are free on a Monday ahead.
    merged = (await setup.client.get(f"{API}/slots", params=params)).json()
    assert {slot["resource_id"] for slot in merged} >= {setup.resource_id}
    assert [slot["starts_at"] for slot in merged] == sorted(slot["starts_at"] for slot in merged)
    dermatology = (await setup.client.get(f"{API}/slots", params={**params, "specialty": "Dermatology"})).json()
    assert {slot["resource_id"] for slot in dermatology} == {setup.resource_id}
    assert len(dermatology) == 8 * 4  # 09:00-17:00 Lisbon, every 15 minutes
    too_long = await setup.client.get(
        f"{API}/slots", params={**params, "to": (MONDAY + timedelta(days=90)).isoformat()}
    )
    assert too_long.status_code == 422
    assert too_long.headers["content-type"] == "application/problem+json"


# --- iCalendar -------------------------------------------------------------------------------------------------


def parsed(response: httpx.Response) -> Calendar:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["VERSION"] == "2.0"
    return calendar


async def test_an_appointment_as_an_ics_file_for_the_patient_and_the_practice(setup: Setup) -> None:
    appointment = await setup.request(MONDAY + timedelta(days=7, hours=10), patient="patient-ics")
    path = f"{API}/appointments/{appointment['id']}.ics"

    for headers in (setup.patient("patient-ics"), setup.the_professional()):
        (event,) = parsed(await setup.client.get(path, headers=headers)).walk("VEVENT")
        assert str(event["UID"]) == f"{appointment['id']}@appointments.kairos"
        assert event.decoded("DTSTART") == MONDAY + timedelta(days=7, hours=10)
        assert event.decoded("DTSTART").utcoffset() == timedelta(0)
        assert event.decoded("DTEND") == MONDAY + timedelta(days=7, hours=10, minutes=15)
        assert str(event["STATUS"]) == "CONFIRMED"  # a follow-up is booked at once
        assert "DTSTAMP" in event
        assert str(event["SUMMARY"]) == "Follow-up with Dr. Ana Souza"

    assert (await setup.client.get(path, headers=setup.patient("someone-else"))).status_code == 404
    assert (await setup.client.get(path)).status_code == 401

    cancelled = await setup.client.post(
        f"{API}/appointments/{appointment['id']}/cancellation",
        json={"reason": "Feeling better"},
        headers=setup.patient("patient-ics"),
    )
    assert cancelled.status_code == 200, cancelled.text
    (event,) = parsed(await setup.client.get(path, headers=setup.patient("patient-ics"))).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == f"{appointment['id']}@appointments.kairos"  # the same event, updated
    assert int(event["SEQUENCE"]) > 1


async def test_a_feed_behind_a_secret_url_lists_bookings_without_patients_and_rotates(setup: Setup) -> None:
    booked = await setup.request(MONDAY + timedelta(days=8, hours=11), patient="patient-feed-secret")
    feed_path = f"{API}/resources/{setup.resource_id}/calendar-feed"
    assert (await setup.client.post(feed_path, headers=setup.patient())).status_code == 403

    created = await setup.client.post(feed_path, headers=setup.the_professional())
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["url"] == f"http://kairos.test{API}/feeds/{first['token']}.ics"

    feed = await setup.client.get(first["url"])  # no token: the URL is the credential
    calendar = parsed(feed)
    uids = {str(event["UID"]) for event in calendar.walk("VEVENT")}
    assert f"{booked['id']}@appointments.kairos" in uids
    assert b"patient-feed-secret" not in feed.content
    async with setup.runtime.engine.connect() as connection:
        stored = (await connection.exec_driver_sql("SELECT token_hash FROM calendar_feeds")).scalars().all()
    assert first["token"] not in stored  # only its hash

    second = (await setup.client.post(feed_path, headers=setup.admin())).json()
    assert (await setup.client.get(first["url"])).status_code == 404
    assert (await setup.client.get(second["url"])).status_code == 200
    assert (await setup.client.delete(feed_path, headers=setup.the_professional())).status_code == 204
    assert (await setup.client.get(second["url"])).status_code == 404


BUSY_TUESDAYS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Test//EN\r
BEGIN:VEVENT\r
UID:busy-1\r
DTSTAMP:20270101T000000Z\r
DTSTART;TZID=Europe/Lisbon:20270302T100000\r
DTEND;TZID=Europe/Lisbon:20270302T110000\r
RRULE:FREQ=WEEKLY;COUNT=3\r
SUMMARY:Hospital shift\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:free-1\r
DTSTAMP:20270101T000000Z\r
DTSTART:20270302T140000Z\r
DTEND:20270302T150000Z\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
END:VCALENDAR\r
"""


async def test_busy_time_from_an_uploaded_file_is_taken_out_of_free_slots_and_explained(setup: Setup) -> None:
    tuesday = MONDAY + timedelta(days=1)
    before = await setup.free_starts(tuesday)
    ten = datetime(2027, 3, 2, 10, tzinfo=UTC)  # Lisbon is on UTC in March
    assert ten in before

    refused = await setup.client.post(
        f"{API}/resources/{setup.resource_id}/calendar-imports/file",
        files={"file": ("busy.ics", b"BEGIN:VCALENDAR\r\nnot really\r\n", "text/calendar")},
        headers=setup.the_professional(),
    )
    assert refused.status_code == 422
    assert refused.json()["type"].endswith(":invalid-calendar")

    uploaded = await setup.client.post(
        f"{API}/resources/{setup.resource_id}/calendar-imports/file",
        files={"file": ("busy.ics", BUSY_TUESDAYS, "text/calendar")},
        data={"name": "Hospital"},
        headers=setup.the_professional(),
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["busy_count"] == 3  # three Tuesdays; the transparent event is not busy

    after = await setup.free_starts(tuesday)
    assert before - after == {ten + timedelta(minutes=15 * quarter) for quarter in range(4)}
    assert datetime(2027, 3, 2, 14, tzinfo=UTC) in after
    assert ten + timedelta(days=7) not in await setup.free_starts(tuesday + timedelta(days=7))
    explained = (
        await setup.client.get(
            f"{API}/resources/{setup.resource_id}/slots/explain",
            params={"appointment_type": "follow-up", "starts_at": ten.isoformat()},
        )
    ).json()
    assert explained["reasons"] == ["busy_elsewhere"]

    imports = (
        await setup.client.get(f"{API}/resources/{setup.resource_id}/calendar-imports", headers=setup.admin())
    ).json()
    (hospital,) = [item for item in imports if item["name"] == "Hospital"]
    deleted = await setup.client.delete(
        f"{API}/resources/{setup.resource_id}/calendar-imports/{hospital['id']}", headers=setup.the_professional()
    )
    assert deleted.status_code == 204
    assert await setup.free_starts(tuesday) == before


class CalendarServer:
    """A real HTTP server on loopback serving whatever calendar the test sets."""

    def __init__(self) -> None:
        self.body = BUSY_TUESDAYS
        self.status = 200
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(served.status)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(served.body)))
                self.end_headers()
                self.wfile.write(served.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/busy.ics"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def calendar_server() -> Iterator[CalendarServer]:
    server = CalendarServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


async def test_busy_time_from_a_url_is_refreshed_and_private_addresses_are_refused(
    setup: Setup, calendar_server: CalendarServer
) -> None:
    imports = f"{API}/resources/{setup.resource_id}/calendar-imports"
    for url in (calendar_server.url, "http://localhost:9/x.ics", "http://169.254.169.254/latest/meta-data"):
        refused = await setup.client.post(f"{imports}/url", json={"url": url}, headers=setup.the_professional())
        assert refused.status_code == 422, url
        assert refused.json()["type"].endswith(":calendar-address-refused")
    not_http = await setup.client.post(
        f"{imports}/url", json={"url": "file:///etc/passwd"}, headers=setup.the_professional()
    )
    assert not_http.status_code == 422

    state = setup.runtime.app.state
    default_settings = state.appointments_settings
    state.appointments_settings = AppointmentsSettings(calendar_allow_private_addresses=True)
    try:
        created = await setup.client.post(
            f"{imports}/url",
            json={"url": calendar_server.url, "name": "On call"},
            headers=setup.the_professional(),
        )
        assert created.status_code == 201, created.text
        imported = created.json()
        assert imported["busy_count"] == 3
        assert imported["next_refresh_at"] is not None
        ten = datetime(2027, 3, 2, 10, tzinfo=UTC)
        assert ten not in await setup.free_starts(MONDAY + timedelta(days=1))

        calendar_server.body = (
            BUSY_TUESDAYS.replace(b"COUNT=3", b"COUNT=1")
            .replace(b"T100000", b"T120000")
            .replace(b"T110000", b"T130000")
        )
        refreshed = await setup.client.post(f"{imports}/{imported['id']}/refresh", headers=setup.the_professional())
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["busy_count"] == 1
        free = await setup.free_starts(MONDAY + timedelta(days=1))
        assert ten in free
        assert ten + timedelta(hours=2) not in free

        calendar_server.status = 500
        failed = await setup.client.post(f"{imports}/{imported['id']}/refresh", headers=setup.the_professional())
        assert failed.status_code == 422
        listed = (await setup.client.get(imports, headers=setup.the_professional())).json()
        (on_call,) = [item for item in listed if item["id"] == imported["id"]]
        assert "HTTP 500" in on_call["last_error"]
        assert on_call["busy_count"] == 1  # what was read before stays
        await setup.client.delete(f"{imports}/{imported['id']}", headers=setup.the_professional())
    finally:
        state.appointments_settings = default_settings


# --- FHIR Schedule and Slot --------------------------------------------------------------------------------------


def system(setup: Setup, scope: str = "system/Slot.read system/Schedule.read") -> dict[str, str]:
    return setup.bearer(sub="scheduler", client_id="scheduler", scope=scope)


async def fhir_json(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/fhir+json", response.text
    body = response.json()
    assert_valid_r4(body)
    return body  # type: ignore[no-any-return]


async def test_fhir_schedules_and_slots_come_from_the_slot_engine(setup: Setup) -> None:
    schedule = await fhir_json(await setup.client.get(f"{FHIR}/Schedule/{setup.resource_id}", headers=system(setup)))
    assert schedule["actor"][0]["reference"] == f"Practitioner/{setup.resource_id}"
    assert {item["coding"][0]["code"] for item in schedule["serviceType"]} == {"consultation", "follow-up"}
    search = await fhir_json(
        await setup.client.get(
            f"{FHIR}/Schedule", params={"actor": f"Practitioner/{setup.resource_id}"}, headers=system(setup)
        )
    )
    assert [entry["resource"]["id"] for entry in search["entry"]] == [setup.resource_id]

    wednesday = MONDAY + timedelta(days=2)
    booked = await setup.request(wednesday + timedelta(hours=9))
    params = [
        ("schedule", f"Schedule/{setup.resource_id}"),
        ("start", f"ge{wednesday.date().isoformat()}"),
        ("start", f"lt{(wednesday + timedelta(days=1)).date().isoformat()}"),
        ("service-type", "follow-up"),
    ]
    free = await fhir_json(
        await setup.client.get(f"{FHIR}/Slot", params=[*params, ("status", "free")], headers=system(setup))
    )
    starts = [entry["resource"]["start"] for entry in free["entry"]]
    rest_free = await setup.free_starts(wednesday)
    assert {datetime.fromisoformat(start) for start in starts} == rest_free
    assert "2027-03-03T09:00:00Z" not in starts
    assert all(entry["resource"]["status"] == "free" for entry in free["entry"])

    busy = await fhir_json(
        await setup.client.get(f"{FHIR}/Slot", params=[*params, ("status", "busy")], headers=system(setup))
    )
    (taken,) = [entry["resource"] for entry in busy["entry"]]
    assert (taken["start"], taken["end"]) == ("2027-03-03T09:00:00Z", "2027-03-03T09:15:00Z")
    assert taken["id"] == f"appt-{booked['id']}"
    assert "patient" not in str(taken).lower()

    paged = await fhir_json(
        await setup.client.get(f"{FHIR}/Slot", params=[*params, ("_count", "5")], headers=system(setup))
    )
    following = next(link["url"] for link in paged["link"] if link["relation"] == "next")
    second = await fhir_json(await setup.client.get(following, headers=system(setup)))
    first_ids = {entry["resource"]["id"] for entry in paged["entry"]}
    assert len(first_ids) == 5
    assert not first_ids & {entry["resource"]["id"] for entry in second["entry"]}

    no_scope = await setup.client.get(f"{FHIR}/Slot", params=params, headers=system(setup, "system/Appointment.read"))
    assert no_scope.status_code == 403
    assert "insufficient_scope" in no_scope.headers["www-authenticate"]
    too_wide = await setup.client.get(
        f"{FHIR}/Slot", params=[("start", "ge2027-03-01"), ("start", "lt2027-06-01")], headers=system(setup)
    )
    assert too_wide.status_code == 400
    assert (await fhir_json(too_wide))["issue"][0]["code"] == "too-costly"
