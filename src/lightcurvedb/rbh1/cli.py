"""The ``lcdb rbh1`` command group: the validation dashboard and spaxel extraction.

Examples
--------
.. code-block:: console

   $ lcdb rbh1 dashboard plots/phase02_validation_dashboard.png
   $ lcdb rbh1 extract-spaxels                   # every loaded s3d cube not yet extracted
   $ lcdb rbh1 extract-spaxels --replace --snr-gold 20

:func:`add_rbh1_commands` adds the group to a parser built like
:func:`lightcurvedb.cli.build_parser`'s: handlers take the parsed arguments and
return the exit status, and read ``args.url`` (resolved by
:func:`lightcurvedb.core.engine.connect`).
"""

from __future__ import annotations

import argparse

from lightcurvedb import migrations
from lightcurvedb._clitools import add_command
from lightcurvedb.core.engine import connect
from lightcurvedb.core.engine import session as open_session

__all__ = ["add_rbh1_commands", "cmd_dashboard", "cmd_extract_spaxels"]


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Draw the six-panel dashboard of zones 0-1 into ``args.out`` (the database is only read).

    Returns
    -------
    int
        0.
    """
    from lightcurvedb.rbh1.dashboard import dashboard_data, render_dashboard

    engine = connect(getattr(args, "url", None))
    try:
        with open_session(engine) as db:
            data = dashboard_data(db)
            out = render_dashboard(db, args.out, dpi=args.dpi, data=data)
    finally:
        engine.dispose()
    counts = ", ".join(f"{n} {category}" for category, n in data.counts.items()) or "none"
    print(f"wrote {out}: {len(data.footprints)} WCS solutions ({counts}), "
          f"{len(data.sampling)} s3d grids")
    return 0


def cmd_extract_spaxels(args: argparse.Namespace) -> int:
    """Migrate the database, extract the spaxels of its s3d cubes, commit and print the report.

    Returns
    -------
    int
        0, or 1 if any cube failed.
    """
    from lightcurvedb.loaders.rbh1.spaxels import HOST_POSITION, extract_spaxels

    host = (HOST_POSITION[0] if args.host_ra is None else args.host_ra,
            HOST_POSITION[1] if args.host_dec is None else args.host_dec)
    engine = connect(getattr(args, "url", None))
    try:
        migrations.upgrade(engine)
        with open_session(engine) as db:
            report = extract_spaxels(
                db, wcs_ids=args.wcs_ids, host=host,
                snr_gold=args.snr_gold, snr_silver=args.snr_silver, snr_bronze=args.snr_bronze,
                replace=args.replace, progress=args.progress, strict=args.strict)
    finally:
        engine.dispose()
    print(report.render())
    qualities = ", ".join(f"{flag.value} {n}" for flag, n in report.quality_counts.items())
    print(f"{report.spaxels_written} spaxels written ({qualities or 'none'}); "
          f"pipeline run {report.run_id}")
    return 0 if report.ok else 1



def add_rbh1_commands(commands: argparse._SubParsersAction,
                      common: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the ``rbh1`` command group (``dashboard``, ``extract-spaxels``) to a parser.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        The top-level subparsers (``parser.add_subparsers(...)``).
    common : argparse.ArgumentParser, optional
        A parent parser of options every command accepts (``--url``,
        ``--debug`` in :func:`lightcurvedb.cli.build_parser`).

    Returns
    -------
    argparse.ArgumentParser
        The ``rbh1`` parser.
    """
    rbh1 = commands.add_parser("rbh1", help="RBH-1: validation dashboard and spaxel extraction",
                               description="RBH-1: validation dashboard of zones 0-1 and "
                                           "spaxel extraction (zone 2).")
    group = rbh1.add_subparsers(title="commands", metavar="COMMAND", required=True)
    dashboard = add_command(group, "dashboard", "draw the six-panel validation dashboard of "
                            "the WCS solutions and spectral grids", cmd_dashboard, common)
    dashboard.add_argument("out", metavar="OUT.png", help="image to write (suffix picks format)")
    dashboard.add_argument("--dpi", type=int, default=120, help="resolution (default: 120)")
    extract = add_command(group, "extract-spaxels", "extract the spaxels of the loaded s3d "
                          "cubes into rbh1.ifu_spaxels (migrating first); exit status 1 if any "
                          "cube failed", cmd_extract_spaxels, common)
    extract.add_argument("--wcs-id", dest="wcs_ids", type=int, action="append", metavar="ID",
                         help="only this cube (WCS solution id); repeat for several")
    extract.add_argument("--replace", action="store_true",
                         help="delete and rewrite the spaxels of cubes already extracted")
    for level, default in (("gold", 50), ("silver", 20), ("bronze", 5)):   # SNR_THRESHOLDS
        extract.add_argument(f"--snr-{level}", type=float, default=float(default), metavar="S/N",
                             help=f"peak S/N of a {level.upper()} spaxel (default: {default})")
    extract.add_argument("--host-ra", type=float, metavar="DEG",
                         help="host RA for distances (default: 40.45, HOST_POSITION)")
    extract.add_argument("--host-dec", type=float, metavar="DEG",
                         help="host Dec for distances (default: -8.35, HOST_POSITION)")
    extract.add_argument("--no-progress", dest="progress", action="store_false",
                         help="do not show a progress bar on stderr")
    extract.add_argument("--strict", action="store_true",
                         help="stop at the first cube that fails and commit nothing")
    return rbh1
