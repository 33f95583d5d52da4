"""The ``lcdb`` command line: a demo database, schema migrations and file loaders.

Examples
--------
.. code-block:: console

   $ lcdb demo                       # default SQLite file, no configuration needed
   $ lcdb --url postgresql://astro@db/lightcurves db upgrade
   $ lcdb db current                 # revisions, then the optional extensions in use
   $ lcdb db enable-extensions       # after a superuser installed PostGIS or q3c
   $ lcdb db downgrade -1
   $ lcdb db repoint /data/rbh1 /archive/rbh1 --dry-run   # the files moved: fix the paths
   $ lcdb load tess sector1/ sector2/  # SPOC *_lc.fits(.gz) files, directories searched recursively
   $ lcdb load rbh1 rbh1_data/ --dictionary fits_data_dictionary.json  # HST + JWST files
   $ lcdb load catalog fastspec-iron.fits --catalog "DESI DR1" --mission DESI  # TARGETIDs
   $ lcdb lc show TIC 261136679      # its light curves; also lc plot -o x.png, lc export -o x.ecsv
   $ lcdb targets cone "TIC 261136679" 30arcmin   # targets near it; targets list, search

The database is ``--url`` if given, else what :func:`lightcurvedb.connect`
resolves (``LIGHTCURVEDB_URL``, ``db.conf``, the default SQLite file). Errors
are reported on one line, ``lcdb: error: <message>``, with exit status 1 (a
``load`` directory holding no file to load is one: ``lcdb: error: no files
matching ... under DIR``); ``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from alembic.util import CommandError
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from lightcurvedb import __version__, extensions, migrations
from lightcurvedb._clitools import add_command
from lightcurvedb.core.config import ConfigurationError
from lightcurvedb.core.db_errors import describe_db_error
from lightcurvedb.core.engine import connect
from lightcurvedb.core.engine import session as open_session
from lightcurvedb.demo import install_demo, rbh1_next_steps
from lightcurvedb.lc_cli import add_lc_commands
from lightcurvedb.loaders.catalog_cli import add_catalog_commands
from lightcurvedb.radio.cli import add_radio_commands
from lightcurvedb.radio.cli_analysis import add_radio_analysis_commands
from lightcurvedb.radio.cli_layout import add_state_option
from lightcurvedb.rbh1.cli import add_rbh1_commands
from lightcurvedb.targets_cli import add_targets_commands

__all__ = ["build_parser", "error_message", "main"]

#: Errors reported as one ``lcdb: error:`` line rather than a traceback.
USER_ERRORS = (ConfigurationError, SQLAlchemyError, CommandError, OSError, ValueError,
               LookupError, ImportError, OverflowError)


def error_message(exc: BaseException) -> str:
    """Return a one-line description of ``exc`` for the terminal.

    Parameters
    ----------
    exc : BaseException
        The error. For a SQLAlchemy DB-API error the driver's own message
        (``exc.orig``) is used, not the SQL statement SQLAlchemy appends.

    Returns
    -------
    str
        The first non-empty line of the message, or the exception's class name;
        for a missing PostGIS or q3c function, which extension it belongs to
        (:func:`lightcurvedb.extensions.explain`); for a value the database
        refused (``IntegrityError``, ``DataError``), the constraint or column
        (:func:`lightcurvedb.core.db_errors.describe_db_error`).
    """
    hint = extensions.explain(exc) if isinstance(exc, SQLAlchemyError) else None
    if hint is not None:
        return hint
    if isinstance(exc, (IntegrityError, DataError, OverflowError)):
        return describe_db_error(exc)
    source = getattr(exc, "orig", None) if isinstance(exc, SQLAlchemyError) else None
    text = str(source if source is not None else exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


@contextmanager
def _engine(args: argparse.Namespace) -> Iterator[Engine]:
    engine = connect(args.url)
    try:
        yield engine
    finally:
        engine.dispose()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _revisions(revisions: Sequence[str]) -> str:
    return "\n".join(revisions) if revisions else "(empty)"


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.dataset == "rbh1":
        return _demo_rbh1(args)
    with _engine(args) as engine:
        summary = install_demo(engine)
    print(summary.render())
    print()
    if summary.created_anything:
        made = ", ".join(f"{n} {table}" for table, n in summary.created.items() if n)
        print(f"Created {sum(summary.created.values())} new rows ({made}).")
    else:
        print("Nothing new was created: the demo data were already present.")
    print()
    print(summary.next_steps(args.url))
    return 0


def _demo_rbh1(args: argparse.Namespace) -> int:
    from lightcurvedb.core.config import default_sqlite_path
    from lightcurvedb.loaders.rbh1 import load_rbh1_paths
    from lightcurvedb.loaders.rbh1.spaxels import extract_spaxels
    from lightcurvedb.testing.fits.rbh1 import write_rbh1_set

    directory = args.directory or default_sqlite_path().parent / "rbh1-demo"
    if not any(directory.glob("*.fits")):
        files = write_rbh1_set(directory)
        print(f"wrote {sum(map(len, files.values()))} miniature RBH-1 files to {directory}")
    with _engine(args) as engine:
        migrations.upgrade(engine)
        report = load_rbh1_paths(engine, directory, progress=False)
        print(report.render())
        with open_session(engine) as session:
            print(extract_spaxels(session).render())
    if report.ok:
        print()
        print(rbh1_next_steps(args.url))
    return 0 if report.ok else 1


def _cmd_upgrade(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        enabled = migrations.upgrade(engine, args.revision)
        print(f"{_url(engine)} is at: {', '.join(migrations.current(engine)) or '(empty)'}")
        for line in enabled:
            print(line)
        print(extensions.status(engine).describe())
    return 0


def _cmd_enable_extensions(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        for line in extensions.enable(engine) or ["nothing to enable"]:
            print(line)
        print(extensions.status(engine).describe())
    return 0


def _cmd_downgrade(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        migrations.downgrade(engine, args.revision)
        print(f"{_url(engine)} is at: {', '.join(migrations.current(engine)) or '(empty)'}")
    return 0


def _cmd_current(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        print(_revisions(migrations.current(engine)))
        print(extensions.status(engine).describe())
    return 0


def _cmd_heads(args: argparse.Namespace) -> int:
    print(_revisions(migrations.heads()))
    return 0


def _radio_databases(items: Sequence[str]) -> dict[str, str]:
    from lightcurvedb.radio.binding import GROUPS

    databases: dict[str, str] = {}
    for item in items:
        group, sep, url = item.partition("=")
        if not sep or not url or group not in GROUPS or group in databases:
            raise ValueError(f"--radio expects GROUP=URL once per group ({', '.join(GROUPS)}), "
                             f"got {item!r}")
        databases[group] = url
    return databases


def _cmd_repoint(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from lightcurvedb.paths import repoint
    from lightcurvedb.radio.binding import bind_radio
    from lightcurvedb.radio.layout import resolve_radio_layout

    # The pipeline's databases (--state, LIGHTCURVEDB_RADIO_STATE, db.conf [Radio]) unless
    # --url alone puts everything in one; --radio GROUP=URL replaces a group's database.
    layout = resolve_radio_layout(getattr(args, "state", None), args.url)
    databases: dict[str, str | URL] = dict(layout.databases or {})
    databases.update(_radio_databases(args.radio))
    binds = bind_radio(databases) if databases else {}
    try:
        with _engine(args) as engine, Session(engine, binds=binds) as db:  # type: ignore[arg-type]
            counts = repoint(db, args.old, args.new, dry_run=args.dry_run)
            if not args.dry_run:
                db.commit()
    finally:
        for radio_engine in set(binds.values()):
            radio_engine.dispose()
    for key, n in counts.items():
        if n:
            print(f"{key}: {n}")
    total = sum(counts.values())
    if not total:
        print(f"no stored path under {args.old}")
    elif args.dry_run:
        print(f"dry run: {total} paths would be re-pointed; nothing was written")
    else:
        print(f"{total} paths re-pointed to {args.new}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _cmd_load_tess(args: argparse.Namespace) -> int:
    # astropy.io.fits: import only when used
    from lightcurvedb.loaders.tess import find_spoc_files, load_paths

    files = find_spoc_files(args.paths)   # an empty directory fails before migrating
    with _engine(args) as engine:
        migrations.upgrade(engine)
        report = load_paths(engine, files, progress=args.progress, strict=args.strict,
                            jobs=args.jobs, batch_size=args.batch_size)
    print(report.render())
    return 0 if report.ok else 1


def _cmd_load_rbh1(args: argparse.Namespace) -> int:
    # astropy: import only when used
    from lightcurvedb.loaders.rbh1 import find_rbh1_files, load_rbh1_paths

    files = find_rbh1_files(args.directory)   # an empty directory fails before migrating
    with _engine(args) as engine:
        migrations.upgrade(engine)
        report = load_rbh1_paths(engine, files, progress=args.progress,
                                 strict=args.strict, dictionary_path=args.dictionary)
    print(report.render())
    return 0 if report.ok else 1



def build_parser() -> argparse.ArgumentParser:
    """Build the ``lcdb`` argument parser.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each leaf command stores its handler as ``func``.
        ``--url`` and ``--debug`` are accepted before or after the command.
    """
    url_help = ("database URL (default: LIGHTCURVEDB_URL, db.conf, else the SQLite file in "
                "the user's data directory)")
    debug_help = "show the full traceback on errors"
    parser = argparse.ArgumentParser(
        prog="lcdb", description="Manage a lightcurvedb database of astronomical light curves.")
    parser.add_argument("--url", metavar="URL", help=url_help)
    parser.add_argument("--debug", action="store_true", help=debug_help)
    # Commands accept the same options after their name; SUPPRESS keeps a value
    # given before the command from being reset by the command's own default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS, metavar="URL", help=url_help)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=debug_help)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    demo = add_command(commands, "demo", "migrate the database and load a small demo "
                        "(idempotent): a TESS mission, or the RBH-1 HST/JWST set", _cmd_demo,
                        common)
    demo.add_argument("dataset", nargs="?", choices=("tess", "rbh1"), default="tess",
                      help="tess (default): five targets, two sectors; rbh1: generate the "
                           "194 miniature HST/JWST files, load zones 0-2")
    demo.add_argument("--directory", type=pathlib.Path, metavar="DIR",
                      help="rbh1: where the generated files go (default: next to the "
                           "default database)")
    db = commands.add_parser("db", help="inspect and migrate the database schema",
                             description="Inspect and migrate the database schema.")
    db_commands = db.add_subparsers(title="commands", metavar="COMMAND", required=True)
    upgrade = add_command(db_commands, "upgrade", "upgrade the schema to a revision "
                           "(default: the newest)", _cmd_upgrade, common)
    upgrade.add_argument("revision", nargs="?", default="heads",
                         help="target revision: heads (default), a revision id, +1, ...")
    downgrade = add_command(db_commands, "downgrade", "downgrade the schema to a revision",
                             _cmd_downgrade, common)
    downgrade.add_argument("revision", help="target revision: -1, a revision id, or base "
                                            "(drops every table)")
    add_command(db_commands, "current", "print the revision(s) the database is at and the "
                 "optional extensions (PostGIS, q3c) it uses", _cmd_current, common)
    add_command(db_commands, "enable-extensions", "move the database to PostGIS/q3c "
                 "installed since it was built (footprints converted, q3c index built; "
                 "idempotent; 'db upgrade' does it too)", _cmd_enable_extensions, common)
    add_command(db_commands, "heads", "print the newest revision(s) shipped with lightcurvedb",
                 _cmd_heads, common)
    repoint = add_command(db_commands, "repoint", "rewrite the prefix OLD of every stored path "
                          "to NEW after moving a data tree (whole path components only; all or "
                          "nothing; does not migrate)", _cmd_repoint, common)
    repoint.add_argument("old", metavar="OLD", help="where the files were (absolute)")
    repoint.add_argument("new", metavar="NEW", help="where they are now (stored resolved)")
    repoint.add_argument("--dry-run", action="store_true",
                         help="count the paths per table column, write nothing")
    repoint.add_argument("--radio", action="append", default=[], metavar="GROUP=URL",
                         help="a DSA-110 table group kept in its own database, e.g. "
                              "products=sqlite:///state/products.sqlite3 (repeat per group; "
                              "the other tables are in --url's database, or --state's)")
    add_state_option(repoint)
    load = commands.add_parser("load", help="load data files into the database (migrating "
                               "it first)", description="Load data files into the database, "
                               "after migrating it to the newest revision.")
    load_commands = load.add_subparsers(title="commands", metavar="COMMAND", required=True)
    load_tess = add_command(load_commands, "tess", "load TESS SPOC light-curve files; exit "
                             "status 1 if any file failed or a directory holds none",
                             _cmd_load_tess, common)
    load_tess.add_argument("paths", nargs="+", metavar="PATH",
                           help="a *_lc.fits file, or a directory searched recursively for "
                                "*_lc.fits and *_fast-lc.fits (also .gz, .bz2)")
    load_tess.add_argument("--no-progress", dest="progress", action="store_false",
                           help="do not show a progress bar on stderr")
    load_tess.add_argument("--strict", action="store_true",
                           help="stop at the first file that fails and commit nothing")
    load_tess.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                           help="worker processes reading files while the main one writes "
                                "(default: the usable cores, at most 8; 1 for a few files)")
    load_tess.add_argument("--batch-size", type=_positive_int, default=32, metavar="N",
                           help="files written and committed together (default 32); a re-run "
                                "skips committed files by their recorded hash")
    load_rbh1 = add_command(load_commands, "rbh1", "load an RBH-1 directory of HST WFC3 and "
                             "JWST NIRSpec files into zones 0-1; exit status 1 if any file "
                             "failed or a directory holds none", _cmd_load_rbh1, common)
    load_rbh1.add_argument("directory", nargs="+", metavar="DIR",
                           help="a directory searched recursively for *.fits, *.fits.gz, "
                                "*.fits.bz2 and *.fits.fz (or files); each file's type comes "
                                "from its headers")
    load_rbh1.add_argument("--dictionary", metavar="OUT.json",
                           help="also write the files' data dictionary (JSON) there")
    load_rbh1.add_argument("--no-progress", dest="progress", action="store_false",
                           help="do not show a progress bar on stderr")
    load_rbh1.add_argument("--strict", action="store_true",
                           help="stop at the first file that fails and commit nothing")
    add_catalog_commands(load_commands, commands, common)
    add_lc_commands(commands, common)
    add_targets_commands(commands, common)
    add_rbh1_commands(commands, common)
    radio = add_radio_commands(commands, common)
    add_radio_analysis_commands(radio, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lcdb`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 1 on an error (reported on stderr as
        one ``lcdb: error: ...`` line), 130 when interrupted. Usage errors
        exit through :mod:`argparse` with status 2.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except USER_ERRORS as exc:
        if args.debug:
            raise
        print(f"lcdb: error: {error_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("lcdb: interrupted", file=sys.stderr)
        return 130
