"""Tables every service database holds for the platform's own mechanisms.

They live in the platform's own Alembic history (version table ``kairos_platform_version``), applied to
each service database before the service's history, so a service never copies them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

OUTBOX_CHANNEL = "kairos_outbox"

# Events written in the same transaction as the change they describe; the relay publishes them in order.
outbox = Table(
    "outbox",
    metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("id", Uuid, nullable=False, unique=True),
    Column("type", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("producer", String(100), nullable=False),
    Column("correlation_id", String(200)),
    Column("subject", String(300), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("traceparent", String(100)),
    Column("published_at", DateTime(timezone=True)),
    Index("outbox_unpublished", "position", postgresql_where=text("published_at IS NULL")),
    Index("outbox_unpublished_subject", "subject", "position", postgresql_where=text("published_at IS NULL")),
    Index("outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
)

# Ids of events this service has handled: a redelivery finds its id here and becomes a no-op.
inbox = Table(
    "inbox",
    metadata,
    Column("event_id", Uuid, nullable=False),
    Column("consumer", String(100), nullable=False),
    Column("type", String(200), nullable=False),
    Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("event_id", "consumer"),
    Index("inbox_handled_at", "handled_at"),
)

# Failed deliveries of the in-process transport waiting for their next attempt, or parked.
deferred_events = Table(
    "deferred_events",
    metadata,
    Column("event_id", Uuid, nullable=False),
    Column("consumer", String(100), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("parked_at", DateTime(timezone=True)),
    Column("last_error", Text, nullable=False),
    PrimaryKeyConstraint("event_id", "consumer"),
    Index("deferred_events_due", "next_attempt_at", postgresql_where=text("parked_at IS NULL")),
)

# Responses of creating POSTs by Idempotency-Key, replayed when the same request is sent again.
idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("scope", String(300), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", LargeBinary, nullable=False),
    Column("status_code", Integer),
    Column("response_headers", JSONB),
    Column("response_body", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("scope", "key"),
    Index("idempotency_records_created_at", "created_at"),
)

# One-time data loads a database has had (the demo data), so they are not repeated on restart.
seed_runs = Table(
    "seed_runs",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# This database's data-encryption keys, each wrapped by a key-encryption key of the keyring
# (kairos.platform.crypto). The one with no retired_at encrypts new data; every one still decrypts.
data_keys = Table(
    "data_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("kek_id", String(64), nullable=False),
    Column("wrap_algorithm", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("retired_at", DateTime(timezone=True)),
    Index(
        "data_keys_one_active", text("(retired_at IS NULL)"), unique=True, postgresql_where=text("retired_at IS NULL")
    ),
)
