"""data-subject requests: GDPR export and erasure sagas

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


def upgrade() -> None:
    op.add_column("users", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "data_subject_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_services", postgresql.ARRAY(sa.String(length=50)), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("identity_statement", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("data_subject_requests_subject", "data_subject_requests", ["subject_id", "requested_at"])
    op.create_index(
        "data_subject_requests_open",
        "data_subject_requests",
        ["deadline"],
        postgresql_where=sa.text("status IN ('requested', 'collecting')"),
    )
    op.create_table(
        "data_request_answers",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("service", sa.String(length=50), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("export_part", sa.Text(), nullable=True),
        sa.Column("statement", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["data_subject_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "service"),
    )


def downgrade() -> None:
    op.drop_table("data_request_answers")
    op.drop_index("data_subject_requests_open", table_name="data_subject_requests")
    op.drop_index("data_subject_requests_subject", table_name="data_subject_requests")
    op.drop_table("data_subject_requests")
    op.drop_column("users", "erased_at")
