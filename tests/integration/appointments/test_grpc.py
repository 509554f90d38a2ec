"""The gRPC interface (kairos.appointments.v1.Slots) through a real grpc.aio client against the server the
service starts: the same answers as REST, holds that REST then no longer offers, a race for one time lost with
ABORTED and the nearest slots, tokens checked like HTTP's, and the health service for probes."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kairos.appointments import directory
from kairos.contracts.proto.appointments.v1 import slots_pb2, slots_pb2_grpc
from kairos.platform.config import Settings
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import SigningKey, TestIssuer
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

API = "/api/v1/appointments"
PRACTICE = uuid.uuid4()
MONDAY = datetime(2027, 9, 6, tzinfo=UTC)  # each test takes days of its own
CLINIC = {
    "label": "Clinic",
    "terminology": {"client": "patient", "professional": "doctor"},
    "appointment_types": [{"code": "consultation", "label": "Consultation", "duration_minutes": 30}],
    "form_schema": {"type": "object"},
    "reason_codes": ["fully_booked"],
}
PATIENT_PERMISSIONS = ["appointments:request", "appointments:read_own"]
DOCTOR = uuid.uuid4()  # the professional's account, listed in the directory


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stamp(instant: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(instant)
    return value


@dataclass
class Grpc:
    runtime: ServiceRuntime
    rest: httpx.AsyncClient
    channel: grpc.aio.Channel
    slots: slots_pb2_grpc.SlotsStub
    issuer: TestIssuer
    resource_id: str

    def metadata(self, **claims: Any) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.issuer.token(**claims)}"),)

    def patient(self, name: str = "patient-1") -> tuple[tuple[str, str], ...]:
        return self.metadata(sub=name, roles=["patient"], permissions=PATIENT_PERMISSIONS)

    def assistant(self) -> tuple[tuple[str, str], ...]:
        """A client-credentials token of an internal service: no roles, the holds scope."""
        return self.metadata(sub="kairos-assistant", scope="system/appointments.holds", client_id="kairos-assistant")

    async def rest_slots(self, start: datetime, end: datetime, zone: str = "UTC") -> list[dict[str, Any]]:
        answer = await self.rest.get(
            f"{API}/resources/{self.resource_id}/slots",
            params={"appointment_type": "consultation", "from": start.isoformat(), "to": end.isoformat(), "zone": zone},
        )
        assert answer.status_code == 200, answer.text
        return list(answer.json())

    async def find(self, start: datetime, end: datetime, zone: str = "UTC") -> list[slots_pb2.Slot]:
        answer = await self.slots.FindFreeSlots(
            slots_pb2.FindFreeSlotsRequest(
                resource_id=self.resource_id,
                appointment_type="consultation",
                window_start=stamp(start),
                window_end=stamp(end),
                zone=zone,
            ),
            metadata=self.patient(),
        )
        return list(answer.slots)

    def hold_request(self, starts_at: datetime, patient: str = "") -> slots_pb2.CreateHoldRequest:
        return slots_pb2.CreateHoldRequest(
            resource_id=self.resource_id, appointment_type="consultation", starts_at=stamp(starts_at), patient=patient
        )


@pytest.fixture(scope="module")
async def rpc(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Grpc]:
    runtime = await appointments_service(base_settings, name="grpc")
    port = free_port()
    state = runtime.app.state
    state.appointments_settings = state.appointments_settings.model_copy(update={"grpc_port": port})
    await runtime.start()
    admin = {"Authorization": f"Bearer {issuer.token(sub='op', roles=['operator'])}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app), base_url="http://a") as rest:
        assert (await rest.put(f"{API}/domains/clinic", json=CLINIC, headers=admin)).status_code == 200
        created = await rest.post(
            f"{API}/resources",
            json={
                "organisation_id": str(PRACTICE),
                "display_name": "Dr. Grace",
                "zone": "Europe/Paris",
                "domain": "clinic",
                "user_id": str(DOCTOR),
            },
            headers=admin,
        )
        resource_id = created.json()["id"]
        hours = await rest.put(
            f"{API}/resources/{resource_id}/schedule",
            json={
                "zone": "Europe/Paris",
                "valid_from": "2027-01-01",
                "working_hours": [
                    {"rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "start_time": "09:00", "duration_minutes": 180}
                ],
            },
            headers=admin,
        )
        assert hours.status_code == 204, hours.text
        async with runtime.unit_of_work() as uow:
            await directory.seed_professional(
                uow,  # type: ignore[arg-type]
                user_id=DOCTOR,
                organisation_id=PRACTICE,
                display_name="Dr. Grace",
                specialty="General practice",
                languages=["en"],
                location=None,
                at=datetime.now(UTC),
            )
            await uow.commit()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{state.grpc.port}") as channel:
            yield Grpc(runtime, rest, channel, slots_pb2_grpc.SlotsStub(channel), issuer, resource_id)
    await runtime.stop()


async def test_the_service_serves_grpc_on_the_configured_port_with_a_health_service(rpc: Grpc) -> None:
    checked = await health_pb2_grpc.HealthStub(rpc.channel).Check(
        health_pb2.HealthCheckRequest(service="kairos.appointments.v1.Slots")
    )  # probes carry no token
    assert checked.status == health_pb2.HealthCheckResponse.SERVING


async def test_free_slots_over_grpc_are_the_slots_rest_offers(rpc: Grpc) -> None:
    start, end = MONDAY, MONDAY + timedelta(days=3)
    over_grpc = await rpc.find(start, end, zone="America/New_York")
    over_rest = await rpc.rest_slots(start, end, zone="America/New_York")
    assert len(over_grpc) == 18  # 3 days x 09:00-12:00 Paris in 30 minutes
    assert [
        (datetime.fromisoformat(slot.local_starts_at), datetime.fromisoformat(slot.local_ends_at), slot.seats_left)
        for slot in over_grpc
    ] == [
        (datetime.fromisoformat(slot["starts_at"]), datetime.fromisoformat(slot["ends_at"]), slot["seats_left"])
        for slot in over_rest
    ]
    assert over_grpc[0].local_starts_at == "2027-09-06T03:00:00-04:00"  # 09:00 in Paris, in the asker's zone
    assert over_grpc[0].starts_at.ToDatetime(tzinfo=UTC) == datetime(2027, 9, 6, 7, 0, tzinfo=UTC)


async def test_any_suitable_professional_is_searched_like_rest(rpc: Grpc) -> None:
    start, end = MONDAY, MONDAY + timedelta(days=1)
    answer = await rpc.slots.FindFreeSlots(
        slots_pb2.FindFreeSlotsRequest(
            any_professional=slots_pb2.ProfessionalQuery(domain="clinic"),
            appointment_type="consultation",
            window_start=stamp(start),
            window_end=stamp(end),
        ),
        metadata=rpc.patient(),
    )
    rest = await rpc.rest.get(
        f"{API}/slots",
        params={
            "appointment_type": "consultation",
            "from": start.isoformat(),
            "to": end.isoformat(),
            "domain": "clinic",
        },
    )
    assert rest.status_code == 200
    assert len(answer.slots) == 6  # Dr. Grace, the one listed professional: 09:00-12:00 Paris
    assert {slot.resource_id for slot in answer.slots} == {rpc.resource_id}
    assert [datetime.fromisoformat(slot.local_starts_at) for slot in answer.slots] == [
        datetime.fromisoformat(slot["starts_at"]) for slot in rest.json()
    ]


async def test_explain_time_says_why_like_rest(rpc: Grpc) -> None:
    at = MONDAY + timedelta(hours=5)  # 07:00 in Paris: before the hours
    answer = await rpc.slots.ExplainTime(
        slots_pb2.ExplainTimeRequest(resource_id=rpc.resource_id, appointment_type="consultation", starts_at=stamp(at)),
        metadata=rpc.patient(),
    )
    rest = await rpc.rest.get(
        f"{API}/resources/{rpc.resource_id}/slots/explain",
        params={"appointment_type": "consultation", "starts_at": at.isoformat()},
    )
    assert not answer.bookable
    assert list(answer.reasons) == rest.json()["reasons"] == ["outside_hours"]


async def test_a_hold_over_grpc_takes_the_time_from_rest_slot_search_and_release_gives_it_back(rpc: Grpc) -> None:
    day = MONDAY + timedelta(days=7)
    start, end = day, day + timedelta(days=1)
    first = datetime(2027, 9, 13, 7, 0, tzinfo=UTC)  # 09:00 Paris
    hold = await rpc.slots.CreateHold(rpc.hold_request(first), metadata=rpc.patient("holder-1"))
    assert hold.patient == "holder-1"
    assert hold.starts_at.ToDatetime(tzinfo=UTC) == first
    offered = [datetime.fromisoformat(slot["starts_at"]) for slot in await rpc.rest_slots(start, end)]
    assert first not in offered
    assert first + timedelta(minutes=30) in offered
    rest_hold = await rpc.rest.get(
        f"{API}/holds/{hold.id}",
        headers={"Authorization": f"Bearer {rpc.issuer.token(sub='holder-1', permissions=PATIENT_PERMISSIONS)}"},
    )
    assert rest_hold.status_code == 200  # the same hold, seen through REST by its holder

    with pytest.raises(grpc.aio.AioRpcError) as someone_else:
        await rpc.slots.ReleaseHold(slots_pb2.ReleaseHoldRequest(hold_id=hold.id), metadata=rpc.patient("intruder"))
    assert someone_else.value.code() is grpc.StatusCode.NOT_FOUND
    await rpc.slots.ReleaseHold(slots_pb2.ReleaseHoldRequest(hold_id=hold.id), metadata=rpc.patient("holder-1"))
    assert first in [datetime.fromisoformat(slot["starts_at"]) for slot in await rpc.rest_slots(start, end)]


async def test_two_holds_racing_for_one_time_one_wins_the_other_is_aborted_with_the_nearest_slots(rpc: Grpc) -> None:
    contested = datetime(2027, 9, 14, 8, 0, tzinfo=UTC)  # 10:00 Paris
    outcomes = await asyncio.gather(
        rpc.slots.CreateHold(rpc.hold_request(contested), metadata=rpc.patient("racer-1")),
        rpc.slots.CreateHold(rpc.hold_request(contested), metadata=rpc.patient("racer-2")),
        return_exceptions=True,
    )
    won = [outcome for outcome in outcomes if isinstance(outcome, slots_pb2.Hold)]
    lost = [outcome for outcome in outcomes if isinstance(outcome, grpc.aio.AioRpcError)]
    assert len(won) == 1, outcomes
    assert len(lost) == 1, outcomes
    assert lost[0].code() is grpc.StatusCode.ABORTED
    details = dict(lost[0].trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    taken = slots_pb2.TimeTaken()
    assert status.details[0].Unpack(taken)
    nearest = [slot.starts_at.ToDatetime(tzinfo=UTC) for slot in taken.nearest_slots]
    assert nearest
    assert contested not in nearest
    assert min(abs(start - contested) for start in nearest) == timedelta(minutes=30)


async def test_an_internal_service_holds_for_the_patient_it_names_and_only_with_the_holds_scope(rpc: Grpc) -> None:
    at = datetime(2027, 9, 15, 7, 30, tzinfo=UTC)
    hold = await rpc.slots.CreateHold(rpc.hold_request(at, patient="patient-of-assistant"), metadata=rpc.assistant())
    assert hold.patient == "patient-of-assistant"  # the patient's hold, usable in their request
    with pytest.raises(grpc.aio.AioRpcError) as not_trusted:
        await rpc.slots.CreateHold(
            rpc.hold_request(at + timedelta(hours=1), patient="someone-else"), metadata=rpc.patient("patient-1")
        )
    assert not_trusted.value.code() is grpc.StatusCode.PERMISSION_DENIED
    await rpc.slots.ReleaseHold(
        slots_pb2.ReleaseHoldRequest(hold_id=hold.id, patient="patient-of-assistant"), metadata=rpc.assistant()
    )


async def test_holds_follow_the_rest_rules_a_professional_cannot_hold_a_patient_can(rpc: Grpc) -> None:
    at = datetime(2027, 9, 16, 7, 0, tzinfo=UTC)
    professional = rpc.metadata(
        sub="doctor", roles=["professional"], permissions=["availability:manage"], org=str(PRACTICE)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rpc.slots.CreateHold(rpc.hold_request(at), metadata=professional)
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED  # REST: 403 (appointments:request needed)
    assert (await rpc.slots.CreateHold(rpc.hold_request(at), metadata=rpc.patient("p-16"))).patient == "p-16"


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param((), id="no token"),
        pytest.param((("authorization", "Basic dXNlcjpwYXNz"),), id="not a bearer token"),
        pytest.param((("authorization", "Bearer not-a-jwt"),), id="malformed"),
    ],
)
async def test_calls_without_a_valid_token_are_unauthenticated(
    rpc: Grpc, metadata: tuple[tuple[str, str], ...]
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await rpc.slots.FindFreeSlots(
            slots_pb2.FindFreeSlotsRequest(resource_id=rpc.resource_id, appointment_type="consultation"),
            metadata=metadata,
        )
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_a_token_signed_by_someone_else_or_expired_is_unauthenticated(rpc: Grpc) -> None:
    forger = SigningKey()  # a key the issuer never published
    forged = rpc.issuer.token(sub="patient-1", permissions=PATIENT_PERMISSIONS, key=forger)
    expired = rpc.issuer.token(sub="patient-1", permissions=PATIENT_PERMISSIONS, expires_in=-3600)
    for token in (forged, expired):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await rpc.slots.CreateHold(
                rpc.hold_request(datetime(2027, 9, 17, 7, 0, tzinfo=UTC)),
                metadata=(("authorization", f"Bearer {token}"),),
            )
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_bad_arguments_and_unknown_resources_have_their_status_codes(rpc: Grpc) -> None:
    window = {"window_start": stamp(MONDAY), "window_end": stamp(MONDAY + timedelta(days=1))}
    cases = [
        (slots_pb2.FindFreeSlotsRequest(resource_id="nope", appointment_type="consultation", **window), "INVALID"),
        (slots_pb2.FindFreeSlotsRequest(resource_id=rpc.resource_id, appointment_type="consultation"), "INVALID"),
        (
            slots_pb2.FindFreeSlotsRequest(
                resource_id=rpc.resource_id, appointment_type="consultation", zone="Mars/Olympus", **window
            ),
            "INVALID",
        ),
        (
            slots_pb2.FindFreeSlotsRequest(
                resource_id=rpc.resource_id,
                appointment_type="consultation",
                window_start=stamp(MONDAY),
                window_end=stamp(MONDAY + timedelta(days=100)),
            ),
            "INVALID",
        ),
        (slots_pb2.FindFreeSlotsRequest(resource_id=rpc.resource_id, appointment_type="surgery", **window), "INVALID"),
        (
            slots_pb2.FindFreeSlotsRequest(resource_id=str(uuid.uuid4()), appointment_type="consultation", **window),
            "NF",
        ),
    ]
    codes = {"INVALID": grpc.StatusCode.INVALID_ARGUMENT, "NF": grpc.StatusCode.NOT_FOUND}
    for request, expected in cases:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await rpc.slots.FindFreeSlots(request, metadata=rpc.patient())
        assert refused.value.code() is codes[expected], (request, refused.value.details())
    with pytest.raises(grpc.aio.AioRpcError) as outside:
        await rpc.slots.CreateHold(rpc.hold_request(datetime(2027, 9, 18, 3, 0, tzinfo=UTC)), metadata=rpc.patient())
    assert outside.value.code() is grpc.StatusCode.FAILED_PRECONDITION  # not offered (REST: 422 not-offered)
