"""Missions from other packages, found through the ``lightcurvedb.missions`` entry point group.

A downstream package declares, in its ``pyproject.toml``::

    [project.entry-points."lightcurvedb.missions"]
    mymission = "mypackage.mission"

Importing ``mypackage.mission`` must define its models on
:class:`lightcurvedb.Base`. If the module has an ``ALEMBIC_VERSIONS`` attribute
(a directory of Alembic revisions forming the package's own branch), ``lcdb db
upgrade`` and :mod:`lightcurvedb.migrations` include it.
"""

from __future__ import annotations

import importlib
import pathlib
from importlib.metadata import entry_points
from types import ModuleType

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "load_plugins", "plugin_version_locations"]

ENTRY_POINT_GROUP = "lightcurvedb.missions"


class PluginError(ImportError):
    """A registered mission package could not be loaded."""


def load_plugins() -> dict[str, ModuleType]:
    """Import every registered mission module; return them by entry-point name.

    Raises
    ------
    PluginError
        Naming the entry point and the distribution when a module fails to import.
    """
    modules: dict[str, ModuleType] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            modules[entry.name] = importlib.import_module(entry.value)
        except Exception as exc:
            dist = entry.dist.name if entry.dist is not None else "unknown distribution"
            raise PluginError(f"mission plugin {entry.name!r} ({entry.value}, from {dist}) "
                              f"failed to import: {exc}") from exc
    return modules


def plugin_version_locations() -> list[pathlib.Path]:
    """Return the Alembic revision directories of the registered mission packages."""
    locations = []
    for name, module in sorted(load_plugins().items()):
        location = getattr(module, "ALEMBIC_VERSIONS", None)
        if location is None:
            continue
        path = pathlib.Path(location)
        if not path.is_dir():
            raise PluginError(f"mission plugin {name!r}: ALEMBIC_VERSIONS {path} is not a "
                              "directory")
        locations.append(path)
    return locations
