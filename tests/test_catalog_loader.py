"""The chunked FITS catalog loader: stage-1 validation, chunked writes, stored reports.

FITS files are generated with :func:`write_fastspec_catalog` (astropy
``StreamingHDU``) and read back independently with ``fits.open`` to get the
expected values; the destination is a galaxy table made here, or the core
``target`` table through the CLI.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import pathlib

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.io import fits
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from lightcurvedb import connect, migrations
from lightcurvedb.loaders.catalog import CatalogValidationError, load_fits_catalog
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.models import CatalogValidation
from lightcurvedb.testing.fits.catalog import FASTSPEC_RANGES, write_fastspec_catalog
from lightcurvedb.testing.fits.tess import write_truncated_copy

BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
#: The DESI seed's coordinate and redshift ranges (worklog 001/003).
SEED_RANGES = {"RA": (0.2, 359.8), "DEC": (-30.5, 89.2), "Z": (0.001, 0.45)}
TABLE = "catalog_test_galaxy"


def galaxy_table(metadata: sa.MetaData) -> sa.Table:
    """The DESI seed's galaxy table, reduced: TARGETID primary key and a few properties."""
    return sa.Table(
        TABLE, metadata,
        sa.Column("targetid", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("survey", sa.String(4)),
        sa.Column("program", sa.String(6)),
        sa.Column("healpix", sa.Integer),
        sa.Column("ra", sa.Double, nullable=False),
        sa.Column("dec", sa.Double, nullable=False),
        sa.Column("z", sa.Double),
        sa.Column("zwarn", sa.BigInteger),
        sa.Column("logmstar", sa.REAL),
        sa.Column("sfr", sa.REAL),
        sa.CheckConstraint("z <= 0.45", name="z_in_seed_range"),
    )


@pytest.fixture(scope="module")
def galaxy(engine: Engine):
    """The galaxy table, created on the test database for this module and dropped after."""
    metadata = sa.MetaData()
    table = galaxy_table(metadata)
    metadata.create_all(engine)
    yield table
    metadata.drop_all(engine)


def count(session: Session, table) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(table))


def stored(session: Session) -> list[CatalogValidation]:
    session.expire_all()
    return list(session.scalars(sa.select(CatalogValidation).order_by(CatalogValidation.id)))


def fits_columns(path: pathlib.Path, *names: str) -> dict[str, np.ndarray]:
    """Read columns back with plain astropy, independently of the loader."""
    with fits.open(path, memmap=False) as hdul:
        return {name: np.array(hdul["FASTSPEC"].data[name]) for name in names}


def galaxy_rows(session: Session, galaxy: sa.Table) -> list[sa.Row]:
    return session.execute(sa.select(galaxy).order_by(galaxy.c.targetid)).all()


# -- values, chunks -----------------------------------------------------------------------


def test_values_round_trip_exactly(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "fs.fits", 1000, seed=3, chunk_rows=256,
                                  nulls={"LOGMSTAR": [3, 999], "HEALPIX": [10],
                                         "PROGRAM": [500]})
    report = load_fits_catalog(session, path, galaxy, chunk_rows=300)
    assert (report.rows_in_file, report.rows_loaded, report.loaded) == (1000, 1000, True)

    expected = fits_columns(path, "TARGETID", "SURVEY", "PROGRAM", "HEALPIX", "RA", "DEC",
                            "Z", "ZWARN", "LOGMSTAR", "SFR")
    order = np.argsort(expected["TARGETID"])
    got = galaxy_rows(session, galaxy)
    assert [r.targetid for r in got] == expected["TARGETID"][order].tolist()
    for name in ("ra", "dec", "z", "zwarn"):
        assert [getattr(r, name) for r in got] == expected[name.upper()][order].tolist(), name
    # float32 columns: the same float32 value comes back (PostgreSQL REAL, SQLite REAL);
    # NaN became NULL.
    logmstar = expected["LOGMSTAR"][order]
    assert [None if r.logmstar is None else np.float32(r.logmstar) for r in got] == \
        [None if np.isnan(v) else v for v in logmstar]
    assert sum(r.logmstar is None for r in got) == 2
    assert [np.float32(r.sfr) for r in got] == expected["SFR"][order].tolist()
    assert {r.survey for r in got} == {"main"}
    # TNULL (-1) of HEALPIX and an empty PROGRAM string are NULLs too.
    by_id = {r.targetid: r for r in got}
    assert by_id[int(expected["TARGETID"][10])].healpix is None
    assert by_id[int(expected["TARGETID"][500])].program is None
    assert sum(r.healpix is None for r in got) == 1
    assert {r.program for r in got} == {"bright", "dark", None}


@pytest.mark.parametrize("chunk_rows", [1, 9, 10, 11])
def test_chunk_boundaries(session, galaxy, tmp_path, chunk_rows):
    path = write_fastspec_catalog(tmp_path / "ten.fits", 10, seed=5, nulls={"LOGMSTAR": [9]})
    report = load_fits_catalog(session, path, galaxy, chunk_rows=chunk_rows)
    assert report.rows_loaded == 10 and count(session, galaxy) == 10
    assert report.column("LOGMSTAR").null_count == 1
    expected = fits_columns(path, "TARGETID", "Z")
    got = galaxy_rows(session, galaxy)
    assert [(r.targetid, r.z) for r in got] == sorted(
        zip(expected["TARGETID"].tolist(), expected["Z"].tolist(), strict=True))


def test_file_many_chunks_long_memory_mapped(session, galaxy, tmp_path):
    n = 60_000
    path = write_fastspec_catalog(tmp_path / "big.fits", n, seed=11, chunk_rows=7_000)
    report = load_fits_catalog(session, path, galaxy, chunk_rows=8_192,
                               ranges=FASTSPEC_RANGES)
    assert report.rows_loaded == n and report.passed
    expected = fits_columns(path, "TARGETID", "Z")
    offset = int(expected["TARGETID"].min())
    total = session.execute(sa.select(sa.func.count(), sa.func.sum(galaxy.c.targetid - offset),
                                      sa.func.max(galaxy.c.z))).one()
    assert total[0] == n
    assert int(total[1]) == int((expected["TARGETID"] - offset).sum())
    assert total[2] == float(expected["Z"].max())


def test_empty_table_loads_nothing(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "empty.fits", 0)
    report = load_fits_catalog(session, path, galaxy)
    assert (report.rows_in_file, report.rows_loaded, report.passed) == (0, 0, True)
    assert count(session, galaxy) == 0


def write_table(path: pathlib.Path, *columns: fits.Column) -> pathlib.Path:
    """A one-table FITS file of TARGETID 1..n, RA and DEC (the NOT NULL ones), plus ``columns``."""
    n = len(columns[0].array)
    fits.BinTableHDU.from_columns([
        fits.Column(name="TARGETID", format="K", array=np.arange(1, n + 1)),
        fits.Column(name="RA", format="D", array=np.full(n, 10.0)),
        fits.Column(name="DEC", format="D", array=np.full(n, 20.0)), *columns]).writeto(path)
    return path


def test_tnull_is_in_stored_units_not_scaled_ones(session, galaxy, tmp_path):
    """TNULL is a raw stored value; astropy hands out values with TZERO/TSCAL applied."""
    # ZWARN: unsigned 32-bit by the TZERO = 2**31 convention, TNULL = raw 0 = physical 2**31.
    path = write_table(tmp_path / "scaled.fits",
                       fits.Column(name="ZWARN", format="J", bzero=2**31, null=0,
                                   array=np.array([0, 2**31, 5, 2**32 - 1], dtype=np.uint32)),
                       fits.Column(name="LOGMSTAR", format="I", null=-32768,
                                   array=np.array([2, -32768, 0, -32767], dtype=np.int16)))
    # LOGMSTAR = raw * 0.5 + 10, added to the header only, so the stored integers stay.
    fits.setval(path, "TSCAL5", value=0.5, ext=1, after="TNULL5")
    fits.setval(path, "TZERO5", value=10.0, ext=1, after="TSCAL5")
    with fits.open(path) as hdul:  # the raw stored integers: row 1 holds TNULL in both
        raw = {name: np.recarray.field(hdul[1].data, name).tolist() for name in ("ZWARN",
                                                                                "LOGMSTAR")}
    assert raw == {"ZWARN": [-2**31, 0, 5 - 2**31, 2**31 - 1],
                   "LOGMSTAR": [2, -32768, 0, -32767]}
    report = load_fits_catalog(session, path, galaxy, chunk_rows=3)
    got = galaxy_rows(session, galaxy)
    assert [r.zwarn for r in got] == [0, None, 5, 2**32 - 1]
    assert [r.logmstar for r in got] == [11.0, None, 10.0, -16373.5]
    zwarn = report.column("ZWARN")
    assert (zwarn.null_count, zwarn.min, zwarn.max) == (1, 0, 2**32 - 1)
    assert report.column("LOGMSTAR").null_count == 1


# -- validation ---------------------------------------------------------------------------


def test_null_rate_of_the_seed(session, galaxy, tmp_path):
    """Two nulls in 10,000 rows is 0.02 %: the seed's limit for critical columns."""
    path = write_fastspec_catalog(tmp_path / "nulls.fits", 10_000, seed=2,
                                  nulls={"LOGMSTAR": 2})
    report = load_fits_catalog(session, path, galaxy, max_null_rate={"LOGMSTAR": 0.0002},
                               chunk_rows=3_000)
    stats = report.column("logmstar")
    assert (stats.null_count, stats.rows) == (2, 10_000)
    assert stats.null_rate == pytest.approx(0.0002)
    assert report.column("SFR").null_count == 0
    (line,) = [line for line in report.render().splitlines() if "LOGMSTAR" in line]
    assert "0.0200 %" in line
    table = report.to_table()
    row = table[list(table["fits_column"]).index("LOGMSTAR")]
    assert (row["null_count"], row["null_rate"]) == (2, pytest.approx(0.0002))


def test_null_rate_above_the_limit_refused(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "nulls3.fits", 10_000, seed=2,
                                  nulls={"LOGMSTAR": 3})
    with pytest.raises(CatalogValidationError, match=r"LOGMSTAR: null rate 0\.0300 %"):
        load_fits_catalog(session, path, galaxy, max_null_rate=0.0002)
    assert count(session, galaxy) == 0


def test_max_null_rate_names_in_any_case_and_loaded_only(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "nulls3.fits", 1_000, seed=2,
                                  nulls={"LOGMSTAR": 3})
    with pytest.raises(CatalogValidationError, match=r"LOGMSTAR: null rate 0\.3000 %"):
        load_fits_catalog(session, path, galaxy, max_null_rate={"logmstar": 0.002})
    assert len(stored(session)) == 1
    with pytest.raises(ValueError, match="max_null_rate: column LogMstar_Median is not "
                                         "loaded into catalog_test_galaxy") as caught:
        load_fits_catalog(session, path, galaxy, max_null_rate={"LogMstar_Median": 0.1})
    assert not isinstance(caught.value, LoaderError)
    with pytest.raises(ValueError, match="max_null_rate: column sfr is not loaded"):
        load_fits_catalog(session, path, galaxy, max_null_rate={"sfr": 0.1},
                          columns={"TARGETID": "targetid", "RA": "ra", "DEC": "dec"})
    assert count(session, galaxy) == 0 and len(stored(session)) == 1


def test_duplicate_keys_detected_across_chunks_and_nothing_written(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "dup.fits", 50, duplicate_keys=2)
    keys = fits_columns(path, "TARGETID")["TARGETID"]
    assert len(set(keys.tolist())) == 48  # the generator really repeats two keys
    with pytest.raises(CatalogValidationError, match="not unique") as caught:
        load_fits_catalog(session, path, galaxy, chunk_rows=20)
    assert str(path.absolute()) in str(caught.value) and "TARGETID" in str(caught.value)
    report = caught.value.report
    assert (report.duplicate_keys, report.key_unique, report.rows_loaded) == (2, False, 0)
    assert set(report.duplicate_examples) == {int(keys[0]), int(keys[1])}
    assert count(session, galaxy) == 0
    (row,) = stored(session)
    assert (row.passed, row.loaded, row.rows_loaded, row.duplicate_keys) == (False, False, 0, 2)
    assert any("not unique" in problem for problem in row.problems)


def test_keys_already_in_the_destination_refused(session, galaxy, tmp_path):
    first = write_fastspec_catalog(tmp_path / "a.fits", 30, seed=1)
    load_fits_catalog(session, first, galaxy)
    # Same TARGETIDs (they depend only on the row number), other values: a different file.
    second = write_fastspec_catalog(tmp_path / "b.fits", 40, seed=2)
    with pytest.raises(CatalogValidationError, match="30 key.*already in") as caught:
        load_fits_catalog(session, second, galaxy, chunk_rows=7)
    assert caught.value.report.existing_keys == 30
    assert count(session, galaxy) == 30


def test_generic_table_reuse_fills_nulls_and_refuses_conflicts(session, galaxy, tmp_path):
    """existing="reuse" on a table of data: a stored NULL is filled, a stored value is kept."""
    nan = float("nan")
    a = write_table(tmp_path / "a.fits", fits.Column(name="Z", format="D",
                                                     array=np.array([nan, 0.1, 0.2])))
    load_fits_catalog(session, a, galaxy)
    # TARGETIDs 1-4: 1 fills a NULL, 2 agrees, 3 says nothing (NaN), 4 is new.
    b = write_table(tmp_path / "b.fits", fits.Column(name="Z", format="D",
                                                     array=np.array([0.3, 0.1, nan, 0.4])))
    with pytest.raises(CatalogValidationError, match=r"3 key\(s\) of TARGETID are already in "
                                                     r"catalog_test_galaxy \(e\.g\. 1, 2, 3\)"):
        load_fits_catalog(session, b, galaxy)  # the default for generic tables: refuse
    report = load_fits_catalog(session, b, galaxy, existing="reuse", chunk_rows=3)
    assert (report.rows_loaded, report.existing_keys, report.passed) == (1, 3, True)
    assert [(r.targetid, r.z) for r in galaxy_rows(session, galaxy)] == [
        (1, 0.3), (2, 0.1), (3, 0.2), (4, 0.4)]
    c = write_table(tmp_path / "c.fits", fits.Column(name="Z", format="D",
                                                     array=np.array([0.3, 0.15, 0.2, 0.4, 0.5])))
    with pytest.raises(CatalogValidationError, match=r"1 key\(s\) of TARGETID already in "
                       r"catalog_test_galaxy hold other values than the file's \(e\.g\. 2: Z "
                       r"0\.15 in the file, 0\.1 stored\)") as caught:
        load_fits_catalog(session, c, galaxy, existing="reuse")
    assert caught.value.report.existing_keys == 4 and caught.value.report.rows_loaded == 0
    assert count(session, galaxy) == 4
    with pytest.raises(ValueError, match="existing must be one of refuse, reuse, not 'keep'"):
        load_fits_catalog(session, c, galaxy, existing="keep")


def test_key_of_two_columns(session, galaxy, tmp_path):
    first = write_fastspec_catalog(tmp_path / "a.fits", 12, seed=1)
    report = load_fits_catalog(session, first, galaxy, key=("TARGETID", "SURVEY"))
    assert report.key_columns == ["TARGETID", "SURVEY"] and report.key_unique
    second = write_fastspec_catalog(tmp_path / "b.fits", 5, seed=2, duplicate_keys=1)
    with pytest.raises(CatalogValidationError, match="not unique") as caught:
        load_fits_catalog(session, second, galaxy, key=("TARGETID", "SURVEY"))
    report = caught.value.report
    assert (report.duplicate_keys, report.existing_keys) == (1, 4)
    first_key = (39_627_400_000_000_000, "main")
    assert report.duplicate_examples == [first_key] and first_key in report.existing_examples


def test_range_violations_strict_and_tolerated(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "z.fits", 100, overrides={"Z": {5: 0.0, 70: 0.44}})
    with pytest.raises(CatalogValidationError, match=r"column Z: 1 value\(s\) outside"):
        load_fits_catalog(session, path, galaxy, ranges=SEED_RANGES, chunk_rows=30)
    assert count(session, galaxy) == 0
    report = load_fits_catalog(session, path, galaxy, ranges=SEED_RANGES, strict=False)
    assert report.loaded and not report.passed and report.rows_loaded == 100
    z = report.column("Z")
    assert (z.range, z.range_violations, z.min) == ((0.001, 0.45), 1, 0.0)
    assert report.column("RA").range_violations == 0
    refused, tolerated = stored(session)
    assert (refused.passed, refused.loaded, tolerated.passed, tolerated.loaded) == (
        False, False, False, True)
    assert tolerated.column_stats["z"]["range_violations"] == 1
    assert tolerated.column_stats["z"]["range"] == [0.001, 0.45]


def test_expected_rows(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "n.fits", 12)
    with pytest.raises(CatalogValidationError, match="expected 13 rows, the table has 12"):
        load_fits_catalog(session, path, galaxy, expected_rows=13)
    assert load_fits_catalog(session, path, galaxy, expected_rows=12).rows_loaded == 12


def test_values_the_destination_cannot_hold(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "t.fits", 20, nulls={"RA": [4]})
    with pytest.raises(CatalogValidationError, match=r"SURVEY .* cannot be stored in "
                                                     r"catalog_test_galaxy\.z"):
        load_fits_catalog(session, path, galaxy, columns={"TARGETID": "targetid", "RA": "ra",
                                                          "DEC": "dec", "SURVEY": "z"})
    with pytest.raises(CatalogValidationError, match="TARGETID.*exceed its 32-bit range"):
        load_fits_catalog(session, path, galaxy, key=None, columns={
            "HEALPIX": "targetid", "TARGETID": "healpix", "RA": "ra", "DEC": "dec"})
    with pytest.raises(CatalogValidationError, match="RA .*1 null value.*NOT NULL"):
        load_fits_catalog(session, path, galaxy)
    assert count(session, galaxy) == 0
    assert [row.passed for row in stored(session)] == [False, False, False]


# -- stored report, idempotence -----------------------------------------------------------


def test_stored_report_and_second_load_skipped(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "fs.fits", 500, seed=8, nulls={"LOGMSTAR": 4})
    report = load_fits_catalog(session, path, galaxy, hdu="FASTSPEC", ranges=SEED_RANGES)
    (row,) = stored(session)
    assert row.id == report.validation_id
    assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row.source_path == path.absolute()
    assert (row.hdu, row.destination, row.rows_in_file, row.rows_loaded) == (
        "FASTSPEC", TABLE, 500, 500)
    assert (row.key_columns, row.key_unique, row.passed, row.loaded, row.problems) == (
        ["TARGETID"], True, True, True, [])
    assert row.column_stats["logmstar"]["null_count"] == 4
    assert row.column_stats["logmstar"]["fits_column"] == "LOGMSTAR"
    assert row.column_stats["targetid"]["min"] == 39_627_400_000_000_000  # exact int64
    assert row.created_at.tzinfo is not None
    assert abs(row.created_at - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)

    again = load_fits_catalog(session, path, galaxy, hdu=1)  # same HDU by index
    assert again.skipped and again.rows_loaded == 0 and again.validation_id == row.id
    assert "skipped" in again.render()
    assert count(session, galaxy) == 500 and len(stored(session)) == 1

    # Rows deleted since: the file is loaded again rather than skipped.
    session.execute(galaxy.delete())
    reloaded = load_fits_catalog(session, path, galaxy)
    assert not reloaded.skipped and reloaded.rows_loaded == 500
    assert count(session, galaxy) == 500 and len(stored(session)) == 2


def test_stored_report_renders_like_the_returned_one(session, galaxy, tmp_path):
    from lightcurvedb.loaders.catalog_report import CatalogLoadReport

    path = write_fastspec_catalog(tmp_path / "r.fits", 40, nulls={"SFR": 1})
    report = load_fits_catalog(session, path, galaxy, ranges=SEED_RANGES)
    (row,) = stored(session)
    assert CatalogLoadReport.from_validation(row).render() == report.render()


def test_other_hdu_loads_too(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "m.fits", 25)
    report = load_fits_catalog(session, path, galaxy, hdu="METADATA")
    assert report.hdu == "METADATA" and report.rows_loaded == 25
    assert session.scalar(sa.select(sa.func.count()).where(galaxy.c.logmstar.is_(None))) == 25


# -- bad files ----------------------------------------------------------------------------


def test_truncated_file(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "whole.fits", 2_000, metadata=False)
    cut = write_truncated_copy(path, tmp_path / "cut.fits", keep_fraction=0.7)
    with pytest.raises(LoaderError, match="truncated") as caught:
        load_fits_catalog(session, cut, galaxy)
    assert caught.value.path == cut.absolute()
    assert "cut.fits" in str(caught.value)
    assert count(session, galaxy) == 0 and stored(session) == []


def test_compressed_and_truncated(session, galaxy, tmp_path):
    path = write_fastspec_catalog(tmp_path / "whole.fits", 2_000, metadata=False)
    packed = tmp_path / "whole.fits.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    report = load_fits_catalog(session, packed, galaxy, chunk_rows=700)
    assert (report.rows_loaded, report.sha256) == (2_000, hashlib.sha256(
        path.read_bytes()).hexdigest())
    assert load_fits_catalog(session, path, galaxy).skipped  # the same content
    cut = write_truncated_copy(path, tmp_path / "cut.fits", keep_fraction=0.7)
    cut_packed = tmp_path / "cut.fits.gz"
    cut_packed.write_bytes(gzip.compress(cut.read_bytes()))
    with pytest.raises(LoaderError, match=r"cut\.fits\.gz: truncated: the FASTSPEC table ends "
                                          r"at byte 188,640 of the uncompressed data, the gzip "
                                          r"stream holds 133,056 bytes"):
        load_fits_catalog(session, cut_packed, galaxy)
    assert len(stored(session)) == 1


def test_missing_file_hdu_and_column(session, galaxy, tmp_path):
    with pytest.raises(LoaderError, match="no such file"):
        load_fits_catalog(session, tmp_path / "absent.fits", galaxy)
    path = write_fastspec_catalog(tmp_path / "fs.fits", 5)
    with pytest.raises(LoaderError, match=r"fs\.fits: no HDU 'SPECPHOT'.*1: FASTSPEC"):
        load_fits_catalog(session, path, galaxy, hdu="SPECPHOT")
    with pytest.raises(LoaderError, match="HDU PRIMARY is a PrimaryHDU, not a binary table"):
        load_fits_catalog(session, path, galaxy, hdu=0)
    with pytest.raises(LoaderError, match=r"fs\.fits: no column LOGMSTAR_MEDIAN") as caught:
        load_fits_catalog(session, path, galaxy, columns={"TARGETID": "targetid",
                                                          "RA": "ra", "DEC": "dec",
                                                          "LOGMSTAR_MEDIAN": "logmstar"})
    assert not isinstance(caught.value, CatalogValidationError)
    with pytest.raises(LoaderError, match="nothing fills the NOT NULL column.*dec"):
        load_fits_catalog(session, path, galaxy, columns={"TARGETID": "targetid", "RA": "ra"})
    not_fits = tmp_path / "notes.fits"
    not_fits.write_text("not a FITS file\n")
    with pytest.raises(LoaderError, match="notes.fits"):
        load_fits_catalog(session, not_fits, galaxy)
    assert count(session, galaxy) == 0 and stored(session) == []


def test_text_that_is_not_ascii(session, galaxy, tmp_path):
    survey = np.array([b"main"] * 7, dtype="S4")
    survey[5] = b"caf\xe9"  # Latin-1: FITS text columns are ASCII
    path = write_table(tmp_path / "latin1.fits",
                       fits.Column(name="SURVEY", format="4A", array=survey))
    with fits.open(path) as hdul:
        assert np.recarray.field(hdul[1].data, "SURVEY")[5] == b"caf\xe9"
    with pytest.raises(LoaderError, match=r"latin1\.fits: column SURVEY, row 5: byte 0xe9 "
                                          r".*is not ASCII") as caught:
        load_fits_catalog(session, path, galaxy, chunk_rows=4)
    assert caught.value.path == path.absolute()
    assert count(session, galaxy) == 0 and stored(session) == []


def test_failure_mid_stream_leaves_nothing(session, galaxy, tmp_path):
    """The database refuses chunk 9 of 10 (a CHECK the validation does not know)."""
    path = write_fastspec_catalog(tmp_path / "late.fits", 1_000, overrides={"Z": {950: 0.5}})
    with pytest.raises(CatalogValidationError, match="refused rows 900-999") as caught:
        load_fits_catalog(session, path, galaxy, chunk_rows=100)
    assert caught.value.report.rows_loaded == 0 and not caught.value.report.loaded
    assert count(session, galaxy) == 0
    (row,) = stored(session)
    assert (row.passed, row.loaded) == (False, False)


@BOTH
def test_engine_commits_the_refusal_report(empty_database_url, tmp_path):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        metadata = sa.MetaData()
        table = galaxy_table(metadata)
        metadata.create_all(engine)
        bad = write_fastspec_catalog(tmp_path / "dup.fits", 20, duplicate_keys=1)
        with pytest.raises(CatalogValidationError):
            load_fits_catalog(engine, bad, table)
        good = write_fastspec_catalog(tmp_path / "good.fits", 20)
        assert load_fits_catalog(engine, good, table).rows_loaded == 20
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(table)) == 20
            outcomes = connection.execute(sa.select(
                CatalogValidation.passed, CatalogValidation.loaded).order_by(
                CatalogValidation.id)).all()
        assert [tuple(o) for o in outcomes] == [(False, False), (True, True)]
    finally:
        engine.dispose()
