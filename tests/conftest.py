"""Shared fixtures: real PostgreSQL and RabbitMQ on their loopback ports, with throw-away databases and a
vhost per run, and a token issuer serving a real JWKS endpoint."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from kairos.platform.config import Settings, TransportKind
from kairos.platform.crypto.keyring import Keyring
from kairos.platform.testing.infrastructure import create_vhost, delete_vhost, drop_databases, unique_name
from kairos.platform.testing.issuer import TestIssuer

POSTGRES_URL = os.environ.get("KAIROS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_KEYRING = Keyring.generate("test-1")
RABBITMQ_URL = os.environ.get("KAIROS_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="session")
def run_id() -> str:
    return unique_name("")


@pytest.fixture(scope="session")
async def database_prefix(run_id: str) -> AsyncIterator[str]:
    """Every database this test run creates starts with this prefix, and is dropped at the end."""
    prefix = f"kairos_test_{run_id}_"
    yield prefix
    await drop_databases(POSTGRES_URL, prefix)


@pytest.fixture(scope="session")
def rabbitmq_vhost(run_id: str) -> Iterator[str]:
    name = f"kairos-test-{run_id}"
    create_vhost(name)
    yield name
    delete_vhost(name)


@pytest.fixture(scope="session")
def rabbitmq_url(rabbitmq_vhost: str) -> str:
    return f"{RABBITMQ_URL.rstrip('/')}/{rabbitmq_vhost}"


@pytest.fixture(scope="session")
def issuer() -> Iterator[TestIssuer]:
    with TestIssuer() as running:
        yield running


@pytest.fixture(scope="session")
def base_settings(database_prefix: str, rabbitmq_url: str, issuer: TestIssuer) -> Settings:
    return Settings(
        database_url=SecretStr(POSTGRES_URL),
        database_prefix=database_prefix,
        transport=TransportKind.RABBITMQ,
        rabbitmq_url=SecretStr(rabbitmq_url),
        auth_issuer=issuer.issuer,
        auth_jwks_url=issuer.jwks_url,
        encryption_keys=SecretStr(TEST_KEYRING.to_json()),
        outbox_poll_interval=0.2,
        event_retry_delays=(0.2, 0.4),
        log_level="WARNING",
    )
