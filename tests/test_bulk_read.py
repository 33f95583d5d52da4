"""lightcurvedb.bulk.read_arrays / read_arrays_flat on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from array_support import DTYPES, extremes, same_bits
from lightcurvedb.bulk import FlatArrays, _read, read_arrays, read_arrays_flat
from lightcurvedb.core import pgarray
from lightcurvedb.core.types import NumpyArray
from lightcurvedb.models import DataSet
from lightcurvedb.testing import factories

scratch = sa.MetaData()
arrays = sa.Table("bulk_read_scratch", scratch,
                  sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("label", sa.String(20)),
                  *(sa.Column(f"a_{n}", NumpyArray(n)) for n in DTYPES))


@pytest.fixture
def connection(session: Session):
    conn = session.connection()
    scratch.create_all(conn)
    return conn


@pytest.fixture
def light_curves(session: Session) -> dict[int, tuple[np.ndarray, np.ndarray | None]]:
    """Four light curves of one target: normal, empty, errors NULL, 200k points."""
    rng = np.random.default_rng(11)
    target = factories.TargetFactory()
    observation = factories.ObservationFactory()
    big = rng.normal(1.0, 1e-3, 200_000)
    arrays_in = [(np.array([1.0, np.nan, -0.0, np.inf]), np.array([0.1, 0.2, 0.3, 0.4])),
                 (np.array([]), np.array([])),
                 (np.array([5.0, 6.0]), None),
                 (big, np.abs(big) * 1e-3)]
    made = {}
    for values, errors in arrays_in:
        lc = DataSet(target=target, observation=observation, values=values, errors=errors)
        session.add(lc)
        session.flush()
        made[lc.id] = (values, errors)
    return made


def test_one_column_by_target(session: Session, light_curves) -> None:
    target_id = session.get(DataSet, next(iter(light_curves))).target_id
    got = read_arrays(session, DataSet, "values", where=DataSet.target_id == target_id)
    assert list(got) == sorted(light_curves)
    for key, (values, _errors) in light_curves.items():
        assert same_bits(got[key], values)
        assert got[key].flags.writeable and got[key].flags.c_contiguous


def test_several_columns_by_keys(session: Session, light_curves) -> None:
    wanted = list(light_curves)[1:] + [10**9]  # a key that does not exist is just absent
    got = read_arrays(session.connection(), DataSet.__table__, ["values", "errors"],
                      keys=iter(wanted))
    assert sorted(got) == sorted(light_curves)[1:]
    for key in got:
        values, errors = light_curves[key]
        assert same_bits(got[key]["values"], values)
        if errors is None:
            assert got[key]["errors"] is None
        else:
            assert same_bits(got[key]["errors"], errors)
    assert read_arrays(session.connection(), DataSet, "values", keys=[]) == {}


def test_flat_read_concatenates_with_offsets(session: Session, light_curves) -> None:
    flat = read_arrays_flat(session.connection(), DataSet, ["values", "errors"],
                            keys=list(light_curves))
    assert isinstance(flat, FlatArrays)
    keys = sorted(light_curves)
    assert flat.keys.tolist() == keys and len(flat) == 4
    lengths = [len(light_curves[k][0]) for k in keys]
    assert flat.offsets.tolist() == [0, *np.cumsum(lengths).tolist()]
    assert same_bits(flat.columns["values"],
                     np.concatenate([light_curves[k][0] for k in keys]))
    assert flat.nulls["errors"].tolist() == [light_curves[k][1] is None for k in keys]
    assert flat.nulls["values"].tolist() == [False] * 4
    null_key = keys[2]
    start, stop = flat.offsets[2], flat.offsets[3]
    assert np.isnan(flat.columns["errors"][start:stop]).all()
    assert flat[null_key]["errors"] is None
    assert same_bits(flat[null_key]["values"], light_curves[null_key][0])
    split = flat.split()
    assert list(split) == keys
    assert same_bits(split[keys[3]]["errors"], light_curves[keys[3]][1])
    one = read_arrays_flat(session.connection(), DataSet, "values", keys=flat.keys).split()
    assert all(same_bits(one[k], light_curves[k][0]) for k in keys)
    with pytest.raises(KeyError):
        flat[10**9]


@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_and_nulls(connection, name: str) -> None:
    column = f"a_{name}"
    connection.execute(arrays.insert(), [{"id": 1, column: extremes(name)},
                                         {"id": 2, column: np.array([], dtype=name)},
                                         {"id": 3, column: None}])
    got = read_arrays(connection, arrays, column)
    assert same_bits(got[1], extremes(name))
    assert got[2].dtype == np.dtype(name) and got[2].size == 0
    assert got[3] is None
    flat = read_arrays_flat(connection, arrays, column)
    assert same_bits(flat.columns[column], extremes(name))
    assert flat.offsets.tolist() == [0, len(extremes(name))] + [len(extremes(name))] * 2
    assert flat.nulls[column].tolist() == [False, False, True]


def test_other_key_column_and_where(connection) -> None:
    connection.execute(arrays.insert(), [
        {"id": i, "label": f"lc-{i}", "a_int32": np.arange(i, dtype=np.int32)}
        for i in range(1, 6)])
    got = read_arrays(connection, arrays, "a_int32", key="label",
                      where=arrays.c.id.in_([2, 4]))
    assert list(got) == ["lc-2", "lc-4"]
    assert same_bits(got["lc-4"], np.arange(4, dtype=np.int32))
    got = read_arrays(connection, arrays, "a_int32", key="label", keys=["lc-5", "lc-1"],
                      where=arrays.c.id > 1)
    assert list(got) == ["lc-5"]


def test_many_keys_span_several_queries(connection, monkeypatch) -> None:
    monkeypatch.setattr(_read, "SQLITE_KEYS_PER_QUERY", 7)
    connection.execute(arrays.insert(), [{"id": i, "a_int64": np.full(3, i)}
                                         for i in range(1, 31)])
    got = read_arrays(connection, arrays, "a_int64", keys=range(30, 0, -2))
    assert list(got) == list(range(2, 31, 2))
    assert all(same_bits(got[k], np.full(3, k)) for k in got)


def test_errors_name_the_column(connection) -> None:
    with pytest.raises(ValueError, match="no column 'flux'"):
        read_arrays(connection, arrays, ["a_int32", "flux"])
    with pytest.raises(ValueError, match="bulk_read_scratch.label is not an array column"):
        read_arrays(connection, arrays, "label")
    with pytest.raises(ValueError, match="no column 'ident'"):
        read_arrays(connection, arrays, "a_int32", key="ident")
    connection.execute(arrays.insert(), [{"id": 1, "label": "x", "a_int32": np.arange(2)},
                                         {"id": 2, "label": "x", "a_int32": np.arange(3)}])
    with pytest.raises(ValueError, match="not unique: 'x'"):
        read_arrays(connection, arrays, "a_int32", key="label")
    connection.execute(arrays.insert(), {"id": 3, "a_int32": np.arange(2),
                                         "a_int64": np.arange(5)})
    with pytest.raises(ValueError, match="row id=3: columns differ in length"):
        read_arrays_flat(connection, arrays, ["a_int32", "a_int64"])


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_postgres_reads_binary_arrays_without_lists(session: Session, light_curves,
                                                    monkeypatch) -> None:
    calls: list[tuple[type, np.dtype]] = []
    original = pgarray.decode_array

    def spy(buffer, dtype):
        calls.append((type(buffer), np.dtype(dtype)))
        return original(buffer, dtype)

    monkeypatch.setattr(pgarray, "decode_array", spy)
    got = read_arrays(session.connection(), DataSet, ["values", "errors"],
                      keys=list(light_curves))
    # One decode per non-NULL array, each from the binary wire bytes.
    assert len(calls) == 7
    assert all(kind in (bytes, memoryview) and dtype == np.float64 for kind, dtype in calls)
    key = max(light_curves)
    assert same_bits(got[key]["values"], light_curves[key][0])
    # The connection's own cursors are untouched afterwards: arrays are lists again.
    text = session.connection().exec_driver_sql("SELECT '{1,2}'::int4[]").scalar_one()
    assert text == [1, 2]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_psycopg2_connections_read_through_array_send(engine) -> None:
    import lightcurvedb

    psycopg2_engine = lightcurvedb.connect(engine.url.set(drivername="postgresql+psycopg2"))
    try:
        with psycopg2_engine.connect() as conn, conn.begin() as transaction:
            scratch.create_all(conn)
            conn.execute(arrays.insert(), [{"id": 1, "a_float32": extremes("float32")},
                                           {"id": 2, "a_float32": None}])
            got = read_arrays(conn, arrays, "a_float32")
            flat = read_arrays_flat(conn, arrays, "a_float32", keys=[1, 2])
            transaction.rollback()
    finally:
        psycopg2_engine.dispose()
    np.testing.assert_array_equal(got[1], extremes("float32"))  # psycopg2: -0.0 -> 0.0
    assert got[1].dtype == np.float32 and got[2] is None
    assert flat.nulls["a_float32"].tolist() == [False, True]
