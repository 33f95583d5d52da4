"""Light curves into files as ``lcdb lc plot`` and ``lcdb lc export`` write them.

:func:`figure` draws a matplotlib figure on an Agg canvas (no display, no
pyplot state); :func:`export` writes CSV, ECSV, FITS or Parquet. Both go
through :func:`write_new`: the file is written beside its name and renamed, and
an existing file is replaced only when asked.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lightcurvedb.lc.collection import LightCurveCollection
from lightcurvedb.lc.export import plot
from lightcurvedb.lc.extras import require
from lightcurvedb.lc.lightcurve import LightCurve
from lightcurvedb.lc.quality import QualityBitmask

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EXPORT_FORMATS", "MAX_PANELS", "export", "export_format", "figure", "write_new"]

#: The export formats and the file suffixes that choose them.
EXPORT_FORMATS = {"csv": (".csv",), "ecsv": (".ecsv",),
                  "fits": (".fits", ".fit", ".fts", ".fits.gz"), "parquet": (".parquet", ".pq")}
#: The most light curves ``lcdb lc plot`` draws in panels of their own (``--overlay`` has no limit).
MAX_PANELS = 16


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
    require("matplotlib", "plot", "lcdb lc plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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


def write_new(path: pathlib.Path, overwrite: bool,
              write: Callable[[pathlib.Path], None]) -> None:
    """Write a file through a temporary file beside it, replacing it only when told.

    Parameters
    ----------
    path : pathlib.Path
        The file to write.
    overwrite : bool
        Replace ``path`` if it exists.
    write : callable
        ``write(partial)`` writes the content to ``partial``, a path in the
        same directory with the same suffix (hidden, removed on failure),
        which is then renamed to ``path``.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is false.
    FileNotFoundError
        If the directory of ``path`` does not exist.
    """
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

    write_new(target, overwrite, write)
    return chosen
