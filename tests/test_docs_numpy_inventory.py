"""The numpy inventory the docs build generates reads back as Sphinx reads it.

``docs/_numpy_inventory.py`` writes an ``objects.inv`` from the installed numpy
so that numpy names link offline. The expected addresses below are those of
numpy's documentation (https://numpy.org/doc/stable/), written out by hand.
"""

from __future__ import annotations

import pathlib
import posixpath
import sys

import numpy
import pytest
from sphinx.util.inventory import InventoryFile  # sphinx is in the test extra

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
BASE = "https://numpy.org/doc/stable/"


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    sys.path.insert(0, str(DOCS))
    try:
        import _numpy_inventory
    finally:
        sys.path.remove(str(DOCS))
    path = _numpy_inventory.write_inventory(tmp_path_factory.mktemp("inv") / "numpy.inv")
    with path.open("rb") as stream:
        data = InventoryFile.load(stream, BASE, posixpath.join)
    return path, data


def _uri(data, role, name):
    assert name in data.get(role, {}), f"{name} missing under {role}"
    item = data[role][name]
    return item.uri if hasattr(item, "uri") else item[2]


def test_header_names_numpy_and_its_installed_version(inventory):
    path, _ = inventory
    lines = path.read_bytes().split(b"\n", 4)
    assert lines[0] == b"# Sphinx inventory version 2"
    assert lines[1] == b"# Project: NumPy"
    assert lines[2].decode() == f"# Version: {numpy.__version__}"
    assert b"zlib" in lines[3]
    item = inventory[1]["py:class"]["numpy.ndarray"]
    version = item.project_version if hasattr(item, "project_version") else item[1]
    assert version == numpy.__version__


@pytest.mark.parametrize(("role", "name", "address"), [
    ("py:class", "numpy.ndarray", "reference/generated/numpy.ndarray.html#numpy.ndarray"),
    ("py:class", "numpy.dtype", "reference/generated/numpy.dtype.html#numpy.dtype"),
    ("py:class", "numpy.float64", "reference/arrays.scalars.html#numpy.float64"),
    ("py:class", "numpy.generic", "reference/arrays.scalars.html#numpy.generic"),
    ("py:class", "numpy.typing.NDArray", "reference/typing.html#numpy.typing.NDArray"),
    ("py:data", "numpy.typing.NDArray", "reference/typing.html#numpy.typing.NDArray"),
    ("py:class", "numpy.typing.ArrayLike", "reference/typing.html#numpy.typing.ArrayLike"),
    ("py:function", "numpy.isfinite", "reference/generated/numpy.isfinite.html#numpy.isfinite"),
    ("py:function", "numpy.mean", "reference/generated/numpy.mean.html#numpy.mean"),
    ("py:method", "numpy.ndarray.astype",
     "reference/generated/numpy.ndarray.astype.html#numpy.ndarray.astype"),
    ("py:attribute", "numpy.ndarray.shape",
     "reference/generated/numpy.ndarray.shape.html#numpy.ndarray.shape"),
    ("py:data", "numpy.nan", "reference/constants.html#numpy.nan"),
    ("py:data", "numpy.newaxis", "reference/constants.html#numpy.newaxis"),
    ("py:class", "numpy.random.Generator",
     "reference/random/generator.html#numpy.random.Generator"),
    ("py:function", "numpy.random.default_rng",
     "reference/random/generator.html#numpy.random.default_rng"),
])
def test_names_point_at_numpys_pages(inventory, role, name, address):
    _, data = inventory
    assert _uri(data, role, name) == BASE + address


def test_only_public_names(inventory):
    _, data = inventory
    names = [name for entries in data.values() for name in entries]
    assert len(names) > 300, "introspection found almost nothing"
    private = [name for name in names if any(part.startswith("_") for part in name.split("."))]
    assert private == []
    assert set(data) <= {"py:class", "py:function", "py:method", "py:attribute", "py:data"}
    assert not any(name.startswith(("numpy.linalg", "numpy.ma.")) for name in names)
