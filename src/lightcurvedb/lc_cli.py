"""The ``lcdb lc`` command group: show, plot and export the light curves of a target.

Examples
--------
.. code-block:: console

   $ lcdb lc show TIC 261136679                  # one line per light curve
   $ lcdb lc show 261136679 --sector 1 --processing PDC --head 5
   $ lcdb lc plot TIC 261136679 -o tic261136679.png
   $ lcdb lc export TIC 261136679 --best -o tic261136679.ecsv   # also .csv, .fits, .parquet

``TARGET`` is a catalog name and number (``"TIC 261136679"``, quoted or not,
``TIC261136679``) or a bare number, taken in the catalog ``--catalog`` names
(default ``TIC``); catalog, processing and photometry names match without
regard to case (:func:`lightcurvedb.lc.selection.select_lightcurves`). The
output is :func:`lightcurvedb.lc.listing.listing`,
:func:`lightcurvedb.lc.files.figure` and :func:`lightcurvedb.lc.files.export`.
The module is outside :mod:`lightcurvedb.lc` so that building the ``lcdb``
parser imports neither astropy nor the models: the handlers import them.
"""

from __future__ import annotations

import argparse
import pathlib
import re
from typing import TYPE_CHECKING

from lightcurvedb._clitools import add_command, add_group, run_in_session

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lightcurvedb.lc import LightCurveCollection
    from lightcurvedb.lc.quality import QualityBitmask

__all__ = ["FORMATS", "add_lc_commands", "cmd_export", "cmd_plot", "cmd_show"]

#: The export formats ``--format`` offers (:data:`lightcurvedb.lc.files.EXPORT_FORMATS`).
FORMATS = ("csv", "ecsv", "fits", "parquet")


def _bitmask(text: str) -> QualityBitmask:
    return int(text, 0) if re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", text) else text


def _select(session: Session, args: argparse.Namespace) -> LightCurveCollection:
    from lightcurvedb.lc.selection import select_lightcurves

    return select_lightcurves(session, " ".join(args.target), catalog=args.catalog,
                              sector=args.sector, processing=args.processing,
                              photometry=args.photometry, best=args.best)


def cmd_show(args: argparse.Namespace) -> int:
    """Print the light curves of ``args.target`` (``lcdb lc show``); 1 if none match.

    Returns
    -------
    int
        0.
    """
    def work(session: Session) -> int:
        from lightcurvedb.lc.listing import listing

        curves = _select(session, args)
        head = max(len(lc) for lc in curves) if args.cadences else args.head
        print(listing(curves, args.quality_bitmask, head=head))
        return 0

    return run_in_session(args, work, migrate=False)


def cmd_plot(args: argparse.Namespace) -> int:
    """Plot the light curves of ``args.target`` into ``args.output`` (``lcdb lc plot``).

    Returns
    -------
    int
        0.
    """
    from lightcurvedb.lc.extras import require

    out = pathlib.Path(args.output)
    fmt = out.suffix[1:].lower() or "png"
    # Before reading anything: the file, matplotlib and the image format.
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists: pass --overwrite to replace it")
    backend = require("matplotlib.backend_bases", "plot", "lcdb lc plot")
    formats = backend.FigureCanvasBase.get_supported_filetypes()
    if fmt not in formats:
        raise ValueError(f"{out}: matplotlib cannot write {fmt!r} images (it writes "
                         f"{', '.join(sorted(formats))})")

    def work(session: Session) -> int:
        from lightcurvedb.lc.files import figure, write_new

        curves = _select(session, args)
        fig = figure(curves, quality_bitmask=args.quality_bitmask, overlay=args.overlay,
                     normalize=args.normalize, dpi=args.dpi)
        write_new(out, args.overwrite, lambda partial: fig.savefig(partial, format=fmt))
        panels = 1 if args.overlay else len(fig.axes)
        print(f"wrote {out}: {len(curves)} light curve{'s' if len(curves) != 1 else ''} of "
              f"{curves[0].object_name}, {panels} panel{'s' if panels != 1 else ''}")
        return 0

    return run_in_session(args, work, migrate=False)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the light curves of ``args.target`` to ``args.output`` (``lcdb lc export``).

    Returns
    -------
    int
        0.
    """
    from lightcurvedb.lc.files import export, export_format

    out = pathlib.Path(args.output)
    fmt = export_format(out, args.format)      # a bad suffix fails before reading anything
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"{out} exists: pass --overwrite to replace it")

    def work(session: Session) -> int:
        curves = _select(session, args)
        export(curves, out, fmt, args.quality_bitmask, overwrite=args.overwrite)
        print(f"wrote {out} ({fmt}): {len(curves)} light curve"
              f"{'s' if len(curves) != 1 else ''} of {curves[0].object_name}, "
              f"{sum(len(lc) for lc in curves)} cadences")
        return 0

    return run_in_session(args, work, migrate=False)


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="+", metavar="TARGET",
                        help="catalog name and number, e.g. TIC 261136679, or a bare number "
                             "(a TIC id unless --catalog names another catalog)")
    parser.add_argument("--catalog", metavar="NAME",
                        help="the catalog of a bare TARGET number (default: TIC)")
    parser.add_argument("--sector", type=int, action="append", metavar="N",
                        help="only sector N (repeat for several)")
    parser.add_argument("--processing", action="append", metavar="NAME",
                        help="only this processing: PDC (or PDCSAP), raw (or SAP: no "
                             "processing) or another method's name; repeat for several")
    parser.add_argument("--photometry", action="append", metavar="NAME",
                        help="only this photometric source, e.g. 'SPOC aperture'")
    parser.add_argument("--best", action="store_true",
                        help="only the best light curve per target and observation "
                             "(processed over raw, derived over source, then newest)")
    parser.add_argument("--quality-bitmask", type=_bitmask, default="default", metavar="MASK",
                        help="which flagged cadences are bad: default, hard, hardest, none, "
                             "a bit name or an int (default: default)")


def _add_output(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help=what)
    parser.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")


def add_lc_commands(commands: argparse._SubParsersAction,
                    common: argparse.ArgumentParser | None = None) -> argparse._SubParsersAction:
    """Add the ``lc`` command group (``show``, ``plot``, ``export``) to a parser.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        The top-level subparsers (``parser.add_subparsers(...)``).
    common : argparse.ArgumentParser, optional
        A parent parser of options every command accepts (``--url``, ``--debug``).

    Returns
    -------
    argparse._SubParsersAction
        The subparsers of the group.
    """
    group = add_group(commands, "lc", "see, plot and export the light curves of a target")
    show = add_command(group, "show", "print one line per light curve of TARGET: cadences, "
                       "good cadences, time span, median flux", cmd_show, common)
    _add_filters(show)
    show.add_argument("--head", type=int, metavar="N",
                      help="also print the first N cadences of each light curve")
    show.add_argument("--cadences", action="store_true",
                      help="also print every cadence of each light curve")
    plot = add_command(group, "plot", "plot the light curves of TARGET into an image (needs "
                       "the plot extra: matplotlib)", cmd_plot, common)
    _add_filters(plot)
    _add_output(plot, "the image to write; its suffix picks the format (.png, .pdf, .svg)")
    plot.add_argument("--overlay", action="store_true",
                      help="draw every light curve on one plot instead of one panel each")
    plot.add_argument("--normalize", action="store_true",
                      help="divide each light curve by its median flux")
    plot.add_argument("--dpi", type=int, default=100, help="resolution (default: 100)")
    export_cmd = add_command(group, "export", "write the light curves of TARGET to a CSV, "
                             "ECSV, FITS or Parquet file", cmd_export, common)
    _add_filters(export_cmd)
    _add_output(export_cmd, "the file to write: .csv, .ecsv (with units and metadata), .fits "
                            "(one extension per light curve) or .parquet (parquet extra)")
    export_cmd.add_argument("--format", choices=FORMATS,
                            help="the format, whatever FILE's suffix")
    return group
