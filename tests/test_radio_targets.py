"""DSA-110 sources as core targets; photometry materialised as core light curves."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pytest
import sqlalchemy as sa
from astropy import units as u
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from lightcurvedb.models import (
    DataSet,
    Instrument,
    Mission,
    MissionCatalog,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.radio import Image, MSIndex, Photometry
from lightcurvedb.radio.targets import (
    barycentric_julian_dates,
    designation_number,
    ensure_dsa110_mission,
    materialise_lightcurve,
    monitoring_observation,
    source_target,
)
from lightcurvedb.radio.variability import InvalidPhotometryError
from lightcurvedb.testing import factories as f

T0 = dt.datetime(2024, 10, 1, tzinfo=dt.UTC)
SOURCE = "NVSS J123456.7+420312"
RA, DEC = 188.73625, 42.05333
IMAGE = "/data/dsa110/images/2024-10-01.image.fits"
#: DSA-110 at the Owens Valley Radio Observatory.
OVRO = EarthLocation.from_geodetic(-118.2825 * u.deg, 37.2339 * u.deg, 1222 * u.m)


def add_points(session, mjds, fluxes_mjy, errors_mjy, *, flags=None, source=SOURCE):
    if session.scalar(sa.select(Image).where(Image.path == IMAGE)) is None:
        session.add(MSIndex(path=IMAGE + ".ms"))
        session.add(Image(path=IMAGE, ms_path=IMAGE + ".ms", created_at=T0, type="image"))
        session.flush()  # no relationship orders photometry after its image
    flags = flags or [0] * len(mjds)
    session.add_all(Photometry(
        image_path=IMAGE, source_id=source, ra_deg=RA, dec_deg=DEC, peak_jyb=flux / 1000,
        peak_err_jyb=None if error is None else error / 1000, measured_at=T0, mjd=mjd,
        flags=flag)
        for mjd, flux, error, flag in zip(mjds, fluxes_mjy, errors_mjy, flags, strict=True))
    session.flush()


def count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_designation_numbers():
    assert designation_number(SOURCE) == 12345670420312
    assert designation_number("NVSS J123456.7-420312") == 12345671420312
    assert designation_number("NVSS J000000.0+000000") == 0
    assert designation_number("NVSS J235959.9-895959") == 23595991895959
    other = "VLASS1QLCIR J123456.78+420312.3"
    digest = int.from_bytes(hashlib.blake2b(other.encode(), digest_size=8).digest(), "big")
    assert designation_number(other) == (1 << 62) | (digest >> 2)
    assert 1 << 62 <= designation_number(other) < 1 << 63
    # Not the standard form (lower case, extra space): hashed, so never equal to the above.
    assert designation_number("nvss J123456.7+420312") >= 1 << 62
    assert designation_number(SOURCE + " ") >= 1 << 62
    with pytest.raises(ValueError):
        designation_number("")


def test_mission_catalog_and_instruments_are_idempotent(session):
    mission = ensure_dsa110_mission(session)
    assert ensure_dsa110_mission(session) is mission
    assert count(session, Mission) == 1 and count(session, MissionCatalog) == 1
    assert mission.to_time(60000.25).mjd == pytest.approx(60000.25, abs=1e-9)
    assert mission.to_time(60000.25).scale == "utc"
    [catalog] = mission.catalogs
    assert catalog.name == "NVSS"
    observation = monitoring_observation(session)
    assert monitoring_observation(session) is observation
    assert observation.instrument.path == "DSA-110 > Correlator"
    assert count(session, Instrument) == 2


def test_source_target_get_or_create(session):
    target = source_target(session, SOURCE)
    assert (target.designation, target.name, target.catalog.name) == (
        SOURCE, 12345670420312, "NVSS")
    assert source_target(session, SOURCE) is target
    assert count(session, Target) == 1
    with pytest.raises(ValueError):
        source_target(session, "x" * 65)


def test_barycentric_correction_agrees_with_astropy():
    mjd = np.array([60584.0, 60650.3, 60700.7, 60800.1])
    bjd = barycentric_julian_dates(mjd, RA, DEC)
    times = Time(mjd, format="mjd", scale="utc", location=OVRO)
    expected = times.tdb + times.light_travel_time(SkyCoord(RA, DEC, unit="deg"), location=OVRO)
    # Geocentric Roemer delay only: within the light time across the Earth's radius.
    assert np.max(np.abs(bjd - expected.jd)) * 86400 < 0.025
    assert np.max(np.abs(bjd - times.tdb.jd)) * 86400 > 60  # the correction was applied


def test_materialise_reads_like_a_tess_light_curve(session):
    mjds = [60590.5, 60584.25, 60600.0, 60587.0]  # inserted out of order
    add_points(session, mjds, [51.0, 50.0, 49.0, 55.0], [1.0, 2.0, 1.5, 1.0], flags=[0, 4, 0, 1])
    dataset = materialise_lightcurve(session, SOURCE)
    order = np.argsort(mjds)
    np.testing.assert_array_equal(dataset.values, np.array([51.0, 50.0, 49.0, 55.0])[order])
    np.testing.assert_allclose(dataset.errors, np.array([1.0, 2.0, 1.5, 1.0])[order])
    assert dataset.unit == "mJy / beam"
    assert dataset.target.designation == SOURCE
    assert dataset.photometry_source.name == "DSA-110 forced photometry"

    series = dataset.to_timeseries()
    assert series["flux"].unit == u.mJy / u.beam
    np.testing.assert_allclose(series["flux_err"].value, dataset.errors)
    assert list(series["quality"]) == [4, 1, 0, 0]
    assert not series["quality_mask"].any()  # no named (hard) bits
    # Times: BJD (TDB); back in the mission's MJD (UTC), they differ from the
    # photometry MJDs by the barycentric correction (|delay| < 8.4 min).
    assert series.time.scale == "tdb"
    mission = dataset.target.catalog.host_mission
    back = mission.from_time(series.time)
    delay = barycentric_julian_dates(np.sort(mjds), RA, DEC) - Time(
        np.sort(mjds), format="mjd", scale="utc").tdb.jd
    np.testing.assert_allclose((back - np.sort(mjds)) * 86400, delay * 86400, atol=1e-3)
    assert np.all(np.abs(back - np.sort(mjds)) * 1440 < 8.4)

    # A TESS-like light curve from the factories has the same layout.
    tess = f.DataSetFactory(target=f.TargetFactory())
    f.TargetSpecificTimeFactory(target=tess.target, observation=tess.observation)
    tess_series = tess.to_timeseries()
    assert set(tess_series.colnames) | {"quality", "quality_mask"} == set(series.colnames)
    assert tess_series.time.scale == series.time.scale == "tdb"


def test_materialise_is_idempotent_and_follows_new_points(session):
    add_points(session, [60584.0, 60585.0, 60586.0], [50.0, 51.0, 52.0], [1.0] * 3)
    first = materialise_lightcurve(session, SOURCE)
    before = {m: count(session, m) for m in (Target, DataSet, TargetSpecificTime)}
    again = materialise_lightcurve(session, SOURCE)
    assert again.id == first.id
    assert {m: count(session, m) for m in before} == before

    add_points(session, [60583.0, 60590.0], [40.0, 60.0], [1.0, 1.0])
    grown = materialise_lightcurve(session, SOURCE)
    assert grown.id == first.id
    assert {m: count(session, m) for m in before} == before
    session.expire_all()
    dataset = session.get(DataSet, first.id)
    np.testing.assert_array_equal(dataset.values, [40.0, 50.0, 51.0, 52.0, 60.0])
    assert len(dataset.to_timeseries()) == 5


@pytest.mark.parametrize(("mjd", "error", "message"), [
    (60585.0, -1.0, "negative error"), (60585.0, None, "missing"), (None, 1.0, "no MJD")])
def test_bad_photometry_writes_nothing(session, mjd, error, message):
    add_points(session, [60584.0, mjd], [50.0, 51.0], [1.0, error])
    with pytest.raises(InvalidPhotometryError, match=message):
        materialise_lightcurve(session, SOURCE)
    assert count(session, Target) == count(session, DataSet) == 0


def test_no_photometry(session):
    with pytest.raises(LookupError, match="no photometry"):
        materialise_lightcurve(session, SOURCE)
