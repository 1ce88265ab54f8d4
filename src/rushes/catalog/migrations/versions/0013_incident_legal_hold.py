"""An incident's legal hold, so originals linked later are held too

Revision ID: 0013
Revises: 0012

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "incidents",
        sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("incidents") as table:
        table.drop_column("legal_hold")
