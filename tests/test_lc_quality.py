"""Quality bitmasks by name: levels, bit names, ints; flagged cadences masked, never dropped."""

from __future__ import annotations

import numpy as np
import pytest

import lightcurvedb
from lc_support import tess_curve, tess_observation
from lightcurvedb.lc import bitmask_value
from lightcurvedb.lc.extras import require
from lightcurvedb.missions.tess import TESS_QUALITY_BITS
from lightcurvedb.models import QualityBits, UnknownQualityBitError


def lightkurve_tess_flags():
    return require("lightkurve.utils", "lightkurve", "test").TessQualityFlags


def test_hard_is_lightkurves_hard_and_default_adds_scattered_light():
    flags = lightkurve_tess_flags()
    assert bitmask_value(TESS_QUALITY_BITS, "hard") == flags.HARD_BITMASK
    # lightkurve's default leaves out the scattered-light exclude (bit 4096, its "Straylight2");
    # lightcurvedb's default (the mission's recommended "hard" bits) includes it.
    assert bitmask_value(TESS_QUALITY_BITS, "default") == \
        flags.DEFAULT_BITMASK | flags.Straylight2
    assert bitmask_value(TESS_QUALITY_BITS, "none") == bitmask_value(TESS_QUALITY_BITS, None) == 0


def test_names_lists_and_ints():
    assert bitmask_value(TESS_QUALITY_BITS, "desaturation") == 32
    assert bitmask_value(TESS_QUALITY_BITS, ["desaturation", "manual_exclude"]) == 32 | 128
    assert bitmask_value(TESS_QUALITY_BITS, ["desaturation", 1024]) == 32 | 1024
    assert bitmask_value(TESS_QUALITY_BITS, 5) == 5
    assert bitmask_value(TESS_QUALITY_BITS, np.int64(6)) == 6
    assert bitmask_value(TESS_QUALITY_BITS, "DEFAULT") == bitmask_value(TESS_QUALITY_BITS)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownQualityBitError,
                       match=r"unknown quality bitmask 'desat'.*hardest.*desaturation"):
        bitmask_value(TESS_QUALITY_BITS, ["desat"])
    with pytest.raises(TypeError, match="not 1.5"):
        bitmask_value(TESS_QUALITY_BITS, 1.5)
    with pytest.raises(TypeError, match="not True"):
        bitmask_value(TESS_QUALITY_BITS, True)


def test_a_mission_without_harder_bits_has_hard_equal_default():
    bits = QualityBits({"a": 1, "b": 2, "c": 4}, hard=("b",))
    assert bitmask_value(bits, "hard") == bitmask_value(bits, "default") == 2
    with pytest.raises(UnknownQualityBitError):
        QualityBits({"a": 1}, harder=("z",))


@pytest.fixture
def flagged(session):
    rng = np.random.default_rng(3)
    n = 400
    quality = np.zeros(n, dtype=np.int64)
    bits = [1, 4, 32, 64, 128, 1024, 2048, 4096, 1 << 20]     # named bits and an unnamed one
    for bit in bits:
        quality[rng.choice(n, size=9, replace=False)] |= bit
    values = rng.normal(100.0, 1.0, n)
    values[[5, 77, 300]] = np.nan
    observation = tess_observation(session, 11, range(n))
    tess_curve(session, observation, 4242, values, errors=np.full(n, 0.5),
               btjd=1500 + np.arange(n) / 720, quality=quality, processing="PDC")
    session.expunge_all()
    (lc,) = lightcurvedb.lightcurves(session, tic=4242)
    return lc, quality, values


@pytest.mark.parametrize("bitmask", ["none", "default", "hard", "hardest", ["desaturation"],
                                     ["manual_exclude", "stray_light"], 1024 | 1, None])
def test_masks_are_the_bits_tested_with_numpy(flagged, bitmask):
    lc, quality, values = flagged
    flags = lightkurve_tess_flags()
    expected = {
        "none": np.zeros(len(quality), bool), None: np.zeros(len(quality), bool),
        "default": (quality & (flags.DEFAULT_BITMASK | flags.Straylight2)) != 0,
        "hard": (quality & flags.HARD_BITMASK) != 0,
        "hardest": quality != 0,                     # the unnamed bit 2**20 too
    }
    key = bitmask if isinstance(bitmask, (str, type(None))) else None
    if isinstance(bitmask, int):
        want = (quality & bitmask) != 0
    elif isinstance(bitmask, list):
        want = (quality & sum({"desaturation": 32, "manual_exclude": 128,
                               "stray_light": 2048}[b] for b in bitmask)) != 0
    else:
        want = expected[key]
    np.testing.assert_array_equal(lc.quality_mask(bitmask), want)
    # masked, not dropped: every cadence is still there, its value unchanged
    series = lc.to_timeseries(quality_bitmask=bitmask)
    assert len(series) == len(values)
    np.testing.assert_array_equal(series["flux"].unmasked.value, values)
    np.testing.assert_array_equal(series["flux"].mask, want | np.isnan(values))
    np.testing.assert_array_equal(series["quality_mask"], want)
    np.testing.assert_array_equal(series["quality"], quality)
    masked = lc.masked(bitmask)
    assert masked.count() == int((~(want | np.isnan(values))).sum())
    assert np.ma.median(masked) == pytest.approx(np.median(values[~want & ~np.isnan(values)]))
    table = lc.to_table(bitmask)
    np.testing.assert_array_equal(table["quality_mask"], want)
    np.testing.assert_array_equal(table["flux"], values)
