"""Bad input: one verdict on SQLite and PostgreSQL, one named line per failure (issue 14).

Every class of bad value runs through every writer (``copy_rows``,
``upsert_rows``, the ORM, the TESS loader) on both backends (the ``session``
fixture is parametrised over them) and must get the same outcome there: the
same error naming the same row, column and value, nothing written -- or, for
the value at the type's limit, the value stored and read back unchanged.
"""

from __future__ import annotations

import math
import pathlib
import shutil

import numpy as np
import pytest
from astropy.io.fits import open as fits_open
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from lightcurvedb.bulk import BulkValueError, copy_rows, upsert_rows
from lightcurvedb.core.column_rules import ColumnValueError
from lightcurvedb.core.types import NumpyArray
from lightcurvedb.loaders.report import run_loader
from lightcurvedb.loaders.tess import find_spoc_files, load_lightcurves, read_spoc_lightcurve
from lightcurvedb.models import MissionCatalog, Target
from lightcurvedb.testing import factories
from lightcurvedb.testing.fits import write_spoc_lightcurve
from lightcurvedb.testing.fits.damage import write_with_empty_table, write_with_raw_card

N_ROWS, CHUNK = 1201, 400  # the bad row is the last: row 1200, chunk 3


def _table() -> Table:
    return Table("bad_input_rows", MetaData(),
                 Column("id", Integer, primary_key=True),
                 Column("big", BigInteger), Column("small", SmallInteger), Column("n", Integer),
                 Column("code", String(8)), Column("note", Text),
                 Column("must", Integer, nullable=False), Column("x", Float, nullable=False),
                 Column("level", Integer), Column("pos", Integer),
                 CheckConstraint("level IN (1, 2, 3)", name="level"),
                 CheckConstraint("pos > 0", name="pos"))


def _row(i: int) -> dict:
    return {"id": i, "big": 1, "small": 1, "n": 1, "code": "ok", "note": "ok", "must": 0,
            "x": 0.5, "level": 1, "pos": 1}


#: (case, column, a value every backend must refuse, the accepted value at the limit).
CASES = [
    ("text in bigint", "big", "12", 12),
    ("bigint above its range", "big", 2**63, 2**63 - 1),
    ("bigint below its range", "big", -2**63 - 1, -2**63),
    ("smallint above its range", "small", 2**15, 2**15 - 1),
    ("smallint below its range", "small", -2**15 - 1, -2**15),
    ("integer above its range", "n", 2**31, 2**31 - 1),
    ("float in integer", "n", 1.5, 2),
    ("over-long string", "code", "x" * 9, "x" * 8),
    ("over-long non-ASCII string", "code", "é" * 9, "é" * 8),
    ("NUL in text", "note", "a\x00b", "non-ASCII: ü ☃ 😀"),
    ("number in text", "note", 12, "12"),
    ("NULL in NOT NULL", "must", None, 0),
    ("NaN in NOT NULL float", "x", float("nan"), float("inf")),
    ("value outside CHECK IN", "level", 4, 3),
    ("value outside CHECK >", "pos", 0, 1),
]
#: The reason each case must be refused with (the end of the error line).
REASONS = {
    "text in bigint": "not an integer (bigint column)",
    "bigint above its range": "beyond the range of bigint",
    "bigint below its range": "beyond the range of bigint",
    "smallint above its range": "beyond the range of smallint (-32768 to 32767)",
    "smallint below its range": "beyond the range of smallint (-32768 to 32767)",
    "integer above its range": "beyond the range of integer",
    "float in integer": "not an integer (integer column)",
    "over-long string": "longer than varchar(8)",
    "over-long non-ASCII string": "longer than varchar(8)",
    "NUL in text": "NUL character",
    "number in text": "not text (text column)",
    "NULL in NOT NULL": "NULL in a NOT NULL column",
    "NaN in NOT NULL float": "NaN in a NOT NULL float column",
    "value outside CHECK IN": "not one of 1, 2, 3 (CHECK constraint)",
    "value outside CHECK >": "violates CHECK (pos > 0)",
}
WRITERS = {
    "copy_rows": lambda bind, table, rows: copy_rows(bind, table, rows, chunk_size=CHUNK),
    "upsert_rows": lambda bind, table, rows: upsert_rows(bind, table, rows, chunk_size=CHUNK),
}


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize(("case", "column", "bad", "ok"), CASES, ids=[c[0] for c in CASES])
def test_bulk_refuses_alike(session: Session, writer, case, column, bad, ok) -> None:
    table = _table()
    table.metadata.create_all(session.connection())
    rows = [_row(i) for i in range(N_ROWS)]
    rows[-1][column] = bad
    with pytest.raises(BulkValueError) as info:
        WRITERS[writer](session.connection(), table, rows)
    err = info.value
    assert (err.chunk_index, err.row_index, err.column) == (3, N_ROWS - 1, column)
    assert REASONS[case] in err.message
    assert f"at chunk 3, row {N_ROWS - 1}, column {column!r}" in str(err)
    assert "\n" not in str(err)
    assert session.scalar(select(func.count()).select_from(table)) == 0


@pytest.mark.parametrize("writer", sorted(WRITERS))
@pytest.mark.parametrize(("case", "column", "bad", "ok"), CASES, ids=[c[0] for c in CASES])
def test_bulk_stores_the_limit_alike(session: Session, writer, case, column, bad, ok) -> None:
    table = _table()
    table.metadata.create_all(session.connection())
    rows = [_row(i) for i in range(N_ROWS)]
    rows[-1][column] = ok
    WRITERS[writer](session.connection(), table, rows)
    assert session.scalar(select(func.count()).select_from(table)) == N_ROWS
    assert session.scalar(select(table.c[column]).where(table.c.id == N_ROWS - 1)) == ok


#: Structured-array columns (kept as numpy arrays for PostgreSQL's binary COPY).
ARRAY_CASES = [
    ("big", "u8", 2**63, 2**63 - 1),
    ("small", "i4", 2**15, 2**15 - 1),
    ("code", "U9", "x" * 9, "x" * 8),
    ("x", "f8", np.nan, -np.inf),
    ("level", "i8", 0, 2),
]


@pytest.mark.parametrize(("column", "dtype", "bad", "ok"), ARRAY_CASES,
                         ids=[c[0] for c in ARRAY_CASES])
def test_structured_arrays_refused_alike(session: Session, column, dtype, bad, ok) -> None:
    table = _table()
    table.metadata.create_all(session.connection())
    fields = [("id", "i8"), ("must", "i8"), ("x", "f8"), (column, dtype)]
    fields = list(dict(fields).items())
    arr = np.zeros(N_ROWS, dtype=fields)
    arr["id"] = np.arange(N_ROWS)
    arr["x"] = 0.5
    arr[column] = ok
    arr[column][-1] = bad
    with pytest.raises(BulkValueError) as info:
        copy_rows(session.connection(), table, arr, chunk_size=CHUNK)
    assert (info.value.row_index, info.value.column) == (N_ROWS - 1, column)
    assert session.scalar(select(func.count()).select_from(table)) == 0
    arr[column][-1] = ok
    assert copy_rows(session.connection(), table, arr, chunk_size=CHUNK) == N_ROWS
    stored = session.scalar(select(table.c[column]).where(table.c.id == N_ROWS - 1))
    assert stored == (ok.item() if isinstance(ok, np.generic) else ok)


def test_empty_inputs_and_zero_length_arrays(session: Session) -> None:
    table = Table("bad_input_arrays", MetaData(), Column("id", Integer, primary_key=True),
                  Column("values", NumpyArray(np.float64)))
    table.metadata.create_all(session.connection())
    assert copy_rows(session.connection(), table, []) == 0
    assert upsert_rows(session.connection(), table, []).total == 0
    assert copy_rows(session.connection(), table, [{"id": 1, "values": np.array([])}]) == 1
    stored = session.scalar(select(table.c["values"]))
    assert stored.dtype == np.float64 and stored.shape == (0,)
    with pytest.raises(BulkValueError, match=r"row 0, column 'values'.*"):
        copy_rows(session.connection(), table, [{"id": 2, "values": np.array(["a"])}])


# --- the ORM ---------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "attribute", "bad", "ok", "reason"), [
    ("Target", "name", 2**63, 2**63 - 1, "9223372036854775808: beyond the range of bigint"),
    ("Target", "name", "261136679", 261136679, "'261136679': not an integer"),
    ("Target", "designation", "a\x00b", "Gaia DR3 ü☃", "NUL character"),
    ("MissionCatalog", "name", "C" * 65, "C" * 64, "(65 characters): longer than varchar(64)"),
])
def test_orm_refuses_alike_before_the_flush(session: Session, model, attribute, bad, ok,
                                            reason) -> None:
    def make(value):
        if model == "Target":
            catalog = factories.MissionCatalogFactory()
            return Target(catalog_id=catalog.id, **{"name": 7, attribute: value})
        mission = factories.MissionFactory()
        return MissionCatalog(host_mission_id=mission.id, name=value)

    obj = make(bad)
    session.add(obj)
    with pytest.raises(ColumnValueError) as info, session.begin_nested():
        session.flush()
    assert str(info.value).startswith(f"{model}.{attribute} = ")
    assert reason in str(info.value)
    session.expunge(obj)
    good = make(ok)
    session.add(good)
    session.flush()
    session.expire(good)
    assert getattr(good, attribute) == ok


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


# --- readers (no database): every header value the SPOC reader reads ---------------------


SPOC_KEYS = [(0, "TICID"), (0, "SECTOR"), (0, "CAMERA"), (0, "CCD"), (1, "TICID"),
             (1, "TIMEDEL"), (1, "BJDREFI"), (1, "BJDREFF"), (1, "TIMESYS"), (1, "PDCMETHD")]


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
