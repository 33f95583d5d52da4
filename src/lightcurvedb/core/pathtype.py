"""Filesystem paths in the database: stored absolute, whatever directory they came from.

:class:`PathType` is the column type of every ``pathlib.Path`` annotation
(``FITSFrame.file_path``, ``RBH1Observation.file_path``,
``CatalogValidation.source_path``, ...). It stores what
:func:`absolute_path` returns, so a database written from one directory still
points at its files from any other; :func:`resolved_path` is the stricter rule
the loaders and services apply to the paths a user gives them.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from sqlalchemy import types
from sqlalchemy.engine import Dialect

__all__ = ["PathType", "absolute_path", "resolved_path"]


def absolute_path(value: str | os.PathLike[str]) -> pathlib.Path:
    """Return ``value`` as an absolute path without ``..``, the way :class:`PathType` stores it.

    * A relative path is taken relative to the current directory
      (:func:`os.getcwd`, which the operating system reports with its symbolic
      links already resolved).
    * A path with a ``..`` component is resolved (:meth:`pathlib.Path.resolve`,
      not strict): dropping ``x/..`` as text would be wrong when ``x`` is a
      symbolic link.
    * Any other absolute path is returned as given, without touching the
      filesystem: binding stays a string operation (bulk loads bind one path
      per row; resolving costs a system call per path component, far more on
      a network filesystem), works for files that do not exist (yet), and
      keeps a name chosen on purpose, such as a stable symbolic link
      ``/data/current``.

    Parameters
    ----------
    value : path-like
        A filesystem path; not empty.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For an empty path (it would silently mean the current directory).

    Examples
    --------
    >>> str(absolute_path("/data/tess/./s0001/x.fits"))
    '/data/tess/s0001/x.fits'
    """
    if isinstance(value, str) and not value:
        raise ValueError("empty path: give a file name")
    path = pathlib.Path(value)
    if ".." in path.parts:
        return path.resolve()
    return path if path.is_absolute() else pathlib.Path(os.getcwd(), path)


def resolved_path(value: str | os.PathLike[str]) -> pathlib.Path:
    """Return ``value`` absolute with ``..`` and symbolic links resolved, for storing.

    :meth:`pathlib.Path.resolve`, not strict: a path that does not exist (a
    Measurement Set not written yet, a file on an unmounted disk) is resolved
    as far as it exists and kept as written beyond.

    Parameters
    ----------
    value : path-like
        A filesystem path; not empty.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For an empty path, or one whose symbolic links form a loop.
    """
    if isinstance(value, str) and not value:
        raise ValueError("empty path: give a file name")
    try:
        return pathlib.Path(value).resolve()
    except RuntimeError as exc:   # a symbolic-link loop (Python < 3.13)
        raise ValueError(f"{os.fspath(value)}: {exc}") from None
    except OSError as exc:        # a symbolic-link loop (Python >= 3.13)
        raise ValueError(f"{os.fspath(value)}: {exc.strerror or exc}") from None


class PathType(types.TypeDecorator[pathlib.Path]):
    """A filesystem path stored as text and returned as :class:`pathlib.Path`.

    Every value is stored absolute (see :func:`absolute_path`): a relative
    path is joined to the current directory and a path with ``..`` resolved,
    so a database written from one directory still points at its files from
    any other. Query parameters bind through the same rule, so
    ``FITSFrame.file_path == Path("s1/x.fits")`` finds the row stored from
    that directory. :func:`lightcurvedb.paths.repoint` rewrites the stored
    paths when a data tree moves.
    """

    impl = types.String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        """Store ``value`` as :func:`absolute_path` makes it (None stays NULL)."""
        return None if value is None else str(absolute_path(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> pathlib.Path | None:
        """Return the stored text as a :class:`pathlib.Path`."""
        return None if value is None else pathlib.Path(value)

    @property
    def python_type(self) -> type:  # noqa: D102  (SQLAlchemy's; undocumented here)
        return pathlib.Path
