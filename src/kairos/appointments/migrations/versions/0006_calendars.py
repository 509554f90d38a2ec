"""calendars: the directory of professionals, calendar feeds, imported busy times, slot-change notifications

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TRIGGERED_TABLES = ("appointments", "schedules", "time_blocks")
# Must match kairos.appointments.live.SLOTS_CHANNEL.
SLOTS_CHANNEL = "kairos_appointments_slots"

# One function for every table whose rows take a resource's time: it reads the row as JSON, so any table with
# ``resource_id`` and ``blocked_from``/``blocked_until`` (or ``starts_at``/``ends_at``) can use it. pg_notify
# is delivered only when the transaction commits, so listeners hear of committed changes only; identical
# payloads within one transaction are delivered once.
NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION appointments_notify_slots() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    FOREACH changed IN ARRAY ARRAY[
        CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END
    ] LOOP
        CONTINUE WHEN changed IS NULL OR changed->>'resource_id' IS NULL;
        PERFORM pg_notify('{SLOTS_CHANNEL}', json_build_object(
            'resource_id', changed->>'resource_id',
            'from', coalesce(changed->>'blocked_from', changed->>'starts_at'),
            'until', coalesce(changed->>'blocked_until', changed->>'ends_at')
        )::text);
    END LOOP;
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "directory_professionals",
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("specialty", sa.String(length=200), nullable=False),
        sa.Column("languages", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verification_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profile_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_directory_professionals_organisation_id", "directory_professionals", ["organisation_id"])
    op.create_index("ix_resources_user_id", "resources", ["user_id"])

    op.create_table(
        "calendar_feeds",
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("resource_id"),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feeds_token_hash"),
    )
    op.create_table(
        "calendar_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_refresh_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("busy_count", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_calendar_imports_resource_id", "calendar_imports", ["resource_id"])
    op.create_index("ix_calendar_imports_next_refresh_at", "calendar_imports", ["next_refresh_at"])
    op.create_table(
        "imported_busy_times",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["calendar_imports.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_imported_busy_times_resource_starts", "imported_busy_times", ["resource_id", "starts_at"])
    op.create_index("ix_imported_busy_times_import_id", "imported_busy_times", ["import_id"])

    op.execute(NOTIFY_FUNCTION)
    # time_blocks (migration 0005) holds the time of appointments and holds, where it exists.
    for table in TRIGGERED_TABLES:
        op.execute(
            f"DO $$ BEGIN IF to_regclass('{table}') IS NOT NULL THEN "
            f"CREATE TRIGGER {table}_notify_slots AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION appointments_notify_slots(); END IF; END $$"
        )


def downgrade() -> None:
    for table in TRIGGERED_TABLES:
        op.execute(
            f"DO $$ BEGIN IF to_regclass('{table}') IS NOT NULL THEN "
            f"DROP TRIGGER IF EXISTS {table}_notify_slots ON {table}; END IF; END $$"
        )
    op.execute("DROP FUNCTION IF EXISTS appointments_notify_slots()")
    op.drop_table("imported_busy_times")
    op.drop_table("calendar_imports")
    op.drop_table("calendar_feeds")
    op.drop_index("ix_resources_user_id", table_name="resources")
    op.drop_table("directory_professionals")
