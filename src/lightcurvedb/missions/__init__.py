"""Mission subclasses of the core models: TESS, HST and JWST (and downstream missions).

Each mission module adds :class:`~lightcurvedb.models.Observation`,
:class:`~lightcurvedb.models.FITSFrame` and
:class:`~lightcurvedb.models.QualityFlagArray` subclasses, named quality bits,
its time system and a function that builds its instrument tree. Importing this
package registers the shipped missions with the ORM.
"""

from lightcurvedb.missions import hst, jwst, tess

__all__ = ["hst", "jwst", "tess"]
