"""audit trail: append-only, hash-chained

A trigger refuses every UPDATE, DELETE and TRUNCATE of ``audit_trail``, whoever runs it (the table owner
and superusers included, unless they disable the trigger: what ``kairos audit verify`` then detects).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_trail",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("service", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_client", sa.String(200)),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("resource_type", sa.String(200), nullable=False),
        sa.Column("resource_id", sa.Text, nullable=False),
        sa.Column("data_subject", sa.String(200)),
        sa.Column("fields", JSONB, nullable=False),
        sa.Column("purpose", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_trail_data_subject", "audit_trail", ["data_subject", "position"])
    op.create_index("ix_audit_trail_actor", "audit_trail", ["actor", "position"])
    op.create_index("ix_audit_trail_service", "audit_trail", ["service", "position"])
    op.create_index("ix_audit_trail_recorded_at", "audit_trail", ["recorded_at"])
    op.execute(
        """
        CREATE FUNCTION audit_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_trail is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_trail_no_change BEFORE UPDATE OR DELETE ON audit_trail "
        "FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_trail_no_truncate BEFORE TRUNCATE ON audit_trail "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_append_only()"
    )


def downgrade() -> None:
    op.drop_table("audit_trail")
    op.execute("DROP FUNCTION audit_trail_append_only()")
