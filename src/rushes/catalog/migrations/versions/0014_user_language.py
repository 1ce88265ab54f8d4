"""Each user's language and digits, for the interface in Arabic or English

Revision ID: 0014
Revises: 0013

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision: str | None = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty: follow the browser's Accept-Language until the user chooses.
    op.add_column("users", sa.Column("language", sa.String(16), nullable=False, server_default=""))
    # "latn" (0-9) or "arab" (٠-٩); empty: the language's own default.
    op.add_column("users", sa.Column("digits", sa.String(8), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.drop_column("digits")
        table.drop_column("language")
