"""How the ``lcdb radio`` commands open their databases: ``--state DIR`` or one database.

:func:`radio_options` is the parent parser of every ``lcdb radio`` command
(``--url``, ``--debug`` and ``--state``); :func:`run_radio` runs a command's
work in a session over the databases :func:`~lightcurvedb.radio.layout.resolve_radio_layout`
chooses:

* one database: migrated first, then one session, committed on success
  (as every ``lcdb`` command does);
* the pipeline's databases: used as they are, nothing migrated; a
  :func:`~lightcurvedb.radio.binding.radio_session` over them, committed on
  success (one commit per file). Commands that write core tables (``sources
  lightcurve``) also get the core lightcurvedb database, migrated first.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from lightcurvedb import migrations
from lightcurvedb._clitools import run_in_session
from lightcurvedb.core.engine import connect
from lightcurvedb.radio.binding import RadioLayoutError, radio_session
from lightcurvedb.radio.layout import resolve_radio_layout

__all__ = ["STATE_HELP", "add_state_option", "radio_options", "run_radio"]

#: The help of ``--state``.
STATE_HELP = ("the DSA-110 pipeline's state directory (ingest.sqlite3, cal_registry.sqlite3, "
              "products.sqlite3, catalogs/master_sources.sqlite3), used as it is: nothing is "
              "migrated or created (default: LIGHTCURVEDB_RADIO_STATE, then db.conf [Radio]; "
              "--url alone means one database for everything)")


def add_state_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--state DIR`` to a parser (left unset unless given, like ``--url``)."""
    parser.add_argument("--state", default=argparse.SUPPRESS, metavar="DIR", help=STATE_HELP)


def radio_options(common: argparse.ArgumentParser | None) -> argparse.ArgumentParser:
    """Return a parent parser of ``common``'s options plus ``--state``."""
    parser = argparse.ArgumentParser(add_help=False, parents=[common] if common else [])
    add_state_option(parser)
    return parser


def run_radio(args: argparse.Namespace, work: Callable[[Session], int], *,
              core: bool = False) -> int:
    """Run ``work`` in a session over the DSA-110 databases; commit on success.

    Parameters
    ----------
    args : argparse.Namespace
        ``args.state`` and ``args.url``, when present, choose the layout.
    work : callable
        Takes the session, returns the exit status.
    core : bool, optional
        ``work`` writes core tables too: with the pipeline's databases, route
        the other models to the core database (``--url`` or as
        :func:`lightcurvedb.connect` resolves it), migrated first.

    Returns
    -------
    int
        What ``work`` returned.

    Raises
    ------
    RadioLayoutError
        If a pipeline file is missing, or the core database is one of them.
    """
    layout = resolve_radio_layout(getattr(args, "state", None), getattr(args, "url", None))
    if layout.databases is None:
        return run_in_session(args, work)
    engines: dict[str, Engine] = {}
    opened: list[Engine] = []
    try:
        for group, url in layout.databases.items():
            engines[group] = connect(url)
            opened.append(engines[group])
        core_engine = None
        if core:
            core_engine = connect(layout.url)
            opened.append(core_engine)
            pipeline = {engine.url.render_as_string(hide_password=False): group
                        for group, engine in engines.items()}
            clash = pipeline.get(core_engine.url.render_as_string(hide_password=False))
            if clash is not None:
                raise RadioLayoutError(f"the core lightcurvedb database is the pipeline's "
                                       f"{clash} database ({core_engine.url.database}); give "
                                       "--url another database for the core tables")
            migrations.upgrade(core_engine)
        with radio_session(engines, core=core_engine) as session:
            status = work(session)
            session.commit()
            return status
    finally:
        for engine in opened:
            engine.dispose()
