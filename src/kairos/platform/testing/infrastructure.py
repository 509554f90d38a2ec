"""Throw-away PostgreSQL databases and RabbitMQ vhosts, so test runs never collide or leave anything."""

from __future__ import annotations

import subprocess
import uuid

import asyncpg
from sqlalchemy.engine import make_url

from kairos.platform.db.engine import asyncpg_dsn


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def create_vhost(name: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"], check=True, capture_output=True
    )


def delete_vhost(name: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False, capture_output=True)


def close_all_rabbitmq_connections(reason: str = "test") -> None:
    subprocess.run(["rabbitmqctl", "-q", "close_all_connections", reason], check=True, capture_output=True)


async def drop_databases(server_url: str, prefix: str) -> list[str]:
    """Drop every database whose name starts with ``prefix``; return their names."""
    connection = await asyncpg.connect(asyncpg_dsn(make_url(server_url).set(database="postgres")))
    try:
        names = [
            row["datname"]
            for row in await connection.fetch("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
        ]
        for name in names:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return names
    finally:
        await connection.close()
