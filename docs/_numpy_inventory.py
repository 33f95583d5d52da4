"""Write an intersphinx inventory of numpy's public names, from the installed numpy.

numpy has no Debian documentation package and no PyPI package ships its
``objects.inv``, so an offline docs build cannot read numpy's own inventory.
:func:`write_inventory` writes one instead, by introspecting the installed
numpy, with addresses following the layout of https://numpy.org/doc/stable/:

* functions, ufuncs and classes of the ``numpy`` namespace:
  ``reference/generated/numpy.<name>.html#numpy.<name>``;
* methods and attributes of :class:`numpy.ndarray`:
  ``reference/generated/numpy.ndarray.<name>.html#numpy.ndarray.<name>``;
* scalar types (``float64``, ``bool_``, ``generic``, ``floating``, ...):
  ``reference/arrays.scalars.html#numpy.<name>``;
* ``numpy.typing.NDArray``, ``ArrayLike``, ``DTypeLike``: ``reference/typing.html``;
* constants (``nan``, ``inf``, ``pi``, ``e``, ``euler_gamma``, ``newaxis``):
  ``reference/constants.html``;
* ``numpy.random.Generator`` and ``numpy.random.default_rng``:
  ``reference/random/generator.html``.

Only public names (no leading underscore) of these categories are listed;
submodules and their contents (``numpy.ma``, ``numpy.linalg``, ...) are not.
"""

from __future__ import annotations

import inspect
import os
import pathlib
import tempfile
import zlib

import numpy
import numpy.random
import numpy.typing

BASE_URL = "https://numpy.org/doc/stable/"
CONSTANTS = ("e", "euler_gamma", "inf", "nan", "newaxis", "pi")
TYPING = ("ArrayLike", "DTypeLike", "NDArray")
# Subclasses of numpy.generic documented on a page of their own, not with the scalars.
_OWN_PAGE_SCALARS = frozenset({"record"})


def _generated(name: str) -> str:
    return f"reference/generated/{name}.html#{name}"


def _is_function(obj: object) -> bool:
    # numpy.mean and most other functions are array-function dispatchers.
    return (inspect.isroutine(obj) or isinstance(obj, numpy.ufunc)
            or type(obj) is type(numpy.mean))


def numpy_entries() -> list[tuple[str, str, str]]:
    """List the inventory's entries.

    Returns
    -------
    list of tuple of str
        ``(name, "domain:role", uri)`` sorted by name and role, the ``uri``
        relative to :data:`BASE_URL`.
    """
    entries = set()
    for attr in set(numpy.__all__):
        obj = getattr(numpy, attr, None)
        name = f"numpy.{attr}"
        if attr.startswith("_") or obj is None:
            continue
        if isinstance(obj, type):
            scalar = issubclass(obj, numpy.generic) and attr not in _OWN_PAGE_SCALARS
            uri = f"reference/arrays.scalars.html#{name}" if scalar else _generated(name)
            entries.add((name, "py:class", uri))
        elif _is_function(obj):
            entries.add((name, "py:function", _generated(name)))
    for attr in dir(numpy.ndarray):
        if not attr.startswith("_"):
            member = inspect.getattr_static(numpy.ndarray, attr)
            role = "py:attribute" if inspect.isdatadescriptor(member) else "py:method"
            entries.add((f"numpy.ndarray.{attr}", role, _generated(f"numpy.ndarray.{attr}")))
    for attr in CONSTANTS:
        if hasattr(numpy, attr):
            entries.add((f"numpy.{attr}", "py:data", f"reference/constants.html#numpy.{attr}"))
    for attr in TYPING:
        if hasattr(numpy.typing, attr):
            uri = f"reference/typing.html#numpy.typing.{attr}"
            # py:data is what numpy documents; py:class is what annotations look up.
            entries.add((f"numpy.typing.{attr}", "py:data", uri))
            entries.add((f"numpy.typing.{attr}", "py:class", uri))
    for attr, role in (("Generator", "py:class"), ("default_rng", "py:function")):
        if hasattr(numpy.random, attr):
            entries.add((f"numpy.random.{attr}", role,
                         f"reference/random/generator.html#numpy.random.{attr}"))
    return sorted(entries)


def inventory_bytes() -> bytes:
    """Return the inventory as the bytes of an ``objects.inv`` (format version 2)."""
    header = ("# Sphinx inventory version 2\n"
              "# Project: NumPy\n"
              f"# Version: {numpy.__version__}\n"
              "# The remainder of this file is compressed using zlib.\n")
    lines = []
    for name, role, uri in numpy_entries():
        if uri.endswith(name):
            uri = uri[:-len(name)] + "$"
        lines.append(f"{name} {role} 1 {uri} -\n")
    return header.encode() + zlib.compress("".join(lines).encode(), 9)


def write_inventory(path: str | os.PathLike | None = None) -> pathlib.Path:
    """Write the inventory to ``path`` unless it already holds the same bytes.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file to write; by default ``numpy-<version>.inv`` in a
        ``lightcurvedb-docs`` directory under :func:`tempfile.gettempdir`,
        outside the source tree.

    Returns
    -------
    pathlib.Path
        The file written, for ``intersphinx_mapping``.
    """
    if path is None:
        path = (pathlib.Path(tempfile.gettempdir()) / "lightcurvedb-docs"
                / f"numpy-{numpy.__version__}.inv")
    path = pathlib.Path(path)
    content = inventory_bytes()
    if path.is_file() and path.read_bytes() == content:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(content)
    os.replace(handle.name, path)          # whole file or none, for parallel builds
    return path
