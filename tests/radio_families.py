"""The DSA-110 services, one table group at a time, with fixed times and checked values.

Each ``*_family`` function runs a group's public services on a session, checks
what they return and store (refusals included: nothing written), and returns
what it saw, so that :mod:`test_radio_layouts` can run them on every layout
and compare. ``base`` is the directory of the files they make or name.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import numpy as np
import pytest
import sqlalchemy as sa

from lightcurvedb.core.pathtype import resolved_path
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.radio import (
    CalTable,
    IngestGroup,
    Mosaic,
    Photometry,
    Source,
    VariabilityStats,
    frontend,
    queue,
)
from lightcurvedb.radio import calibration_registry as cal
from lightcurvedb.radio import products_service as products
from lightcurvedb.radio.catalog import angular_separation_deg, cone_search, load_master_sources
from lightcurvedb.radio.references import reference_sources
from lightcurvedb.radio.targets import FLUX_UNIT, materialise_lightcurve
from lightcurvedb.radio.variability import (
    InvalidPhotometryError,
    flag_ese_candidates,
    flux_statistics,
    record_alert,
    stale_sources,
    update_variability,
)
from lightcurvedb.testing.fits.radio import write_radio_image

T0 = dt.datetime(2025, 10, 24, 12, 0, 0, tzinfo=dt.UTC)
GROUP, LATER_GROUP = "2025-10-24T12:00:00", "2025-10-24T12:05:00"
STEADY, SCINTILLATING = "NVSS J123456.7+420312", "NVSS J123501.2+415907"
STEADY_JY = [0.100, 0.101, 0.099, 0.100, 0.102, 0.100]
SCINTILLATING_JY = [0.100, 0.118, 0.160, 0.141, 0.112, 0.101]
POSITIONS = {STEADY: (188.7363, 42.0533), SCINTILLATING: (188.7550, 41.9853)}


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def stored(path: pathlib.Path) -> str:
    return str(resolved_path(path))


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


# -- the services, one group at a time ------------------------------------------------------

def queue_family(session, base: pathlib.Path) -> dict:
    files = [base / f"{GROUP}_sb{idx:02d}.hdf5" for idx in range(2)]
    first = queue.register_subband(session, GROUP, 0, files[0], file_size=1024,
                                   discovered_at=minutes(0), expected_subbands=2)
    last = queue.register_subband(session, GROUP, 1, files[1], file_size=2048,
                                  discovered_at=minutes(1), expected_subbands=2)
    again = queue.register_subband(session, GROUP, 1, files[1], discovered_at=minutes(9),
                                   expected_subbands=2)
    assert [(r.state, r.n_present, r.created) for r in (first, last, again)] == [
        ("collecting", 1, True), ("pending", 2, True), ("pending", 2, False)]
    with pytest.raises(queue.SubbandError, match=f"group {GROUP} subband 1 is already"):
        queue.register_subband(session, GROUP, 1, base / "elsewhere_sb01.hdf5")
    queue.register_subband(session, LATER_GROUP, 0, base / f"{LATER_GROUP}_sb00.hdf5",
                           discovered_at=minutes(5))
    claimed = queue.claim_next(session, now=minutes(2))
    assert claimed is not None
    assert (claimed.group_id, claimed.received_at, claimed.retry_count, claimed.files) == (
        GROUP, minutes(0), 0, tuple(stored(f) for f in files))
    assert queue.claim_next(session, now=minutes(2)) is None     # the other is collecting
    queue.fail_group(session, GROUP, "gaincal: no solutions", now=minutes(3))
    with pytest.raises(queue.TransitionError, match=f"group {GROUP} is failed, not in_progress"):
        queue.complete_group(session, GROUP)
    queue.retry_group(session, GROUP, now=minutes(4))
    reclaimed = queue.claim_next(session, now=minutes(5))
    assert reclaimed is not None and (reclaimed.group_id, reclaimed.retry_count) == (GROUP, 1)
    queue.complete_group(session, GROUP, now=minutes(6))
    queue.set_calibrators(session, GROUP, ["3C286"])
    queue.record_performance(session, GROUP, writer_type="direct-subband", total_time=401.5,
                             recorded_at=minutes(7))
    queue.record_performance(session, GROUP, writer_type="auto", imaging_time=240.0,
                             recorded_at=minutes(8))             # replaces the first record
    counts = queue.queue_counts(session)
    assert counts == {"collecting": 1, "pending": 0, "in_progress": 0, "completed": 1,
                      "failed": 0}
    group = session.get(IngestGroup, GROUP, populate_existing=True)
    assert (group.state, group.retry_count, group.error_message, group.has_calibrator,
            json.loads(group.calibrators), group.last_update, group.expected_subbands) == (
        "completed", 1, None, True, ["3C286"], minutes(6), 2)
    assert [(s.subband_idx, s.file_size, s.discovered_at) for s in group.subbands] == [
        (0, 1024, minutes(0)), (1, 2048, minutes(1))]
    metrics = group.performance
    assert (metrics.writer_type, metrics.total_time, metrics.imaging_time,
            metrics.recorded_at) == ("auto", None, 240.0, minutes(8))
    return {"claimed": claimed, "counts": counts}


def calibration_family(session, base: pathlib.Path) -> dict:
    paths = {kind: base / f"60972_3c286.{kind}" for kind in ("K", "BP", "G")}
    rows = cal.register_calibration_set(session, "bp_3c286_60972", paths,
                                        valid_start_mjd=60972.0, valid_end_mjd=60973.0,
                                        created_at=T0)
    session.commit()
    assert [(r.order_index, r.table_type, r.path) for r in rows] == [
        (0, "K", stored(paths["K"])), (1, "BP", stored(paths["BP"])), (2, "G", stored(paths["G"]))]
    active = [(t.order_index, t.table_type, t.set_name)
              for t in cal.active_caltables(session, 60972.5, require_all=True)]
    assert active == [(0, "K", "bp_3c286_60972"), (1, "BP", "bp_3c286_60972"),
                      (2, "G", "bp_3c286_60972")]
    assert cal.active_caltables(session, 60973.0) == []          # half-open window
    with pytest.raises(cal.OverlappingWindowError):
        cal.register_calibration_set(session, "g_60972", {"G": base / "other.G"},
                                     valid_start_mjd=60972.9, valid_end_mjd=60973.5)
    assert count(session, CalTable) == 3                        # nothing of the set written
    assert cal.retire_calibration_set(session, "bp_3c286_60972") == 3
    with pytest.raises(cal.MissingCalibrationError):
        cal.active_caltables(session, 60972.5, require_all=True)
    single = cal.register_caltable(session, base / "60972_late.G", "G", set_name="g_late",
                                   valid_start_mjd=60972.0, valid_end_mjd=60973.0,
                                   created_at=minutes(1))
    assert [t.path for t in cal.active_caltables(session, 60972.5)] == [single.path]
    session.commit()
    return {"active": active}


def make_image(base: pathlib.Path, seed: int = 1) -> pathlib.Path:
    return write_radio_image(base / f"epoch{seed}-image.fits", ra=188.73, dec=42.05,
                             bmaj_deg=15 / 3600, bmin_deg=10 / 3600, bpa_deg=30.0,
                             noise_jy=0.0005, nx=64, ny=64, seed=seed,
                             sources=[(*POSITIONS[STEADY], 0.1), (*POSITIONS[SCINTILLATING], 0.1)])


def products_family(session, base: pathlib.Path) -> dict:
    ms = base / f"{GROUP}.ms"
    products.record_ms_stage(session, ms, "converted", start_mjd=60972.4965,
                             end_mjd=60972.5035, field_name="J1234+42", when=minutes(10))
    products.record_ms_stage(session, ms, "calibrated", cal_applied=True, when=minutes(11))
    with pytest.raises(products.ProductsError, match="refusing to go back to converted"):
        products.record_ms_stage(session, ms, "converted", when=minutes(12))
    fits_path = make_image(base)
    products.record_ms_stage(session, ms, "imaged", imagename=fits_path, when=minutes(12))
    image = products.register_image(session, fits_path, ms_path=ms, integration_sec=300.0,
                                    created_at=minutes(13))
    assert (image.path, image.ms_path, image.beam_major_arcsec, image.beam_minor_arcsec,
            image.beam_pa_deg, image.imsize_x, image.imsize_y, image.field_name) == (
        stored(fits_path), stored(ms), pytest.approx(15.0), pytest.approx(10.0), 30.0, 64, 64,
        "J1234+42")
    assert image.freq_ghz == pytest.approx(1.405) and 0.0003 < image.noise_jy < 0.0007
    with pytest.raises(products.ProductsError, match="is already registered"):
        products.register_image(session, fits_path, ms_path=ms)
    with pytest.raises(products.UnknownProductError, match="is not in ms_index"):
        products.register_image(session, make_image(base, seed=2), ms_path=base / "none.ms")
    rows = [{"image_path": str(fits_path), "source_id": source, "ra_deg": ra, "dec_deg": dec,
             "nvss_flux_mjy": 100.0, "peak_jyb": flux, "peak_err_jyb": 0.002,
             "mjd": 60972.5 + epoch, "measured_at": minutes(60 * 24 * epoch + 20)}
             for epoch, fluxes in enumerate(zip(STEADY_JY, SCINTILLATING_JY, strict=True))
             for source, flux in zip((STEADY, SCINTILLATING), fluxes, strict=True)
             for ra, dec in [POSITIONS[source]]]
    assert products.record_photometry(session, rows) == 12
    bad = [dict(rows[0]), {**rows[1], "peak_err_jyb": -1.0}]
    with pytest.raises(products.PhotometryRowError, match="photometry row 1, peak_err_jyb"):
        products.record_photometry(session, bad)
    with pytest.raises(products.PhotometryRowError, match="is not registered"):
        products.record_photometry(session, [{**rows[0], "image_path": str(base / "x.fits")}])
    products.record_ms_stage(session, ms, "photometry_complete", when=minutes(14))
    session.commit()
    assert count(session, Photometry) == 12
    first = session.scalars(sa.select(Photometry).order_by(Photometry.id)).first()
    assert (first.image_path, first.snr, first.flags, first.measured_at) == (
        stored(fits_path), pytest.approx(50.0), 0, minutes(20))
    assert first.sep_from_center_deg == pytest.approx(
        angular_separation_deg(188.73, 42.05, *POSITIONS[STEADY]), rel=1e-9)
    ms_row = session.get(products.MSIndex, stored(ms), populate_existing=True)
    assert (ms_row.stage, ms_row.status, ms_row.cal_applied, ms_row.mid_mjd, ms_row.imagename,
            ms_row.stage_updated_at) == ("photometry_complete", "ok", True,
                                         pytest.approx(60972.5), stored(fits_path), minutes(14))
    return {"image": stored(fits_path)}


def variability_family(session, base: pathlib.Path) -> dict:
    assert stale_sources(session) == [STEADY, SCINTILLATING]
    assert update_variability(session, now=minutes(30)) == 2
    assert update_variability(session, now=minutes(31)) == 0     # nothing stale
    session.commit()
    stats = {s.source_id: s for s in session.scalars(sa.select(VariabilityStats))}
    for source, fluxes in ((STEADY, STEADY_JY), (SCINTILLATING, SCINTILLATING_JY)):
        expected = flux_statistics(np.array(fluxes) * 1000, np.full(len(fluxes), 2.0))
        row = stats[source]
        assert (row.n_obs, row.mean_flux_mjy, row.std_flux_mjy, row.chi2_nu,
                row.sigma_deviation, row.min_flux_mjy, row.max_flux_mjy) == (
            6, pytest.approx(expected.mean), pytest.approx(expected.std),
            pytest.approx(expected.chi2_nu), pytest.approx(expected.sigma_deviation),
            pytest.approx(min(fluxes) * 1000), pytest.approx(max(fluxes) * 1000))
        assert (row.ra_deg, row.dec_deg, row.nvss_flux_mjy, row.last_mjd, row.updated_at) == (
            *POSITIONS[source], 100.0, 60977.5, minutes(30))
    # A point without an error is refused, and nothing is written.
    image = session.scalars(sa.select(products.Image.path)).first()
    session.add(Photometry(image_path=image, source_id="NVSS BAD", ra_deg=1.0, dec_deg=1.0,
                           peak_jyb=0.1, measured_at=minutes(40)))
    session.flush()
    with pytest.raises(InvalidPhotometryError, match="photometry of 'NVSS BAD': missing"):
        update_variability(session, now=minutes(41))
    assert count(session, VariabilityStats) == 2
    session.rollback()
    flagged = flag_ese_candidates(session, chi2_threshold=8.0, now=minutes(50))
    assert [(c.source_id, c.flag_type, c.flagged_by, c.status) for c in flagged] == [
        (SCINTILLATING, "variability", "auto", "active")]
    assert flag_ese_candidates(session, chi2_threshold=8.0, now=minutes(51)) == []
    alert = record_alert(session, SCINTILLATING, f"ESE candidate {SCINTILLATING}",
                         channel="#ese-alerts", sent_at=minutes(52))
    session.commit()
    assert (alert.alert_type, alert.severity, alert.success, alert.sent_at) == (
        "ese_candidate", "warning", True, minutes(52))
    return {"significance": flagged[0].significance}


CATALOG = """source_id,ra_deg,dec_deg,s_nvss_mjy,snr_nvss,s_vlass_mjy,first_maj
NVSS J123456.7+420312,188.7363,42.0533,121.0,40.0,80.0,
NVSS J123501.2+415907,188.7550,41.9853,100.0,12.0,,
NVSS J123501.9+415910,188.7580,41.9862,3.0,8.0,,
NVSS J123600.0+420000,189.0000,42.0000,50.0,9.0,40.0,12.0
NVSS J000000.0+000000,0.0,0.0,10.0,7.5,,
"""


def sources_family(session, base: pathlib.Path) -> dict:
    path = base / "master_sources.csv"
    path.write_text(CATALOG)
    assert load_master_sources(session, path) == 5
    assert load_master_sources(session, path) == 5               # a reload updates in place
    bad = base / "bad.csv"
    bad.write_text(CATALOG.replace("188.7363", "400.0"))
    with pytest.raises(LoaderError, match=r"bad\.csv: RA missing or outside \[0, 360\] \(row 1\)"):
        load_master_sources(session, bad)
    session.commit()
    rows = {s.source_id: s for s in session.scalars(sa.select(Source))}
    assert len(rows) == 5 and rows["NVSS J123456.7+420312"].ra_deg == 188.7363
    assert {sid for sid, s in rows.items() if s.confusion_flag} == {
        "NVSS J123501.2+415907", "NVSS J123501.9+415910"}
    assert {sid for sid, s in rows.items() if s.resolved_flag} == {"NVSS J123600.0+420000"}
    assert rows["NVSS J123456.7+420312"].alpha == pytest.approx(
        np.log(80.0 / 121.0) / np.log(3.0 / 1.4))
    cone = [s.source_id for s in cone_search(session, 188.74, 42.0, 0.1)]
    assert cone == ["NVSS J123501.2+415907", "NVSS J123501.9+415910", "NVSS J123456.7+420312"]
    assert [s.source_id for s in cone_search(session, 359.99, 0.0, 0.05)] == [
        "NVSS J000000.0+000000"]
    good = [s.source_id for s in reference_sources(session)]
    final = [s.source_id for s in reference_sources(session, final=True)]
    assert good == ["NVSS J000000.0+000000", "NVSS J123456.7+420312"]
    assert final == ["NVSS J123456.7+420312"]
    return {"cone": cone, "good": good, "final": final}


def frontend_family(session, base: pathlib.Path) -> dict:
    session.add_all([
        Mosaic(path=str(base / "hour12.fits"), name="2025-10-24_hourly_12-13UTC",
               created_at=minutes(60), start_mjd=60972.5, end_mjd=60972.54,
               integration_sec=3600.0, n_images=12, n_sources=40, noise_jy=0.0002),
        Mosaic(path=str(base / "hour13.fits"), name="2025-10-24_hourly_13-14UTC",
               created_at=minutes(120), start_mjd=60972.54, end_mjd=60972.58,
               integration_sec=1800.0, n_images=6, n_sources=35, noise_jy=0.0003)])
    session.commit()
    candidates = [tuple(row) for row in frontend.active_ese_candidates(session)]
    assert [(row[0], row[7], row[8], row[10]) for row in candidates] == [
        (SCINTILLATING, 6, minutes(50), "active")]
    series = frontend.flux_timeseries(session, SCINTILLATING)
    assert list(series["mjd"]) == [60972.5 + k for k in range(6)]
    np.testing.assert_allclose(series["flux_mjy"], np.array(SCINTILLATING_JY) * 1000)
    assert list(series["field_name"]) == ["J1234+42"] * 6
    mosaics = [tuple(row) for row in frontend.recent_mosaics(session, limit=5)]
    assert [(row[0], row[4], row[5], row[7]) for row in mosaics] == [
        ("2025-10-24_hourly_13-14UTC", 0.5, 6, pytest.approx(0.3)),
        ("2025-10-24_hourly_12-13UTC", 1.0, 12, pytest.approx(0.2))]
    return {"candidates": candidates, "series": [list(series[c]) for c in series.colnames],
            "mosaics": mosaics}


def lightcurve_family(session, base: pathlib.Path) -> dict:
    lightcurve = materialise_lightcurve(session, SCINTILLATING)
    session.commit()
    again = materialise_lightcurve(session, SCINTILLATING)        # idempotent
    assert again.id == lightcurve.id
    np.testing.assert_allclose(lightcurve.values, np.array(SCINTILLATING_JY) * 1000)
    np.testing.assert_allclose(lightcurve.errors, np.full(6, 2.0))
    assert (lightcurve.unit, lightcurve.target.designation, lightcurve.target.name) == (
        FLUX_UNIT, SCINTILLATING, 12350120415907)
    times = lightcurve.target.target_specific_times[0].barycentric_julian_dates
    assert times.shape == (6,) and abs(times[0] - 2400000.5 - 60972.5) < 0.01
    session.commit()
    return {"values": list(lightcurve.values), "times": list(times)}
