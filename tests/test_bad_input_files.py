"""Bad input files: each refused file is one named line, and the run goes on (issue 14).

The loaders on both backends (the ``session`` fixture is parametrised over
them), the readers on damaged copies of real-layout files
(:mod:`lightcurvedb.testing.fits.damage`), and ``lcdb`` as a subprocess.
"""

from __future__ import annotations

import math
import pathlib
import shutil

import numpy as np
import pytest
from astropy.io.fits import open as fits_open
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lightcurvedb.core.column_rules import ColumnValueError
from lightcurvedb.loaders.report import run_loader
from lightcurvedb.loaders.tess import find_spoc_files, load_lightcurves, read_spoc_lightcurve
from lightcurvedb.models import MissionCatalog, Target
from lightcurvedb.testing import factories
from lightcurvedb.testing.fits import write_spoc_lightcurve
from lightcurvedb.testing.fits.damage import write_with_empty_table, write_with_raw_card

# --- loaders: a bad file costs only itself, on both backends -----------------------------


def _spoc(directory: pathlib.Path, name: str, **kwargs) -> pathlib.Path:
    arguments = {"tic_id": 261136679, "sector": 1, "camera": 1, "ccd": 1, "n_cadences": 60,
                 **kwargs}
    return write_spoc_lightcurve(directory / name, **arguments)


def test_tess_run_goes_on_past_bad_files(session: Session, tmp_path) -> None:
    d = tmp_path / "s"
    d.mkdir()
    good = _spoc(d, "a_lc.fits")
    _spoc(d, "b_lc.fits", tic_id=25155310)
    shutil.copy(d / "b_lc.fits", d / "bb_lc.fits")  # the same file under a new name
    _spoc(d, "c_lc.fits", tic_id=2**63 - 1)  # at bigint's limit: stored
    _spoc(d, "d_lc.fits", tic_id=307210830, sector=32767, first_cadenceno=1,
          start_btjd=1325.3)  # at smallint's limit: stored
    _spoc(d, "e_lc.fits", tic_id=307210831, sector=3_000_000_000, first_cadenceno=1,
          start_btjd=1325.3)
    _spoc(d, "f_lc.fits", tic_id=2**64)
    write_with_raw_card(good, d / "g_lc.fits", "BJDREFF", "NAN", hdu=1)
    write_with_raw_card(good, d / "h_lc.fits", "TIMEDEL", "INF", hdu=1)
    report = load_lightcurves(session, d, progress=False)
    assert sorted(p.name for p in report.loaded) == ["a_lc.fits", "b_lc.fits", "c_lc.fits",
                                                    "d_lc.fits"]
    assert [p.name for p in report.skipped] == ["bb_lc.fits"]
    assert {p.name: reason for p, reason in report.failures} == {
        "e_lc.fits": "SECTOR = 3000000000 in the primary header cannot be stored in "
                     "tess_observation.sector: beyond the range of smallint (-32768 to 32767)",
        "f_lc.fits": "TICID = 18446744073709551616 in the primary header cannot be stored in "
                     "target.name: beyond the range of bigint (-9223372036854775808 to "
                     "9223372036854775807)",
        "g_lc.fits": "unparsable value for BJDREFF in the LIGHTCURVE header",
        "h_lc.fits": "unparsable value for TIMEDEL in the LIGHTCURVE header",
    }
    names = set(session.scalars(select(Target.name)))
    assert {261136679, 25155310, 2**63 - 1, 307210830} <= names
    assert not names & {307210831, 2**64 % 2**63}


def test_a_database_error_costs_only_its_file(session: Session, tmp_path) -> None:
    mission = factories.MissionFactory()
    files = [tmp_path / f"{i}.fits" for i in range(3)]

    def load_one(path: pathlib.Path) -> bool:
        with session.begin_nested():
            session.add(MissionCatalog(host_mission_id=mission.id, name=f"cat {path.stem}"))
            session.flush()
            if path.stem == "1":  # a unique key the rules cannot see: the database refuses
                session.execute(insert(MissionCatalog).values(host_mission_id=mission.id,
                                                              name="cat 0"))
        return True

    report = run_loader(files, load_one, kind="test files", progress=False)
    assert [p.name for p in report.loaded] == ["0.fits", "2.fits"]
    (path, reason), = report.failures
    assert path.name == "1.fits"
    assert reason.startswith("the database refused the write: ")
    assert "mission_catalog" in reason and "\n" not in reason and "INSERT" not in reason
    names = set(session.scalars(select(MissionCatalog.name).where(
        MissionCatalog.host_mission_id == mission.id)))
    assert names == {"cat 0", "cat 2"}


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("RA_OBJ", "1E400", "RA_OBJ = inf in the primary header is not a finite number"),
    ("PMRA", "-1E400", "PMRA = -inf in the primary header is not a finite number"),
    ("DEC_OBJ", "95.0", "RA_OBJ/DEC_OBJ = "),
])
def test_an_overflowing_position_card_is_named(spoc_file, tmp_path, key, value,
                                               reason) -> None:
    damaged = write_with_raw_card(spoc_file, tmp_path / "x_lc.fits", key, value, hdu=0)
    with pytest.raises(Exception) as info:
        read_spoc_lightcurve(damaged)
    assert type(info.value).__name__ == "LoaderError"
    assert info.value.reason.startswith(reason), info.value.reason


# --- readers (no database): every header value the SPOC reader reads ---------------------


SPOC_KEYS = [(0, "TICID"), (0, "SECTOR"), (0, "CAMERA"), (0, "CCD"), (1, "TICID"),
             (1, "TIMEDEL"), (1, "BJDREFI"), (1, "BJDREFF"), (1, "TIMESYS"), (1, "PDCMETHD"),
             (0, "RA_OBJ"), (0, "DEC_OBJ"), (0, "EQUINOX"), (0, "PMRA"), (0, "PMDEC"),
             (0, "TESSMAG")]


@pytest.fixture(scope="module")
def spoc_file(tmp_path_factory) -> pathlib.Path:
    return _spoc(tmp_path_factory.mktemp("spoc"), "x_lc.fits")


@pytest.mark.parametrize("value", ["NAN", "INF", "-INF"])
@pytest.mark.parametrize(("hdu", "key"), SPOC_KEYS, ids=[f"{h}-{k}" for h, k in SPOC_KEYS])
def test_nan_or_inf_in_any_header_value_read_is_named(spoc_file, tmp_path, hdu, key,
                                                      value) -> None:
    damaged = write_with_raw_card(spoc_file, tmp_path / "x_lc.fits", key, value, hdu=hdu)
    where = "the primary header" if hdu == 0 else "the LIGHTCURVE header"
    with pytest.raises(Exception) as info:
        read_spoc_lightcurve(damaged)
    assert type(info.value).__name__ == "LoaderError"
    assert info.value.reason == f"unparsable value for {key} in {where}"


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("BJDREFF", "1E400", "BJDREFF = inf in the LIGHTCURVE header is not a finite number"),
    ("TIMEDEL", "-1E400", "TIMEDEL = -inf in the LIGHTCURVE header is not a finite number"),
    ("TIMESYS", "'caf\xc3\xa9'", "a header holds non-ASCII characters, which FITS headers "
                                 "cannot hold"),
])
def test_overflowing_and_non_ascii_header_values(spoc_file, tmp_path, key, value,
                                                 reason) -> None:
    """(Each also in the primary header: ``test_an_overflowing_position_card_is_named``.)"""
    damaged = write_with_raw_card(spoc_file, tmp_path / "x_lc.fits", key, value, hdu=1)
    with pytest.raises(Exception) as info:
        read_spoc_lightcurve(damaged)
    assert type(info.value).__name__ == "LoaderError" and info.value.reason == reason


@pytest.mark.parametrize("key", ["CRVAL1", "BMAJ"])
def test_radio_image_with_nan_card_is_named(tmp_path, key) -> None:
    from lightcurvedb.radio.images import read_image_properties
    from lightcurvedb.radio.products_service import ImageFileError
    from lightcurvedb.testing.fits.radio import write_radio_image

    image = write_radio_image(tmp_path / "img.fits", ra=180.0, dec=42.0, bmaj_deg=0.004,
                              bmin_deg=0.003, bpa_deg=10.0, noise_jy=1e-4, nx=64, ny=64)
    assert math.isclose(read_image_properties(image).center_ra_deg, 180.0)
    damaged = write_with_raw_card(image, tmp_path / "bad.fits", key, "NAN")
    with pytest.raises(ImageFileError) as info:
        read_image_properties(damaged)
    assert info.value.reason == f"unparsable value for {key}"


def test_symlink_loop_in_a_scanned_directory(tmp_path) -> None:
    d = tmp_path / "s" / "deeper"
    d.mkdir(parents=True)
    (d / "loop").symlink_to(tmp_path / "s", target_is_directory=True)
    path = _spoc(d, "a_lc.fits")
    assert find_spoc_files(tmp_path / "s") == [path]


def test_lcdb_load_prints_one_line_per_bad_file_and_no_traceback(env, tmp_path) -> None:
    from cli_support import lcdb

    d = tmp_path / "s"
    d.mkdir()
    good = _spoc(d, "a_lc.fits")
    _spoc(d, "f_lc.fits", tic_id=2**64)
    write_with_raw_card(good, d / "g_lc.fits", "BJDREFF", "NAN", hdu=1)
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = lcdb(env, "--url", url, "load", "tess", "--no-progress", str(d))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert f"  {d / 'f_lc.fits'}: TICID = 18446744073709551616 in the primary header cannot " \
           "be stored in target.name: beyond the range of bigint (-9223372036854775808 to " \
           "9223372036854775807)" in lines
    assert f"  {d / 'g_lc.fits'}: unparsable value for BJDREFF in the LIGHTCURVE header" in lines
    assert "TESS SPOC light curves: 3 files: 1 loaded, 0 skipped, 2 failed" in lines


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_server_data_error_names_the_parameter(session: Session) -> None:
    # A statement built by hand is not checked by the rules: the server refuses it,
    # and the translation names the value instead of echoing the SQL.
    from sqlalchemy.exc import DataError

    from lightcurvedb.core.db_errors import describe_db_error

    mission = factories.MissionFactory()
    with pytest.raises(DataError) as info, session.begin_nested():
        session.execute(insert(MissionCatalog).values(host_mission_id=mission.id,
                                                      name="N" * 70))
    reason = describe_db_error(info.value)
    assert reason.startswith("the database refused the write: value too long for type "
                             "character varying(64)")
    assert "parameter name = 'NNNN" in reason and "(70 characters)" in reason
    assert "INSERT" not in reason


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sqlite_overflow_is_one_line(session: Session) -> None:
    from lightcurvedb.core.db_errors import DB_ERRORS, describe_db_error

    with pytest.raises(DB_ERRORS) as info:
        session.execute(select(Target).where(Target.name == 2**64)).all()
    reason = describe_db_error(info.value)
    assert "beyond 64 bits" in reason and "\n" not in reason


def test_empty_lightcurve_table_is_refused_by_name(session: Session, tmp_path) -> None:
    d = tmp_path / "s"
    d.mkdir()
    good = _spoc(d, "a_lc.fits")
    empty = write_with_empty_table(good, d / "b_lc.fits", "LIGHTCURVE")
    with fits_open(empty) as hdul:
        table = hdul["LIGHTCURVE"]
        assert len(table.data) == 0 and "PDCSAP_FLUX" in table.columns.names
    report = load_lightcurves(session, d, progress=False)
    assert [p.name for p in report.loaded] == ["a_lc.fits"]
    assert report.failures == [(empty, "the LIGHTCURVE table has no rows")]


def _catalog_file(path: pathlib.Path, key_column) -> pathlib.Path:
    from astropy.io import fits

    table = fits.BinTableHDU.from_columns(
        [key_column, fits.Column("RA", "D", array=np.arange(3.0))], name="FASTSPEC")
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    return path


def test_catalog_keys_beyond_bigint_or_text_refused_alike(session: Session, tmp_path) -> None:
    from astropy.io import fits

    from lightcurvedb.loaders.catalog_targets import load_catalog_targets

    big = _catalog_file(tmp_path / "big.fits", fits.Column(
        "TARGETID", "K", bzero=2**63, array=np.array([1, 2**63 + 5, 3], dtype=np.uint64)))
    text = _catalog_file(tmp_path / "text.fits", fits.Column(
        "TARGETID", "10A", array=np.array(["a", "b", "c"])))
    ok = _catalog_file(tmp_path / "ok.fits", fits.Column(
        "TARGETID", "K", array=np.array([10, 11, 2**63 - 1])))
    run = load_catalog_targets(session, [big, text, ok], catalog="bad-input test",
                               mission="DESI", progress=False)
    assert run.files.loaded == [ok]
    reasons = dict(run.files.failures)
    assert "TARGETID" in reasons[big] and "64-bit range" in reasons[big]
    assert "TARGETID" in reasons[text] and "only integers fit" in reasons[text]
    assert all("\n" not in reason for reason in reasons.values())
    assert 2**63 - 1 in set(session.scalars(select(Target.name)))


def test_catalog_name_over_64_characters_is_one_error(session: Session, tmp_path) -> None:
    from astropy.io import fits

    from lightcurvedb.loaders.catalog_targets import load_catalog_targets

    ok = _catalog_file(tmp_path / "ok.fits", fits.Column("TARGETID", "K",
                                                         array=np.array([10, 11, 12])))
    with pytest.raises(ColumnValueError, match=r"^MissionCatalog.name = 'CCC.*' \(65 "
                                               r"characters\): longer than varchar\(64\)$"), \
            session.begin_nested():
        load_catalog_targets(session, [ok], catalog="C" * 65, mission="DESI", progress=False)


# --- the RBH-1 reader: every primary-header value it reads ------------------------------

def _rbh1_cases() -> list[tuple[str, str]]:
    from lightcurvedb.loaders.rbh1.records import HEADER_KEYWORDS

    return [(kind, keyword) for kind, telescope in (("flc", "HST"), ("cal", "JWST"))
            for keyword, _, _ in HEADER_KEYWORDS[telescope].values()]


@pytest.fixture(scope="module")
def rbh1_files(tmp_path_factory) -> dict[str, pathlib.Path]:
    from lightcurvedb.testing.fits.rbh1 import write_nirspec_cal, write_wfc3_flc

    d = tmp_path_factory.mktemp("rbh1")
    return {"flc": write_wfc3_flc(d / "iexo01abq_flc.fits"),
            "cal": write_nirspec_cal(d / "jw03149001001_03101_00001_nrs1_cal.fits")}


@pytest.mark.parametrize("value", ["NAN", "INF"])
@pytest.mark.parametrize(("kind", "key"), _rbh1_cases(), ids=[f"{k}-{w}" for k, w in
                                                                _rbh1_cases()])
def test_nan_or_inf_in_any_rbh1_header_value_is_named(rbh1_files, tmp_path, kind, key,
                                                      value) -> None:
    from lightcurvedb.loaders.rbh1.geometry import RBH1FileError
    from lightcurvedb.loaders.rbh1.records import read_rbh1_file

    source = rbh1_files[kind]
    with fits_open(source) as hdul:   # the generator writes every card the reader reads
        assert key in hdul[0].header, f"the generated {kind} file lacks {key}"
    damaged = write_with_raw_card(source, tmp_path / source.name, key, value, hdu=0)
    with pytest.raises(RBH1FileError) as info:
        read_rbh1_file(damaged)
    assert info.value.reason == f"unparsable value for {key} in the primary header"


def test_an_overflowing_rbh1_exposure_time_is_not_finite(rbh1_files, tmp_path) -> None:
    from lightcurvedb.loaders.rbh1.geometry import RBH1FileError
    from lightcurvedb.loaders.rbh1.records import read_rbh1_file

    source = rbh1_files["flc"]
    damaged = write_with_raw_card(source, tmp_path / source.name, "EXPTIME", "1E400", hdu=0)
    with pytest.raises(RBH1FileError) as info:
        read_rbh1_file(damaged)
    assert info.value.reason == "EXPTIME = inf in the primary header is not a finite number"
