"""The light-curve API: find light curves, convert, export, plot and align them.

:func:`lightcurves` (also ``lightcurvedb.lightcurves``) reads the light curves
the filters select, with their metadata and every array, in two statements,
and returns a :class:`LightCurveCollection`::

    import lightcurvedb

    with lightcurvedb.session() as s:
        curves = lightcurvedb.lightcurves(s, tic=261136679, processing="PDC")
        curves.to_table()                    # astropy Table, one row per cadence
        curves[0].to_lightkurve()            # BTJD times, flagged cadences masked
        curves.align(to="observation")       # masked 2-D arrays on the cadence grid
        lightcurvedb.lightcurves(s, tic=261136679, best=True)   # PDC over SAP, in SQL

The package is called ``lc`` so that the function keeps the plain name
``lightcurves`` at the top level. pandas, pyarrow, lightkurve and matplotlib
are optional extras (``pandas``, ``parquet``, ``lightkurve``, ``plot``); a
method that needs a missing one raises :class:`MissingExtraError` naming it.
"""

from lightcurvedb.lc.align import Alignment, align
from lightcurvedb.lc.best import CRITERIA, DEFAULT_RULE, BestRule
from lightcurvedb.lc.collection import LightCurveCollection
from lightcurvedb.lc.extras import MissingExtraError
from lightcurvedb.lc.lightcurve import LightCurve
from lightcurvedb.lc.quality import LEVELS, bitmask_value, quality_mask
from lightcurvedb.lc.query import lightcurves, select_ids

__all__ = ["CRITERIA", "DEFAULT_RULE", "LEVELS", "Alignment", "BestRule", "LightCurve",
           "LightCurveCollection", "MissingExtraError", "align", "bitmask_value", "lightcurves",
           "quality_mask", "select_ids"]
