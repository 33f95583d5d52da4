"""Light curves on one grid: by cadence number, or by time within a tolerance.

:func:`align` puts every light curve on one reference grid and returns an
:class:`Alignment` of masked 2-D arrays (one row per light curve, one column
per grid point). Nothing is interpolated, binned or filled: a grid point a
light curve has no cadence for is masked, and so are its flagged and NaN
cadences.

``to="observation"``
    Light curves of one observation, on every cadence number from the
    observation's first to its last (its
    :attr:`~lightcurvedb.models.Observation.cadence_reference`). Cadence
    numbers the observation skips (a downlink) are masked grid points.
``to="cadence"``
    The same over several observations, trusting that their cadence numbers
    count on one clock (the CCDs of one TESS sector at one cadence): every
    cadence number from the lowest to the highest of all of them.
reference times
    An :class:`astropy.time.Time`, an array of times in the light curves'
    own numbers (e.g. BTJD), or a :class:`~lightcurvedb.lc.LightCurve` (its
    finite times). Each grid point takes the light curve's nearest cadence if
    it is within ``tolerance`` (default: half the median spacing of the grid),
    else it is masked. Light curves of missions that count time differently
    (Kepler BKJD and TESS BTJD) are matched in their own numbers when the
    reference is a ``Time`` or a light curve; :attr:`Alignment.grid` is then in
    the first light curve's numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lightcurvedb.lc.quality import QualityBitmask

if TYPE_CHECKING:
    from astropy.timeseries import TimeSeries

    from lightcurvedb.lc.lightcurve import LightCurve

__all__ = ["Alignment", "align"]


@dataclass
class Alignment:
    """Light curves on one grid: masked arrays of shape ``(n_curves, n_grid)``.

    Attributes
    ----------
    curves : tuple of LightCurve
        The aligned light curves, in row order.
    kind : str
        ``"cadence"`` (the grid is cadence numbers) or ``"time"`` (mission times).
    grid : numpy.ndarray
        The grid: int64 cadence numbers or float64 times in the mission's numbers.
    index : numpy.ndarray
        ``index[i, j]`` is the cadence of ``curves[i]`` at grid point ``j``, or -1.
    quality_bitmask : str, int, list or None
        What :attr:`quality_mask` tests.
    """

    curves: tuple[LightCurve, ...]
    kind: str
    grid: npt.NDArray[Any]
    index: npt.NDArray[np.int64]
    quality_bitmask: QualityBitmask = "default"
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def missing(self) -> npt.NDArray[np.bool_]:
        """numpy.ndarray: True where a light curve has no cadence at a grid point."""
        return self.index < 0

    def _take(self, get: Any, fill: Any, dtype: Any) -> npt.NDArray[Any]:
        out = np.full(self.index.shape, fill, dtype=dtype)
        for row, lc in enumerate(self.curves):
            source = get(lc)
            if source is None:
                continue
            hit = self.index[row] >= 0
            out[row, hit] = np.asarray(source)[self.index[row, hit]]
        return out

    @property
    def quality_mask(self) -> npt.NDArray[np.bool_]:
        """numpy.ndarray: True where the quality bitmask flags the cadence at a grid point."""
        return self._take(lambda lc: lc.quality_mask(self.quality_bitmask), False, bool)

    @property
    def mask(self) -> npt.NDArray[np.bool_]:
        """numpy.ndarray: The mask of :attr:`values`: missing, flagged or NaN."""
        values = self._take(lambda lc: lc.values, np.nan, np.float64)
        return self.missing | self.quality_mask | ~np.isfinite(values)

    @property
    def values(self) -> np.ma.MaskedArray[Any, Any]:
        """numpy.ma.MaskedArray: Flux per light curve and grid point, masked as :attr:`mask`."""
        return np.ma.MaskedArray(self._take(lambda lc: lc.values, np.nan, np.float64),
                                 mask=self.mask)

    @property
    def errors(self) -> np.ma.MaskedArray[Any, Any]:
        """numpy.ma.MaskedArray: Flux errors, masked as :attr:`values` (and where unknown)."""
        data = self._take(lambda lc: lc.errors, np.nan, np.float64)
        return np.ma.MaskedArray(data, mask=self.mask | np.isnan(data))

    @property
    def times(self) -> np.ma.MaskedArray[Any, Any]:
        """numpy.ma.MaskedArray: Each light curve's own time at each grid point (mission numbers).

        Times of one cadence differ between targets by their barycentric
        corrections; masked where missing or unknown.
        """
        data = self._take(lambda lc: lc.times, np.nan, np.float64)
        return np.ma.masked_invalid(data)

    def __repr__(self) -> str:
        masked = float(self.mask.mean()) if self.index.size else 0.0
        span = f"{self.grid[0]:g}-{self.grid[-1]:g}" if len(self.grid) else "empty"
        return (f"Alignment({len(self.curves)} light curves on {len(self.grid)} "
                f"{'cadences' if self.kind == 'cadence' else 'times'} ({span}), "
                f"{masked:.1%} masked)")

    def _repr_html_(self) -> str:
        from lightcurvedb.lc import display

        mask, missing = self.mask, self.missing
        rows = [[lc.label, int(missing[i].sum()), int(mask[i].sum()),
                 int((~mask[i]).sum())] for i, lc in enumerate(self.curves)]
        return display.html_table(("light curve", "missing", "masked", "usable"), rows,
                                  caption=repr(self))

    def to_timeseries(self) -> TimeSeries:
        """Return a masked :class:`~astropy.timeseries.TimeSeries` on the grid.

        The time column is the grid (for ``kind="time"``) or, per cadence, the
        first light curve's own time there (masked where no light curve has
        one); a ``cadenceno`` column is added for cadence grids. Each light
        curve contributes ``flux_<dataset id>`` and ``flux_err_<dataset id>``
        (masked quantities, masked as :attr:`mask`); ``meta["labels"]`` maps
        the dataset ids to the labels.

        Returns
        -------
        astropy.timeseries.TimeSeries
        """
        from astropy import units as u
        from astropy.time import Time
        from astropy.timeseries import TimeSeries
        from astropy.utils.masked import Masked

        from lightcurvedb.lc.timefmt import time_format

        mission = self.curves[0].mission
        if self.kind == "time":
            times: npt.NDArray[np.float64] = np.asarray(self.grid, dtype=np.float64)
        else:
            own = self.times
            unknown = np.ma.getmaskarray(own)
            first = np.argmax(~unknown, axis=0)
            times = np.where(unknown.all(axis=0), np.nan,
                             own.data[first, np.arange(own.shape[1])])
        series = TimeSeries(time=Time(np.ma.masked_invalid(times), format=time_format(mission),
                                      scale=mission.time_epoch_scale))
        if self.kind == "cadence":
            series["cadenceno"] = self.grid
        values, errors = self.values, self.errors
        for i, lc in enumerate(self.curves):
            unit = u.Unit(lc.unit) if lc.unit else u.dimensionless_unscaled
            series[f"flux_{lc.id}"] = Masked(values.data[i] * unit,
                                             mask=np.ma.getmaskarray(values)[i])
            series[f"flux_err_{lc.id}"] = Masked(errors.data[i] * unit,
                                                 mask=np.ma.getmaskarray(errors)[i])
        series.meta["labels"] = {lc.id: lc.label for lc in self.curves}
        return series


def _cadence_index(curves: Sequence[LightCurve], grid: npt.NDArray[np.int64]
                   ) -> npt.NDArray[np.int64]:
    index = np.full((len(curves), len(grid)), -1, dtype=np.int64)
    for row, lc in enumerate(curves):
        cadences = lc.cadenceno
        assert cadences is not None
        if len(np.unique(cadences)) != len(cadences):
            raise ValueError(f"{lc!r}: its observation repeats cadence numbers")
        index[row, np.searchsorted(grid, cadences)] = np.arange(len(cadences))
    return index


def _by_cadence(curves: Sequence[LightCurve], to: str) -> tuple[npt.NDArray[Any], Any]:
    lacking = [lc for lc in curves if lc.cadenceno is None]
    if lacking:
        raise ValueError(f"align(to={to!r}) needs cadence numbers: the observation of "
                         f"{lacking[0]!r} has none (or not one per value); align to times")
    observations = {lc.observation.id for lc in curves}
    if to == "observation" and len(observations) > 1:
        raise ValueError(f"align(to='observation') needs light curves of one observation, not "
                         f"{len(observations)} ({sorted(observations)}); use to='cadence' if "
                         f"their cadence numbers count on one clock, or reference times")
    low = min(int(lc.cadenceno.min()) for lc in curves if lc.cadenceno is not None)
    high = max(int(lc.cadenceno.max()) for lc in curves if lc.cadenceno is not None)
    grid = np.arange(low, high + 1, dtype=np.int64)
    return grid, _cadence_index(curves, grid)


def _grids(curves: Sequence[LightCurve], to: Any
           ) -> tuple[npt.NDArray[np.float64], list[npt.NDArray[np.float64]]]:
    """Return the reference times in the first light curve's numbers, and in each one's."""
    from astropy.time import Time

    from lightcurvedb.lc.lightcurve import LightCurve
    from lightcurvedb.lc.timefmt import _key

    if isinstance(to, LightCurve):
        own = to._require_times()
        to = to.mission.to_time(own[np.isfinite(own)])
    if isinstance(to, Time):
        converted: dict[tuple[object, ...], npt.NDArray[np.float64]] = {}
        for lc in curves:
            key = _key(lc.mission)
            if key not in converted:
                converted[key] = np.asarray(lc.mission.from_time(to), np.float64).reshape(-1)
        per_curve = [converted[_key(lc.mission)] for lc in curves]
        return per_curve[0], per_curve
    if len({_key(lc.mission) for lc in curves}) > 1:
        raise ValueError("these light curves count time differently (missions "
                         f"{sorted({lc.mission.name for lc in curves})}); give the reference "
                         "times as astropy Time")
    grid = np.asarray(to, dtype=np.float64).reshape(-1)
    return grid, [grid] * len(curves)


def _tolerance(lc: LightCurve, first: LightCurve, grid: npt.NDArray[np.float64],
               tolerance: Any) -> float:
    """Return the tolerance in ``lc``'s time unit (a plain number is in ``first``'s)."""
    from astropy import units as u

    if tolerance is None:
        steps = np.diff(np.sort(grid[np.isfinite(grid)]))
        steps = steps[steps > 0]
        if steps.size == 0:
            raise ValueError("give a tolerance: the reference times have no spacing to take "
                             "half of")
        return float(np.median(steps)) / 2
    unit = u.Unit(lc.mission.time_unit)
    if hasattr(tolerance, "unit"):
        return float(tolerance.to_value(unit))
    return float((float(tolerance) * u.Unit(first.mission.time_unit)).to_value(unit))


def _nearest(times: npt.NDArray[np.float64], grid: npt.NDArray[np.float64], tolerance: float
             ) -> npt.NDArray[np.int64]:
    """For each grid time, the index of the nearest finite time within tolerance, or -1."""
    index = np.full(len(grid), -1, dtype=np.int64)
    known = np.flatnonzero(np.isfinite(times))
    order = known[np.argsort(times[known], kind="stable")]
    sorted_times = times[order]
    if sorted_times.size == 0:
        return index
    right = np.clip(np.searchsorted(sorted_times, grid), 1, sorted_times.size - 1) \
        if sorted_times.size > 1 else np.zeros(len(grid), dtype=np.int64)
    left = np.maximum(right - 1, 0)
    pick = np.where(np.abs(sorted_times[left] - grid) <= np.abs(sorted_times[right] - grid),
                    left, right)
    close = np.abs(sorted_times[pick] - grid) <= tolerance
    index[close] = order[pick[close]]
    return index


def align(curves: Sequence[LightCurve], to: Any = "observation", tolerance: Any = None,
          quality_bitmask: QualityBitmask = "default") -> Alignment:
    """Put light curves on one grid of cadence numbers or times.

    Parameters
    ----------
    curves : sequence of LightCurve
        At least one.
    to : {"observation", "cadence"}, astropy.time.Time, array_like or LightCurve, optional
        The grid (see the module documentation).
    tolerance : float or astropy.units.Quantity, optional
        For time grids: the largest distance between a grid time and the
        cadence it takes, in the first light curve's time unit (days for
        TESS) or as a Quantity. Default: half the median spacing of the grid.
    quality_bitmask : str, int, list or None, optional
        Which flagged cadences :attr:`Alignment.values` masks.

    Returns
    -------
    Alignment

    Raises
    ------
    ValueError
        Without light curves; for cadence grids, when a light curve has no
        cadence numbers or (``"observation"``) the light curves come from
        several observations; for time grids, when a light curve has no
        times, or the light curves' missions count time differently and the
        reference times are plain numbers.
    """
    curves = tuple(curves)
    if not curves:
        raise ValueError("nothing to align: no light curves")
    if isinstance(to, str):
        if to not in ("observation", "cadence"):
            raise ValueError(f"align(to={to!r}): use 'observation', 'cadence' or reference times")
        grid, index = _by_cadence(curves, to)
        return Alignment(curves, "cadence", grid, index, quality_bitmask)
    grid, grids = _grids(curves, to)
    index = np.stack([_nearest(lc._require_times(), own, _tolerance(lc, curves[0], own, tolerance))
                      for lc, own in zip(curves, grids, strict=True)])
    return Alignment(curves, "time", grid, index, quality_bitmask)
