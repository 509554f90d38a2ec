"""Migrations: the platform's history, then each service's own, on the service's own database.

Each history is an Alembic script directory with its own version table, run programmatically (the
``kairos migrate`` command and the all-in-one start call ``upgrade``), over a synchronous psycopg
connection in a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from kairos.platform.db.engine import asyncpg_dsn

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class MigrationHistory:
    name: str
    script_location: str  # "package:directory", e.g. "kairos.appointments:migrations"

    @property
    def version_table(self) -> str:
        return f"kairos_{self.name}_version"


PLATFORM_HISTORY = MigrationHistory("platform", "kairos.platform.db:migrations")


def alembic_config(history: MigrationHistory, connection: Any | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", history.script_location)
    config.attributes["version_table"] = history.version_table
    config.attributes["connection"] = connection
    return config


def upgrade_sync(url: URL, histories: list[MigrationHistory], revision: str = "head") -> None:
    engine = create_engine(url.set(drivername="postgresql+psycopg"), poolclass=NullPool)
    try:
        for history in histories:
            with engine.begin() as connection:
                # Replicas starting together migrate one after the other.
                connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('kairos.migrate'))"))
                command.upgrade(alembic_config(history, connection), revision)
    finally:
        engine.dispose()


async def upgrade(url: URL, histories: list[MigrationHistory]) -> None:
    await asyncio.to_thread(upgrade_sync, url, histories)
    log.info("db.migrated", database=url.database, histories=[history.name for history in histories])


async def ensure_database(url: URL) -> bool:
    """Create the database ``url`` names if it does not exist; True when it was created."""
    admin = asyncpg_dsn(url.set(database="postgres"))
    connection = await asyncpg.connect(admin)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database)
        if exists:
            return False
        await connection.execute(f'CREATE DATABASE "{url.database}"')
        return True
    except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
        return False  # another replica created it a moment ago
    finally:
        await connection.close()


async def drop_database(url: URL) -> None:
    admin = asyncpg_dsn(url.set(database="postgres"))
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await connection.close()
