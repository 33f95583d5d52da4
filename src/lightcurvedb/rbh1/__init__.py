"""RBH-1: the four-zone schema (PostgreSQL schema ``rbh1``) for the HST/JWST study.

Zone 0 (:class:`RBH1Observation`, :class:`PipelineRun`) catalogs files and runs;
zone 1 (:class:`WCSSolution`, :class:`SpectralGrid`) registers them on the sky
and in wavelength; zone 2 (:class:`IFUSpaxel`, :class:`NoiseArtifact`,
:class:`RegionOfInterest`) extracts spaxels; zone 3 (:class:`EmissionLine`,
:class:`PhysicalProperties`, :class:`MCMCMetadata`, :class:`MCMCParameterSummary`)
holds fitting results. On SQLite the ``rbh1`` schema is translated away.
"""

from lightcurvedb.rbh1.enums import (
    SCHEMA,
    ArtifactType,
    DataLevel,
    GeometricRegion,
    InstrumentType,
    QualityFlag,
)
from lightcurvedb.rbh1.queries import (
    FUNCTION_NAMES,
    VIEW_NAMES,
    count_invalid_footprints,
    footprints_containing,
    get_spaxel_lines,
    get_spaxels_in_region,
    gold_sample,
    kinematic_gradient,
    mcmc_inventory,
    metallicity_profile,
    overlapping_footprints,
)
from lightcurvedb.rbh1.services import (
    EmissionLineFit,
    MCMCRecordCounts,
    MCMCRun,
    ParameterSummary,
    PhysicalPropertiesRow,
    RecordCounts,
    RowValidationError,
    record_emission_lines,
    record_mcmc_run,
    record_physical_properties,
)
from lightcurvedb.rbh1.zones01 import PipelineRun, RBH1Observation, SpectralGrid, WCSSolution
from lightcurvedb.rbh1.zones23 import (
    EmissionLine,
    IFUSpaxel,
    MCMCMetadata,
    MCMCParameterSummary,
    NoiseArtifact,
    PhysicalProperties,
    RegionOfInterest,
)

__all__ = [
    "SCHEMA",
    "ArtifactType",
    "DataLevel",
    "EmissionLine",
    "GeometricRegion",
    "IFUSpaxel",
    "InstrumentType",
    "MCMCMetadata",
    "MCMCParameterSummary",
    "NoiseArtifact",
    "RBH1Observation",
    "PhysicalProperties",
    "PipelineRun",
    "QualityFlag",
    "RegionOfInterest",
    "SpectralGrid",
    "WCSSolution",
    # Reading zones 1-3 (lightcurvedb.rbh1.queries)
    "FUNCTION_NAMES",
    "VIEW_NAMES",
    "count_invalid_footprints",
    "footprints_containing",
    "get_spaxel_lines",
    "get_spaxels_in_region",
    "gold_sample",
    "kinematic_gradient",
    "mcmc_inventory",
    "metallicity_profile",
    "overlapping_footprints",
    # Writing zone 3 (lightcurvedb.rbh1.services)
    "EmissionLineFit",
    "MCMCRecordCounts",
    "MCMCRun",
    "ParameterSummary",
    "PhysicalPropertiesRow",
    "RecordCounts",
    "RowValidationError",
    "record_emission_lines",
    "record_mcmc_run",
    "record_physical_properties",
]
