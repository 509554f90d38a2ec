"""A service's runtime: its database created and migrated, its demo data loaded once, its start announced."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from kairos.platform.config import Settings
from kairos.platform.db.engine import database_url
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceDefinition, ServiceRuntime
from kairos.platform.testing.infrastructure import unique_name
from tests.integration.platform.harness import ProbeHappened

pytestmark = pytest.mark.integration


async def load_demo(uow: UnitOfWork, settings: Settings) -> None:
    uow.publish(ProbeHappened(seq=1), subject="demo")


async def test_demo_data_is_loaded_once_per_database_even_across_restarts(base_settings: Settings) -> None:
    definition = ServiceDefinition(name=unique_name("seeded_"), title="Seeded", description="", seed_demo=load_demo)

    def runtime() -> ServiceRuntime:
        return ServiceRuntime(
            definition,
            settings=base_settings,
            database_url=database_url(base_settings, definition.name),
            transport=InProcessTransport(),
        )

    first = runtime()
    await first.migrate()
    assert await first.seed_demo() is True
    assert await first.seed_demo() is False
    await first.stop()

    restarted = runtime()
    await restarted.migrate()  # migrating again changes nothing
    assert await restarted.seed_demo() is False
    async with restarted.engine.connect() as connection:
        demo_events = await connection.scalar(text("SELECT count(*) FROM outbox WHERE subject = 'demo'"))
        versions = await connection.scalar(text("SELECT version_num FROM kairos_platform_version"))
    await restarted.stop()

    assert demo_events == 1
    assert versions == "0003"


async def test_a_failing_demo_load_leaves_no_mark_and_runs_again(base_settings: Settings) -> None:
    attempts = []

    async def flaky(uow: UnitOfWork, settings: Settings) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the demo data could not be loaded")
        uow.publish(ProbeHappened(seq=2), subject="demo")

    definition = ServiceDefinition(name=unique_name("flaky_"), title="Flaky", description="", seed_demo=flaky)
    runtime = ServiceRuntime(
        definition,
        settings=base_settings,
        database_url=database_url(base_settings, definition.name),
        transport=InProcessTransport(),
    )
    await runtime.migrate()
    with pytest.raises(RuntimeError):
        await runtime.seed_demo()
    assert await runtime.seed_demo() is True
    await runtime.stop()
    assert len(attempts) == 2
