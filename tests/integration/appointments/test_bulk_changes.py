"""Bulk availability changes through the API on the real database: a preview writes nothing and names the
appointments that would conflict; applying changes every targeted schedule at once and slot search follows;
undo restores the exact schedules, unless a later change touched them; who may do it, for which resources."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from kairos.platform.config import Settings
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from tests.integration.appointments.conftest import appointments_service

pytestmark = pytest.mark.integration

API = "/api/v1/appointments"
BULK = f"{API}/availability/bulk-changes"
PRACTICE, OTHER_PRACTICE = uuid.uuid4(), uuid.uuid4()
PROBLEM = "urn:kairos:problem:"
CLINIC = {
    "label": "Clinic",
    "terminology": {"client": "patient", "professional": "doctor"},
    "appointment_types": [{"code": "consultation", "label": "Consultation", "duration_minutes": 30}],
    "form_schema": {"type": "object"},
    "reason_codes": ["fully_booked"],
}
WEEKDAYS = {
    "zone": "Europe/Paris",
    "valid_from": "2027-01-01",
    "working_hours": [{"rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "start_time": "09:00", "duration_minutes": 480}],
    "breaks": [],
    "days_off": [],
    "extra_hours": [],
    "valid_until": None,
}


def close(*days: str) -> dict[str, Any]:
    return {"kind": "close-dates", "days": [{"first_day": day, "last_day": day} for day in days]}


@dataclass
class Bulk:
    client: httpx.AsyncClient
    runtime: ServiceRuntime
    issuer: TestIssuer
    resources: dict[str, str]  # doctor, nurse (with hours), room (no hours), elsewhere (another practice)

    def bearer(self, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.token(**claims)}"}

    def admin(self, organisation: uuid.UUID = PRACTICE) -> dict[str, str]:
        return self.bearer(sub=f"admin-{organisation}", roles=["domain_admin"], org=str(organisation))

    def operator(self) -> dict[str, str]:
        return self.bearer(sub="operator", roles=["operator"])

    async def change(
        self, change: dict[str, Any], *, preview: bool, headers: dict[str, str] | None = None, **targets: Any
    ) -> httpx.Response:
        return await self.client.post(
            BULK,
            params={"preview": str(preview).lower()},
            json={"resources": targets or {"organisation_id": str(PRACTICE)}, "change": change},
            headers=headers or self.admin(),
        )

    async def schedule(self, name: str) -> dict[str, Any]:
        answer = await self.client.get(f"{API}/resources/{self.resources[name]}/schedule")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def slots_on(self, name: str, day: str) -> list[str]:
        answer = await self.client.get(
            f"{API}/resources/{self.resources[name]}/slots",
            params={"appointment_type": "consultation", "from": f"{day}T00:00:00+01:00", "to": f"{day}T23:59:00+01:00"},
        )
        assert answer.status_code == 200, answer.text
        return [slot["starts_at"] for slot in answer.json()]

    async def stored_changes(self) -> int:
        async with self.runtime.engine.connect() as connection:
            return int((await connection.execute(text("SELECT count(*) FROM bulk_changes"))).scalar_one())


@pytest.fixture(scope="module")
async def bulk(base_settings: Settings, issuer: TestIssuer) -> AsyncIterator[Bulk]:
    runtime = await appointments_service(base_settings, name="bulk")
    operator = {"Authorization": f"Bearer {issuer.token(sub='op', roles=['operator'])}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app), base_url="http://a") as client:
        assert (await client.put(f"{API}/domains/clinic", json=CLINIC, headers=operator)).status_code == 200
        ids = {}
        for name, organisation in (
            ("doctor", PRACTICE),
            ("nurse", PRACTICE),
            ("room", PRACTICE),
            ("elsewhere", OTHER_PRACTICE),
        ):
            created = await client.post(
                f"{API}/resources",
                json={
                    "organisation_id": str(organisation),
                    "display_name": name,
                    "zone": "Europe/Paris",
                    "domain": "clinic",
                },
                headers=operator,
            )
            assert created.status_code == 201, created.text
            ids[name] = created.json()["id"]
            if name != "room":
                hours = await client.put(f"{API}/resources/{ids[name]}/schedule", json=WEEKDAYS, headers=operator)
                assert hours.status_code == 204, hours.text
        yield Bulk(client, runtime, issuer, ids)
    await runtime.stop()


async def request_appointment(bulk: Bulk, resource: str, starts_at: str) -> str:
    requested = await bulk.client.post(
        f"{API}/appointments",
        json={"resource_id": bulk.resources[resource], "appointment_type": "consultation", "starts_at": starts_at},
        headers=bulk.bearer(sub="patient-1", roles=["patient"], permissions=["appointments:request"]),
    )
    assert requested.status_code == 201, requested.text
    return str(requested.json()["id"])


async def test_a_preview_names_each_resource_s_working_time_and_conflicts_and_writes_nothing(bulk: Bulk) -> None:
    booked = await request_appointment(bulk, "doctor", "2027-12-24T10:00:00+01:00")
    before = {name: await bulk.schedule(name) for name in ("doctor", "nurse")}
    answer = await bulk.change(close("2027-12-24"), preview=True)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["change_id"] is None
    assert not body["applied"]
    assert body["skipped"] == [bulk.resources["room"]]  # no working hours: left alone
    by_resource = {item["resource_id"]: item for item in body["resources"]}
    assert set(by_resource) == {bulk.resources["doctor"], bulk.resources["nurse"]}  # not the other practice's
    doctor = by_resource[bulk.resources["doctor"]]
    assert doctor["changed"]
    assert (doctor["minutes_before"], doctor["minutes_after"]) == (480, 0)
    assert doctor["working_time_before"] == [
        {"starts_at": "2027-12-24T09:00:00+01:00", "ends_at": "2027-12-24T17:00:00+01:00"}
    ]
    assert [(c["appointment_id"], c["status"]) for c in doctor["conflicts"]] == [(booked, "pending")]
    assert by_resource[bulk.resources["nurse"]]["conflicts"] == []
    assert {name: await bulk.schedule(name) for name in ("doctor", "nurse")} == before
    assert await bulk.stored_changes() == 0
    assert await bulk.slots_on("doctor", "2027-12-24")


async def test_applying_changes_every_schedule_slots_follow_and_undo_restores_them_exactly(bulk: Bulk) -> None:
    original = {name: await bulk.schedule(name) for name in ("doctor", "nurse")}
    applied = await bulk.change(close("2027-12-31"), preview=False)
    assert applied.status_code == 201, applied.text
    change_id = applied.json()["change_id"]
    assert await bulk.slots_on("doctor", "2027-12-31") == []
    assert await bulk.slots_on("nurse", "2027-12-31") == []
    assert await bulk.slots_on("doctor", "2027-12-30")
    assert (await bulk.schedule("doctor"))["days_off"] == [{"first_day": "2027-12-31", "last_day": "2027-12-31"}]

    undone = await bulk.client.post(f"{BULK}/{change_id}/undo", headers=bulk.admin())
    assert undone.status_code == 200, undone.text
    assert sorted(undone.json()["restored"]) == sorted([bulk.resources["doctor"], bulk.resources["nurse"]])
    assert {name: await bulk.schedule(name) for name in ("doctor", "nurse")} == original
    assert len(await bulk.slots_on("doctor", "2027-12-31")) == 16

    again = await bulk.client.post(f"{BULK}/{change_id}/undo", headers=bulk.admin())
    assert again.status_code == 409
    assert again.json()["type"] == f"{PROBLEM}already-undone"


async def test_extra_hours_and_new_weekly_hours_apply_to_listed_resources_only(bulk: Bulk) -> None:
    original = await bulk.schedule("nurse")
    saturday = await bulk.change(
        {"kind": "add-hours", "days": ["2027-11-06"], "start_time": "09:00", "duration_minutes": 60},
        preview=False,
        resource_ids=[bulk.resources["nurse"]],
    )
    assert saturday.status_code == 201, saturday.text
    assert len(await bulk.slots_on("nurse", "2027-11-06")) == 2
    assert await bulk.slots_on("doctor", "2027-11-06") == []
    mornings = await bulk.change(
        {
            "kind": "replace-weekly-hours",
            "starting": "2027-11-08",
            "working_hours": [{"rule": "FREQ=WEEKLY;BYDAY=MO", "start_time": "08:00", "duration_minutes": 120}],
        },
        preview=False,
        resource_ids=[bulk.resources["nurse"]],
    )
    assert mornings.status_code == 201, mornings.text
    assert len(await bulk.slots_on("nurse", "2027-11-08")) == 4  # Monday 08:00-10:00
    assert await bulk.slots_on("nurse", "2027-11-09") == []  # no Tuesday hours any more
    for change in (mornings, saturday):  # undone in reverse order, each restores what it replaced
        undone = await bulk.client.post(f"{BULK}/{change.json()['change_id']}/undo", headers=bulk.admin())
        assert undone.status_code == 200, undone.text
    assert await bulk.schedule("nurse") == original


async def test_undo_after_a_later_change_to_the_same_schedule_is_refused(bulk: Bulk) -> None:
    first = await bulk.change(close("2027-10-01"), preview=False, resource_ids=[bulk.resources["doctor"]])
    assert first.status_code == 201
    later = await bulk.change(close("2027-10-04"), preview=False, resource_ids=[bulk.resources["doctor"]])
    assert later.status_code == 201
    refused = await bulk.client.post(f"{BULK}/{first.json()['change_id']}/undo", headers=bulk.admin())
    assert refused.status_code == 409
    assert refused.json()["type"] == f"{PROBLEM}changed-since"
    assert refused.json()["changed_resources"] == [bulk.resources["doctor"]]
    # The same is true after an ordinary edit of the schedule; undoing the later change first works.
    assert (await bulk.client.post(f"{BULK}/{later.json()['change_id']}/undo", headers=bulk.admin())).status_code == 200
    assert (await bulk.client.post(f"{BULK}/{first.json()['change_id']}/undo", headers=bulk.admin())).status_code == 200
    assert (await bulk.schedule("doctor"))["days_off"] == []

    edited = await bulk.change(close("2027-10-05"), preview=False, resource_ids=[bulk.resources["doctor"]])
    put = await bulk.client.put(
        f"{API}/resources/{bulk.resources['doctor']}/schedule", json=WEEKDAYS, headers=bulk.admin()
    )
    assert put.status_code == 204
    refused = await bulk.client.post(f"{BULK}/{edited.json()['change_id']}/undo", headers=bulk.admin())
    assert refused.status_code == 409


@pytest.mark.parametrize(
    ("who", "targets", "status"),
    [
        ("patient", {}, 403),
        ("professional", {}, 403),  # manages its own hours, not the practice's in bulk
        ("staff without availability:manage", {}, 403),
        ("staff with availability:manage", {}, 200),
        ("domain admin", {}, 200),
        ("domain admin", {"resource_ids": ["elsewhere"]}, 403),  # another practice's resource
        ("domain admin", {"organisation_id": str(OTHER_PRACTICE)}, 403),
        ("other practice's admin", {}, 403),
        ("other practice's admin", {"domain": "clinic"}, 200),  # a domain: their own resources in it
        ("operator", {"domain": "clinic"}, 200),
    ],
)
async def test_who_may_change_availability_in_bulk(bulk: Bulk, who: str, targets: dict[str, Any], status: int) -> None:
    claims = {
        "patient": {"roles": ["patient"], "permissions": ["appointments:request"]},
        "professional": {"roles": ["professional"], "permissions": ["availability:manage"], "org": str(PRACTICE)},
        "staff without availability:manage": {"roles": ["staff"], "org": str(PRACTICE)},
        "staff with availability:manage": {
            "roles": ["staff"],
            "permissions": ["availability:manage"],
            "org": str(PRACTICE),
        },
        "domain admin": {"roles": ["domain_admin"], "org": str(PRACTICE)},
        "other practice's admin": {"roles": ["domain_admin"], "org": str(OTHER_PRACTICE)},
        "operator": {"roles": ["operator"]},
    }[who]
    if "resource_ids" in targets:
        targets = {"resource_ids": [bulk.resources[name] for name in targets["resource_ids"]]}
    answer = await bulk.change(
        close("2027-08-02"), preview=True, headers=bulk.bearer(sub=who, **claims), **(targets or {})
    )
    assert answer.status_code == status, answer.text
    if who == "other practice's admin" and status == 200:
        assert [item["resource_id"] for item in answer.json()["resources"]] == [bulk.resources["elsewhere"]]


async def test_only_the_practice_and_operators_undo_its_changes(bulk: Bulk) -> None:
    applied = await bulk.change(close("2027-07-05"), preview=False, resource_ids=[bulk.resources["doctor"]])
    assert applied.status_code == 201
    url = f"{BULK}/{applied.json()['change_id']}/undo"
    assert (await bulk.client.post(url, headers=bulk.admin(OTHER_PRACTICE))).status_code == 404
    patient = bulk.bearer(sub="p", roles=["patient"], permissions=["appointments:request"])
    assert (await bulk.client.post(url, headers=patient)).status_code == 404
    assert (await bulk.client.post(url, headers=bulk.operator())).status_code == 200
    assert (await bulk.client.post(f"{BULK}/{uuid.uuid4()}/undo", headers=bulk.operator())).status_code == 404


@pytest.mark.parametrize(
    ("change", "targets"),
    [
        ({"kind": "close-dates", "days": []}, {"organisation_id": str(PRACTICE)}),
        ({"kind": "reopen"}, {"organisation_id": str(PRACTICE)}),
        ({"kind": "add-hours", "days": ["2027-06-01"], "start_time": "09:00", "duration_minutes": 0}, {}),
        (
            {
                "kind": "replace-weekly-hours",
                "starting": "2027-06-07",
                "working_hours": [{"rule": "FREQ=HOURLY", "start_time": "09:00", "duration_minutes": 60}],
            },
            {},
        ),
        (close("2027-06-01"), {"resource_ids": []}),  # names nothing
    ],
)
async def test_bad_changes_are_problems_not_errors(bulk: Bulk, change: dict[str, Any], targets: dict[str, Any]) -> None:
    answer = await bulk.client.post(
        BULK,
        params={"preview": "true"},
        json={"resources": targets or {"organisation_id": str(PRACTICE)}, "change": change},
        headers=bulk.admin(),
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_the_preview_flag_is_required_and_unknown_resources_are_not_found(bulk: Bulk) -> None:
    no_flag = await bulk.client.post(
        BULK,
        json={"resources": {"organisation_id": str(PRACTICE)}, "change": close("2027-06-01")},
        headers=bulk.admin(),
    )
    assert no_flag.status_code == 422
    missing = await bulk.change(close("2027-06-01"), preview=True, resource_ids=[str(uuid.uuid4())])
    assert missing.status_code == 404
