"""The TESS SPOC light-curve loader, on files generated in the real SPOC layout."""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcurvedb import connect, migrations
from lightcurvedb.loaders import LoaderError, LoadReport, ProgressBar
from lightcurvedb.loaders.progress import MIN_ITEMS
from lightcurvedb.loaders.report import NoFilesFound
from lightcurvedb.loaders.tess import (
    find_spoc_files,
    load_lightcurves,
    load_paths,
    read_spoc_lightcurve,
)
from lightcurvedb.missions.tess import TESS_QUALITY_BITS, TESSObservation, TESSQualityFlagArray
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    Instrument,
    Mission,
    MissionCatalog,
    Observation,
    PhotometricSource,
    ProcessingMethod,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.testing.fits import (
    spoc_filename,
    write_spoc_lightcurve,
    write_truncated_copy,
    write_with_ticid_mismatch,
    write_without_column,
    write_without_hdu,
)

A, B, C = 261136679, 25155310, 307210830
#: (tic, sector, camera, ccd, cadence seconds, cadences) of the good files.
GOOD = [(A, 1, 1, 1, 120, 400), (B, 1, 1, 1, 120, 400), (A, 1, 1, 1, 20, 600),
        (A, 2, 2, 3, 120, 300), (C, 2, 2, 3, 120, 300)]
TABLES = (Mission, MissionCatalog, Target, Instrument, Observation, TESSObservation,
          TargetSpecificTime, PhotometricSource, ProcessingMethod, DataSet, DataSetHierarchy,
          QualityFlagArray)
#: Rows the five good files add to an empty database: 3 targets, 3 observations
#: (sector 1 at 120 s and 20 s on camera 1 CCD 1, sector 2 at 120 s on camera 2
#: CCD 3), per file one time array, two light curves, one edge, one flag array.
EXPECTED = {"mission": 1, "mission_catalog": 1, "target": 3, "instrument": 21,
            "observation": 3, "tess_observation": 3, "target_specific_time": 5,
            "photometric_source": 1, "processing_method": 1, "dataset": 10,
            "dataset_hierarchy": 5, "quality_flag_array": 5}
ONE_FILE = {**{name: 1 for name in EXPECTED}, "instrument": 21, "dataset": 2}


@pytest.fixture(scope="module")
def good_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    directory = tmp_path_factory.mktemp("spoc")
    for tic, sector, camera, ccd, cadence, n in GOOD:
        sub = directory / f"s{sector:04d}"
        sub.mkdir(exist_ok=True)
        write_spoc_lightcurve(sub, tic_id=tic, sector=sector, camera=camera, ccd=ccd,
                              cadence_seconds=cadence, n_cadences=n)
    return directory


@pytest.fixture(scope="module")
def good_files(good_dir: pathlib.Path) -> list[pathlib.Path]:
    return [good_dir / f"s{sector:04d}" / spoc_filename(tic, sector, cadence)
            for tic, sector, _, _, cadence, _ in GOOD]


def counts(session: Session) -> dict[str, int]:
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in TABLES}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before}


def columns(path: pathlib.Path) -> dict[str, np.ndarray]:
    with fits.open(path) as hdul:
        return {name: np.array(hdul["LIGHTCURVE"].data[name]) for name in
                ("TIME", "CADENCENO", "SAP_FLUX", "SAP_FLUX_ERR", "PDCSAP_FLUX",
                 "PDCSAP_FLUX_ERR", "QUALITY")}


def rows_of(session: Session, path: pathlib.Path):
    """(target, observation, times, SAP, PDCSAP, flags) of a loaded file."""
    lc = read_spoc_lightcurve(path)
    target = session.scalars(select(Target).where(Target.name == lc.tic_id)).one()
    observation = session.scalars(select(TESSObservation).where(
        TESSObservation.sector == lc.sector,
        TESSObservation.cadence_seconds == lc.cadence_seconds)).one()
    keys = {"target_id": target.id, "observation_id": observation.id}
    times = session.scalars(select(TargetSpecificTime).filter_by(**keys)).one()
    sap, pdcsap = session.scalars(select(DataSet).filter_by(**keys).order_by(
        DataSet.processing_method_id.is_not(None))).all()
    flags = session.scalars(select(QualityFlagArray).filter_by(**keys)).one()
    return target, observation, times, sap, pdcsap, flags


def test_generated_files_have_the_spoc_layout_and_nans(good_files):
    with fits.open(good_files[0]) as hdul:
        assert [hdu.name for hdu in hdul] == ["PRIMARY", "LIGHTCURVE", "APERTURE"]
        primary, table = hdul[0].header, hdul["LIGHTCURVE"]
        assert (primary["TELESCOP"], primary["TICID"], primary["OBJECT"]) == \
            ("TESS", A, f"TIC {A}")
        assert table.header["BJDREFI"] == 2457000 and table.header["TIMESYS"] == "TDB"
        assert table.columns["TIME"].unit == "BJD - 2457000, days"
        assert table.columns["SAP_FLUX"].format == "E"
        assert hdul["APERTURE"].data.shape == (11, 11)
        data = table.data
        assert np.isnan(data["TIME"]).sum() == 40 and np.isnan(data["SAP_FLUX"]).sum() == 40
        hard = (data["QUALITY"] & TESS_QUALITY_BITS.hard_value) != 0
        assert np.isnan(data["PDCSAP_FLUX"][hard]).all()
    assert good_files[2].name.endswith("-a_fast-lc.fits")
    assert good_files[0].name == "tess2018206045859-s0001-0000000261136679-0120-s_lc.fits"


def test_find_spoc_files(good_dir, good_files, tmp_path):
    assert sorted(find_spoc_files(good_dir)) == sorted(good_files)
    (tmp_path / "notes.txt").write_text("not a light curve")
    assert find_spoc_files([good_dir / "s0002", good_files[1], good_files[1]]) == [
        *sorted(good_files[3:]), good_files[1]]
    with pytest.raises(NoFilesFound, match="under " + str(tmp_path)):   # a directory of none
        find_spoc_files([tmp_path, good_files[1]])


def test_loads_several_targets_sectors_and_cadences(session, good_dir, good_files):
    before = counts(session)
    report = load_lightcurves(session, [good_dir], progress=False)
    assert sorted(report.loaded) == sorted(good_files)
    assert (report.skipped, report.failures, report.ok) == ([], [], True)
    assert delta(before, counts(session)) == EXPECTED
    observations = {(o.sector, o.camera, o.ccd, o.cadence_seconds): o
                    for o in session.scalars(select(TESSObservation))}
    assert set(observations) == {(1, 1, 1, 120), (1, 1, 1, 20), (2, 2, 3, 120)}
    np.testing.assert_array_equal(observations[1, 1, 1, 120].cadence_reference,
                                  np.arange(70445, 70845))
    assert sorted(t.name for t in observations[2, 2, 3, 120].targets) == sorted([A, C])


def test_values_equal_the_fits_columns(session, good_files):
    load_lightcurves(session, good_files, progress=False)
    session.expire_all()
    for path in good_files:
        fits_columns = columns(path)
        _, observation, times, sap, pdcsap, flags = rows_of(session, path)
        np.testing.assert_array_equal(observation.cadence_reference, fits_columns["CADENCENO"])
        np.testing.assert_array_equal(times.barycentric_julian_dates,
                                      fits_columns["TIME"] + 2457000.0)
        assert np.isnan(times.barycentric_julian_dates).sum() == len(fits_columns["TIME"]) // 10
        np.testing.assert_array_equal(sap.values, fits_columns["SAP_FLUX"])
        np.testing.assert_array_equal(sap.errors, fits_columns["SAP_FLUX_ERR"])
        np.testing.assert_array_equal(pdcsap.values, fits_columns["PDCSAP_FLUX"])
        np.testing.assert_array_equal(pdcsap.errors, fits_columns["PDCSAP_FLUX_ERR"])
        assert np.isnan(pdcsap.values).sum() > np.isnan(sap.values).sum() > 0
        np.testing.assert_array_equal(flags.quality_flags, fits_columns["QUALITY"])
        assert type(flags) is TESSQualityFlagArray
        assert (sap.unit, pdcsap.unit) == ("electron / s", "electron / s")
        assert sap.processing_method is None and pdcsap.processing_method.name == "PDC"
        assert sap.photometry_source.name == pdcsap.photometry_source.name == "SPOC aperture"
        assert pdcsap.source_datasets == [sap] and sap.derived_datasets == [pdcsap]


def test_mission_time_converts_loaded_times(session, good_files):
    load_lightcurves(session, good_files[:1], progress=False)
    mission = session.scalars(select(Mission).where(Mission.name == "TESS")).one()
    btjd = columns(good_files[0])["TIME"]
    finite = np.isfinite(btjd)
    _, _, times, *_ = rows_of(session, good_files[0])
    converted = mission.to_time(btjd[finite])
    assert converted.scale == "tdb"
    np.testing.assert_allclose(converted.jd, times.barycentric_julian_dates[finite],
                               rtol=0, atol=1e-9)


def test_pdcsap_timeseries_masks_tess_hard_bits(session, tmp_path):
    path = write_spoc_lightcurve(tmp_path, tic_id=A, sector=3, camera=1, ccd=2,
                                 n_cadences=500, nan_time_cadences=())
    load_lightcurves(session, [path], progress=False)
    *_, pdcsap, flags = rows_of(session, path)
    quality = columns(path)["QUALITY"]
    series = pdcsap.to_timeseries()
    assert len(series) == 500 and series["flux"].unit == u.electron / u.s
    np.testing.assert_array_equal(series["quality"], quality)
    np.testing.assert_array_equal(series["quality_mask"],
                                  (quality & TESS_QUALITY_BITS.hard_value) != 0)
    desaturated = np.flatnonzero(quality & 32)
    assert desaturated.size == 6
    assert all("desaturation" in flags.decode()[i] for i in desaturated)
    np.testing.assert_array_equal(flags.mask("desaturation"), (quality & 32) != 0)
    assert flags.decode()[0] == ("coarse_point",)


def test_timeseries_with_nan_times(session, good_files):
    load_lightcurves(session, good_files[:1], progress=False)
    *_, pdcsap, _ = rows_of(session, good_files[0])
    series = pdcsap.to_timeseries()
    assert len(series) == 400
    nan_times = np.isnan(fits.getdata(good_files[0], "LIGHTCURVE")["TIME"])
    assert nan_times.any()  # SPOC leaves TIME undefined in the gap
    np.testing.assert_array_equal(np.ma.getmaskarray(series.time.jd), nan_times)


def test_loading_twice_skips_and_changes_nothing(session, good_dir, good_files):
    load_lightcurves(session, [good_dir], progress=False)
    after_first = counts(session)
    again = load_lightcurves(session, [good_dir], progress=False)
    assert (again.loaded, again.failures) == ([], [])
    assert sorted(again.skipped) == sorted(good_files)
    assert counts(session) == after_first
    assert again.render().startswith("TESS SPOC light curves: 5 files: 0 loaded, 5 skipped, "
                                     "0 failed")


def test_same_file_with_different_data_is_refused(session, good_files, tmp_path):
    load_lightcurves(session, good_files[:1], progress=False)
    before = counts(session)
    # the same name with other content: refused by its hash, before its arrays are read
    changed = write_spoc_lightcurve(tmp_path, tic_id=A, sector=1, camera=1, ccd=1,
                                    n_cadences=400, seed=99)
    assert changed.name == good_files[0].name
    # another name for the same target and observation: compared array by array
    renamed = changed.rename(tmp_path / "renamed_lc.fits")
    changed = write_spoc_lightcurve(tmp_path, tic_id=A, sector=1, camera=1, ccd=1,
                                    n_cadences=400, seed=99)
    report = load_lightcurves(session, [changed, renamed], progress=False)
    assert report.failed == [changed, renamed]
    (_, by_hash), (_, by_rows) = report.failures
    assert by_hash.startswith("changed since it was loaded (sha256 ")
    assert by_hash.endswith("now); the loaded rows are kept, not overwritten")
    assert by_rows.startswith("already loaded with different data (times, SAP flux, "
                              "PDCSAP flux")
    assert counts(session) == before
    *_, sap, _, _ = rows_of(session, good_files[0])
    np.testing.assert_array_equal(sap.values, columns(good_files[0])["SAP_FLUX"])


def test_other_cadence_numbers_in_a_known_observation_are_refused(session, good_files,
                                                                   tmp_path):
    load_lightcurves(session, good_files[:1], progress=False)
    before = counts(session)
    shifted = write_spoc_lightcurve(tmp_path, tic_id=C, sector=1, camera=1, ccd=1,
                                    n_cadences=400, first_cadenceno=1)
    report = load_lightcurves(session, [shifted], progress=False)
    assert report.failed == [shifted]
    assert report.failures[0][1].startswith("cadence numbers differ from observation ")
    assert "400 cadences (70445-70844), the file 400 (1-400)" in report.failures[0][1]
    # The reader accepts the file; writing fails after its target was created,
    # and the savepoint takes that target back too.
    assert counts(session) == before


def _rewrite_header(source: pathlib.Path, dest: pathlib.Path, ext: int, **keywords) -> None:
    with fits.open(source) as hdul:
        hdul[ext].header.update(keywords)
        hdul.writeto(dest, checksum=True)


def _rewrite_tic(source: pathlib.Path, dest: pathlib.Path, tic: int) -> None:
    """Give the primary and LIGHTCURVE headers another (agreeing) TICID."""
    with fits.open(source) as hdul:
        for ext in (0, 1):
            hdul[ext].header["TICID"] = tic
        hdul.writeto(dest, checksum=True)


def _flip_a_data_byte(source: pathlib.Path, dest: pathlib.Path) -> None:
    """Flip a byte of a flux value in the LIGHTCURVE table's data blocks."""
    with fits.open(source) as hdul:
        start = hdul["LIGHTCURVE"].fileinfo()["datLoc"]
    data = bytearray(source.read_bytes())
    data[start + 100] ^= 0xFF
    dest.write_bytes(bytes(data))


BAD_FILES = {
    "truncated": (write_truncated_copy, "truncated or corrupt FITS file (File may have been "
                                        "truncated: actual file length"),
    "truncated_header": (lambda s, d: write_truncated_copy(s, d, keep_fraction=0.01),
                         "truncated or corrupt FITS file"),
    "missing_lightcurve": (write_without_hdu, "no 'LIGHTCURVE' HDU (found: PRIMARY, APERTURE)"),
    "missing_aperture": (lambda s, d: write_without_hdu(s, d, "APERTURE"),
                         "no 'APERTURE' HDU (found: PRIMARY, LIGHTCURVE)"),
    "missing_column": (write_without_column, "the LIGHTCURVE table lacks column(s) PDCSAP_FLUX"),
    "missing_quality": (lambda s, d: write_without_column(s, d, "QUALITY"),
                        "the LIGHTCURVE table lacks column(s) QUALITY"),
    "tic_mismatch": (write_with_ticid_mismatch, f"TIC id mismatch: TICID {A} in the primary "
                                                f"header but {A + 1} in the LIGHTCURVE header"),
    # SPOC files carry CHECKSUM alone (no DATASUM), and so do the generated ones
    "bad_checksum": (_flip_a_data_byte, "checksum mismatch: HDU 1 ('LIGHTCURVE'): CHECKSUM = "),
    "not_a_cadence": (lambda s, d: _rewrite_header(s, d, 1, TIMEDEL=300 / 86400),
                      "TIMEDEL = 0.00347"),
    "bad_ccd": (lambda s, d: _rewrite_header(s, d, 0, CCD=5), "invalid SECTOR/CAMERA/CCD 1/1/5"),
    "huge_sector": (lambda s, d: _rewrite_header(s, d, 0, SECTOR=40000),
                    "SECTOR = 40000 in the primary header cannot be stored in "
                    "tess_observation.sector: beyond the range of smallint (-32768 to 32767)"),
    # a TIC number beyond 64 bits (both headers agree): SQLite and PostgreSQL cannot hold it
    "huge_tic": (lambda s, d: _rewrite_tic(s, d, 2**63 + 5),
                 "TICID = 9223372036854775813 in the primary header cannot be stored in "
                 "target.name: beyond the range of bigint"),
    "no_sector": (lambda s, d: _rewrite_header(s, d, 0, SECTOR="one"),
                  "SECTOR = 'one' in the primary header is not int"),
    "missing": (lambda s, d: d, "no such file"),
    "not_fits": (lambda s, d: d.write_text("SIMPLE = T\n"), "truncated or corrupt FITS file"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_is_reported_and_writes_nothing(session, good_files, tmp_path, kind):
    make, reason = BAD_FILES[kind]
    bad = tmp_path / f"{kind}_lc.fits"
    make(good_files[0], bad)
    with pytest.raises(LoaderError) as raised:
        read_spoc_lightcurve(bad)
    assert raised.value.path == bad and str(raised.value).startswith(f"{bad}: {reason}")
    before = counts(session)
    report = load_lightcurves(session, [bad, good_files[1]], progress=False)
    assert report.loaded == [good_files[1]] and report.failed == [bad]
    assert report.failures[0][1].startswith(reason)
    assert delta(before, counts(session)) == ONE_FILE  # the good file's rows only
    assert f"  {bad}: {reason}" in report.render()
    assert not report.ok


def test_strict_raises_at_the_first_failure(session, good_files, tmp_path):
    bad = write_without_hdu(good_files[0], tmp_path / "bad_lc.fits")
    with pytest.raises(LoaderError, match="no 'LIGHTCURVE' HDU") as raised:
        load_lightcurves(session, [good_files[0], bad, good_files[1]], progress=False,
                         strict=True)
    assert raised.value.path == bad and isinstance(raised.value, ValueError)
    assert session.scalar(select(func.count()).select_from(Target).where(
        Target.name == B)) == 0  # stopped before the third file


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_load_paths_commits(empty_database_url, good_dir):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        report = load_paths(engine, [good_dir], progress=False)
        assert len(report.loaded) == 5
        with Session(engine) as fresh:
            assert counts(fresh) == EXPECTED
        assert load_paths(engine, good_dir, progress=False).render().startswith(
            "TESS SPOC light curves: 5 files: 0 loaded, 5 skipped, 0 failed")
    finally:
        engine.dispose()


def test_report_render_and_ok():
    report = LoadReport(kind="things")
    assert report.ok and report.render() == "things: 0 files: 0 loaded, 0 skipped, 0 failed"
    report.add_loaded("a.fits")
    report.add_skipped("b.fits")
    report.add_failure("c.fits", "broken")
    assert report.failed == [pathlib.Path("c.fits")] and not report.ok and report.total == 3
    assert report.render() == ("things: 3 files: 1 loaded, 1 skipped, 1 failed\n"
                               "failed:\n  c.fits: broken")
    assert str(LoaderError("c.fits", "broken")) == "c.fits: broken"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_count_rate_and_eta():
    stream, clock = io.StringIO(), FakeClock()
    with ProgressBar(10, label="tess", stream=stream, clock=clock) as bar:
        clock.now += 10.0
        bar.advance(5)
        assert stream.getvalue() == "\rtess [###############...............] 5/10 0.5 files/s " \
                                    "ETA 0:00:10"
        clock.now += 0.01
        bar.advance()            # too soon after the last redraw: not drawn
        assert stream.getvalue().count("\r") == 1
        clock.now += 10.0
        bar.advance(4)
    assert stream.getvalue().endswith("\rtess [##############################] 10/10 0.5 "
                                      "files/s in 0:00:20\n")


@pytest.mark.parametrize(("stream", "total", "enabled", "shown"), [
    (io.StringIO(), MIN_ITEMS, True, False),       # few files, not a terminal
    (io.StringIO(), MIN_ITEMS + 1, True, True),    # a long run
    (TTY(), 1, True, True),                        # a terminal
    (TTY(), 100, False, False),                    # switched off
])
def test_progress_bar_shows_only_when_worth_it(stream, total, enabled, shown):
    with ProgressBar(total, stream=stream, enabled=enabled) as bar:
        for _ in range(total):
            bar.advance()
    assert bar.active is False
    assert (stream.getvalue() != "") is shown
    if shown:
        assert f"{total}/{total}" in stream.getvalue() and stream.getvalue().endswith("\n")
