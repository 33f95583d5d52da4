"""``lcdb load catalog`` and ``lcdb catalog validations``: FITS catalogs from the command line.

Examples
--------
.. code-block:: console

   $ lcdb load catalog fastspec-iron.fits --catalog "DESI DR1" --mission DESI
   $ lcdb load catalog vac/ --catalog "DESI DR1" --mission DESI --key TARGETID --hdu FASTSPEC
   $ lcdb load catalog healpix/ --catalog "DESI DR1" --mission DESI --hdu FIBERMAP
   $ lcdb load catalog more.fits --catalog "DESI DR1" --mission DESI --refuse-existing
   $ lcdb catalog validations --failed          # stored reports, newest first

:func:`add_catalog_commands` adds both to a parser built like
:func:`lightcurvedb.cli.build_parser`'s; astropy is imported only when a
command runs.
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.orm import Session

from lightcurvedb._clitools import add_command, add_group, run_in_session

__all__ = ["add_catalog_commands", "cmd_catalog_validations", "cmd_load_catalog"]


def _hdu(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def cmd_load_catalog(args: argparse.Namespace) -> int:
    """Migrate the database, load the files' key column as targets, commit, print the reports.

    Returns
    -------
    int
        0, or 1 if any file was refused (its stored report is committed too).
    """
    from lightcurvedb.loaders.catalog_targets import load_catalog_targets

    def work(db: Session) -> int:
        run = load_catalog_targets(db, args.paths, catalog=args.catalog, mission=args.mission,
                                   key=args.key, designation=args.designation,
                                   positions=args.positions, aliases=args.aliases,
                                   hdu=args.hdu,
                                   chunk_rows=args.chunk_rows, progress=args.progress,
                                   existing=args.existing, exposure=args.exposure)
        print(run.render())
        return 0 if run.ok else 1

    return run_in_session(args, work)


def cmd_catalog_validations(args: argparse.Namespace) -> int:
    """Print stored catalog validation reports, newest first.

    Returns
    -------
    int
        0 (also when there are none), 1 if the database has no such table yet.
    """
    from sqlalchemy import inspect, select

    from lightcurvedb.loaders.catalog_report import CatalogLoadReport
    from lightcurvedb.models import CatalogValidation

    def work(db: Session) -> int:
        if not inspect(db.connection()).has_table(CatalogValidation.__tablename__):
            print("lcdb: error: the database has no catalog_validation table (run "
                  "'lcdb db upgrade', or load a catalog first)", file=sys.stderr)
            return 1
        query = select(CatalogValidation).order_by(CatalogValidation.id.desc()).limit(args.limit)
        if args.failed:
            query = query.where(CatalogValidation.passed.is_(False))
        if args.destination:
            query = query.where(CatalogValidation.destination.startswith(args.destination))
        rows = db.scalars(query).all()
        if not rows:
            print("no stored catalog validation reports")
        texts = [f"report {row.id}, {row.created_at:%Y-%m-%d %H:%M:%S} UTC\n"
                 + CatalogLoadReport.from_validation(row).render() for row in rows]
        print("\n\n".join(texts))
        return 0

    return run_in_session(args, work, migrate=False)


def add_catalog_commands(load_commands: argparse._SubParsersAction,
                         commands: argparse._SubParsersAction,
                         common: argparse.ArgumentParser) -> None:
    """Add ``load catalog`` to ``load_commands`` and the ``catalog`` group to ``commands``."""
    load = add_command(load_commands, "catalog", "load the key column of FITS catalog tables "
                       "(e.g. DESI TARGETID) as targets of a mission catalog, validating each "
                       "file first; exit status 1 if any file failed", cmd_load_catalog, common)
    load.add_argument("paths", nargs="+", metavar="PATH",
                      help="a FITS file, or a directory searched recursively for *.fits")
    load.add_argument("--catalog", required=True, metavar="NAME",
                      help="the mission catalog the targets belong to (created if absent)")
    load.add_argument("--mission", required=True, metavar="NAME",
                      help="the catalog's host mission (created if absent, times in MJD UTC)")
    load.add_argument("--key", default="TARGETID", metavar="COLUMN",
                      help="the integer FITS column that numbers the targets "
                           "(default: TARGETID)")
    load.add_argument("--designation", metavar="COLUMN",
                      help="a text FITS column to store as the target's designation")
    load.add_argument("--positions", metavar="COLUMNS",
                      help="store the targets' positions: 'desi' (TARGET_RA, TARGET_DEC, "
                           "REF_EPOCH, PMRA, PMDEC) or COLUMN=attribute pairs, e.g. "
                           "'RA=ra,DEC=dec,EPOCH=epoch'")
    load.add_argument("--alias", dest="aliases", metavar="CATALOG=COLUMN",
                      help="record each row's COLUMN as its target's name in CATALOG, e.g. "
                           "'Gaia DR3=GAIA_ID' (several: separate with ';'); only in rows "
                           "where another column has a value: 'Gaia DR2=REF_ID[REF_CAT=G2]'")
    load.add_argument("--hdu", type=_hdu, default=1, metavar="HDU",
                      help="the table HDU, by index or EXTNAME (default: 1)")
    load.add_argument("--chunk-rows", type=int, default=100_000, metavar="N",
                      help="rows read and written at a time (default: 100000)")
    load.add_argument("--refuse-existing", dest="existing", action="store_const",
                      const="refuse", default="reuse",
                      help="refuse a file with a key already in the catalog (default: such "
                           "a key is that target; only new keys become targets)")
    load.add_argument("--exposure-column", dest="exposure", default="EXPID", metavar="COLUMN",
                      help="a table with this column lists a target once per exposure: its "
                           "key may repeat, once per exposure (default: EXPID)")
    load.add_argument("--no-exposure-column", dest="exposure", action="store_const",
                      const=None, help="treat every table as a catalog: a repeated key "
                                       "refuses the file")
    load.add_argument("--no-progress", dest="progress", action="store_false",
                      help="do not show progress bars on stderr")
    group = add_group(commands, "catalog", "inspect catalog loads")
    shown = add_command(group, "validations", "print the stored validation reports of catalog "
                        "files, newest first", cmd_catalog_validations, common)
    shown.add_argument("--failed", action="store_true", help="only reports that did not pass")
    shown.add_argument("--destination", metavar="TABLE",
                       help="only loads into this table (prefix match, e.g. target)")
    shown.add_argument("--limit", type=int, default=20, metavar="N",
                       help="at most N reports (default: 20)")
