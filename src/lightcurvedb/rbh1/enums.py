"""The five RBH-1 custom types: real enums on PostgreSQL, checked strings on SQLite."""

from __future__ import annotations

import enum

from sqlalchemy import Enum

__all__ = [
    "ArtifactType",
    "DataLevel",
    "GeometricRegion",
    "InstrumentType",
    "QualityFlag",
    "SCHEMA",
    "sql_enum",
]

#: PostgreSQL schema of the RBH-1 tables (translated away on SQLite).
SCHEMA = "rbh1"


class InstrumentType(enum.StrEnum):
    """``rbh1.instrument_type``: the camera/spectrograph a file comes from."""

    HST_WFC3 = "HST_WFC3"
    JWST_NIRSPEC = "JWST_NIRSPEC"


class DataLevel(enum.StrEnum):
    """``rbh1.data_level``: how far a file is through its pipeline."""

    RAW = "RAW"
    CAL = "CAL"                #: calibrated exposure (flc, cal, x1d)
    RESAMPLED = "RESAMPLED"    #: drizzled or cube-built (drc, s3d)
    DERIVED = "DERIVED"        #: made by this project's analysis


class QualityFlag(enum.StrEnum):
    """``rbh1.quality_flag``: a spaxel's or a fit's usability."""

    GOLD = "GOLD"
    SILVER = "SILVER"
    BRONZE = "BRONZE"
    REJECTED = "REJECTED"


class ArtifactType(enum.StrEnum):
    """``rbh1.artifact_type``: kinds of noise artifact found in cubes and exposures."""

    COSMIC_RAY = "COSMIC_RAY"
    HOT_PIXEL = "HOT_PIXEL"
    SNOWBALL = "SNOWBALL"
    MSA_LEAKAGE = "MSA_LEAKAGE"
    DETECTOR_EDGE = "DETECTOR_EDGE"
    STRIPING = "STRIPING"
    OTHER = "OTHER"


class GeometricRegion(enum.StrEnum):
    """``rbh1.geometric_region``: where along the 62 kpc linear feature a spaxel lies."""

    HOST = "HOST"              #: the compact source the feature starts from
    WAKE_INNER = "WAKE_INNER"
    WAKE_MIDDLE = "WAKE_MIDDLE"
    WAKE_OUTER = "WAKE_OUTER"
    TIP = "TIP"                #: the far end of the feature
    BACKGROUND = "BACKGROUND"


def sql_enum(enum_class: type[enum.StrEnum], name: str) -> Enum:
    """Return the column type for ``enum_class``: ``rbh1.<name>`` on PostgreSQL.

    On SQLite the same type is a string column with a CHECK constraint.
    """
    return Enum(enum_class, name=name, schema=SCHEMA, create_constraint=True,
                values_callable=lambda members: [member.value for member in members],
                validate_strings=True, inherit_schema=False)
