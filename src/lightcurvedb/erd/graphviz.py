"""Graphviz DOT diagrams of the schema, one per area, drawn to static images by ``dot``.

:func:`graphviz_erd` writes a ``digraph``: one node per table of the area
(a box listing its columns with their short types and ``PK``/``FK``/``UK``
marks), one grey node per table outside the area that a foreign key refers
to (named, with only the referred columns), and one edge per foreign key from
the child's column to the parent's. Render it with ``dot -Tsvg``; the
documentation does so with :mod:`sphinx.ext.graphviz`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ForeignKeyConstraint, MetaData, Table, exc
from sqlalchemy.sql.schema import Column

from lightcurvedb.erd.tables import (
    AREAS,
    _token,
    area_tables,
    column_type_token,
    entity_names,
    single_column_uniques,
)

__all__ = ["graphviz_erd"]

_HEADER = "#d7e6f5"
_CONTEXT = "#eeeeee"
_FONT = "Helvetica"
#: Suffix of the port on a column's last cell, where its foreign-key edges start.
_OUT = "__out"


def _quote(text: str) -> str:
    """Quote ``text`` as a DOT identifier."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _marks(column: Column[Any], unique: set[str]) -> str:
    marks = []
    if column.primary_key:
        marks.append("PK")
    if column.foreign_keys:
        marks.append("FK")
    if column.name in unique and not column.primary_key:
        marks.append("UK")
    return " ".join(marks)


def _bold(text: str) -> str:
    return f"<b>{text}</b>" if text else " "


def _table_label(table: Table, name: str) -> str:
    unique = single_column_uniques(table)
    rows = [f'<tr><td bgcolor="{_HEADER}" colspan="3"><b>{html.escape(name)}</b>'
            f'<br/><font point-size="9">{html.escape(table.fullname)}</font></td></tr>']
    for column in table.columns:
        rows.append(f'<tr><td port="{_token(column.name)}" align="left">'
                    f"{html.escape(column.name)}</td>"
                    f'<td align="left"><font color="#555555">'
                    f"{html.escape(column_type_token(column.type))}</font></td>"
                    f'<td port="{_token(column.name)}{_OUT}" align="left">'
                    f"{_bold(_marks(column, unique))}</td></tr>")
    return ('<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
            + "".join(rows) + "</table>>")


def _context_label(table: Table, name: str, columns: Iterable[str]) -> str:
    rows = [f'<tr><td bgcolor="{_CONTEXT}"><i>{html.escape(name)}</i>'
            f'<br/><font point-size="9">{html.escape(table.fullname)}</font></td></tr>']
    rows.extend(f'<tr><td port="{_token(column)}" align="left">'
                f'<font color="#555555">{html.escape(column)}</font></td></tr>'
                for column in sorted(columns))
    return ('<<table border="0" cellborder="1" cellspacing="0" cellpadding="3" '
            'color="#999999">' + "".join(rows) + "</table>>")


def _edge(constraint: ForeignKeyConstraint, parent: Table) -> str:
    child = constraint.table
    columns = [column.name for column in constraint.columns]
    referred = [element.column.name for element in constraint.elements]
    nullable = any(column.nullable for column in constraint.columns)
    primary_key = {column.name for column in child.primary_key.columns}
    one_to_one = set(columns) == primary_key or (
        len(columns) == 1 and columns[0] in single_column_uniques(child))
    attributes = {
        "dir": "both",
        "arrowhead": "teeodot" if nullable else "teetee",   # the parent: zero/exactly one
        "arrowtail": "teeodot" if one_to_one else "crowodot",  # the child: one or many
        "tooltip": f"{child.fullname}({', '.join(columns)}) -> "
                   f"{parent.fullname}({', '.join(referred)})",
    }
    listed = ", ".join(f"{key}={_quote(value)}" for key, value in attributes.items())
    return (f"  {_quote(child.fullname)}:{_quote(_token(columns[0]) + _OUT)}:e -> "
            f"{_quote(parent.fullname)}:{_quote(_token(referred[0]))}:w [{listed}];")


def graphviz_erd(area: str | None = "core", *, metadata: MetaData | None = None,
                 tables: Iterable[Table | str] | None = None) -> str:
    """Draw one area of the schema (or chosen tables) as Graphviz DOT.

    Parameters
    ----------
    area : str or None, optional
        A key of :data:`~lightcurvedb.erd.AREAS`: ``"core"`` (default),
        ``"missions"``, ``"rbh1"`` or ``"radio"`` (see
        :func:`~lightcurvedb.erd.area_tables`). Ignored when ``tables`` is given.
    metadata : sqlalchemy.MetaData, optional
        Where to take the tables from; :data:`lightcurvedb.metadata` with every
        shipped model and installed plugin by default.
    tables : iterable of sqlalchemy.Table or str, optional
        Exactly these tables (objects, or keys of ``metadata`` such as
        ``"dataset"`` or ``"rbh1.observations"``).

    Returns
    -------
    str
        A ``digraph``, ending with a newline. Nodes are keyed by the table's
        full name; each foreign-key edge runs from the child's first key
        column (port ``<column>__out``, its row's right end) to the parent's
        first referred column (port ``<column>``), one line per foreign key,
        with crow's-foot ends (``crowodot`` at the child: zero or more rows;
        ``teeodot`` at the parent for a nullable key). Tables outside the
        selection that a foreign key refers to are drawn grey with only their
        referred columns; keys to tables ``metadata`` lacks draw nothing.
        The same tables always give the same text.

    Raises
    ------
    ValueError
        If ``area`` is not an area and no ``tables`` are given.
    KeyError
        If a table named in ``tables`` is not in ``metadata``.

    Examples
    --------
    >>> print(graphviz_erd("core").splitlines()[0])
    digraph "lightcurvedb_core" {
    """
    from lightcurvedb.erd.tables import _all_metadata

    if metadata is None:
        metadata = _all_metadata()
    if tables is not None:
        selected = [metadata.tables[t] if isinstance(t, str) else t for t in tables]
        graph_name = "lightcurvedb_tables"
    elif area in AREAS:
        selected = area_tables(area, metadata)
        graph_name = f"lightcurvedb_{area}"
    else:
        raise ValueError(f"unknown ERD area {area!r}; choose one of {', '.join(AREAS)}")
    drawn = set(selected)

    edges: list[tuple[ForeignKeyConstraint, Table]] = []
    context: dict[Table, set[str]] = {}
    for table in selected:
        for constraint in table.foreign_key_constraints:
            try:
                parent = constraint.referred_table
            except exc.NoReferencedTableError:
                continue
            edges.append((constraint, parent))
            if parent not in drawn:
                context.setdefault(parent, set()).update(
                    element.column.name for element in constraint.elements)
    names = entity_names(drawn | set(context))

    lines = [f"digraph {_quote(graph_name)} {{",
             f'  graph [rankdir="LR", fontname="{_FONT}", nodesep="0.35", ranksep="0.9", '
             'bgcolor="transparent"];',
             f'  node [shape="plain", fontname="{_FONT}", fontsize="10"];',
             f'  edge [fontname="{_FONT}", color="#4a6785", arrowsize="0.8"];']
    for table in sorted(drawn, key=lambda t: t.fullname):
        lines.append(f"  {_quote(table.fullname)} [label={_table_label(table, names[table])}];")
    for table in sorted(context, key=lambda t: t.fullname):
        lines.append(f"  {_quote(table.fullname)} "
                     f"[label={_context_label(table, names[table], context[table])}];")
    lines.extend(sorted(_edge(constraint, parent) for constraint, parent in edges))
    lines.append("}")
    return "\n".join(lines) + "\n"
