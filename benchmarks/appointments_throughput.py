"""Slot search latency and booking under contention at the appointments service, against ceilings measured in
the same run.

- Slot search, a Kairos figure: ``GET /api/v1/appointments/resources/{id}/slots`` over four weeks of a
  professional who works weekdays 09:00–12:30 and 14:00–17:30 (Europe/Paris, RFC 5545 rules), for a 20-minute
  consultation with a 5-minute buffer, with 200 appointments already booked in those four weeks. One client
  asking one request after another gives the latencies (p50/p99); ``CONCURRENCY`` clients give the rate.
- A bare endpoint, its ceiling: ``GET /health/live`` on the same server, the same way.
- Booking under contention, a Kairos figure: ``CONCURRENCY`` patients request appointments at once
  (``POST /api/v1/appointments/appointments``), each choosing at random among the ``CONTENDED`` earliest times
  not yet known to be taken, so that several often ask for the same time: one gets 201, the others 409 (the
  exclusion constraint decides). Counted: bookings per second, and attempts (201 + 409) per second.
- Raw PostgreSQL inserts, its ceiling: the same choice of times, the same concurrency, as plain ``INSERT``s
  on asyncpg into a table with the same exclusion constraint (``int8range`` of the resource number and
  ``tstzrange`` of the blocked period, gist), one transaction each.

The service runs as ``kairos run appointments`` in a process of its own (RabbitMQ transport, a throw-away vhost
and database); tokens come from a test issuer in this process whose keys the service fetches once.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import asyncpg
import httpx
from sqlalchemy import make_url

from benchmarks._harness import (
    Attempt,
    Infrastructure,
    Load,
    ServiceProcess,
    drive,
    free_port,
    http_clients,
    others,
    percentile,
    service_environment,
    service_process,
    throwaway_infrastructure,
)
from kairos.appointments.domain.availability import RecurringPeriod, Schedule
from kairos.appointments.domain.configuration import AppointmentTypeSettings, DomainConfiguration, Terminology
from kairos.appointments.repository import AppointmentsUnitOfWork, Resource
from kairos.platform.config import LogFormat, Settings, TransportKind
from kairos.platform.db.engine import asyncpg_dsn, database_url
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.ids import new_id
from kairos.platform.observability.logging import setup_logging
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from kairos.services import definition

CONCURRENCY = 8
SEARCH_SAMPLES = 300  # sequential requests for the latency percentiles, each side
SEARCH_SECONDS = 5.0  # closed loop with CONCURRENCY clients, each side
BOOKING_SECONDS = 8.0  # each side
BOOKED = 200  # appointments already in the searched four weeks
CONTENDED = 4  # clients choose among this many earliest free times: collisions are frequent

ORGANISATION = UUID("0b3f6f4e-3a43-4a4c-9a70-5ad1e5b1c001")
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
SEARCH_ZONE = "Europe/Paris"
SHORT = timedelta(minutes=15)
CONTENDED_DAYS = 84  # of offered times to collide on, from the fifth week on

BENCH_DOMAIN = DomainConfiguration(
    name="bench",
    label="Benchmark practice",
    terminology=Terminology(client="patient", professional="doctor"),
    appointment_types=(
        AppointmentTypeSettings(
            code="consultation",
            label="Consultation",
            duration=timedelta(minutes=20),
            buffer_after=timedelta(minutes=5),
            start_every=timedelta(minutes=25),
        ),
        AppointmentTypeSettings(code="short", label="Short visit", duration=SHORT),
    ),
    form_schema={"type": "object"},
    reason_codes=("fully_booked",),
)


@dataclass(frozen=True)
class Setup:
    searched: UUID  # the professional with four weeks of recurring hours and 200 bookings
    contended: UUID  # the same hours, where the patients collide
    contended_no: int
    window_start: datetime
    window_end: datetime
    first_booking_time: datetime


@dataclass(frozen=True)
class Latencies:
    samples: list[float]

    def ms(self, percent: int) -> float:
        return percentile(self.samples, percent) * 1000


async def prepare_database(infrastructure: Infrastructure, issuer: str) -> Setup:
    """Migrate, then add the benchmark's domain and two resources with their hours, as an operator would."""
    settings = Settings(
        database_url=infrastructure.postgres_url,
        database_prefix=infrastructure.database_prefix,
        encryption_keys=infrastructure.encryption_keys,
        auth_issuer=issuer,
        transport=TransportKind.IN_PROCESS,
    )
    runtime = ServiceRuntime(
        definition("appointments"),
        settings=settings,
        database_url=database_url(settings, "appointments"),
        transport=InProcessTransport(),
    )
    today = datetime.now(UTC).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    try:
        await runtime.migrate()
        async with runtime.unit_of_work() as uow:
            assert isinstance(uow, AppointmentsUnitOfWork)
            at = uow.clock.now()
            await uow.appointments.put_domain(BENCH_DOMAIN, at=at)
            searched = await _resource(uow, "Dr. Benchmark", SEARCH_ZONE, at, today)
            contended = await _resource(uow, "Dr. Contended", "UTC", at, today)
            await uow.commit()
    finally:
        await runtime.stop()
    window_start = datetime.combine(next_monday, time(0), tzinfo=UTC)
    return Setup(
        searched=searched.id,
        contended=contended.id,
        contended_no=contended.resource_no,
        window_start=window_start,
        window_end=window_start + timedelta(weeks=4),
        first_booking_time=window_start + timedelta(weeks=5),
    )


async def _resource(uow: AppointmentsUnitOfWork, name: str, zone: str, at: datetime, today: date) -> Resource:
    resource = await uow.appointments.add_resource(
        Resource(
            id=new_id(),
            resource_no=0,
            organisation_id=ORGANISATION,
            kind="professional",
            display_name=name,
            zone=zone,
            user_id=None,
            domain=BENCH_DOMAIN.name,
        )
    )
    # Weekdays 08:00-12:30 and 13:30-19:00 in the resource's zone: 24 consultations a day.
    hours = (
        RecurringPeriod(WEEKDAYS, time(8, 0), timedelta(hours=4, minutes=30)),
        RecurringPeriod(WEEKDAYS, time(13, 30), timedelta(hours=5, minutes=30)),
    )
    schedule = Schedule(
        id=resource.id,
        resource_id=resource.id,
        location_id=resource.id,
        zone=zone,
        valid_from=today,
        working_hours=hours,
    )
    await uow.appointments.put_schedule(schedule, at=at)
    return resource


def patient_token(issuer: TestIssuer, number: int) -> str:
    return issuer.token(
        sub=f"bench-patient-{number}",
        roles=["patient"],
        permissions=["appointments:request", "appointments:read"],
        expires_in=3600,
    )


async def book_the_searched_weeks(base_url: str, issuer: TestIssuer, setup: Setup) -> None:
    """200 of the four weeks' offered times, spread evenly, requested by as many patients."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as client:
        offered = await _search(client, issuer, setup)
        if len(offered) < BOOKED:
            raise RuntimeError(f"only {len(offered)} slots offered in four weeks; {BOOKED} needed")
        step = len(offered) / BOOKED
        for number in range(BOOKED):
            slot = offered[int(number * step)]
            response = await client.post(
                "/api/v1/appointments/appointments",
                json={"resource_id": str(setup.searched), "appointment_type": "consultation", "starts_at": slot},
                headers={"Authorization": f"Bearer {patient_token(issuer, number)}"},
            )
            if response.status_code != 201:
                raise RuntimeError(f"booking {number} answered {response.status_code}: {response.text[:300]}")
        left = await _search(client, issuer, setup)
        if len(left) >= len(offered):
            raise RuntimeError("the bookings did not remove any offered slot")


async def _search(client: httpx.AsyncClient, issuer: TestIssuer, setup: Setup) -> list[str]:
    response = await client.get(
        f"/api/v1/appointments/resources/{setup.searched}/slots",
        params=_search_parameters(setup),
        headers={"Authorization": f"Bearer {patient_token(issuer, 0)}"},
    )
    response.raise_for_status()
    return [slot["starts_at"] for slot in response.json()]


def _search_parameters(setup: Setup) -> dict[str, str]:
    return {
        "appointment_type": "consultation",
        "from": setup.window_start.isoformat(),
        "to": setup.window_end.isoformat(),
        "zone": SEARCH_ZONE,
    }


async def sequential_latencies(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> Latencies:
    for _ in range(10):  # warm-up, not counted
        (await client.get(path, params=params)).raise_for_status()
    samples = []
    loop = asyncio.get_running_loop()
    for _ in range(SEARCH_SAMPLES):
        sent = loop.time()
        response = await client.get(path, params=params)
        samples.append(loop.time() - sent)
        response.raise_for_status()
    return Latencies(samples)


async def closed_loop(service: ServiceProcess, base_url: str, token: str, path: str, params: dict[str, str]) -> Load:
    async with http_clients(base_url, CONCURRENCY, headers={"Authorization": f"Bearer {token}"}) as clients:

        def attempt(client: httpx.AsyncClient) -> Attempt:
            async def get() -> tuple[str, bool]:
                response = await client.get(path, params=params)
                return str(response.status_code), response.status_code == 200

            return get

        return await drive(service.process, [attempt(client) for client in clients], SEARCH_SECONDS)


class ContendedTimes:
    """The times patients choose from: the ``CONTENDED`` earliest not yet known to be taken, one chosen at
    random; a time leaves the choice once someone got it or was told it is taken. A time is a pair
    (resource number, start)."""

    def __init__(self, times: Iterator[tuple[int, datetime]]) -> None:
        self._times = times
        self._open: list[tuple[int, datetime]] = []
        self._random = random.Random(20261125)

    def choose(self) -> tuple[int, datetime]:
        while len(self._open) < CONTENDED:
            self._open.append(next(self._times))
        return self._random.choice(self._open)

    def settled(self, time: tuple[int, datetime]) -> None:
        if time in self._open:
            self._open.remove(time)


async def offered_times(base_url: str, issuer: TestIssuer, setup: Setup) -> list[datetime]:
    """The contended professional's offered short visits over ``CONTENDED_DAYS`` days from the fifth week."""
    times: list[datetime] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as client:
        for weeks in range(0, CONTENDED_DAYS // 7, 4):  # a search spans at most a few weeks
            start = setup.first_booking_time + timedelta(weeks=weeks)
            response = await client.get(
                f"/api/v1/appointments/resources/{setup.contended}/slots",
                params={
                    "appointment_type": "short",
                    "from": start.isoformat(),
                    "to": (start + timedelta(weeks=4)).isoformat(),
                },
                headers={"Authorization": f"Bearer {patient_token(issuer, 0)}"},
            )
            if response.status_code != 200:
                raise RuntimeError(f"the slot search answered {response.status_code}: {response.text[:300]}")
            times.extend(datetime.fromisoformat(slot["starts_at"]) for slot in response.json())
    return times


async def kairos_bookings(
    service: ServiceProcess, base_url: str, issuer: TestIssuer, setup: Setup, offered: list[datetime]
) -> Load:
    times = ContendedTimes((setup.contended_no, starts_at) for starts_at in offered)
    async with http_clients(base_url, CONCURRENCY) as clients:

        def attempt(client: httpx.AsyncClient, number: int) -> Attempt:
            headers = {"Authorization": f"Bearer {patient_token(issuer, 1000 + number)}"}

            async def book() -> tuple[str, bool]:
                chosen = times.choose()
                starts_at = chosen[1]
                response = await client.post(
                    "/api/v1/appointments/appointments",
                    json={
                        "resource_id": str(setup.contended),
                        "appointment_type": "short",
                        "starts_at": starts_at.isoformat(),
                    },
                    headers=headers,
                )
                if response.status_code in (201, 409):
                    times.settled(chosen)
                return str(response.status_code), response.status_code == 201

            return book

        attempts = [attempt(client, number) for number, client in enumerate(clients)]
        return await drive(service.process, attempts, BOOKING_SECONDS)


RAW_TABLE = """
CREATE TABLE bench_raw_bookings (
    id bigserial PRIMARY KEY,
    resource_no bigint NOT NULL,
    blocked_from timestamptz NOT NULL,
    blocked_until timestamptz NOT NULL,
    holds_time boolean NOT NULL DEFAULT true,
    CONSTRAINT bench_raw_no_double_booking EXCLUDE USING gist (
        int8range(resource_no, resource_no, '[]') WITH &&,
        tstzrange(blocked_from, blocked_until, '[)') WITH &&
    ) WHERE (holds_time)
)
"""


async def raw_inserts(infrastructure: Infrastructure, setup: Setup, offered: list[datetime]) -> tuple[int, int, float]:
    """The ceiling: (bookings, attempts, seconds) of plain INSERTs with the same constraint and choice of times."""
    # In the service's own database, so both sides write to the same server, disk and configuration.
    service_database = f"{infrastructure.database_prefix}appointments"
    dsn = asyncpg_dsn(make_url(infrastructure.postgres_url).set(database=service_database))
    setup_connection = await asyncpg.connect(dsn)
    try:
        await setup_connection.execute("DROP TABLE IF EXISTS bench_raw_bookings")
        await setup_connection.execute(RAW_TABLE)
    finally:
        await setup_connection.close()
    # The same offered times, again for a next resource number whenever they are used up (raw is faster).
    times = ContendedTimes(
        (setup.contended_no + round_no, starts_at) for round_no in itertools.count() for starts_at in offered
    )
    booked = attempted = 0
    loop = asyncio.get_running_loop()

    async def worker(connection: asyncpg.Connection, deadline: float, counting: bool) -> None:
        nonlocal booked, attempted
        while loop.time() < deadline:
            chosen = times.choose()
            resource_no, starts_at = chosen
            try:
                await connection.execute(
                    "INSERT INTO bench_raw_bookings (resource_no, blocked_from, blocked_until) VALUES ($1, $2, $3)",
                    resource_no,
                    starts_at,
                    starts_at + SHORT,
                )
                booked += counting
            except (asyncpg.ExclusionViolationError, asyncpg.DeadlockDetectedError):
                # Two inserts of one time that each wait for the other end in a deadlock, which PostgreSQL
                # breaks after deadlock_timeout: the time is taken either way.
                pass
            attempted += counting
            times.settled(chosen)

    connections = [await asyncpg.connect(dsn) for _ in range(CONCURRENCY)]
    try:
        warm_up = loop.time() + 1.0
        await asyncio.gather(*(worker(connection, warm_up, False) for connection in connections))
        started = loop.time()
        await asyncio.gather(*(worker(connection, started + BOOKING_SECONDS, True) for connection in connections))
        return booked, attempted, loop.time() - started
    finally:
        for connection in connections:
            await connection.close()


async def main() -> None:
    setup_logging(level="WARNING", log_format=LogFormat.CONSOLE)
    load_before = os.getloadavg()[0]
    with TestIssuer() as issuer:
        async with throwaway_infrastructure() as infrastructure:
            setup = await prepare_database(infrastructure, issuer.issuer)
            port = free_port()
            environment = service_environment(
                infrastructure, issuer=issuer.issuer, port=port, extra={"KAIROS_AUTH_JWKS_URL": issuer.jwks_url}
            )
            async with service_process("appointments", environment, port) as service:
                await book_the_searched_weeks(service.base_url, issuer, setup)
                token = patient_token(issuer, 0)
                slots_path = f"/api/v1/appointments/resources/{setup.searched}/slots"
                async with httpx.AsyncClient(
                    base_url=service.base_url, timeout=30.0, headers={"Authorization": f"Bearer {token}"}
                ) as client:
                    offered = len((await client.get(slots_path, params=_search_parameters(setup))).json())
                    bare_latency = await sequential_latencies(client, "/health/live", {})
                    search_latency = await sequential_latencies(client, slots_path, _search_parameters(setup))
                bare_load = await closed_loop(service, service.base_url, token, "/health/live", {})
                search_load = await closed_loop(service, service.base_url, token, slots_path, _search_parameters(setup))
                offered_short = await offered_times(service.base_url, issuer, setup)
                bookings = await kairos_bookings(service, service.base_url, issuer, setup, offered_short)
            raw_booked, raw_attempted, raw_seconds = await raw_inserts(infrastructure, setup, offered_short)

    print(
        f"appointments: slot search over 4 weeks ({BOOKED} booked, {offered} offered) "
        f"p50 {search_latency.ms(50):.1f} ms, "
        f"p99 {search_latency.ms(99):.1f} ms; bare /health/live p50 {bare_latency.ms(50):.2f} ms, "
        f"p99 {bare_latency.ms(99):.2f} ms; p50 ratio {search_latency.ms(50) / bare_latency.ms(50):.1f}×"
    )
    print(
        f"appointments: slot search {search_load.per_second:,.0f} req/s with {CONCURRENCY} clients; bare "
        f"{bare_load.per_second:,.0f} req/s; ratio {search_load.per_second / bare_load.per_second:.3f}"
        f"{others(search_load)}"
    )
    raw_rate = raw_booked / raw_seconds
    raw_attempt_rate = raw_attempted / raw_seconds
    attempt_rate = (bookings.succeeded + bookings.others.get("409", 0)) / bookings.seconds
    print(
        f"appointments: bookings under contention {bookings.per_second:,.1f}/s ({attempt_rate:,.1f} attempts/s, "
        f"{bookings.others.get('409', 0):,} answered 409); raw INSERTs with the same constraint {raw_rate:,.0f}/s "
        f"({raw_attempt_rate:,.0f} attempts/s); ratio {bookings.per_second / raw_rate:.3f} (attempts "
        f"{attempt_rate / raw_attempt_rate:.3f})"
    )
    unexpected = {status: count for status, count in bookings.others.items() if status != "409"}
    if unexpected:
        print(f"appointments: booking answers other than 201/409: {unexpected}")
    print(
        f"appointments: {os.cpu_count()} cores, load average {load_before:.1f} before / "
        f"{os.getloadavg()[0]:.1f} after; "
        f"{CONCURRENCY} clients; median booking latency {bookings.median_ms():.1f} ms, p99 "
        f"{bookings.percentile_ms(99):.1f} ms; cores busy (service/load generator/machine) search "
        f"{search_load.cores()}, bookings {bookings.cores()}"
    )


if __name__ == "__main__":
    asyncio.run(main())
