"""The gateway's tests: a database for its runtimes, and a Redis key prefix of this run, cleaned up after."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from sqlalchemy.engine import URL, make_url

from kairos.platform.testing.infrastructure import unique_name
from tests.conftest import POSTGRES_URL

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def gateway_database_url(database_prefix: str) -> URL:
    """One database for every gateway of the run (its tables are the platform's; replicas share one)."""
    return make_url(POSTGRES_URL).set(
        drivername="postgresql+asyncpg", database=f"{database_prefix}{unique_name('gateway_')}"
    )


@pytest.fixture(scope="session")
async def rate_limit_prefix(run_id: str) -> AsyncIterator[str]:
    """Rate-limit keys of this run only; deleted at the end, and nobody else's."""
    prefix = f"kairos-test-{run_id}:ratelimit"
    yield prefix
    await _delete_keys(prefix)


@pytest.fixture(scope="session")
async def cache_prefix(run_id: str) -> AsyncIterator[str]:
    """Response-cache keys of this run only; deleted at the end."""
    prefix = f"kairos-test-{run_id}:cache"
    yield prefix
    await _delete_keys(prefix)


async def _delete_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
