"""Platform tables: outbox, inbox, deferred events, idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("id", sa.Uuid, nullable=False, unique=True),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("producer", sa.String(100), nullable=False),
        sa.Column("correlation_id", sa.String(200)),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("traceparent", sa.String(100)),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("outbox_unpublished", "outbox", ["position"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_index(
        "outbox_unpublished_subject",
        "outbox",
        ["subject", "position"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_index(
        "outbox_published_at", "outbox", ["published_at"], postgresql_where=sa.text("published_at IS NOT NULL")
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("event_id", "consumer"),
    )
    op.create_index("inbox_handled_at", "inbox", ["handled_at"])
    op.create_table(
        "deferred_events",
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("parked_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("event_id", "consumer"),
    )
    op.create_index(
        "deferred_events_due", "deferred_events", ["next_attempt_at"], postgresql_where=sa.text("parked_at IS NULL")
    )
    op.create_table(
        "idempotency_records",
        sa.Column("scope", sa.String(300), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response_headers", JSONB),
        sa.Column("response_body", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.create_index("idempotency_records_created_at", "idempotency_records", ["created_at"])


def downgrade() -> None:
    for table in ("idempotency_records", "deferred_events", "inbox", "outbox"):
        op.drop_table(table)
