"""Requests per second and added latency through the gateway against the same service asked directly, in one run.

- Straight to the service, the ceiling: ``GET /api/v1/appointments/ping`` on a bare FastAPI app (one async
  route, a small JSON answer) served by uvicorn in a process of its own.
- Through the gateway, the Kairos figure: the same requests to a gateway process built from the gateway's
  service definition and served as ``kairos run gateway`` serves it (``kairos.platform.serve``: the
  header-timeout protocol, the connection cap; JSON logs at INFO, so one access-log line a request, to a
  file; the tracer provider of ``setup_tracing`` without an exporter), with that service as its only
  instance of ``appointments``. A bare route: no rate-limit rules, no cache, no token; the flood caps,
  security headers, CORS, correlation ids, span, metrics, the balancer, breaker and health checks all in the
  path.

Two figures, because they answer two questions:

- **Throughput at saturation**: ``wrk`` (native, so the load generator takes little of the CPU the gateway
  needs) with ``CONNECTIONS`` keep-alive connections for ``SECONDS`` s, straight to the service before and
  after the run through the gateway (pooled, so a machine whose load drifts affects both sides alike).
  **ratio** = through ÷ direct. The CPU seconds each process used are read from the kernel (psutil), so the
  CPU a request costs in the gateway and in the service is printed too: the figure least disturbed by
  other work on the machine, and the one to hold against Kong's ~8k requests/s per vCPU.
- **Latency added at a fixed, moderate rate**: at saturation p99 is queueing, not what the gateway adds. An
  open-loop generator (asyncio, in a process of its own) sends ``RATE`` requests/s (or half the rate the
  gateway reached at saturation, if lower: on a machine busy with other work a fixed 500/s could be an
  overload, and the figure would measure a queue again) on a schedule for ``PACED_SECONDS`` s, direct and
  through in turn, twice; a request's latency counts from the moment it was due, so a stalled server cannot
  hide its stall by delaying the next requests (coordinated omission). **added p50 / p99** = through − direct.

All processes share the machine's cores: through the gateway, three compete where two did directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
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
WARM_UP_SECONDS = 2.0
RATE = 500  # requests/s for the latency figure: well below what either side saturates at on a quiet machine
RATE_SHARE = 0.5  # … and never above this share of the rate through the gateway at saturation in the same run
PACED_SECONDS = 5.0
PACED_CONNECTIONS = 64  # enough that a request never waits for a free connection at this rate
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
    from kairos.platform.observability.tracing import setup_tracing
    from kairos.platform.runtime import ServiceRuntime
    from kairos.platform.serve import serve, stop_signal

    settings = Settings(
        transport=TransportKind.IN_PROCESS,
        service_urls={service: (service_url,) for service in SERVICES if service != "gateway"},
        gateway_rate_limits=(),
        gateway_cache_storage="off",
    )
    # As the `kairos` command sets a process up (kairos.cli._settings).
    setup_logging(level=settings.log_level, log_format=settings.log_format)
    setup_tracing(service_name="kairos-gateway", exporter_endpoint=settings.otel_exporter_endpoint)
    url = make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg", database=database)
    runtime = ServiceRuntime(definition, settings=settings, database_url=url, transport=InProcessTransport())
    await runtime.migrate()
    await runtime.start()
    try:
        await serve(runtime.app, host="127.0.0.1", port=port, stop=stop_signal())
    finally:
        await runtime.stop()


# Throughput at saturation: wrk.


@dataclass(frozen=True)
class Saturated:
    requests: int
    seconds: float
    failures: int  # answers other than 2xx/3xx, and socket errors
    service_cpu: float  # CPU seconds of the service process during the run
    gateway_cpu: float  # … of the gateway process (0 for a direct run)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @classmethod
    def pooled(cls, *runs: Saturated) -> Saturated:
        return cls(
            requests=sum(run.requests for run in runs),
            seconds=sum(run.seconds for run in runs),
            failures=sum(run.failures for run in runs),
            service_cpu=sum(run.service_cpu for run in runs),
            gateway_cpu=sum(run.gateway_cpu for run in runs),
        )


def wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: run `bash scripts/system-packages.sh` (or `make test-setup`)")
    return found


def run_wrk(port: int, seconds: float) -> tuple[int, float, int]:
    """Requests answered, the time taken and the failures, as wrk reports them."""
    output = subprocess.run(
        [wrk(), "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", f"http://127.0.0.1:{port}{PATH}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    if done is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    took = float(done[2]) / (1000 if done[3] == "ms" else 1)
    failures = sum(int(count) for count in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors is not None:
        failures += sum(int(count) for count in socket_errors.groups())
    return int(done[1]), took, failures


async def saturate(port: int, seconds: float, service: psutil.Process, gateway: psutil.Process | None) -> Saturated:
    before = cpu_seconds(service), cpu_seconds(gateway)
    requests, took, failures = await asyncio.to_thread(run_wrk, port, seconds)
    return Saturated(requests, took, failures, cpu_seconds(service) - before[0], cpu_seconds(gateway) - before[1])


def cpu_seconds(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return float(times.user + times.system)


# Latency at a fixed rate: an open-loop generator.


async def _paced(port: int, rate: float, seconds: float) -> tuple[list[float], int]:
    request = f"GET {PATH} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    count = int(rate * seconds)
    latencies: list[float] = []
    failures = 0
    next_index = 0
    start = time.perf_counter() + 0.2  # every connection open before the first request is due

    async def connection() -> None:
        nonlocal next_index, failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < count:
                due = start + next_index / rate
                next_index += 1
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                lowered = head.lower()
                at = lowered.index(b"content-length:") + len(b"content-length:")
                await reader.readexactly(int(lowered[at : lowered.index(b"\r\n", at)]))
                latencies.append(time.perf_counter() - due)  # from when it was due: no coordinated omission
                failures += head[9:12] != b"200"
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(PACED_CONNECTIONS)))
    return latencies, failures


def run_paced(port: int, rate: float, seconds: float) -> tuple[list[float], int]:
    """In a process of its own: the latency of every answer, and how many were not 200."""
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_paced(port, rate, seconds))
    return asyncio.run(_paced(port, rate, seconds))


@dataclass(frozen=True)
class Paced:
    latencies: list[float]
    failures: int

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000

    @classmethod
    def pooled(cls, *runs: Paced) -> Paced:
        return cls([latency for run in runs for latency in run.latencies], sum(run.failures for run in runs))


async def pace(pool: ProcessPoolExecutor, port: int, rate: float, seconds: float) -> Paced:
    latencies, failures = await asyncio.get_running_loop().run_in_executor(pool, run_paced, port, rate, seconds)
    return Paced(latencies, failures)


# Orchestration.


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def process(log: Path, *arguments: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.gateway_throughput", *arguments],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=output,  # the gateway's access log: a file, as a deployment's log collector would read
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


async def wait_until_answering(url: str, child: subprocess.Popen[bytes], log: Path, patience: float = 60.0) -> None:
    deadline = time.monotonic() + patience
    async with httpx.AsyncClient() as client:
        while True:
            if child.poll() is not None:
                output = await asyncio.to_thread(log.read_text, errors="replace")
                raise RuntimeError(f"{url} exited: {output[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url, timeout=1)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {patience:g} s")
            await asyncio.sleep(0.1)


async def main() -> None:
    from kairos.platform.testing.infrastructure import drop_databases

    wrk()
    prefix = f"kairos_bench_{uuid.uuid4().hex[:10]}_"
    service_port, gateway_port = free_port(), free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    load_before = os.getloadavg()[0]
    try:
        with (
            tempfile.TemporaryDirectory(prefix="kairos-bench-") as logs,
            process(Path(logs) / "service.log", "--serve-bare", str(service_port)) as service_child,
            process(
                Path(logs) / "gateway.log", "--serve-gateway", str(gateway_port), service_url, f"{prefix}gateway"
            ) as gateway_child,
            ProcessPoolExecutor(max_workers=1) as pool,
        ):
            await wait_until_answering(f"{service_url}{PATH}", service_child, Path(logs) / "service.log")
            await wait_until_answering(
                f"http://127.0.0.1:{gateway_port}{PATH}", gateway_child, Path(logs) / "gateway.log"
            )
            service, gateway = psutil.Process(service_child.pid), psutil.Process(gateway_child.pid)
            await saturate(service_port, WARM_UP_SECONDS, service, None)
            await saturate(gateway_port, WARM_UP_SECONDS, service, gateway)
            before = await saturate(service_port, SECONDS, service, None)
            through = await saturate(gateway_port, SECONDS, service, gateway)
            after = await saturate(service_port, SECONDS, service, None)
            paced_direct: list[Paced] = []
            paced_through: list[Paced] = []
            rate = min(RATE, round(through.rate * RATE_SHARE))
            for _ in range(2):
                paced_direct.append(await pace(pool, service_port, rate, PACED_SECONDS))
                paced_through.append(await pace(pool, gateway_port, rate, PACED_SECONDS))
    finally:
        await drop_databases(POSTGRES_URL, prefix)
    direct = Saturated.pooled(before, after)
    at_rate_direct, at_rate_through = Paced.pooled(*paced_direct), Paced.pooled(*paced_through)
    service_ms = direct.service_cpu / direct.requests * 1000
    gateway_ms = through.gateway_cpu / through.requests * 1000
    behind_ms = through.service_cpu / through.requests * 1000
    print(
        f"gateway: at saturation through the gateway {through.rate:,.0f} req/s, straight to the service "
        f"{direct.rate:,.0f} req/s (before/after {before.rate:,.0f}/{after.rate:,.0f}); "
        f"ratio {through.rate / direct.rate:.2f}"
    )
    print(
        f"gateway: at {rate} req/s, p50/p99 through {at_rate_through.percentile(0.5):.2f}/"
        f"{at_rate_through.percentile(0.99):.2f} ms, direct {at_rate_direct.percentile(0.5):.2f}/"
        f"{at_rate_direct.percentile(0.99):.2f} ms; added p50 "
        f"{at_rate_through.percentile(0.5) - at_rate_direct.percentile(0.5):.2f} ms, added p99 "
        f"{at_rate_through.percentile(0.99) - at_rate_direct.percentile(0.99):.2f} ms"
    )
    print(
        f"gateway: CPU a request: gateway {gateway_ms:.3f} ms, the service asked directly {service_ms:.3f} ms "
        f"(behind the gateway {behind_ms:.3f} ms); gateway ÷ service {gateway_ms / service_ms:.1f}"
    )
    per_gateway_cpu = 1000 / gateway_ms
    print(
        f"gateway: {per_gateway_cpu:,.0f} requests per gateway CPU-second "
        f"(Kong without plugins: ~{KONG_REQUESTS_PER_VCPU:,}/vCPU, "
        f"ratio {per_gateway_cpu / KONG_REQUESTS_PER_VCPU:.2f})"
    )
    print(
        f"gateway: wrk {CONNECTIONS} connections, {SECONDS:g} s a run; {rate} req/s open loop over "
        f"{PACED_CONNECTIONS} connections, {PACED_SECONDS:g} s × 2 each side; failures {through.failures} through, "
        f"{direct.failures} direct (saturated), {at_rate_through.failures}/{at_rate_direct.failures} (paced); "
        f"{os.cpu_count()} cores, load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after"
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
