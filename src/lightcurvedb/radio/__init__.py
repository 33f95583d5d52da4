"""DSA-110 radio products: the pipeline's four SQLite databases as ORM models.

The models keep the pipeline DDL's table names, columns, defaults and indexes,
so a database made by the pipeline opens unchanged. Unix-timestamp ``REAL``
columns read and write :class:`datetime.datetime`; 0/1 ``INTEGER`` columns read
and write ``bool``. On PostgreSQL the tables live in schema ``radio``.
"""

from lightcurvedb.radio.calibration import APPLY_ORDER, CalTable
from lightcurvedb.radio.ingest import GROUP_STATES, IngestGroup, PerformanceMetrics, SubbandFile
from lightcurvedb.radio.products import (
    AlertHistory,
    ESECandidate,
    Image,
    Mosaic,
    MSIndex,
    Photometry,
    PointingHistory,
    QAArtifact,
    VariabilityStats,
)
from lightcurvedb.radio.sources import Source

__all__ = [
    "APPLY_ORDER",
    "GROUP_STATES",
    "AlertHistory",
    "CalTable",
    "ESECandidate",
    "Image",
    "IngestGroup",
    "MSIndex",
    "Mosaic",
    "PerformanceMetrics",
    "Photometry",
    "PointingHistory",
    "QAArtifact",
    "Source",
    "SubbandFile",
    "VariabilityStats",
]
