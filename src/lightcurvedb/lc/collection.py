"""A list of light curves read together, with tables, exports, plots and alignment."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from lightcurvedb.lc import display
from lightcurvedb.lc.lightcurve import LightCurve
from lightcurvedb.lc.quality import QualityBitmask

if TYPE_CHECKING:
    from astropy.table import Table
    from matplotlib.axes import Axes

    from lightcurvedb.lc.align import Alignment

__all__ = ["LightCurveCollection"]

#: Rows an HTML view shows before it says how many more there are.
HTML_ROWS = 50


class LightCurveCollection(Sequence[LightCurve]):
    """The light curves :func:`lightcurvedb.lightcurves` found, in order.

    A sequence (``len``, indexing, slicing, iteration) of
    :class:`~lightcurvedb.lc.LightCurve`, ordered by catalog number,
    observation and light-curve id. Every method works on the arrays already
    in memory: none queries the database.

    Parameters
    ----------
    curves : sequence of LightCurve
    """

    def __init__(self, curves: Sequence[LightCurve] = ()) -> None:
        self._curves = list(curves)

    def __len__(self) -> int:
        return len(self._curves)

    @overload
    def __getitem__(self, index: int) -> LightCurve: ...

    @overload
    def __getitem__(self, index: slice) -> LightCurveCollection: ...

    def __getitem__(self, index: int | slice) -> LightCurve | LightCurveCollection:
        if isinstance(index, slice):
            return LightCurveCollection(self._curves[index])
        return self._curves[index]

    def __iter__(self) -> Iterator[LightCurve]:
        return iter(self._curves)

    # -- tables and exports -----------------------------------------------------------------

    def to_table(self, quality_bitmask: QualityBitmask = "default") -> Table:
        """Return every cadence of every light curve as one row (a long table).

        See :func:`~lightcurvedb.lc.export.long_table` for the columns; the
        quality mask is the boolean column ``quality_mask``: flagged cadences
        keep their values and are not dropped. :meth:`summary` gives one row
        per light curve.

        Parameters
        ----------
        quality_bitmask : str, int, list or None, optional
            Which bits ``quality_mask`` tests (see :mod:`lightcurvedb.lc.quality`).

        Returns
        -------
        astropy.table.Table
        """
        from lightcurvedb.lc.export import long_table

        return long_table(self._curves, quality_bitmask)

    def summary(self, quality_bitmask: QualityBitmask = "default") -> Table:
        """Return one row per light curve (see :func:`~lightcurvedb.lc.export.summary_table`).

        Parameters
        ----------
        quality_bitmask : str, int, list or None, optional
            Which bits count as flagged.

        Returns
        -------
        astropy.table.Table
        """
        from lightcurvedb.lc.export import summary_table

        return summary_table(self._curves, quality_bitmask)

    def to_pandas(self, quality_bitmask: QualityBitmask = "default") -> Any:
        """Return :meth:`to_table` as a :class:`pandas.DataFrame` (needs the ``pandas`` extra).

        Masked cells (``processing`` of raw photometry, attributes a mission
        lacks) become missing values; masked integer columns use pandas'
        nullable integers.

        Parameters
        ----------
        quality_bitmask : str, int, list or None, optional
            Which bits ``quality_mask`` tests.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        MissingExtraError
            Without pandas: ``pip install '.[pandas]'``.
        """
        from lightcurvedb.lc.extras import require

        require("pandas", "pandas", "to_pandas()")
        return self.to_table(quality_bitmask).to_pandas(index=False)

    def to_parquet(self, path: str | os.PathLike[str],
                   quality_bitmask: QualityBitmask = "default") -> None:
        """Write :meth:`to_table` to a Parquet file (see :func:`~lightcurvedb.lc.export.write_parquet`).

        Parameters
        ----------
        path : path-like
            The file to write.
        quality_bitmask : str, int, list or None, optional
            Which bits ``quality_mask`` tests.

        Raises
        ------
        MissingExtraError
            Without pyarrow: ``pip install '.[parquet]'``.
        """  # noqa: E501
        from lightcurvedb.lc.export import write_parquet

        write_parquet(self._curves, path, quality_bitmask)

    def to_fits(self, path: str | os.PathLike[str], quality_bitmask: QualityBitmask = "default",
                overwrite: bool = False) -> None:
        """Write every light curve into one multi-extension FITS file (astropy only).

        One ``LIGHTCURVE`` extension per light curve, in order, each with its
        keywords; see :func:`~lightcurvedb.lc.export.write_fits_collection`.

        Parameters
        ----------
        path : path-like
            The file to write.
        quality_bitmask : str, int, list or None, optional
            Which bits ``QUALITY_MASK`` tests.
        overwrite : bool, optional
            Replace an existing file.

        Raises
        ------
        ValueError
            If the collection is empty or a light curve has no times.
        """
        from lightcurvedb.lc.export import write_fits_collection

        write_fits_collection(self._curves, path, quality_bitmask, overwrite=overwrite)

    def plot(self, ax: Axes | None = None, quality_bitmask: QualityBitmask = "default",
             normalize: bool = False, **kwargs: Any) -> Axes:
        """Plot every light curve on one Axes (see :func:`~lightcurvedb.lc.export.plot`).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure by default.
        quality_bitmask : str, int, list or None, optional
            Which cadences to leave out of the lines.
        normalize : bool, optional
            Divide each light curve by its median.
        **kwargs
            Passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from lightcurvedb.lc.export import plot

        return plot(self._curves, ax=ax, quality_bitmask=quality_bitmask, normalize=normalize,
                    **kwargs)

    def align(self, to: Any = "observation", tolerance: Any = None,
              quality_bitmask: QualityBitmask = "default") -> Alignment:
        """Put the light curves on one grid (see :func:`~lightcurvedb.lc.align.align`).

        Parameters
        ----------
        to : {"observation", "cadence"}, astropy.time.Time, array_like or LightCurve, optional
            The grid: the observation's cadence numbers, cadence numbers over
            several observations, or reference times.
        tolerance : float or astropy.units.Quantity, optional
            For time grids, the largest distance to the nearest cadence.
        quality_bitmask : str, int, list or None, optional
            Which flagged cadences to mask.

        Returns
        -------
        Alignment
        """
        from lightcurvedb.lc.align import align

        return align(self._curves, to=to, tolerance=tolerance, quality_bitmask=quality_bitmask)

    # -- views ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        targets = {(lc.target.catalog.name, lc.target.name) for lc in self._curves}
        observations = {lc.observation.id for lc in self._curves}
        return (f"LightCurveCollection({len(self)} light curves of {len(targets)} targets "
                f"in {len(observations)} observations)")

    def __str__(self) -> str:
        if not self._curves:
            return repr(self)
        lines = self.summary().pformat(max_lines=-1, max_width=-1)
        return "\n".join([repr(self), *lines])

    def _repr_html_(self) -> str:
        headers = ("dataset", "label", "photometry", "processing", "unit", "n", "NaN",
                   "flagged", "median flux")
        rows = []
        for lc in self._curves[:HTML_ROWS]:
            good = lc.values[~lc.bad()]
            stats = display.summarize(good)
            rows.append([lc.id, lc.label, lc.photometry, lc.processing or "raw", lc.unit,
                         len(lc), int(np.isnan(lc.values).sum()),
                         int(lc.quality_mask().sum()),
                         "" if stats is None else stats.cells()[3]])
        more = len(self) - HTML_ROWS
        tail = f"<p>... and {more} more</p>" if more > 0 else ""
        return f"<div>{display.html_table(headers, rows, caption=repr(self))}{tail}</div>"
