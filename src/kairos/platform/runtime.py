"""How a service is described once and then run: alone (distributed shape) or beside the others (all-in-one).

A service's ``app.py`` builds a ``ServiceDefinition``; ``ServiceRuntime`` turns it into a running thing:
engine, unit-of-work factory, token verifier, FastAPI app, outbox relay and event consumer.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.telemetry import TelemetryConfig
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import URL

from kairos.contracts.events.platform import ServiceStarted
from kairos.platform.aio import cancel_and_wait
from kairos.platform.auth.tokens import JwksCache, TokenVerifier
from kairos.platform.config import Settings
from kairos.platform.crypto.cipher import DataCipher
from kairos.platform.crypto.keyring import load_keyring
from kairos.platform.db.engine import asyncpg_dsn, create_engine, create_sessionmaker
from kairos.platform.db.migrate import PLATFORM_HISTORY, MigrationHistory, ensure_database, upgrade
from kairos.platform.db.schema import seed_runs
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events.consumer import EventConsumer
from kairos.platform.events.handlers import EventHandlers
from kairos.platform.events.relay import OutboxRelay
from kairos.platform.events.transport import Transport
from kairos.platform.http import problems
from kairos.platform.http.idempotency import IdempotencyMiddleware
from kairos.platform.http.middleware import BodyLimitMiddleware, RequestContextMiddleware
from kairos.platform.observability.health import Check, health_router

log = structlog.get_logger(__name__)

DEMO_SEED = "demo"


def kairos_version() -> str:
    try:
        return version("kairos")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class ServiceDefinition:
    """Everything that makes one service: the platform runs it from this alone."""

    name: str
    title: str
    description: str
    routers: Sequence[APIRouter] = ()
    handlers: EventHandlers[Any] | None = None
    unit_of_work: type[UnitOfWork] = UnitOfWork
    migrations: str | None = None  # "kairos.<service>:migrations"
    # Loads the demo data inside the given unit of work (which the platform commits), once per database.
    seed_demo: Callable[[Any, Settings], Awaitable[None]] | None = None
    configure_app: Callable[[FastAPI, ServiceRuntime], None] | None = None
    idempotency: bool = True  # honour Idempotency-Key on POSTs (off for the gateway: services do it)
    on_start: Callable[[ServiceRuntime], Awaitable[None]] | None = None  # after migrations, before serving
    on_stop: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    openapi_tags: Sequence[dict[str, Any]] = field(default_factory=tuple)

    @property
    def api_prefix(self) -> str:
        return f"/api/v1/{self.name}"

    @property
    def histories(self) -> list[MigrationHistory]:
        own = [MigrationHistory(self.name, self.migrations)] if self.migrations else []
        return [PLATFORM_HISTORY, *own]


class ServiceRuntime:
    def __init__(
        self,
        definition: ServiceDefinition,
        *,
        settings: Settings,
        database_url: URL,
        transport: Transport,
        verifier: TokenVerifier | None = None,
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.settings = settings
        self.database_url = database_url
        self.transport = transport
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{definition.name}"
        self.engine = create_engine(
            database_url, pool_size=settings.database_pool_size, application_name=f"kairos-{self.name}"
        )
        self.sessionmaker = create_sessionmaker(self.engine)
        self.verifier = verifier or TokenVerifier(
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            algorithms=settings.auth_algorithms,
            jwks=JwksCache(settings.jwks_url, max_age=settings.auth_jwks_cache_seconds),
        )
        self.consumer = (
            EventConsumer(
                name=self.name,
                handlers=definition.handlers,
                unit_of_work=self.unit_of_work,
                sessionmaker=self.sessionmaker,
            )
            if definition.handlers is not None
            else None
        )
        self.relay = OutboxRelay(
            service=self.name,
            sessionmaker=self.sessionmaker,
            listen_dsn=asyncpg_dsn(database_url),
            transport=transport,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval,
            retention=timedelta(hours=settings.outbox_retention_hours),
        )
        self.extra_checks: dict[str, Check] = {}
        self.app = create_app(self)
        self._relay_task: asyncio.Task[None] | None = None
        if self.consumer is not None:
            transport.subscribe(self.consumer)

    @functools.cached_property
    def cipher(self) -> DataCipher:
        """How this service encrypts personal data at rest (its data keys, wrapped by the keyring's KEK)."""
        return DataCipher(keyring=load_keyring(self.settings), sessionmaker=self.sessionmaker)

    def unit_of_work(self) -> UnitOfWork:
        # The cipher is resolved only when a unit of work asks for it: services that encrypt nothing need no keys.
        return self.definition.unit_of_work(self.sessionmaker, producer=self.name, cipher=lambda: self.cipher)

    async def migrate(self) -> None:
        await ensure_database(self.database_url)
        await upgrade(self.database_url, self.definition.histories)

    async def seed_demo(self) -> bool:
        """Load the demo data unless this database already had it; True when it was loaded now."""
        if self.definition.seed_demo is None:
            return False
        async with self.unit_of_work() as uow:
            first = await uow.session.execute(
                pg_insert(seed_runs).values(name=DEMO_SEED).on_conflict_do_nothing().returning(seed_runs.c.name)
            )
            if first.first() is None:
                return False
            await self.definition.seed_demo(uow, self.settings)
            await uow.commit()
        log.info("service.demo_data_loaded", service=self.name)
        return True

    async def start(self) -> None:
        """Begin relaying; call after the transport has started. Announces the instance."""
        if self.definition.on_start is not None:
            await self.definition.on_start(self)
        self._relay_task = asyncio.create_task(self.relay.run(), name=f"{self.name}-relay")
        async with self.unit_of_work() as uow:
            uow.publish(
                ServiceStarted(
                    service=self.name, instance=self.instance, version=kairos_version(), started_at=datetime.now(UTC)
                ),
                subject=f"service:{self.name}",
            )
            await uow.commit()
        log.info("service.started", service=self.name)

    async def stop(self) -> None:
        if self._relay_task is not None:
            await cancel_and_wait([self._relay_task])
            self._relay_task = None
        if self.definition.on_stop is not None:
            await self.definition.on_stop(self)
        await self.engine.dispose()

    async def database_ready(self) -> bool:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    def checks(self) -> dict[str, Check]:
        return {"database": self.database_ready, "events": self.transport.is_ready, **self.extra_checks}


FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app(runtime: ServiceRuntime) -> FastAPI:
    definition = runtime.definition
    app = FastAPI(
        title=f"Kairos {definition.title}",
        description=definition.description,
        version=kairos_version(),
        openapi_url=f"{definition.api_prefix}/openapi.json",
        docs_url=f"{definition.api_prefix}/docs",
        redoc_url=None,
        openapi_tags=list(definition.openapi_tags) or None,
        responses=problems.PROBLEM_RESPONSES,
        # Our RequestContextMiddleware owns the server span (it wraps the gateway's proxying too) and the
        # Prometheus metrics; FastAPI's built-in telemetry would add a second server span, so it is off.
        telemetry=FASTAPI_TELEMETRY,
    )
    app.state.runtime = runtime
    app.state.token_verifier = runtime.verifier
    problems.install(app)
    app.include_router(health_router(runtime.checks))
    for router in definition.routers:
        app.include_router(router, prefix=definition.api_prefix)
    if definition.configure_app is not None:
        definition.configure_app(app, runtime)
    # Added last = outermost: context first, then the size limit, then idempotency.
    if definition.idempotency:
        app.add_middleware(
            IdempotencyMiddleware,
            sessionmaker=runtime.sessionmaker,
            verifier=runtime.verifier,
            cipher=lambda: runtime.cipher,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.max_request_bytes)
    app.add_middleware(RequestContextMiddleware, service=definition.name)
    return app


def unit_of_work(request: Request) -> UnitOfWork:
    """FastAPI dependency: a fresh unit of work of the service answering the request.

    >>> Uow = Annotated[MonitoringUnitOfWork, Depends(unit_of_work)]
    """
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime.unit_of_work()
