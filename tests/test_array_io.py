"""numpy arrays on PostgreSQL's binary array format, and NumpyArray through the ORM."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, undefer

import lightcurvedb
from array_support import DTYPES, extremes, same_bits
from lightcurvedb.core import pgarray
from lightcurvedb.core.pgarray import decode_array, encode_array
from lightcurvedb.core.types import NumpyArray
from lightcurvedb.models import DataSet
from lightcurvedb.testing import factories

# PostgreSQL's own names and OIDs (pg_type.dat), written out independently of the code.
# PostgreSQL has no 1-byte or unsigned integers: those dtypes live in the next
# wider signed type that holds every value.
STORED = {"int8": "int16", "uint8": "int16", "uint16": "int32", "uint32": "int64"}
PG_NAMES = {"bool": "boolean", "int8": "smallint", "uint8": "smallint", "int16": "smallint",
            "uint16": "integer", "int32": "integer", "uint32": "bigint", "int64": "bigint",
            "float32": "real", "float64": "double precision"}
ELEMENT_OIDS = {"bool": 16, "int8": 21, "uint8": 21, "int16": 21, "uint16": 23, "int32": 23,
                "uint32": 20, "int64": 20, "float32": 700, "float64": 701}
CASTS = {"bool": "bool", "int8": "int2", "uint8": "int2", "int16": "int2", "uint16": "int4",
         "int32": "int4", "uint32": "int8", "int64": "int8", "float32": "float4",
         "float64": "float8"}


# --- the codec alone ----------------------------------------------------------------

def test_encode_matches_the_documented_layout() -> None:
    # ndim 1, no NULLs, float8 (OID 701), 2 elements from lower bound 1, then
    # (length 8, big-endian value) per element.
    expected = struct.pack(">iiIii", 1, 0, 701, 2, 1) + struct.pack(">id", 8, 1.5) \
        + struct.pack(">id", 8, -2.0)
    assert bytes(encode_array(np.array([1.5, -2.0]))) == expected
    assert bytes(encode_array(np.array([], dtype=np.int16))) == struct.pack(">iiI", 0, 0, 21)
    assert bytes(encode_array(np.array([True, False]))) == \
        struct.pack(">iiIii", 1, 0, 16, 2, 1) + b"\x00\x00\x00\x01\x01\x00\x00\x00\x01\x00"


@pytest.mark.parametrize("name", DTYPES)
def test_decode_reads_hand_built_buffers(name: str) -> None:
    values = extremes(name)
    dtype = np.dtype(STORED.get(name, name))
    big_endian = values.astype(dtype.newbyteorder(">"))
    body = b"".join(struct.pack(">i", dtype.itemsize) + big_endian[i:i + 1].tobytes()
                    for i in range(len(values)))
    buffer = struct.pack(">iiIii", 1, 0, ELEMENT_OIDS[name], len(values), 1) + body
    out = decode_array(memoryview(buffer), name)
    assert same_bits(out, values)
    assert out.flags.c_contiguous and out.flags.writeable and out.dtype.isnative


@pytest.mark.parametrize("name", DTYPES)
def test_round_trip_and_byte_order(name: str) -> None:
    values = extremes(name)
    assert same_bits(decode_array(encode_array(values), name), values)
    swapped = values.astype(values.dtype.newbyteorder(">"))[::-1]  # big-endian, strided
    assert same_bits(decode_array(encode_array(swapped), name), values[::-1].copy())
    empty = decode_array(encode_array(np.array([], dtype=name)), name)
    assert empty.dtype == np.dtype(name) and empty.size == 0


def test_encode_refuses_lossy_or_unsupported_input() -> None:
    with pytest.raises(ValueError, match="1-D"):
        encode_array(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="losing information"):
        encode_array(np.array([1.5]), "int8")
    with pytest.raises(TypeError, match="complex128"):
        encode_array(np.array([1j]))
    assert same_bits(decode_array(encode_array([1, 2], "float4"), "float32"),
                     np.array([1, 2], dtype=np.float32))


def _header(ndim: int = 1, flags: int = 0, oid: int = 701, *dims: tuple[int, int]) -> bytes:
    return struct.pack(">iiI", ndim, flags, oid) + b"".join(struct.pack(">ii", *d) for d in dims)


@pytest.mark.parametrize(("buffer", "message"), [
    (b"\x00\x00", "truncated"),
    (_header(2, 0, 701, (1, 1), (1, 1)) + struct.pack(">id", 8, 1.0), "2 dimensions"),
    (_header(1, 1, 701, (1, 1)) + struct.pack(">i", -1), "NULL elements"),
    (_header(1, 0, 701, (2, 1)) + struct.pack(">id", 8, 1.0) + struct.pack(">i", -1),
     "truncated|should take"),
    (_header(1, 0, 701, (2, 1)) + struct.pack(">id", 8, 1.0) + struct.pack(">ii", 4, 7)
     + b"\x00" * 4, "element 1 has length 4"),
    (_header(1, 0, 23, (1, 1)) + struct.pack(">ii", 4, 7), r"OID 23 \(int4\)"),
    (_header(1, 0, 25, (1, 1)) + struct.pack(">ii", 4, 7), "OID 25"),
    (_header(1, 0, 701, (3, 1)) + struct.pack(">id", 8, 1.0), "3 float8 elements"),
    (_header(0, 0, 701) + b"\x00", "unexpected bytes"),
    (_header(1, 5, 701, (1, 1)) + struct.pack(">id", 8, 1.0), "invalid flags"),
    (_header(1, 0, 701), "truncated"),
])
def test_decode_refuses_malformed_buffers(buffer: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_array(buffer, "float64")


def test_decode_reports_a_null_element_even_without_the_flag() -> None:
    buffer = _header(1, 0, 701, (2, 1)) + struct.pack(">i", -1) + struct.pack(">id", 8, 1.0)
    with pytest.raises(ValueError, match="element 0 is NULL"):
        decode_array(buffer + b"\x00" * 8, "float64")


# --- against the server, through psycopg ---------------------------------------------

@pytest.fixture
def pg(postgres_server):
    psycopg = pytest.importorskip("psycopg")
    url = postgres_server.url("postgres")
    with psycopg.connect(host=url.host, port=url.port, user=url.username,
                         dbname="postgres") as conn:
        yield conn


@pytest.mark.parametrize("name", DTYPES)
def test_the_server_reads_what_we_encode(pg, name: str) -> None:
    values = extremes(name)
    pgarray.register_numpy_dumpers(pg)  # one registration for every dtype
    text_form = "{" + ",".join(_pg_text(v) for v in values.tolist()) + "}"
    same, length, kind = pg.execute(
        f"SELECT %b = %s::{CASTS[name]}[], array_length(%b, 1), pg_typeof(%b)::text",
        [values, text_form, values, values]).fetchone()
    assert same and length == len(values)
    assert kind == PG_NAMES[name] + "[]"
    if name.startswith("float"):  # -0.0 and NaN survive: check them on the server
        signs = pg.execute("SELECT array_agg(x::text ORDER BY i) FROM unnest(%b) "
                           "WITH ORDINALITY AS t(x, i)", [values]).fetchone()[0]
        assert signs[1] == "-0" and signs[6] == "NaN" and signs[8] == "-Infinity"


def test_one_registration_serves_every_dtype(pg) -> None:
    with pg.cursor() as cursor:
        pgarray.register_numpy_dumpers(cursor)
        placeholders = ", ".join("pg_typeof(%s)::text" for _ in DTYPES)
        kinds = cursor.execute(f"SELECT {placeholders}",
                               [np.zeros(2, dtype=n) for n in DTYPES]).fetchone()
    assert list(kinds) == [PG_NAMES[n] + "[]" for n in DTYPES]


def _pg_text(value: object) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, float):
        return {float("inf"): "Infinity", float("-inf"): "-Infinity"}.get(value, repr(value)) \
            if value == value else "NaN"
    return str(value)


@pytest.mark.parametrize("name", DTYPES)
def test_we_decode_what_the_server_sends(pg, name: str) -> None:
    values = extremes(name)
    text_form = "{" + ",".join(_pg_text(v) for v in values.tolist()) + "}"
    (raw,) = pg.execute(f"SELECT array_send(%s::{CASTS[name]}[])", [text_form]).fetchone()
    assert same_bits(decode_array(raw, name), values)
    with pg.cursor(binary=True) as cursor:
        pgarray.register_numpy_loaders(cursor)
        loaded, empty = cursor.execute(
            f"SELECT %s::{CASTS[name]}[], '{{}}'::{CASTS[name]}[]", [text_form]).fetchone()
    # The loaders know only the server's type: narrow dtypes come back as stored.
    stored = np.dtype(STORED.get(name, name))
    assert same_bits(loaded, values.astype(stored))
    assert empty.dtype == stored and empty.size == 0


def test_binary_loaders_refuse_nulls_and_matrices(pg) -> None:
    with pg.cursor(binary=True) as cursor:
        pgarray.register_numpy_loaders(cursor)
        with pytest.raises(ValueError, match="NULL"):
            cursor.execute("SELECT '{1,NULL}'::float8[]").fetchone()
    with pg.cursor(binary=True) as cursor:
        pgarray.register_numpy_loaders(cursor)
        with pytest.raises(ValueError, match="2 dimensions"):
            cursor.execute("SELECT '{{1,2},{3,4}}'::int4[]").fetchone()


def test_unsupported_dtypes_are_named(pg) -> None:
    pgarray.register_numpy_dumpers(pg)
    with pytest.raises(TypeError, match="uint64 .PostgreSQL has no unsigned 64-bit"):
        pg.execute("SELECT %b", [np.array([1], dtype=np.uint64)])
    with pytest.raises(TypeError, match="uint64"):
        decode_array(encode_array(np.array([1])), "uint64")


@pytest.mark.parametrize("name", list(STORED))
def test_narrow_dtypes_refuse_stored_values_outside_their_range(pg, name: str) -> None:
    # A value the column's dtype cannot hold (written by hand-written SQL) is
    # an error on the way back, not a wrapped-around number.
    info = np.iinfo(name)
    for outside in (int(info.min) - 1, int(info.max) + 1):
        (raw,) = pg.execute(f"SELECT array_send(ARRAY[0, {outside}]::{CASTS[name]}[])"
                            ).fetchone()
        with pytest.raises(ValueError, match=f"element 1 is {outside}, outside the range "
                                             f"of {name}"):
            decode_array(raw, name)


# --- NumpyArray through SQLAlchemy and the ORM ----------------------------------------

class ScratchBase(DeclarativeBase):
    pass


class ArrayRow(ScratchBase):
    __tablename__ = "array_io_scratch"

    id: Mapped[int] = mapped_column(primary_key=True)
    a_bool = mapped_column(NumpyArray("bool"))
    a_int8 = mapped_column(NumpyArray("int8"))
    a_uint8 = mapped_column(NumpyArray("uint8"))
    a_uint16 = mapped_column(NumpyArray("uint16"))
    a_uint32 = mapped_column(NumpyArray("uint32"))
    a_int16 = mapped_column(NumpyArray("int16"))
    a_int32 = mapped_column(NumpyArray("int32"))
    a_int64 = mapped_column(NumpyArray("int64"))
    a_float32 = mapped_column(NumpyArray("float32"), deferred=True)
    a_float64 = mapped_column(NumpyArray("float64"), deferred=True)


@pytest.fixture
def scratch(session: Session) -> Session:
    ScratchBase.metadata.create_all(session.connection())
    return session


def test_orm_round_trip_of_every_dtype(scratch: Session) -> None:
    rng = np.random.default_rng(6)
    big = rng.normal(size=200_000)
    rows = [ArrayRow(id=1, **{f"a_{n}": extremes(n) for n in DTYPES}),
            ArrayRow(id=2, **{f"a_{n}": np.array([], dtype=n) for n in DTYPES}),
            ArrayRow(id=3),
            ArrayRow(id=4, a_float64=big, a_float32=big.astype(np.float32),
                     a_int64=np.arange(200_000) - 100_000, a_bool=big > 0)]
    scratch.add_all(rows)
    scratch.flush()
    scratch.expunge_all()
    loaded = {r.id: r for r in scratch.scalars(
        sa.select(ArrayRow).options(undefer(ArrayRow.a_float32), undefer(ArrayRow.a_float64)))}
    for name in DTYPES:
        column = f"a_{name}"
        assert same_bits(getattr(loaded[1], column), extremes(name))
        empty = getattr(loaded[2], column)
        assert empty.dtype == np.dtype(name) and empty.size == 0
        assert getattr(loaded[3], column) is None
        assert getattr(loaded[1], column).flags.writeable
    assert same_bits(loaded[4].a_float64, big)
    assert same_bits(loaded[4].a_float32, big.astype(np.float32))
    assert same_bits(loaded[4].a_int64, np.arange(200_000) - 100_000)
    assert same_bits(loaded[4].a_bool, big > 0)


def test_deferred_columns_load_on_access(scratch: Session) -> None:
    scratch.add(ArrayRow(id=1, a_float64=np.array([1.0, np.nan]), a_float32=np.ones(2, "f4")))
    scratch.flush()
    scratch.expunge_all()
    row = scratch.get(ArrayRow, 1)
    assert "a_float64" not in row.__dict__
    assert same_bits(row.a_float64, np.array([1.0, np.nan]))  # lazy load of the deferred column


def test_returning_and_core_selects(scratch: Session) -> None:
    table = ArrayRow.__table__
    values = np.array([-0.0, 2.5, np.inf])
    back = scratch.execute(sa.insert(table).values(id=7, a_float64=values)
                           .returning(table.c.a_float64)).scalar_one()
    assert same_bits(back, values)
    updated = scratch.execute(sa.update(table).values(a_float64=values[::-1])
                              .returning(table.c.a_float64)).scalar_one()
    assert same_bits(updated, values[::-1].copy())
    subquery = sa.select(table.c.a_float64, table.c.id).subquery()
    assert same_bits(scratch.execute(sa.select(subquery.c.a_float64)).scalar_one(),
                     values[::-1].copy())
    both = scratch.execute(sa.select(sa.func.coalesce(table.c.a_float64, table.c.a_float64))
                           ).scalar_one()
    assert same_bits(both, values[::-1].copy())
    found = scratch.execute(sa.select(table.c.id).where(table.c.a_float64 == values[::-1])
                            ).scalar_one()
    assert found == 7
    textual = sa.text("SELECT a_float64 FROM array_io_scratch").columns(
        a_float64=NumpyArray("float64"))
    assert same_bits(scratch.execute(textual).scalar_one(), values[::-1].copy())


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_postgres_functions_see_a_real_array(scratch: Session) -> None:
    scratch.add(ArrayRow(id=1, a_int32=np.array([4, 5, 6], dtype=np.int32)))
    scratch.flush()
    length, second, total = scratch.execute(sa.text(
        "SELECT array_length(a_int32, 1), a_int32[2], (SELECT sum(x) FROM unnest(a_int32) x) "
        "FROM array_io_scratch")).one()
    assert (length, second, total) == (3, 5, 15)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_postgres_orm_path_skips_python_lists(scratch: Session, engine, monkeypatch) -> None:
    sent: list[object] = []
    statements: list[str] = []
    decoded: list[type] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
        for params in parameters if executemany else [parameters]:
            sent.extend(v for k, v in params.items() if k.startswith("a_"))

    original = pgarray.decode_array
    monkeypatch.setattr(pgarray, "decode_array",
                        lambda buffer, dtype: (decoded.append(type(buffer)),
                                               original(buffer, dtype))[1])
    event.listen(engine, "before_cursor_execute", spy)
    try:
        values = np.arange(5.0)
        scratch.add(ArrayRow(id=1, a_float64=values, a_int16=np.array([1, 2], "i2")))
        scratch.flush()
        scratch.expunge_all()
        row = scratch.scalars(sa.select(ArrayRow).options(undefer(ArrayRow.a_float64))).one()
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    assert any(isinstance(v, np.ndarray) and same_bits(v, values) for v in sent)
    assert not any(isinstance(v, list) for v in sent)
    assert any("array_send(array_io_scratch.a_float64)" in s for s in statements)
    assert decoded and all(t in (bytes, memoryview) for t in decoded)
    assert same_bits(row.a_float64, values)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_psycopg_connections_from_any_pool_send_ndarrays(engine) -> None:
    other = sa.create_engine(engine.url)  # not made by lightcurvedb.connect()
    try:
        with other.connect() as conn:
            kind = conn.exec_driver_sql("SELECT pg_typeof(%(a)s)::text",
                                        {"a": np.arange(3, dtype=np.int16)}).scalar_one()
        assert kind == "smallint[]"
    finally:
        other.dispose()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_psycopg2_engine_still_round_trips(engine) -> None:
    url = engine.url.set(drivername="postgresql+psycopg2")
    psycopg2_engine = lightcurvedb.connect(url)
    sent: list[object] = []
    event.listen(psycopg2_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: sent.append(params))
    try:
        with psycopg2_engine.connect() as conn, conn.begin() as transaction:
            ScratchBase.metadata.create_all(conn)
            with Session(bind=conn) as session:
                session.add(ArrayRow(id=1, **{f"a_{n}": extremes(n) for n in DTYPES}))
                session.add(ArrayRow(id=2, a_float64=np.array([])))
                session.flush()
                session.expunge_all()
                rows = {r.id: r for r in session.scalars(sa.select(ArrayRow).options(
                    undefer(ArrayRow.a_float64), undefer(ArrayRow.a_float32)))}
                # Array expressions too (core.arraysql), binds and results.
                expressions = session.execute(
                    sa.select(ArrayRow.a_uint32[5], ArrayRow.a_int8[2:3], ArrayRow.a_bool.length())
                    .where(ArrayRow.id == 1, 1 == sa.any_(ArrayRow.a_uint16))).one()
            transaction.rollback()
    finally:
        psycopg2_engine.dispose()
    for name in DTYPES:
        # psycopg2 sends floats as SQL literals: -0.0 comes back as 0.0 (values equal).
        np.testing.assert_array_equal(getattr(rows[1], f"a_{name}"), extremes(name))
        assert getattr(rows[1], f"a_{name}").dtype == np.dtype(name)
    assert rows[2].a_float64.size == 0 and rows[2].a_int16 is None
    last, middle, length = expressions
    assert type(last) is np.uint32 and last == extremes("uint32")[4]
    assert same_bits(middle, extremes("int8")[1:3]) and length == len(extremes("bool"))
    bound = [v for p in sent if isinstance(p, dict) for k, v in p.items() if k.startswith("a_")]
    assert bound and not any(isinstance(v, np.ndarray) for v in bound)
    assert [np.inf, -np.inf] in [v[-2:] for v in bound if isinstance(v, list)]


def test_dataset_arrays_through_the_orm(session: Session) -> None:
    flux = np.random.default_rng(3).normal(1.0, 1e-3, 20_000)
    lc = factories.DataSetFactory(values=flux, errors=None)
    session.flush()
    dataset_id = lc.id
    session.expire(lc)
    assert same_bits(lc.values, flux) and lc.errors is None
    session.expunge_all()
    again = session.scalars(sa.select(DataSet).where(DataSet.id == dataset_id)
                            .options(undefer(DataSet.values))).one()
    assert same_bits(again.values, flux)
    column = session.scalars(sa.select(DataSet.values).where(DataSet.id == dataset_id)).one()
    assert same_bits(column, flux) and column.flags.writeable
