"""resources, appointments and their event streams

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment_events",
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("appointment_id", "sequence"),
    )
    op.create_table(
        "resources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resource_no", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("resource_no"),
    )
    op.create_index(op.f("ix_resources_organisation_id"), "resources", ["organisation_id"], unique=False)
    op.create_table(
        "appointments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("resource_no", sa.BigInteger(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("patient", sa.String(length=100), nullable=False),
        sa.Column("appointment_type", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("holds_time", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resources.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_appointments_organisation_id"), "appointments", ["organisation_id"], unique=False)
    op.create_index(op.f("ix_appointments_patient"), "appointments", ["patient"], unique=False)
    # No two appointments that hold their time may overlap on one resource (buffers included). Keyed on
    # int8range of the resource number: works without btree_gist, on the embedded PostgreSQL too.
    op.execute(
        """
        ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking
        EXCLUDE USING gist (
            int8range(resource_no, resource_no, '[]') WITH &&,
            tstzrange(blocked_from, blocked_until, '[)') WITH &&
        ) WHERE (holds_time)
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_no_double_booking")
    op.drop_index(op.f("ix_appointments_patient"), table_name="appointments")
    op.drop_index(op.f("ix_appointments_organisation_id"), table_name="appointments")
    op.drop_table("appointments")
    op.drop_index(op.f("ix_resources_organisation_id"), table_name="resources")
    op.drop_table("resources")
    op.drop_table("appointment_events")
