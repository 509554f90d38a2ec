"""The distributed shape: each service its own process, RabbitMQ between them.

``run_service`` runs one (``kairos run appointments``); ``run_supervised`` starts all of them as child
processes on loopback (``kairos run distributed``) and stops them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

import structlog

from kairos.platform.config import SERVICES, Settings, TransportKind
from kairos.platform.db.engine import database_url
from kairos.platform.db.migrate import ensure_database, upgrade
from kairos.platform.events.factory import create_transport
from kairos.platform.events.transport import Transport
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.serve import serve
from kairos.services import all_definitions, definition

log = structlog.get_logger(__name__)


class ShapeError(Exception):
    """The settings do not describe a working distributed shape."""


async def run_service(name: str, settings: Settings, *, stop: asyncio.Event, migrate: bool = True) -> None:
    if settings.transport != TransportKind.RABBITMQ:
        # Alone in its process, a service on the in-process transport would mark events published that no
        # other service ever receives.
        raise ShapeError("a service run on its own needs KAIROS_TRANSPORT=rabbitmq (the all-in-one uses in-process)")
    if settings.database_url is None:
        raise ShapeError("a service run on its own needs KAIROS_DATABASE_URL (the all-in-one embeds PostgreSQL)")
    transport = create_transport(settings)
    runtime = ServiceRuntime(
        definition(name), settings=settings, database_url=database_url(settings, name), transport=transport
    )
    if migrate:
        await runtime.migrate()
    await transport.start()
    try:
        await declare_consumers(transport)
        await runtime.start()
        try:
            await serve(runtime.app, host=settings.host, port=settings.service_port(name), stop=stop)
        finally:
            await runtime.stop()
    finally:
        await transport.stop()


async def declare_consumers(transport: Transport) -> None:
    """Every service's queues exist before this one publishes anything."""
    for service in all_definitions():
        if service.handlers is not None:
            await transport.declare(service.name, service.handlers.event_types)


async def migrate_all(settings: Settings, services: list[str] | None = None) -> None:
    """Create and migrate each service's database, and declare the broker's queues for every consumer."""
    for name in services or SERVICES:
        url = database_url(settings, name)
        await ensure_database(url)
        await upgrade(url, definition(name).histories)
    if settings.transport == TransportKind.RABBITMQ:
        transport = create_transport(settings)
        await transport.start()
        try:
            await declare_consumers(transport)
        finally:
            await transport.stop()


async def run_supervised(settings: Settings, *, stop: asyncio.Event) -> int:
    """Migrate every database, start every service as its own process, stop them all on a signal or
    when one dies; return the exit code."""
    await migrate_all(settings)
    children: dict[str, asyncio.subprocess.Process] = {}
    # Each child takes its own port from KAIROS_BASE_PORT; one KAIROS_PORT for all would collide.
    child_environment = {name: value for name, value in os.environ.items() if name != "KAIROS_PORT"}
    for service in SERVICES:
        children[service] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kairos", "run", service, "--no-migrate", env=child_environment
        )
    log.info(
        "distributed.started", services=list(children), gateway=f"http://127.0.0.1:{settings.service_port('gateway')}/"
    )
    waits = {asyncio.create_task(child.wait()): name for name, child in children.items()}
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({*waits, stopping}, return_when=asyncio.FIRST_COMPLETED)
    exit_code = 0
    for task in done:
        if task in waits:
            log.error("distributed.service_exited", service=waits[task], code=task.result())
            exit_code = 1
    for child in children.values():
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            await asyncio.wait_for(child.wait(), timeout=15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
    stopping.cancel()
    return exit_code
