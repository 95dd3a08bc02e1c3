"""Alembic environment: the schema is market.db.Base.metadata (every package's models)."""
import os

from alembic import context

from sqlalchemy.types import TypeDecorator

from market.db import Base, all_models, make_engine

all_models()
config = context.config
URL = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Migrations name plain SQL types, not our Python TypeDecorators."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


OPTIONS = {"target_metadata": target_metadata, "render_as_batch": True, "compare_type": True,
           "render_item": render_item}


def run_migrations_offline() -> None:
    context.configure(url=URL, literal_binds=True, **OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(URL)
    with engine.connect() as conn:
        context.configure(connection=conn, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
