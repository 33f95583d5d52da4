"""RBH-1 zones 2 and 3: spaxels, artifacts and regions; line fits, properties and MCMC runs."""

from __future__ import annotations

import datetime as dt
import pathlib

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base, BigIntPK
from lightcurvedb.core.geometry import SkyPolygon
from lightcurvedb.core.types import SkyPolygonType
from lightcurvedb.rbh1.enums import (
    SCHEMA,
    ArtifactType,
    GeometricRegion,
    QualityFlag,
    sql_enum,
)
from lightcurvedb.rbh1.zones01 import PipelineRun, RBH1Observation, WCSSolution

__all__ = ["EmissionLine", "IFUSpaxel", "MCMCMetadata", "MCMCParameterSummary", "NoiseArtifact",
           "PhysicalProperties", "RegionOfInterest"]

_REGION = sql_enum(GeometricRegion, "geometric_region")
_QUALITY = sql_enum(QualityFlag, "quality_flag")


class RegionOfInterest(Base):
    """``rbh1.regions_of_interest`` (zone 2): a named sky region along the feature."""

    __tablename__ = "regions_of_interest"
    __table_args__ = {"schema": SCHEMA}

    region_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    name: Mapped[str] = mapped_column(String(64), unique=True, doc="Region name.")
    region: Mapped[GeometricRegion] = mapped_column(_REGION, doc="Which part of the feature.")
    footprint: Mapped[SkyPolygon] = mapped_column(SkyPolygonType(), doc="Region outline.")
    distance_min_kpc: Mapped[float | None] = mapped_column(doc="Projected distance from host.")
    distance_max_kpc: Mapped[float | None] = mapped_column(doc="Projected distance from host.")
    description: Mapped[str | None] = mapped_column(Text, doc="Free text.")


class IFUSpaxel(Base):
    """``rbh1.ifu_spaxels`` (zone 2): one spatial pixel of an s3d cube."""

    __tablename__ = "ifu_spaxels"
    __table_args__ = (UniqueConstraint("wcs_id", "x", "y"), {"schema": SCHEMA})

    spaxel_id: Mapped[BigIntPK] = mapped_column(primary_key=True, doc="Row identifier.")
    wcs_id: Mapped[int] = mapped_column(ForeignKey(WCSSolution.wcs_id, ondelete="CASCADE"),
                                        doc="The cube (its WCS solution).")
    x: Mapped[int] = mapped_column(doc="Column in the cube (0-based).")
    y: Mapped[int] = mapped_column(doc="Row in the cube (0-based).")
    ra: Mapped[float] = mapped_column(index=True, doc="Spaxel centre RA (deg).")
    dec: Mapped[float] = mapped_column(doc="Spaxel centre Dec (deg).")
    region: Mapped[GeometricRegion | None] = mapped_column(
        _REGION, index=True, doc="Region the centre falls in, NULL if none.")
    distance_from_host_kpc: Mapped[float | None] = mapped_column(
        doc="Projected distance from the host along the feature (kpc).")
    snr_median: Mapped[float | None] = mapped_column(doc="Median S/N over valid channels.")
    snr_max: Mapped[float | None] = mapped_column(doc="Peak S/N over valid channels.")
    flux_median: Mapped[float | None] = mapped_column(doc="Median flux (cube BUNIT).")
    n_valid_channels: Mapped[int] = mapped_column(doc="Channels with finite, unflagged data.")
    quality: Mapped[QualityFlag] = mapped_column(_QUALITY, doc="Usability of the spaxel.")

    wcs_solution: Mapped[WCSSolution] = relationship(doc="The cube.")
    emission_lines: Mapped[list[EmissionLine]] = relationship(
        back_populates="spaxel", cascade="all, delete", passive_deletes=True,
        order_by="EmissionLine.line_name", doc="Line fits of this spaxel.")
    physical_properties: Mapped[PhysicalProperties | None] = relationship(
        back_populates="spaxel", cascade="all, delete", passive_deletes=True,
        doc="Derived physical properties.")


class NoiseArtifact(Base):
    """``rbh1.noise_artifacts`` (zone 2): an artifact found in a file or spaxel."""

    __tablename__ = "noise_artifacts"
    __table_args__ = {"schema": SCHEMA}

    artifact_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    obs_id: Mapped[int] = mapped_column(ForeignKey(RBH1Observation.obs_id, ondelete="CASCADE"),
                                        index=True, doc="The file it was found in.")
    spaxel_id: Mapped[int | None] = mapped_column(
        ForeignKey(IFUSpaxel.spaxel_id, ondelete="CASCADE"), doc="The spaxel, for cubes.")
    artifact_type: Mapped[ArtifactType] = mapped_column(
        sql_enum(ArtifactType, "artifact_type"), doc="Kind of artifact.")
    x: Mapped[int | None] = mapped_column(doc="Pixel column.")
    y: Mapped[int | None] = mapped_column(doc="Pixel row.")
    wavelength_um: Mapped[float | None] = mapped_column(doc="Wavelength, for cube artifacts.")
    severity: Mapped[float | None] = mapped_column(doc="Amplitude in sigma.")
    notes: Mapped[str | None] = mapped_column(Text, doc="Free text.")


class EmissionLine(Base):
    """``rbh1.emission_lines`` (zone 3): one fitted line in one spaxel."""

    __tablename__ = "emission_lines"
    __table_args__ = (UniqueConstraint("spaxel_id", "line_name"), {"schema": SCHEMA})

    line_id: Mapped[BigIntPK] = mapped_column(primary_key=True, doc="Row identifier.")
    spaxel_id: Mapped[int] = mapped_column(
        ForeignKey(IFUSpaxel.spaxel_id, ondelete="CASCADE"), index=True, doc="The spaxel.")
    line_name: Mapped[str] = mapped_column(String(32), doc="E.g. ``Halpha``, ``[NII]6583``.")
    rest_wavelength_um: Mapped[float] = mapped_column(doc="Rest wavelength, micron.")
    observed_wavelength_um: Mapped[float] = mapped_column(doc="Fitted centre, micron.")
    flux: Mapped[float] = mapped_column(doc="Integrated line flux.")
    flux_err: Mapped[float] = mapped_column(doc="1-sigma flux error.")
    velocity_kms: Mapped[float] = mapped_column(doc="Line-of-sight velocity, km/s.")
    velocity_err_kms: Mapped[float] = mapped_column(doc="1-sigma velocity error, km/s.")
    sigma_kms: Mapped[float | None] = mapped_column(doc="Velocity dispersion, km/s.")
    snr: Mapped[float] = mapped_column(doc="Flux / flux_err.")
    fit_quality: Mapped[QualityFlag] = mapped_column(_QUALITY, doc="Usability of the fit.")
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey(PipelineRun.run_id, ondelete="SET NULL"), doc="The run that wrote it.")

    spaxel: Mapped[IFUSpaxel] = relationship(back_populates="emission_lines", doc="The spaxel.")


class PhysicalProperties(Base):
    """``rbh1.physical_properties`` (zone 3): quantities derived from a spaxel's lines."""

    __tablename__ = "physical_properties"
    __table_args__ = {"schema": SCHEMA}

    prop_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    spaxel_id: Mapped[int] = mapped_column(
        ForeignKey(IFUSpaxel.spaxel_id, ondelete="CASCADE"), unique=True, doc="The spaxel.")
    metallicity_12logoh: Mapped[float | None] = mapped_column(doc="12 + log(O/H).")
    metallicity_err: Mapped[float | None] = mapped_column(doc="1-sigma error of 12 + log(O/H).")
    extinction_av: Mapped[float | None] = mapped_column(doc="A_V from the Balmer decrement, mag.")
    electron_density_cm3: Mapped[float | None] = mapped_column(doc="n_e, cm^-3.")
    sfr_msun_yr: Mapped[float | None] = mapped_column(doc="Star-formation rate, Msun/yr.")
    method: Mapped[str | None] = mapped_column(String(64), doc="Calibration used, e.g. ``N2``.")
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey(PipelineRun.run_id, ondelete="SET NULL"), doc="The run that wrote it.")

    spaxel: Mapped[IFUSpaxel] = relationship(back_populates="physical_properties",
                                             doc="The spaxel.")


class MCMCMetadata(Base):
    """``rbh1.mcmc_metadata`` (zone 3): one MCMC fit of a spaxel or a region."""

    __tablename__ = "mcmc_metadata"
    __table_args__ = {"schema": SCHEMA}

    mcmc_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    spaxel_id: Mapped[int | None] = mapped_column(
        ForeignKey(IFUSpaxel.spaxel_id, ondelete="CASCADE"), index=True, doc="Fitted spaxel.")
    region_id: Mapped[int | None] = mapped_column(
        ForeignKey(RegionOfInterest.region_id, ondelete="CASCADE"), doc="Fitted region.")
    model_name: Mapped[str] = mapped_column(String(64), doc="Model fitted.")
    n_walkers: Mapped[int] = mapped_column(doc="Ensemble walkers.")
    n_steps: Mapped[int] = mapped_column(doc="Steps per walker.")
    n_burn: Mapped[int] = mapped_column(doc="Burn-in steps discarded.")
    acceptance_fraction: Mapped[float | None] = mapped_column(doc="Mean acceptance fraction.")
    converged: Mapped[bool] = mapped_column(doc="Whether the chains passed the convergence test.")
    started_at: Mapped[dt.datetime | None] = mapped_column(doc="Fit start (UTC).")
    completed_at: Mapped[dt.datetime | None] = mapped_column(doc="Fit end (UTC).")
    chain_path: Mapped[pathlib.Path | None] = mapped_column(doc="Where the chains are stored.")
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey(PipelineRun.run_id, ondelete="SET NULL"), doc="The run that wrote it.")

    parameters: Mapped[list[MCMCParameterSummary]] = relationship(
        back_populates="mcmc", cascade="all, delete", passive_deletes=True,
        order_by="MCMCParameterSummary.parameter", doc="Posterior summaries.")


class MCMCParameterSummary(Base):
    """``rbh1.mcmc_parameter_summary`` (zone 3): the posterior of one parameter of one fit."""

    __tablename__ = "mcmc_parameter_summary"
    __table_args__ = (UniqueConstraint("mcmc_id", "parameter"), {"schema": SCHEMA})

    summary_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    mcmc_id: Mapped[int] = mapped_column(ForeignKey(MCMCMetadata.mcmc_id, ondelete="CASCADE"),
                                         doc="The fit.")
    parameter: Mapped[str] = mapped_column(String(64), doc="Parameter name.")
    median: Mapped[float] = mapped_column(doc="Posterior median.")
    p16: Mapped[float] = mapped_column(doc="16th percentile.")
    p84: Mapped[float] = mapped_column(doc="84th percentile.")
    mean: Mapped[float | None] = mapped_column(doc="Posterior mean.")
    std: Mapped[float | None] = mapped_column(doc="Posterior standard deviation.")
    r_hat: Mapped[float | None] = mapped_column(doc="Gelman-Rubin statistic.")

    mcmc: Mapped[MCMCMetadata] = relationship(back_populates="parameters", doc="The fit.")
