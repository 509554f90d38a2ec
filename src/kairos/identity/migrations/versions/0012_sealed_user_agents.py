"""browser sessions' user agent encrypted: the column widened to hold a sealed value; clear ones dropped

The migration cannot encrypt (the keys belong to the running service). A user agent only labels a session in
"your sessions", so the ones stored in clear before are cleared rather than sealed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("browser_sessions", "user_agent", type_=sa.Text(), existing_type=sa.String(length=500))
    op.execute("UPDATE browser_sessions SET user_agent = NULL")


def downgrade() -> None:
    op.execute("UPDATE browser_sessions SET user_agent = NULL")
    op.alter_column("browser_sessions", "user_agent", type_=sa.String(length=500), existing_type=sa.Text())
