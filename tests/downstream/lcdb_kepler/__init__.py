"""Kepler mission tables for lightcurvedb: an example downstream package.

The models live in :mod:`lcdb_kepler.mission`, which lightcurvedb imports
through the ``lightcurvedb.missions`` entry point; their tables are created by
this package's own Alembic branch, ``lcdb_kepler`` (:mod:`lcdb_kepler.migrations`).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
