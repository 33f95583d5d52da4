"""Array columns in SQL expressions: elements, slices, lengths and ANY/ALL, on both backends.

Every expected value is numpy indexing of the stored array, with PostgreSQL's
rules spelled out here: SQL index ``i`` is numpy's ``i - 1``, the SQL slice
``a:b`` is numpy's ``[a - 1:b]`` (both ends included), and subscripts past
either end give NULL.
"""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa

from array_support import DTYPES, extremes, same_bits
from lightcurvedb.core.arraysql import NumpyScalar
from lightcurvedb.core.types import NumpyArray
from lightcurvedb.models import DataSet, Observation
from lightcurvedb.testing import factories

scratch = sa.MetaData()
arrays = sa.Table("array_sql_scratch", scratch, sa.Column("id", sa.Integer, primary_key=True),
                  *(sa.Column(name, NumpyArray(name)) for name in DTYPES))


def sample(name: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` values of dtype ``name`` spread over its range (no NaN)."""
    dtype = np.dtype(name)
    if dtype.kind == "b":
        return rng.integers(0, 2, n).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    return rng.normal(0.0, 1.0, n).astype(dtype)


def stored_rows() -> dict[int, dict[str, np.ndarray | None]]:
    """Rows of every dtype: edge values, reversed, random of several lengths, empty, NULL."""
    rng = np.random.default_rng(11)
    rows: dict[int, dict[str, np.ndarray | None]] = {
        1: {n: extremes(n) for n in DTYPES},
        2: {n: extremes(n)[::-1].copy() for n in DTYPES},
        3: {n: np.array([], dtype=n) for n in DTYPES},
        4: dict.fromkeys(DTYPES),
    }
    for i, length in enumerate((1, 2, 3, 5, 8), start=5):
        rows[i] = {n: sample(n, rng, length) for n in DTYPES}
    return rows


ROWS = stored_rows()


@pytest.fixture
def conn(session):
    connection = session.connection()
    scratch.create_all(connection)
    connection.execute(arrays.insert(), [{"id": i, **row} for i, row in ROWS.items()])
    return connection


def same_value(got, expected) -> bool:
    """Same type and bits (numpy scalars and arrays), or both None."""
    if expected is None or got is None:
        return got is expected
    if isinstance(expected, np.ndarray):
        return isinstance(got, np.ndarray) and same_bits(got, expected)
    return type(got) is type(expected) and np.asarray(got).tobytes() == \
        np.asarray(expected).tobytes()


def element(values: np.ndarray | None, i: int):
    """SQL ``values[i]``: numpy's ``values[i - 1]``, None outside 1..len."""
    return None if values is None or not 1 <= i <= len(values) else values[i - 1]


def pg_slice(values: np.ndarray | None, lower: int | None, upper: int | None):
    """SQL ``values[lower:upper]``: numpy's ``values[lower - 1:upper]``, clamped."""
    if values is None:
        return None
    lower = 1 if lower is None else max(lower, 1)
    upper = len(values) if upper is None else max(upper, 0)
    return values[lower - 1:upper]


def by_id(connection, *columns, where=None):
    statement = sa.select(arrays.c.id, *columns).order_by(arrays.c.id)
    if where is not None:
        statement = statement.where(where)
    return {row[0]: row[1:] for row in connection.execute(statement)}


# --- select(): elements, slices, lengths --------------------------------------------

@pytest.mark.parametrize("name", DTYPES)
def test_elements_are_numpy_scalars_of_the_column_dtype(conn, name):
    column = arrays.c[name]
    got = by_id(conn, *(column[i] for i in range(1, 11)))
    for row_id, row in ROWS.items():
        for i, value in enumerate(got[row_id], start=1):
            expected = element(row[name], i)
            assert same_value(value, expected), (row_id, i, value, expected)
    assert isinstance(got[1][0], np.generic) and got[1][0].dtype == np.dtype(name)


@pytest.mark.parametrize("name", DTYPES)
def test_slices_include_both_bounds_and_keep_the_dtype(conn, name):
    bounds = [(1, 1), (2, 4), (1, 100), (4, 2), (6, 9), (3, None), (None, 2), (None, None)]
    column = arrays.c[name]
    got = by_id(conn, *(column[lower:upper] for lower, upper in bounds))
    for row_id, row in ROWS.items():
        for (lower, upper), value in zip(bounds, got[row_id], strict=True):
            expected = pg_slice(row[name], lower, upper)
            assert same_value(value, expected), (row_id, lower, upper, value, expected)


@pytest.mark.parametrize("name", ["uint8", "float32", "float64"])
def test_slices_can_be_indexed_sliced_and_measured_again(conn, name):
    column = arrays.c[name]
    got = by_id(conn, column[2:5][2], column[2:5][2:3], column[2:5].length(), column.length())
    for row_id, row in ROWS.items():
        inner = pg_slice(row[name], 2, 5)
        assert same_value(got[row_id][0], element(inner, 2))
        assert same_value(got[row_id][1], pg_slice(inner, 2, 3))
        assert got[row_id][2] == (None if inner is None else len(inner))
        assert got[row_id][3] == (None if row[name] is None else len(row[name]))


def test_computed_subscripts_follow_postgresql(conn):
    # Literal subscripts must be 1..2**31 - 1 (below); computed ones may be
    # anything, and behave as PostgreSQL says: NULL or clamped, never wrapped.
    column, values = arrays.c.float64, ROWS[1]["float64"]
    lit = sa.literal
    got = by_id(conn, column[lit(0)], column[lit(-1)], column[column.length()],
                column[column.length() + 1], column[lit(0):lit(2)], column[lit(-5):lit(-1)],
                column[lit(3):lit(2)], column[sa.null():lit(2)], column[arrays.c.id:],
                where=arrays.c.id == 1)[1]
    expected = [None, None, values[-1], None, values[:2], values[:0], values[:0], None,
                values[0:]]
    for value, wanted in zip(got, expected, strict=True):
        assert same_value(value, wanted), (value, wanted)


def test_subscripts_outside_sql_arrays_are_refused_in_python():
    column = arrays.c.float64
    for index in (0, -1, 2**31):
        with pytest.raises(IndexError, match="SQL arrays count from 1"):
            column[index]
    with pytest.raises(IndexError, match="slice start 0"):
        column[0:3]
    with pytest.raises(IndexError, match="slice stop -1"):
        column[1:-1]
    with pytest.raises(TypeError, match="no step"):
        column[1:5:2]
    for index in (1.5, "1", True):
        with pytest.raises(TypeError, match="must be an int"):
            column[index]


def test_other_databases_are_refused_in_one_line():
    from sqlalchemy.dialects import mysql

    with pytest.raises(sa.exc.CompileError, match="^mysql: SQL expressions on array columns "
                                                  "work on PostgreSQL and SQLite only$"):
        sa.select(arrays.c.float64[1]).compile(dialect=mysql.dialect())
    assert "(array_sql_scratch.float64)[" in str(sa.select(arrays.c.float64[1]))


# --- where() and order_by() ----------------------------------------------------------

@pytest.mark.parametrize("name", DTYPES)
def test_element_comparisons_select_and_order_rows(conn, name):
    column, random_rows = arrays.c[name], [i for i in ROWS if i >= 5]
    threshold = ROWS[8][name][1]  # a stored value: some rows above, some not
    picked = sorted(by_id(conn, where=sa.and_(arrays.c.id >= 5, column[2] > threshold)))
    assert picked == [i for i in random_rows if len(ROWS[i][name]) >= 2
                      and ROWS[i][name][1] > threshold]
    ordered = [row[0] for row in conn.execute(
        sa.select(arrays.c.id).where(arrays.c.id >= 5)
        .order_by(column[2].nulls_last(), arrays.c.id))]
    assert ordered == sorted(random_rows, key=lambda i: (
        len(ROWS[i][name]) < 2, element(ROWS[i][name], 2) if len(ROWS[i][name]) >= 2 else 0, i))


@pytest.mark.parametrize("name", ["int8", "uint32", "float32", "float64"])
def test_any_and_all_match_numpy(conn, name):
    column = arrays.c[name]
    threshold = ROWS[9][name][4]
    present = [r for r in ROWS.values() if r[name] is not None]
    assert len(present) == len(ROWS) - 1
    cases = {
        "above": (threshold < sa.any_(column), lambda v: bool(np.any(v > threshold))),
        "equal": (threshold == sa.any_(column), lambda v: bool(np.any(v == threshold))),
        "flipped": (sa.any_(column) <= threshold, lambda v: bool(np.any(v <= threshold))),
        "all": (threshold >= sa.all_(column), lambda v: bool(np.all(v <= threshold))),
        "not any": (~(threshold == sa.any_(column)), lambda v: not np.any(v == threshold)),
        "method": (column.any_() != threshold, lambda v: bool(np.any(v != threshold))),
    }
    for label, (condition, wanted) in cases.items():
        got = sorted(by_id(conn, where=condition))
        expected = [i for i, r in ROWS.items() if r[name] is not None and wanted(r[name])]
        assert got == expected, label


def test_any_with_a_column_on_the_left(conn):
    # ``column == any_(array)``: the other column's value is looked for in the array.
    got = sorted(by_id(conn, where=arrays.c.id == sa.any_(arrays.c.int64)))
    assert got == [i for i, r in ROWS.items() if r["int64"] is not None and i in r["int64"]]
    assert 1 in got  # edge values hold 1


def test_nan_elements(conn, backend):
    # Selected, a NaN element is NaN on both backends. Inside SQL, SQLite (which
    # has no NaN) sees NULL where PostgreSQL sees NaN, larger than any number.
    values = ROWS[1]["float64"]
    nan_at = int(np.flatnonzero(np.isnan(values))[0]) + 1
    column = arrays.c.float64
    selected = by_id(conn, column[nan_at], where=arrays.c.id == 1)[1][0]
    assert isinstance(selected, np.float64) and np.isnan(selected)
    in_where = sorted(by_id(conn, where=sa.and_(arrays.c.id == 1, column[nan_at] > 0)))
    assert in_where == ([1] if backend == "postgresql" else [])
    # ANY follows PostgreSQL on both: NaN is above every number.
    assert sorted(by_id(conn, where=sa.and_(arrays.c.id == 1,
                                            float(values[0]) < sa.any_(column[nan_at:])))) == [1]


# --- the ORM attributes of the issue, and other spellings ----------------------------

def test_orm_attributes_index_slice_and_measure(session):
    lc = factories.DataSetFactory()
    session.flush()
    first, middle, length = session.execute(
        sa.select(DataSet.values[1], DataSet.values[2:5], DataSet.values.length())
        .where(DataSet.id == lc.id)).one()
    assert same_value(first, lc.values[0]) and same_value(middle, lc.values[1:5])
    assert length == len(lc.values)
    observation = lc.observation
    cadences = session.scalars(sa.select(Observation.cadence_reference[1:3])
                               .where(Observation.id == observation.id)).one()
    assert same_value(cadences, observation.cadence_reference[0:3])
    bright = session.scalars(sa.select(DataSet.id).where(
        DataSet.id == lc.id, DataSet.values[1] > float(lc.values[0]) - 1)).all()
    assert bright == [lc.id]


def test_float32_elements_compare_with_the_nearest_float32(conn):
    # numpy compares a float32 array with 1/3 at float32 precision; so do both backends.
    values = ROWS[1]["float32"]
    assert np.any(values == 1 / 3)
    position = int(np.flatnonzero(values == 1 / 3)[0]) + 1
    present = {i: r["float32"] for i, r in ROWS.items() if r["float32"] is not None}
    assert sorted(by_id(conn, where=arrays.c.float32[position] == 1 / 3)) == \
        [i for i, v in present.items() if element(v, position) == 1 / 3]
    assert sorted(by_id(conn, where=1 / 3 == sa.any_(arrays.c.float32))) == \
        [i for i, v in present.items() if np.any(v == 1 / 3)]


def test_arithmetic_on_elements_gives_plain_numbers(conn):
    # Sums leave the int8 range; maxima are not elements: plain Python numbers.
    column, values = arrays.c.int8, ROWS[1]["int8"]
    total, shifted = conn.execute(sa.select(column[5] + column[5], arrays.c.id + column[5])
                                  .where(arrays.c.id == 1)).one()
    biggest = conn.execute(sa.select(sa.func.max(column[5])).where(arrays.c.id <= 2)).scalar()
    assert (total, shifted) == (2 * int(values[4]), 1 + int(values[4]))
    assert biggest == max(int(ROWS[1]["int8"][4]), int(ROWS[2]["int8"][4]))
    assert not any(isinstance(v, np.generic) for v in (total, shifted, biggest))
    assert type(column[1].type) is NumpyScalar
    assert not isinstance((column[1] + 1).type, NumpyScalar)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_postgres_array_functions_accept_the_columns(conn):
    column = arrays.c.float64
    got = by_id(conn, sa.func.cardinality(column), sa.func.array_length(column, 1),
                column.length())
    for row_id, row in ROWS.items():
        n = None if row["float64"] is None else len(row["float64"])
        assert got[row_id] == (n, n or None, n)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_postgres_elements_outside_the_dtype_range_are_refused(conn):
    conn.exec_driver_sql("UPDATE array_sql_scratch SET uint8 = ARRAY[0, 256] WHERE id = 1")
    assert same_value(by_id(conn, arrays.c.uint8[1], where=arrays.c.id == 1)[1][0],
                      np.uint8(0))
    with pytest.raises(ValueError, match="256 is not a uint8 value"):
        by_id(conn, arrays.c.uint8[2], where=arrays.c.id == 1)


def test_sqlite_engines_made_elsewhere_have_the_functions(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    with engine.begin() as connection:
        scratch.create_all(connection)
        connection.execute(arrays.insert(), {"id": 1, "uint16": extremes("uint16")})
        got = connection.execute(sa.select(arrays.c.uint16[4], arrays.c.uint16[2:3],
                                           arrays.c.uint16.length()).select_from(arrays)).one()
    engine.dispose()
    values = extremes("uint16")
    assert same_value(got[0], values[3]) and same_value(got[1], values[1:3])
    assert got[2] == len(values)


def test_every_expression_gives_the_same_result_on_both_backends(postgres_server, tmp_path):
    import lightcurvedb

    postgres_server.create_database("array_sql_both")
    engines = [lightcurvedb.connect(f"sqlite:///{tmp_path / 'both.sqlite3'}"),
               lightcurvedb.connect(postgres_server.url("array_sql_both"))]
    c, random_rows = arrays.c, arrays.c.id >= 5  # random rows: no NaN to order by
    statements = [
        sa.select(c.id, *(c[n][i] for n in DTYPES for i in (1, 2, 5, 9))),
        sa.select(c.id, *(e for n in DTYPES for e in (
            c[n][2:4], c[n][:2], c[n][3:], c[n][4:2], c[n].length(), c[n][2:][1]))),
        sa.select(c.id).where(c.float64[1] > 0.5, random_rows),
        sa.select(c.id).where(c.float64[2] < c.float64[1] - 1, random_rows),
        sa.select(c.id, c.float32[1]).where(random_rows).order_by(c.float32[1].desc()),
        sa.select(c.id, c.uint32[2]).order_by(c.uint32[2].nulls_last(), c.id),
        sa.select(c.id).where(c.int8[1] <= -1),
        sa.select(c.id).where(c.bool[2].is_(True)),
        sa.select(c.id).where(0.5 < sa.any_(c.float64)),
        sa.select(c.id).where(c.id == sa.any_(c.int64)),
        sa.select(c.id).where(0 >= sa.all_(c.int16[2:3])),
        sa.select(c.id).where(sa.any_(c.uint8) == 255),
        sa.select(c.id).where(c.float64.length() > 2).order_by(c.float64.length().desc(), c.id),
        sa.select(c.id, c.uint8[1] - c.uint8[2], c.float32[2:5][1]).where(random_rows),
    ]
    results = []
    try:
        for engine in engines:
            with engine.begin() as connection:
                scratch.create_all(connection)
                connection.execute(arrays.insert(), [{"id": i, **r} for i, r in ROWS.items()])
                results.append([connection.execute(s.order_by(c.id)).all()
                                for s in statements])
    finally:
        for engine in engines:
            engine.dispose()
        postgres_server.drop_database("array_sql_both")
    for statement, on_sqlite, on_postgres in zip(statements, *results, strict=True):
        assert len(on_sqlite) == len(on_postgres) > 0, str(statement)
        for row_sqlite, row_postgres in zip(on_sqlite, on_postgres, strict=True):
            for a, b in zip(row_sqlite, row_postgres, strict=True):
                same = same_value(a, b) if isinstance(b, (np.generic, np.ndarray)) \
                    else type(a) is type(b) and a == b
                assert same, (str(statement), a, b)
