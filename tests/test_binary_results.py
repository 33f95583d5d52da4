"""Statements that select array columns read their results in binary format (psycopg 3)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import pathlib
import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from psycopg.pq import Format
from sqlalchemy import event

from lightcurvedb.core.pgresults import binary_safe
from lightcurvedb.core.types import NumpyArray, PathType, UTCDateTime
from lightcurvedb.testing import factories

pytestmark = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


metadata = sa.MetaData()
mixed = sa.Table(
    "binary_results_mixed", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("small", sa.SmallInteger), sa.Column("real", sa.REAL),
    sa.Column("double", sa.Float), sa.Column("money", sa.Numeric(12, 4)),
    sa.Column("name", sa.String(40)), sa.Column("note", sa.Text),
    sa.Column("flag", sa.Boolean), sa.Column("at", UTCDateTime),
    sa.Column("naive", sa.DateTime), sa.Column("day", sa.Date), sa.Column("clock", sa.Time),
    sa.Column("uid", sa.Uuid), sa.Column("blob", sa.LargeBinary), sa.Column("path", PathType),
    sa.Column("colour", sa.Enum(Colour, name="binary_results_colour")),
    sa.Column("doc", sa.JSON),
    sa.Column("flux", NumpyArray("float64")), sa.Column("bits", NumpyArray("int16")),
    sa.Column("single", NumpyArray("float32")), sa.Column("octets", NumpyArray("uint8")))

ROW = {"id": 1, "small": -32768, "real": 1.1, "double": -0.0, "money": decimal.Decimal("-12.3456"),
       "name": "Ångström ✓", "note": "", "flag": False,
       "at": dt.datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=dt.UTC),
       "naive": dt.datetime(1999, 12, 31, 23, 59, 59), "day": dt.date(2000, 2, 29),
       "clock": dt.time(1, 2, 3, 4), "uid": uuid.UUID(int=2**128 - 1), "blob": b"\x00\xff",
       "path": pathlib.Path("/data/tess/s0001.fits"), "colour": Colour.BLUE,
       "doc": {"a": [1, 2.5, None]}, "flux": np.array([np.nan, -np.inf, 1e300]),
       "bits": np.array([-1, 0, 32767], dtype=np.int16),
       "single": np.array([1.1, np.nan, -0.0], dtype=np.float32),
       "octets": np.array([255, 0, 128], dtype=np.uint8)}
SCALARS = ["id", "small", "double", "money", "name", "note", "flag", "at", "naive", "day",
           "clock", "uid", "blob", "path"]


@pytest.fixture
def table(engine):
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(mixed.insert(), [ROW])
    yield mixed
    metadata.drop_all(engine)


@pytest.fixture
def formats(engine):
    """The result format of every statement run on ``engine`` during the test."""
    seen: list[tuple[str, Format]] = []

    def spy(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, cursor.format))

    event.listen(engine, "after_cursor_execute", spy)
    yield seen
    event.remove(engine, "after_cursor_execute", spy)


def test_array_with_safe_columns_reads_binary_and_the_same_values(engine, table, formats):
    with engine.connect() as connection:
        text_row = connection.execute(sa.select(*[table.c[n] for n in SCALARS])).one()
        binary_row = connection.execute(
            sa.select(*[table.c[n] for n in SCALARS], table.c.flux, table.c.bits)).one()
    assert [f for _, f in formats] == [Format.TEXT, Format.BINARY]
    for name, text_value, binary_value in zip(SCALARS, text_row, binary_row, strict=False):
        assert type(binary_value) is type(text_value), name
        assert binary_value == text_value, name
    assert binary_row.money == decimal.Decimal("-12.3456")
    assert binary_row.at == ROW["at"] and binary_row.path == ROW["path"]
    assert str(binary_row.double) == "-0.0" and binary_row.name == "Ångström ✓"
    np.testing.assert_array_equal(binary_row.flux, ROW["flux"])
    np.testing.assert_array_equal(binary_row.bits, ROW["bits"])
    assert binary_row.bits.dtype == np.int16


@pytest.mark.parametrize("other", ["colour", "doc"])
def test_enum_or_json_next_to_an_array_keeps_text_results(engine, table, formats, other):
    with engine.connect() as connection:
        row = connection.execute(sa.select(table.c[other], table.c.flux)).one()
    assert [f for _, f in formats] == [Format.TEXT]
    assert row[0] == ROW[other]
    np.testing.assert_array_equal(row.flux, ROW["flux"])


def test_orm_light_curves_read_binary(session, formats):
    from sqlalchemy.orm import undefer

    from lightcurvedb.models import DataSet

    lc = factories.DataSetFactory(values=np.arange(5.0), errors=np.ones(5))
    session.flush()
    session.expunge_all()
    loaded = session.scalars(sa.select(DataSet).options(undefer(DataSet.values),
                                                        undefer(DataSet.errors))
                             .where(DataSet.id == lc.id)).one()
    np.testing.assert_array_equal(loaded.values, np.arange(5.0))
    assert any(f is Format.BINARY and "array_send" in s for s, f in formats)


def test_binary_safe_unwraps_decorators(engine):
    dialect = engine.dialect
    assert binary_safe(UTCDateTime(), dialect) and binary_safe(PathType(), dialect)
    assert not binary_safe(sa.Enum(Colour), dialect)
    assert not binary_safe(sa.JSON(), dialect)
    assert not binary_safe(sa.ARRAY(sa.Integer), dialect)
    assert not binary_safe(sa.types.NullType(), dialect)
    assert not binary_safe(sa.REAL(), dialect) and not binary_safe(sa.Float(24), dialect)
    assert binary_safe(sa.Float(), dialect) and binary_safe(sa.Float(53), dialect)


def test_real_next_to_an_array_reads_as_alone(engine, table, formats):
    with engine.connect() as connection:
        alone = connection.execute(sa.select(table.c.real)).scalar_one()
        with_array = connection.execute(sa.select(table.c.real, table.c.flux)).one()[0]
    assert alone == with_array == 1.1


def test_elements_and_slices_next_to_arrays_read_binary(engine, table, formats):
    from array_support import same_bits

    c = table.c
    with engine.connect() as connection:
        binary_row = connection.execute(sa.select(
            c.flux, c.flux[2:3], c.octets[2:], c.bits[3], c.single[1], c.single[2], c.single[3],
            c.octets[1], c.single.length(), c.small)).one()
        text_row = connection.execute(sa.select(
            c.bits[3], c.single[1], c.single[2], c.single[3], c.octets[1], c.small)).one()
    assert [f for _, f in formats] == [Format.BINARY, Format.TEXT]
    assert same_bits(binary_row[1], ROW["flux"][1:3])
    assert same_bits(binary_row[2], ROW["octets"][1:])
    elements = [ROW["bits"][2], *ROW["single"], ROW["octets"][0]]
    for got, text_value, stored in zip(binary_row[3:8], text_row, elements, strict=False):
        # a numpy scalar of the column's dtype, the stored bits, in either format
        assert type(got) is type(text_value) is type(stored)
        assert np.asarray(got).tobytes() == np.asarray(text_value).tobytes() == \
            np.asarray(stored).tobytes()
    assert binary_row[8] == len(ROW["single"]) and binary_row[9] == text_row[5] == ROW["small"]
