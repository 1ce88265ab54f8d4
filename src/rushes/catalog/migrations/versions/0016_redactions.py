"""Redactions: regions and sounds hidden in every copy of a clip that leaves the base

Revision ID: 0016
Revises: 0015

"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision: str | None = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "redactions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column(
            "asset_sha256", sa.String(length=64), sa.ForeignKey("assets.sha256"), nullable=False
        ),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("data", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_redactions_project_id", "redactions", ["project_id"])
    op.create_index("ix_redactions_asset_sha256", "redactions", ["asset_sha256"])


def downgrade() -> None:
    op.drop_table("redactions")
