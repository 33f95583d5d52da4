"""Bad input: one verdict on SQLite and PostgreSQL, one named line per failure (issue 14).

Every class of bad value runs through every writer (``copy_rows``,
``upsert_rows``, the ORM, the TESS loader) on both backends (the ``session``
fixture is parametrised over them) and must get the same outcome there: the
same error naming the same row, column and value, nothing written -- or, for
the value at the type's limit, the value stored and read back unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest
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
    select,
)
from sqlalchemy.orm import Session

from lightcurvedb.bulk import BulkValueError, copy_rows, upsert_rows
from lightcurvedb.core.column_rules import ColumnValueError
from lightcurvedb.core.types import NumpyArray
from lightcurvedb.models import MissionCatalog, Target
from lightcurvedb.testing import factories

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
