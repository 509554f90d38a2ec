"""personal data: message and answers encrypted at rest

The request's message and form answers move into sealed text columns (``personal_data``, see
``kairos.appointments.personal_data``) on the projection and on the event stream. A migration has no keys
(they live in the secret provider), so existing plaintext is kept aside in ``legacy_message`` /
``legacy_answers`` (and in the requested events' ``data``) and sealed by the service at its next start
(``personal_data.seal_legacy``), which empties those columns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("appointments", "message", new_column_name="legacy_message")
    op.alter_column("appointments", "answers", new_column_name="legacy_answers", nullable=True, server_default=None)
    op.execute("UPDATE appointments SET legacy_answers = NULL WHERE legacy_answers = '{}'::jsonb")
    op.add_column("appointments", sa.Column("personal_data", sa.Text))
    op.add_column("appointment_events", sa.Column("personal_data", sa.Text))


def downgrade() -> None:
    # Sealed values cannot be opened without the keys: a downgrade keeps only what is still in plaintext.
    op.drop_column("appointment_events", "personal_data")
    op.drop_column("appointments", "personal_data")
    op.execute("UPDATE appointments SET legacy_answers = '{}'::jsonb WHERE legacy_answers IS NULL")
    op.alter_column("appointments", "legacy_answers", new_column_name="answers", nullable=False, server_default="{}")
    op.alter_column("appointments", "legacy_message", new_column_name="message")
