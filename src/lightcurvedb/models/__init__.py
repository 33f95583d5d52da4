"""The core schema: missions, targets, instruments, observations, light curves, flags.

Every model is importable from here::

    from lightcurvedb.models import Target, DataSet
"""

from lightcurvedb.models.dataset import DataSet, DataSetHierarchy
from lightcurvedb.models.instrument import Instrument
from lightcurvedb.models.mission import Mission, MissionCatalog, Target
from lightcurvedb.models.observation import FITSFrame, Observation, TargetSpecificTime
from lightcurvedb.models.processing import PhotometricSource, ProcessingMethod
from lightcurvedb.models.quality import QualityBits, QualityFlagArray, UnknownQualityBitError
from lightcurvedb.models.validation import CatalogValidation

__all__ = [
    "CatalogValidation",
    "DataSet",
    "DataSetHierarchy",
    "FITSFrame",
    "Instrument",
    "Mission",
    "MissionCatalog",
    "Observation",
    "PhotometricSource",
    "ProcessingMethod",
    "QualityBits",
    "QualityFlagArray",
    "Target",
    "TargetSpecificTime",
    "UnknownQualityBitError",
]
