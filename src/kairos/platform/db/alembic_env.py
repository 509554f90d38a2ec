"""The one Alembic ``env.py`` body every history uses; ``migrations/env.py`` files just call ``run``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData


def run(target_metadata: MetaData | None = None) -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `kairos migrate`, which provides the connection")
    own_tables = set(target_metadata.tables) if target_metadata is not None else set()

    def only_own_tables(name: str | None, type_: str, parent_names: object) -> bool:
        # A service database also holds the platform's tables and version tables of other histories:
        # autogenerate must never propose to drop them.
        return type_ != "table" or name in own_tables

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=config.attributes["version_table"],
        transaction_per_migration=True,
        include_name=only_own_tables,
    )
    with context.begin_transaction():
        context.run_migrations()
