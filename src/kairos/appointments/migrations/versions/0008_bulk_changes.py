"""bulk availability changes with preview and undo

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulk_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("change", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("applied_by", sa.String(length=100), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_by", sa.String(length=100), nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bulk_changes_organisation_id", "bulk_changes", ["organisation_id"])
    op.create_table(
        "bulk_change_schedules",
        sa.Column("change_id", sa.Uuid(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("schedule_before", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("schedule_after", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["change_id"], ["bulk_changes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("change_id", "resource_id"),
    )
    op.create_index("ix_bulk_change_schedules_resource_id", "bulk_change_schedules", ["resource_id"])


def downgrade() -> None:
    op.drop_table("bulk_change_schedules")
    op.drop_table("bulk_changes")
