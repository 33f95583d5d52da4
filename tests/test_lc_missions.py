"""The light-curve API beyond TESS: the Kepler plugin, other time systems, clashing formats."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.time import Time
from lcdb_kepler.mission import (
    KEPLER_QUALITY_BITS,
    KeplerObservation,
    KeplerQualityFlagArray,
    ensure_kepler_mission,
    kepler_output,
)

import lightcurvedb
from lc_support import selects
from lightcurvedb.models import DataSet, Target, TargetSpecificTime
from lightcurvedb.testing import factories as f


def kepler_curve(session, kic: int, bjd, values, quality):
    _, catalog = ensure_kepler_mission(session)
    instrument = kepler_output(session, 2, 1)
    target = Target(catalog=catalog, name=kic)
    observation = KeplerObservation(quarter=5, season=1, ccd_module=2, ccd_output=1,
                                    cadence_type="long", instrument=instrument,
                                    cadence_reference=np.arange(len(values), dtype=np.int64))
    session.add_all([target, observation])
    session.add_all([
        TargetSpecificTime(target=target, observation=observation, barycentric_julian_dates=bjd),
        KeplerQualityFlagArray(target=target, observation=observation, quality_flags=quality),
        DataSet(target=target, observation=observation, values=values, unit="electron / s")])
    session.flush()


def test_kepler_light_curves_in_bkjd(session):
    n = 50
    bjd = 2454833.0 + 440.0 + np.arange(n) * 0.0204
    quality = np.zeros(n, dtype=np.int64)
    quality[[3, 4]] = KEPLER_QUALITY_BITS.value(KEPLER_QUALITY_BITS.hard[0])
    values = np.linspace(1.0, 2.0, n)
    kepler_curve(session, 8462852, bjd, values, quality)
    session.expunge_all()
    with selects(session) as seen:
        (lc,) = lightcurvedb.lightcurves(session, catalog="KIC", observation_filter={"quarter": 5})
    assert len(seen) == 3 and "kepler_observation" in seen[1]
    assert lc.observation_meta["quarter"] == 5 and lc.observation_meta["channel"] == 1
    assert lc.meta["KICID"] == 8462852 and lc.meta["TELESCOP"] == "Kepler"
    assert lc.label == "KIC 8462852 quarter 5 raw"
    np.testing.assert_allclose(lc.times, bjd - 2454833.0, rtol=0, atol=1e-9)
    hard = KEPLER_QUALITY_BITS.hard_value
    np.testing.assert_array_equal(lc.quality_mask(), (quality & hard) != 0)
    klc = lc.to_lightkurve()
    assert type(klc).__name__ == "KeplerLightCurve" and klc.time.format == "bkjd"
    np.testing.assert_allclose(klc.time.jd, bjd, rtol=0, atol=1e-9)
    assert klc.quarter == 5


def test_a_mission_counting_seconds_in_tt_gets_its_own_time_format(session):
    mission = f.MissionFactory(time_unit="s", time_epoch=51544.5, time_epoch_format="mjd",
                               time_epoch_scale="tt")
    target = f.TargetFactory(catalog=f.MissionCatalogFactory(host_mission=mission))
    observation = f.ObservationFactory(cadence_reference=np.arange(4, dtype=np.int64))
    bjd = 2460000.25 + np.array([0.0, 0.5, np.nan, 1.0])
    f.TargetSpecificTimeFactory(target=target, observation=observation,
                                barycentric_julian_dates=bjd)
    f.DataSetFactory(target=target, observation=observation, values=np.arange(4.0),
                     errors=np.full(4, 0.1), photometry_source=None)
    session.expunge_all()
    (lc,) = lightcurvedb.lightcurves(session, mission=mission.name)
    tdb = Time(bjd[[0, 1, 3]], format="jd", scale="tdb")
    seconds = (tdb.tt - Time(51544.5, format="mjd", scale="tt")).sec
    np.testing.assert_allclose(lc.times[[0, 1, 3]], seconds, rtol=0, atol=1e-4)
    assert np.isnan(lc.times[2])
    series = lc.to_timeseries()
    assert series.time.format == mission.time_format_name and series.time.scale == "tt"
    assert series.time.mask[2] and not series.time.mask[[0, 1, 3]].any()
    np.testing.assert_allclose(series.time.tdb.jd[[0, 1, 3]], bjd[[0, 1, 3]], rtol=0,
                               atol=1e-9)
    assert lc.label == f"{target.catalog.name} {target.name} observation {observation.id} raw"


def test_a_format_name_astropy_gives_another_meaning_is_refused(session):
    mission = f.MissionFactory(time_format_name="mjd", time_epoch=2457000.0)
    target = f.TargetFactory(catalog=f.MissionCatalogFactory(host_mission=mission))
    observation = f.ObservationFactory()
    f.TargetSpecificTimeFactory(target=target, observation=observation)
    f.DataSetFactory(target=target, observation=observation)
    (lc,) = lightcurvedb.lightcurves(session, target=target)
    with pytest.raises(ValueError, match="'mjd' is already registered with another meaning"):
        lc.to_timeseries()


def test_missions_counting_time_differently_align_only_on_astropy_times(session):
    n = 30
    kepler_curve(session, 1234, 2455300.0 + np.arange(n) * 0.02, np.ones(n),
                 np.zeros(n, dtype=np.int64))
    mission = f.MissionFactory()        # BJD - 2457000, under another format name
    target = f.TargetFactory(catalog=f.MissionCatalogFactory(host_mission=mission))
    observation = f.ObservationFactory(cadence_reference=np.arange(n, dtype=np.int64))
    f.TargetSpecificTimeFactory(target=target, observation=observation,
                                barycentric_julian_dates=2455300.0 + np.arange(n) * 0.02)
    f.DataSetFactory(target=target, observation=observation, values=np.ones(n),
                     errors=np.ones(n))
    session.expunge_all()
    curves = lightcurvedb.lightcurves(session, target=[1234, target.name])
    assert {lc.mission.name for lc in curves} == {"Kepler", mission.name}
    with pytest.raises(ValueError, match="count time differently"):
        curves.align(to=np.arange(5.0))
    grid = Time(2455300.0 + np.arange(n) * 0.02, format="jd", scale="tdb")
    aligned = curves.align(to=grid)
    assert not aligned.missing.any()
