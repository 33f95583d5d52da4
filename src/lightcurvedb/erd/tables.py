"""What the diagrams draw: the tables of each area, entity names, short column types.

Shared by :mod:`lightcurvedb.erd.mermaid` and :mod:`lightcurvedb.erd.graphviz`.
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
)
from sqlalchemy import types as sqltypes
from sqlalchemy.sql.schema import Column

__all__ = ["AREAS", "area_tables", "column_type_token", "entity_names", "table_area"]

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
    tables = list(tables)
    owners = {table: cls.__name__ for table, cls in _table_classes().items()}
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


def single_column_uniques(table: Table) -> set[str]:
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


def _core_tables() -> list[Table]:
    """Return the tables of the models defined in :mod:`lightcurvedb.models`."""
    import lightcurvedb.models  # noqa: F401  (registers the core tables)
    from lightcurvedb.core.base import Base

    tables = {mapper.local_table for mapper in Base.registry.mappers
              if mapper.class_.__module__.startswith("lightcurvedb.models")
              and isinstance(mapper.local_table, Table)}
    return list(tables)



#: The areas of the schema, each drawn as its own diagram, and what each holds.
AREAS = {
    "core": "the core models of lightcurvedb.models",
    "missions": "the tables the shipped missions add (TESS, HST, JWST)",
    "rbh1": "the RBH-1 HST/JWST tables (schema rbh1)",
    "radio": "the DSA-110 radio tables (schema radio)",
    "plugins": "tables of installed mission plugins and other packages on lightcurvedb.Base",
}


def _table_classes() -> dict[Table, type]:
    """Map each table to the class whose own table it is (not a single-table subclass)."""
    from lightcurvedb.core.base import Base

    owners: dict[Table, type] = {}
    for mapper in Base.registry.mappers:
        table = mapper.local_table
        if not isinstance(table, Table):
            continue
        parent = mapper.inherits
        if parent is not None and parent.local_table is table:
            continue  # a single-table subclass: the table belongs to its base class
        owners[table] = mapper.class_
    return owners


def _owners() -> dict[Table, str]:
    """Map each table to the module of the class whose own table it is."""
    return {table: cls.__module__ for table, cls in _table_classes().items()}


def table_area(table: Table, owners: dict[Table, str] | None = None) -> str:
    """Return the area (a key of :data:`AREAS`) a table belongs to.

    Tables in the ``rbh1`` and ``radio`` schemas belong to those areas; a
    table of a class from :mod:`lightcurvedb.models` is ``core``, one from
    :mod:`lightcurvedb.missions` is ``missions``; every other table (mission
    plugins, downstream models, tables without a class) is ``plugins``.
    """
    if table.schema in ("rbh1", "radio"):
        return table.schema
    module = (owners if owners is not None else _owners()).get(table, "")
    if module.startswith("lightcurvedb.models"):
        return "core"
    return "missions" if module.startswith("lightcurvedb.missions") else "plugins"


def area_tables(area: str, metadata: MetaData | None = None) -> list[Table]:
    """Return the tables of one area, sorted by full name.

    Parameters
    ----------
    area : str
        A key of :data:`AREAS`.
    metadata : sqlalchemy.MetaData, optional
        Where to look; :data:`lightcurvedb.metadata` by default, after
        importing the shipped missions, RBH-1 and radio models and the installed
        mission plugins.

    Raises
    ------
    ValueError
        If ``area`` is not one of :data:`AREAS`.
    """
    if area not in AREAS:
        raise ValueError(f"unknown ERD area {area!r}; choose one of {', '.join(AREAS)}")
    if metadata is None:
        metadata = _all_metadata()
    owners = _owners()
    return sorted((t for t in metadata.tables.values() if table_area(t, owners) == area),
                  key=lambda t: t.fullname)


def _all_metadata() -> MetaData:
    """:data:`lightcurvedb.metadata` with every model lightcurvedb ships or finds declared."""
    import lightcurvedb.models  # noqa: F401
    import lightcurvedb.radio  # noqa: F401
    import lightcurvedb.rbh1  # noqa: F401
    from lightcurvedb.core.base import metadata
    from lightcurvedb.missions.registry import register_missions

    register_missions()
    return metadata
