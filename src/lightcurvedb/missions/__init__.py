"""Mission subclasses of the core models: TESS, HST and JWST (and downstream missions).

Each mission module adds :class:`~lightcurvedb.models.Observation`,
:class:`~lightcurvedb.models.FITSFrame` and
:class:`~lightcurvedb.models.QualityFlagArray` subclasses, named quality bits,
its time system and a function that builds its instrument tree.

Nothing has to import this package for its classes to be used: when the
mappers are first configured, :func:`lightcurvedb.missions.registry.register_missions`
imports TESS, HST, JWST and every installed plugin, so a script that imports
only :mod:`lightcurvedb.models` reads all their rows as their own classes.
"""

from lightcurvedb.missions import hst, jwst, tess

__all__ = ["hst", "jwst", "tess"]
