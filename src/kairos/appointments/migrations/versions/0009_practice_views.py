"""the practice's views: patients' display names (sealed), recent bulk changes newest first

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patient_names",
        sa.Column("user_id", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index(
        "ix_bulk_changes_organisation_applied",
        "bulk_changes",
        ["organisation_id", sa.text("applied_at DESC")],
    )


def downgrade() -> None:
    op.drop_index("ix_bulk_changes_organisation_applied", table_name="bulk_changes")
    op.drop_table("patient_names")
