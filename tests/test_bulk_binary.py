"""copy_rows' numpy-encoded binary COPY: byte-exact against psycopg, and round trips."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pytest
from astropy.table import Table
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    func,
    select,
)
from sqlalchemy import Table as SATable
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.types import REAL

from lightcurvedb.bulk import BulkLoadError, _binary, copy_rows
from lightcurvedb.bulk._rows import ColumnRows, chunks, prepare
from lightcurvedb.bulk._wire import PostgresWriter

INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
#: Column name, psycopg type name, values (None = NULL); every supported type.
CASES: list[tuple[str, str, list[Any]]] = [
    ("i2", "int2", [-32768, 32767, None, 0, -1, 7]),
    ("i4", "int4", [-2**31, 2**31 - 1, 0, None, 12, -5]),
    ("i8", "int8", [INT64_MIN, INT64_MAX, 39_627_400_000_000_001, 0, None, 1]),
    ("f4", "float4", [1.5, float("nan"), float("inf"), None, -0.0, 3.4e38]),
    ("f8", "float8", [float("-inf"), float("nan"), 1e-300, 2.5, -0.0, None]),
    ("ok", "bool", [True, False, None, True, False, True]),
    ("tx", "text", ["", "光 ✓ déjà", None, "🔭 astronomy", "a", "plain ascii"]),
    ("vc", "varchar", ["main", "", "sv3", "Öffnung", None, "x" * 20]),
]
NAMES = [name for name, _, _ in CASES]
TYPES = [type_name for _, type_name, _ in CASES]
ROWS = list(zip(*(values for _, _, values in CASES), strict=True))
#: numpy dtypes of the array form of each case.
DTYPES = {"i2": "i2", "i4": "i4", "i8": "i8", "f4": "f4", "f8": "f8", "ok": "?",
          "tx": "U12", "vc": "U20"}


def _psycopg_bytes(connection: Any, types: list[str], rows: list[tuple[Any, ...]]) -> bytes:
    """The stream psycopg's Copy.write_row makes: its binary formatter, set up as Copy does."""
    from psycopg._copy_base import BinaryFormatter
    from psycopg.adapt import Transformer
    from psycopg.pq import Format

    with connection.cursor() as cursor:
        transformer = Transformer(cursor)
        oids = [cursor.adapters.types.get_oid(name) for name in types]
        transformer.set_dumper_types(oids, Format.BINARY)
        formatter = BinaryFormatter(transformer)
        out = io.BytesIO()
        for row in rows:
            out.write(formatter.write_row(row))
        out.write(formatter.end())
    return out.getvalue()


def _encoded(columns: list[Any], masks: list[Any], types: list[str], n: int) -> bytes:
    encoded = [_binary.encode_column(values, mask, type_name)
               for values, mask, type_name in zip(columns, masks, types, strict=True)]
    assert all(column is not None for column in encoded)
    return _binary.SIGNATURE + _binary.encode_rows(encoded, n).tobytes() + _binary.TRAILER


def _array_columns(rows: list[tuple[Any, ...]]) -> tuple[list[Any], list[Any]]:
    columns, masks = [], []
    for k, name in enumerate(NAMES):
        values = [row[k] for row in rows]
        mask = np.array([v is None for v in values])
        filler = "" if DTYPES[name].startswith("U") else 0
        columns.append(np.array([filler if v is None else v for v in values],
                                dtype=DTYPES[name]))
        masks.append(mask if mask.any() else None)
    return columns, masks


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
@pytest.mark.parametrize("form", ["lists", "arrays"])
def test_encoder_matches_psycopg_byte_for_byte(engine: Engine, form: str) -> None:
    if form == "lists":
        columns: list[Any] = [list(values) for _, _, values in CASES]
        masks: list[Any] = [None] * len(CASES)
    else:
        columns, masks = _array_columns(ROWS)
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        expected = _psycopg_bytes(driver, TYPES, ROWS)
    assert _encoded(columns, masks, TYPES, len(ROWS)) == expected
    # one column, no NULLs: the fixed-width layout with no padding mask
    floats = [0.1 * i for i in range(5)]
    with engine.connect() as connection:
        expected = _psycopg_bytes(connection.connection.driver_connection, ["float8"],
                                  [(f,) for f in floats])
    assert _encoded([np.array(floats)], [None], ["float8"], 5) == expected


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_big_endian_arrays_encode_like_native_ones(engine: Engine) -> None:
    texts = ["main", "光", ""]
    ints = [1, -2, 2**40]
    with engine.connect() as connection:
        expected = _psycopg_bytes(connection.connection.driver_connection, ["text", "int8"],
                                  list(zip(texts, ints, strict=True)))
    columns = [np.array(texts, dtype=">U4"), np.array(ints, dtype=">i8")]
    assert _encoded(columns, [None, None], ["text", "int8"], 3) == expected


def test_stream_layout_from_the_format_spec() -> None:
    # Independently of psycopg: PGCOPY\n\377\r\n\0, flags 0, extension 0; one row of
    # 2 fields: int4 7 (length 4), NULL text (length -1); the int16 -1 trailer.
    row = _binary.encode_rows([_binary.encode_column(np.array([7], dtype="i4"), None, "int4"),
                               _binary.encode_column([None], None, "text")], 1)
    stream = _binary.SIGNATURE + row.tobytes() + _binary.TRAILER
    assert stream == (b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\x00\x02"
                      + b"\x00\x00\x00\x04\x00\x00\x00\x07" + b"\xff\xff\xff\xff" + b"\xff\xff")


@pytest.mark.parametrize("values, mask, type_name", [
    (np.array([40_000]), None, "int2"),  # out of range: psycopg decides
    (np.array([2**63], dtype=np.uint64), None, "int8"),
    (np.array([1.5]), None, "int4"),  # float into an integer column
    (np.array([1e300]), None, "float4"),  # overflows float32
    ([True, 1], None, "int4"),  # bool among ints: psycopg's own handling
    (["trailing NUL\x00"], None, "text"),  # numpy would drop it
    (["\ud800"], None, "text"),  # lone surrogate: not UTF-8 encodable
    (np.array([b"bytes"]), None, "text"),
    ([2**64], None, "int8"),
])
def test_values_psycopg_must_judge_are_not_encoded(values: Any, mask: Any,
                                                   type_name: str) -> None:
    assert _binary.encode_column(values, mask, type_name) is None


@pytest.mark.parametrize("values, type_name", [
    (np.array([40_000, None], dtype=object), "int4"), (np.array([[1, 2]]), "int8")])
def test_odd_arrays_are_not_encoded(values: Any, type_name: str) -> None:
    assert _binary.encode_column(values, None, type_name) is None


# --- round trips through copy_rows on both backends ---------------------------------

def _scalar_table(connection: Connection) -> SATable:
    metadata = MetaData()
    table = SATable("bulk_binary_scalars", metadata,
                    Column("id", Integer, primary_key=True, autoincrement=False),
                    Column("i2", SmallInteger), Column("i4", Integer),
                    Column("i8", BigInteger), Column("f4", REAL), Column("f8", Double),
                    Column("ok", Boolean), Column("tx", Text), Column("vc", String(20)))
    metadata.create_all(connection)
    return table


def _expected(count: int) -> list[tuple[Any, ...]]:
    """Row ``i`` is CASES' row ``i % 6`` with id ``i``."""
    out = []
    for i in range(count):
        row = list(ROWS[i % len(ROWS)])
        out.append((i, *row))
    return out


def _read(session: Session, table: SATable) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.execute(select(table).order_by(table.c.id))]


def _same(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], backend: str) -> None:
    """Compare rows; the real column (index 4) as float32, as PostgreSQL keeps it."""
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        for k, (a, b) in enumerate(zip(g, e, strict=True)):
            if isinstance(b, float) and math.isnan(b):
                if backend == "sqlite":  # SQLite stores NaN as NULL
                    assert a is None, (g, e)
                else:
                    assert isinstance(a, float) and math.isnan(a), (g, e)
            elif k == 4 and b is not None:  # text protocol: float4's shortest decimal
                assert np.float32(a) == np.float32(b), (g, e)
            elif isinstance(b, float):
                assert a == b, (g, e)
                if backend == "postgresql":  # SQLite keeps -0.0 as the integer 0
                    assert math.copysign(1, a) == math.copysign(1, b), (g, e)
            else:
                assert a == b and type(a) is type(b), (g, e)


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Encode two or three rows per block, so chunks span several blocks."""
    monkeypatch.setattr(PostgresWriter, "block_bytes", 200)


@pytest.mark.parametrize("form", ["dicts", "tuples", "masked_table"])
def test_every_type_round_trips(session: Session, backend: str, small_blocks: None,
                                form: str) -> None:
    table = _scalar_table(session.connection())
    count = 23  # chunks of 7: four chunks, the last short
    expected = _expected(count)
    names = ["id", *NAMES]
    rows: Any
    if form == "dicts":
        rows = [dict(zip(names, row, strict=True)) for row in expected]
    elif form == "tuples":
        rows = [(i, *ROWS[i % len(ROWS)]) for i in range(count)]
    else:
        columns, masks = _array_columns([ROWS[i % len(ROWS)] for i in range(count)])
        rows = Table([np.arange(count), *columns], names=names, masked=True)
        for name, mask in zip(NAMES, masks, strict=True):
            if mask is not None:
                rows[name].mask = mask
    assert copy_rows(session.connection(), table, rows, chunk_size=7) == count
    _same(_read(session, table), expected, backend)


def test_structured_array_round_trips(session: Session, small_blocks: None) -> None:
    table = _scalar_table(session.connection())
    count = 10
    arr = np.zeros(count, dtype=[("id", "i8"), ("i8", "u4"), ("f8", "f4"), ("f4", "i4"),
                                 ("tx", "U10")])
    arr["id"] = np.arange(count)
    arr["i8"] = 2**32 - 1 - np.arange(count)  # unsigned into bigint
    arr["f8"] = np.linspace(-1, 1, count, dtype=np.float32)  # float32 into double
    arr["f4"] = 16_777_217 + np.arange(count)  # ints into real: rounded like float(v)
    arr["tx"] = [f"ü{i}" * (i % 4) for i in range(count)]
    assert copy_rows(session.connection(), table, arr, chunk_size=4) == count
    got = session.execute(select(table.c.i8, table.c.f8, table.c.f4, table.c.tx)
                          .order_by(table.c.id)).all()
    assert [g.i8 for g in got] == [2**32 - 1 - i for i in range(count)]
    assert [g.f8 for g in got] == [float(v) for v in arr["f8"]]
    # float(v), then float32 (SQLite's REAL is a double: the same after that rounding)
    assert [np.float32(g.f4) for g in got] == [np.float32(float(16_777_217 + i))
                                               for i in range(count)]
    assert [g.tx for g in got] == [f"ü{i}" * (i % 4) for i in range(count)]


def test_blocks_psycopg_must_send_share_the_copy(session: Session, small_blocks: None) -> None:
    metadata = MetaData()
    table = SATable("bulk_binary_serial", metadata, Column("id", Integer, primary_key=True),
                    Column("n", Integer), Column("tx", Text))
    metadata.create_all(session.connection())
    rows = [{"n": i, "tx": f"r{i}"} for i in range(30)]  # blocks of about 6 rows
    rows[7]["n"] = True  # a bool among ints: from its block on, write_row sends the rows
    assert copy_rows(session.connection(), table, rows, chunk_size=100) == 30
    got = session.execute(select(table.c.n, table.c.tx).order_by(table.c.id)).all()
    # input order kept (no later block overtakes the rows psycopg buffers): ids follow it
    assert [g.tx for g in got] == [f"r{i}" for i in range(30)]
    assert [g.n for g in got] == [*range(7), 1, *range(8, 30)]


def test_out_of_range_value_names_the_chunk_and_leaves_nothing(session: Session) -> None:
    table = _scalar_table(session.connection())
    arr = np.zeros(9, dtype=[("id", "i8"), ("i8", "u8")])
    arr["id"] = np.arange(9)
    arr["i8"][7] = 2**63  # beyond bigint
    with pytest.raises(BulkLoadError) as info:
        copy_rows(session.connection(), table, arr, chunk_size=3)
    assert info.value.chunk_index == 2
    assert session.scalar(select(func.count()).select_from(table)) == 0


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_structured_arrays_reach_the_writer_as_numpy_columns(session: Session) -> None:
    table = _scalar_table(session.connection())
    arr = np.zeros(5, dtype=[("id", "i8"), ("f8", "f8"), ("tx", "U3"), ("vc", "O")])
    arr["id"] = np.arange(5)
    arr["vc"] = "obj"
    prepared = prepare(session.connection(), table, arr, None)
    (chunk,) = chunks(prepared, 100, 2**20)
    assert isinstance(chunk.rows, ColumnRows)
    # numeric and str fields stay arrays (Double's float() included); the object
    # field is converted as Python values, then gathered into an array as well
    assert [c.dtype.kind for c in chunk.rows.columns] == ["i", "f", "U", "U"]
    assert list(chunk.rows) == [(i, 0.0, "", "obj") for i in range(5)]
