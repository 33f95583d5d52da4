"""RBH-1 zones 0 and 1: the file catalog, provenance, WCS solutions and spectral grids."""

from __future__ import annotations

import datetime as dt
import pathlib

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base
from lightcurvedb.core.geometry import SkyPolygon
from lightcurvedb.core.types import SkyPolygonType
from lightcurvedb.models import FITSFrame
from lightcurvedb.rbh1.enums import SCHEMA, DataLevel, InstrumentType, sql_enum

__all__ = ["FILE_TYPES", "PIPELINE_STATUSES", "RBH1Observation", "PipelineRun", "SpectralGrid",
           "WCSSolution"]

#: File types of zone 0, by suffix.
FILE_TYPES = ("flc", "drc", "cal", "x1d", "s3d")
#: Values of :attr:`PipelineRun.status`.
PIPELINE_STATUSES = ("running", "success", "failed")


class PipelineRun(Base):
    """``rbh1.pipeline_runs``: one stage of one loader run, for provenance."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (CheckConstraint(f"status IN {PIPELINE_STATUSES}", name="status"),
                      {"schema": SCHEMA})

    run_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    run_name: Mapped[str] = mapped_column(String(128), index=True,
                                          doc="Name shared by the stages of one run.")
    stage_name: Mapped[str] = mapped_column(String(64),
                                            doc="Stage, e.g. ``observations``, ``wcs_solutions``.")
    status: Mapped[str] = mapped_column(String(16), doc="``running``, ``success`` or ``failed``.")
    started_at: Mapped[dt.datetime] = mapped_column(doc="Stage start (UTC).")
    completed_at: Mapped[dt.datetime | None] = mapped_column(doc="Stage end (UTC).")
    rows_processed: Mapped[int] = mapped_column(default=0, doc="Rows written by the stage.")
    rows_skipped: Mapped[int] = mapped_column(default=0, doc="Inputs already loaded or excluded.")
    rows_failed: Mapped[int] = mapped_column(default=0, doc="Inputs refused as bad.")
    notes: Mapped[str | None] = mapped_column(Text, doc="What the stage did, exclusions included.")
    error_message: Mapped[str | None] = mapped_column(Text, doc="Why a failed stage failed.")


class RBH1Observation(Base):
    """``rbh1.observations`` (zone 0): one row per HST/JWST FITS file.

    Named ``RBH1Observation`` in Python so it never shadows the core
    :class:`lightcurvedb.models.Observation`; the table keeps the seed's name.

    Each row is tied to the file's mission frame (an
    :class:`~lightcurvedb.missions.hst.HSTFrame` or
    :class:`~lightcurvedb.missions.jwst.JWSTFrame` under its observation and
    the instrument tree) and repeats the catalog columns the seed's SQL reads.
    """

    __tablename__ = "observations"
    __table_args__ = (CheckConstraint(f"file_type IN {FILE_TYPES}", name="file_type"),
                      {"schema": SCHEMA})

    obs_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    frame_id: Mapped[int] = mapped_column(
        ForeignKey(FITSFrame.id, ondelete="CASCADE"), unique=True,
        doc="The file's :class:`~lightcurvedb.models.FITSFrame`.")
    file_name: Mapped[str] = mapped_column(String(128), unique=True,
                                           doc="File name, e.g. ``iexo01abq_flc.fits``.")
    file_path: Mapped[pathlib.Path] = mapped_column(doc="Where the file was read from.")
    instrument: Mapped[InstrumentType] = mapped_column(
        sql_enum(InstrumentType, "instrument_type"), doc="``HST_WFC3`` or ``JWST_NIRSPEC``.")
    data_level: Mapped[DataLevel] = mapped_column(
        sql_enum(DataLevel, "data_level"),
        doc="``CAL`` (flc, cal, x1d) or ``RESAMPLED`` (drc, s3d).")
    file_type: Mapped[str] = mapped_column(
        String(8), doc="``flc``, ``drc``, ``cal``, ``x1d`` or ``s3d``.")
    target_name: Mapped[str | None] = mapped_column(String(64), doc="``TARGNAME``.")
    program_id: Mapped[int | None] = mapped_column(doc="``PROPOSID`` (HST) or ``PROGRAM`` (JWST).")
    filter_name: Mapped[str | None] = mapped_column(String(32), doc="``FILTER``.")
    grating: Mapped[str | None] = mapped_column(String(16), doc="``GRATING`` (NIRSpec).")
    exposure_time: Mapped[float | None] = mapped_column(doc="``EXPTIME``/``EFFEXPTM``, seconds.")
    date_obs: Mapped[dt.datetime | None] = mapped_column(doc="``DATE-OBS`` + ``TIME-OBS`` (UTC).")
    exposure_start_mjd: Mapped[float | None] = mapped_column(doc="``EXPSTART`` (MJD, UTC).")
    n_extensions: Mapped[int] = mapped_column(doc="Number of HDUs.")
    file_size_bytes: Mapped[int] = mapped_column(BigInteger, doc="File size.")
    sha256: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the file's bytes.")
    wcs_excluded_reason: Mapped[str | None] = mapped_column(
        Text, doc="Why the file has no WCS solution (x1d, cal), NULL if it has one.")
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey(PipelineRun.run_id, ondelete="SET NULL"), doc="The run that loaded it.")
    loaded_at: Mapped[dt.datetime] = mapped_column(server_default=func.current_timestamp(),
                                                   doc="When the row was written (UTC).")

    frame: Mapped[FITSFrame] = relationship(doc="The mission frame of the file.")
    wcs_solution: Mapped[WCSSolution | None] = relationship(
        back_populates="observation", cascade="all, delete", passive_deletes=True,
        doc="The file's WCS solution, if it has one.")


class WCSSolution(Base):
    """``rbh1.wcs_solutions`` (zone 1): the celestial WCS of one file.

    HST ``flc``: convex hull of both SCI chips (one polygon); ``drc``: its
    footprint; JWST ``s3d``: the celestial part of the cube's 3-D WCS.
    """

    __tablename__ = "wcs_solutions"
    __table_args__ = {"schema": SCHEMA}

    wcs_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    obs_id: Mapped[int] = mapped_column(ForeignKey(RBH1Observation.obs_id, ondelete="CASCADE"),
                                        unique=True, doc="The file (zone 0).")
    footprint: Mapped[SkyPolygon] = mapped_column(
        SkyPolygonType(), doc="Sky footprint: PostGIS POLYGON (SRID 4326), else WKT text.")
    footprint_method: Mapped[str] = mapped_column(
        String(24), doc="``single``, ``convex_hull`` (two chips) or ``celestial_subwcs``.")
    n_chips: Mapped[int] = mapped_column(default=1, doc="SCI extensions combined.")
    ctype1: Mapped[str] = mapped_column(String(16), doc="``CTYPE1``.")
    ctype2: Mapped[str] = mapped_column(String(16), doc="``CTYPE2``.")
    crval1: Mapped[float] = mapped_column(doc="``CRVAL1``: reference RA (deg).")
    crval2: Mapped[float] = mapped_column(doc="``CRVAL2``: reference Dec (deg).")
    crpix1: Mapped[float] = mapped_column(doc="``CRPIX1``.")
    crpix2: Mapped[float] = mapped_column(doc="``CRPIX2``.")
    cd1_1: Mapped[float] = mapped_column(doc="CD matrix element (deg/pixel).")
    cd1_2: Mapped[float] = mapped_column(doc="CD matrix element (deg/pixel).")
    cd2_1: Mapped[float] = mapped_column(doc="CD matrix element (deg/pixel).")
    cd2_2: Mapped[float] = mapped_column(doc="CD matrix element (deg/pixel).")
    naxis1: Mapped[int] = mapped_column(doc="Image width (pixels).")
    naxis2: Mapped[int] = mapped_column(doc="Image height (pixels).")
    pixel_scale_arcsec: Mapped[float] = mapped_column(
        doc="Pixel scale ``sqrt(|det CD|)`` in arcsec/pixel (0.04 for WFC3/UVIS, "
            "0.10 for NIRSpec IFU cubes).")
    ra_span_arcsec: Mapped[float] = mapped_column(doc="Footprint extent in RA x cos(Dec), arcsec.")
    dec_span_arcsec: Mapped[float] = mapped_column(doc="Footprint extent in Dec, arcsec.")
    ra_min: Mapped[float] = mapped_column(index=True, doc="Footprint bounding box (deg).")
    ra_max: Mapped[float] = mapped_column(doc="Footprint bounding box (deg).")
    dec_min: Mapped[float] = mapped_column(doc="Footprint bounding box (deg).")
    dec_max: Mapped[float] = mapped_column(doc="Footprint bounding box (deg).")

    observation: Mapped[RBH1Observation] = relationship(back_populates="wcs_solution",
                                                    doc="The file (zone 0).")
    spectral_grid: Mapped[SpectralGrid | None] = relationship(
        back_populates="wcs_solution", cascade="all, delete", passive_deletes=True,
        doc="The wavelength grid, for s3d cubes.")


class SpectralGrid(Base):
    """``rbh1.spectral_grids`` (zone 1): the wavelength axis of one s3d cube."""

    __tablename__ = "spectral_grids"
    __table_args__ = {"schema": SCHEMA}

    grid_id: Mapped[int] = mapped_column(primary_key=True, doc="Row identifier.")
    wcs_id: Mapped[int] = mapped_column(ForeignKey(WCSSolution.wcs_id, ondelete="CASCADE"),
                                        unique=True, doc="The cube's WCS solution.")
    n_channels: Mapped[int] = mapped_column(doc="Number of wavelength channels (1447 for G140M).")
    min_wavelength: Mapped[float] = mapped_column(doc="Shortest wavelength, micron.")
    max_wavelength: Mapped[float] = mapped_column(doc="Longest wavelength, micron.")
    mean_spacing: Mapped[float] = mapped_column(doc="Mean channel spacing, micron.")
    mean_resolution: Mapped[float] = mapped_column(
        doc="Mean sampling resolution R = lambda / delta-lambda (not instrumental R).")
    wavelengths: Mapped[npt.NDArray[np.float64]] = mapped_column(
        deferred=True, doc="The wavelength of every channel, micron.")
    grid_hash: Mapped[str] = mapped_column(
        String(64), index=True, doc="SHA-256 of the canonical float64 little-endian array.")
    extraction_mode: Mapped[str] = mapped_column(
        String(24), doc="``spectral_subwcs`` (astropy) or ``wavetab`` (table fallback).")

    wcs_solution: Mapped[WCSSolution] = relationship(back_populates="spectral_grid",
                                                     doc="The cube's WCS solution.")
