"""the inbox: who last changed an assignment's status and when, each user's read marks, and
indexes for the inbox's 30-day window (notes and arrivals by time)

Revision ID: 0009
Revises: 0008

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_changed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_assignments_status_changed_by_id_users", "users", ["status_changed_by_id"], ["id"]
        )
        batch_op.create_index("ix_assignments_status_changed_at", ["status_changed_at"])
    op.create_index("ix_notes_created_at", "notes", ["created_at"])
    op.create_index("ix_arrivals_project_received", "arrivals", ["project_id", "received_at"])
    op.create_table(
        "inbox_reads",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("key", sa.String(length=200), primary_key=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("inbox_reads")
    op.drop_index("ix_arrivals_project_received", table_name="arrivals")
    op.drop_index("ix_notes_created_at", table_name="notes")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_status_changed_at")
        batch_op.drop_constraint("fk_assignments_status_changed_by_id_users", type_="foreignkey")
        batch_op.drop_column("status_changed_at")
        batch_op.drop_column("status_changed_by_id")
