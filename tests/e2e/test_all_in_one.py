"""The all-in-one shape as `make run` starts it: one process, an embedded PostgreSQL, in-process events."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
import pytest

from kairos.platform.config import SERVICES
from kairos.platform.testing.issuer import TestIssuer
from tests.e2e.processes import KairosProcess, free_base_port, wait_until

pytestmark = pytest.mark.e2e


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    return int(pid_file.read_text().splitlines()[0]) if pid_file.exists() else None


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_all_in_one_runs_on_an_embedded_database_keeps_its_data_and_stops_on_ctrl_c(
    tmp_path: Path, issuer: TestIssuer
) -> None:
    base_port = free_base_port()
    data_dir = tmp_path / "data"
    env = {
        "KAIROS_DATA_DIR": str(data_dir),
        "KAIROS_BASE_PORT": str(base_port),
        # The issuer stays the default, identity behind this gateway; only the JWKS (to trust the
        # tests' own operator tokens) comes from the test issuer.
        "KAIROS_AUTH_JWKS_URL": issuer.jwks_url,
        "KAIROS_LOG_LEVEL": "WARNING",
    }
    for name in ("KAIROS_DATABASE_URL", "KAIROS_TRANSPORT"):
        env[name] = ""  # the operator's shell may set them; the all-in-one must not need them
    gateway = f"http://localhost:{base_port}"  # the URL `make run` prints, and the default issuer's host
    token = issuer.token(sub="operator-1", roles=["operator"], iss=f"{gateway}/api/v1/identity")
    operator = {"Authorization": f"Bearer {token}"}

    def instances() -> list[dict[str, str]]:
        response = httpx.get(f"{gateway}/api/v1/monitoring/services", params={"limit": 100}, headers=operator)
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]

    first = KairosProcess(["run"], env, tmp_path / "first.log").start()
    try:
        first.wait_ready(f"{gateway}/health/ready")
        ready = httpx.get(f"{gateway}/health/ready").json()
        assert ready["status"] == "ok"
        assert {f"{service}.database" for service in SERVICES if service != "gateway"} <= set(ready["checks"])

        landing = httpx.get(f"{gateway}/")
        assert landing.status_code == 200
        assert "Kairos" in landing.text
        for service in SERVICES:
            assert httpx.get(f"{gateway}/api/v1/{service}/openapi.json").status_code == 200

        # Identity answers as an OpenID Provider through the gateway, with the demo data loaded.
        provider = httpx.get(f"{gateway}/api/v1/identity/.well-known/openid-configuration").json()
        assert provider["issuer"] == f"{gateway}/api/v1/identity"
        assert httpx.get(provider["jwks_uri"]).json()["keys"]
        assert httpx.get(f"{gateway}/api/v1/identity/sign-in").status_code == 200

        # Every service announced itself through its outbox and the in-process transport.
        assert wait_until(lambda: {item["service"] for item in instances()} == set(SERVICES))
        postmaster = _postmaster_pid(data_dir)
        assert postmaster is not None
        assert _running(postmaster)

        assert first.interrupt() == 0
        assert wait_until(lambda: not _running(postmaster), timeout=10), "Ctrl-C left the embedded PostgreSQL running"
    finally:
        first.kill()

    second = KairosProcess(["run"], env, tmp_path / "second.log").start()
    try:
        second.wait_ready(f"{gateway}/health/ready")
        # The first run's records survived the restart, beside the second run's.
        assert wait_until(lambda: len(instances()) == 2 * len(SERVICES))
        assert second.interrupt() == 0
    finally:
        second.kill()
