"""Many rows against the :mod:`~lightcurvedb.core.column_rules`, a column at a time, cheaply.

The bulk writers run at the speed of the wire protocol, so the checks here
look at a whole column at once: numpy columns with vectorised comparisons,
lists of Python values through their set of types and C-speed ``min``/``max``/
``len``; only a column that fails (or holds mixed types) is walked value by
value, to find the first offending row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Table

from lightcurvedb.core.column_rules import ColumnRule, ColumnValueError, table_rules

__all__ = ["RowValueError", "check_rows", "first_problem"]

_NONE = type(None)
_NUMPY_INTS = frozenset(np.dtype(c).type for c in np.typecodes["AllInteger"])
_INT_TYPES = frozenset({int, bool, _NONE}) | _NUMPY_INTS
_FLOAT_TYPES = _INT_TYPES | {float, np.float64, np.float32, np.float16}
_TEXT_TYPES = frozenset({str, _NONE})
_BOOL_TYPES = frozenset({bool, np.bool_, _NONE})


class RowValueError(ColumnValueError):
    """A value of row ``row`` that its column does not accept (see :func:`check_rows`).

    Attributes
    ----------
    row : int
        0-based index of the row among those checked.
    column, value, reason
        As for :class:`~lightcurvedb.core.column_rules.ColumnValueError`.
    """

    def __init__(self, row: int, column: str, value: Any, reason: str) -> None:
        super().__init__(column, value, reason)
        self.row = row
        self.args = (f"row {row}: {self.args[0]}",)


def _slow(rule: ColumnRule, values: Sequence[Any], mask: np.ndarray | None) -> int | None:
    for i, value in enumerate(values):
        if mask is not None and mask[i]:
            value = None
        if rule.problem(value) is not None:
            return i
    return None


def _first(bad: np.ndarray) -> int | None:
    found = np.flatnonzero(bad)
    return int(found[0]) if found.size else None


def _array_column(rule: ColumnRule, values: np.ndarray, mask: np.ndarray | None) -> int | None:
    """First bad index of a 1-D numpy column (``mask`` marks NULLs), vectorised."""
    kind = values.dtype.kind
    present = np.ones(len(values), bool) if mask is None else ~mask
    if rule.required and mask is not None and mask.any():
        return _first(mask)
    if kind == "O":
        return _slow(rule, values.tolist(), mask)
    bad: np.ndarray | None = None
    if rule.kind == "integer":
        if kind not in "iub":
            return _first(present)
        low, high = rule.integer_range or (0, 0)
        if values.size and (values.min() < low or values.max() > high):
            bad = (values < low) | (values > high)
    elif rule.kind == "float":
        if kind not in "iuf":
            return _first(present)
        if kind == "f" and rule.not_null:
            bad = np.isnan(values)
    elif rule.kind == "text":
        if kind != "U":
            return _first(present)
        if rule.max_length is not None and values.dtype.itemsize // 4 > rule.max_length:
            bad = np.char.str_len(values) > rule.max_length
    elif rule.kind == "boolean":
        if kind != "b":
            return _first(present)
    elif rule.kind in ("enum", "array", "other"):
        return _slow(rule, values.tolist(), mask) if rule.kind == "enum" else None
    if bad is not None:
        index = _first(bad & present)
        if index is not None:
            return index
    if rule.choices is not None or rule.bounds:
        return _slow(rule, values.tolist(), mask)
    return None


def _list_column(rule: ColumnRule, values: Sequence[Any]) -> int | None:
    """First bad index of a column of Python values: fast paths by the set of types."""
    kind = rule.kind
    if kind in ("array", "other"):
        return None  # judged by the column type's own bind processing
    types = set(map(type, values))
    if _NONE in types and rule.required:
        return _slow(rule, values, None)
    present = [v for v in values if v is not None] if _NONE in types else values
    ok = False
    if kind == "integer" and types <= _INT_TYPES:
        low, high = rule.integer_range or (0, 0)
        ok = not present or (min(present) >= low and max(present) <= high)
    elif kind == "float" and types <= _FLOAT_TYPES:
        # NaN propagates through a sum (C speed): a sum that is not NaN holds none.
        ok = not rule.not_null or float not in types or not math.isnan(sum(present))
    elif kind == "text" and types <= _TEXT_TYPES:
        ok = (not present or rule.max_length is None
              or max(map(len, present)) <= rule.max_length) and "\x00" not in "".join(present)
    elif kind == "boolean" and types <= _BOOL_TYPES:
        ok = True
    if ok and rule.choices is None and not rule.bounds:
        return None
    return _slow(rule, values, None)


def first_problem(rules: Sequence[ColumnRule], columns: Sequence[Any],
                  masks: Sequence[np.ndarray | None] | None = None
                  ) -> tuple[int, int, Any, str] | None:
    """Find the first value, in row order, that its column refuses.

    Parameters
    ----------
    rules : sequence of ColumnRule
        One per column.
    columns : sequence of list or numpy.ndarray
        The values, column by column (``columns[k][i]`` is row ``i`` of column ``k``).
    masks : sequence of numpy.ndarray or None, optional
        Per column, which rows are NULL (for numpy columns).

    Returns
    -------
    tuple of (int, int, object, str) or None
        ``(row, column index, value, reason)`` of the first offending value
        (lowest row; on one row, the first column), or None if all are accepted.
    """
    best: tuple[int, int] | None = None
    for k, (rule, values) in enumerate(zip(rules, columns, strict=True)):
        mask = masks[k] if masks is not None else None
        if isinstance(values, np.ndarray) and values.ndim == 1:
            index = _array_column(rule, values, mask)
        else:
            index = _list_column(rule, values)
        if index is not None and (best is None or index < best[0]):
            best = (index, k)
    if best is None:
        return None
    row, k = best
    mask = masks[k] if masks is not None else None
    value = None if mask is not None and mask[row] else columns[k][row]
    reason = rules[k].problem(value)
    assert reason is not None
    return row, k, value, reason


def check_rows(table: Table, rows: Sequence[dict[str, Any]] | Sequence[Sequence[Any]],
               columns: Sequence[str] | None = None) -> None:
    """Raise :class:`RowValueError` for the first value of ``rows`` that ``table`` refuses.

    The same rules the ORM and the bulk writers apply before writing; use it
    to judge rows before handing them to other writers (``connection.execute``).

    Parameters
    ----------
    table : sqlalchemy.Table
        The destination table.
    rows : sequence of dict or sequence of tuple
        Dict rows (keys are column names) or tuples in the order of ``columns``.
    columns : sequence of str, optional
        The columns of tuple rows (default: every column of ``table``); dict
        rows use the first row's keys.

    Raises
    ------
    RowValueError
        Naming the row, the column, the value and the reason.
    """
    if not rows:
        return
    if isinstance(rows[0], dict):
        names = list(columns or rows[0].keys())
        values = [[row.get(name) for row in rows] for name in names]  # type: ignore[union-attr]
    else:
        names = list(columns or table.c.keys())
        values = [list(column) for column in zip(*rows, strict=True)]
    rules = table_rules(table, names)
    found = first_problem(rules, values)
    if found is not None:
        row, k, value, reason = found
        raise RowValueError(row, rules[k].label, value, reason)
