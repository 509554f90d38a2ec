"""What every benchmark of a running service needs: throw-away infrastructure, the service in a process of its
own, and a closed-loop load generator that measures rates, latencies and the CPU each side used.

Not a benchmark itself (the leading underscore keeps ``python -m benchmarks`` from running it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from kairos.platform.config import LogFormat, TransportKind
from kairos.platform.crypto import Keyring
from kairos.platform.testing.infrastructure import create_vhost, delete_vhost, drop_databases, unique_name

READY_LIMIT = 30.0  # a service must answer /health/ready by then
WARM_UP_SECONDS = 1.0  # before each closed-loop figure, not counted: connections, caches, first loads
REQUEST_TIMEOUT = 15.0


@dataclass(frozen=True)
class Infrastructure:
    postgres_url: str
    rabbitmq_url: str
    database_prefix: str
    encryption_keys: str


@contextlib.asynccontextmanager
async def throwaway_infrastructure() -> AsyncIterator[Infrastructure]:
    """A vhost and a database name prefix of this run's own, removed afterwards whatever happened."""
    postgres_url = os.environ.get("KAIROS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    rabbitmq_url = os.environ.get("KAIROS_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    run_id = unique_name("")
    vhost = f"kairos-bench-{run_id}"
    prefix = f"kairos_bench_{run_id}_"
    try:
        await asyncio.to_thread(create_vhost, vhost)
        yield Infrastructure(
            postgres_url, f"{rabbitmq_url.rstrip('/')}/{vhost}", prefix, Keyring.generate("bench").to_json()
        )
    finally:
        await drop_databases(postgres_url, prefix)
        await asyncio.to_thread(delete_vhost, vhost)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_environment(
    infrastructure: Infrastructure, *, issuer: str, port: int, extra: Mapping[str, str] = {}
) -> dict[str, str]:
    """The environment of ``kairos run SERVICE`` on the throw-away infrastructure (no KAIROS_* leaks in)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("KAIROS_")}
    environment.update(
        KAIROS_DATABASE_URL=infrastructure.postgres_url,
        KAIROS_DATABASE_PREFIX=infrastructure.database_prefix,
        KAIROS_TRANSPORT=TransportKind.RABBITMQ.value,
        KAIROS_RABBITMQ_URL=infrastructure.rabbitmq_url,
        KAIROS_ENCRYPTION_KEYS=infrastructure.encryption_keys,
        KAIROS_AUTH_ISSUER=issuer,
        KAIROS_HOST="127.0.0.1",
        KAIROS_PORT=str(port),
        KAIROS_LOG_LEVEL="WARNING",
        KAIROS_LOG_FORMAT=LogFormat.CONSOLE.value,
    )
    environment.update(extra)
    return environment


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    base_url: str
    process: psutil.Process


@contextlib.asynccontextmanager
async def service_process(name: str, environment: Mapping[str, str], port: int) -> AsyncIterator[ServiceProcess]:
    """``kairos run NAME --no-migrate`` in a process of its own, ready to answer; stopped (SIGTERM) afterwards."""
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="kairos-bench-") as directory:
        output = Path(directory) / f"{name}.log"
        with output.open("wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "kairos",
                "run",
                name,
                "--no-migrate",
                env=dict(environment),
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
        try:
            await _wait_until_ready(name, base_url, process, output)
            yield ServiceProcess(name, base_url, psutil.Process(process.pid))
        finally:
            await _stop(process)


async def _wait_until_ready(name: str, base_url: str, process: asyncio.subprocess.Process, output: Path) -> None:
    deadline = time.perf_counter() + READY_LIMIT
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        while time.perf_counter() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{_tail(output)}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} was not ready after {READY_LIMIT:g} s:\n{_tail(output)}")


def _tail(output: Path) -> str:
    return "\n".join(output.read_text(errors="replace").splitlines()[-30:])


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=10.0)
    except TimeoutError:
        process.kill()
        await process.wait()


@dataclass(frozen=True)
class CpuSample:
    at: float
    server: float  # CPU seconds of the service process (all its threads)
    generator: float  # CPU seconds of this process
    machine_busy: float  # CPU seconds of the whole machine, not idle

    @staticmethod
    def take(server: psutil.Process) -> CpuSample:
        times = server.cpu_times()
        mine = psutil.Process().cpu_times()
        machine = psutil.cpu_times()
        busy = ("user", "nice", "system", "irq", "softirq")  # guest time is counted in user already
        return CpuSample(
            at=time.perf_counter(),
            server=times.user + times.system,
            generator=mine.user + mine.system,
            machine_busy=sum(getattr(machine, name, 0.0) for name in busy),
        )


@dataclass(frozen=True)
class Load:
    """What one closed-loop figure did: successes, other answers, latencies and the cores it kept busy."""

    succeeded: int
    seconds: float
    others: Counter[str]
    latencies: list[float]
    server_cores: float
    generator_cores: float
    machine_cores: float

    @property
    def attempts(self) -> int:
        return self.succeeded + sum(self.others.values())

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds

    @property
    def per_server_cpu_second(self) -> float:
        return self.succeeded / (self.server_cores * self.seconds) if self.server_cores else 0.0

    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else 0.0

    def percentile_ms(self, percent: int) -> float:
        return percentile(self.latencies, percent) * 1000

    def cores(self) -> str:
        return f"{self.server_cores:.2f}/{self.generator_cores:.2f}/{self.machine_cores:.2f}"


def percentile(values: list[float], percent: int) -> float:
    """The nearest-rank percentile (p99 of 300 samples is the 297th smallest)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))
    return ordered[rank - 1]


# One request of a client: the answer's status, and whether it is the answer expected.
Attempt = Callable[[], Awaitable[tuple[str, bool]]]


async def drive(server: psutil.Process, attempts: list[Attempt], seconds: float) -> Load:
    """Every client sends its next request as soon as the last one is answered, until ``seconds`` have
    passed; answers still in flight then are waited for and counted."""
    others: Counter[str] = Counter()
    latencies: list[float] = []
    succeeded = 0

    async def client(attempt: Attempt, deadline: float) -> None:
        nonlocal succeeded
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                status, ok = await attempt()
            except httpx.HTTPError as error:
                status, ok = type(error).__name__, False
            latencies.append(time.perf_counter() - sent)
            if ok:
                succeeded += 1
            else:
                others[status] += 1

    warm_up_until = time.perf_counter() + WARM_UP_SECONDS
    await asyncio.gather(*(client(attempt, warm_up_until) for attempt in attempts))
    others.clear()
    latencies.clear()
    succeeded = 0

    before = CpuSample.take(server)
    await asyncio.gather(*(client(attempt, before.at + seconds) for attempt in attempts))
    after = CpuSample.take(server)
    elapsed = after.at - before.at
    return Load(
        succeeded=succeeded,
        seconds=elapsed,
        others=others,
        latencies=latencies,
        server_cores=(after.server - before.server) / elapsed,
        generator_cores=(after.generator - before.generator) / elapsed,
        machine_cores=(after.machine_busy - before.machine_busy) / elapsed,
    )


@contextlib.asynccontextmanager
async def http_clients(
    base_url: str, count: int, *, headers: Mapping[str, str] | None = None
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One connection per client, as separate relying parties or browsers hold them."""
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url,
                    timeout=REQUEST_TIMEOUT,
                    limits=httpx.Limits(max_connections=1),
                    follow_redirects=False,
                    headers=headers,
                )
            )
            for _ in range(count)
        ]
        yield clients


def others(load: Load) -> str:
    """``; not counted: 12× 409, 1× ReadTimeout`` or nothing."""
    if not load.others:
        return ""
    return "; not counted: " + ", ".join(f"{count:,}× {status}" for status, count in load.others.most_common())
