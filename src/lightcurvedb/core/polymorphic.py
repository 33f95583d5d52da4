"""Polymorphic loading that does not depend on which modules a script imported.

Rows of :class:`~lightcurvedb.models.Observation`,
:class:`~lightcurvedb.models.FITSFrame` and
:class:`~lightcurvedb.models.QualityFlagArray` are loaded as the class their
``type`` column names, which SQLAlchemy can only do for classes that exist in
the process. Two hooks, installed on :class:`lightcurvedb.Base` by
:mod:`lightcurvedb.core.base`, take care of that:

* :func:`register_missions` runs when SQLAlchemy configures the mappers (its
  ``before_configured`` event: on the first query, object or relationship
  access, never at import time) and imports the shipped missions and every
  installed ``lightcurvedb.missions`` plugin
  (:func:`lightcurvedb.missions.registry.register_missions`), so a script that
  imports only :mod:`lightcurvedb.models` reads TESS, HST, JWST and plugin rows.
* :func:`use_identity_map` gives each polymorphic base an identity map that,
  for a ``type`` no loaded class defines (a plugin that is not installed, or
  failed to import), raises :class:`UnknownPolymorphicIdentityError` -- one
  line naming the identity, the table, the base class and the likely package
  -- instead of SQLAlchemy's bare ``AssertionError``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Mapper

__all__ = ["UnknownPolymorphicIdentityError", "register_missions", "use_identity_map"]


class UnknownPolymorphicIdentityError(LookupError):
    """A row whose polymorphic identity (``type`` column) no loaded class defines.

    Parameters
    ----------
    identity : str
        The row's discriminator value, e.g. ``"kepler_observation"``.
    mapper : sqlalchemy.orm.Mapper
        The mapper of the polymorphic base class (``Observation`` ...).
    hint : str
        What to do about it: the package to install, or the plugin that failed.

    Attributes
    ----------
    identity : str
        The unknown identity.
    base : builtins.type
        The polymorphic base class.
    table : str
        The base class's table (where the ``type`` column is).
    """

    def __init__(self, identity: Any, mapper: Mapper[Any], hint: str) -> None:
        self.identity = identity
        self.base: type = mapper.class_
        self.table = str(mapper.local_table)
        known = ", ".join(sorted(str(key) for key in mapper.polymorphic_map))
        super().__init__(
            f"{self.table} row has polymorphic identity {identity!r}, which no loaded "
            f"{self.base.__name__} class defines (known: {known}); {hint}; to read the other rows, "
            f"add .where({self.base.__name__}.type != {identity!r})")

    def __str__(self) -> str:
        return str(self.args[0])


class _IdentityMap(dict[Any, "Mapper[Any]"]):
    """``polymorphic_map`` of a base mapper: an unknown identity raises a clear error.

    SQLAlchemy looks the discriminator of every loaded row up with ``[]`` and
    turns a ``KeyError`` into ``AssertionError: No such polymorphic_identity``;
    :meth:`__missing__` registers the missions (for a lookup made before the
    mappers configured) and, if the identity is still unknown, raises an error
    that is not a ``KeyError``. The lookups that only ask (``in``, ``get``) are
    unaffected.
    """

    def __init__(self, mapper: Mapper[Any], entries: dict[Any, Mapper[Any]]) -> None:
        super().__init__(entries)
        self.mapper = mapper

    def __missing__(self, identity: Any) -> Mapper[Any]:
        from lightcurvedb.missions import registry

        # A lookup before the mappers were ever configured registers the missions too.
        registry.register_missions()
        if identity in self:
            return dict.__getitem__(self, identity)
        raise UnknownPolymorphicIdentityError(identity, self.mapper,
                                              registry.missing_mission_hint(str(identity)))


def use_identity_map(mapper: Mapper[Any], class_: type) -> None:
    """Give a polymorphic base mapper an :class:`_IdentityMap` (``after_mapper_constructed``).

    The subclasses' mappers share their base's map, and are constructed later,
    so replacing the base's map right after its construction covers the whole
    hierarchy.
    """
    if mapper.inherits is None and mapper.polymorphic_on is not None \
            and not isinstance(mapper.polymorphic_map, _IdentityMap):
        mapper.polymorphic_map = _IdentityMap(mapper, mapper.polymorphic_map)


def register_missions() -> None:
    """Import the shipped missions and the installed plugins (``before_configured``).

    SQLAlchemy calls this before each configuration pass, under its
    configuration lock, before it takes the list of mappers to configure: the
    classes the imported modules define join the same pass. It works once per
    process; see :func:`lightcurvedb.missions.registry.register_missions`.
    """
    from lightcurvedb.missions import registry

    registry.register_missions()
