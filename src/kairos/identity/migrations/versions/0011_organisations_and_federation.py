"""organisations and federation: the organisation a grant acts for, and when a provider's registration last changed

An authorization request may name the organisation the session acts for (``organisation``); the code and the
refresh tokens descending from it keep it, so that every token of the grant carries the roles and permissions of
that organisation only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("authorization_codes", sa.Column("organisation_id", sa.Uuid(), nullable=True))
    op.add_column("refresh_tokens", sa.Column("organisation_id", sa.Uuid(), nullable=True))
    op.add_column("identity_providers", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("identity_providers", "updated_at")
    op.drop_column("refresh_tokens", "organisation_id")
    op.drop_column("authorization_codes", "organisation_id")
