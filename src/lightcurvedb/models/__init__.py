"""The core schema: missions, targets, instruments, observations, light curves, flags.

Every model is importable from here::

    from lightcurvedb.models import Target, DataSet

Nothing else needs importing to read rows of every mission: the shipped
missions and the installed mission plugins are imported when the mappers are
first configured (see :mod:`lightcurvedb.core.polymorphic`), so
``select(Observation)`` returns ``TESSObservation``, ``HSTObservation``, ... A
row of a mission whose package is missing raises
:class:`~lightcurvedb.core.polymorphic.UnknownPolymorphicIdentityError`.
"""

from lightcurvedb.core.polymorphic import UnknownPolymorphicIdentityError
from lightcurvedb.models.dataset import DataSet, DataSetHierarchy
from lightcurvedb.models.instrument import Instrument
from lightcurvedb.models.loaded_file import LoadedFile
from lightcurvedb.models.mission import Mission, MissionCatalog, Target, TargetAlias
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
    "LoadedFile",
    "Mission",
    "MissionCatalog",
    "Observation",
    "PhotometricSource",
    "ProcessingMethod",
    "QualityBits",
    "QualityFlagArray",
    "Target",
    "TargetAlias",
    "TargetSpecificTime",
    "UnknownPolymorphicIdentityError",
    "UnknownQualityBitError",
]
