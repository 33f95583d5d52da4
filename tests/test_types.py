"""The portable numpy array column, path and UTC timestamp types, on both backends."""

from __future__ import annotations

import datetime as dt
import pathlib

import numpy as np
import numpy.typing as npt
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from array_support import DTYPES, extremes
from lightcurvedb.core.types import ArrayValidationError, NumpyArray, PathType, UTCDateTime
from lightcurvedb.models import DataSet, FITSFrame
from lightcurvedb.testing import factories

scratch = sa.MetaData()
arrays = sa.Table(
    "scratch_arrays", scratch,
    sa.Column("id", sa.Integer, primary_key=True),
    *(sa.Column(f"a_{name}", NumpyArray(name)) for name in DTYPES),
    sa.Column("finite_only", NumpyArray("float64", finite=True)),
    sa.Column("path", PathType()),
    sa.Column("stamp", UTCDateTime()),
)


@pytest.fixture
def connection(session):
    conn = session.connection()
    scratch.create_all(conn)
    return conn


@pytest.mark.parametrize("name", DTYPES)
def test_round_trip_keeps_dtype_and_every_bit(connection, name):
    values = extremes(name)
    connection.execute(arrays.insert(), {"id": 1, f"a_{name}": values})
    back = connection.execute(sa.select(arrays.c[f"a_{name}"])).scalar_one()
    assert isinstance(back, np.ndarray)
    assert back.dtype == np.dtype(name)
    assert back.tobytes() == values.tobytes()


def test_a_sector_of_two_minute_cadences_round_trips(connection):
    # One TESS sector at 2-minute cadence is ~20,000 points (the benchmarks' size).
    flux = np.random.default_rng(1).normal(1.0, 1e-3, 20_000)
    connection.execute(arrays.insert(), {"id": 1, "a_float64": flux})
    back = connection.execute(sa.select(arrays.c.a_float64)).scalar_one()
    np.testing.assert_array_equal(back, flux)


def test_empty_and_null_arrays(connection):
    connection.execute(arrays.insert(), [{"id": 1, "a_int32": np.array([], dtype=np.int32)},
                                         {"id": 2, "a_int32": None}])
    rows = dict(connection.execute(sa.select(arrays.c.id, arrays.c.a_int32)).all())
    assert rows[1].dtype == np.int32 and rows[1].size == 0
    assert rows[2] is None


def test_storage_is_native_on_each_backend(connection, backend):
    connection.execute(arrays.insert(), {"id": 1, "a_int32": np.array([1, 256], dtype=">i4"),
                                         "a_float64": np.array([1.5, 2.5, 3.5])})
    if backend == "sqlite":
        # Raw little-endian bytes, whatever the input's byte order.
        raw = connection.exec_driver_sql("SELECT a_int32 FROM scratch_arrays").scalar_one()
        assert raw == b"\x01\x00\x00\x00\x00\x01\x00\x00"
    else:
        # A real ARRAY: SQL can index it (1-based) and knows its element type.
        second, kind = connection.exec_driver_sql(
            "SELECT a_float64[2], pg_typeof(a_float64)::text FROM scratch_arrays").one()
        assert second == 2.5
        assert kind == "double precision[]"


@pytest.mark.parametrize(
    ("value", "dtype", "message"),
    [
        ([[1.0, 2.0], [3.0]], "float64", "ragged"),
        (np.zeros((2, 3)), "float64", "1-D"),
        (5.0, "float64", "1-D"),
        (np.array([1.5, 2.0]), "int64", "without losing information"),
        (np.array([70000], dtype=np.int64), "int16", "without losing information"),
        (np.array([2**53 + 1], dtype=np.int64), "float64", "without losing information"),
        (np.array([0.1], dtype=np.float64), "float32", "without losing information"),
        (np.array([0, 1, 2]), "bool", "without losing information"),
        (np.array([1 + 1j]), "float64", "without losing information"),
        (np.array(["a", "b"]), "float64", "without losing information"),
    ],
)
def test_lossy_or_malformed_input_is_refused(connection, value, dtype, message):
    with pytest.raises(StatementError, match=message) as info:
        connection.execute(arrays.insert(), {"id": 1, f"a_{dtype}": value})
    assert isinstance(info.value.orig, ArrayValidationError)


def test_lossless_casts_are_accepted(connection):
    connection.execute(arrays.insert(), {
        "id": 1,
        "a_float64": np.array([1, 2, 3], dtype=np.int32),  # int32 -> float64 is exact
        "a_int16": np.array([-5, 7], dtype=np.int64),       # values fit in int16
        "a_float32": np.array([0.5, 0.25]),                 # exactly representable
        "a_bool": [0, 1],
    })
    row = connection.execute(sa.select(arrays)).one()
    assert row.a_float64.tolist() == [1.0, 2.0, 3.0]
    assert row.a_int16.dtype == np.int16 and row.a_int16.tolist() == [-5, 7]
    assert row.a_float32.tolist() == [0.5, 0.25]
    assert row.a_bool.tolist() == [False, True]


def test_finite_columns_refuse_nan_and_inf(connection):
    for bad in (np.nan, np.inf):
        with pytest.raises(StatementError, match="non-finite"):
            connection.execute(arrays.insert(), {"id": 1, "finite_only": [1.0, bad]})
    connection.execute(arrays.insert(), {"id": 1, "finite_only": [1.0, 2.0]})


def test_orm_assignment_names_the_attribute(session):
    lc = factories.DataSetFactory()
    with pytest.raises(ArrayValidationError, match=r"DataSet\.values: expected a 1-D array"):
        lc.values = np.zeros((10, 2))
    with pytest.raises(ArrayValidationError, match=r"DataSet\.errors: ragged"):
        DataSet(errors=[[1.0], [2.0, 3.0]])
    with pytest.raises(ArrayValidationError, match=r"FITSFrame\.naxis_values: cannot store"):
        FITSFrame(naxis_values=np.array([2048.5]))


def test_orm_assignment_converts_sequences(session):
    lc = factories.DataSetFactory(values=[1, 2, 3], errors=(0.5, 0.5, 0.5))
    assert lc.values.dtype == np.float64 and lc.values.tolist() == [1.0, 2.0, 3.0]
    session.flush()
    session.expire(lc)
    assert lc.errors.tolist() == [0.5, 0.5, 0.5]


def test_reassigning_an_equal_array_is_not_a_change(session):
    lc = factories.DataSetFactory()
    session.flush()
    lc.values = lc.values.copy()
    assert not session.is_modified(lc)
    lc.values = lc.values * 2
    assert session.is_modified(lc)


def test_unsupported_dtype_is_a_type_error():
    with pytest.raises(TypeError, match="does not support dtype complex128"):
        NumpyArray("complex128")
    with pytest.raises(TypeError, match="uint64: PostgreSQL has no unsigned 64-bit integer"):
        NumpyArray("uint64")


# PostgreSQL has no 1-byte or unsigned integers: each narrow dtype is stored in
# the narrowest signed type that holds all its values.
NARROW_STORAGE = {"int8": "smallint[]", "uint8": "smallint[]", "uint16": "integer[]",
                  "uint32": "bigint[]"}


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
@pytest.mark.parametrize("name", list(NARROW_STORAGE))
def test_narrow_integers_are_stored_as_wider_ones_and_checked_on_the_way_back(
        connection, name):
    values = extremes(name)
    connection.execute(arrays.insert(), {"id": 1, f"a_{name}": values})
    kind, on_server = connection.exec_driver_sql(
        f"SELECT pg_typeof(a_{name})::text, a_{name} FROM scratch_arrays").one()
    assert kind == NARROW_STORAGE[name]
    assert on_server == values.tolist()  # the numbers themselves, not a wrapped form
    too_big = int(np.iinfo(name).max) + 1
    connection.exec_driver_sql(f"UPDATE scratch_arrays SET a_{name} = ARRAY[{too_big}]")
    with pytest.raises(ValueError, match=f"{too_big}, outside the range of {name}"):
        connection.execute(sa.select(arrays.c[f"a_{name}"])).scalar_one()


def test_paths_and_utc_timestamps(connection):
    stamp = dt.datetime(2018, 7, 25, 19, 0, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    connection.execute(arrays.insert(), {"id": 1, "path": "/data/tess/s0001.fits",
                                         "stamp": stamp})
    row = connection.execute(sa.select(arrays.c.path, arrays.c.stamp)).one()
    assert row.path == pathlib.Path("/data/tess/s0001.fits")
    assert row.stamp == dt.datetime(2018, 7, 25, 23, 0, tzinfo=dt.UTC)
    assert row.stamp.tzinfo is not None


def test_naive_timestamps_are_refused(connection):
    with pytest.raises(StatementError, match="naive datetime"):
        connection.execute(arrays.insert(), {"id": 1, "stamp": dt.datetime(2020, 1, 1)})


@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_has_an_annotation(name):
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    from lightcurvedb import Base

    class Scratch(DeclarativeBase):
        type_annotation_map = Base.type_annotation_map

    # Real annotation objects (this module's are strings, postponed).
    row = type("Row", (Scratch,), {
        "__tablename__": "annotated", "id": mapped_column(primary_key=True),
        "values": mapped_column(), "__annotations__": {
            "id": Mapped[int], "values": Mapped[npt.NDArray[np.dtype(name).type]]}})
    column_type = row.__table__.c["values"].type
    assert isinstance(column_type, NumpyArray) and column_type.dtype == np.dtype(name)


def test_annotations_map_to_the_portable_types():
    table = DataSet.__table__
    assert isinstance(table.c["values"].type, NumpyArray)
    assert table.c["values"].type.dtype == np.float64
    assert FITSFrame.__table__.c.naxis_values.type.dtype == np.int32
    assert isinstance(FITSFrame.__table__.c.file_path.type, PathType)
