"""Real processes and servers on loopback for the gateway's tests: stand-in service instances in their own
processes (killed with SIGKILL, restarted on the same port), and the gateway itself, built from its service
definition and served by uvicorn in this process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import URL

from kairos.gateway.app import definition
from kairos.platform.config import SERVICES, Settings, TransportKind
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.serve import serve

ROOT = Path(__file__).resolve().parents[3]
SERVICE = "appointments"  # the service the stand-in instances play
API = f"/api/v1/{SERVICE}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Upstream:
    """One stand-in instance in its own process."""

    def __init__(self, name: str, log_dir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log_dir / f"upstream-{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Upstream:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.integration.gateway.upstream",
                    "--name",
                    self.name,
                    "--port",
                    str(self.port),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        return self

    def wait_live(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(f"upstream {self.name} exited:\n{self._log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye, connections reset, as when a pod or a machine dies."""
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
            self._process = None

    async def state(self) -> dict[str, Any]:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url}/control/state")
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result

    async def hits(self) -> int:
        return int((await self.state())["hits"])

    async def set(self, *, ready: bool | None = None, status: int | None = None) -> None:
        params = {}
        if ready is not None:
            params["ready"] = str(ready).lower()
        if status is not None:
            params["status"] = str(status)
        async with httpx.AsyncClient() as client:
            (await client.post(f"{self.url}/control/set", params=params)).raise_for_status()

    async def release(self) -> None:
        async with httpx.AsyncClient() as client:
            (await client.post(f"{self.url}/control/release")).raise_for_status()


@contextlib.contextmanager
def running_upstreams(log_dir: Path, *names: str) -> Iterator[list[Upstream]]:
    started = [Upstream(name, log_dir).start() for name in names]
    try:
        for upstream in started:
            upstream.wait_live()
        yield started
    finally:
        for upstream in started:
            upstream.kill()


def gateway_settings(base: Settings, instances: list[Upstream], **overrides: Any) -> Settings:
    """The gateway in front of ``instances`` (as the appointments service), with fast health checks; every
    other service points at a closed port."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    urls: dict[str, tuple[str, ...]] = {service: (nowhere,) for service in SERVICES if service != "gateway"}
    urls[SERVICE] = tuple(upstream.url for upstream in instances)
    settings = base.model_copy(
        update={
            "transport": TransportKind.IN_PROCESS,
            "service_urls": urls,
            "gateway_balancer": "round-robin",
            "gateway_health_interval": 0.1,
            "gateway_health_timeout": 0.5,
            "gateway_healthy_threshold": 2,
            "gateway_unhealthy_threshold": 2,
            "gateway_eject_after": 2,
            "gateway_breaker_failures": 5,
            "gateway_breaker_reset_seconds": 0.5,
            "gateway_rate_limits": (),
            "gateway_rate_limit_storage": "memory",
            **overrides,
        }
    )
    return Settings.model_validate(settings.model_dump())  # validated as if read from the environment


@dataclass
class Gateway:
    url: str
    runtime: ServiceRuntime
    client: httpx.AsyncClient

    async def metric(self, name: str, **labels: str) -> float | None:
        """A sample from the gateway's own ``/metrics``, as Prometheus would scrape it."""
        text = (await self.client.get("/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                    return float(sample.value)
        return None

    async def wait_for_metric(self, name: str, value: float, timeout: float = 10.0, **labels: str) -> None:
        deadline = time.monotonic() + timeout
        while (current := await self.metric(name, **labels)) != value:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name}{labels} is {current}, not {value}, after {timeout}s")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_gateway(settings: Settings, database_url: URL) -> AsyncIterator[Gateway]:
    runtime = ServiceRuntime(definition, settings=settings, database_url=database_url, transport=InProcessTransport())
    await runtime.migrate()
    await runtime.start()
    port = free_port()
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(runtime.app, host="127.0.0.1", port=port, stop=stop))
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await _wait_live(client, serving)
            yield Gateway(url=url, runtime=runtime, client=client)
    finally:
        stop.set()
        await serving
        await runtime.stop()


async def _wait_live(client: httpx.AsyncClient, serving: asyncio.Task[None], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if serving.done():
            serving.result()
        try:
            if (await client.get("/health/live")).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.02)
