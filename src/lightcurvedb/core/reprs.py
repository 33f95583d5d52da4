"""One-line ``repr`` of mapped objects that never queries the database.

A ``repr`` runs in tracebacks, debuggers and notebooks, where a lazy load
would issue SQL or, on a detached object, raise. :func:`model_repr` shows only
the attributes known without SQL (loaded, or a many-to-one already in the
session); the others appear as ``name=...``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm.base import NO_VALUE, PASSIVE_NO_FETCH, PASSIVE_NO_RESULT

__all__ = ["Field", "model_repr"]


#: A field of :func:`model_repr`: an attribute name, or ``(name, needs, compute)``.
Field = str | tuple[str, str, Callable[[], Any]]


def model_repr(obj: Any, *fields: Field) -> str:
    """Return ``ClassName(name=value, ...)`` from the loaded attributes of ``obj``.

    Parameters
    ----------
    obj : mapped object
        Any instance of a lightcurvedb model.
    *fields : str or (str, str, callable)
        What to show, in order: a mapped attribute name (an unloaded one shows
        as ``name=...``), or ``(name, needs, compute)`` for a value computed
        from relationships, e.g. ``("camera", "instrument.parent", lambda:
        obj.camera)``, shown when the dotted path ``needs`` is loaded.

    Returns
    -------
    str
    """
    parts = []
    for field in fields:
        name, needs, compute = (field, field, None) if isinstance(field, str) else field
        if not _loaded(obj, needs):
            parts.append(f"{name}=...")
        else:
            parts.append(f"{name}={(compute() if compute else getattr(obj, name))!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def _peek(obj: Any, name: str) -> tuple[bool, Any]:
    """Return ``(True, value)`` if ``obj.name`` is known without SQL, else ``(False, None)``.

    A loaded attribute is known; so is a many-to-one whose target is already in
    the session's identity map (SQLAlchemy's own no-fetch lookup).
    """
    state = inspect(obj)
    if name not in state.unloaded:
        return True, getattr(obj, name)
    if state.session is None:
        return False, None
    value = state.manager[name].impl.get(state, state.dict, passive=PASSIVE_NO_FETCH)
    if value is PASSIVE_NO_RESULT or value is NO_VALUE:
        return False, None
    return True, value


def _loaded(obj: Any, path: str) -> bool:
    for name in path.split("."):
        if obj is None:
            return True
        known, obj = _peek(obj, name)
        if not known:
            return False
    return True
