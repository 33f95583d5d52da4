"""lightcurvedb: one SQLAlchemy ORM for astronomical observations and light curves.

Importing the package reads no configuration and opens no connection::

    import lightcurvedb
    from lightcurvedb.models import Target

    engine = lightcurvedb.connect()          # LIGHTCURVEDB_URL, db.conf or SQLite
    with lightcurvedb.session() as s:
        s.query(Target).count()
"""

from lightcurvedb.core.base import Base, metadata
from lightcurvedb.core.config import ConfigurationError, resolve_url
from lightcurvedb.core.engine import connect, session

__version__ = "0.1.0"

__all__ = ["Base", "ConfigurationError", "__version__", "connect", "metadata", "resolve_url",
           "session"]
