"""workflow: seats of time blocks (holds, capacity), reschedule counts, waitlist

Double booking is now refused by ``time_blocks`` (see ``tables.py``): appointments of one group session
share a block, so the appointments table's own exclusion constraint, which made any two overlapping
appointments impossible, goes. Appointments that hold their time get their block and seat here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("appointments", sa.Column("reschedules", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "time_blocks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("resource_no", sa.BigInteger(), nullable=False),
        sa.Column("appointment_type", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="time_blocks_seats_within_capacity"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "resource_no", "appointment_type", "starts_at", "ends_at", name="time_blocks_one_per_session"
        ),
    )
    # No two blocks with seats taken may overlap on one resource (buffers included). Keyed on int8range of
    # the resource number: works without btree_gist, on the embedded PostgreSQL too.
    op.execute(
        """
        ALTER TABLE time_blocks ADD CONSTRAINT time_blocks_no_overlap
        EXCLUDE USING gist (
            int8range(resource_no, resource_no, '[]') WITH &&,
            tstzrange(blocked_from, blocked_until, '[)') WITH &&
        ) WHERE (seats_taken > 0)
        """
    )
    op.create_table(
        "seats",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("block_id", sa.Uuid(), nullable=False),
        sa.Column("resource_no", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("waitlist_entry_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("(appointment_id IS NULL) <> (expires_at IS NULL)", name="seats_hold_or_appointment"),
        sa.ForeignKeyConstraint(["block_id"], ["time_blocks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id"),
    )
    op.create_index(op.f("ix_seats_block_id"), "seats", ["block_id"], unique=False)
    op.create_index(op.f("ix_seats_expires_at"), "seats", ["expires_at"], unique=False)
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("patient", sa.String(length=100), nullable=False),
        sa.Column("appointment_type", sa.String(length=100), nullable=False),
        sa.Column("earliest", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latest", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("offered_hold_id", sa.Uuid(), nullable=True),
        sa.Column("offered_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_waitlist_entries_patient"), "waitlist_entries", ["patient"], unique=False)
    op.create_index(op.f("ix_waitlist_entries_resource_id"), "waitlist_entries", ["resource_id"], unique=False)

    # Every appointment holding its time takes a seat of its session's block (before 0005 a session had one
    # appointment: the old constraint allowed no more).
    op.execute(
        """
        INSERT INTO time_blocks (id, resource_id, resource_no, appointment_type, starts_at, ends_at,
                                 blocked_from, blocked_until, capacity, seats_taken)
        SELECT gen_random_uuid(), resource_id, resource_no, appointment_type, starts_at, ends_at,
               min(blocked_from), max(blocked_until), count(*), count(*)
        FROM appointments WHERE holds_time
        GROUP BY resource_id, resource_no, appointment_type, starts_at, ends_at
        """
    )
    op.execute(
        """
        INSERT INTO seats (id, block_id, resource_no, holder, appointment_id)
        SELECT a.id, b.id, a.resource_no, a.patient, a.id
        FROM appointments a JOIN time_blocks b
          ON b.resource_no = a.resource_no AND b.appointment_type = a.appointment_type
         AND b.starts_at = a.starts_at AND b.ends_at = a.ends_at
        WHERE a.holds_time
        """
    )
    op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_no_double_booking")


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE appointments ADD CONSTRAINT appointments_no_double_booking
        EXCLUDE USING gist (
            int8range(resource_no, resource_no, '[]') WITH &&,
            tstzrange(blocked_from, blocked_until, '[)') WITH &&
        ) WHERE (holds_time)
        """
    )
    op.drop_index(op.f("ix_waitlist_entries_resource_id"), table_name="waitlist_entries")
    op.drop_index(op.f("ix_waitlist_entries_patient"), table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
    op.drop_index(op.f("ix_seats_expires_at"), table_name="seats")
    op.drop_index(op.f("ix_seats_block_id"), table_name="seats")
    op.drop_table("seats")
    op.drop_table("time_blocks")
    op.drop_column("appointments", "reschedules")
