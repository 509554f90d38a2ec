"""The distributed shape: every service its own process on loopback, RabbitMQ between them, reached
through the gateway."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import httpx
import pytest

from kairos.platform.config import SERVICES
from kairos.platform.testing.issuer import TestIssuer
from tests.conftest import POSTGRES_URL, TEST_KEYRING
from tests.e2e.processes import KairosProcess, free_base_port, wait_until

pytestmark = pytest.mark.e2e

TITLES = {
    "gateway": "Kairos Gateway",
    "identity": "Kairos Identity",
    "appointments": "Kairos Appointments",
    "chat": "Kairos Chat",
    "notifications": "Kairos Notifications",
    "documents": "Kairos Documents",
    "assistant": "Kairos Booking assistant",
    "monitoring": "Kairos Monitoring",
}


@pytest.fixture(scope="module")
def distributed(
    tmp_path_factory: pytest.TempPathFactory, database_prefix: str, rabbitmq_url: str, issuer: TestIssuer
) -> Iterator[tuple[KairosProcess, str]]:
    base_port = free_base_port()
    env = {
        "KAIROS_DATABASE_URL": POSTGRES_URL,
        "KAIROS_DATABASE_PREFIX": f"{database_prefix}dist_",
        "KAIROS_TRANSPORT": "rabbitmq",
        "KAIROS_RABBITMQ_URL": rabbitmq_url,
        "KAIROS_BASE_PORT": str(base_port),
        "KAIROS_AUTH_ISSUER": issuer.issuer,
        "KAIROS_AUTH_JWKS_URL": issuer.jwks_url,
        "KAIROS_LOG_LEVEL": "WARNING",
        "KAIROS_ENCRYPTION_KEYS": TEST_KEYRING.to_json(),
    }
    log = Path(tmp_path_factory.mktemp("distributed")) / "kairos.log"
    kairos = KairosProcess(["run", "distributed"], env, log).start()
    gateway = f"http://127.0.0.1:{base_port}"
    try:
        kairos.wait_ready(f"{gateway}/health/ready")
        for offset in range(len(SERVICES)):
            kairos.wait_ready(f"http://127.0.0.1:{base_port + offset}/health/ready")
        yield kairos, gateway
    finally:
        kairos.kill()


def test_a_request_through_the_gateway_reaches_every_service(distributed: tuple[KairosProcess, str]) -> None:
    _, gateway = distributed
    for service in SERVICES:
        response = httpx.get(f"{gateway}/api/v1/{service}/openapi.json", headers={"X-Correlation-ID": f"e2e-{service}"})
        assert response.status_code == 200, service
        assert response.json()["info"]["title"] == TITLES[service]
        assert response.headers["x-correlation-id"] == f"e2e-{service}"


def test_an_unknown_path_gets_a_problem_from_the_gateway(distributed: tuple[KairosProcess, str]) -> None:
    _, gateway = distributed
    response = httpx.get(f"{gateway}/api/v1/nowhere/at-all")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_events_cross_from_every_service_to_monitoring_over_rabbitmq(
    distributed: tuple[KairosProcess, str], issuer: TestIssuer
) -> None:
    _, gateway = distributed
    token = issuer.token(sub="operator-1", roles=["operator"])

    def services_seen() -> set[str]:
        response = httpx.get(
            f"{gateway}/api/v1/monitoring/services", params={"limit": 50}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        return {item["service"] for item in response.json()["items"]}

    seen = wait_until(lambda: services_seen() == set(SERVICES), timeout=30)
    assert seen, f"monitoring saw only {sorted(services_seen())}"


def test_monitoring_refuses_a_caller_without_the_operator_role(
    distributed: tuple[KairosProcess, str], issuer: TestIssuer
) -> None:
    _, gateway = distributed
    token = issuer.token(sub="patient-1", roles=["patient"])
    response = httpx.get(f"{gateway}/api/v1/monitoring/services", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["type"] == "urn:kairos:problem:forbidden"


def test_an_operator_lists_and_replays_parked_events_with_the_kairos_command(
    distributed: tuple[KairosProcess, str], rabbitmq_url: str
) -> None:
    kairos, _ = distributed
    event_id = str(uuid.uuid4())
    broken = {  # a service.started whose data breaks the contract: no retry can help, it is parked
        "id": event_id,
        "type": "service.started",
        "version": 1,
        "occurred_at": "2026-11-25T10:00:00Z",
        "producer": "e2e",
        "subject": "service:e2e",
        "data": {"service": "e2e"},
    }
    asyncio.run(_publish(rabbitmq_url, broken))

    def parked() -> list[dict[str, object]]:
        listed = _kairos(kairos, "events", "parked", "monitoring")
        return [event for event in json.loads(listed) if event["envelope"]["id"] == event_id]  # type: ignore[index]

    found = wait_until(parked, timeout=20)
    assert found, "the broken event was not parked"
    assert "service.started" in str(found[0]["error"])

    replayed = json.loads(_kairos(kairos, "events", "replay", "monitoring", "--id", event_id))
    assert replayed == {"replayed": 1}
    assert wait_until(parked, timeout=20), "replayed, the still-broken event is parked again"


async def _publish(rabbitmq_url: str, envelope: dict[str, object]) -> None:
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("kairos.events")
        await exchange.publish(
            aio_pika.Message(json.dumps(envelope).encode(), message_id=str(envelope["id"])),
            routing_key=str(envelope["type"]),
        )


def _kairos(process: KairosProcess, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "kairos", *args],
        env=process.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ctrl_c_stops_every_service(distributed: tuple[KairosProcess, str]) -> None:
    kairos, gateway = distributed
    assert kairos.interrupt() == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{gateway}/health/live", timeout=2)
