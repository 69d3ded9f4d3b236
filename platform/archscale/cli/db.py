"""`archscale db upgrade|current`: the results database's schema migrations."""

from __future__ import annotations

import typer

from archscale.cli.options import DbOption

app = typer.Typer(help="The results database's schema: upgrade it, or show its revision.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(db: DbOption = None) -> None:
    """Upgrade the schema to this archscale's revision (creates a new SQLite file)."""
    from archscale.store import make_engine, resolve_url
    from archscale.store import upgrade as upgrade_schema
    from archscale.store.url import shown

    engine = make_engine(resolve_url(db))
    try:
        before, after = upgrade_schema(engine)
    finally:
        engine.dispose()
    where = shown(engine.url)
    if before == after:
        print(f"{where}: already at revision {after}")
    else:
        print(f"{where}: upgraded from {before or 'an empty schema'} to revision {after}")


@app.command("current")
def current(db: DbOption = None) -> None:
    """Show the schema revision of the database and whether it is current (changes nothing)."""
    from archscale.store import current_revision, head_revision, make_engine, resolve_url
    from archscale.store.url import shown

    engine = make_engine(resolve_url(db), read_only=True)
    try:
        revision, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    if revision == head:
        state = f"revision {revision} (current)"
    elif revision is None:
        state = f"no archscale schema (current revision: {head}; run `archscale db upgrade`)"
    else:
        state = f"revision {revision} (current revision: {head}; run `archscale db upgrade`)"
    print(f"{shown(engine.url)}: {state}")
