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
regard to case. The light curves come from :func:`lightcurvedb.lightcurves`
with the filters the options give, and the outputs are those of
:class:`~lightcurvedb.lc.LightCurveCollection` (``to_table``, ``to_fits``,
``to_parquet``, ``plot``). The module is separate from :mod:`lightcurvedb.lc`
so that building the ``lcdb`` parser imports neither astropy nor the models.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lightcurvedb._clitools import add_command, add_group, run_in_session

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from sqlalchemy.orm import Session

    from lightcurvedb.lc import LightCurve, LightCurveCollection
    from lightcurvedb.lc.quality import QualityBitmask

__all__ = ["EXPORT_FORMATS", "MAX_PANELS", "add_lc_commands", "cmd_export", "cmd_plot",
           "cmd_show", "export", "export_format", "figure", "listing", "parse_target",
           "select_lightcurves"]

#: The export formats and the file suffixes that choose them.
EXPORT_FORMATS = {"csv": (".csv",), "ecsv": (".ecsv",),
                  "fits": (".fits", ".fit", ".fts", ".fits.gz"), "parquet": (".parquet", ".pq")}
#: The most light curves ``lcdb lc plot`` draws in panels of their own (``--overlay`` has no limit).
MAX_PANELS = 16
#: Processing names taken for "no processing" (``processing="raw"`` of the API).
_RAW = ("raw", "sap", "none")
_TARGET = re.compile(r"^\s*(?P<catalog>.*?)[\s:_-]*(?P<number>\d+)\s*$")


def parse_target(text: str, catalog: str | None = None) -> tuple[str, int]:
    """Split a target as typed on the command line into catalog name and number.

    Parameters
    ----------
    text : str
        ``"TIC 261136679"``, ``"TIC261136679"``, ``"Gaia DR3 4660..."`` or a
        bare number.
    catalog : str, optional
        The catalog of a bare number (default ``"TIC"``); a name in ``text``
        must agree with it.

    Returns
    -------
    tuple of (str, int)
        The catalog name as typed and the catalog number.

    Raises
    ------
    ValueError
        If ``text`` does not end in a number, or names another catalog than
        ``catalog``.
    """
    match = _TARGET.match(text)
    if match is None:
        raise ValueError(f"TARGET must be a catalog name and number ('TIC 261136679') or a "
                         f"number, got {text!r}")
    named = match["catalog"].strip() or None
    if named and catalog and named.lower() != catalog.lower():
        raise ValueError(f"TARGET {text!r} names catalog {named!r} but --catalog is {catalog!r}")
    return named or catalog or "TIC", int(match["number"])


def _names(session: Session, model: type[Any], given: Sequence[str] | None, what: str,
           extra: Sequence[str] = ()) -> list[str] | None:
    """Return the stored names of ``model`` matching ``given`` without regard to case."""
    if not given:
        return None
    from sqlalchemy import select

    known = {name.lower(): name for name in session.scalars(select(model.name))}
    out = []
    for name in given:
        if name.lower() in known:
            out.append(known[name.lower()])
        elif name.lower() in _RAW and what == "processing":
            out.append("raw")
        elif name.lower() == "pdcsap" and what == "processing" and "pdc" in known:
            out.append(known["pdc"])
        else:
            choices = ", ".join([*extra, *sorted(known.values())]) or "none in the database"
            raise LookupError(f"unknown {what} {name!r}: known are {choices}")
    return out


def select_lightcurves(session: Session, target: str, *, catalog: str | None = None,
                       sector: Sequence[int] | None = None,
                       processing: Sequence[str] | None = None,
                       photometry: Sequence[str] | None = None,
                       best: bool = False) -> LightCurveCollection:
    """Return the light curves of one target that the ``lcdb lc`` options select.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Where to read.
    target : str
        As :func:`parse_target` takes it.
    catalog : str, optional
        The catalog of a bare number (default ``"TIC"``).
    sector : sequence of int, optional
        Only these sectors.
    processing : sequence of str, optional
        Processing-method names (``"PDC"``, also ``"PDCSAP"``), or ``"raw"``
        (also ``"SAP"``, ``"none"``) for light curves without processing.
    photometry : sequence of str, optional
        Photometric-source names.
    best : bool, optional
        Keep the best light curve per target and observation
        (:class:`~lightcurvedb.lc.BestRule`).

    Returns
    -------
    LightCurveCollection
        Never empty.

    Raises
    ------
    LookupError
        For an unknown catalog, target, processing or photometry name, or when
        no light curve of the target matches the filters; the message is one
        line saying which.
    """
    from sqlalchemy import func, inspect, select

    import lightcurvedb
    from lightcurvedb.lc import select_ids
    from lightcurvedb.models import MissionCatalog, PhotometricSource, ProcessingMethod, Target

    # Catalog name + number; an alias look-up (other catalogs' names) would resolve here.
    wanted, number = parse_target(target, catalog)
    if not inspect(session.connection()).has_table(MissionCatalog.__tablename__):
        raise LookupError("the database has no lightcurvedb tables: run 'lcdb db upgrade' "
                          "and load data (or 'lcdb demo')")
    catalogs = {name.lower(): name for name in session.scalars(select(MissionCatalog.name))}
    if wanted.lower() not in catalogs:
        known = ", ".join(sorted(catalogs.values())) or "none: load data first (lcdb demo)"
        raise LookupError(f"no catalog {wanted!r} in the database (catalogs: {known})")
    name = catalogs[wanted.lower()]
    found = session.scalar(select(func.count()).select_from(Target).join(Target.catalog)
                           .where(MissionCatalog.name == name, Target.name == number))
    if not found:
        raise LookupError(f"no target {name} {number} in the database")
    filters: dict[str, Any] = {"sector": list(sector) if sector else None,
               "processing": _names(session, ProcessingMethod, processing, "processing",
                                    extra=("raw",)),
               "photometry": _names(session, PhotometricSource, photometry, "photometry")}
    curves = lightcurvedb.lightcurves(session, target=number, catalog=name, best=best,
                                      **filters)
    if not curves:
        said = ", ".join(f"{key} {', '.join(map(str, value))}" for key, value in filters.items()
                         if value)
        every = select_ids(target=number, catalog=name).subquery()
        total = session.scalar(select(func.count()).select_from(every))
        raise LookupError(f"no light curves of {name} {number} match {said or 'the filters'} "
                          f"(it has {total}: lcdb lc show {name} {number})")
    return curves


def _observation(lc: LightCurve) -> str:
    where = next(iter(lc.observation_meta.items()), None)
    return f"{where[0]} {where[1]}" if where else f"observation {lc.observation.id}"


def _number(value: float) -> str:
    return "nan" if value != value else f"{value:.8g}"


def _time_span(lc: LightCurve, unit: bool) -> str:
    import numpy as np

    if lc.times is None or not np.isfinite(lc.times).any():
        return "no times"
    span = f"{np.nanmin(lc.times):.5f} .. {np.nanmax(lc.times):.5f}"
    return f"{span} {lc.mission.time_format_name.upper()}" if unit else span


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


def listing(curves: Sequence[LightCurve], quality_bitmask: QualityBitmask = "default",
            head: int | None = None) -> str:
    """Return the text ``lcdb lc show`` prints: one line per light curve, then cadences.

    Columns: the light-curve (dataset) id, mission, target, where it was
    observed (``sector 1``), photometric source, processing (``raw`` without),
    the number of cadences, the *good* ones (finite flux, no bit of
    ``quality_bitmask`` set), the time span in the mission's own numbers
    (BTJD for TESS; NaN times ignored), the median flux of the good cadences
    and its unit.

    Parameters
    ----------
    curves : sequence of LightCurve
    quality_bitmask : str, int, list or None, optional
        Which quality bits make a cadence bad (see :mod:`lightcurvedb.lc.quality`).
    head : int, optional
        Also print the first ``head`` cadences of each light curve (time,
        cadence number, flux, error, quality word, whether the bitmask flags it).

    Returns
    -------
    str
    """
    import numpy as np

    formats = {lc.mission.time_format_name.upper() for lc in curves}
    one_format = len(formats) == 1
    headers = ("dataset", "mission", "target", "observation", "photometry", "processing",
               "cadences", "good", f"time ({formats.pop()})" if one_format else "time",
               "median flux", "unit")
    rows = []
    for lc in curves:
        good = ~lc.bad(quality_bitmask)
        median = float(np.median(lc.values[good])) if good.any() else float("nan")
        rows.append((str(lc.id), lc.mission.name, lc.object_name, _observation(lc),
                     lc.photometry or "", lc.processing or "raw", str(len(lc)),
                     str(int(good.sum())), _time_span(lc, not one_format), _number(median),
                     lc.unit or ""))
    targets = {lc.object_name for lc in curves}
    title = (f"{', '.join(sorted(targets))}: {len(curves)} light curve"
             f"{'s' if len(curves) != 1 else ''} (quality bitmask: {quality_bitmask})")
    lines = [title, *_table(headers, rows, right={0, 6, 7, 9})]
    for lc in curves if head else ():
        table = lc.to_table(quality_bitmask)
        names = [n for n in ("time", "cadenceno", "flux", "flux_err", "quality", "quality_mask")
                 if n in table.colnames]
        shown = table[names][:head]
        shown["time"].format = ".6f"
        lines += ["", f"{lc.label} (dataset {lc.id}): cadences 1-{len(shown)} of {len(lc)}, "
                      f"time in {lc.mission.time_format_name.upper()}",
                  *shown.pformat(max_lines=-1, max_width=-1)]
    return "\n".join(lines)


def figure(curves: Sequence[LightCurve], *, quality_bitmask: QualityBitmask = "default",
           overlay: bool = False, normalize: bool = False, dpi: int = 100) -> Figure:
    """Draw light curves on a matplotlib figure (Agg canvas, no display; ``plot`` extra).

    One panel per light curve, or one for all with ``overlay``; each line is
    drawn by :func:`lightcurvedb.lc.export.plot`: flux against time in the
    mission's numbers (axis labels name the format, scale and units), masked
    cadences left out, the legend naming target, sector, photometry and
    processing. Light curves without times are left out.

    Parameters
    ----------
    curves : sequence of LightCurve
    quality_bitmask : str, int, list or None, optional
        Which cadences to leave out.
    overlay : bool, optional
        Draw every light curve on one Axes.
    normalize : bool, optional
        Divide each light curve by its median.
    dpi : int, optional
        Resolution of the figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    MissingExtraError
        Without matplotlib.
    ValueError
        If no light curve has times, or there are more than :data:`MAX_PANELS`
        light curves without ``overlay``.
    """
    from lightcurvedb.lc.extras import require

    require("matplotlib", "plot", "lcdb lc plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from lightcurvedb.lc.export import plot

    timed = [lc for lc in curves if lc.times is not None]
    if not timed:
        raise ValueError("none of the light curves has times: nothing to plot")
    if not overlay and len(timed) > MAX_PANELS:
        raise ValueError(f"{len(timed)} light curves are too many panels (at most "
                         f"{MAX_PANELS}): narrow them down (--sector, --processing, --best) "
                         f"or draw them on one plot (--overlay)")
    groups = [timed] if overlay else [[lc] for lc in timed]
    fig = Figure(figsize=(10, 0.6 + 2.8 * len(groups)), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, group in zip(axes, groups, strict=True):
        plot(group, ax=ax, quality_bitmask=quality_bitmask, normalize=normalize)
    fig.suptitle(f"{', '.join(sorted({lc.object_name for lc in timed}))} "
                 f"(quality bitmask: {quality_bitmask})")
    return fig


def _write_new(path: pathlib.Path, overwrite: bool,
               write: Callable[[pathlib.Path], None]) -> None:
    """Write ``path`` through a temporary file beside it, refusing to replace it unless told."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists: pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: directory {path.parent} does not exist")
    suffixes = "".join(path.suffixes[-2:]) if path.name.lower().endswith(".gz") else path.suffix
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial{suffixes}")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def export_format(path: pathlib.Path, given: str | None = None) -> str:
    """Return the export format of ``path``: ``given``, else the one its suffix names.

    Parameters
    ----------
    path : pathlib.Path
        The output file.
    given : str, optional
        A format of :data:`EXPORT_FORMATS` (``--format``).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If the suffix names no format and none is given.
    """
    if given:
        return given
    name = path.name.lower()
    for fmt, suffixes in EXPORT_FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    known = ", ".join(s for suffixes in EXPORT_FORMATS.values() for s in suffixes)
    raise ValueError(f"cannot tell the format of {path} from its suffix ({known}): "
                     f"use one of them or --format")


def export(curves: LightCurveCollection, path: str | os.PathLike[str], fmt: str | None = None,
           quality_bitmask: QualityBitmask = "default", overwrite: bool = False) -> str:
    """Write light curves to a file as ``lcdb lc export`` does; return the format written.

    ``csv`` and ``ecsv`` hold :meth:`~lightcurvedb.lc.LightCurveCollection.to_table`
    (one row per cadence); ECSV keeps the units, masks and, in its ``meta``,
    ``quality_bitmask`` and ``light_curves`` (every light curve's
    :attr:`~lightcurvedb.lc.LightCurve.meta`). ``fits`` is
    :meth:`~lightcurvedb.lc.LightCurveCollection.to_fits` (a ``LIGHTCURVE``
    extension per light curve) and ``parquet``
    :meth:`~lightcurvedb.lc.LightCurveCollection.to_parquet` (``parquet``
    extra). The file is written beside its final name and renamed, so a failed
    export leaves nothing behind.

    Parameters
    ----------
    curves : LightCurveCollection
    path : path-like
        The file to write.
    fmt : {"csv", "ecsv", "fits", "parquet"}, optional
        Default: from the suffix (:func:`export_format`).
    quality_bitmask : str, int, list or None, optional
        Which bits the ``quality_mask`` column tests.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    str
        The format.

    Raises
    ------
    FileExistsError
        If the file exists and ``overwrite`` is false.
    MissingExtraError
        For Parquet without pyarrow.
    """
    target = pathlib.Path(path)
    chosen = export_format(target, fmt)
    if chosen == "parquet":
        from lightcurvedb.lc.extras import require

        require("pyarrow.parquet", "parquet", "lcdb lc export to Parquet")

    def write(partial: pathlib.Path) -> None:
        if chosen in ("csv", "ecsv"):
            table = curves.to_table(quality_bitmask)
            if chosen == "ecsv":
                table.meta["light_curves"] = [lc.meta for lc in curves]
            table.write(partial, format=f"ascii.{chosen}", overwrite=True)
        elif chosen == "fits":
            curves.to_fits(partial, quality_bitmask, overwrite=True)
        else:
            curves.to_parquet(partial, quality_bitmask)

    _write_new(target, overwrite, write)
    return chosen


def _bitmask(text: str) -> QualityBitmask:
    return int(text, 0) if re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", text) else text


def _select(session: Session, args: argparse.Namespace) -> LightCurveCollection:
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
        curves = _select(session, args)
        fig = figure(curves, quality_bitmask=args.quality_bitmask, overlay=args.overlay,
                     normalize=args.normalize, dpi=args.dpi)
        _write_new(out, args.overwrite, lambda partial: fig.savefig(partial, format=fmt))
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
    export_cmd.add_argument("--format", choices=tuple(EXPORT_FORMATS),
                            help="the format, whatever FILE's suffix")
    return group
