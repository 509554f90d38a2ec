"""Live slot updates over Server-Sent Events, through real HTTP servers: a client watching a resource sees a
slot disappear when another client books it, also when the booking goes through another instance of the
service (PostgreSQL LISTEN/NOTIFY on the shared database), and the stream ends when the service stops."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from kairos.platform.config import Settings
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.serve import serve
from kairos.platform.testing.issuer import TestIssuer
from kairos.services import definition
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

API = "/api/v1/appointments"
PRACTICE = uuid.uuid4()
DAY = datetime(2027, 4, 5, tzinfo=UTC)  # a Monday
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Instance:
    runtime: ServiceRuntime
    url: str
    stop: asyncio.Event
    serving: asyncio.Task[None]


async def started(runtime: ServiceRuntime) -> Instance:
    await runtime.start()
    await runtime.app.state.live_slots.wait_listening()
    port, stop = free_port(), asyncio.Event()
    serving = asyncio.create_task(serve(runtime.app, host="127.0.0.1", port=port, stop=stop))
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(f"{url}/health/live")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    return Instance(runtime, url, stop, serving)


@dataclass
class Live:
    first: Instance
    second: Instance  # another instance of the service on the same database
    issuer: TestIssuer
    resource_id: str

    def bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}


@pytest.fixture(scope="module")
async def live(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Live]:
    runtime = await appointments_service(base_settings, name="live", demo=True)
    first = await started(runtime)
    twin = ServiceRuntime(
        definition("appointments"),
        settings=runtime.settings,
        database_url=runtime.database_url,
        transport=InProcessTransport(),
    )
    second = await started(twin)
    admin = {"Authorization": f"Bearer {issuer.token(sub='admin', roles=['domain_admin'], org=str(PRACTICE))}"}
    async with httpx.AsyncClient(base_url=first.url) as client:
        created = await client.post(
            f"{API}/resources",
            json={"organisation_id": str(PRACTICE), "display_name": "Dr. Live", "zone": "UTC", "domain": "medical"},
            headers=admin,
        )
        resource_id = created.json()["id"]
        schedule = await client.put(
            f"{API}/resources/{resource_id}/schedule",
            json={
                "zone": "UTC",
                "valid_from": "2027-01-01",
                "working_hours": [{"rule": WEEKDAYS, "start_time": "09:00", "duration_minutes": 120}],
            },
            headers=admin,
        )
        assert schedule.status_code == 204, schedule.text
    yield Live(first, second, issuer, resource_id)
    for instance in (second, first):
        if not instance.serving.done():
            await instance.runtime.stop()
            instance.stop.set()
            await instance.serving


class EventStream:
    """Reads Server-Sent Events from a streaming response, one event at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def next(self) -> tuple[str, dict[str, Any]] | None:
        event, data = "message", []
        async for line in self._lines:
            if line == "":
                if data:
                    return event, json.loads("\n".join(data))
                event = "message"  # a keep-alive comment ends here
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        return None  # the stream ended


async def book(live: Live, via: Instance, starts_at: datetime, patient: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=via.url) as client:
        response = await client.post(
            f"{API}/appointments",
            json={
                "resource_id": live.resource_id,
                "appointment_type": "follow-up",
                "starts_at": starts_at.isoformat(),
                "answers": {"reason": "Live test"},
            },
            headers=live.bearer(sub=patient, roles=["patient"], permissions=["appointments:request"]),
        )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def stream_url(live: Live, instance: Instance) -> str:
    return f"{instance.url}{API}/resources/{live.resource_id}/slots/stream?appointment_type=follow-up&zone=UTC"


async def test_a_watcher_sees_a_slot_disappear_when_another_client_books_it(live: Live) -> None:
    ten = DAY + timedelta(hours=10)
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30)) as watcher,
        watcher.stream("GET", stream_url(live, live.first)) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = EventStream(response)
        assert await events.next() == ("ready", {"resource_id": live.resource_id})

        await book(live, live.first, ten, patient="patient-live-1")

        kind, change = await events.next()  # type: ignore[misc]
        assert kind == "slots-changed"
        assert change["resource_id"] == live.resource_id
        assert datetime.fromisoformat(change["from"]) <= ten < datetime.fromisoformat(change["until"])
        starts = {datetime.fromisoformat(slot["starts_at"]) for slot in change["slots"]}
        assert ten not in starts
        assert ten + timedelta(minutes=15) in starts  # the rest of the day is pushed, still free
        assert all(datetime.fromisoformat(slot["starts_at"]).date() == DAY.date() for slot in change["slots"])


async def test_a_change_made_through_another_instance_reaches_the_watcher(live: Live) -> None:
    eleven = DAY + timedelta(days=1, hours=10)
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30)) as watcher,
        watcher.stream("GET", stream_url(live, live.second)) as response,
    ):
        events = EventStream(response)
        assert (await events.next())[0] == "ready"  # type: ignore[index]

        booked = await book(live, live.first, eleven, patient="patient-live-2")
        kind, change = await events.next()  # type: ignore[misc]
        assert kind == "slots-changed"
        assert eleven not in {datetime.fromisoformat(slot["starts_at"]) for slot in change["slots"]}

        async with httpx.AsyncClient(base_url=live.first.url) as client:
            cancelled = await client.post(
                f"{API}/appointments/{booked['id']}/cancellation",
                json={"reason": "Changed my mind"},
                headers=live.bearer(sub="patient-live-2", roles=["patient"]),
            )
        assert cancelled.status_code == 200, cancelled.text
        kind, change = await events.next()  # type: ignore[misc]
        assert kind == "slots-changed"
        assert eleven in {datetime.fromisoformat(slot["starts_at"]) for slot in change["slots"]}


async def test_unknown_resources_and_types_are_problems_not_streams(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.first.url) as client:
        missing = await client.get(f"{API}/resources/{uuid.uuid4()}/slots/stream")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        unknown = await client.get(f"{API}/resources/{live.resource_id}/slots/stream?appointment_type=surgery")
        assert unknown.status_code == 422
        zone = await client.get(f"{API}/resources/{live.resource_id}/slots/stream?zone=Mars/Olympus")
        assert zone.status_code == 422


async def test_streams_end_when_the_service_stops(live: Live) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30)) as watcher,
        watcher.stream("GET", stream_url(live, live.second)) as response,
    ):
        events = EventStream(response)
        assert (await events.next())[0] == "ready"  # type: ignore[index]
        await live.second.runtime.stop()
        assert await events.next() is None
    live.second.stop.set()
    await live.second.serving
