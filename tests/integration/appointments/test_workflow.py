"""The workflow through the API on the real database: listing and history, the practice's status changes,
proposals, reschedules under the domain's policy, batch decisions, auto-approval, holds, capacity and the
waitlist — each endpoint for the roles that may use it and refused to those who may not (another patient,
another organisation's people)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from kairos.platform.config import Settings
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

PRACTICE = uuid.uuid4()
OTHER_PRACTICE = uuid.uuid4()
API = "/api/v1/appointments"
# Far enough ahead for any cut-off; each test takes days of its own so that none meets another's bookings.
BASE = datetime(2027, 6, 7, 7, 0, tzinfo=UTC)  # a Monday, 09:00 in Paris
PROBLEM = "urn:kairos:problem:"

CLINIC = {
    "label": "Clinic",
    "terminology": {"client": "patient", "professional": "doctor"},
    "appointment_types": [
        {"code": "consultation", "label": "Consultation", "duration_minutes": 30},
        {"code": "follow-up", "label": "Follow-up", "duration_minutes": 15},
        {"code": "group", "label": "Group session", "duration_minutes": 60, "capacity": 3, "needs_approval": False},
    ],
    "form_schema": {"type": "object", "properties": {"first_visit": {"type": "boolean"}}},
    "reason_codes": ["fully_booked"],
    "cancellation": {"cutoff_hours": 24, "reason_required": True, "max_reschedules": 1},
    "auto_approval": [
        {"name": "known-follow-ups", "appointment_types": ["follow-up"], "answers": {"first_visit": False}}
    ],
    "hold_minutes": 5,
}


def day(n: int, hour: int = 0, minute: int = 0) -> datetime:
    return BASE + timedelta(days=n, hours=hour, minutes=minute)


@dataclass
class Api:
    client: httpx.AsyncClient
    issuer: TestIssuer
    runtime: ServiceRuntime
    resource: str  # the practice's doctor: domain "clinic", no working hours (any time is requestable)
    other_resource: str  # another organisation's
    group_room: str  # the practice's room with working hours, for group sessions

    def patient(self, name: str = "patient-1") -> dict[str, str]:
        return self._bearer(sub=name, roles=["patient"], permissions=["appointments:request", "appointments:read_own"])

    def staff(self, organisation: uuid.UUID = PRACTICE) -> dict[str, str]:
        return self._bearer(
            sub=f"staff-{organisation}",
            roles=["staff"],
            permissions=["appointments:read", "appointments:decide", "appointments:book_for"],
            org=str(organisation),
        )

    def _bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}

    async def request(
        self,
        starts_at: datetime,
        *,
        patient: str = "patient-1",
        resource: str | None = None,
        kind: str = "consultation",
        **extra: Any,
    ) -> httpx.Response:
        return await self.client.post(
            f"{API}/appointments",
            json={
                "resource_id": resource or self.resource,
                "appointment_type": kind,
                "starts_at": starts_at.isoformat(),
                **extra,
            },
            headers=self.patient(patient),
        )

    async def booked(self, starts_at: datetime, *, patient: str = "patient-1", resource: str | None = None) -> str:
        """A booked appointment's id."""
        requested = await self.request(starts_at, patient=patient, resource=resource)
        assert requested.status_code == 201, requested.text
        appointment_id: str = requested.json()["id"]
        organisation = OTHER_PRACTICE if resource == self.other_resource else PRACTICE
        approved = await self.post(appointment_id, "decision", {"decision": "approve"}, self.staff(organisation))
        assert approved.status_code == 200, approved.text
        return appointment_id

    async def post(self, appointment_id: str, action: str, body: Any, headers: dict[str, str]) -> httpx.Response:
        return await self.client.post(f"{API}/appointments/{appointment_id}/{action}", json=body, headers=headers)

    async def published(self, subject: str) -> list[str]:
        async with self.runtime.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT type FROM outbox WHERE subject = :subject ORDER BY position"), {"subject": subject}
            )
            return list(rows.scalars())


@pytest.fixture(scope="module")
async def api(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Api]:
    runtime = await appointments_service(base_settings, name="workflow")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app), base_url="http://a") as client:
        admin = {"Authorization": f"Bearer {issuer.token(sub='op', roles=['operator'])}"}
        configured = await client.put(f"{API}/domains/clinic", json=CLINIC, headers=admin)
        assert configured.status_code == 200, configured.text
        ids = []
        for organisation, name in ((PRACTICE, "Dr. Ada Byron"), (OTHER_PRACTICE, "Dr. Elsewhere"), (PRACTICE, "Gym")):
            created = await client.post(
                f"{API}/resources",
                json={
                    "organisation_id": str(organisation),
                    "display_name": name,
                    "zone": "Europe/Paris",
                    "domain": "clinic",
                },
                headers=admin,
            )
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        hours = await client.put(
            f"{API}/resources/{ids[2]}/schedule",
            json={
                "zone": "Europe/Paris",
                "valid_from": "2026-01-01",
                "working_hours": [
                    {"rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "start_time": "09:00", "duration_minutes": 480}
                ],
            },
            headers=admin,
        )
        assert hours.status_code == 204, hours.text
        yield Api(client, issuer, runtime, *ids)
    await runtime.stop()


# --- listing and history ------------------------------------------------------------------------------------


async def test_patients_list_their_own_and_the_practice_lists_its_organisations_page_by_page(api: Api) -> None:
    mine = [(await api.request(day(1, hour), patient="lister-1")).json()["id"] for hour in (1, 2, 3)]
    theirs = (await api.request(day(1, 4), patient="lister-2")).json()["id"]
    elsewhere = (await api.request(day(1, 1), patient="lister-1", resource=api.other_resource)).json()["id"]
    window = {"from": day(1).isoformat(), "to": day(2).isoformat()}

    as_patient = await api.client.get(f"{API}/appointments", params=window, headers=api.patient("lister-1"))
    assert as_patient.status_code == 200, as_patient.text
    assert {item["id"] for item in as_patient.json()["items"]} == {*mine, elsewhere}

    seen: list[str] = []
    cursor = None
    while True:
        params = {**window, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.client.get(f"{API}/appointments", params=params, headers=api.staff())).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [*mine, theirs]  # by start, the other organisation's left out

    other_practice = await api.client.get(f"{API}/appointments", params=window, headers=api.staff(OTHER_PRACTICE))
    assert [item["id"] for item in other_practice.json()["items"]] == [elsewhere]

    filtered = await api.client.get(
        f"{API}/appointments",
        params={**window, "patient": "lister-2", "status": "pending", "resource_id": api.resource},
        headers=api.staff(),
    )
    assert [item["id"] for item in filtered.json()["items"]] == [theirs]
    snooping = await api.client.get(
        f"{API}/appointments", params={"patient": "lister-2"}, headers=api.patient("lister-1")
    )
    assert snooping.status_code == 403
    naive = await api.client.get(f"{API}/appointments", params={"from": "2027-01-01T00:00:00"}, headers=api.staff())
    assert naive.status_code == 422
    assert (await api.client.get(f"{API}/appointments")).status_code == 401


async def test_the_history_is_the_event_stream_to_those_who_may_see_it(api: Api) -> None:
    appointment_id = await api.booked(day(2, 1), patient="historian")
    history = await api.client.get(f"{API}/appointments/{appointment_id}/history", headers=api.patient("historian"))
    assert [(entry["kind"], entry["actor"]) for entry in history.json()] == [
        ("requested", "historian"),
        ("approved", f"staff-{PRACTICE}"),
    ]
    for outsider in (api.patient("someone-else"), api.staff(OTHER_PRACTICE)):
        refused = await api.client.get(f"{API}/appointments/{appointment_id}/history", headers=outsider)
        assert refused.status_code == 404
    # The practice reading a patient's record leaves an audit record; the patient reading their own does not.
    await api.client.get(f"{API}/appointments/{appointment_id}/history", headers=api.staff())
    assert "audit.recorded" in await api.published(f"appointments.appointment:{appointment_id}")


# --- the practice's status changes --------------------------------------------------------------------------


async def test_the_practice_records_arrival_check_in_and_fulfilment_and_nobody_else_can(api: Api) -> None:
    appointment_id = await api.booked(day(3, 1), patient="attendee")
    for outsider, status in ((api.patient("attendee"), 403), (api.staff(OTHER_PRACTICE), 404)):
        refused = await api.post(appointment_id, "status", {"status": "arrived"}, outsider)
        assert refused.status_code == status
    too_soon = await api.post(appointment_id, "status", {"status": "fulfilled"}, api.staff())
    assert too_soon.status_code == 409
    assert too_soon.json()["type"] == f"{PROBLEM}illegal-transition"
    for status in ("arrived", "checked-in", "fulfilled"):
        changed = await api.post(appointment_id, "status", {"status": status}, api.staff())
        assert changed.status_code == 200, changed.text
        assert changed.json()["status"] == status
    assert await api.published(f"appointment:{appointment_id}") == [
        "appointment.requested",
        "appointment.approved",
        "appointment.arrived",
        "appointment.checked_in",
        "appointment.fulfilled",
    ]
    unknown = await api.post(appointment_id, "status", {"status": "booked"}, api.staff())
    assert unknown.status_code == 422


async def test_a_no_show_after_the_start_only_and_entered_in_error_with_a_reason(api: Api) -> None:
    started = datetime.now(UTC) - timedelta(minutes=10)  # no working hours: any time may be requested
    future = await api.booked(day(3, 3), patient="absent")
    early = await api.post(future, "status", {"status": "noshow"}, api.staff())
    assert early.status_code == 409
    assert early.json()["type"] == f"{PROBLEM}too-early"
    past = await api.booked(started, patient="absent")
    marked = await api.post(past, "status", {"status": "noshow"}, api.staff())
    assert marked.json()["status"] == "noshow"

    without_reason = await api.post(future, "status", {"status": "entered-in-error"}, api.staff())
    assert without_reason.status_code == 422
    assert without_reason.json()["type"] == f"{PROBLEM}reason-required"
    voided = await api.post(future, "status", {"status": "entered-in-error", "reason": "Wrong patient"}, api.staff())
    assert voided.json()["status"] == "entered-in-error"
    retaken = await api.request(day(3, 3), patient="next")  # its time is free again
    assert retaken.status_code == 201


# --- proposals and reschedules ------------------------------------------------------------------------------


async def test_the_practice_proposes_another_time_and_the_patient_accepts_it(api: Api) -> None:
    requested = (await api.request(day(4, 1), patient="proposee")).json()["id"]
    patient_proposes = await api.post(
        requested, "proposal", {"starts_at": day(4, 3).isoformat()}, api.patient("proposee")
    )
    assert patient_proposes.status_code == 403
    proposed = await api.post(
        requested, "proposal", {"starts_at": day(4, 3).isoformat(), "reason": "Morning full"}, api.staff()
    )
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["status"] == "proposed"
    assert proposed.json()["starts_at"] == day(4, 3).isoformat().replace("+00:00", "Z")

    # The proposed time is reserved for the patient; the old one is free again.
    assert (await api.request(day(4, 3), patient="rival")).status_code == 409
    assert (await api.request(day(4, 1), patient="rival")).status_code == 201

    for outsider, status in ((api.patient("rival"), 404), (api.staff(), 403)):
        refused = await api.post(requested, "proposal/answer", {"accept": True}, outsider)
        assert refused.status_code == status
    accepted = await api.post(requested, "proposal/answer", {"accept": True}, api.patient("proposee"))
    assert accepted.json()["status"] == "booked"
    again = await api.post(requested, "proposal/answer", {"accept": False}, api.patient("proposee"))
    assert again.status_code == 409


async def test_a_rejected_proposal_cancels_and_frees_the_time(api: Api) -> None:
    requested = (await api.request(day(4, 5), patient="refuser")).json()["id"]
    await api.post(requested, "proposal", {"starts_at": day(4, 6).isoformat()}, api.staff())
    rejected = await api.post(
        requested, "proposal/answer", {"accept": False, "reason": "Cannot then"}, api.patient("refuser")
    )
    assert rejected.json()["status"] == "cancelled"
    assert (await api.request(day(4, 6), patient="rival")).status_code == 201


async def test_a_patient_reschedules_once_keeping_the_id_and_history_and_not_onto_a_taken_time(api: Api) -> None:
    appointment_id = await api.booked(day(5, 1), patient="mover")
    await api.booked(day(5, 2), patient="blocker")
    onto_taken = await api.post(
        appointment_id, "reschedule", {"starts_at": day(5, 2, 15).isoformat(), "reason": "Later"}, api.patient("mover")
    )
    assert onto_taken.status_code == 409
    assert onto_taken.json()["type"] == f"{PROBLEM}time-taken"
    assert "nearest_slots" in onto_taken.json()
    no_reason = await api.post(appointment_id, "reschedule", {"starts_at": day(5, 4).isoformat()}, api.patient("mover"))
    assert no_reason.status_code == 422
    by_stranger = await api.post(
        appointment_id, "reschedule", {"starts_at": day(5, 4).isoformat(), "reason": "x"}, api.patient("stranger")
    )
    assert by_stranger.status_code == 404

    # Overlapping its own old time is fine: the appointment does not stand in its own way.
    moved = await api.post(
        appointment_id,
        "reschedule",
        {"starts_at": day(5, 1, 15).isoformat(), "reason": "Traffic"},
        api.patient("mover"),
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["id"], moved.json()["status"]) == (appointment_id, "booked")
    history = (
        await api.client.get(f"{API}/appointments/{appointment_id}/history", headers=api.patient("mover"))
    ).json()
    assert [entry["kind"] for entry in history] == ["requested", "approved", "rescheduled"]
    assert history[-1]["reason"] == "Traffic"

    limit = await api.post(
        appointment_id, "reschedule", {"starts_at": day(5, 5).isoformat(), "reason": "Again"}, api.patient("mover")
    )
    assert limit.status_code == 409
    assert limit.json()["type"] == f"{PROBLEM}reschedule-limit"
    by_practice = await api.post(  # the practice is bound by neither the limit nor the cut-off
        appointment_id, "reschedule", {"starts_at": day(5, 5).isoformat(), "reason": "Doctor ill"}, api.staff()
    )
    assert by_practice.status_code == 200
    assert (await api.request(day(5, 1, 15), patient="next")).status_code == 201  # the old time is free
    assert "appointment.rescheduled" in await api.published(f"appointment:{appointment_id}")


async def test_patients_cannot_change_inside_the_cutoff_but_the_practice_can(api: Api) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    appointment_id = await api.booked(soon, patient="late")
    cancel = await api.post(appointment_id, "cancellation", {"reason": "Busy"}, api.patient("late"))
    assert cancel.status_code == 409
    assert cancel.json()["type"] == f"{PROBLEM}cutoff-passed"
    move = await api.post(
        appointment_id,
        "reschedule",
        {"starts_at": (soon + timedelta(hours=1)).isoformat(), "reason": "x"},
        api.patient("late"),
    )
    assert move.json()["type"] == f"{PROBLEM}cutoff-passed"
    cancelled = await api.post(appointment_id, "cancellation", {"reason": "Doctor ill"}, api.staff())
    assert cancelled.json()["status"] == "cancelled"


# --- batch decisions and auto-approval ----------------------------------------------------------------------


async def test_batch_decisions_succeed_or_fail_one_by_one(api: Api) -> None:
    first = (await api.request(day(6, 1), patient="batch-1")).json()["id"]
    second = (await api.request(day(6, 2), patient="batch-2")).json()["id"]
    third = (await api.request(day(6, 3), patient="batch-3")).json()["id"]
    elsewhere = (await api.request(day(6, 1), patient="batch-4", resource=api.other_resource)).json()["id"]
    body = {
        "decisions": [
            {"appointment_id": first, "decision": "approve"},
            {"appointment_id": second, "decision": "decline", "reason_code": "fully_booked", "reason": "Sorry"},
            {"appointment_id": first, "decision": "approve"},  # already booked
            {"appointment_id": elsewhere, "decision": "approve"},  # not this practice's
            {"appointment_id": third, "decision": "propose", "starts_at": day(6, 2).isoformat()},  # freed above
            {"appointment_id": str(uuid.uuid4()), "decision": "decline", "reason_code": "fully_booked"},
            {"appointment_id": third, "decision": "propose"},  # no time
        ]
    }
    answered = await api.client.post(f"{API}/appointments/decisions", json=body, headers=api.staff())
    assert answered.status_code == 200, answered.text
    results = answered.json()["results"]
    assert [result["outcome"] for result in results] == ["ok", "ok", "problem", "problem", "ok", "problem", "problem"]
    assert results[0]["appointment"]["status"] == "booked"
    assert results[1]["appointment"]["status"] == "cancelled"
    assert [results[i]["problem"]["type"] for i in (2, 3, 5, 6)] == [
        f"{PROBLEM}illegal-transition",
        f"{PROBLEM}not-found",
        f"{PROBLEM}not-found",
        f"{PROBLEM}missing-time",
    ]
    assert results[4]["appointment"]["status"] == "proposed"
    mine_only = {"decisions": body["decisions"][:6]}
    as_patient = await api.client.post(f"{API}/appointments/decisions", json=mine_only, headers=api.patient("batch-1"))
    assert {result["problem"]["status"] for result in as_patient.json()["results"]} == {403, 404}
    too_many = {"decisions": [{"appointment_id": first, "decision": "approve"}] * 101}
    assert (
        await api.client.post(f"{API}/appointments/decisions", json=too_many, headers=api.staff())
    ).status_code == 422


async def test_a_request_matching_an_auto_approval_rule_is_booked_at_once_and_says_by_which_rule(api: Api) -> None:
    matching = await api.request(day(7, 1), kind="follow-up", answers={"first_visit": False}, patient="regular")
    assert matching.json()["status"] == "booked"
    history = (
        await api.client.get(f"{API}/appointments/{matching.json()['id']}/history", headers=api.patient("regular"))
    ).json()
    assert [(entry["kind"], entry["actor"], entry["reason"]) for entry in history] == [
        ("requested", "regular", None),
        ("approved", "kairos:auto-approval", "auto-approval rule known-follow-ups"),
    ]
    assert await api.published(f"appointment:{matching.json()['id']}") == [
        "appointment.requested",
        "appointment.approved",
    ]
    other = await api.request(day(7, 2), kind="follow-up", answers={"first_visit": True}, patient="newcomer")
    assert other.json()["status"] == "pending"


# --- holds --------------------------------------------------------------------------------------------------


async def test_a_hold_keeps_a_time_for_its_patient_who_requests_it_with_the_hold(api: Api) -> None:
    url = f"{API}/resources/{api.resource}/holds"
    body = {"appointment_type": "consultation", "starts_at": day(8, 1).isoformat()}
    held = await api.client.post(url, json=body, headers=api.patient("holder"))
    assert held.status_code == 201, held.text
    hold = held.json()
    assert datetime.fromisoformat(hold["expires_at"]) > datetime.now(UTC)

    assert (await api.client.post(url, json=body, headers=api.patient("rival"))).status_code == 409
    assert (await api.request(day(8, 1), patient="rival")).status_code == 409
    stolen = await api.request(day(8, 1), patient="rival", hold_id=hold["id"])
    assert stolen.status_code == 409
    assert stolen.json()["type"] == f"{PROBLEM}hold-not-usable"
    assert (await api.client.get(f"{API}/holds/{hold['id']}", headers=api.patient("rival"))).status_code == 404
    assert (await api.client.get(f"{API}/holds/{hold['id']}", headers=api.patient("holder"))).status_code == 200

    taken = await api.request(day(8, 1), patient="holder", hold_id=hold["id"])
    assert taken.status_code == 201, taken.text
    assert (await api.request(day(8, 1, 30), patient="holder", hold_id=hold["id"])).status_code == 409  # used
    async with api.runtime.engine.connect() as connection:
        seats = await connection.scalar(
            text("SELECT seats_taken FROM time_blocks WHERE resource_id = :r AND starts_at = :s"),
            {"r": api.resource, "s": day(8, 1)},
        )
    assert seats == 1  # the hold became the appointment's seat, not a second one


async def test_an_expired_hold_releases_its_time_without_any_job_and_a_released_one_at_once(api: Api) -> None:
    url = f"{API}/resources/{api.resource}/holds"
    held = (
        await api.client.post(
            url,
            json={"appointment_type": "consultation", "starts_at": day(8, 3).isoformat()},
            headers=api.patient("slow"),
        )
    ).json()
    async with api.runtime.engine.begin() as connection:  # the hold's five minutes pass
        await connection.execute(
            text("UPDATE seats SET expires_at = now() - interval '1 second' WHERE id = :id"), {"id": held["id"]}
        )
    assert (await api.request(day(8, 3), patient="quick")).status_code == 201
    late = await api.request(day(8, 3), patient="slow", hold_id=held["id"])
    assert late.status_code == 409

    second = (
        await api.client.post(
            url,
            json={"appointment_type": "consultation", "starts_at": day(8, 5).isoformat()},
            headers=api.patient("undecided"),
        )
    ).json()
    assert (await api.client.delete(f"{API}/holds/{second['id']}", headers=api.patient("someone"))).status_code == 404
    assert (await api.client.delete(f"{API}/holds/{second['id']}", headers=api.patient("undecided"))).status_code == 204
    assert (await api.request(day(8, 5), patient="quick")).status_code == 201


async def test_a_patient_holds_at_most_three_slots_at_once(api: Api) -> None:
    url = f"{API}/resources/{api.resource}/holds"
    for hour in (1, 2, 3):
        placed = await api.client.post(
            url,
            json={"appointment_type": "consultation", "starts_at": day(9, hour).isoformat()},
            headers=api.patient("greedy"),
        )
        assert placed.status_code == 201
    fourth = await api.client.post(
        url,
        json={"appointment_type": "consultation", "starts_at": day(9, 4).isoformat()},
        headers=api.patient("greedy"),
    )
    assert fourth.status_code == 409
    assert fourth.json()["type"] == f"{PROBLEM}too-many-holds"
    staff_hold = await api.client.post(
        url, json={"appointment_type": "consultation", "starts_at": day(9, 5).isoformat()}, headers=api.staff()
    )
    assert staff_hold.status_code == 403


async def test_two_hundred_simultaneous_holds_and_requests_for_one_slot_give_it_to_exactly_one(api: Api) -> None:
    slot = day(10, 1)
    url = f"{API}/resources/{api.resource}/holds"

    async def race(n: int) -> httpx.Response:
        if n % 2:
            return await api.client.post(
                url,
                json={"appointment_type": "consultation", "starts_at": slot.isoformat()},
                headers=api.patient(f"racer-{n}"),
            )
        return await api.request(slot, patient=f"racer-{n}")

    responses = await asyncio.gather(*(race(n) for n in range(200)))
    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 1
    assert statuses.count(409) == 199


# --- capacity -----------------------------------------------------------------------------------------------


async def test_two_hundred_simultaneous_requests_for_a_group_of_three_book_exactly_three(api: Api) -> None:
    session = day(14, 2)  # 11:00 in Paris, inside the room's working hours
    responses = await asyncio.gather(
        *(api.request(session, kind="group", resource=api.group_room, patient=f"gym-{n}") for n in range(200))
    )
    statuses = [response.status_code for response in responses]
    assert statuses.count(201) == 3
    assert statuses.count(409) == 197
    losers = [response.json() for response in responses if response.status_code == 409]
    assert {problem["type"] for problem in losers} == {f"{PROBLEM}time-taken"}
    assert all(problem["nearest_slots"] for problem in losers)
    assert session.isoformat() not in losers[0]["nearest_slots"]
    async with api.runtime.engine.connect() as connection:
        holding = await connection.scalar(
            text("SELECT count(*) FROM appointments WHERE starts_at = :s AND resource_id = :r AND holds_time"),
            {"s": session, "r": api.group_room},
        )
    assert holding == 3

    # A cancelled seat can be taken again; another session overlapping the group's time cannot.
    first = next(response.json() for response in responses if response.status_code == 201)
    await api.post(first["id"], "cancellation", {"reason": "Injured"}, api.patient(first["patient"]))
    assert (await api.request(session, kind="group", resource=api.group_room, patient="gym-late")).status_code == 201
    overlapping = await api.request(session + timedelta(minutes=30), kind="consultation", resource=api.group_room)
    assert overlapping.status_code == 409


# --- waitlist -----------------------------------------------------------------------------------------------


async def test_a_freed_time_is_offered_to_the_first_waitlisted_patient_who_takes_it(api: Api) -> None:
    leaving = await api.booked(day(11, 1), patient="leaver")
    for patient in ("first-in-line", "second-in-line"):
        joined = await api.client.post(
            f"{API}/waitlist",
            json={
                "resource_id": api.resource,
                "appointment_type": "consultation",
                "earliest": day(11).isoformat(),
                "latest": day(12).isoformat(),
            },
            headers=api.patient(patient),
        )
        assert joined.status_code == 201, joined.text
    entry_id = (await api.client.get(f"{API}/waitlist", headers=api.patient("first-in-line"))).json()["items"][0]["id"]

    await api.post(leaving, "cancellation", {"reason": "Moving away"}, api.patient("leaver"))

    entry = (await api.client.get(f"{API}/waitlist", headers=api.patient("first-in-line"))).json()["items"][0]
    assert entry["status"] == "offered"
    assert await api.published(f"waitlist:{entry_id}") == [
        "appointment.waitlist_joined",
        "appointment.waitlist_offered",
    ]
    assert (await api.request(day(11, 1), patient="second-in-line")).status_code == 409  # held for the first
    taken = await api.request(day(11, 1), patient="first-in-line", hold_id=entry["offered_hold_id"])
    assert taken.status_code == 201, taken.text
    after = (await api.client.get(f"{API}/waitlist", headers=api.patient("first-in-line"))).json()["items"][0]
    assert after["status"] == "booked"

    nobody = await api.client.delete(f"{API}/waitlist/{entry_id}", headers=api.patient("second-in-line"))
    assert nobody.status_code == 404
    backwards = await api.client.post(
        f"{API}/waitlist",
        json={
            "resource_id": api.resource,
            "appointment_type": "consultation",
            "earliest": day(12).isoformat(),
            "latest": day(11).isoformat(),
        },
        headers=api.patient("confused"),
    )
    assert backwards.status_code == 422


async def test_an_offer_that_lapses_untaken_goes_to_the_next_patient_in_line(api: Api) -> None:
    from kairos.appointments.waitlist import pass_on_lapsed_offers

    leaving = await api.booked(day(13, 1), patient="leaver-2")
    for patient in ("slow-to-answer", "next-in-line"):
        joined = await api.client.post(
            f"{API}/waitlist",
            json={
                "resource_id": api.resource,
                "appointment_type": "consultation",
                "earliest": day(13).isoformat(),
                "latest": day(14).isoformat(),
            },
            headers=api.patient(patient),
        )
        assert joined.status_code == 201, joined.text
    await api.post(leaving, "cancellation", {"reason": "Moving away"}, api.patient("leaver-2"))
    first = (await api.client.get(f"{API}/waitlist", headers=api.patient("slow-to-answer"))).json()["items"][0]
    assert first["status"] == "offered"

    async with api.runtime.unit_of_work() as uow:  # nothing has lapsed yet: nothing moves
        assert await pass_on_lapsed_offers(uow) == 0
    async with api.runtime.engine.begin() as connection:  # the offer's window passes untaken
        await connection.execute(
            text("UPDATE seats SET expires_at = now() - interval '1 minute' WHERE id = :hold"),
            {"hold": first["offered_hold_id"]},
        )
        await connection.execute(
            text("UPDATE waitlist_entries SET offered_until = now() - interval '1 minute' WHERE id = :entry"),
            {"entry": first["id"]},
        )
    async with api.runtime.unit_of_work() as uow:
        assert await pass_on_lapsed_offers(uow) == 1
        await uow.commit()

    second = (await api.client.get(f"{API}/waitlist", headers=api.patient("next-in-line"))).json()["items"][0]
    assert second["status"] == "offered"
    assert await api.published(f"waitlist:{second['id']}") == [
        "appointment.waitlist_joined",
        "appointment.waitlist_offered",
    ]
    again = (await api.client.get(f"{API}/waitlist", headers=api.patient("slow-to-answer"))).json()["items"][0]
    assert again["status"] == "waiting"  # still waiting for another time
    assert (await api.request(day(13, 1), patient="slow-to-answer")).status_code == 409  # held for the next
    taken = await api.request(day(13, 1), patient="next-in-line", hold_id=second["offered_hold_id"])
    assert taken.status_code == 201, taken.text


# --- the record ---------------------------------------------------------------------------------------------


async def test_every_projection_still_rebuilds_equal_from_its_stream(api: Api) -> None:
    from kairos.appointments.projections import rebuild

    report = await rebuild(uow=api.runtime.unit_of_work(), repair=False)  # type: ignore[arg-type]
    assert report.checked > 20
    assert report.differing == []


async def test_a_hold_repeated_with_its_idempotency_key_is_the_same_hold(api: Api) -> None:
    url = f"{API}/resources/{api.resource}/holds"
    body = {"appointment_type": "consultation", "starts_at": day(9, 7).isoformat()}
    headers = {**api.patient("retrying"), "Idempotency-Key": f"hold-{uuid.uuid4()}"}
    first = await api.client.post(url, json=body, headers=headers)
    again = await api.client.post(url, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
