"""What a column accepts, derived from the table metadata: one verdict on every backend.

SQLite stores almost anything in any column (text in a ``BIGINT``, 70
characters in a ``VARCHAR(64)``, integers beyond 64 bits as an
``OverflowError`` at bind time); PostgreSQL refuses them. So that the embedded
default never holds data the production backend would reject, every write
path (the ORM, :func:`~lightcurvedb.bulk.copy_rows`,
:func:`~lightcurvedb.bulk.upsert_rows`, the loaders) checks its values against
the :class:`ColumnRule` of each column before writing, on both backends:

* integer columns (``SmallInteger``, ``Integer``, ``BigInteger``) hold
  integers (not text or floats; ``True``/``False`` are 1 and 0) within the
  PostgreSQL type's range;
* text columns (``String``, ``Text``) hold text, at most ``String(n)``'s
  length in characters, without NUL characters (PostgreSQL refuses them);
* float columns hold numbers; NaN only where the column is nullable
  (SQLite stores NaN as NULL, so a NOT NULL column would take it on
  PostgreSQL and refuse it on SQLite);
* boolean columns hold booleans;
* ``Enum`` columns and simple ``CHECK`` constraints (``col IN (...)``,
  ``col > n``, ``col BETWEEN a AND b``) accept only the values they declare;
* NOT NULL columns with no default refuse an explicit None.

Array columns (:class:`~lightcurvedb.core.types.NumpyArray`) are judged by
their own :meth:`~lightcurvedb.core.types.NumpyArray.coerce` (dtype kind,
lossless casts, finite values where the column says so), which both backends'
bind processing already call. Other types (JSON, dates, paths, footprints)
keep the checks of their own bind processing.
"""

from __future__ import annotations

import ast
import enum
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Enum,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Table,
)
from sqlalchemy.types import TypeDecorator

from lightcurvedb.core.types import NumpyArray

__all__ = ["ColumnRule", "ColumnValueError", "column_rule", "describe_value", "table_rules"]

#: Inclusive ranges of PostgreSQL's integer types.
INTEGER_RANGES = {16: (-2**15, 2**15 - 1), 32: (-2**31, 2**31 - 1), 64: (-2**63, 2**63 - 1)}
_INTEGER_NAMES = {16: "smallint", 32: "integer", 64: "bigint"}
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "=": operator.eq, "<>": operator.ne, "!=": operator.ne}
_IN = re.compile(r"^\s*\(?\s*(\w+)\s+IN\s*(\(.*\))\s*\)?\s*$", re.IGNORECASE | re.DOTALL)
_NUMBER = r"(-?\d+(?:\.\d+)?)"
_COMPARE = re.compile(rf"^\s*\(?\s*(\w+)\s*(>=|<=|<>|!=|>|<|=)\s*{_NUMBER}\s*\)?\s*$")
_BETWEEN = re.compile(rf"^\s*\(?\s*(\w+)\s+BETWEEN\s+{_NUMBER}\s+AND\s+{_NUMBER}\s*\)?\s*$",
                      re.IGNORECASE)


class ColumnValueError(ValueError):
    """A value a column does not accept (on any backend), named with the column.

    Parameters
    ----------
    column : str
        ``table.column`` (or ``Model.attribute``) of the offending value.
    value : object
        The value.
    reason : str
        What is wrong, e.g. ``"beyond the range of bigint"``.

    Attributes
    ----------
    column, value, reason
        As given.
    """

    def __init__(self, column: str, value: Any, reason: str) -> None:
        self.column = column
        self.value = value
        self.reason = reason
        super().__init__(f"{column} = {describe_value(value)}: {reason}")


def describe_value(value: Any, limit: int = 40) -> str:
    """Return a short ``repr`` of ``value`` for an error line (long text cut, its length shown).

    Examples
    --------
    >>> describe_value("x" * 70)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (70 characters)"
    >>> describe_value(2**64)
    '18446744073709551616'
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit - 3]!r}"[:-1] + "...' " + f"({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit + 20 else text[:limit] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer))  # bool is an int: stored as 0/1 by both


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class ColumnRule:
    """What one column accepts: see the module docstring for the rules.

    Attributes
    ----------
    label : str
        ``table.column``, used in error messages.
    kind : str
        ``"integer"``, ``"float"``, ``"text"``, ``"boolean"``, ``"enum"``,
        ``"array"`` or ``"other"`` (judged by its own bind processing).
    required : bool
        NOT NULL with no default: an explicit None is refused.
    not_null : bool
        NOT NULL (NaN is refused in such a float column: SQLite stores NaN as NULL).
    integer_range : tuple of (int, int) or None
        Inclusive bounds of an integer column.
    type_name : str
        The PostgreSQL type, for messages (``"smallint"``, ``"varchar(64)"``).
    max_length : int or None
        Characters a ``String(n)`` column holds.
    choices : frozenset or None
        Values an ``Enum`` or ``CHECK (col IN (...))`` allows.
    bounds : tuple of (str, float, str), optional
        ``CHECK (col > n)`` and ``CHECK (col BETWEEN a AND b)`` constraints, as
        (operator, number, constraint text) triples.
    array_type : NumpyArray or None
        The array type of an array column.
    """

    label: str
    kind: str
    required: bool = False
    integer_range: tuple[int, int] | None = None
    type_name: str = ""
    max_length: int | None = None
    choices: frozenset[Any] | None = None
    bounds: tuple[tuple[str, float, str], ...] = ()
    array_type: NumpyArray | None = None
    not_null: bool = False

    def problem(self, value: Any) -> str | None:
        """Return why ``value`` cannot be stored in this column, or None if it can."""
        if value is None:
            return "NULL in a NOT NULL column" if self.required else None
        kind = self.kind
        if kind == "integer":
            if not _is_int(value):
                return f"not an integer ({self.type_name} column)"
            low, high = self.integer_range or INTEGER_RANGES[64]
            if not low <= int(value) <= high:
                return f"beyond the range of {self.type_name} ({low} to {high})"
        elif kind == "float":
            if not _is_number(value):
                return "not a number (float column)"
            if self.not_null and isinstance(value, (float, np.floating)) and math.isnan(value):
                return ("NaN in a NOT NULL float column (SQLite stores NaN as NULL, so "
                        "neither backend may take it)")
        elif kind == "text":
            if not isinstance(value, str):
                return f"not text ({self.type_name} column)"
            if self.max_length is not None and len(value) > self.max_length:
                return f"longer than {self.type_name}"
            if "\x00" in value:
                return "text holds a NUL character, which PostgreSQL cannot store"
        elif kind == "boolean":
            if not isinstance(value, (bool, np.bool_)):
                return "not a boolean"
        elif kind == "enum":
            allowed = self.choices or frozenset()
            if isinstance(value, enum.Enum):
                if value.value in allowed or value.name in allowed:
                    return None
                value = value.value
            if not isinstance(value, str) or value not in allowed:
                return f"not one of {', '.join(sorted(map(str, allowed)))}"
            return None
        elif kind == "array":
            assert self.array_type is not None
            try:
                self.array_type.coerce(value, what=self.label)
            except (ValueError, TypeError) as exc:
                return str(exc)
            return None
        if self.choices is not None and value not in self.choices:
            shown = ", ".join(map(repr, sorted(self.choices, key=lambda v: (str(type(v)), v))))
            return f"not one of {shown} (CHECK constraint)"
        for op, number, text in self.bounds:
            if _is_number(value) and not _COMPARISONS[op](value, number):
                return f"violates CHECK ({text})"
        return None

    def check(self, value: Any) -> None:
        """Raise :class:`ColumnValueError` if ``value`` cannot be stored in this column."""
        reason = self.problem(value)
        if reason is not None:
            raise ColumnValueError(self.label, value, reason)


def _base_type(column: Column[Any]) -> Any:
    """Return the column's type as PostgreSQL sees it (a ``with_variant`` resolved to its base)."""
    column_type = column.type
    variants = getattr(column_type, "_variant_mapping", {})
    return variants.get("postgresql", column_type)


def _check_rules(column: Column[Any]
                 ) -> tuple[frozenset[Any] | None, tuple[tuple[str, float, str], ...]]:
    """Read the simple ``CHECK`` constraints of the column's table on this column alone."""
    choices: frozenset[Any] | None = None
    bounds: list[tuple[str, float, str]] = []
    table = column.table
    for constraint in getattr(table, "constraints", ()):
        if not isinstance(constraint, CheckConstraint):
            continue
        text = str(getattr(constraint.sqltext, "text", constraint.sqltext))
        found = _IN.match(text)
        if found and found.group(1) == column.name:
            try:
                listed = ast.literal_eval(found.group(2))
            except (ValueError, SyntaxError):
                continue
            listed = listed if isinstance(listed, tuple) else (listed,)
            choices = frozenset(listed) if choices is None else choices & frozenset(listed)
            continue
        shown = " ".join(text.split())
        found = _COMPARE.match(text)
        if found and found.group(1) == column.name:
            bounds.append((found.group(2), float(found.group(3)), shown))
        found = _BETWEEN.match(text)
        if found and found.group(1) == column.name:
            bounds += [(">=", float(found.group(2)), shown), ("<=", float(found.group(3)), shown)]
    return choices, tuple(bounds)


def column_rule(column: Column[Any]) -> ColumnRule:
    """Return the :class:`ColumnRule` of a table column (cached per column).

    Parameters
    ----------
    column : sqlalchemy.Column
        A column of a :class:`~sqlalchemy.Table`.

    Returns
    -------
    ColumnRule
    """
    return _rule(column)


@cache
def _rule(column: Column[Any]) -> ColumnRule:
    label = f"{column.table.name}.{column.name}" if getattr(column, "table", None) is not None \
        else column.name
    has_default = column.default is not None or column.server_default is not None
    autoincrement = column.primary_key and column.autoincrement in (True, "auto") and \
        len(column.table.primary_key.columns) == 1
    required = not column.nullable and not has_default and not autoincrement
    choices, bounds = _check_rules(column)
    column_type = _base_type(column)
    common = dict(label=label, required=required, choices=choices, bounds=bounds,
                  not_null=not column.nullable)
    if isinstance(column_type, NumpyArray):
        return ColumnRule(kind="array", array_type=column_type, label=label, required=required)
    if isinstance(column_type, TypeDecorator):
        return ColumnRule(kind="other", **common)  # type: ignore[arg-type]
    if isinstance(column_type, Enum):
        names = set(column_type.enums)
        return ColumnRule(kind="enum", label=label, required=required,
                          choices=frozenset(names))
    if isinstance(column_type, Boolean):
        return ColumnRule(kind="boolean", **common)  # type: ignore[arg-type]
    if isinstance(column_type, Integer):
        bits = 16 if isinstance(column_type, SmallInteger) else \
            64 if isinstance(column_type, BigInteger) else 32
        return ColumnRule(kind="integer", integer_range=INTEGER_RANGES[bits],
                          type_name=_INTEGER_NAMES[bits], **common)  # type: ignore[arg-type]
    if isinstance(column_type, (Float, Numeric)):
        return ColumnRule(kind="float", **common)  # type: ignore[arg-type]
    if isinstance(column_type, String):
        length = column_type.length
        name = f"varchar({length})" if length else "text"
        return ColumnRule(kind="text", max_length=length, type_name=name,
                          **common)  # type: ignore[arg-type]
    return ColumnRule(kind="other", **common)  # type: ignore[arg-type]


def table_rules(table: Table, names: Sequence[str] | None = None) -> list[ColumnRule]:
    """Return the rules of ``table``'s columns (all, or those named), in order."""
    columns = table.c if names is None else [table.c[name] for name in names]
    return [column_rule(column) for column in columns]
