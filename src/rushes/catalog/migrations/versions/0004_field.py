"""field kit: originals still in the field, arrivals' route, original requests, upload limits

Revision ID: 0004
Revises: 0003

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "original_requests",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("asset_sha256", sa.String(length=64), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_sha256"],
            ["assets.sha256"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("project_id", "asset_sha256"),
    )
    with op.batch_alter_table("arrivals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("via", sa.String(length=20), server_default="ingest", nullable=False)
        )

    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_vault", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.alter_column("sha512", existing_type=sa.VARCHAR(length=128), nullable=True)

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_limit", sa.BigInteger(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("upload_limit")

    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.alter_column("sha512", existing_type=sa.VARCHAR(length=128), nullable=False)
        batch_op.drop_column("in_vault")

    with op.batch_alter_table("arrivals", schema=None) as batch_op:
        batch_op.drop_column("via")

    op.drop_table("original_requests")
