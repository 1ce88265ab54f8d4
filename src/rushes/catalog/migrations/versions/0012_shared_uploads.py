"""Unfinished uploads shared by several base processes and hosts

Revision ID: 0012
Revises: 0011

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("info", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("pieces", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("claim", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_uploads_updated_at", "uploads", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_uploads_updated_at", "uploads")
    op.drop_table("uploads")
