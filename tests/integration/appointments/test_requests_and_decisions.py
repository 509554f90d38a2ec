"""Requests, decisions and the decision log, through the appointments API on the real database; and the
exclusion constraint that makes double booking impossible, under real concurrency."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from kairos.platform.config import Settings
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from tests.conftest import POSTGRES_URL, TEST_KEYRING
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

PRACTICE = uuid.uuid4()
OTHER_PRACTICE = uuid.uuid4()
NINE = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
PROFESSIONAL_PERMISSIONS = ["appointments:read", "appointments:decide"]


@dataclass
class Api:
    client: httpx.AsyncClient
    issuer: TestIssuer
    runtime: ServiceRuntime
    resource_id: str

    def as_patient(self, name: str = "patient-1") -> dict[str, str]:
        return self._bearer(sub=name, roles=["patient"], permissions=["appointments:request", "appointments:read_own"])

    def as_professional(self, organisation: uuid.UUID = PRACTICE) -> dict[str, str]:
        return self._bearer(
            sub=f"doctor-{organisation}",
            roles=["professional"],
            permissions=PROFESSIONAL_PERMISSIONS,
            org=str(organisation),
        )

    def _bearer(self, **claims: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}  # type: ignore[arg-type]

    async def request(self, starts_at: datetime, minutes: int = 30, patient: str = "patient-1") -> httpx.Response:
        return await self.client.post(
            "/api/v1/appointments/appointments",
            json={
                "resource_id": self.resource_id,
                "appointment_type": "consultation",
                "starts_at": starts_at.isoformat(),
                "ends_at": (starts_at + timedelta(minutes=minutes)).isoformat(),
                "message": "Back pain since Monday",
            },
            headers=self.as_patient(patient),
        )


@pytest.fixture(scope="module")
async def api(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Api]:
    runtime = await appointments_service(base_settings, name="appt")
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://appointments") as client:
        admin = issuer.token(sub="admin-1", roles=["domain_admin"], org=str(PRACTICE))
        created = await client.post(
            "/api/v1/appointments/resources",
            json={"organisation_id": str(PRACTICE), "display_name": "Dr. Mira Haddad", "zone": "Europe/Paris"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert created.status_code == 201, created.text
        yield Api(client, issuer, runtime, created.json()["id"])
    await runtime.stop()


async def test_a_request_is_approved_and_the_decision_log_says_who_did_what(api: Api) -> None:
    requested = await api.request(NINE)
    assert requested.status_code == 201, requested.text
    appointment = requested.json()
    assert appointment["status"] == "pending"

    approved = await api.client.post(
        f"/api/v1/appointments/appointments/{appointment['id']}/decision",
        json={"decision": "approve"},
        headers=api.as_professional(),
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "booked"

    seen = await api.client.get(f"/api/v1/appointments/appointments/{appointment['id']}", headers=api.as_patient())
    history = seen.json()["history"]
    assert [entry["kind"] for entry in history] == ["requested", "approved"]
    assert history[0]["actor"] == "patient-1"
    assert history[1]["actor"] == f"doctor-{PRACTICE}"

    async with api.runtime.engine.connect() as connection:
        published = (
            (
                await connection.execute(
                    text("SELECT type FROM outbox WHERE subject = :subject ORDER BY position"),
                    {"subject": f"appointment:{appointment['id']}"},
                )
            )
            .scalars()
            .all()
        )
    assert published == ["appointment.requested", "appointment.approved"]


async def test_a_decline_needs_a_reason_and_the_patient_sees_it(api: Api) -> None:
    appointment = (await api.request(NINE + timedelta(hours=1))).json()
    url = f"/api/v1/appointments/appointments/{appointment['id']}/decision"

    without_reason = await api.client.post(url, json={"decision": "decline"}, headers=api.as_professional())
    assert without_reason.status_code == 422

    declined = await api.client.post(
        url,
        json={"decision": "decline", "reason_code": "fully_booked", "reason": "Please choose next week"},
        headers=api.as_professional(),
    )
    assert declined.json()["status"] == "cancelled"
    seen = (
        await api.client.get(f"/api/v1/appointments/appointments/{appointment['id']}", headers=api.as_patient())
    ).json()
    assert seen["history"][-1]["kind"] == "declined"
    assert seen["history"][-1]["data"]["reason_code"] == "fully_booked"
    assert seen["history"][-1]["reason"] == "Please choose next week"

    again = await api.client.post(url, json={"decision": "approve"}, headers=api.as_professional())
    assert again.status_code == 409
    assert again.json()["type"] == "urn:kairos:problem:illegal-transition"


async def test_nobody_outside_the_appointment_sees_or_decides_it(api: Api) -> None:
    appointment = (await api.request(NINE + timedelta(hours=2))).json()
    url = f"/api/v1/appointments/appointments/{appointment['id']}"

    other_patient = await api.client.get(url, headers=api.as_patient("patient-2"))
    assert other_patient.status_code == 404  # not 403: its existence is not revealed
    other_practice = await api.client.post(
        f"{url}/decision", json={"decision": "approve"}, headers=api.as_professional(OTHER_PRACTICE)
    )
    assert other_practice.status_code == 404
    patient_approves = await api.client.post(f"{url}/decision", json={"decision": "approve"}, headers=api.as_patient())
    assert patient_approves.status_code == 403
    no_token = await api.client.get(url)
    assert no_token.status_code == 401


async def test_overlapping_requests_conflict_adjacent_ones_do_not_and_a_cancellation_frees_the_time(api: Api) -> None:
    ten = NINE + timedelta(hours=5)
    first = await api.request(ten)
    assert first.status_code == 201
    overlapping = await api.request(ten + timedelta(minutes=15), patient="patient-2")
    assert overlapping.status_code == 409
    assert overlapping.json()["type"] == "urn:kairos:problem:time-taken"
    adjacent = await api.request(ten + timedelta(minutes=30), patient="patient-2")
    assert adjacent.status_code == 201

    cancelled = await api.client.post(
        f"/api/v1/appointments/appointments/{first.json()['id']}/cancellation",
        json={"reason": "Feeling better"},
        headers=api.as_patient(),
    )
    assert cancelled.json()["status"] == "cancelled"
    retaken = await api.request(ten + timedelta(minutes=15), minutes=15, patient="patient-3")
    assert retaken.status_code == 201


async def test_two_hundred_simultaneous_requests_for_one_slot_book_it_exactly_once(api: Api) -> None:
    slot = NINE + timedelta(days=1)
    responses = await asyncio.gather(*(api.request(slot, patient=f"racer-{n}") for n in range(200)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 1
    assert statuses.count(409) == 199
    losers = [response.json() for response in responses if response.status_code == 409]
    assert {problem["type"] for problem in losers} == {"urn:kairos:problem:time-taken"}
    async with api.runtime.engine.connect() as connection:
        holding = await connection.scalar(
            text("SELECT count(*) FROM appointments WHERE starts_at = :slot AND holds_time"), {"slot": slot}
        )
    assert holding == 1


async def test_every_projection_rebuilds_from_its_stream_and_a_corrupted_one_is_found_and_repaired(api: Api) -> None:
    from kairos.appointments.projections import rebuild

    report = await rebuild(uow=api.runtime.unit_of_work(), repair=False)  # type: ignore[arg-type]
    assert report.checked >= 5
    assert report.differing == []

    victim = (await api.request(NINE + timedelta(days=3))).json()["id"]
    async with api.runtime.engine.begin() as connection:
        await connection.execute(text("UPDATE appointments SET status = 'booked' WHERE id = :id"), {"id": victim})
    found = await rebuild(uow=api.runtime.unit_of_work(), repair=True)  # type: ignore[arg-type]
    assert [str(appointment_id) for appointment_id in found.differing] == [victim]
    assert (await rebuild(uow=api.runtime.unit_of_work(), repair=False)).differing == []  # type: ignore[arg-type]


async def test_the_rebuild_command_reports_as_json(api: Api, base_settings: Settings) -> None:
    environment = {
        **os.environ,
        "KAIROS_DATABASE_URL": POSTGRES_URL,
        "KAIROS_DATABASE_PREFIX": api.runtime.settings.database_prefix,
        "KAIROS_LOG_LEVEL": "WARNING",
        # The messages and answers are compared opened: the command needs the keys.
        "KAIROS_ENCRYPTION_KEYS": TEST_KEYRING.to_json(),
    }
    command = [sys.executable, "-m", "kairos", "appointments", "rebuild-projections"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["checked"] >= 6
    assert report["differing"] == []
