"""Alembic environment: always driven from `Catalog.migrate`, which hands over a connection."""

from alembic import context

from rushes.catalog.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
