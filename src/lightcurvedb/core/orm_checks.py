"""Every ORM write checked against the column rules before the flush, on both backends.

:func:`check_flush` runs as a ``before_flush`` listener of every
:class:`~sqlalchemy.orm.Session` (registered by :mod:`lightcurvedb.core.base`):
each new object's set attributes and each changed attribute of a dirty object
are judged by :mod:`lightcurvedb.core.column_rules`, and the first value a
column does not accept raises
:class:`~lightcurvedb.core.column_rules.ColumnValueError` naming
``Model.attribute``, the value and the reason -- before SQLite could store it
or PostgreSQL refuse it. NOT NULL is left to the database, which enforces it
alike on both (foreign keys are only filled in during the flush); array
attributes are already checked on assignment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, inspect
from sqlalchemy.orm import ColumnProperty, Session

from lightcurvedb.core.column_rules import ColumnValueError, column_rule

__all__ = ["check_flush", "check_object"]


def check_object(obj: Any, keys: Any = None) -> None:
    """Raise :class:`~lightcurvedb.core.column_rules.ColumnValueError` for a bad attribute.

    Parameters
    ----------
    obj : object
        A mapped instance.
    keys : iterable of str, optional
        The attributes to judge (default: every column attribute that is set).
    """
    state = inspect(obj)
    mapper = state.mapper
    values = state.dict
    wanted = None if keys is None else set(keys)
    for prop in mapper.column_attrs:
        if not isinstance(prop, ColumnProperty) or prop.key not in values:
            continue
        if wanted is not None and prop.key not in wanted:
            continue
        column = prop.columns[0]
        if not isinstance(column, Column) or getattr(column, "table", None) is None:
            continue
        rule = column_rule(column)
        if rule.kind == "array":
            continue
        value = values[prop.key]
        if value is None:
            continue
        reason = rule.problem(value)
        if reason is not None:
            raise ColumnValueError(f"{type(obj).__name__}.{prop.key}", value, reason)


def check_flush(session: Session, flush_context: Any, instances: Any,
                only: type | None = None) -> None:
    """``before_flush`` listener: judge the new and changed attributes of the session's objects.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The session about to flush.
    flush_context, instances
        As SQLAlchemy passes them (unused).
    only : class, optional
        Judge only instances of this class (lightcurvedb passes its
        :class:`~lightcurvedb.core.base.Base`, so other libraries' models in
        the same process are left alone).

    Raises
    ------
    ColumnValueError
        For the first refused value; nothing is flushed.
    """
    for obj in session.new:
        if only is None or isinstance(obj, only):
            check_object(obj)
    for obj in session.dirty:
        if only is not None and not isinstance(obj, only):
            continue
        changed = inspect(obj).committed_state.keys()
        if changed:
            check_object(obj, changed)
