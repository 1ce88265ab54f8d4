"""incident register: incidents, their history, links, footage, suggestion answers, types

Revision ID: 0005
Revises: 0004

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "incident_types",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    # The starting vocabulary; the register's admins add and retire types from here on.
    op.bulk_insert(
        sa.table(
            "incident_types",
            sa.column("name", sa.String),
            sa.column("label", sa.String),
            sa.column("position", sa.Integer),
            sa.column("retired", sa.Boolean),
        ),
        [
            {"name": name, "label": label, "position": n, "retired": False}
            for n, (name, label) in enumerate(
                [
                    ("airstrike", "Airstrike"),
                    ("barrel-bomb", "Barrel bomb"),
                    ("cluster-munition", "Cluster munition"),
                    ("chemical", "Chemical attack"),
                    ("artillery", "Artillery"),
                    ("missile", "Missile"),
                    ("building-collapse", "Building collapse"),
                    ("fire", "Fire"),
                    ("other", "Other"),
                ]
            )
        ],
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_offset", sa.String(length=6), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_offset", sa.String(length=6), nullable=True),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("people_present", sa.Integer(), nullable=True),
        sa.Column("rescued", sa.Integer(), nullable=True),
        sa.Column("bodies", sa.Integer(), nullable=True),
        sa.Column("injured", sa.Integer(), nullable=True),
        sa.Column("killed", sa.Integer(), nullable=True),
        sa.Column("volunteers_injured", sa.Integer(), nullable=True),
        sa.Column("volunteers_killed", sa.Integer(), nullable=True),
        sa.Column("verification", sa.String(length=20), nullable=False),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
        ),
        sa.ForeignKeyConstraint(
            ["type"],
            ["incident_types.name"],
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "code"),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_project_id"), ["project_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_started_at"), ["started_at"], unique=False)

    op.create_table(
        "incident_assets",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("asset_sha256", sa.String(length=64), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["asset_sha256"],
            ["assets.sha256"],
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.PrimaryKeyConstraint("incident_id", "asset_sha256"),
    )
    with op.batch_alter_table("incident_assets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_assets_asset_sha256"), ["asset_sha256"], unique=False
        )

    op.create_table(
        "incident_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_changes_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "incident_links",
        sa.Column("incident_a", sa.Integer(), nullable=False),
        sa.Column("incident_b", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_a"],
            ["incidents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["incident_b"],
            ["incidents.id"],
        ),
        sa.PrimaryKeyConstraint("incident_a", "incident_b"),
    )
    op.create_table(
        "suggestion_decisions",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("asset_sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_sha256"],
            ["assets.sha256"],
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("incident_id", "asset_sha256"),
    )


def downgrade() -> None:

    op.drop_table("suggestion_decisions")
    op.drop_table("incident_links")
    with op.batch_alter_table("incident_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_changes_incident_id"))

    op.drop_table("incident_changes")
    with op.batch_alter_table("incident_assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_assets_asset_sha256"))

    op.drop_table("incident_assets")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_started_at"))
        batch_op.drop_index(batch_op.f("ix_incidents_project_id"))

    op.drop_table("incidents")
    op.drop_table("incident_types")
