"""Mermaid ``erDiagram`` text of the schema, generated from the SQLAlchemy metadata.

::

    from lightcurvedb.erd import mermaid_erd
    print(mermaid_erd())                      # the fifteen core tables

The output is `mermaid <https://mermaid.js.org/syntax/entityRelationshipDiagram.html>`_
``erDiagram`` text: one entity per table, one attribute per column and one
relationship per foreign key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ForeignKeyConstraint, MetaData, Table, exc
from sqlalchemy.sql.schema import Column

from lightcurvedb.erd.tables import (
    _core_tables,
    _token,
    column_type_token,
    entity_names,
    single_column_uniques,
)

__all__ = ["mermaid_erd"]


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
        unique = single_column_uniques(table)
        lines.append(f"    {names[table]} {{")
        lines.extend(f"        {_attribute_line(column, unique)}" for column in table.columns)
        lines.append("    }")
        for constraint in table.foreign_key_constraints:
            line = _relationship_line(constraint, names, unique)
            if line is not None:
                relationships.add(line)
    lines.extend(sorted(relationships))
    return "\n".join(lines) + "\n"
