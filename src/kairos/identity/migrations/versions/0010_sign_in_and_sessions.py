"""sign-in and sessions: password attempts in flight (throttling without a lock across argon2id), and indexes on
the expiry of the records the periodic purge removes

refresh_tokens.session_id is indexed already (0004: ix_refresh_tokens_session_id).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# Tables whose expired rows kairos.identity.purge deletes, by ``expires_at``.
EXPIRING = (
    "authorization_codes",
    "refresh_tokens",
    "browser_sessions",
    "account_tokens",
    "passkey_challenges",
    "pending_consents",
)


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sign_in_attempts_subject"), "sign_in_attempts", ["subject"], unique=False)
    op.create_index(op.f("ix_sign_in_attempts_network"), "sign_in_attempts", ["network"], unique=False)
    for table in EXPIRING:
        op.create_index(op.f(f"ix_{table}_expires_at"), table, ["expires_at"], unique=False)


def downgrade() -> None:
    for table in EXPIRING:
        op.drop_index(op.f(f"ix_{table}_expires_at"), table_name=table)
    op.drop_index(op.f("ix_sign_in_attempts_network"), table_name="sign_in_attempts")
    op.drop_index(op.f("ix_sign_in_attempts_subject"), table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
