"""The monitoring service's own tables."""

from sqlalchemy import BigInteger, Column, DateTime, Index, MetaData, String, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# Every service instance that announced itself (``service.started``), for the roll of what runs where.
service_instances = Table(
    "service_instances",
    metadata,
    Column("instance", String(300), primary_key=True),
    Column("service", String(100), nullable=False, index=True),
    Column("version", String(100), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
)

# The audit trail (migration 0002): every ``audit.recorded`` event of every service, append-only (a trigger
# refuses UPDATE, DELETE and TRUNCATE) and hash-chained (kairos.monitoring.domain.audit_chain): ``hash`` is
# SHA-256 of ``previous_hash`` and the RFC 8785 JSON of the row's other columns, ``position`` counts from 1.
audit_trail = Table(
    "audit_trail",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", Uuid, nullable=False, unique=True),  # the envelope's id: a redelivery adds nothing
    Column("service", String(100), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_client", String(200)),
    Column("action", String(20), nullable=False),
    Column("resource_type", String(200), nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("data_subject", String(200)),
    Column("fields", JSONB, nullable=False),
    Column("purpose", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_trail_data_subject", "data_subject", "position"),
    Index("ix_audit_trail_actor", "actor", "position"),
    Index("ix_audit_trail_service", "service", "position"),
    Index("ix_audit_trail_recorded_at", "recorded_at"),
)
