"""initial schema: projects, assets, arrivals, custody

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sha512", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media", sa.JSON(), nullable=True),
        sa.Column("probe_error", sa.Text(), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("captured_offset", sa.String(length=6), nullable=True),
        sa.Column("first_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assets_captured_at"), ["captured_at"], unique=False)

    op.create_table(
        "custody_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("asset_sha256", sa.String(length=64), nullable=True),
        sa.Column("verb", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("tool", sa.String(length=100), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("custody_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custody_events_asset_sha256"), ["asset_sha256"], unique=False
        )

    head = op.create_table(
        "custody_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The chain starts at a fixed genesis link, so appenders only ever update this row.
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "arrivals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_sha256", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("crew", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("path_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("path_key", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=True),
        sa.Column("sample", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_sha256"],
            ["assets.sha256"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("arrivals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_arrivals_asset_sha256"), ["asset_sha256"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_arrivals_project_id"), ["project_id"], unique=False)
        batch_op.create_index("ix_arrivals_quick_check", ["project_id", "path_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("arrivals", schema=None) as batch_op:
        batch_op.drop_index("ix_arrivals_quick_check")
        batch_op.drop_index(batch_op.f("ix_arrivals_project_id"))
        batch_op.drop_index(batch_op.f("ix_arrivals_asset_sha256"))

    op.drop_table("arrivals")
    op.drop_table("projects")
    op.drop_table("custody_head")
    with op.batch_alter_table("custody_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_events_asset_sha256"))

    op.drop_table("custody_events")
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assets_captured_at"))

    op.drop_table("assets")
