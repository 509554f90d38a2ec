"""The distributed shape: every service its own process on loopback, RabbitMQ between them, reached
through the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kairos.platform.config import SERVICES
from kairos.platform.testing.issuer import TestIssuer
from tests.conftest import POSTGRES_URL
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


def test_ctrl_c_stops_every_service(distributed: tuple[KairosProcess, str]) -> None:
    kairos, gateway = distributed
    assert kairos.interrupt() == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{gateway}/health/live", timeout=2)
