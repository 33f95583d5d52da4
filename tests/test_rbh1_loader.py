"""The RBH-1 loader (zones 0-1) on the generated miniature data set, SQLite and PostgreSQL.

The full default set (194 files) is generated once per test session and loaded
once per backend (class ``TestFullSet``); the seed's result tables are asserted
with the seed's own numbers. Bad-file cases use a 7-file set.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import shutil
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session

from lightcurvedb.cli import error_message
from lightcurvedb.core.extensions import postgis_footprints
from lightcurvedb.core.geometry import SkyPolygon, convex_hull
from lightcurvedb.loaders import LoaderError
from lightcurvedb.loaders.rbh1 import (
    RBH1LoadReport,
    canonical_grid_hash,
    distinct_grid_hashes,
    grids_identical,
    load_rbh1_directory,
    shared_grid_hash,
)
from lightcurvedb.loaders.rbh1 import store as store_module
from lightcurvedb.loaders.rbh1.geometry import RBH1FileError
from lightcurvedb.loaders.rbh1.introspect import classify_hdul
from lightcurvedb.loaders.rbh1.records import EXCLUSION_REASONS, read_rbh1_file
from lightcurvedb.missions._common import cadence_from_mjd
from lightcurvedb.missions.hst import HSTFLCFrame, HSTObservation
from lightcurvedb.missions.jwst import JWSTObservation, JWSTS3DFrame
from lightcurvedb.models import FITSFrame, Instrument
from lightcurvedb.rbh1 import (
    PipelineRun,
    RBH1Observation,
    SpectralGrid,
    WCSSolution,
    count_invalid_footprints,
)
from lightcurvedb.testing.fits import write_spoc_lightcurve
from lightcurvedb.testing.fits.rbh1 import (
    RBH1_DEC,
    RBH1_RA,
    nirspec_wavelengths,
    write_nirspec_s3d,
    write_rbh1_set,
    write_truncated_copy,
    write_with_nan_cd,
    write_with_zero_crval,
    write_without_sci,
)

#: The seed's "Zone 0: Observations" table.
SEED_OBSERVATIONS = [("HST_WFC3", "CAL", "flc", 72), ("HST_WFC3", "RESAMPLED", "drc", 70),
                     ("JWST_NIRSPEC", "CAL", "cal", 16), ("JWST_NIRSPEC", "CAL", "x1d", 18),
                     ("JWST_NIRSPEC", "RESAMPLED", "s3d", 18)]
#: The seed's "Zone 1: WCS Solutions" table and exclusions.
SEED_WCS = {"drc": 70, "flc": 72, "s3d": 18}
SEED_EXCLUDED = {"x1d": 18, "cal": 16}
SEED_MEAN_R, SEED_SPACING_NM = 2249, 0.636
SMALL = {"flc": 2, "drc": 2, "cal": 1, "x1d": 1, "s3d": 1}
SKYCELL = "hst_skycell"


@pytest.fixture(scope="session")
def rbh1_full_set(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The default generated set (the seed's 194 files), written once per test session."""
    directory = tmp_path_factory.mktemp("rbh1_default_set")
    written = write_rbh1_set(directory)
    assert {kind: len(paths) for kind, paths in written.items()} == {
        "flc": 72, "drc": 70, "cal": 16, "x1d": 18, "s3d": 18}
    return directory


@pytest.fixture(scope="class")
def loaded(engine: Engine, rbh1_full_set: pathlib.Path,
           tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[Session, RBH1LoadReport, pathlib.Path]]:
    """The full set loaded once per backend, in a transaction rolled back afterwards."""
    dictionary = tmp_path_factory.mktemp("dictionary") / "fits_data_dictionary.json"
    with engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            report = load_rbh1_directory(session, rbh1_full_set, progress=False,
                                         dictionary_path=dictionary)
            yield session, report, dictionary
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[pathlib.Path]]:
    return write_rbh1_set(tmp_path_factory.mktemp("rbh1_small"), counts=SMALL, seed=7)


def _by_type(session: Session, *columns) -> Counter:
    query = select(RBH1Observation.file_type, func.count()).group_by(RBH1Observation.file_type)
    for column in columns:
        query = query.join(column)
    return Counter(dict(session.execute(query).all()))


class TestFullSet:
    def test_every_file_loads(self, loaded):
        _, report, _ = loaded
        assert report.ok, report.render()
        assert (len(report.loaded), len(report.skipped), report.total) == (194, 0, 194)
        assert report.render().splitlines()[0] == \
            "RBH-1 files: 194 files: 194 loaded, 0 skipped, 0 failed"

    def test_observations_by_instrument_level_type(self, loaded):
        session = loaded[0]
        rows = session.execute(
            select(RBH1Observation.instrument, RBH1Observation.data_level,
                   RBH1Observation.file_type, func.count())
            .group_by(RBH1Observation.instrument, RBH1Observation.data_level,
                      RBH1Observation.file_type)
            .order_by(RBH1Observation.instrument, RBH1Observation.data_level,
                      RBH1Observation.file_type)).all()
        assert [(i.value, d.value, t, n) for i, d, t, n in rows] == SEED_OBSERVATIONS
        assert sum(n for *_, n in rows) == 194

    def test_catalog_rows_hang_off_mission_frames(self, loaded):
        session = loaded[0]
        for row in session.scalars(select(RBH1Observation)):
            frame = row.frame
            assert frame.file_type == row.file_type and frame.file_path == row.file_path
            assert frame.cadence == cadence_from_mjd(row.exposure_start_mjd)
            assert row.sha256 == _sha256(row.file_path) and row.file_size_bytes > 0
            assert row.date_obs is not None and row.date_obs.utcoffset() == dt.timedelta(0)
            assert row.target_name == "RBH-1"
        flc = session.scalars(select(HSTFLCFrame).order_by(HSTFLCFrame.id)).first()
        assert (flc.naxis, list(flc.naxis_values)) == (2, [128, 64])
        assert _path(flc.observation.instrument) == ["HST", "WFC3", "UVIS"]
        assert _path(flc.instrument) == ["HST", "WFC3", "UVIS"]
        cube = session.scalars(select(JWSTS3DFrame).order_by(JWSTS3DFrame.rootname)).first()
        assert cube.rootname.endswith("_nrs1") and list(cube.naxis_values) == [12, 12, 1447]
        assert _path(cube.observation.instrument) == ["JWST", "NIRSpec", "IFU"]
        assert _path(cube.instrument) == ["JWST", "NIRSpec", "IFU", "NRS1"]
        # 12 visits x 2 filters, plus the 2 skycell mosaics ("all" visits); 3 JWST observations
        assert session.scalar(select(func.count()).select_from(HSTObservation)) == 26
        jwst = session.scalars(select(JWSTObservation)).all()
        assert sorted(o.observation_number for o in jwst) == [1, 2, 3]
        assert {(o.grating, o.filter_name, o.exposure_type) for o in jwst} == {
            ("G140M", "F100LP", "NRS_IFU")}
        # three exposures each, every one read by both detectors: counted once
        assert all(o.exposure_time == pytest.approx(3 * 2918.0) for o in jwst)

    def test_nirspec_detector_pairs_are_distinct_frames(self, loaded):
        session = loaded[0]
        rows = session.execute(
            select(RBH1Observation.file_type, FITSFrame.cadence, Instrument.name,
                   RBH1Observation.file_name)
            .join(RBH1Observation.frame).join(FITSFrame.instrument)
            .where(RBH1Observation.file_type.in_(("cal", "x1d", "s3d")))).all()
        per_detector = Counter((kind, detector) for kind, _, detector, _ in rows)
        assert per_detector == {("cal", "NRS1"): 8, ("cal", "NRS2"): 8, ("x1d", "NRS1"): 9,
                                ("x1d", "NRS2"): 9, ("s3d", "NRS1"): 9, ("s3d", "NRS2"): 9}
        for kind in ("cal", "x1d", "s3d"):       # the two detectors share every exposure start
            starts = {d: sorted(c for k, c, det, _ in rows if k == kind and det == d)
                      for d in ("NRS1", "NRS2")}
            assert starts["NRS1"] == starts["NRS2"] and len(set(starts["NRS1"])) == \
                len(starts["NRS1"])
        assert all(f"_{detector.lower()}_" in name for _, _, detector, name in rows)
        # each flc shares its exposure start with the drc drizzled from it
        hst = dict(session.execute(select(RBH1Observation.file_name, FITSFrame.cadence)
                                   .join(RBH1Observation.frame)).all())
        shared = [name for name in hst if name.endswith("_flc.fits")
                  and name.replace("_flc", "_drc") in hst]
        assert len(shared) == 68
        assert all(hst[name] == hst[name.replace("_flc", "_drc")] for name in shared)

    def test_wcs_solutions_and_exclusions(self, loaded):
        session = loaded[0]
        assert _by_type(session, RBH1Observation.wcs_solution) == SEED_WCS
        assert session.scalar(select(func.count()).select_from(WCSSolution)) == 160
        excluded = session.execute(
            select(RBH1Observation.file_type, RBH1Observation.wcs_excluded_reason)
            .where(~RBH1Observation.wcs_solution.has())).all()
        assert Counter(kind for kind, _ in excluded) == SEED_EXCLUDED
        for kind, reason in excluded:
            assert reason.startswith(f"{kind}: ")
            # what the cal SCI headers hold: CRVAL1/2 = 0/0 and no CTYPE1/2
            assert reason == (EXCLUSION_REASONS["x1d"] if kind == "x1d" else
                              "cal: intermediate 2-D detector image before cube building: no "
                              "celestial WCS in SCI: CTYPE1/2 missing, CRVAL1/2 = 0.0/0.0")
        methods = session.execute(select(RBH1Observation.file_type,
                                         WCSSolution.footprint_method, WCSSolution.n_chips)
                                  .join(WCSSolution.observation).distinct()).all()
        assert sorted(methods) == [("drc", "single", 1), ("flc", "convex_hull", 2),
                                   ("s3d", "celestial_subwcs", 1)]

    def test_pixel_scales_by_file_type(self, loaded):
        scales: dict[str, list[float]] = {}
        for kind, name, scale in loaded[0].execute(
                select(RBH1Observation.file_type, RBH1Observation.file_name,
                       WCSSolution.pixel_scale_arcsec).join(WCSSolution.observation)):
            scales.setdefault("skycell" if name.startswith(SKYCELL) else kind, []).append(scale)
        assert {k: len(v) for k, v in scales.items()} == {"flc": 72, "drc": 68, "s3d": 18,
                                                          "skycell": 2}
        np.testing.assert_allclose(scales["flc"] + scales["drc"], 0.04, rtol=1e-9)
        np.testing.assert_allclose(scales["s3d"], 0.10, rtol=1e-9)
        assert sorted(scales["skycell"]) == pytest.approx([4.5, 5.5])   # coarse by design

    def test_footprints_are_valid_and_spans_separate(self, loaded):
        spans: dict[str, list[float]] = {}
        for solution in loaded[0].scalars(select(WCSSolution)):
            footprint = solution.footprint
            assert footprint.is_valid()
            ra_min, dec_min, ra_max, dec_max = footprint.bounds
            assert (solution.ra_min, solution.dec_min, solution.ra_max, solution.dec_max) == \
                pytest.approx((ra_min, dec_min, ra_max, dec_max))
            cos_dec = np.cos(np.radians((dec_min + dec_max) / 2))
            assert solution.ra_span_arcsec == pytest.approx((ra_max - ra_min) * cos_dec * 3600)
            assert solution.dec_span_arcsec == pytest.approx((dec_max - dec_min) * 3600)
            name = solution.observation.file_name
            kind = "skycell" if name.startswith(SKYCELL) else solution.observation.file_type
            spans.setdefault(kind, []).append(max(solution.ra_span_arcsec,
                                                  solution.dec_span_arcsec))
            if kind == "skycell":       # CRVAL 6000" away, but the mosaic covers RBH-1
                assert footprint.contains(RBH1_RA, RBH1_DEC)
            else:
                assert _distance_arcsec(footprint) < 40
        assert max(spans["s3d"]) < min(spans["flc"] + spans["drc"])
        assert max(spans["flc"] + spans["drc"]) < min(spans["skycell"])
        assert 700 < min(spans["skycell"]) and max(spans["skycell"]) < 900

    def test_flc_footprint_is_the_hull_of_both_chips(self, loaded):
        for solution in loaded[0].scalars(select(WCSSolution).join(WCSSolution.observation)
                                          .where(RBH1Observation.file_type == "flc")):
            with fits.open(solution.observation.file_path) as hdul:
                corners = [WCS(hdul["SCI", ver].header).calc_footprint() for ver in (1, 2)]
            hull = convex_hull(map(tuple, np.vstack(corners)))
            np.testing.assert_allclose(solution.footprint.vertices, hull.vertices, rtol=1e-12)
            for corner in np.vstack(corners):   # every chip corner is a hull vertex or inside
                assert any(np.allclose(corner, v) for v in hull.vertices) or \
                    solution.footprint.contains(*corner)
            gap = (corners[0].mean(axis=0) + corners[1].mean(axis=0)) / 2
            assert solution.footprint.contains(*gap)          # the chip gap is covered
            chips = sum(SkyPolygon(tuple(map(tuple, c))).area for c in corners)
            assert solution.footprint.area > chips
            assert (solution.crval1, solution.crval2) == pytest.approx(
                tuple(fits.getval(solution.observation.file_path, k, ("SCI", 1)) for k in
                      ("CRVAL1", "CRVAL2")))

    def test_pointings_cluster_and_skycells_are_outliers(self, loaded):
        rows = loaded[0].execute(select(RBH1Observation.file_name, WCSSolution.crval1,
                                        WCSSolution.crval2).join(WCSSolution.observation)).all()
        science = np.array([(ra, dec) for name, ra, dec in rows if not name.startswith(SKYCELL)])
        median = np.median(science, axis=0)
        offsets = (science - median) * [np.cos(np.radians(median[1])) * 3600, 3600]
        assert np.ptp(offsets, axis=0).max() < 40.0
        skycell = sorted(((ra - median[0]) * np.cos(np.radians(median[1])) * 3600
                          for name, ra, dec in rows if name.startswith(SKYCELL)))
        assert skycell == pytest.approx([-6000.0, 6000.0], abs=15.0)

    def test_spectral_grids(self, loaded):
        session = loaded[0]
        grids = session.scalars(select(SpectralGrid)).all()
        assert len(grids) == 18
        assert {g.n_channels for g in grids} == {1447}
        assert {g.extraction_mode for g in grids} == {"spectral_subwcs"}
        assert min(g.min_wavelength for g in grids) == pytest.approx(0.970, abs=5e-4)
        assert max(g.max_wavelength for g in grids) == pytest.approx(1.890, abs=5e-4)
        mean_r = np.mean([g.mean_resolution for g in grids])
        assert mean_r == pytest.approx(SEED_MEAN_R, rel=1e-3)
        assert np.mean([g.mean_spacing for g in grids]) * 1000 == \
            pytest.approx(SEED_SPACING_NM, abs=5e-4)
        lam = grids[0].wavelengths
        np.testing.assert_allclose(lam, nirspec_wavelengths(), rtol=1e-12)
        sampling = lam[1:] / np.diff(lam)       # the seed: ~1600 at 1.0 um, ~3000 at 1.9 um
        assert sampling[np.searchsorted(lam, 1.0) - 1] == pytest.approx(1600, rel=0.03)
        assert sampling[-1] == pytest.approx(3000, rel=0.03)
        assert {g.wcs_solution.observation.file_type for g in grids} == {"s3d"}

    def test_grids_are_bit_identical(self, loaded):
        session = loaded[0]
        assert grids_identical(session)
        ((digest, count),) = distinct_grid_hashes(session).items()
        assert count == 18 and shared_grid_hash(session) == digest
        for grid in session.scalars(select(SpectralGrid)):
            assert grid.grid_hash == digest == canonical_grid_hash(grid.wavelengths)
            assert grid.wavelengths.dtype == np.float64

    def test_pipeline_runs(self, loaded):
        session, report, _ = loaded
        runs = {r.stage_name: r for r in session.scalars(
            select(PipelineRun).where(PipelineRun.run_name == report.run_name))}
        assert set(runs) == {"observations", "wcs_solutions", "spectral_grids"}
        counts = {s: (r.status, r.rows_processed, r.rows_skipped, r.rows_failed)
                  for s, r in runs.items()}
        assert counts == {"observations": ("success", 194, 0, 0),
                          "wcs_solutions": ("success", 160, 34, 0),
                          "spectral_grids": ("success", 18, 0, 0)}
        for run in runs.values():
            assert run.started_at.utcoffset() == dt.timedelta(0)
            assert run.started_at <= run.completed_at
            assert run.error_message is None
        notes = runs["wcs_solutions"].notes
        assert "excluded: cal 16 (cal: intermediate" in notes and "x1d 18 (x1d:" in notes
        assert "1 distinct wavelength grid(s)" in runs["spectral_grids"].notes
        obs_run = runs["observations"].run_id
        assert set(session.scalars(select(RBH1Observation.run_id).distinct())) == {obs_run}

    def test_rerun_skips_everything(self, loaded, rbh1_full_set):
        session = loaded[0]
        before = _row_counts(session)
        nested = session.begin_nested()
        try:
            again = load_rbh1_directory(session, rbh1_full_set, progress=False)
            assert (len(again.loaded), len(again.skipped), len(again.failures)) == (0, 194, 0)
            assert _row_counts(session) == {**before, "pipeline_runs": before["pipeline_runs"] + 3}
            statuses = session.execute(
                select(PipelineRun.stage_name, PipelineRun.status, PipelineRun.rows_processed,
                       PipelineRun.rows_skipped)
                .where(PipelineRun.run_name == again.run_name)).all()
            assert sorted(statuses) == [("observations", "success", 0, 194),
                                        ("spectral_grids", "success", 0, 18),
                                        ("wcs_solutions", "success", 0, 194)]
        finally:
            nested.rollback()

    def test_data_dictionary(self, loaded):
        dictionary = json.loads(loaded[2].read_text())
        types = dictionary["file_types"]
        assert {k: v["n_files"] for k, v in types.items()} == {
            "cal": 16, "drc": 70, "flc": 72, "s3d": 18, "x1d": 18}
        layouts = {k: [(h["extname"], h["extver"]) for h in v["hdus"]] for k, v in types.items()}
        assert layouts["flc"] == [("PRIMARY", 1), ("SCI", 1), ("ERR", 1), ("DQ", 1), ("SCI", 2),
                                  ("ERR", 2), ("DQ", 2)]
        assert [e for e, _ in layouts["drc"]] == ["PRIMARY", "SCI", "WHT", "CTX"]
        assert [e for e, _ in layouts["cal"]] == ["PRIMARY", "SCI", "ERR", "DQ"]
        assert [e for e, _ in layouts["x1d"]] == ["PRIMARY", "EXTRACT1D"]
        assert [e for e, _ in layouts["s3d"]] == ["PRIMARY", "SCI", "ERR", "DQ", "WCS-TABLE"]
        sci = types["s3d"]["hdus"][1]
        assert (sci["shape"], sci["dtype"]) == ([1447, 12, 12], "float32")
        assert {k: sci["keywords"][k] for k in ("CTYPE3", "CUNIT3", "CRVAL3", "NAXIS3")} == \
            {"CTYPE3": "WAVE", "CUNIT3": "um", "CRVAL3": 0.97, "NAXIS3": 1447}
        assert types["flc"]["hdus"][0]["keywords"]["TELESCOP"] == "HST"
        assert types["x1d"]["hdus"][0]["keywords"]["EXP_TYPE"] == "NRS_IFU"
        columns = [c["name"] for c in types["x1d"]["hdus"][1]["columns"]]
        assert columns[:3] == ["WAVELENGTH", "FLUX", "FLUX_ERROR"]
        assert dictionary["n_files"] == 194 and dictionary["problems"] == []

    # The seed's SQL is PostgreSQL's (rbh1 schema, PostGIS for ST_IsValid, ::int).
    @pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
    def test_seed_validation_queries_verbatim(self, loaded):
        session, report, _ = loaded
        counts = session.execute(text(
            "SELECT 'observations' as table_name, COUNT(*) as rows FROM rbh1.observations\n"
            "UNION ALL\n"
            "SELECT 'wcs_solutions', COUNT(*) FROM rbh1.wcs_solutions\n"
            "UNION ALL\n"
            "SELECT 'spectral_grids', COUNT(*) FROM rbh1.spectral_grids;")).all()
        assert [tuple(r) for r in counts] == [("observations", 194), ("wcs_solutions", 160),
                                              ("spectral_grids", 18)]
        by_type = session.execute(text(
            "SELECT instrument, data_level, file_type, COUNT(*) as count\n"
            "FROM rbh1.observations\n"
            "GROUP BY instrument, data_level, file_type\n"
            "ORDER BY instrument, data_level, file_type;")).all()
        assert [tuple(r) for r in by_type] == SEED_OBSERVATIONS
        seed_is_valid = text("SELECT COUNT(*) as invalid_footprints\n"
                             "FROM rbh1.wcs_solutions\n"
                             "WHERE NOT ST_IsValid(footprint);")
        if postgis_footprints(session.get_bind().dialect):
            assert session.execute(seed_is_valid).scalar_one() == 0
        else:  # PostGIS-only SQL: one line naming the extension; the portable check instead
            with pytest.raises(ProgrammingError) as failed, session.begin_nested():
                session.execute(seed_is_valid)
            assert error_message(failed.value) == (
                "st_isvalid() is a PostGIS function and this database does not use PostGIS "
                "(see 'lcdb db current')")
        assert count_invalid_footprints(session) == 0
        summary = session.execute(text(
            "SELECT COUNT(*) as grids,\n"
            "       MIN(n_channels) as min_ch,\n"
            "       MAX(n_channels) as max_ch,\n"
            "       MIN(min_wavelength) as wl_min,\n"
            "       MAX(max_wavelength) as wl_max,\n"
            "       AVG(mean_resolution)::int as avg_R\n"
            "FROM rbh1.spectral_grids;")).one()
        assert tuple(summary[:3]) == (18, 1447, 1447)
        assert (round(summary.wl_min, 3), round(summary.wl_max, 3)) == (0.970, 1.890)
        assert abs(summary.avg_r - SEED_MEAN_R) <= 2
        runs = session.execute(text(
            "SELECT run_name, stage_name, status, started_at, completed_at, notes\n"
            "FROM rbh1.pipeline_runs\n"
            "ORDER BY started_at DESC;")).all()
        mine = [r for r in runs if r.run_name == report.run_name]
        assert sorted((r.stage_name, r.status) for r in mine) == [
            ("observations", "success"), ("spectral_grids", "success"),
            ("wcs_solutions", "success")]


def _sha256(path: pathlib.Path) -> str:
    import hashlib

    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _path(node: Instrument) -> list[str]:
    names = []
    while node is not None:
        names.append(node.name)
        node = node.parent
    return names[::-1]


def _distance_arcsec(footprint: SkyPolygon) -> float:
    ra, dec = np.mean(footprint.vertices, axis=0)
    return float(np.hypot((ra - RBH1_RA) * np.cos(np.radians(dec)), dec - RBH1_DEC) * 3600)


def _row_counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (RBH1Observation, WCSSolution, SpectralGrid, PipelineRun, FITSFrame)}


# -- bad files ------------------------------------------------------------------------------------

def _bad_truncated(small, out):
    return write_truncated_copy(small["flc"][0], out / "iexo90aaq_flc.fits", keep_fraction=0.5)


def _bad_no_sci(small, out):
    return write_without_sci(small["drc"][0], out / "iexo90abq_drc.fits")


def _bad_zero_crval(small, out):
    return write_with_zero_crval(small["s3d"][0],
                                 out / "jw03149009001_03101_00001_nrs1_s3d.fits")


def _bad_zero_crval_flc(small, out):
    return write_with_zero_crval(small["flc"][1], out / "iexo90acq_flc.fits")


def _bad_no_ctype(small, out):
    return _edited(small["drc"][1], out / "iexo90aeq_drc.fits", "SCI",
                   remove=("CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2"))


def _edited(source, dest, extname, remove=(), **cards):
    """Copy ``source`` with cards of every ``extname`` HDU removed or set; checksums redone."""
    with fits.open(source) as hdul:
        copy = fits.HDUList([hdu.copy() for hdu in hdul])
    for hdu in copy:
        if hdu.name == extname:
            for key in remove:
                hdu.header.remove(key)
            hdu.header.update(cards)
    copy.writeto(dest, checksum=True)
    return dest


def _bad_nan_cd(small, out):
    return write_with_nan_cd(small["flc"][1], out / "iexo90adq_flc.fits")


def _bad_nan_pc(small, out):
    return write_with_nan_cd(small["s3d"][0], out / "jw03149009001_03101_00002_nrs1_s3d.fits")


BAD_FILES = {
    "truncated": (_bad_truncated, "observations", "truncated or corrupt FITS file"),
    "missing_sci": (_bad_no_sci, "observations", "no 'SCI' HDU (found: PRIMARY, WHT, CTX)"),
    "zero_crval_s3d": (_bad_zero_crval, "wcs_solutions",
                       "no celestial WCS in SCI,1: CTYPE1/2 = 'RA---TAN'/'DEC--TAN', CRVAL1/2 = "
                       "0.0/0.0: s3d files need a celestial (RA/Dec) WCS"),
    "zero_crval_flc": (_bad_zero_crval_flc, "wcs_solutions",
                       "no celestial WCS in SCI,1: CTYPE1/2 = 'RA---TAN'/'DEC--TAN', CRVAL1/2 = "
                       "0.0/0.0: flc files need a celestial (RA/Dec) WCS"),
    "no_celestial_wcs": (_bad_no_ctype, "wcs_solutions",
                         "no celestial WCS in SCI,1: CTYPE1/2 and CRVAL1/2 missing: drc files "
                         "need a celestial (RA/Dec) WCS"),
    "nan_cd": (_bad_nan_cd, "wcs_solutions", "CD1_1 = NaN in SCI,1 is not a finite number"),
    "nan_pc": (_bad_nan_pc, "wcs_solutions", "PC1_1 = NaN in SCI,1 is not a finite number"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_fails_alone_and_leaves_nothing(session, small_set, tmp_path, kind):
    make, stage, reason = BAD_FILES[kind]
    bad = make(small_set, tmp_path)
    good_dir = small_set["flc"][0].parent
    report = load_rbh1_directory(session, [good_dir, bad], progress=False)
    assert report.failed == [bad]
    assert reason in report.failures[0][1]
    assert len(report.loaded) == sum(SMALL.values())
    assert session.scalar(select(func.count()).select_from(RBH1Observation)
                          .where(RBH1Observation.file_name == bad.name)) == 0
    assert session.scalar(select(func.count()).select_from(FITSFrame)
                          .where(FITSFrame.file_path == bad)) == 0
    runs = {r.stage_name: r for r in session.scalars(
        select(PipelineRun).where(PipelineRun.run_name == report.run_name))}
    assert (runs[stage].status, runs[stage].rows_failed) == ("failed", 1)
    assert f"{bad}: " in runs[stage].error_message
    others = {s: (r.status, r.rows_failed) for s, r in runs.items() if s != stage}
    assert set(others.values()) == {("success", 0)}


def test_failure_after_rows_were_flushed_rolls_the_file_back(session, small_set, monkeypatch):
    victim = small_set["s3d"][0]
    real = store_module._total_exposure_time

    def failing(db, record, observation):
        if record.path == victim:
            raise RBH1FileError(record.path, "injected failure after the flush")
        return real(db, record, observation)

    monkeypatch.setattr(store_module, "_total_exposure_time", failing)
    report = load_rbh1_directory(session, victim.parent, progress=False)
    assert report.failures == [(victim, "injected failure after the flush")]
    assert len(report.loaded) == sum(SMALL.values()) - 1
    assert session.scalar(select(func.count()).select_from(RBH1Observation)
                          .where(RBH1Observation.file_name == victim.name)) == 0
    assert session.scalar(select(func.count()).select_from(JWSTS3DFrame)) == 0
    assert session.scalar(select(func.count()).select_from(SpectralGrid)) == 0
    assert session.scalar(select(func.count()).select_from(WCSSolution)) == 4  # 2 flc + 2 drc


def test_same_name_different_content_is_refused(session, small_set, tmp_path):
    cube = small_set["s3d"][0]
    assert load_rbh1_directory(session, cube, progress=False).loaded == [cube]
    other = write_nirspec_s3d(tmp_path, seed=99)        # same exposure, so same file name
    assert other.name == cube.name
    report = load_rbh1_directory(session, other, progress=False)
    assert report.failed == [other]
    assert report.failures[0][1].startswith("already loaded with different content")
    stored = session.scalars(select(RBH1Observation)).one()
    assert stored.file_path == cube and stored.sha256 == _sha256(cube)


def test_strict_stops_at_the_first_failure_and_closes_the_stages(session, small_set, tmp_path):
    bad = _bad_no_sci(small_set, tmp_path)
    with pytest.raises(LoaderError, match="no 'SCI' HDU"):
        load_rbh1_directory(session, [bad, small_set["flc"][0]], progress=False, strict=True)
    runs = session.scalars(select(PipelineRun)).all()
    assert {r.status for r in runs} == {"failed"} and len(runs) == 3
    assert all(r.error_message.startswith("run stopped: ") for r in runs)
    assert session.scalar(select(func.count()).select_from(RBH1Observation)) == 0


@pytest.mark.parametrize(("kind", "cards", "reason"), [
    ("cal", {"EXP_TYPE": "NRS_FIXEDSLIT"},
     "not an RBH-1 product: EXP_TYPE = 'NRS_FIXEDSLIT' (fixed-slit spectroscopy); RBH-1 takes "
     "NIRSpec IFU files (EXP_TYPE = 'NRS_IFU')"),
    ("x1d", {"EXP_TYPE": "NRS_MSASPEC"},
     "not an RBH-1 product: EXP_TYPE = 'NRS_MSASPEC' (multi-object spectroscopy with the "
     "micro-shutter assembly)"),
    ("s3d", {"EXP_TYPE": "NRS_SPECTRA"}, "EXP_TYPE = 'NRS_SPECTRA' (not a NIRSpec exposure "
                                         "type)"),
    ("flc", {"DETECTOR": "IR"}, "not an RBH-1 product: DETECTOR = 'IR' (RBH-1 takes WFC3/UVIS "
                                "flc and drc files)"),
    ("s3d", {"DETECTOR": "NRS3"}, "DETECTOR = 'NRS3' is not a NIRSpec detector (NRS1, NRS2)"),
])
def test_other_modes_and_detectors_are_refused_not_misfiled(session, small_set, tmp_path, kind,
                                                            cards, reason):
    bad = _edited(small_set[kind][0], tmp_path / small_set[kind][0].name, "PRIMARY", **cards)
    report = load_rbh1_directory(session, bad, progress=False)
    assert report.failed == [bad] and reason in report.failures[0][1]
    assert session.scalar(select(func.count()).select_from(FITSFrame)) == 0
    assert session.scalar(select(func.count()).select_from(Instrument)) == 0


def test_the_same_detector_and_exposure_twice_is_refused(session, small_set, tmp_path):
    cube = small_set["s3d"][0]
    copy = shutil.copy(cube, tmp_path / "renamed_s3d.fits")
    report = load_rbh1_directory(session, [cube, copy], progress=False)
    assert report.loaded == [cube] and report.failed == [copy]
    assert report.failures[0][1].startswith(
        "another s3d file of detector NRS1 starts at the same time (EXPSTART = 60162.3")
    # and the database refuses it too, without the loader's look-up
    frame = session.scalars(select(JWSTS3DFrame)).one()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(JWSTS3DFrame(
            observation=frame.observation, instrument=frame.instrument, cadence=frame.cadence,
            file_path=copy, rootname="renamed", exposure_start_mjd=frame.exposure_start_mjd,
            exposure_time=frame.exposure_time, bitpix=-32, naxis=3,
            naxis_values=np.array([12, 12, 1447], dtype=np.int32)))
        session.flush()
    nrs2 = write_nirspec_s3d(tmp_path, detector="nrs2")     # its partner loads
    assert load_rbh1_directory(session, nrs2, progress=False).loaded == [nrs2]


def test_files_that_are_no_rbh1_product_are_reported(session, tmp_path):
    (tmp_path / "data").mkdir()
    spoc = write_spoc_lightcurve(tmp_path, tic_id=1, sector=1, camera=1, ccd=1, n_cadences=20)
    renamed = shutil.copy(spoc, tmp_path / "data" / "renamed.fits")
    report = load_rbh1_directory(session, tmp_path / "data", progress=False)
    assert report.failed == [renamed]
    assert "not an RBH-1 product: TELESCOP = 'TESS'" in report.failures[0][1]


# -- classification and spectral extraction -------------------------------------------------------

def test_files_are_classified_by_headers_not_names(session, small_set, tmp_path):
    for kind, paths in small_set.items():
        with fits.open(paths[0]) as hdul:
            found = classify_hdul("whatever.fits", hdul)
        assert (found.file_type, found.name_mismatch) == (kind, None)
    misnamed = shutil.copy(small_set["s3d"][0], tmp_path / "iexo91aaq_flc.fits")
    report = load_rbh1_directory(session, tmp_path, progress=False)
    assert report.loaded == [misnamed]
    ((path, note),) = report.notes
    assert path == misnamed
    assert note == ("named as flc but the headers say s3d (JWST NIRSPEC, 3-D SCI): "
                    "classified by headers")
    assert "notes:" in report.render() and note in report.render()
    row = session.scalars(select(RBH1Observation)).one()
    assert (row.file_type, row.instrument.value, row.data_level.value) == (
        "s3d", "JWST_NIRSPEC", "RESAMPLED")
    assert isinstance(row.frame, JWSTS3DFrame) and row.wcs_solution.spectral_grid is not None
    notes = session.scalar(select(PipelineRun.notes).where(
        PipelineRun.stage_name == "observations"))
    assert "iexo91aaq_flc.fits: named as flc but the headers say s3d" in notes


def test_wavetab_cubes_fall_back_to_the_wcs_table(tmp_path):
    linear = read_rbh1_file(write_nirspec_s3d(tmp_path / "a_s3d.fits"))
    table = read_rbh1_file(write_nirspec_s3d(tmp_path / "b_s3d.fits",
                                             spectral_axis="wavetab"))
    assert (linear.grid.extraction_mode, table.grid.extraction_mode) == (
        "spectral_subwcs", "wavetab")
    np.testing.assert_allclose(table.grid.wavelengths, linear.grid.wavelengths, rtol=1e-12)
    assert table.grid.n_channels == 1447
    assert table.wcs.pixel_scale_arcsec == pytest.approx(0.10)
    np.testing.assert_allclose(table.wcs.footprint.vertices, linear.wcs.footprint.vertices)


def test_cal_and_x1d_are_read_without_a_wcs(small_set):
    cal, x1d = (read_rbh1_file(small_set[k][0]) for k in ("cal", "x1d"))
    assert (cal.wcs, x1d.wcs, cal.grid, x1d.grid) == (None, None, None, None)
    assert cal.values["program_id"] == x1d.values["program_id"] == 3149
    assert x1d.frame["naxis"] == 2 and cal.frame["naxis_values"] == [64, 64]


def test_generation_is_deterministic(tmp_path):
    first = write_rbh1_set(tmp_path / "a", counts=SMALL, seed=3)
    again = write_rbh1_set(tmp_path / "b", counts=SMALL, seed=3)
    other = write_rbh1_set(tmp_path / "c", counts=SMALL, seed=4)
    pairs = [(a, b, c) for kind in first
             for a, b, c in zip(first[kind], again[kind], other[kind], strict=True)]
    assert all(a.name == b.name == c.name for a, b, c in pairs)
    assert all(a.read_bytes() == b.read_bytes() for a, b, _ in pairs)
    assert all(a.read_bytes() != c.read_bytes() for a, _, c in pairs)


def test_no_grids_means_not_identical(session):
    assert not grids_identical(session) and shared_grid_hash(session) is None
