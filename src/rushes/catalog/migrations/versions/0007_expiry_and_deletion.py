"""session idle expiry (web_sessions.last_seen_at) and incidents deleted with history

Revision ID: 0007
Revises: 0005

"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("deleted_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("deleted_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            "fk_incidents_deleted_by_id_users", "users", ["deleted_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint("fk_incidents_deleted_by_id_users", type_="foreignkey")
        batch_op.drop_column("deleted_reason")
        batch_op.drop_column("deleted_by_id")
        batch_op.drop_column("deleted_at")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
