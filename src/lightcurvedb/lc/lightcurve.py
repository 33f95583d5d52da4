"""One light curve: its metadata and its arrays, read by :func:`~lightcurvedb.lc.lightcurves`."""

from __future__ import annotations

import html
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lightcurvedb.lc import display
from lightcurvedb.lc.meta import lightcurve_meta, observation_meta
from lightcurvedb.lc.quality import QualityBitmask, bitmask_value, quality_mask
from lightcurvedb.lc.timefmt import time_format
from lightcurvedb.models import DataSet, Mission, Observation, QualityBits, Target

if TYPE_CHECKING:
    from astropy.table import Table
    from astropy.time import Time
    from astropy.timeseries import TimeSeries
    from matplotlib.axes import Axes

    from lightcurvedb.lc.align import Alignment

__all__ = ["LightCurve"]

#: lightkurve's class for a mission's light curves (others get ``LightCurve``).
_LIGHTKURVE_CLASSES = {"TESS": "TessLightCurve", "KEPLER": "KeplerLightCurve",
                       "K2": "KeplerLightCurve"}


class LightCurve:
    """A light curve with its metadata and arrays, held in memory.

    Made by :func:`lightcurvedb.lightcurves`, never by hand: the row query
    loads the :class:`~lightcurvedb.models.DataSet` with its target, catalog,
    mission, observation, instrument, photometry and processing, and the bulk
    read its arrays. Nothing here queries the database again.

    Parameters
    ----------
    dataset : DataSet
        The light-curve row (its ``values``/``errors`` already loaded).
    times : numpy.ndarray or None
        Times in the mission's own numbers (BTJD for TESS), NaN where unknown;
        None without a :class:`~lightcurvedb.models.TargetSpecificTime`.
    quality : numpy.ndarray or None
        Quality words per cadence, or None without flags.
    quality_bits : QualityBits
        The named bits of the flags' mission.
    cadenceno : numpy.ndarray or None
        The observation's cadence numbers, or None if it has none (or another
        number of them).
    source_ids, derived_ids : tuple of int
        Ids of the light curves this one was derived from, and of those derived from it.

    Attributes
    ----------
    dataset : DataSet
        The ORM row; ``dataset.values is values``.
    values, errors : numpy.ndarray
        Flux and its 1-sigma error per cadence (``errors`` may be None).
    times, quality, cadenceno : numpy.ndarray or None
        As the parameters.
    quality_bits : QualityBits
    source_ids, derived_ids : tuple of int
    """

    def __init__(self, dataset: DataSet, *, times: npt.NDArray[np.float64] | None,
                 quality: npt.NDArray[np.int64] | None, quality_bits: QualityBits,
                 cadenceno: npt.NDArray[np.int64] | None, source_ids: tuple[int, ...] = (),
                 derived_ids: tuple[int, ...] = ()) -> None:
        self.dataset = dataset
        self.values: npt.NDArray[np.float64] = dataset.values
        self.errors: npt.NDArray[np.float64] | None = dataset.errors
        n = len(self.values)
        for name, array in (("errors", self.errors), ("times", times), ("quality", quality)):
            if array is not None and len(array) != n:
                raise ValueError(f"{dataset!r}: {n} values but {len(array)} {name}")
        self.times = times
        self.quality = quality
        self.quality_bits = quality_bits
        self.cadenceno = cadenceno if cadenceno is not None and len(cadenceno) == n else None
        self.source_ids = tuple(sorted(source_ids))
        self.derived_ids = tuple(sorted(derived_ids))

    # -- metadata ---------------------------------------------------------------------------

    @property
    def id(self) -> int:
        """int: The :class:`~lightcurvedb.models.DataSet` id."""
        return self.dataset.id

    @property
    def target(self) -> Target:
        """Target: The target (its ``name`` is the catalog number)."""
        return self.dataset.target

    @property
    def observation(self) -> Observation:
        """Observation: The observation, as its mission's class (``TESSObservation``)."""
        return self.dataset.observation

    @property
    def mission(self) -> Mission:
        """Mission: The mission of the target's catalog (its time system is the light curve's)."""
        return self.dataset.target.catalog.host_mission

    @property
    def photometry(self) -> str | None:
        """The photometric source name (str or None), e.g. ``"SPOC aperture"``."""
        source = self.dataset.photometry_source
        return None if source is None else source.name

    @property
    def processing(self) -> str | None:
        """The processing method name (str), e.g. ``"PDC"``; None for raw photometry."""
        method = self.dataset.processing_method
        return None if method is None else method.name

    @property
    def unit(self) -> str | None:
        """The astropy unit string (str or None) of ``values`` and ``errors``."""
        return self.dataset.unit

    @property
    def object_name(self) -> str:
        """str: Catalog and number, e.g. ``"TIC 261136679"``."""
        return f"{self.target.catalog.name} {self.target.name}"

    @cached_property
    def observation_meta(self) -> dict[str, Any]:
        """dict: The observation's mission attributes (see :func:`~lightcurvedb.lc.meta.observation_meta`)."""  # noqa: E501
        return observation_meta(self.observation)

    @property
    def label(self) -> str:
        """str: E.g. ``"TIC 261136679 sector 1 SPOC aperture, PDC"`` (``raw`` without processing)."""  # noqa: E501
        where = next(iter(self.observation_meta.items()), None)
        seen = f"{where[0]} {where[1]}" if where else f"observation {self.observation.id}"
        how = ", ".join(part for part in (self.photometry, self.processing or "raw") if part)
        return f"{self.object_name} {seen} {how}"

    @property
    def meta(self) -> dict[str, Any]:
        """dict: FITS-style keywords (see :func:`~lightcurvedb.lc.meta.lightcurve_meta`)."""
        return lightcurve_meta(self)

    def __len__(self) -> int:
        return len(self.values)

    # -- arrays -----------------------------------------------------------------------------

    @property
    def time(self) -> Time:
        """astropy.time.Time: :attr:`times` in the mission's format and scale (BTJD, TDB).

        NaN times are masked.

        Raises
        ------
        ValueError
            If the light curve has no times.
        """
        from astropy.time import Time

        times = self._require_times()
        return Time(np.ma.masked_invalid(times), format=time_format(self.mission),
                    scale=self.mission.time_epoch_scale)

    def _require_times(self) -> npt.NDArray[np.float64]:
        if self.times is None:
            raise ValueError(f"{self!r} has no times (no TargetSpecificTime of target "
                             f"{self.target.name} in observation {self.observation.id})")
        return self.times

    def quality_mask(self, quality_bitmask: QualityBitmask = "default") -> npt.NDArray[np.bool_]:
        """Return True for the cadences the quality bitmask flags.

        Parameters
        ----------
        quality_bitmask : str, int, list or None, optional
            ``"default"``, ``"hard"``, ``"hardest"``, ``"none"``, bit names of
            the mission or an int (see :mod:`lightcurvedb.lc.quality`).

        Returns
        -------
        numpy.ndarray
            Boolean per cadence; all False without quality flags.
        """
        return quality_mask(self.quality, self.quality_bits, len(self), quality_bitmask)

    def bad(self, quality_bitmask: QualityBitmask = "default") -> npt.NDArray[np.bool_]:
        """Return True where a cadence is flagged or its value is not finite (NaN)."""
        return self.quality_mask(quality_bitmask) | ~np.isfinite(self.values)

    def masked(self, quality_bitmask: QualityBitmask = "default") -> np.ma.MaskedArray[Any, Any]:
        """Return :attr:`values` as a masked array: flagged and NaN cadences masked.

        Nothing is dropped: the result has one entry per cadence, so
        ``np.ma.median(lc.masked())`` is the median of the good cadences.

        Parameters
        ----------
        quality_bitmask : str, int, list or None, optional
            See :meth:`quality_mask`.

        Returns
        -------
        numpy.ma.MaskedArray
        """
        return np.ma.MaskedArray(self.values, mask=self.bad(quality_bitmask))

    # -- conversions ------------------------------------------------------------------------

    def _columns(self, quality_bitmask: QualityBitmask) -> tuple[Time, dict[str, Any]]:
        """Time and columns of a TimeSeries / lightkurve LightCurve: flux masked, not dropped."""
        from astropy import units as u
        from astropy.utils.masked import Masked

        unit = u.Unit(self.unit) if self.unit else u.dimensionless_unscaled
        bad = self.bad(quality_bitmask)
        columns: dict[str, Any] = {"flux": Masked(self.values * unit, mask=bad)}
        if self.errors is not None:
            columns["flux_err"] = Masked(self.errors * unit, mask=bad)
        if self.quality is not None:
            columns["quality"] = self.quality
        columns["quality_mask"] = self.quality_mask(quality_bitmask)
        if self.cadenceno is not None:
            columns["cadenceno"] = self.cadenceno
        return self.time, columns

    def _meta(self, quality_bitmask: QualityBitmask) -> dict[str, Any]:
        meta = self.meta
        meta["QUALITY_BITMASK"] = bitmask_value(self.quality_bits, quality_bitmask)
        return meta

    def to_timeseries(self, quality_bitmask: QualityBitmask = "default") -> TimeSeries:
        """Return the light curve as an :class:`astropy.timeseries.TimeSeries`.

        The time column is in the mission's own format and scale (BTJD, TDB
        for TESS; NaN times masked). ``flux`` and ``flux_err`` carry the unit
        and are :class:`~astropy.utils.masked.Masked` quantities, masked where
        the quality bitmask flags a cadence or the value is NaN: every cadence
        is kept. ``quality`` (the bit words, when there are flags),
        ``quality_mask`` (the flagged cadences) and ``cadenceno`` (when the
        observation has cadence numbers) follow; ``meta`` holds :attr:`meta`
        and ``QUALITY_BITMASK``.

        Parameters
        ----------
        quality_bitmask : str, int, list or None, optional
            See :meth:`quality_mask`.

        Returns
        -------
        astropy.timeseries.TimeSeries

        Raises
        ------
        ValueError
            If the light curve has no times.
        """
        from astropy.timeseries import TimeSeries

        time, columns = self._columns(quality_bitmask)
        return TimeSeries(time=time, data=columns, meta=self._meta(quality_bitmask))

    def to_lightkurve(self, quality_bitmask: QualityBitmask = "default") -> Any:
        """Return the light curve as a lightkurve ``LightCurve`` (needs the ``lightkurve`` extra).

        The same columns and masks as :meth:`to_timeseries` (flagged cadences
        masked, not removed as lightkurve's readers do), as a
        ``TessLightCurve`` for TESS and ``KeplerLightCurve`` for Kepler/K2;
        ``meta`` has lightkurve's keys (``LABEL``, ``TARGETID``, ``MISSION``,
        ``SECTOR``, ``QUALITY_BITMASK``, ...).

        Parameters
        ----------
        quality_bitmask : str, int, list or None, optional
            See :meth:`quality_mask`.

        Returns
        -------
        lightkurve.LightCurve

        Raises
        ------
        MissingExtraError
            Without lightkurve: ``pip install '.[lightkurve]'``.
        """
        from lightcurvedb.lc.extras import require

        lk = require("lightkurve", "lightkurve", "to_lightkurve()")
        cls = getattr(lk, _LIGHTKURVE_CLASSES.get(self.mission.name.upper(), "LightCurve"))
        time, columns = self._columns(quality_bitmask)
        return cls(time=time, data=columns, meta=self._meta(quality_bitmask))

    def to_table(self, quality_bitmask: QualityBitmask = "default") -> Table:
        """Return one row per cadence, as :meth:`LightCurveCollection.to_table <lightcurvedb.lc.LightCurveCollection.to_table>`."""  # noqa: E501
        from lightcurvedb.lc.export import long_table

        return long_table([self], quality_bitmask)

    def to_fits(self, path: str | os.PathLike[str], quality_bitmask: QualityBitmask = "default",
                overwrite: bool = False) -> None:
        """Write the light curve as a FITS file (astropy only; see :func:`~lightcurvedb.lc.export.write_fits`)."""  # noqa: E501
        from lightcurvedb.lc.export import write_fits

        write_fits(self, path, quality_bitmask, overwrite=overwrite)

    def plot(self, ax: Axes | None = None, quality_bitmask: QualityBitmask = "default",
             **kwargs: Any) -> Axes:
        """Plot flux against time, masked cadences left out (see :func:`~lightcurvedb.lc.export.plot`)."""  # noqa: E501
        from lightcurvedb.lc.export import plot

        return plot([self], ax=ax, quality_bitmask=quality_bitmask, **kwargs)

    def align(self, to: Any = "observation", tolerance: Any = None,
              quality_bitmask: QualityBitmask = "default") -> Alignment:
        """Put the light curve on a cadence or time grid (see :func:`~lightcurvedb.lc.align.align`)."""  # noqa: E501
        from lightcurvedb.lc.align import align

        return align([self], to=to, tolerance=tolerance, quality_bitmask=quality_bitmask)

    # -- views ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"LightCurve({self.label}, n={len(self)}, unit={self.unit!r}, dataset={self.id})"

    def summary_rows(self) -> list[list[str]]:
        """Return the array summaries as table rows: name, length, NaN, min, median, max."""
        rows = []
        for name, array in (("values", self.values), ("errors", self.errors),
                            ("times", self.times), ("quality", self.quality)):
            summary = display.summarize(array)
            if summary is not None:
                rows.append([name, *summary.cells()])
        return rows

    def _repr_html_(self) -> str:
        flagged = int(np.count_nonzero(self.quality_mask()))
        info = [("dataset", self.id), ("mission", self.mission.name),
                ("target", self.object_name), *self.observation_meta.items(),
                ("photometry", self.photometry), ("processing", self.processing or "raw"),
                ("unit", self.unit), ("time format", f"{self.mission.time_format_name} "
                                                     f"({self.mission.time_epoch_scale})"),
                ("flagged (default)", flagged), ("sources", list(self.source_ids)),
                ("derived", list(self.derived_ids))]
        return (f"<div><strong>{html.escape(self.label)}</strong>"
                + display.html_table(("key", "value"), info)
                + display.html_table(display.SUMMARY_HEADERS, self.summary_rows()) + "</div>")
