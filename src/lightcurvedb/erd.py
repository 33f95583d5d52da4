"""Entity-relationship diagrams of the schema, generated from the SQLAlchemy metadata.

The documentation builds its schema diagram with :func:`mermaid_erd`, so the
picture is always the one the models define::

    from lightcurvedb.erd import mermaid_erd
    print(mermaid_erd())                      # the fourteen core tables

The output is `mermaid <https://mermaid.js.org/syntax/entityRelationshipDiagram.html>`_
``erDiagram`` text: one entity per table, one attribute per column and one
relationship per foreign key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Time,
    UniqueConstraint,
    Uuid,
    exc,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.sql.schema import Column

__all__ = ["column_type_token", "entity_names", "mermaid_erd"]

#: Generic SQLAlchemy types and the short token each is shown as, most specific
#: first (``BigInteger`` is an ``Integer``, ``Float`` a ``Numeric``, ``Enum`` a
#: ``String``).
_TYPE_TOKENS: tuple[tuple[type[sqltypes.TypeEngine[Any]], str], ...] = (
    (Uuid, "uuid"),
    (Boolean, "bool"),
    (SmallInteger, "smallint"),
    (BigInteger, "bigint"),
    (Integer, "int"),
    (Float, "float"),
    (Numeric, "decimal"),
    (Enum, "enum"),
    (String, "string"),
    (JSON, "json"),
    (DateTime, "datetime"),
    (Date, "date"),
    (Time, "time"),
    (Interval, "interval"),
    (LargeBinary, "bytes"),
)

_NOT_A_WORD = re.compile(r"\W+")


def _token(text: str) -> str:
    """Turn ``text`` into one mermaid identifier token (letters, digits, ``_``)."""
    token = _NOT_A_WORD.sub("_", text).strip("_") or "unnamed"
    return token if token[0].isalpha() or token[0] == "_" else f"_{token}"


def column_type_token(sql_type: sqltypes.TypeEngine[Any]) -> str:
    """Return the short, single-token name a column type is shown with.

    Parameters
    ----------
    sql_type : sqlalchemy.types.TypeEngine
        A column's type.

    Returns
    -------
    str
        ``uuid``, ``int``, ``bigint``, ``smallint``, ``string``, ``decimal``,
        ``float``, ``bool``, ``json``, ``datetime``, ``path``, ``bytes``, ...;
        ``array_<dtype>`` (e.g. ``array_float64``) for the numpy array columns of
        :class:`~lightcurvedb.core.types.NumpyArray` and ``array_<element>`` for
        other SQL arrays. Unknown types fall back to their lower-cased class name.

    Examples
    --------
    >>> from lightcurvedb.core.types import NumpyArray
    >>> column_type_token(NumpyArray("float64"))
    'array_float64'
    """
    from lightcurvedb.core.types import NumpyArray, PathType, UTCDateTime

    if isinstance(sql_type, NumpyArray):
        return f"array_{np.dtype(sql_type.dtype).name}"
    if isinstance(sql_type, PathType):
        return "path"
    if isinstance(sql_type, UTCDateTime):
        return "datetime"
    if isinstance(sql_type, sqltypes.ARRAY):
        return f"array_{column_type_token(sql_type.item_type)}"
    if isinstance(sql_type, sqltypes.TypeDecorator):
        return column_type_token(sql_type.impl_instance)
    for generic, token in _TYPE_TOKENS:
        if isinstance(sql_type, generic):
            return token
    return _token(type(sql_type).__name__.lower())


def entity_names(tables: Iterable[Table]) -> dict[Table, str]:
    """Name each table's entity after its mapped class, or after the table.

    A table is named after the class mapped to it through
    :class:`lightcurvedb.Base` (for inheritance hierarchies, the class whose own
    table it is, e.g. ``Observation`` rather than a single-table subclass).
    Tables without such a class, and tables whose class name is already taken by
    another table, keep their (schema-qualified) table name.

    Parameters
    ----------
    tables : iterable of sqlalchemy.Table
        The tables to name.

    Returns
    -------
    dict
        ``{table: entity name}``, every name a single mermaid token.
    """
    from lightcurvedb.core.base import Base

    tables = list(tables)
    owners: dict[Table, str] = {}
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        if not isinstance(table, Table):
            continue
        parent = mapper.inherits
        if parent is not None and parent.local_table is table:
            continue  # a single-table subclass: the table belongs to its base class
        owners[table] = mapper.class_.__name__
    names: dict[Table, str] = {}
    taken: set[str] = set()
    # Mapped tables claim their class names first, in a stable order.
    for table in sorted(tables, key=lambda t: (t not in owners, t.fullname)):
        name = owners.get(table)
        if name is None or name in taken:
            name = _token(table.fullname)
        while name in taken:
            name = f"{name}_"
        taken.add(name)
        names[table] = name
    return names


def _single_column_uniques(table: Table) -> set[str]:
    """Return the names of the columns that are unique on their own."""
    unique = {column.name for column in table.columns if column.unique}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
            unique.update(column.name for column in constraint.columns)
    for index in table.indexes:
        if isinstance(index, Index) and index.unique and len(index.expressions) == 1:
            (expression,) = index.expressions
            if isinstance(expression, Column):
                unique.add(expression.name)
    return unique


def _attribute_line(column: Column[Any], unique: set[str]) -> str:
    keys = []
    if column.primary_key:
        keys.append("PK")
    if column.foreign_keys:
        keys.append("FK")
    if column.name in unique and not column.primary_key:
        keys.append("UK")
    parts = [column_type_token(column.type), _token(column.name)]
    if keys:
        parts.append(",".join(keys))  # "PK,FK" stays one token
    return " ".join(parts)


def _relationship_line(constraint: ForeignKeyConstraint, names: dict[Table, str],
                       unique: set[str]) -> str | None:
    try:
        parent_table = constraint.referred_table
    except exc.NoReferencedTableError:  # refers to a table this metadata lacks
        return None
    child_table = constraint.table
    if parent_table not in names or child_table not in names:
        return None
    columns = [column.name for column in constraint.columns]
    optional = any(column.nullable for column in constraint.columns)
    primary_key = {column.name for column in child_table.primary_key.columns}
    one_to_one = set(columns) == primary_key or (len(columns) == 1 and columns[0] in unique)
    parent_side = "|o" if optional else "||"
    child_side = "o|" if one_to_one else "o{"
    label = ", ".join(columns)
    return f'    {names[parent_table]} {parent_side}--{child_side} {names[child_table]} : "{label}"'


def _core_tables() -> list[Table]:
    """Return the tables of the models defined in :mod:`lightcurvedb.models`."""
    import lightcurvedb.models  # noqa: F401  (registers the core tables)
    from lightcurvedb.core.base import Base

    tables = {mapper.local_table for mapper in Base.registry.mappers
              if mapper.class_.__module__.startswith("lightcurvedb.models")
              and isinstance(mapper.local_table, Table)}
    return list(tables)


def mermaid_erd(metadata: MetaData | None = None,
                tables: Iterable[Table | str] | None = None) -> str:
    """Draw tables as a mermaid ``erDiagram``.

    Parameters
    ----------
    metadata : sqlalchemy.MetaData, optional
        Where to take the tables from. By default the core tables of
        :data:`lightcurvedb.metadata` (those of the models in
        :mod:`lightcurvedb.models`; mission, RBH-1 and radio tables are left
        out). When given, every table of ``metadata`` is drawn unless ``tables``
        narrows the selection.
    tables : iterable of sqlalchemy.Table or str, optional
        Only these tables: :class:`~sqlalchemy.Table` objects, or keys of
        ``metadata`` (``"dataset"``, ``"rbh1.observations"``).

    Returns
    -------
    str
        The diagram, ending with a newline. Entities are sorted by name and list
        their columns in table order as ``type name [PK|FK|UK]`` (see
        :func:`column_type_token`; keys of one column are joined without spaces,
        e.g. ``PK,FK``). ``UK`` marks columns that are unique on their own;
        multi-column uniqueness is not drawn. Each foreign key becomes one
        relationship ``Parent ||--o{ Child : "fk_column"``, sorted: ``|o`` on
        the parent side when the foreign key is nullable (zero or one parent),
        ``o|`` on the child side when it is unique or the child's primary key
        (one-to-one, e.g. joined-table inheritance). Foreign keys to
        tables outside the selection keep their ``FK`` mark but draw no line.
        The same tables always give the same text.

    Raises
    ------
    KeyError
        If a table named in ``tables`` is not in ``metadata``.

    Examples
    --------
    >>> print(mermaid_erd().splitlines()[0])
    erDiagram
    """
    if metadata is None:
        import lightcurvedb.models  # noqa: F401  (registers the core tables)
        from lightcurvedb.core.base import metadata as core_metadata

        metadata = core_metadata
        default_tables: list[Table] = _core_tables()
    else:
        default_tables = list(metadata.tables.values())
    if tables is None:
        selected = default_tables
    else:
        selected = [metadata.tables[t] if isinstance(t, str) else t for t in tables]

    names = entity_names(set(selected))
    ordered = sorted(names, key=lambda t: names[t])
    lines = ["erDiagram"]
    relationships: set[str] = set()
    for table in ordered:
        unique = _single_column_uniques(table)
        lines.append(f"    {names[table]} {{")
        lines.extend(f"        {_attribute_line(column, unique)}" for column in table.columns)
        lines.append("    }")
        for constraint in table.foreign_key_constraints:
            line = _relationship_line(constraint, names, unique)
            if line is not None:
                relationships.add(line)
    lines.extend(sorted(relationships))
    return "\n".join(lines) + "\n"
