"""The seed's three frontend queries: the Python functions return what the SQL text returns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa
from astropy import units as u

from lightcurvedb.radio import ESECandidate, Image, Mosaic, MSIndex, Photometry, VariabilityStats
from lightcurvedb.radio.frontend import active_ese_candidates, flux_timeseries, recent_mosaics

T0 = dt.datetime(2025, 10, 24, 12, tzinfo=dt.UTC)
SOURCE = "NVSS J123456.7+420312"

# The seed's "Query Examples", copied verbatim (no schema prefix).
ESE_CANDIDATES_SQL = """SELECT 
    e.source_id,
    v.ra_deg,
    v.dec_deg,
    v.mean_flux_mjy,
    v.nvss_flux_mjy,
    v.chi2_nu,
    v.sigma_deviation,
    v.n_obs,
    e.flagged_at,
    e.significance,
    e.status
FROM ese_candidates e
JOIN variability_stats v ON e.source_id = v.source_id
WHERE e.status = 'active'
ORDER BY e.significance DESC
LIMIT 50;"""  # noqa: W291  (the seed's trailing space)

FLUX_TIMESERIES_SQL = """SELECT 
    mjd,
    peak_jyb * 1000 as flux_mjy,  -- Convert Jy/beam to mJy
    peak_err_jyb * 1000 as error_mjy,
    snr,
    i.field_name,
    i.noise_jy * 1000 as image_noise_mjy
FROM photometry p
JOIN images i ON p.image_path = i.path
WHERE p.source_id = 'NVSS J123456.7+420312'
ORDER BY mjd ASC;"""  # noqa: W291

RECENT_MOSAICS_SQL = """SELECT 
    name,
    path,
    start_mjd,
    end_mjd,
    integration_sec / 3600.0 as hours,
    n_images,
    n_sources,
    noise_jy * 1000 as noise_mjy,
    thumbnail_path
FROM mosaics
ORDER BY created_at DESC
LIMIT 20;"""  # noqa: W291


def verbatim(session, backend, sql):
    if backend == "postgresql":
        session.execute(sa.text("SET search_path TO radio"))  # undone by the test's rollback
    return session.execute(sa.text(sql)).all()


def unix(value):
    return value.timestamp() if isinstance(value, dt.datetime) else value


def test_active_ese_candidates(session, backend):
    rng = np.random.default_rng(1)
    stats = [VariabilityStats(
        source_id=f"NVSS J{i:06d}.0+400000", ra_deg=rng.uniform(0, 360), dec_deg=40.0,
        nvss_flux_mjy=None if i % 5 == 0 else rng.uniform(5, 500), n_obs=int(rng.integers(3, 90)),
        mean_flux_mjy=rng.uniform(5, 500), chi2_nu=rng.uniform(0, 40),
        sigma_deviation=rng.uniform(0, 12), updated_at=T0) for i in range(70)]
    session.add_all(stats)
    session.flush()
    significance = rng.permutation(70) * 0.5 + 1.0  # distinct: the seed's order has no tie-break
    session.add_all(ESECandidate(
        source_id=s.source_id, flagged_at=T0 - dt.timedelta(hours=i), flagged_by="auto",
        significance=float(significance[i]), flag_type="variability",
        status="dismissed" if i % 6 == 0 else "active")
        for i, s in enumerate(stats))
    session.flush()

    rows = active_ese_candidates(session)
    assert len(rows) == 50
    assert [r.significance for r in rows] == sorted((r.significance for r in rows), reverse=True)
    assert all(r.status == "active" for r in rows)
    assert isinstance(rows[0].flagged_at, dt.datetime)
    assert len(active_ese_candidates(session, limit=5)) == 5
    expected = verbatim(session, backend, ESE_CANDIDATES_SQL)
    assert [tuple(map(unix, r)) for r in rows] == [tuple(r) for r in expected]
    assert rows[0]._fields == tuple(expected[0]._fields)


def test_flux_timeseries(session, backend):
    session.add_all([MSIndex(path="/ms/a.ms"), MSIndex(path="/ms/b.ms")])
    session.flush()
    session.add_all([
        Image(path="/img/a.fits", ms_path="/ms/a.ms", created_at=T0, type="image",
              field_name="J1234+42", noise_jy=0.00125),
        Image(path="/img/b.fits", ms_path="/ms/b.ms", created_at=T0, type="pbcor",
              field_name=None, noise_jy=None)])
    session.flush()
    mjds = [60970.75, 60969.5, 60971.25, 60968.0, 60972.5]
    for k, mjd in enumerate(mjds):
        for source in (SOURCE, "NVSS J000000.0+000000"):
            session.add(Photometry(
                image_path="/img/a.fits" if k % 2 else "/img/b.fits", source_id=source,
                ra_deg=188.73625, dec_deg=42.05333, peak_jyb=0.05 + 0.001 * k,
                peak_err_jyb=None if k == 3 else 0.0011, snr=None if k == 4 else 45.0 + k,
                measured_at=T0, mjd=mjd))
    session.flush()

    table = flux_timeseries(session, SOURCE)
    assert table.colnames == ["mjd", "flux_mjy", "error_mjy", "snr", "field_name",
                              "image_noise_mjy"]
    assert list(table["mjd"]) == sorted(mjds)
    assert table["flux_mjy"].unit == u.mJy / u.beam
    assert table.meta["source_id"] == SOURCE
    expected = verbatim(session, backend, FLUX_TIMESERIES_SQL)
    assert len(table) == len(expected) == 5
    for row, want in zip(table, expected, strict=True):
        for name in table.colnames:
            value = row[name]
            if want._mapping[name] is None:
                assert value is None or np.isnan(value), name
            else:
                assert value == want._mapping[name], name
    assert len(flux_timeseries(session, "NVSS J999999.9+999999")) == 0


def test_recent_mosaics(session, backend):
    session.add_all(Mosaic(
        path=f"/mosaics/{k:02d}.fits", name=f"2025-10-24_hourly_{k:02d}UTC",
        created_at=T0 + dt.timedelta(minutes=7 * ((k * 11) % 25)),
        start_mjd=60972.0 + k / 24, end_mjd=60972.0 + (k + 1) / 24,
        integration_sec=None if k == 3 else 3300.0 + k, n_images=12, n_sources=1000 + k,
        noise_jy=0.0004 + k * 1e-5, thumbnail_path=f"/mosaics/{k:02d}.png")
        for k in range(25))
    session.flush()
    rows = recent_mosaics(session)
    assert len(rows) == 20
    expected = verbatim(session, backend, RECENT_MOSAICS_SQL)
    assert [tuple(r) for r in rows] == [tuple(r) for r in expected]
    assert rows[0]._fields == tuple(expected[0]._fields)
    assert rows[0].hours == pytest.approx((3300.0 + rows[0].n_sources - 1000) / 3600.0)
    assert len(recent_mosaics(session, limit=3)) == 3
