"""Building blocks the ``lcdb`` command groups share (argparse wiring, a migrated session)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from lightcurvedb import migrations
from lightcurvedb.core.engine import connect
from lightcurvedb.core.engine import session as open_session

__all__ = ["add_command", "add_group", "require_schema", "run_in_session"]

Handler = Callable[[argparse.Namespace], int]


def add_command(commands: argparse._SubParsersAction, name: str, help_text: str,
                func: Handler, common: argparse.ArgumentParser | None = None
                ) -> argparse.ArgumentParser:
    """Add a leaf command whose handler is ``func(args) -> exit status``."""
    parser = commands.add_parser(name, help=help_text,
                                 description=help_text[:1].upper() + help_text[1:] + ".",
                                 parents=[common] if common else [])
    parser.set_defaults(func=func)
    return parser


def add_group(commands: argparse._SubParsersAction, name: str, help_text: str
              ) -> argparse._SubParsersAction:
    """Add a command group and return the subparsers its commands go into."""
    parser = commands.add_parser(name, help=help_text,
                                 description=help_text[:1].upper() + help_text[1:] + ".")
    return parser.add_subparsers(title="commands", metavar="COMMAND", required=True)


def run_in_session(args: argparse.Namespace, work: Callable[[Session], int], *,
                   migrate: bool = True) -> int:
    """Run ``work`` in a session on ``args.url`` (migrated first), committing on success."""
    engine = connect(getattr(args, "url", None))
    try:
        if migrate:
            migrations.upgrade(engine)
        with open_session(engine) as db:
            return work(db)
    finally:
        engine.dispose()


def require_schema(session: Session) -> None:
    """Raise LookupError (one line) if ``session``'s database has no lightcurvedb tables."""
    if not inspect(session.connection()).has_table("mission_catalog"):
        raise LookupError("the database has no lightcurvedb tables: run 'lcdb db upgrade' "
                          "and load data (or 'lcdb demo')")
