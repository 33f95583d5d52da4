"""DSA-110 variability statistics, ESE candidates and alerts, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math
import re

import pytest
import sqlalchemy as sa

from lightcurvedb.core.column_rules import ColumnValueError
from lightcurvedb.radio import (
    AlertHistory,
    ESECandidate,
    Image,
    MSIndex,
    Photometry,
    VariabilityStats,
)
from lightcurvedb.radio.variability import (
    InvalidPhotometryError,
    flag_ese_candidates,
    flux_statistics,
    record_alert,
    stale_sources,
    update_variability,
)

T0 = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)
STEADY = "NVSS J100000.0+400000"
FLARE = "NVSS J110000.0+410000"
IMAGE = "/data/dsa110/images/2025-10-01T00:00:00.img.image.fits"


def add_image(session, path=IMAGE):
    session.add(MSIndex(path=path + ".ms", mid_mjd=60949.0, stage="imaged", status="ok"))
    session.add(Image(path=path, ms_path=path + ".ms", created_at=T0, type="image",
                      field_name="J1100+41", noise_jy=0.0012))
    session.flush()


def add_points(session, source_id, fluxes_mjy, errors_mjy, *, first=0, image=IMAGE):
    """One point per hour/day from T0 (measured_at) and MJD 60950 (mjd), index ``first`` on."""
    rows = []
    for k, (flux, error) in enumerate(zip(fluxes_mjy, errors_mjy, strict=True), start=first):
        rows.append(Photometry(
            image_path=image, source_id=source_id, ra_deg=150.0 + len(source_id) % 7,
            dec_deg=40.0, nvss_flux_mjy=50.0, peak_jyb=flux / 1000.0,
            peak_err_jyb=None if error is None else error / 1000.0, snr=10.0,
            measured_at=T0 + dt.timedelta(hours=k), mjd=60950.0 + k))
    session.add_all(rows)
    session.flush()
    return rows


def stats(session, source_id):
    return session.scalar(sa.select(VariabilityStats).where(
        VariabilityStats.source_id == source_id))


def test_statistics_match_hand_computation(session):
    add_image(session)
    fluxes, errors = [10.0, 12.0, 11.0, 30.0, 10.0], [1.0, 1.0, 2.0, 1.0, 0.5]
    add_points(session, FLARE, fluxes, errors)
    assert update_variability(session, now=T0 + dt.timedelta(days=1)) == 1

    # Independent arithmetic, point by point.
    weights = [1 / e**2 for e in errors]
    mu_w = sum(w * f for w, f in zip(weights, fluxes, strict=True)) / sum(weights)
    chi2 = sum(((f - mu_w) / e) ** 2 for f, e in zip(fluxes, errors, strict=True))
    mean = sum(fluxes) / 5
    std = math.sqrt(sum((f - mean) ** 2 for f in fluxes) / 4)
    row = stats(session, FLARE)
    assert row.n_obs == 5
    assert row.mean_flux_mjy == pytest.approx(14.6)
    assert row.std_flux_mjy == pytest.approx(std)
    assert (row.min_flux_mjy, row.max_flux_mjy) == pytest.approx((10.0, 30.0))
    assert row.chi2_nu == pytest.approx(chi2 / 4)
    assert row.sigma_deviation == pytest.approx((30.0 - mu_w) / 1.0)
    assert row.last_mjd == 60954.0
    assert row.last_measured_at == T0 + dt.timedelta(hours=4)
    assert row.updated_at == T0 + dt.timedelta(days=1)
    assert row.nvss_flux_mjy == 50.0


def test_single_point_and_constant_source():
    one = flux_statistics([5.0], [0.5])
    assert (one.n_obs, one.std, one.chi2_nu, one.sigma_deviation) == (1, None, None, 0.0)
    steady = flux_statistics([50.5, 49.5, 50.2, 49.8, 50.0], [1.0] * 5)
    assert steady.chi2_nu == pytest.approx((0.25 + 0.25 + 0.04 + 0.04) / 4)
    assert steady.chi2_nu < 1


def test_flaring_source_flagged_once(session):
    add_image(session)
    add_points(session, STEADY, [50.5, 49.5, 50.2, 49.8, 50.0], [1.0] * 5)
    add_points(session, FLARE, [50.0, 51.0, 49.0, 80.0, 50.0], [1.0] * 5)
    update_variability(session)
    assert stats(session, STEADY).chi2_nu < 1
    assert stats(session, FLARE).chi2_nu > 50

    flagged = flag_ese_candidates(session, now=T0)
    assert [(c.source_id, c.flag_type, c.status, c.flagged_by) for c in flagged] == [
        (FLARE, "variability", "active", "auto")]
    assert flagged[0].significance == pytest.approx(stats(session, FLARE).chi2_nu)
    assert flag_ese_candidates(session, now=T0) == []  # already active: no duplicate

    flagged[0].status = "dismissed"
    flagged[0].dismissed_at = T0 + dt.timedelta(days=2)
    session.flush()
    again = flag_ese_candidates(session, now=T0 + dt.timedelta(days=3))
    assert [c.source_id for c in again] == [FLARE]
    active = session.scalar(sa.select(sa.func.count()).select_from(ESECandidate).where(
        ESECandidate.source_id == FLARE, ESECandidate.status == "active"))
    assert active == 1


def test_thresholds_and_rapid_change(session):
    add_image(session)
    # 30 steady points and one 6-sigma outlier: chi2_nu ~ 1.2 but sigma_deviation ~ 5.8.
    add_points(session, FLARE, [50.0] * 29 + [56.0], [1.0] * 30)
    update_variability(session)
    row = stats(session, FLARE)
    assert row.chi2_nu < 2 < 5 < row.sigma_deviation
    assert flag_ese_candidates(session, sigma_threshold=6.0) == []
    [candidate] = flag_ese_candidates(session)
    assert candidate.flag_type == "rapid_change"
    assert candidate.significance == pytest.approx(row.sigma_deviation)


def test_min_obs(session):
    add_image(session)
    add_points(session, FLARE, [10.0, 90.0], [1.0, 1.0])
    update_variability(session)
    assert flag_ese_candidates(session) == []
    assert [c.source_id for c in flag_ese_candidates(session, min_obs=2)] == [FLARE]


def test_incremental_update_touches_only_sources_with_new_points(session):
    add_image(session)
    add_points(session, STEADY, [50.0, 50.5, 49.5], [1.0] * 3)
    add_points(session, FLARE, [50.0, 51.0, 49.0], [1.0] * 3)
    first = T0 + dt.timedelta(days=1)
    assert update_variability(session, now=first) == 2
    assert stale_sources(session) == []
    assert update_variability(session, now=first + dt.timedelta(hours=1)) == 0

    add_points(session, FLARE, [90.0], [1.0], first=3)
    assert stale_sources(session) == [FLARE]
    second = first + dt.timedelta(days=1)
    assert update_variability(session, now=second) == 1
    assert stats(session, FLARE).n_obs == 4
    assert stats(session, FLARE).updated_at == second
    assert stats(session, STEADY).updated_at == first  # untouched

    # A back-filled point (measured before last_measured_at) is caught by the count.
    add_points(session, STEADY, [50.0], [1.0], first=-5)
    assert stale_sources(session) == [STEADY]
    assert update_variability(session, now=second) == 1
    assert stats(session, STEADY).n_obs == 4


def test_explicit_sources_and_since(session):
    add_image(session)
    add_points(session, STEADY, [50.0, 50.5], [1.0] * 2)
    add_points(session, FLARE, [50.0, 51.0], [1.0] * 2, first=10)
    update_variability(session)
    assert update_variability(session, source_ids=[STEADY, "NVSS J000000.0+000000"]) == 1
    assert update_variability(session, since=T0 + dt.timedelta(hours=5)) == 1  # FLARE only
    assert update_variability(session, source_ids=[STEADY],
                              since=T0 + dt.timedelta(hours=5)) == 0


BAD_POINTS = {
    "nan_flux": (float("nan"), 1.0),
    "infinite_flux": (float("inf"), 1.0),
    "negative_error": (50.0, -1.0),
    "zero_error": (50.0, 0.0),
    "nan_error": (50.0, float("nan")),
    "missing_error": (50.0, None),
}


@pytest.mark.parametrize("kind", sorted(BAD_POINTS))
def test_bad_photometry_is_refused_and_nothing_written(session, backend, kind):
    if kind == "nan_flux":
        # SQLite stores NaN as NULL, so its NOT NULL peak would refuse NaN where
        # PostgreSQL took it: the column rules refuse it on both, before the write.
        add_image(session)
        with pytest.raises(ColumnValueError, match=r"Photometry\.peak_jyb = nan: NaN in a "
                                                   r"NOT NULL float column"), \
                session.begin_nested():
            add_points(session, FLARE, [float("nan")], [1.0])
        return
    add_image(session)
    add_points(session, STEADY, [50.0, 50.5, 49.5], [1.0] * 3)
    flux, error = BAD_POINTS[kind]
    [bad] = add_points(session, FLARE, [50.0, flux], [1.0, error])[1:]
    with pytest.raises(InvalidPhotometryError, match=rf"{re.escape(FLARE)}.*row\(s\) {bad.id}"):
        update_variability(session)
    assert session.scalar(sa.select(sa.func.count()).select_from(VariabilityStats)) == 0
    assert update_variability(session, source_ids=[STEADY]) == 1


def test_record_alert(session):
    alert = record_alert(session, FLARE, "ESE candidate: chi2_nu=80", channel="#ese-alerts",
                         sent_at=T0)
    assert (alert.id is not None, alert.alert_type, alert.severity, alert.success) == (
        True, "ese_candidate", "warning", True)
    failed = record_alert(session, FLARE, "x", severity="critical", success=False,
                          error_msg="slack down", sent_at=T0)
    session.expire_all()
    rows = session.scalars(sa.select(AlertHistory).order_by(AlertHistory.id)).all()
    assert [(a.channel, a.sent_at, a.success, a.error_msg) for a in rows] == [
        ("#ese-alerts", T0, True, None), (None, T0, False, "slack down")]
    assert failed.severity == "critical"
    with pytest.raises(ValueError, match="alert type"):
        record_alert(session, FLARE, "x", alert_type="email")
    with pytest.raises(ValueError, match="severity"):
        record_alert(session, FLARE, "x", severity="loud")


def test_cli_update_flag_and_lightcurve(tmp_path, capsys):
    import argparse

    from sqlalchemy.orm import Session

    from lightcurvedb import connect, migrations
    from lightcurvedb.radio.cli_analysis import add_radio_analysis_commands

    url = f"sqlite:///{tmp_path / 'radio.sqlite3'}"
    engine = connect(url)
    migrations.upgrade(engine)
    with Session(engine) as db, db.begin():
        add_image(db)
        add_points(db, FLARE, [50.0, 51.0, 49.0, 80.0], [1.0] * 4)
    engine.dispose()

    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    add_radio_analysis_commands(parser.add_subparsers(required=True))

    def run(*argv):
        args = parser.parse_args(["--url", url, *argv])
        assert args.func(args) == 0
        return capsys.readouterr().out

    assert "updated for 1 source" in run("variability", "update")
    assert "updated for 0 sources" in run("variability", "update")
    out = run("ese", "flag")
    assert f"{FLARE}\tvariability" in out and "1 new ESE candidate" in out
    assert "0 new ESE candidates" in run("ese", "flag")
    assert "(4 points, mJy / beam)" in run("sources", "lightcurve", FLARE)
