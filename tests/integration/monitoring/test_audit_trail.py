"""Monitoring's audit trail on the real database: records arrive as ``audit.recorded`` events through the
consumer (inbox included), are chained in order even when they arrive together, cannot be changed through
SQL, and a change made anyway (a superuser disabling the trigger) is found by the verification, through the
API and the ``kairos audit verify`` command. Only operators read the trail."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kairos.contracts.events.audit import AuditRecorded
from kairos.monitoring.domain.audit_chain import AuditEntry, link_hash
from kairos.platform.config import Settings
from kairos.platform.db.engine import database_url
from kairos.platform.events.consumer import Outcome
from kairos.platform.events.envelope import Envelope
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.ids import new_id
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from kairos.services import definition
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.integration

API = "/api/v1/monitoring"
AT = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
async def monitoring(base_settings: Settings) -> AsyncIterator[ServiceRuntime]:
    settings = base_settings.model_copy(update={"database_prefix": f"{base_settings.database_prefix}audit_"})
    runtime = ServiceRuntime(
        definition("monitoring"),
        settings=settings,
        database_url=database_url(settings, "monitoring"),
        transport=InProcessTransport(),
    )
    await runtime.migrate()
    yield runtime
    await runtime.stop()


@pytest.fixture(scope="module")
async def client(monitoring: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=monitoring.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://monitoring") as http:
        yield http


def envelope(**overrides: Any) -> Envelope:
    record = {
        "service": "appointments",
        "actor": "staff-1",
        "action": "read",
        "resource_type": "appointments.appointment",
        "resource_id": str(new_id()),
        "data_subject": "patient-1",
        "fields": ["answers", "message"],
        "recorded_at": AT,
        **overrides,
    }
    event = AuditRecorded.model_validate(record)
    return Envelope(
        id=new_id(),
        type=event.event_type,
        occurred_at=AT,
        producer=event.service,
        subject=f"{event.resource_type}:{event.resource_id}",
        data=event.model_dump(mode="json"),
    )


def operator(issuer: TestIssuer) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.token(sub='operator-1', roles=['operator'])}"}


async def trail(client: httpx.AsyncClient, issuer: TestIssuer, **params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 50, **({"cursor": cursor} if cursor else {})}
        page = await client.get(f"{API}/audit", params=query, headers=operator(issuer))
        assert page.status_code == 200, page.text
        entries += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return entries


async def verification(client: httpx.AsyncClient, issuer: TestIssuer) -> dict[str, Any]:
    answer = await client.get(f"{API}/audit/verification", headers=operator(issuer))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


async def test_records_arriving_together_are_chained_once_each_in_order(
    monitoring: ServiceRuntime, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    assert monitoring.consumer is not None
    delivered = [envelope(data_subject=f"subject-{n % 3}", actor=f"actor-{n % 2}") for n in range(30)]
    outcomes = await asyncio.gather(*(monitoring.consumer.handle(item) for item in delivered))
    assert set(outcomes) == {Outcome.HANDLED}
    # A redelivery of the same event adds nothing.
    assert await monitoring.consumer.handle(delivered[0]) == Outcome.DUPLICATE

    entries = await trail(client, issuer)
    assert [entry["position"] for entry in entries] == list(range(1, len(entries) + 1))
    assert {entry["event_id"] for entry in entries} >= {str(item.id) for item in delivered}
    assert entries[0]["previous_hash"] == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after["previous_hash"] == before["hash"]
    assert (await verification(client, issuer))["intact"] is True


async def test_the_trail_filters_by_subject_actor_service_and_time(
    monitoring: ServiceRuntime, client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    assert monitoring.consumer is not None
    later = AT + timedelta(days=30)
    for item in (
        envelope(data_subject="filtered-subject", actor="filter-actor", recorded_at=later),
        envelope(data_subject="filtered-subject", service="identity", recorded_at=later + timedelta(hours=1)),
        envelope(data_subject="someone-else", actor="filter-actor", recorded_at=later + timedelta(hours=2)),
    ):
        await monitoring.consumer.handle(item)

    subject = await trail(client, issuer, data_subject="filtered-subject")
    assert [entry["service"] for entry in subject] == ["appointments", "identity"]
    assert [entry["data_subject"] for entry in await trail(client, issuer, actor="filter-actor")] == [
        "filtered-subject",
        "someone-else",
    ]
    assert [entry["actor"] for entry in await trail(client, issuer, service="identity")] == ["staff-1"]
    window = {"from": (later + timedelta(minutes=30)).isoformat(), "to": (later + timedelta(hours=2)).isoformat()}
    assert [entry["service"] for entry in await trail(client, issuer, **window)] == ["identity"]
    bad = await client.get(f"{API}/audit", params={"from": "yesterday"}, headers=operator(issuer))
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_only_operators_read_and_verify_the_trail(client: httpx.AsyncClient, issuer: TestIssuer) -> None:
    others = {
        "patient": issuer.token(sub="p", roles=["patient"], permissions=["appointments:request"]),
        "staff": issuer.token(sub="s", roles=["staff"], permissions=["appointments:read"], org=str(new_id())),
        "professional": issuer.token(sub="d", roles=["professional"], permissions=["appointments:decide"]),
        "domain admin": issuer.token(sub="a", roles=["domain_admin"], permissions=["domains:manage"]),
    }
    for path in ("/audit", "/audit/verification"):
        assert (await client.get(f"{API}{path}", headers=operator(issuer))).status_code == 200
        assert (await client.get(f"{API}{path}")).status_code == 401
        for role, token in others.items():
            refused = await client.get(f"{API}{path}", headers={"Authorization": f"Bearer {token}"})
            assert refused.status_code == 403, (role, path)


async def test_sql_cannot_change_the_trail_and_a_change_made_anyway_is_found(
    monitoring: ServiceRuntime, client: httpx.AsyncClient, issuer: TestIssuer, base_settings: Settings
) -> None:
    assert monitoring.consumer is not None
    for _ in range(3):
        await monitoring.consumer.handle(envelope())
    for statement in (
        "UPDATE audit_trail SET actor = 'nobody' WHERE position = 2",
        "DELETE FROM audit_trail WHERE position = 2",
        "TRUNCATE audit_trail",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with monitoring.engine.begin() as connection:
                await connection.execute(text(statement))
    assert (await verification(client, issuer))["intact"] is True

    # A superuser can still switch the trigger off for a session; the chain then tells on them.
    async with monitoring.engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(text("UPDATE audit_trail SET data_subject = 'someone-else' WHERE position = 2"))
    checked = await verification(client, issuer)
    assert checked["intact"] is False
    assert checked["first_broken"] == {"position": 2, "reason": "hash-mismatch"}
    assert checked["checked"] == 2

    environment = {
        **os.environ,
        "KAIROS_DATABASE_URL": POSTGRES_URL,
        "KAIROS_DATABASE_PREFIX": monitoring.settings.database_prefix,
        "KAIROS_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "kairos", "audit", "verify"]
    done = await asyncio.to_thread(
        subprocess.run, command, env=environment, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["first_broken"] == {"position": 2, "reason": "hash-mismatch"}

    # Recomputing the changed entry's own hash moves the break to the next link, which still names the old one.
    changed = next(entry for entry in await trail(client, issuer) if entry["position"] == 2)
    entry = AuditEntry(
        **{name: changed[name] for name in AuditEntry.__dataclass_fields__ if name not in {"fields", "recorded_at"}},
        fields=tuple(changed["fields"]),
        recorded_at=datetime.fromisoformat(changed["recorded_at"]),
    )
    async with monitoring.engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        await connection.execute(
            text("UPDATE audit_trail SET hash = :hash WHERE position = 2"),
            {"hash": link_hash(changed["previous_hash"], entry)},
        )
    assert (await verification(client, issuer))["first_broken"] == {"position": 3, "reason": "previous-mismatch"}
