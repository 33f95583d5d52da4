"""lightcurvedb.bulk.copy_rows on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from astropy.table import Table
from sqlalchemy import Column, Integer, MetaData, Text, func, select, text
from sqlalchemy import Table as SATable
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import lightcurvedb
from lightcurvedb.bulk import BulkLoadError, copy_rows
from lightcurvedb.core.extensions import postgis_footprints
from lightcurvedb.core.types import NumpyArray
from lightcurvedb.models import DataSet, PhotometricSource
from lightcurvedb.testing import factories


@pytest.fixture
def parents(session: Session) -> tuple[int, int]:
    target = factories.TargetFactory()
    observation = factories.ObservationFactory()
    session.flush()
    return target.id, observation.id


def _datasets(session: Session, target_id: int) -> list[DataSet]:
    session.expire_all()
    return list(session.scalars(select(DataSet).where(DataSet.target_id == target_id)
                                .order_by(DataSet.id)))


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_dataset_round_trip(session: Session, parents: tuple[int, int]) -> None:
    target_id, observation_id = parents
    values = [np.array([1.0, np.nan, np.inf, -np.inf, 1e-300]), np.array([], dtype=float),
              np.arange(1000, dtype=np.float64)]
    rows = [{"target_id": target_id, "observation_id": observation_id, "values": v,
             "errors": None if i == 1 else v * 0.5, "unit": "electron / s"}
            for i, v in enumerate(values)]
    assert copy_rows(session.connection(), DataSet, rows) == 3
    loaded = _datasets(session, target_id)
    assert len(loaded) == 3
    for lc, v, i in zip(loaded, values, range(3), strict=True):
        assert lc.values.dtype == np.float64
        np.testing.assert_array_equal(lc.values, v)
        if i == 1:
            assert lc.errors is None
        else:
            np.testing.assert_array_equal(lc.errors, v * 0.5)
        assert lc.unit == "electron / s"


def test_tuple_rows_with_columns(session: Session, parents: tuple[int, int]) -> None:
    target_id, observation_id = parents
    rows = [(target_id, observation_id, [1, 2, 3])]
    n = copy_rows(session.connection(), DataSet.__table__, rows,
                  columns=["target_id", "observation_id", "values"])
    assert n == 1
    (lc,) = _datasets(session, target_id)
    np.testing.assert_array_equal(lc.values, [1.0, 2.0, 3.0])


def test_scalar_table_unicode_and_chunks(session: Session) -> None:
    before = _count(session, PhotometricSource)
    names = [f"Öffnung ✓ {i} 光" for i in range(10)]
    rows = [{"name": n, "description": None if i % 2 else "déjà vu"}
            for i, n in enumerate(names)]
    assert copy_rows(session.connection(), PhotometricSource, rows, chunk_size=3) == 10
    assert _count(session, PhotometricSource) == before + 10
    got = session.execute(select(PhotometricSource.name, PhotometricSource.description)
                          .where(PhotometricSource.name.in_(names))
                          .order_by(PhotometricSource.id)).all()
    assert [g.name for g in got] == names
    assert got[0].description == "déjà vu" and got[1].description is None


def test_empty_input(session: Session) -> None:
    assert copy_rows(session.connection(), PhotometricSource, []) == 0


def test_structured_array(session: Session, parents: tuple[int, int]) -> None:
    target_id, observation_id = parents
    arr = np.zeros(4, dtype=[("target_id", "i8"), ("observation_id", "i8"),
                             ("values", "f8", (5,))])
    arr["target_id"] = target_id
    arr["observation_id"] = observation_id
    arr["values"] = np.arange(20, dtype=float).reshape(4, 5)
    assert copy_rows(session.connection(), DataSet, arr, chunk_size=3) == 4
    loaded = _datasets(session, target_id)
    np.testing.assert_array_equal(np.stack([lc.values for lc in loaded]), arr["values"])


def test_astropy_table(session: Session, parents: tuple[int, int]) -> None:
    target_id, observation_id = parents
    table = Table({"target_id": [target_id] * 2, "observation_id": [observation_id] * 2,
                   "values": np.array([[1.0, 2.0], [3.0, np.nan]]),
                   "unit": ["adu", "electron"]})
    assert copy_rows(session.connection(), DataSet, table) == 2
    loaded = _datasets(session, target_id)
    assert [lc.unit for lc in loaded] == ["adu", "electron"]
    np.testing.assert_array_equal(loaded[1].values, [3.0, np.nan])


@pytest.mark.parametrize("bad", [np.array(["a", "b"]), [[1.0, 2.0], [3.0]],
                                 np.array([1 + 2j])], ids=["dtype", "ragged", "complex"])
def test_bad_row_in_third_chunk_rolls_back(session: Session, parents: tuple[int, int],
                                           bad: object) -> None:
    target_id, observation_id = parents
    rows = [{"target_id": target_id, "observation_id": observation_id,
             "values": np.arange(3.0)} for _ in range(10)]
    rows[7]["values"] = bad
    with pytest.raises(BulkLoadError) as info:
        copy_rows(session.connection(), DataSet, rows, chunk_size=3)
    err = info.value
    assert (err.chunk_index, err.row_index, err.column) == (2, 7, "values")
    assert "chunk 2" in str(err) and "row 7" in str(err) and "'values'" in str(err)
    assert _datasets(session, target_id) == []


def test_database_error_rolls_back(session: Session, parents: tuple[int, int]) -> None:
    target_id, observation_id = parents
    rows = [{"target_id": target_id, "observation_id": observation_id,
             "values": np.arange(2.0)} for _ in range(5)]
    rows[4]["target_id"] = -12345  # no such target: foreign key violation
    with pytest.raises(BulkLoadError, match="chunk 1"):
        copy_rows(session.connection(), DataSet, rows, chunk_size=3)
    assert _datasets(session, target_id) == []
    # The connection is still usable afterwards.
    assert copy_rows(session.connection(), DataSet, rows[:2]) == 2


def test_unknown_column(session: Session) -> None:
    with pytest.raises(ValueError, match="no column"):
        copy_rows(session.connection(), PhotometricSource, [{"nom": "x"}])


def test_psycopg2_refused(postgres_server) -> None:
    engine = lightcurvedb.connect(postgres_server.url("postgres", driver="psycopg2"))
    try:
        with engine.connect() as connection, pytest.raises(TypeError, match="psycopg 3"):
            copy_rows(connection, PhotometricSource, [{"name": "x"}])
    finally:
        engine.dispose()


def test_schema_qualified_table_defaults_and_timestamps(session: Session) -> None:
    import datetime as dt

    from lightcurvedb.rbh1.zones01 import PipelineRun

    start = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    rows = [{"run_name": "bulk-test", "stage_name": "ingest", "status": "success",
             "started_at": start, "notes": f"n{i}"} for i in range(4)]
    assert copy_rows(session.connection(), PipelineRun, rows, chunk_size=3) == 4
    runs = list(session.scalars(select(PipelineRun).where(PipelineRun.run_name == "bulk-test")))
    assert len(runs) == 4
    assert all(r.started_at == start and r.started_at.utcoffset() == dt.timedelta(0)
               for r in runs)
    assert all(r.rows_processed == 0 and r.rows_failed == 0 for r in runs)


def test_naive_datetime_refused(session: Session) -> None:
    import datetime as dt

    from lightcurvedb.rbh1.zones01 import PipelineRun

    rows = [{"run_name": "bulk-naive", "stage_name": "s", "status": "success",
             "started_at": dt.datetime(2024, 1, 1)}]
    with pytest.raises(BulkLoadError, match="started_at.*naive"):
        copy_rows(session.connection(), PipelineRun, rows)


@pytest.mark.parametrize("dtype", ["f8", "f4", "i8", "i4", "i2", "?"])
def test_numpy_dumper_is_understood_by_postgres(postgres_server, dtype: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    from lightcurvedb.core.pgarray import PG_ELEMENTS, array_dumper

    element = PG_ELEMENTS[np.dtype(dtype)]
    url = postgres_server.url("postgres")
    with psycopg.connect(host=url.host, port=url.port, user=url.username,
                         dbname="postgres") as conn, conn.cursor() as cursor:
        cursor.adapters.register_dumper(np.ndarray, array_dumper(np.dtype(dtype), element,
                                                                  cursor))
        for arr in (np.array([1, 0, 3], dtype=dtype), np.array([], dtype=dtype)):
            cursor.execute(f"SELECT %b = %s::{element}[], array_ndims(%b), %b::text",
                           [arr, arr.tolist(), arr, arr])
            equal, ndims, text = cursor.fetchone()
            assert equal, text
            assert ndims == (1 if arr.size else None)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # binary COPY is PostgreSQL's
def test_postgres_arrays_skip_python_lists(session: Session, parents: tuple[int, int],
                                           monkeypatch) -> None:
    from lightcurvedb.core import pgarray as bulk
    from lightcurvedb.core.types import NumpyArray

    dumped: list[int] = []
    original = bulk.array_dumper

    def spying(dtype, element, cursor):
        base = original(dtype, element, cursor)
        return type("Spy", (base,), {"dump": lambda self, obj: (
            dumped.append(len(obj)), base.dump(self, obj))[1]})

    monkeypatch.setattr(bulk, "_dumper_cache", {})
    monkeypatch.setattr(bulk, "array_dumper", spying)
    monkeypatch.setattr(NumpyArray, "process_bind_param", None)  # the ORM path: unused
    target_id, observation_id = parents
    rows = [{"target_id": target_id, "observation_id": observation_id,
             "values": np.arange(7.0), "errors": np.ones(7)}]
    assert copy_rows(session.connection(), DataSet, rows) == 1
    assert dumped == [7, 7]


def test_uuid_default_and_json(session: Session) -> None:
    from lightcurvedb.models import Instrument

    rows = [{"name": "cam ✓", "properties": {"a": [1, 2], "b": "é"}}]
    assert copy_rows(session.connection(), Instrument, rows) == 1
    inst = session.scalars(select(Instrument).where(Instrument.name == "cam ✓")).one()
    assert inst.properties == {"a": [1, 2], "b": "é"} and inst.id is not None


# --- progress bar ---------------------------------------------------------------------

def _last_draw(err: str) -> str:
    return err.rstrip("\n").split("\r")[-1].strip()


def test_progress_bar_counts_rows(session: Session, capsys) -> None:
    rows = [{"name": f"progress ✓ {i}"} for i in range(10)]
    assert copy_rows(session.connection(), PhotometricSource, rows, chunk_size=3,
                     progress=True) == 10
    err = capsys.readouterr().err
    assert err.endswith("\n")
    final = _last_draw(err)
    assert final.startswith("photometric_source [")
    assert " 10/10 " in final and "rows/s" in final


def test_progress_bar_of_a_generator_and_of_a_resumed_input(session: Session, capsys) -> None:
    names = [f"progress gen {i}" for i in range(7)]
    assert copy_rows(session.connection(), PhotometricSource,
                     ({"name": n} for n in names), progress=True) == 7
    final = _last_draw(capsys.readouterr().err)
    assert final.startswith("photometric_source 7 rows ")  # no len(): a count, no bar
    more = [{"name": f"progress resumed {i}"} for i in range(10)]
    assert copy_rows(session.connection(), PhotometricSource, more, start=4,
                     progress=True) == 6
    assert " 6/6 " in _last_draw(capsys.readouterr().err)


def test_no_progress_unless_asked(session: Session, capsys) -> None:
    rows = [{"name": f"quiet {i}"} for i in range(10)]
    assert copy_rows(session.connection(), PhotometricSource, rows) == 10
    assert capsys.readouterr().err == ""


# --- chunks bounded by bytes ----------------------------------------------------------

def test_chunk_bytes_bounds_wide_chunks(session: Session, parents: tuple[int, int]) -> None:
    target_id, observation_id = parents
    rows = [{"target_id": target_id, "observation_id": observation_id,
             "values": np.arange(100.0)} for _ in range(6)]  # 800 bytes of array per row
    rows[4]["values"] = np.array(["x"])
    with pytest.raises(BulkLoadError) as info:  # sent once 800 bytes are buffered: 1 row
        copy_rows(session.connection(), DataSet, rows, chunk_bytes=800)
    assert (info.value.chunk_index, info.value.row_index) == (4, 4)
    with pytest.raises(BulkLoadError) as info:  # 1,600 bytes: two rows per chunk
        copy_rows(session.connection(), DataSet, rows, chunk_bytes=1600)
    assert (info.value.chunk_index, info.value.row_index) == (2, 4)
    with pytest.raises(ValueError, match="chunk_bytes"):
        copy_rows(session.connection(), DataSet, rows, chunk_bytes=0)


# --- resumable loads (they commit: a throwaway table, not the rollback session) -------

@pytest.fixture
def scratch(engine: Engine) -> Iterator[SATable]:
    """A committed throwaway table on the backend, dropped afterwards."""
    metadata = MetaData()
    table = SATable(f"bulk_scratch_{uuid.uuid4().hex[:8]}", metadata,
                    Column("id", Integer, primary_key=True),
                    Column("n", Integer, nullable=False),
                    Column("label", Text),
                    Column("values", NumpyArray("f8")))
    metadata.create_all(engine)
    try:
        yield table
    finally:
        metadata.drop_all(engine)


def _committed(engine: Engine, table: SATable) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(
            select(table.c.n, table.c.label, table.c["values"]).order_by(table.c.n))]


def _scratch_rows(count: int = 10) -> list[dict]:
    return [{"n": i, "label": f"ω {i}", "values": np.arange(i, dtype=float)}
            for i in range(count)]


def test_resumable_load_keeps_chunks_before_a_bad_row(engine: Engine, scratch: SATable) -> None:
    rows = _scratch_rows()
    rows[7]["values"] = np.array(["not", "numbers"])
    with engine.connect() as connection:
        with pytest.raises(BulkLoadError) as info:
            copy_rows(connection, scratch, rows, chunk_size=3, commit_each_chunk=True)
        assert not connection.in_transaction()
    err = info.value
    # Chunks 0 (rows 0-2) and 1 (3-5) are committed; chunk 2 (6-8) fails at row 7.
    assert (err.chunk_index, err.row_index, err.column, err.resume_from) == (2, 7, "values", 6)
    assert "start=6" in str(err)
    assert [r[0] for r in _committed(engine, scratch)] == [0, 1, 2, 3, 4, 5]
    rows[7]["values"] = np.array([7.0])
    assert copy_rows(engine, scratch, rows, chunk_size=3, commit_each_chunk=True,
                     start=err.resume_from) == 4
    got = _committed(engine, scratch)
    assert [r[0] for r in got] == list(range(10))  # each row exactly once
    assert got[9][1] == "ω 9"
    np.testing.assert_array_equal(got[7][2], [7.0])
    np.testing.assert_array_equal(got[9][2], np.arange(9.0))


def test_resumable_load_database_error(engine: Engine, scratch: SATable) -> None:
    rows = _scratch_rows()
    rows[7]["n"] = None  # NOT NULL: refused by the database, not by validation
    with pytest.raises(BulkLoadError) as info:
        copy_rows(engine, scratch, iter(rows), chunk_size=3, commit_each_chunk=True)
    err = info.value
    assert (err.chunk_index, err.resume_from) == (2, 6)
    assert [r[0] for r in _committed(engine, scratch)] == [0, 1, 2, 3, 4, 5]
    rows[7]["n"] = 7
    assert copy_rows(engine, scratch, iter(rows), chunk_size=3, commit_each_chunk=True,
                     start=6) == 4
    assert [r[0] for r in _committed(engine, scratch)] == list(range(10))


def test_resumable_load_failing_in_first_chunk(engine: Engine, scratch: SATable) -> None:
    rows = _scratch_rows(5)
    rows[1]["values"] = [[1.0], [2.0, 3.0]]
    with pytest.raises(BulkLoadError, match="no chunk of this call was committed") as info:
        copy_rows(engine, scratch, rows, chunk_size=3, commit_each_chunk=True)
    assert info.value.resume_from == 0
    assert _committed(engine, scratch) == []


def test_default_mode_leaves_nothing_behind(engine: Engine, scratch: SATable) -> None:
    rows = _scratch_rows()
    rows[7]["values"] = np.array([1 + 1j])
    with pytest.raises(BulkLoadError, match="nothing of this call was written") as info:
        copy_rows(engine, scratch, rows, chunk_size=3)
    assert info.value.resume_from == 0
    with pytest.raises(BulkLoadError) as info:
        copy_rows(engine, scratch, rows, chunk_size=3, start=2)
    assert (info.value.row_index, info.value.resume_from) == (7, 2)
    assert _committed(engine, scratch) == []
    rows[7]["values"] = np.array([7.0])
    assert copy_rows(engine, scratch, rows, chunk_size=3) == 10  # the engine form commits
    assert len(_committed(engine, scratch)) == 10


def test_resumable_mode_refuses_a_transaction_in_progress(engine: Engine, session: Session,
                                                         scratch: SATable) -> None:
    rows = _scratch_rows(2)
    with pytest.raises(ValueError, match="no transaction in progress"):
        copy_rows(session.connection(), scratch, rows, commit_each_chunk=True)
    with engine.begin() as connection, \
            pytest.raises(ValueError, match="no transaction in progress"):
        copy_rows(connection, scratch, rows, commit_each_chunk=True)
    assert _committed(engine, scratch) == []


# --- sky footprints (PostGIS geometry on PostgreSQL with PostGIS, WKT elsewhere) -------

def test_footprints_copy(session: Session, backend: str) -> None:
    from lightcurvedb.core.geometry import SkyPolygon
    from lightcurvedb.rbh1 import GeometricRegion, RegionOfInterest

    square = SkyPolygon(((150.5, 2.25), (150.75, 2.25), (150.75, 2.5), (150.5, 2.5)))
    rows = [{"name": "bulk wake ✓", "region": GeometricRegion.WAKE_INNER, "footprint": square},
            {"name": "bulk tip", "region": GeometricRegion.TIP,
             "footprint": [(10.0, -5.0), (10.5, -5.0), (10.25, -4.5)]}]
    assert copy_rows(session.connection(), RegionOfInterest, rows) == 2
    got = {r.name: r for r in session.scalars(
        select(RegionOfInterest).where(RegionOfInterest.name.like("bulk %")))}
    assert got["bulk wake ✓"].footprint == square
    assert got["bulk tip"].footprint.vertices == ((10.0, -5.0), (10.5, -5.0), (10.25, -4.5))
    assert got["bulk tip"].region is GeometricRegion.TIP
    if postgis_footprints(session.get_bind().dialect):
        text_, srid, valid = session.execute(text(
            "SELECT ST_AsText(footprint), ST_SRID(footprint), ST_IsValid(footprint) "
            "FROM rbh1.regions_of_interest WHERE name = 'bulk wake ✓'")).one()
        assert text_ == "POLYGON((150.5 2.25,150.75 2.25,150.75 2.5,150.5 2.5,150.5 2.25))"
        assert (srid, valid) == (4326, True)
    else:  # SQLite, or PostgreSQL without PostGIS: the well-known text as stored
        table = "rbh1.regions_of_interest" if backend == "postgresql" else "regions_of_interest"
        stored = session.execute(text(
            f"SELECT footprint FROM {table} WHERE name = 'bulk wake ✓'")).scalar_one()
        assert stored == square.to_wkt()


def test_bad_footprint_names_the_column(session: Session) -> None:
    from lightcurvedb.rbh1 import GeometricRegion, RegionOfInterest

    rows = [{"name": "bulk line", "region": GeometricRegion.HOST,
             "footprint": [(1.0, 1.0), (2.0, 2.0)]}]
    with pytest.raises(BulkLoadError, match="row 0, column 'footprint'.*3 distinct vertices"):
        copy_rows(session.connection(), RegionOfInterest, rows)


# --- input shapes: masks, missing keys, short tuples ----------------------------------

def test_masked_table_entries_become_null(session: Session) -> None:
    names = [f"masked {i}" for i in range(5)]
    table = Table({"name": names, "description": ["a", "b", "c", "d", "e"]}, masked=True)
    table["description"].mask = [False, True, False, True, False]
    assert copy_rows(session.connection(), PhotometricSource, table, chunk_size=2) == 5
    got = session.execute(select(PhotometricSource.description)
                          .where(PhotometricSource.name.in_(names))
                          .order_by(PhotometricSource.name)).scalars().all()
    assert got == ["a", None, "c", None, "e"]


def test_missing_key_and_short_tuple_name_the_row(session: Session) -> None:
    rows = [{"name": f"keys {i}", "description": "x"} for i in range(5)]
    del rows[3]["description"]
    with pytest.raises(BulkLoadError) as info:
        copy_rows(session.connection(), PhotometricSource, rows, chunk_size=2)
    assert (info.value.chunk_index, info.value.row_index, info.value.column) == \
        (1, 3, "description")
    assert "missing value" in str(info.value)
    tuples = [("t1", "x"), ("t2", "y"), ("t3",)]
    with pytest.raises(BulkLoadError, match="row 2: expected 2 values, got 1"):
        copy_rows(session.connection(), PhotometricSource, tuples,
                  columns=["name", "description"])
    assert _count_named(session, "keys ") == 0


def test_a_later_dict_with_keys_the_first_lacks_is_refused(session: Session) -> None:
    rows = [{"name": "later 0"}, {"name": "later 1", "description": "kept?"}]
    with pytest.raises(BulkLoadError, match="row 1: keys 'description' are not among the "
                                            "columns taken from the first row"):
        copy_rows(session.connection(), PhotometricSource, rows)
    assert _count_named(session, "later ") == 0
    # Naming the columns says which keys to take; the others are ignored on purpose.
    assert copy_rows(session.connection(), PhotometricSource, rows, columns=["name"]) == 2


def _count_named(session: Session, prefix: str) -> int:
    return session.scalar(select(func.count()).select_from(PhotometricSource)
                          .where(PhotometricSource.name.like(f"{prefix}%")))


def test_float_precisions_copy_as_the_column_stores_them(engine: Engine) -> None:
    # FLOAT(p) is real (4 bytes) for p <= 24 and double precision above: the
    # binary COPY must send what the column is, whatever SQLAlchemy calls it.
    from sqlalchemy import Float

    metadata = MetaData()
    table = SATable(f"bulk_floats_{uuid.uuid4().hex[:8]}", metadata,
                    Column("id", Integer, primary_key=True), Column("single", Float(24)),
                    Column("double", Float(53)), Column("plain", Float()))
    metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            assert copy_rows(connection, table, [(1, 1.5, 1 / 3, -0.25)]) == 1
            row = connection.execute(select(table)).one()
        assert row == (1, 1.5, 1 / 3, -0.25)
    finally:
        metadata.drop_all(engine)


def test_every_array_dtype_copies_exactly(session: Session, backend: str) -> None:
    from array_support import DTYPES, extremes, same_bits

    metadata = MetaData()
    table = SATable("bulk_every_dtype", metadata, Column("id", Integer, primary_key=True),
                    *(Column(f"a_{n}", NumpyArray(n)) for n in DTYPES))
    connection = session.connection()
    metadata.create_all(connection)
    rows = [{"id": 1, **{f"a_{n}": extremes(n) for n in DTYPES}},
            {"id": 2, **{f"a_{n}": extremes(n)[::-1] for n in DTYPES}}]
    assert copy_rows(connection, table, rows) == 2
    back = connection.execute(select(table).order_by(table.c.id)).all()
    for name in DTYPES:
        assert same_bits(back[0]._mapping[f"a_{name}"], extremes(name)), name
        assert same_bits(back[1]._mapping[f"a_{name}"], extremes(name)[::-1].copy()), name
    if backend == "postgresql":  # the server holds the values, not a wrapped-around form
        assert connection.execute(text("SELECT a_uint32[5], a_uint8[4], a_int8[1] "
                                       "FROM bulk_every_dtype WHERE id = 1")).one() \
            == (int(extremes("uint32")[4]), int(extremes("uint8")[3]), int(extremes("int8")[0]))
    with pytest.raises(BulkLoadError, match="a_uint8.*without losing information"):
        copy_rows(connection, table, [{"id": 3, "a_uint8": np.array([-1])}])
