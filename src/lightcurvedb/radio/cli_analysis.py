"""DSA-110 analysis commands: variability, ESE candidates, master sources, light curves.

Examples
--------
.. code-block:: console

   $ lcdb radio variability update                 # sources with new photometry
   $ lcdb radio variability update --source "NVSS J123456.7+420312"
   $ lcdb radio ese flag --chi2 5 --sigma 5
   $ lcdb radio sources load master_sources.fits
   $ lcdb radio sources cone 188.7 42.05 0.5
   $ lcdb radio sources lightcurve "NVSS J123456.7+420312"

(where the commands sit, here under ``lcdb radio``, is up to the parser that
:func:`add_radio_analysis_commands` is given). Handlers take the parsed
arguments, run on the databases :mod:`lightcurvedb.radio.layout` chooses
(``--state DIR``, ``--url``, ...; see
:func:`~lightcurvedb.radio.cli_layout.run_radio`: one database is migrated
first, the pipeline's files are used as they are), commit on success and
return the exit status. ``sources lightcurve`` on the pipeline's files writes
the light curve to the core lightcurvedb database (``--url`` or as
:func:`lightcurvedb.connect` resolves it).
"""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy.orm import Session

from lightcurvedb._clitools import add_command, add_group
from lightcurvedb.radio.cli_layout import radio_options, run_radio
from lightcurvedb.radio.variability import (
    DEFAULT_CHI2_THRESHOLD,
    DEFAULT_MIN_OBS,
    DEFAULT_SIGMA_THRESHOLD,
)

__all__ = ["add_radio_analysis_commands", "cmd_ese_flag", "cmd_sources_cone",
           "cmd_sources_lightcurve", "cmd_sources_load", "cmd_variability_update"]



def cmd_variability_update(args: argparse.Namespace) -> int:
    """Recompute variability statistics (stale, ``--source`` or ``--since``); print the count.

    Returns
    -------
    int
        0.
    """
    from lightcurvedb.radio.variability import update_variability

    since = None
    if args.since is not None:
        since = dt.datetime.fromisoformat(args.since)
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)

    def work(db: Session) -> int:
        n = update_variability(db, source_ids=args.sources, since=since)
        print(f"variability statistics updated for {n} source{'s' if n != 1 else ''}")
        return 0

    return run_radio(args, work)


def cmd_ese_flag(args: argparse.Namespace) -> int:
    """Flag ESE candidates above the thresholds; print one line per new candidate.

    Returns
    -------
    int
        0.
    """
    from lightcurvedb.radio.variability import flag_ese_candidates

    def work(db: Session) -> int:
        candidates = flag_ese_candidates(db, chi2_threshold=args.chi2,
                                         sigma_threshold=args.sigma, min_obs=args.min_obs)
        for candidate in candidates:
            print(f"{candidate.source_id}\t{candidate.flag_type}\t{candidate.significance:.2f}")
        print(f"{len(candidates)} new ESE candidate{'s' if len(candidates) != 1 else ''}")
        return 0

    return run_radio(args, work)


def cmd_sources_load(args: argparse.Namespace) -> int:
    """Load a master-source crossmatch file (FITS or CSV); print the count.

    Returns
    -------
    int
        0.
    """
    from lightcurvedb.radio.catalog import load_master_sources

    def work(db: Session) -> int:
        n = load_master_sources(db, args.file, chunk_size=args.chunk_size)
        print(f"{args.file}: {n} master sources loaded")
        return 0

    return run_radio(args, work)


def cmd_sources_cone(args: argparse.Namespace) -> int:
    """Print the master sources within a radius of a position, nearest first.

    Returns
    -------
    int
        0 (also when nothing is found).
    """
    from lightcurvedb.radio.catalog import angular_separation_deg, cone_search

    def work(db: Session) -> int:
        sources = cone_search(db, args.ra, args.dec, args.radius)
        print("source_id\tra_deg\tdec_deg\tsep_arcsec\ts_nvss_jy")
        for source in sources:
            sep = float(angular_separation_deg(args.ra, args.dec, source.ra_deg,
                                               source.dec_deg)) * 3600.0
            flux = "" if source.s_nvss is None else f"{source.s_nvss:.4g}"
            print(f"{source.source_id}\t{source.ra_deg:.6f}\t{source.dec_deg:.6f}\t"
                  f"{sep:.2f}\t{flux}")
        print(f"{len(sources)} source{'s' if len(sources) != 1 else ''} within "
              f"{args.radius} deg")
        return 0

    return run_radio(args, work)


def cmd_sources_lightcurve(args: argparse.Namespace) -> int:
    """Materialise a source's photometry as a core light curve; print its id and length.

    Returns
    -------
    int
        0.
    """
    from lightcurvedb.radio.targets import materialise_lightcurve

    def work(db: Session) -> int:
        dataset = materialise_lightcurve(db, args.source_id)
        print(f"{args.source_id}: light curve {dataset.id} ({len(dataset.values)} points, "
              f"{dataset.unit})")
        return 0

    return run_radio(args, work, core=True)




def add_radio_analysis_commands(commands: argparse._SubParsersAction,
                                common: argparse.ArgumentParser | None = None) -> None:
    """Add the ``variability``, ``ese`` and ``sources`` command groups to a parser.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        The subparsers to add the groups to: the ``radio`` group's (``lcdb
        radio variability update``) or the top level's.
    common : argparse.ArgumentParser, optional
        A parent parser of options every command accepts (``--url``,
        ``--debug`` in :func:`lightcurvedb.cli.build_parser`); ``--state``
        is added.
    """
    common = radio_options(common)
    variability = add_group(commands, "variability", "DSA-110 variability statistics")
    update = add_command(variability, "update", "recompute variability statistics from photometry "
                  "(by default only for sources with new photometry)", cmd_variability_update,
                  common)
    update.add_argument("--source", dest="sources", action="append", metavar="ID",
                        help="recompute this source (NVSS id) whether stale or not; repeatable")
    update.add_argument("--since", metavar="ISO-TIME",
                        help="recompute sources with photometry measured after this time "
                             "(ISO 8601; UTC unless it has an offset)")
    ese = add_group(commands, "ese", "DSA-110 extreme-scattering-event candidates")
    flag = add_command(ese, "flag", "flag variable sources without an active candidate as ESE "
                "candidates", cmd_ese_flag, common)
    flag.add_argument("--chi2", type=float, default=DEFAULT_CHI2_THRESHOLD, metavar="X",
                      help=f"reduced chi-square threshold (default: {DEFAULT_CHI2_THRESHOLD})")
    flag.add_argument("--sigma", type=float, default=DEFAULT_SIGMA_THRESHOLD, metavar="N",
                      help=f"max-deviation threshold in sigma (default: "
                           f"{DEFAULT_SIGMA_THRESHOLD})")
    flag.add_argument("--min-obs", type=int, default=DEFAULT_MIN_OBS, metavar="N",
                      help=f"fewest measurements to flag (default: {DEFAULT_MIN_OBS})")
    sources = add_group(commands, "sources", "DSA-110 master sources (NVSS/VLASS/FIRST)")
    load = add_command(sources, "load",
                       "load a crossmatch catalog (FITS or CSV) into radio.sources",
                       cmd_sources_load, common)
    load.add_argument("file", metavar="FILE", help="a .fits/.fit/.fts(.gz) or .csv file")
    load.add_argument("--chunk-size", type=int, default=5000, metavar="N",
                      help="rows written per statement (default: 5000)")
    cone = add_command(sources, "cone", "list master sources within a radius of a position",
                cmd_sources_cone, common)
    cone.add_argument("ra", type=float, metavar="RA", help="right ascension (deg)")
    cone.add_argument("dec", type=float, metavar="DEC", help="declination (deg)")
    cone.add_argument("radius", type=float, metavar="RADIUS", help="radius (deg)")
    lightcurve = add_command(sources, "lightcurve", "materialise a source's photometry as a core "
                      "light curve (DataSet)", cmd_sources_lightcurve, common)
    lightcurve.add_argument("source_id", metavar="ID", help="the NVSS id")
