"""Identity's tables as ``tables.py`` describes them are the tables its migrations build: Alembic's autogenerate,
run against a freshly migrated database, finds nothing to add, drop or change."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from kairos.identity.tables import metadata
from kairos.platform.config import Settings
from kairos.platform.db.engine import database_url
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.infrastructure import unique_name
from kairos.services import definition

pytestmark = pytest.mark.integration


def _differences(connection: Connection) -> list[Any]:
    own = set(metadata.tables)

    def only_own_tables(name: str | None, type_: str, parent_names: object) -> bool:
        return type_ != "table" or name in own  # the platform's tables live in the same database

    context = MigrationContext.configure(
        connection, opts={"include_name": only_own_tables, "compare_type": True, "compare_server_default": False}
    )
    return list(compare_metadata(context, metadata))


async def test_the_tables_module_and_the_migrations_describe_the_same_schema(base_settings: Settings) -> None:
    settings = base_settings.model_copy(
        update={"database_prefix": f"{base_settings.database_prefix}{unique_name('schema')}_"}
    )
    runtime = ServiceRuntime(
        definition("identity"),
        settings=settings,
        database_url=database_url(settings, "identity"),
        transport=InProcessTransport(),
    )
    try:
        await runtime.migrate()
        async with runtime.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await runtime.engine.dispose()
    assert differences == []
