"""pipeline: steps, derivatives, fingerprints, near-duplicates, shots

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "derivatives",
        sa.Column("asset_sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("media_type", sa.String(length=50), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("details", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_sha256"],
            ["assets.sha256"],
        ),
        sa.PrimaryKeyConstraint("asset_sha256", "name"),
    )
    op.create_table(
        "fingerprints",
        sa.Column("asset_sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("tool_version", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_sha256"],
            ["assets.sha256"],
        ),
        sa.PrimaryKeyConstraint("asset_sha256"),
    )
    op.create_table(
        "near_duplicates",
        sa.Column("asset_a", sa.String(length=64), nullable=False),
        sa.Column("asset_b", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("segments", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_a"],
            ["assets.sha256"],
        ),
        sa.ForeignKeyConstraint(
            ["asset_b"],
            ["assets.sha256"],
        ),
        sa.PrimaryKeyConstraint("asset_a", "asset_b"),
    )
    with op.batch_alter_table("near_duplicates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_near_duplicates_asset_b"), ["asset_b"], unique=False)

    op.create_table(
        "shots",
        sa.Column("asset_sha256", sa.String(length=64), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("start_frame", sa.Integer(), nullable=False),
        sa.Column("start_pts", sa.BigInteger(), nullable=False),
        sa.Column("end_frame", sa.Integer(), nullable=False),
        sa.Column("end_pts", sa.BigInteger(), nullable=False),
        sa.Column("time_base", sa.String(length=20), nullable=False),
        sa.Column("transition", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_sha256"],
            ["assets.sha256"],
        ),
        sa.PrimaryKeyConstraint("asset_sha256", "index"),
    )
    op.create_table(
        "steps",
        sa.Column("asset_sha256", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("tool_version", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_sha256"],
            ["assets.sha256"],
        ),
        sa.PrimaryKeyConstraint("asset_sha256", "step"),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index("ix_steps_status", ["status", "step"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index("ix_steps_status")

    op.drop_table("steps")
    op.drop_table("shots")
    with op.batch_alter_table("near_duplicates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_near_duplicates_asset_b"))

    op.drop_table("near_duplicates")
    op.drop_table("fingerprints")
    op.drop_table("derivatives")
