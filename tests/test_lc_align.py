"""Alignment on cadence numbers and on reference times: gaps masked, never filled."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.time import Time

import lightcurvedb
from lc_support import tess_curve, tess_observation


@pytest.fixture
def one_sector(session):
    """SAP and PDC of one target; the observation skips cadences 110-114 (a downlink)."""
    cadences = np.r_[100:110, 115:120]
    n = len(cadences)
    rng = np.random.default_rng(11)
    btjd = 1600.0 + (cadences - 100) * 120 / 86400
    quality = np.zeros(n, dtype=np.int64)
    quality[[2, 12]] = 32                     # desaturation: a "default" bit
    sap_values, pdc_values = rng.normal(50, 1, n), rng.normal(50, 1, n)
    pdc_values[7] = np.nan
    observation = tess_observation(session, 12, cadences)
    sap = tess_curve(session, observation, 9001, sap_values, errors=np.full(n, 0.1), btjd=btjd,
                     quality=quality)
    tess_curve(session, observation, 9001, pdc_values, errors=np.full(n, 0.2),
               processing="PDC", sources=[sap])
    session.expunge_all()
    return cadences, btjd, quality, sap_values, pdc_values


def test_one_observation_on_its_cadence_grid(session, one_sector):
    cadences, btjd, quality, sap_values, pdc_values = one_sector
    curves = lightcurvedb.lightcurves(session, tic=9001)
    aligned = curves.align(to="observation")
    grid = np.arange(cadences.min(), cadences.max() + 1)
    np.testing.assert_array_equal(aligned.grid, grid)
    assert aligned.values.shape == (2, len(grid))
    where = np.searchsorted(grid, cadences)
    skipped = np.setdiff1d(np.arange(len(grid)), where)
    np.testing.assert_array_equal(grid[skipped], np.arange(110, 115))
    for row, values in enumerate((sap_values, pdc_values)):
        expected = np.full(len(grid), np.nan)
        expected[where] = values
        bad = np.ones(len(grid), bool)
        bad[where] = ((quality & 32) != 0) | np.isnan(values)
        np.testing.assert_array_equal(aligned.values.mask[row], bad)
        np.testing.assert_array_equal(aligned.values.data[row][~bad], expected[~bad])
        assert aligned.missing[row, skipped].all() and not aligned.missing[row, where].any()
    times = aligned.times
    np.testing.assert_allclose(times[0, where], btjd, rtol=0, atol=1e-9)
    assert times.mask[0, skipped].all()
    series = aligned.to_timeseries()
    assert len(series) == len(grid) and series.time.format == "btjd"
    np.testing.assert_array_equal(series["cadenceno"], grid)
    assert series.time.mask[skipped].all() and not series.time.mask[where].any()
    sap_id = curves[0].id
    np.testing.assert_array_equal(series[f"flux_{sap_id}"].mask, aligned.values.mask[0])
    assert series.meta["labels"][sap_id] == curves[0].label
    single = curves[0].align()
    np.testing.assert_array_equal(single.values.mask[0], aligned.values.mask[0])


def test_cadence_grids_over_observations(session, one_sector):
    cadences = np.arange(200, 206)
    other = tess_observation(session, 13, cadences, camera=2, ccd=1)
    tess_curve(session, other, 9001, np.arange(6.0), btjd=1630 + np.arange(6) / 720)
    session.expunge_all()
    curves = lightcurvedb.lightcurves(session, tic=9001, processing="raw")
    with pytest.raises(ValueError, match="needs light curves of one observation"):
        curves.align(to="observation")
    aligned = curves.align(to="cadence")
    np.testing.assert_array_equal(aligned.grid, np.arange(100, 206))
    np.testing.assert_array_equal(aligned.values[1].compressed(), np.arange(6.0))
    assert aligned.missing[1, : 200 - 100].all() and aligned.missing[0, 120 - 100:].all()
    with pytest.raises(ValueError, match="use 'observation', 'cadence' or reference times"):
        curves.align(to="sector")


def nearest(times: np.ndarray, grid: np.ndarray, tolerance: float) -> np.ndarray:
    """Brute force: for each grid time, the index of the nearest finite time, or -1."""
    out = np.full(len(grid), -1)
    finite = np.flatnonzero(np.isfinite(times))
    for j, t in enumerate(grid):
        distance = np.abs(times[finite] - t)
        k = int(np.argmin(distance))
        if distance[k] <= tolerance:
            out[j] = finite[k]
    return out


def test_reference_times_with_mismatched_cadences_and_gaps(session):
    rng = np.random.default_rng(5)
    # 2-minute cadences, and a 20-second light curve of another target with a gap and
    # NaN times, offset by its own barycentric correction
    slow_btjd = 1700.0 + np.arange(60) * 120 / 86400
    fast_btjd = 1700.0 + 3.1 / 86400 + np.arange(360) * 20 / 86400
    fast_btjd[100:160] = np.nan
    fast_btjd = np.delete(fast_btjd, np.s_[250:300])
    slow = tess_observation(session, 14, np.arange(60))
    fast = tess_observation(session, 14, np.arange(len(fast_btjd)), cadence_seconds=20)
    slow_values, fast_values = rng.normal(10, 1, 60), rng.normal(20, 1, len(fast_btjd))
    tess_curve(session, slow, 301, slow_values, btjd=slow_btjd)
    tess_curve(session, fast, 302, fast_values, btjd=fast_btjd)
    session.expunge_all()
    # what the database holds: BJD = BTJD + 2457000 in float64, read back as BTJD
    slow_btjd, fast_btjd = (slow_btjd + 2457000.0) - 2457000.0, (fast_btjd + 2457000.0) - 2457000.0
    curves = lightcurvedb.lightcurves(session, sector=14)
    reference = curves[0]
    aligned = curves.align(to=reference)
    tolerance = 60 / 86400                               # half of the 2-minute spacing
    np.testing.assert_array_equal(aligned.grid, slow_btjd)
    np.testing.assert_array_equal(aligned.index[0], np.arange(60))
    expected = nearest(fast_btjd, slow_btjd, tolerance)
    np.testing.assert_array_equal(aligned.index[1], expected)
    assert (expected == -1).sum() > 10                    # the gaps are masked grid points
    values = aligned.values
    np.testing.assert_array_equal(values.mask[1], expected == -1)
    hit = expected >= 0
    np.testing.assert_array_equal(values.data[1][hit], fast_values[expected[hit]])
    # the same grid given as astropy Time, and the tolerance as a Quantity
    as_time = Time(slow_btjd + 2457000.0, format="jd", scale="tdb")
    again = curves.align(to=as_time, tolerance=60 * u.s)
    np.testing.assert_array_equal(again.index, aligned.index)
    tight = curves.align(to=slow_btjd, tolerance=2 / 86400)
    np.testing.assert_array_equal(tight.index[1], nearest(fast_btjd, slow_btjd, 2 / 86400))
    series = aligned.to_timeseries()
    np.testing.assert_allclose(series.time.value, slow_btjd, rtol=0, atol=1e-9)
    assert series.time.format == "btjd"


def test_nothing_to_align(session):
    with pytest.raises(ValueError, match="no light curves"):
        lightcurvedb.lightcurves(session, tic=-5).align()
    observation = tess_observation(session, 15, np.arange(3))
    tess_curve(session, observation, 303, np.arange(3.0), btjd=np.arange(3.0))
    session.expunge_all()
    curves = lightcurvedb.lightcurves(session, tic=303)
    with pytest.raises(ValueError, match="give a tolerance"):
        curves.align(to=[1.0])
    assert repr(curves.align()).startswith("Alignment(1 light curves on 3 cadences (0-2)")
