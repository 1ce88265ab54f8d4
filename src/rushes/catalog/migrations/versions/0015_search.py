"""Full-text search: one normalised row per note, assignment, incident and arrival, and the
text indexes over them (FTS5 trigram on SQLite; tsvector and pg_trgm GIN on PostgreSQL)

Revision ID: 0015
Revises: 0014

"""

import sqlalchemy as sa
from alembic import op

from rushes.catalog.search import rebuild

revision = "0015"
down_revision: str | None = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("asset_sha256", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.UniqueConstraint("kind", "ref"),
    )
    op.create_index(
        "ix_search_entries_project_kind_ref", "search_entries", ["project_id", "kind", "ref"]
    )
    op.create_index("ix_search_entries_asset_sha256", "search_entries", ["asset_sha256"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        # Stored, not an expression index: rechecking a row then costs no stemming.
        op.execute(
            "ALTER TABLE search_entries ADD COLUMN words tsvector GENERATED ALWAYS AS"
            " (to_tsvector('arabic'::regconfig, text)"
            " || to_tsvector('english'::regconfig, text)) STORED"
        )
        op.execute("CREATE INDEX search_entries_words ON search_entries USING gin (words)")
        op.execute(
            "CREATE INDEX search_entries_trigrams ON search_entries USING gin (text gin_trgm_ops)"
        )
    else:
        # External content: the words live once, in search_entries; triggers keep FTS in step.
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "text, content='search_entries', content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            "CREATE TRIGGER search_entries_ai AFTER INSERT ON search_entries BEGIN"
            " INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER search_entries_ad AFTER DELETE ON search_entries BEGIN"
            " INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text);"
            " END"
        )
        op.execute(
            "CREATE TRIGGER search_entries_au AFTER UPDATE ON search_entries BEGIN"
            " INSERT INTO search_fts(search_fts, rowid, text) VALUES ('delete', old.id, old.text);"
            " INSERT INTO search_fts(rowid, text) VALUES (new.id, new.text); END"
        )
    rebuild(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX search_entries_trigrams")
        op.execute("DROP INDEX search_entries_words")
    else:
        op.execute("DROP TABLE search_fts")
    op.drop_table("search_entries")
