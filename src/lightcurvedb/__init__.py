"""lightcurvedb: one SQLAlchemy ORM for astronomical observations and light curves.

Importing the package reads no configuration and opens no connection::

    import lightcurvedb
    from lightcurvedb.models import Target

    engine = lightcurvedb.connect()          # LIGHTCURVEDB_URL, db.conf or SQLite
    with lightcurvedb.session() as s:
        s.query(Target).count()
        curves = lightcurvedb.lightcurves(s, tic=261136679)   # see lightcurvedb.lc

:func:`lightcurves` and :class:`BestRule` are re-exported from
:mod:`lightcurvedb.lc`, the light-curve API; :func:`find_target` and
:func:`cone_search` from :mod:`lightcurvedb.sky`.
"""

import importlib
from typing import TYPE_CHECKING, Any

from lightcurvedb.core.base import Base, metadata
from lightcurvedb.core.config import ConfigurationError, resolve_url
from lightcurvedb.core.engine import connect, session

if TYPE_CHECKING:
    from lightcurvedb.lc import BestRule, LightCurve, LightCurveCollection, lightcurves
    from lightcurvedb.sky import cone_search, find_target

#: Names re-exported from lightcurvedb.lc and .sky, imported on first use (it imports the
#: models and astropy, which a script that only connects does not need).
_LAZY = {"BestRule": "lightcurvedb.lc", "LightCurve": "lightcurvedb.lc",
         "LightCurveCollection": "lightcurvedb.lc", "lightcurves": "lightcurvedb.lc",
         "cone_search": "lightcurvedb.sky", "find_target": "lightcurvedb.sky"}

__version__ = "0.1.0"

__all__ = ["Base", "BestRule", "ConfigurationError", "LightCurve", "LightCurveCollection",
           "__version__", "cone_search", "connect", "find_target", "lightcurves", "metadata",
           "resolve_url", "session"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lightcurvedb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
