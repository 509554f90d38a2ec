"""Requests per second and latency through the gateway against the same service asked directly, in one run.

- Straight to the service, the ceiling: ``GET /api/v1/appointments/ping`` on a bare FastAPI app (one async
  route, a small JSON answer) served by uvicorn in a process of its own, ``CONNECTIONS`` keep-alive
  connections each sending its next request as soon as the last is answered, for ``SECONDS`` s.
- Through the gateway, the Kairos figure: the same requests to a gateway process built from the gateway's
  service definition and served as the platform serves it (``kairos.platform.serve``: the header-timeout
  protocol, the connection cap), with that service as its only instance of ``appointments``. A bare route:
  no rate-limit rules, no cache, no token; the flood caps, security headers, CORS, correlation ids, the
  balancer, breaker and health checks all in the path.
- The direct run goes before and after the gateway run and the two are pooled, so a machine whose load
  drifts affects both sides alike.

The load generator is a small HTTP/1.1 client on raw asyncio streams in a process of its own (an httpx
generator would saturate before the gateway). All three processes share the machine's cores: through the
gateway, three processes compete where two did directly, so the ratio is a floor of what the gateway costs
on its own host. The gateway's own CPU time is measured too: requests per gateway CPU-second is the figure
comparable with Kong's published ~8k requests/s per vCPU without plugins.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

CONNECTIONS = 32
SECONDS = 6.0
WARM_UP_SECONDS = 1.5
PATH = "/api/v1/appointments/ping"
KONG_REQUESTS_PER_VCPU = 8_000  # Kong Gateway's published figure, proxying without plugins
POSTGRES_URL = os.environ.get("KAIROS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]


# The processes under test.


def serve_bare(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get(PATH)
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def serve_gateway(port: int, service_url: str, database: str) -> None:
    from sqlalchemy.engine import make_url

    from kairos.gateway.app import definition
    from kairos.platform.config import SERVICES, Settings, TransportKind
    from kairos.platform.events.inprocess import InProcessTransport
    from kairos.platform.observability.logging import setup_logging
    from kairos.platform.runtime import ServiceRuntime
    from kairos.platform.serve import serve, stop_signal

    settings = Settings(
        transport=TransportKind.IN_PROCESS,
        service_urls={service: (service_url,) for service in SERVICES if service != "gateway"},
        gateway_rate_limits=(),
        gateway_cache_storage="off",
        log_level="WARNING",
    )
    setup_logging(level=settings.log_level, log_format=settings.log_format)
    url = make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg", database=database)
    runtime = ServiceRuntime(definition, settings=settings, database_url=url, transport=InProcessTransport())
    await runtime.migrate()
    await runtime.start()
    try:
        await serve(runtime.app, host="127.0.0.1", port=port, stop=stop_signal())
    finally:
        await runtime.stop()


# The load generator.


async def _connection(port: int, until: float, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {PATH} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    failures = 0
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            lowered = head.lower()
            at = lowered.index(b"content-length:") + len(b"content-length:")
            await reader.readexactly(int(lowered[at : lowered.index(b"\r\n", at)]))
            latencies.append(time.perf_counter() - started)
            failures += head[9:12] != b"200"
    finally:
        writer.close()
    return failures


async def _load(port: int, seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    started = time.perf_counter()
    failures = await asyncio.gather(*(_connection(port, started + seconds, latencies) for _ in range(CONNECTIONS)))
    return latencies, sum(failures), time.perf_counter() - started


def run_load(port: int, seconds: float) -> tuple[list[float], int, float]:
    """In a process of its own: the latencies of every answer, how many were not 200, the time taken."""
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_load(port, seconds))
    return asyncio.run(_load(port, seconds))


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    latencies: list[float]
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    @classmethod
    def pooled(cls, *runs: Figures) -> Figures:
        return cls(
            requests=sum(run.requests for run in runs),
            seconds=sum(run.seconds for run in runs),
            latencies=[latency for run in runs for latency in run.latencies],
            failures=sum(run.failures for run in runs),
        )


async def measure(pool: ProcessPoolExecutor, port: int, seconds: float) -> Figures:
    latencies, failures, took = await asyncio.get_running_loop().run_in_executor(pool, run_load, port, seconds)
    return Figures(len(latencies), took, latencies, failures)


# Orchestration.


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def process(*arguments: str) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.gateway_throughput", *arguments],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


async def wait_until_answering(url: str, child: subprocess.Popen[bytes], patience: float = 60.0) -> None:
    deadline = time.monotonic() + patience
    async with httpx.AsyncClient() as client:
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"{url} exited: {(child.stderr.read() if child.stderr else b'').decode()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url, timeout=1)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {patience:g} s")
            await asyncio.sleep(0.1)


def cpu_seconds(child: subprocess.Popen[bytes]) -> float:
    times = psutil.Process(child.pid).cpu_times()
    return float(times.user + times.system)


async def main() -> None:
    from kairos.platform.testing.infrastructure import drop_databases

    prefix = f"kairos_bench_{uuid.uuid4().hex[:10]}_"
    service_port, gateway_port = free_port(), free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    try:
        with (
            process("--serve-bare", str(service_port)) as service,
            process("--serve-gateway", str(gateway_port), service_url, f"{prefix}gateway") as gateway,
            ProcessPoolExecutor(max_workers=1) as pool,
        ):
            await wait_until_answering(f"{service_url}{PATH}", service)
            await wait_until_answering(f"http://127.0.0.1:{gateway_port}{PATH}", gateway)
            await measure(pool, service_port, WARM_UP_SECONDS)
            await measure(pool, gateway_port, WARM_UP_SECONDS)
            before = await measure(pool, service_port, SECONDS)
            gateway_cpu_before = cpu_seconds(gateway)
            through = await measure(pool, gateway_port, SECONDS)
            gateway_cpu = cpu_seconds(gateway) - gateway_cpu_before
            after = await measure(pool, service_port, SECONDS)
    finally:
        await drop_databases(POSTGRES_URL, prefix)
    direct = Figures.pooled(before, after)
    per_gateway_cpu = through.requests / gateway_cpu if gateway_cpu else float("nan")
    print(
        f"gateway: through the gateway {through.rate:,.0f} req/s (p50 {through.percentile(0.5):.2f} ms, "
        f"p99 {through.percentile(0.99):.2f} ms); straight to the service {direct.rate:,.0f} req/s "
        f"(p50 {direct.percentile(0.5):.2f} ms, p99 {direct.percentile(0.99):.2f} ms); "
        f"ratio {through.rate / direct.rate:.2f}; added p99 {through.percentile(0.99) - direct.percentile(0.99):.2f} ms"
    )
    kong_ratio = per_gateway_cpu / KONG_REQUESTS_PER_VCPU
    print(
        f"gateway: {per_gateway_cpu:,.0f} requests per gateway CPU-second "
        f"(Kong without plugins: ~{KONG_REQUESTS_PER_VCPU:,}/vCPU, ratio {kong_ratio:.2f})"
    )
    print(
        f"gateway: {CONNECTIONS} connections, {SECONDS:g} s a run; direct before/after {before.rate:,.0f}/"
        f"{after.rate:,.0f} req/s; answers other than 200: {through.failures} through, {direct.failures} direct; "
        f"{os.cpu_count()} cores shared by the load generator, the gateway and the service"
    )
    print(
        f"gateway: mean latency through {statistics.fmean(through.latencies) * 1000:.2f} ms, "
        f"direct {statistics.fmean(direct.latencies) * 1000:.2f} ms"
    )


def _child() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve-bare", type=int)
    parser.add_argument("--serve-gateway", nargs=3, metavar=("PORT", "SERVICE_URL", "DATABASE"))
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
    elif args.serve_gateway:
        port, service_url, database = args.serve_gateway
        asyncio.run(serve_gateway(int(port), service_url, database))
    else:
        asyncio.run(main())


if __name__ == "__main__":
    _child()
