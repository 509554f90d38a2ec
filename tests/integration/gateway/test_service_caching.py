"""The real appointments service behind the gateway, as the all-in-one shape wires them (in process, one event
transport): what the service marks cacheable is served from the gateway's cache, and the service's own events
drop it the moment the change is published; the appointment view's professional is the directory's profile."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from kairos.contracts.events.identity import ProfessionalVerified, ProfileUpdated
from kairos.gateway.proxy import AsgiUpstream
from kairos.platform.config import Settings, TransportKind
from kairos.platform.db.engine import database_url
from kairos.platform.events.envelope import Envelope, IntegrationEvent
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.ids import new_id
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from kairos.services import definition

pytestmark = pytest.mark.integration

API = "/api/v1/appointments"
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


@dataclass
class System:
    client: httpx.AsyncClient  # to the gateway
    appointments: ServiceRuntime
    transport: InProcessTransport
    issuer: TestIssuer

    def bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}

    def admin(self, organisation: uuid.UUID) -> dict[str, str]:
        return self.bearer(sub="admin-1", roles=["domain_admin"], org=str(organisation))

    async def from_identity(self, event: IntegrationEvent, *, subject: str) -> None:
        """An event of identity's, delivered to every subscriber (appointments here; the gateway ignores it)."""
        envelope = Envelope(
            id=new_id(),
            type=event.event_type,
            version=event.event_version,
            occurred_at=datetime.now(UTC),
            producer="identity",
            subject=subject,
            data=event.model_dump(mode="json"),
        )
        await self.transport.publish([envelope])

    async def relay(self) -> None:
        """Appointments' outbox published now (its relay is not running: each test says when)."""
        while await self.appointments.relay.relay_once():
            pass


@pytest.fixture(scope="module")
async def system(base_settings: Settings, gateway_database_url: URL, issuer: TestIssuer) -> AsyncIterator[System]:
    settings = base_settings.model_copy(
        update={
            "transport": TransportKind.IN_PROCESS,
            "database_prefix": f"{base_settings.database_prefix}cached_",
            "gateway_cache_storage": "memory",
            "gateway_rate_limits": (),
        }
    )
    transport = InProcessTransport()
    appointments = ServiceRuntime(
        definition("appointments"),
        settings=settings,
        database_url=database_url(settings, "appointments"),
        transport=transport,
    )
    gateway = ServiceRuntime(
        definition("gateway"), settings=settings, database_url=gateway_database_url, transport=transport
    )
    await appointments.migrate()
    assert await appointments.seed_demo()
    await gateway.migrate()
    gateway.app.state.routes.route("appointments", AsgiUpstream(appointments.app))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway.app), base_url="http://gateway") as client:
        yield System(client, appointments, transport, issuer)
    await gateway.stop()
    await appointments.stop()


@dataclass
class Professional:
    user_id: uuid.UUID
    organisation: uuid.UUID
    resource_id: str


async def bookable_professional(system: System, name: str) -> Professional:
    """A resource of a new practice booking a new account, with working hours; not verified yet."""
    organisation, user_id = uuid.uuid4(), uuid.uuid4()
    created = await system.client.post(
        f"{API}/resources",
        json={
            "organisation_id": str(organisation),
            "display_name": name,
            "zone": "Europe/Paris",
            "user_id": str(user_id),
            "domain": "medical",
        },
        headers=system.admin(organisation),
    )
    assert created.status_code == 201, created.text
    resource_id = created.json()["id"]
    hours = await system.client.put(
        f"{API}/resources/{resource_id}/schedule",
        json={
            "zone": "Europe/Paris",
            "valid_from": (datetime.now(UTC) - timedelta(days=1)).date().isoformat(),
            "working_hours": [{"rule": WEEKDAYS, "start_time": "09:00", "duration_minutes": 480}],
        },
        headers=system.admin(organisation),
    )
    assert hours.status_code == 204, hours.text
    await system.relay()
    return Professional(user_id, organisation, resource_id)


def verified(professional: Professional, name: str) -> ProfessionalVerified:
    return ProfessionalVerified(
        user_id=professional.user_id,
        organisation_id=professional.organisation,
        display_name=name,
        specialty="Dermatology",
        languages=["en", "fr"],
        location="Lyon",
        verified_at=datetime.now(UTC) - timedelta(minutes=1),
    )


async def test_a_cached_directory_answer_changes_as_soon_as_the_directory_says_it_changed(system: System) -> None:
    professional = await bookable_professional(system, "Dr. Ines Caron")
    search = {"organisation": str(professional.organisation)}

    first = await system.client.get(f"{API}/directory", params=search)
    again = await system.client.get(f"{API}/directory", params=search)
    assert first.json()["items"] == again.json()["items"] == []
    assert (first.headers["x-kairos-cache"], again.headers["x-kairos-cache"]) == ("miss", "hit")
    assert again.headers["cache-control"] == "public, max-age=0, s-maxage=60"
    assert "cache-tag" not in again.headers, "the tags are the gateway's own business"

    await system.from_identity(verified(professional, "Dr. Ines Caron"), subject=f"user:{professional.user_id}")
    # Applied in appointments, not yet announced: the cached answer stands (the cache is really in use).
    assert (await system.client.get(f"{API}/directory", params=search)).headers["x-kairos-cache"] == "hit"

    await system.relay()  # appointment.directory_changed reaches the gateway
    listed = await system.client.get(f"{API}/directory", params=search)
    assert listed.headers["x-kairos-cache"] == "miss"
    assert [item["display_name"] for item in listed.json()["items"]] == ["Dr. Ines Caron"]

    renamed_at = datetime.now(UTC)
    await system.from_identity(
        ProfileUpdated(user_id=professional.user_id, display_name="Dr. Ines Caron-Roy", updated_at=renamed_at),
        subject=f"user:{professional.user_id}",
    )
    await system.relay()
    renamed = await system.client.get(f"{API}/directory", params=search)
    assert [item["display_name"] for item in renamed.json()["items"]] == ["Dr. Ines Caron-Roy"]


async def test_a_booking_drops_the_cached_directory_answers_showing_that_resources_earliest_free_time(
    system: System,
) -> None:
    professional = await bookable_professional(system, "Dr. Paul Morel")
    await system.from_identity(verified(professional, "Dr. Paul Morel"), subject=f"user:{professional.user_id}")
    await system.relay()
    search = {"organisation": str(professional.organisation), "appointment_type": "follow-up"}
    (entry,) = (await system.client.get(f"{API}/directory", params=search)).json()["items"]
    earliest = entry["earliest_free"]["starts_at"]
    assert (await system.client.get(f"{API}/directory", params=search)).headers["x-kairos-cache"] == "hit"

    booked = await system.client.post(
        f"{API}/appointments",
        json={
            "resource_id": professional.resource_id,
            "appointment_type": "follow-up",
            "starts_at": earliest,
            "answers": {"reason": "Check-up"},
        },
        headers=system.bearer(sub="patient-cache", roles=["patient"], permissions=["appointments:request"]),
    )
    assert booked.status_code == 201, booked.text
    await system.relay()

    after = await system.client.get(f"{API}/directory", params=search)
    assert after.headers["x-kairos-cache"] == "miss"
    (entry,) = after.json()["items"]
    assert datetime.fromisoformat(entry["earliest_free"]["starts_at"]) > datetime.fromisoformat(earliest)


async def test_a_domain_and_a_schedule_are_served_from_the_cache_until_their_change_is_published(
    system: System,
) -> None:
    professional = await bookable_professional(system, "Dr. Lea Blanc")
    schedule = f"{API}/resources/{professional.resource_id}/schedule"
    medical = (await system.client.get(f"{API}/domains/medical")).json()
    name = f"cached-{uuid.uuid4().hex[:8]}"
    body = {key: value for key, value in medical.items() if key not in ("name", "version")}
    operator = system.bearer(sub="operator-1", roles=["operator"])
    assert (await system.client.put(f"{API}/domains/{name}", json=body, headers=operator)).status_code == 200
    await system.relay()
    for path in (f"{API}/domains/{name}", f"{API}/domains", schedule):
        await system.client.get(path)
        assert (await system.client.get(path)).headers["x-kairos-cache"] == "hit", path

    changed = await system.client.put(
        f"{API}/domains/{name}", json={**body, "label": "Cached practice"}, headers=operator
    )
    assert changed.status_code == 200
    hours = await system.client.put(
        schedule,
        json={
            "zone": "Europe/Paris",
            "valid_from": datetime.now(UTC).date().isoformat(),
            "working_hours": [{"rule": WEEKDAYS, "start_time": "14:00", "duration_minutes": 120}],
        },
        headers=system.admin(professional.organisation),
    )
    assert hours.status_code == 204
    await system.relay()

    one = await system.client.get(f"{API}/domains/{name}")
    every = await system.client.get(f"{API}/domains")
    now = await system.client.get(schedule)
    assert [response.headers["x-kairos-cache"] for response in (one, every, now)] == ["miss"] * 3
    assert one.json()["label"] == "Cached practice"
    assert one.json()["version"] == 2
    assert {domain["name"]: domain["label"] for domain in every.json()}[name] == "Cached practice"
    assert now.json()["working_hours"][0]["start_time"] == "14:00:00"


async def test_nothing_personal_is_kept(system: System) -> None:
    professional = await bookable_professional(system, "Dr. Marc Petit")
    patient = system.bearer(sub="patient-private", roles=["patient"], permissions=["appointments:request"])
    slots = await system.client.get(
        f"{API}/resources/{professional.resource_id}/slots",
        params={
            "appointment_type": "follow-up",
            "from": datetime.now(UTC).isoformat(),
            "to": (datetime.now(UTC) + timedelta(days=8)).isoformat(),
        },
    )
    booked = await system.client.post(
        f"{API}/appointments",
        json={
            "resource_id": professional.resource_id,
            "appointment_type": "follow-up",
            "starts_at": slots.json()[0]["starts_at"],
            "answers": {"reason": "Check-up"},
        },
        headers=patient,
    )
    appointment = f"{API}/appointments/{booked.json()['id']}"

    reads = [await system.client.get(appointment, headers=patient) for _ in range(2)]

    assert [read.status_code for read in reads] == [200, 200]
    assert [read.headers.get("x-kairos-cache") for read in reads] == [None, None], "health data: never a candidate"


async def test_the_appointment_view_shows_the_professional_as_the_directory_publishes_them(system: System) -> None:
    professional = await bookable_professional(system, "Room name of Dr. Roux")
    patient = system.bearer(sub="patient-view", roles=["patient"], permissions=["appointments:request"])
    start = datetime.now(UTC)
    slots = await system.client.get(
        f"{API}/resources/{professional.resource_id}/slots",
        params={
            "appointment_type": "follow-up",
            "from": start.isoformat(),
            "to": (start + timedelta(days=8)).isoformat(),
        },
    )
    booked = await system.client.post(
        f"{API}/appointments",
        json={
            "resource_id": professional.resource_id,
            "appointment_type": "follow-up",
            "starts_at": slots.json()[0]["starts_at"],
            "answers": {"reason": "Check-up"},
        },
        headers=patient,
    )
    assert booked.status_code == 201, booked.text
    view = f"/api/v1/views/appointments/{booked.json()['id']}"

    before = (await system.client.get(view, headers=patient)).json()["professional"]
    await system.from_identity(verified(professional, "Dr. Camille Roux"), subject=f"user:{professional.user_id}")
    after = (await system.client.get(view, headers=patient)).json()["professional"]

    assert before["display_name"] == "Room name of Dr. Roux", "the practice's name until the directory knows them"
    assert (before["verified"], before["specialty"]) == (False, None)
    assert after == {
        "resource_id": professional.resource_id,
        "user_id": str(professional.user_id),
        "organisation_id": str(professional.organisation),
        "display_name": "Dr. Camille Roux",
        "verified": True,
        "verified_until": None,
        "specialty": "Dermatology",
        "languages": ["en", "fr"],
        "location": "Lyon",
    }


async def test_a_room_has_no_professional(system: System) -> None:
    organisation = uuid.uuid4()
    room = await system.client.post(
        f"{API}/resources",
        json={"organisation_id": str(organisation), "kind": "room", "display_name": "Room 1", "zone": "UTC"},
        headers=system.admin(organisation),
    )
    assert room.status_code == 201, room.text

    response = await system.client.get(f"{API}/resources/{room.json()['id']}/professional")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
