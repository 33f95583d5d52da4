"""The missions lightcurvedb knows: the shipped ones and those of other packages.

A downstream package declares, in its ``pyproject.toml``::

    [project.entry-points."lightcurvedb.missions"]
    mymission = "mypackage.mission"

Importing ``mypackage.mission`` must define its models on
:class:`lightcurvedb.Base`. If the module has an ``ALEMBIC_VERSIONS`` attribute
(a directory of Alembic revisions forming the package's own branch), ``lcdb db
upgrade`` and :mod:`lightcurvedb.migrations` include it.

Missions register themselves: when SQLAlchemy first configures the mappers
(the first query, object or relationship access of a process; never at import
time) :func:`register_missions` imports :data:`SHIPPED_MISSIONS` and every
plugin, so ``select(Observation)`` returns TESS, HST, JWST and plugin rows as
their own classes in a script that imported only :mod:`lightcurvedb.models`.
A plugin that fails to import there is reported with a :class:`PluginWarning`
and left out; the rest of lightcurvedb works without it, and a row of one of
its types raises
:class:`~lightcurvedb.core.polymorphic.UnknownPolymorphicIdentityError` naming
the plugin and why it failed (:func:`missing_mission_hint`).
"""

from __future__ import annotations

import importlib
import pathlib
import warnings
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from types import MappingProxyType, ModuleType

__all__ = [
    "ENTRY_POINT_GROUP",
    "SHIPPED_MISSIONS",
    "PluginError",
    "PluginWarning",
    "load_plugins",
    "missing_mission_hint",
    "plugin_failures",
    "plugin_version_locations",
    "register_missions",
]

ENTRY_POINT_GROUP = "lightcurvedb.missions"

#: The mission modules lightcurvedb ships; :func:`register_missions` imports them.
#: (:mod:`lightcurvedb.rbh1` and :mod:`lightcurvedb.radio` define no subclass of
#: a polymorphic model, so loading rows never needs them.)
SHIPPED_MISSIONS = ("lightcurvedb.missions.tess", "lightcurvedb.missions.hst",
                    "lightcurvedb.missions.jwst")


class PluginError(ImportError):
    """A registered mission package could not be loaded.

    Parameters
    ----------
    message : str
        The whole message, naming the entry point and its distribution.
    plugin : str, optional
        The entry point, its module and its distribution, e.g.
        ``mission plugin 'kepler' (lcdb_kepler.mission, from lcdb-kepler-example)``.
    reason : str, optional
        Why it failed, e.g. ``ModuleNotFoundError: No module named 'numpy'``.
    """

    def __init__(self, message: str, *, plugin: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.plugin = plugin
        self.reason = reason


class PluginWarning(UserWarning):
    """A mission plugin failed to import while the mappers configured; it is left out."""


_failures: dict[str, PluginError] = {}
_registered = False


def _import(entry: EntryPoint) -> ModuleType:
    """Import the module of ``entry``; raise :class:`PluginError` naming it if that fails."""
    try:
        return importlib.import_module(entry.value)
    except Exception as exc:
        dist = entry.dist.name if entry.dist is not None else "unknown distribution"
        plugin = f"mission plugin {entry.name!r} ({entry.value}, from {dist})"
        reason = f"{type(exc).__name__}: {exc}"
        raise PluginError(f"{plugin} failed to import: {reason}", plugin=plugin,
                          reason=reason) from exc


def load_plugins() -> dict[str, ModuleType]:
    """Import every registered mission module; return them by entry-point name.

    Migrations use this: they need the complete schema, so the first failure
    is raised (compare :func:`register_missions`).

    Raises
    ------
    PluginError
        Naming the entry point and the distribution when a module fails to import.
    """
    return {entry.name: _import(entry) for entry in entry_points(group=ENTRY_POINT_GROUP)}


def register_missions() -> None:
    """Import the shipped missions and every plugin, once per process.

    Called by SQLAlchemy's ``before_configured`` event (see
    :mod:`lightcurvedb.core.polymorphic`); calling it again does nothing. A
    plugin that fails to import is recorded (:func:`plugin_failures`) and
    reported once with a :class:`PluginWarning`, so a broken or half-installed
    plugin never makes the core unusable. A shipped mission that fails to
    import is a bug of lightcurvedb and raises.

    A mission module is imported while the mappers configure, so it should
    only define its models at import time, not query or create objects.
    """
    global _registered
    if _registered:
        return
    _registered = True  # first, so that a plugin importing lightcurvedb cannot recurse
    try:
        for name in SHIPPED_MISSIONS:
            importlib.import_module(name)
    except BaseException:
        _registered = False
        raise
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            _import(entry)
        except PluginError as exc:
            _failures[entry.name] = exc
            warnings.warn(f"{exc}; its rows cannot be loaded", PluginWarning, stacklevel=2)


def plugin_failures() -> Mapping[str, PluginError]:
    """Return the plugins :func:`register_missions` could not import, by entry-point name."""
    return MappingProxyType(_failures)


def missing_mission_hint(identity: str) -> str:
    """Say where the class of polymorphic identity ``identity`` would come from.

    What the database tells is only the identity itself; lightcurvedb's
    convention (:doc:`/tutorial_downstream`) is that a mission package
    prefixes its identities with the name of its entry point
    (``kepler_observation`` from entry point ``kepler``). If a plugin of that
    name failed to import, the hint names it and the reason; otherwise it names
    the entry point to install.
    """
    for name, failure in _failures.items():
        if identity == name or identity.startswith(f"{name}_"):
            return (f"the {failure.plugin} that by convention defines it is installed but "
                    f"failed to import: {failure.reason}")
    mission = identity.split("_", 1)[0]
    hint = (f"install the mission package that wrote it (by lightcurvedb's naming convention, "
            f"the one whose {ENTRY_POINT_GROUP!r} entry point is {mission!r})")
    if _failures:
        hint += f"; mission plugins that failed to import: {', '.join(sorted(_failures))}"
    return hint


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
