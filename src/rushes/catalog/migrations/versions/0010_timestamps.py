"""trusted timestamps of the custody chain head (RFC 3161), and the last try at one

Revision ID: 0010
Revises: 0009

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timestamps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("tsa", sa.String(length=500), nullable=False),
        sa.Column("gen_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_timestamps_seq", "timestamps", ["seq"])
    op.create_table(
        "timestamp_tries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tried_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("timestamp_tries")
    op.drop_index("ix_timestamps_seq", table_name="timestamps")
    op.drop_table("timestamps")
