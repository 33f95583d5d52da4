"""Loaders: services that read data files and feed the ORM.

Every loader takes a session (or, through a ``load_paths`` convenience, a
database URL or engine) and paths, validates each file before writing
anything, writes each file atomically (a SAVEPOINT per file; the TESS loader
writes a batch of files at once and falls back to one SAVEPOINT per file when
the database refuses the batch), is idempotent (files already loaded with
identical data are skipped) and returns a :class:`LoadReport`::

    from lightcurvedb.loaders import tess

    with lightcurvedb.session() as s:
        report = tess.load_lightcurves(s, ["sector1/"])
    print(report.render())

Loaders flush but never commit the session they are given; the caller (or
``load_paths``, or the ``lcdb load`` command) commits.
"""

from lightcurvedb.loaders import tess
from lightcurvedb.loaders.progress import ProgressBar
from lightcurvedb.loaders.report import LoaderError, LoadReport

__all__ = ["LoadReport", "LoaderError", "ProgressBar", "tess"]
