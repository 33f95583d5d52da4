"""Sending converted rows: binary ``COPY`` (psycopg 3) and SQLite ``executemany``.

Also the one value encoding the bulk path adds to the column types' own:
sky polygons as EWKB (SRID 4326), which PostGIS's binary input accepts.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Column, Table
from sqlalchemy.engine import Connection

from lightcurvedb.bulk import _binary
from lightcurvedb.core import pgarray
from lightcurvedb.core.types import SkyPolygonType

__all__ = ["PostgresWriter", "SQLiteWriter", "pg_wire_types", "polygon_ewkb", "qualified_name"]

#: WKB geometry type of a polygon with the EWKB "SRID present" flag set.
_EWKB_POLYGON_WITH_SRID = 3 | 0x20000000
_SRID = 4326


def polygon_ewkb(value: Any) -> bytes:
    """Encode a sky polygon (or a vertex sequence) as little-endian EWKB with SRID 4326.

    The ring is closed (first vertex repeated), as WKB requires.
    """
    from lightcurvedb.core.geometry import SkyPolygon

    polygon = value if isinstance(value, SkyPolygon) else SkyPolygon(tuple(value))
    ring = np.asarray([*polygon.vertices, polygon.vertices[0]], dtype="<f8")
    header = struct.pack("<BIIII", 1, _EWKB_POLYGON_WITH_SRID, _SRID, 1, len(ring))
    return header + ring.tobytes()


def qualified_name(connection: Connection, table: Table) -> str:
    """Return the quoted ``schema.table`` name as this connection sees it.

    Honours the connection's ``schema_translate_map`` (SQLite has no schemas,
    so lightcurvedb's engines translate ``rbh1``/``radio`` away there).
    """
    quote = connection.dialect.identifier_preparer.quote
    schema = table.schema
    translate = connection.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(schema, schema)
    return (f"{quote(schema)}." if schema else "") + quote(table.name)


class SQLiteWriter:
    """``executemany`` of a plain ``INSERT`` into ``name``."""

    def __init__(self, connection: Connection, name: str, column_names: list[str]) -> None:
        quote = connection.dialect.identifier_preparer.quote
        self.connection = connection
        self.sql = (f"INSERT INTO {name} ({', '.join(quote(c) for c in column_names)}) "
                    f"VALUES ({', '.join('?' for _ in column_names)})")

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self.connection.exec_driver_sql(self.sql, rows if isinstance(rows, list) else list(rows))


class PostgresWriter:
    """Binary ``COPY name (...) FROM STDIN`` through psycopg 3.

    ``types`` are the psycopg type names of the columns (see :func:`pg_wire_types`).
    Rows held column-wise (``ColumnRows`` of :mod:`._rows`) whose columns are
    all of types :mod:`._binary` encodes go out as whole blocks of binary
    ``COPY`` built with numpy; any block it cannot encode exactly (and every
    other row) goes through psycopg's ``Copy.write_row``, in the same ``COPY``.
    """

    #: Rough bytes of binary ``COPY`` stream encoded per ``write()``: the server
    #: parses one block while the next is encoded.
    block_bytes = 2**20

    def __init__(self, connection: Connection, name: str, column_names: list[str],
                 types: list[str]) -> None:
        quote = connection.dialect.identifier_preparer.quote
        self.sql = (f"COPY {name} ({', '.join(quote(c) for c in column_names)}) "
                    "FROM STDIN (FORMAT BINARY)")
        self.driver = connection.connection.driver_connection
        self.types = types

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        assert self.driver is not None
        columns = getattr(rows, "columns", None)
        encodable = columns is not None and all(map(_binary.encodable_type, self.types))
        with self.driver.cursor() as cursor:
            pgarray.register_numpy_dumpers(cursor)
            with cursor.copy(self.sql) as copy:
                if not encodable:
                    copy.set_types(self.types)
                    for row in rows:
                        copy.write_row(row)
                    return
                self._write_blocks(copy, rows)

    def _write_blocks(self, copy: Any, rows: Any) -> None:
        """Send ``rows`` (column-wise) as numpy-encoded blocks, psycopg rows where needed.

        From the first block the encoder declines on, the rest of the chunk goes
        through ``write_row``: psycopg buffers those rows, and a block written
        after them would overtake them (rows would keep their content, not their order).
        """
        n = len(rows)
        row_bytes = 2 + sum(4 + _binary.WIDTH_GUESS.get(t, 16) for t in self.types)
        step = max(1, self.block_bytes // row_bytes)
        copy.write(_binary.SIGNATURE)
        for first in range(0, n, step):
            last = min(n, first + step)
            encoded = []
            for values, mask, type_name in zip(rows.columns, rows.masks, self.types,
                                               strict=True):
                column = _binary.encode_column(
                    values[first:last], None if mask is None else mask[first:last], type_name)
                if column is None:
                    break
                encoded.append(column)
            else:
                copy.write(_binary.encode_rows(encoded, last - first).data)
                continue
            # psycopg ends the stream with the trailer itself after write_row
            copy.set_types(self.types)
            rest = type(rows)([c[first:] for c in rows.columns],
                              [None if m is None else m[first:] for m in rows.masks], n - first)
            for row in rest:
                copy.write_row(row)
            return
        copy.write(_binary.TRAILER)


def pg_wire_types(connection: Connection, table: Table, columns: list[Column[Any]]) -> list[str]:
    """Return the psycopg type names to send ``columns`` of ``table`` as in binary ``COPY``.

    Binary ``COPY`` carries no type OIDs: the server reads each field with the
    column's own binary input function, so the names come from the column
    types PostgreSQL actually created (one catalog query; e.g. SQLAlchemy's
    ``FLOAT(24)`` is ``real``): ``float8[]``, ``varchar``. Enums and other
    user-defined types take their text form (``text``), sky polygons their
    EWKB (``bytea``) in a PostGIS column and their well-known text (``text``)
    in a text one (a database without PostGIS).
    """
    from psycopg.postgres import types

    catalog = {name: (oid, type_name, is_array) for name, oid, type_name, is_array in
               connection.exec_driver_sql(
                   "SELECT a.attname, a.atttypid, t.typname, t.typcategory = 'A' "
                   "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                   "WHERE a.attrelid = %(table)s::regclass AND a.attnum > 0 "
                   "AND NOT a.attisdropped", {"table": qualified_name(connection, table)})}
    names = []
    for column in columns:
        oid, type_name, is_array = catalog[column.name]
        if isinstance(column.type, SkyPolygonType):  # EWKB for PostGIS, else the WKT
            names.append("bytea" if type_name == "geometry" else "text")
            continue
        if type_name == "geometry":
            raise TypeError(f"copy_rows can COPY PostGIS columns only as SkyPolygonType; "
                            f"{table.name}.{column.name} is {column.type!r}")
        info = types.get(oid)
        if info is None:  # enums and other user-defined types take their text form
            names.append("text[]" if is_array else "text")
        else:
            names.append(info.name + ("[]" if oid == info.array_oid else ""))
    return names
