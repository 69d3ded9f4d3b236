"""Alembic environment of the archscale schema.

archscale runs migrations itself and passes an open connection, already inside a transaction, in
`config.attributes["connection"]`; the alembic command line builds one from `-x db=URL` (or
$ARCHSCALE_DB). Only `archscale_*` tables are ours: Optuna's tables in the same database are ignored.
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from archscale.store.migrate import VERSION_TABLE
from archscale.store.models import Base


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    return type_ != "table" or (name or "").startswith("archscale_")


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_from_command_line() -> None:
    from archscale.store.engine import make_engine
    from archscale.store.url import resolve_url

    if context.config.config_file_name:
        fileConfig(context.config.config_file_name)
    engine = make_engine(resolve_url(context.get_x_argument(as_dictionary=True).get("db")))
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()


given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    run_from_command_line()
