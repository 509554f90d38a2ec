"""Tokens and sign-ins per second at the identity service, against ceilings measured in the same run.

- Client-credentials tokens, a Kairos figure: ``POST /api/v1/identity/token`` with
  ``grant_type=client_credentials`` from a confidential client (``client_secret_basic``), ``CONCURRENCY``
  requests in flight for ``SECONDS`` s.
- Password sign-ins, a Kairos figure: ``POST /api/v1/identity/sign-in`` with the demo password, as a
  browser posts the form (each client fetched the sign-in page once for its CSRF cookie and token); each
  success is throttled, checks the password with argon2id and opens a browser session. Each client signs in
  to a patient account of its own, first each from an address of its own (``X-Forwarded-For``, as the gateway
  forwards it), then all from one address. Same concurrency and time.
- A bare endpoint, the ceiling of the token figure: ``GET /health/live`` on the same server (same middleware,
  no database, no thread), same concurrency, for ``BARE_SECONDS`` s.
- argon2id alone, the ceiling of the sign-in figure: the service's own ``PasswordHasher`` (same parameters),
  hashing and verifying on one thread, then verifying through ``verify_async`` (``asyncio.to_thread``, the
  default executor, as the service runs it) with ``CONCURRENCY`` in flight.

The service runs as ``kairos run identity`` in a process of its own (RabbitMQ transport, a throw-away vhost
and database); the load generator runs in this process with httpx, one connection per client. Per-core
figures divide by ``os.cpu_count()``: the machine's cores also run the load generator and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import psutil

from benchmarks._harness import (
    Attempt,
    Infrastructure,
    Load,
    drive,
    free_port,
    http_clients,
    others,
    service_environment,
    service_process,
    throwaway_infrastructure,
)
from kairos.identity.demo import DEMO_PASSWORD
from kairos.identity.domain.roles import Role
from kairos.identity.service import create_client, create_user, hasher
from kairos.platform.config import LogFormat, Settings, TransportKind
from kairos.platform.db.engine import database_url
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.observability.logging import setup_logging
from kairos.platform.runtime import ServiceRuntime
from kairos.services import definition

CONCURRENCY = 12  # requests in flight, one connection each: what a few busy relying parties keep open
SECONDS = 10.0  # per Kairos figure; long enough for a steady rate at ~20/s, short enough for `make bench`
BARE_SECONDS = 5.0
ARGON2_SECONDS = 3.0  # per argon2 figure

# Keycloak's published sizing ("Concepts for sizing CPU and memory resources"): per vCPU of Keycloak.
KEYCLOAK_SIGN_INS_PER_VCPU = 15
KEYCLOAK_CLIENT_CREDENTIALS_PER_VCPU = 120

SCOPE = "system/*.read"
# One patient account per client (patients owe no second factor), all with the demo password. Attempts on one
# account or from one network are let through one after another (throttling's locks), but only for the few
# statements that reserve and record them: their argon2id checks run side by side.
SIGN_IN_ACCOUNTS = [f"bench-{number}@bench.kairos.test" for number in range(CONCURRENCY)]
# The addresses the clients sign in from, as the gateway forwards them (a documentation range, RFC 5737).
SIGN_IN_ADDRESSES = [f"198.51.100.{number + 1}" for number in range(CONCURRENCY)]
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Server:
    issuer: str
    base_url: str
    client_id: str
    client_secret: str
    process: psutil.Process


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass(frozen=True)
class Argon2Rates:
    hash_single: float
    verify_single: float
    verify_pool: float  # before and after the sign-ins, pooled
    verify_pool_before: float
    verify_pool_after: float
    pool_workers: int


@dataclass(frozen=True)
class Results:
    bare: Load
    tokens: Load
    sign_ins: Load  # each client from an address of its own
    one_address: Load  # every client from the same address
    argon2: Argon2Rates


async def prepare_database(infrastructure: Infrastructure, issuer: str) -> tuple[str, str]:
    """Migrate identity's database, load the demo data, add the benchmark's patients and register a service
    client, as an operator would before starting it; return the client's id and secret."""
    settings = Settings(
        database_url=infrastructure.postgres_url,
        database_prefix=infrastructure.database_prefix,
        encryption_keys=infrastructure.encryption_keys,
        auth_issuer=issuer,
        transport=TransportKind.IN_PROCESS,
    )
    runtime = ServiceRuntime(
        definition("identity"),
        settings=settings,
        database_url=database_url(settings, "identity"),
        transport=InProcessTransport(),
    )
    try:
        await runtime.migrate()
        await runtime.seed_demo()
        async with runtime.unit_of_work() as uow:
            for number, email in enumerate(SIGN_IN_ACCOUNTS):
                await create_user(
                    uow=uow,
                    email=email,
                    password=DEMO_PASSWORD,
                    display_name=f"Benchmark patient {number}",
                    roles=frozenset({Role.PATIENT}),
                    email_verified=True,
                )
            client = await create_client(
                uow=uow, name="Benchmark", grant_types=frozenset({"client_credentials"}), scopes=(SCOPE,)
            )
            await uow.commit()
    finally:
        await runtime.stop()
    assert client.client_secret is not None
    return client.client_id, client.client_secret


@contextlib.asynccontextmanager
async def identity_process(infrastructure: Infrastructure) -> AsyncIterator[Server]:
    """``kairos run identity`` in a process of its own, ready to answer; stopped afterwards."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/api/v1/identity"
    client_id, client_secret = await prepare_database(infrastructure, issuer)
    # As identity behind the gateway runs: sign-in attempts count against the address the gateway saw.
    environment = service_environment(
        infrastructure, issuer=issuer, port=port, extra={"KAIROS_IDENTITY_TRUST_FORWARDED_FOR": "true"}
    )
    async with service_process("identity", environment, port) as service:
        yield Server(issuer, service.base_url, client_id, client_secret, service.process)


async def bare_endpoint(server: Server) -> Load:
    async with http_clients(server.base_url, CONCURRENCY) as clients:

        def attempt(client: httpx.AsyncClient) -> Attempt:
            async def live() -> tuple[str, bool]:
                response = await client.get("/health/live")
                return str(response.status_code), response.status_code == 200

            return live

        return await drive(server.process, [attempt(client) for client in clients], BARE_SECONDS)


async def client_credentials(server: Server) -> Load:
    auth = httpx.BasicAuth(server.client_id, server.client_secret)
    async with http_clients(server.base_url, CONCURRENCY) as clients:
        first = await clients[0].post(
            f"{server.issuer}/token", data={"grant_type": "client_credentials", "scope": SCOPE}, auth=auth
        )
        if first.status_code != 200 or first.json().get("token_type") != "Bearer":
            raise RuntimeError(f"the token endpoint answered {first.status_code}: {first.text[:300]}")

        def attempt(client: httpx.AsyncClient) -> Attempt:
            async def token() -> tuple[str, bool]:
                response = await client.post(
                    f"{server.issuer}/token", data={"grant_type": "client_credentials", "scope": SCOPE}, auth=auth
                )
                return str(response.status_code), response.status_code == 200

            return token

        return await drive(server.process, [attempt(client) for client in clients], SECONDS)


async def password_sign_ins(server: Server, *, forwarded: bool) -> Load:
    """Each client signs in to its own account; from an address of its own (``X-Forwarded-For``, as the
    gateway sends it) when ``forwarded``, else all from this machine's one address."""
    async with http_clients(server.base_url, CONCURRENCY) as clients:

        async def browser(client: httpx.AsyncClient, email: str, address: str) -> Attempt:
            headers = {"X-Forwarded-For": address} if forwarded else {}
            page = await client.get(f"{server.issuer}/sign-in", headers=headers)
            found = CSRF_FIELD.search(page.text)
            if page.status_code != 200 or found is None:
                raise RuntimeError(f"the sign-in page answered {page.status_code} without a CSRF token")
            form = {"email": email, "password": DEMO_PASSWORD, "csrf_token": found.group(1), "next": ""}
            signed_in = f"{server.issuer}/signed-in"

            async def sign_in() -> tuple[str, bool]:
                response = await client.post(f"{server.issuer}/sign-in", data=form, headers=headers)
                # A session opened, and not one still owing a second factor (patients owe none).
                opened = "kairos_session" in response.cookies and response.headers.get("location") == signed_in
                return str(response.status_code), response.status_code == 303 and opened

            return sign_in

        attempts = [
            await browser(client, email, address)
            for client, email, address in zip(clients, SIGN_IN_ACCOUNTS, SIGN_IN_ADDRESSES, strict=True)
        ]
        return await drive(server.process, attempts, SECONDS)


def _repeat_for(seconds: float, work: Callable[[], object]) -> float:
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        work()
        count += 1
    return count / (time.perf_counter() - started)


async def argon2_pool_rate(seconds: float) -> Rate:
    """Verifications through ``verify_async`` (the default executor), ``CONCURRENCY`` in flight."""
    passwords = hasher()
    stored = passwords.hash(DEMO_PASSWORD)
    verified = 0

    async def verifying(deadline: float) -> None:
        nonlocal verified
        while time.perf_counter() < deadline:
            assert await passwords.verify_async(stored, DEMO_PASSWORD)
            verified += 1

    started = time.perf_counter()
    await asyncio.gather(*(verifying(started + seconds) for _ in range(CONCURRENCY)))
    return Rate(verified, time.perf_counter() - started)


async def argon2_single_rates() -> tuple[float, float]:
    """Hashes and verifications per second on one thread (run in a worker, as the service runs them)."""
    passwords = hasher()
    stored = passwords.hash(DEMO_PASSWORD)
    hashed = await asyncio.to_thread(_repeat_for, ARGON2_SECONDS, lambda: passwords.hash(DEMO_PASSWORD))
    verified = await asyncio.to_thread(_repeat_for, ARGON2_SECONDS, lambda: passwords.verify(stored, DEMO_PASSWORD))
    return hashed, verified


def _default_executor_workers() -> int:
    executor = getattr(asyncio.get_running_loop(), "_default_executor", None)
    return int(getattr(executor, "_max_workers", 0))


async def measure() -> Results:
    async with throwaway_infrastructure() as infrastructure, identity_process(infrastructure) as server:
        bare = await bare_endpoint(server)
        tokens = await client_credentials(server)
        # The argon2 ceiling right before and right after the sign-ins, pooled, so that both see the same
        # machine; measured here, in the load generator's process, while the service idles.
        pool_before = await argon2_pool_rate(ARGON2_SECONDS)
        sign_ins = await password_sign_ins(server, forwarded=True)
        one_address = await password_sign_ins(server, forwarded=False)
        pool_after = await argon2_pool_rate(ARGON2_SECONDS)
        hash_single, verify_single = await argon2_single_rates()
    argon2 = Argon2Rates(
        hash_single=hash_single,
        verify_single=verify_single,
        verify_pool=Rate(pool_before.count + pool_after.count, pool_before.seconds + pool_after.seconds).per_second,
        verify_pool_before=pool_before.per_second,
        verify_pool_after=pool_after.per_second,
        pool_workers=_default_executor_workers(),
    )
    return Results(bare, tokens, sign_ins, one_address, argon2)


def _others(load: Load) -> str:
    throttled = " — THROTTLED (429): successful sign-ins must not be" if "429" in load.others else ""
    return others(load) + throttled


def _verdict(ours: float, theirs: int) -> str:
    return "above" if ours > theirs else "below"


async def main() -> None:
    setup_logging(level="WARNING", log_format=LogFormat.CONSOLE)
    load_before = os.getloadavg()[0]
    results = await measure()
    cores = os.cpu_count() or 1
    bare, tokens, sign_ins, one_address, argon2 = (
        results.bare,
        results.tokens,
        results.sign_ins,
        results.one_address,
        results.argon2,
    )
    print(
        f"identity: client-credentials tokens {tokens.per_second:,.1f}/s ({tokens.per_second / cores:,.1f} per core); "
        f"bare /health/live {bare.per_second:,.0f} req/s; ratio {tokens.per_second / bare.per_second:.3f}"
        f"{_others(tokens)}"
    )
    print(
        f"identity: password sign-ins {sign_ins.per_second:,.1f}/s ({sign_ins.per_second / cores:,.1f} per core), "
        f"{CONCURRENCY} accounts from {CONCURRENCY} addresses; argon2id verify {argon2.verify_pool:,.1f}/s through "
        f"the service's thread pool; ratio {sign_ins.per_second / argon2.verify_pool:.2f}{_others(sign_ins)}"
    )
    print(
        f"identity: password sign-ins {one_address.per_second:,.1f}/s, {CONCURRENCY} accounts from one address; "
        f"argon2id verify on one thread {argon2.verify_single:,.1f}/s; "
        f"ratio {one_address.per_second / argon2.verify_single:.2f}{_others(one_address)}"
    )
    parameters = hasher().parameters
    print(
        f"identity: argon2id m={parameters.memory_kib} KiB t={parameters.iterations} p={parameters.lanes}: "
        f"one thread hashes {argon2.hash_single:,.1f}/s, verifies {argon2.verify_single:,.1f}/s; "
        f"{argon2.pool_workers} pool threads verify {argon2.verify_pool:,.1f}/s "
        f"(before/after the sign-ins {argon2.verify_pool_before:,.1f}/{argon2.verify_pool_after:,.1f})"
    )
    for name, load, keycloak in (
        ("password sign-ins", sign_ins, KEYCLOAK_SIGN_INS_PER_VCPU),
        ("client-credentials grants", tokens, KEYCLOAK_CLIENT_CREDENTIALS_PER_VCPU),
    ):
        per_core = load.per_second / cores
        print(
            f"identity: Keycloak sizing {keycloak} {name}/s per vCPU; Kairos {per_core:,.1f} per core: "
            f"{_verdict(per_core, keycloak)}; {load.per_server_cpu_second:,.1f} per core of the identity process "
            f"alone: {_verdict(load.per_server_cpu_second, keycloak)}"
        )
    print(
        f"identity: per core of the identity process alone, tokens ÷ bare "
        f"{tokens.per_server_cpu_second:,.0f} ÷ {bare.per_server_cpu_second:,.0f} = "
        f"{tokens.per_server_cpu_second / bare.per_server_cpu_second:.3f}; sign-ins ÷ argon2id verify on one "
        f"thread {sign_ins.per_server_cpu_second:,.1f} ÷ {argon2.verify_single:,.1f} = "
        f"{sign_ins.per_server_cpu_second / argon2.verify_single:.2f}"
    )
    print(
        f"identity: {cores} cores, load average {load_before:.1f} before / {os.getloadavg()[0]:.1f} after; "
        f"{CONCURRENCY} clients in flight; {tokens.succeeded:,} tokens, {sign_ins.succeeded:,} and "
        f"{one_address.succeeded:,} sign-ins in {SECONDS:g} s each, {bare.succeeded:,} bare requests in "
        f"{BARE_SECONDS:g} s; median latency {tokens.median_ms():,.0f}/{sign_ins.median_ms():,.0f}/"
        f"{one_address.median_ms():,.0f}/{bare.median_ms():,.1f} ms, cores busy (identity process/load "
        f"generator/whole machine) {tokens.cores()}, {sign_ins.cores()}, {one_address.cores()}, {bare.cores()} "
        f"(tokens, sign-ins from many addresses, from one, bare)"
    )


if __name__ == "__main__":
    asyncio.run(main())
