"""Every Python name a hand-written docs page cross-references exists.

The docs build runs with ``nitpicky = False`` (models' docstrings refer to
SQLAlchemy names, some of which cannot resolve offline), so a misspelt
``:func:`` would silently render as code. These pages claim equivalents, so
their names are checked here by importing them.
"""

from __future__ import annotations

import builtins
import importlib
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
PAGES = ["migrating_from_kavli.rst", "lightcurves_tutorial.rst", "targets.rst"]
ROLE = re.compile(r":(?:py:)?(class|func|meth|attr|data|mod|exc):`([^`]+)`")


def _targets(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    targets = []
    for _, body in ROLE.findall(text):
        inner = re.search(r"<([^>]+)>", body)
        name = (inner.group(1) if inner else body).lstrip("~").strip()
        targets.append(name.split("(")[0])
    return targets


def _resolve(name: str) -> object:
    if "." not in name and hasattr(builtins, name):
        return getattr(builtins, name)               # :class:`LookupError`
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(name)


@pytest.mark.parametrize("page", [p for p in PAGES if (DOCS / p).is_file()])
def test_every_cross_referenced_name_resolves(page):
    targets = _targets(page)
    assert len(targets) >= 5, f"{page}: the pattern found almost no references"
    missing = []
    for name in targets:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert missing == [], f"{page} cites names that do not exist: {missing}"


def test_the_check_catches_a_misspelt_name():
    with pytest.raises(AttributeError):
        _resolve("lightcurvedb.models.Instrument.find_by_path")
    assert _resolve("lightcurvedb.models.Instrument.find") is not None
