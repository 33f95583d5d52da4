"""A mission's time system turns stored numbers into astropy Time and back."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.time import Time

from lightcurvedb.models import Mission, TargetSpecificTime
from lightcurvedb.testing import factories as f


def tess() -> Mission:
    # TESS records BTJD = BJD - 2457000 in TDB (Science Data Products Description).
    return Mission(name="TESS", time_unit="d", time_epoch=2457000, time_epoch_scale="tdb",
                   time_epoch_format="jd", time_format_name="btjd")


def test_btjd_is_bjd_minus_2457000_in_tdb():
    times = tess().to_time([1325.29, 1353.18])  # sector 1 start and end
    assert times.scale == "tdb"
    np.testing.assert_allclose(times.jd, [2458325.29, 2458353.18], rtol=0, atol=1e-9)


def test_conversion_to_utc_applies_leap_seconds():
    # In 2018 TDB - UTC = 32.184 s + 37 leap seconds (+ < 2 ms periodic terms).
    btjd = tess().to_time(1325.29)
    seconds = (btjd.jd - btjd.utc.jd) * 86400.0
    assert seconds == pytest.approx(69.184, abs=0.002)


def test_round_trip_keeps_microseconds():
    mission = tess()
    btjd = np.linspace(1325.0, 1353.0, 20_000)
    back = mission.from_time(mission.to_time(btjd))
    assert np.max(np.abs(back - btjd)) * 86400e6 < 1.0  # < 1 microsecond


def test_from_time_converts_scale_first():
    mission = tess()
    utc = Time("2018-07-25T19:00:00", scale="utc")
    btjd = mission.from_time(utc)
    assert btjd == pytest.approx(utc.tdb.jd - 2457000, abs=1e-9)
    assert isinstance(btjd, float)


def test_mjd_missions_and_other_units():
    hst = Mission(name="HST", time_unit="d", time_epoch=2400000.5, time_epoch_scale="utc",
                  time_epoch_format="jd", time_format_name="mjd_utc")
    assert hst.to_time(60000.25).mjd == pytest.approx(60000.25, abs=1e-9)
    # A mission counting seconds (like a mission-elapsed time) from an MJD epoch in TT.
    met = Mission(name="MET", time_unit="s", time_epoch=51910.0, time_epoch_scale="tt",
                  time_epoch_format="mjd", time_format_name="met")
    assert met.to_time(86400.0).mjd == pytest.approx(51911.0, abs=1e-9)
    assert met.from_time(Time(51912.0, format="mjd", scale="tt")) == pytest.approx(172800.0)
    assert (met.to_time(3600.0) - met.epoch).to(u.s).value == pytest.approx(3600.0)


def test_mission_time_columns_round_trip(session):
    mission = f.MissionFactory(name="TESS", time_epoch=2457000.0, time_format_name="btjd")
    session.flush()
    session.expire_all()
    stored = session.get(Mission, mission.id)
    assert (stored.time_unit, float(stored.time_epoch), stored.time_epoch_scale,
            stored.time_epoch_format, stored.time_format_name) == (
        "d", 2457000.0, "tdb", "jd", "btjd")
    assert stored.to_time(1.0).jd == 2457001.0


def test_target_specific_times_as_astropy_time(session):
    tst = f.TargetSpecificTimeFactory(barycentric_julian_dates=np.array([2458325.29, 2458325.5]))
    session.flush()
    session.expire_all()
    times = session.get(TargetSpecificTime, tst.id).to_time()
    assert times.scale == "tdb"
    np.testing.assert_allclose(tess().from_time(times), [1325.29, 1325.5], atol=1e-6)


def test_nan_times_come_back_masked():
    times = tess().to_time([1325.29, np.nan, 1325.5])
    assert np.ma.getmaskarray(times.jd).tolist() == [False, True, False]
    assert float(times.jd[2]) == pytest.approx(2458325.5)
