"""C2PA content credentials read from originals on arrival

Revision ID: 0011
Revises: 0010

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_credentials",
        sa.Column(
            "asset_sha256", sa.String(length=64), sa.ForeignKey("assets.sha256"), primary_key=True
        ),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("store", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tool_version", sa.String(length=40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("content_credentials")
