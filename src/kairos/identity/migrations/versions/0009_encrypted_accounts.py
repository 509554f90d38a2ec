"""encrypted accounts: users' e-mail address and display name encrypted at rest, the address found by a keyed
lookup hash

The migration cannot encrypt: the keys are the running service's (the keyring from the secret provider, the data
keys in this database). It makes room for the ciphertexts and adds the lookup hash, nullable; identity's start-up
(``kairos.identity.repository.seal_clear_accounts``, also run by ``kairos users create``) then encrypts every row
still without one. Stop every identity instance before upgrading: an older one would read tokens as addresses.

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
    op.add_column("users", sa.Column("email_lookup", sa.LargeBinary(), nullable=True))
    op.drop_index("users_email", table_name="users")
    op.alter_column("users", "email", type_=sa.Text(), existing_type=sa.String(length=320), existing_nullable=False)
    op.alter_column(
        "users", "display_name", type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=False
    )
    op.create_index("users_email_lookup", "users", ["email_lookup"], unique=True)


def downgrade() -> None:
    # Only a database whose rows are still in clear can go back: sealed values do not fit the old columns.
    op.drop_index("users_email_lookup", table_name="users")
    op.alter_column(
        "users", "display_name", type_=sa.String(length=200), existing_type=sa.Text(), existing_nullable=False
    )
    op.alter_column("users", "email", type_=sa.String(length=320), existing_type=sa.Text(), existing_nullable=False)
    op.create_index("users_email", "users", ["email"], unique=True)
    op.drop_column("users", "email_lookup")
