"""DSA-110 products (``products.sqlite3``): MS index, images, photometry, variability, alerts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base
from lightcurvedb.radio._types import FLOAT, SCHEMA, TEXT, UNIX_TIME, ZERO_ONE, table_args

__all__ = ["AlertHistory", "ESECandidate", "Image", "MSIndex", "Mosaic", "Photometry",
           "PointingHistory", "QAArtifact", "VariabilityStats"]


class MSIndex(Base):
    """``ms_index``: a Measurement Set and the processing stage it has reached."""

    __tablename__ = "ms_index"
    __table_args__ = table_args(Index("idx_ms_index_stage_path", "stage", "path"),
                                Index("idx_ms_index_status", "status"),
                                Index("idx_ms_index_mjd", "mid_mjd"),
                                Index("idx_ms_index_field", "field_name"))

    path: Mapped[str] = mapped_column(TEXT, primary_key=True, doc="Full path of the MS.")
    start_mjd: Mapped[float | None] = mapped_column(FLOAT, doc="Start (MJD).")
    end_mjd: Mapped[float | None] = mapped_column(FLOAT, doc="End (MJD).")
    mid_mjd: Mapped[float | None] = mapped_column(FLOAT, doc="Midpoint (MJD).")
    processed_at: Mapped[dt.datetime | None] = mapped_column(UNIX_TIME, doc="Processed (UTC).")
    status: Mapped[str | None] = mapped_column(TEXT, doc="``ok``, ``failed`` or ``flagged``.")
    stage: Mapped[str | None] = mapped_column(
        TEXT, doc="``converted``, ``calibrated``, ``imaged`` or ``photometry_complete``.")
    stage_updated_at: Mapped[dt.datetime | None] = mapped_column(UNIX_TIME,
                                                                 doc="Stage reached (UTC).")
    cal_applied: Mapped[bool | None] = mapped_column(ZERO_ONE, server_default=text("0"),
                                                     doc="Calibration applied.")
    imagename: Mapped[str | None] = mapped_column(TEXT, doc="Primary image, once imaged.")
    field_name: Mapped[str | None] = mapped_column(TEXT, doc="Field, e.g. ``J1234+42``.")
    pointing_ra_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Pointing RA (deg).")
    pointing_dec_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Pointing Dec (deg).")


class Image(Base):
    """``images``: an image product made from an MS."""

    __tablename__ = "images"
    __table_args__ = table_args(Index("idx_images_ms_path", "ms_path"),
                                Index("idx_images_type", "type"),
                                Index("idx_images_created", "created_at"),
                                Index("idx_images_field", "field_name"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    path: Mapped[str] = mapped_column(TEXT, unique=True, doc="Full path of the image.")
    ms_path: Mapped[str] = mapped_column(TEXT, ForeignKey(f"{SCHEMA}.ms_index.path"),
                                         doc="Source MS.")
    created_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Made (UTC).")
    type: Mapped[str] = mapped_column(TEXT, doc="``image``, ``pbcor``, ``residual``, ``mosaic``.")
    format: Mapped[str | None] = mapped_column(TEXT, server_default=text("'fits'"),
                                               doc="``fits`` or ``casa``.")
    beam_major_arcsec: Mapped[float | None] = mapped_column(FLOAT, doc="Beam major axis.")
    beam_minor_arcsec: Mapped[float | None] = mapped_column(FLOAT, doc="Beam minor axis.")
    beam_pa_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Beam position angle.")
    noise_jy: Mapped[float | None] = mapped_column(FLOAT, doc="RMS noise (Jy/beam).")
    dynamic_range: Mapped[float | None] = mapped_column(FLOAT, doc="Peak / RMS.")
    pbcor: Mapped[bool | None] = mapped_column(ZERO_ONE, server_default=text("0"),
                                               doc="Primary-beam corrected.")
    field_name: Mapped[str | None] = mapped_column(TEXT, doc="Field.")
    center_ra_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Centre RA (deg).")
    center_dec_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Centre Dec (deg).")
    imsize_x: Mapped[int | None] = mapped_column(Integer, doc="Width (pixels).")
    imsize_y: Mapped[int | None] = mapped_column(Integer, doc="Height (pixels).")
    cellsize_arcsec: Mapped[float | None] = mapped_column(FLOAT, doc="Pixel size.")
    freq_ghz: Mapped[float | None] = mapped_column(FLOAT, doc="Centre frequency (GHz).")
    bandwidth_mhz: Mapped[float | None] = mapped_column(FLOAT, doc="Bandwidth (MHz).")
    integration_sec: Mapped[float | None] = mapped_column(FLOAT, doc="Integration (s).")

    ms: Mapped[MSIndex] = relationship(doc="The source MS.")


class Photometry(Base):
    """``photometry``: one forced-photometry measurement of a source on an image."""

    __tablename__ = "photometry"
    __table_args__ = table_args(Index("idx_photometry_image", "image_path"),
                                Index("idx_photometry_source", "source_id"),
                                Index("idx_photometry_mjd", "mjd"),
                                Index("idx_photometry_source_mjd", "source_id", "mjd"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    image_path: Mapped[str] = mapped_column(TEXT, ForeignKey(f"{SCHEMA}.images.path"),
                                            doc="The image.")
    source_id: Mapped[str] = mapped_column(TEXT, doc="NVSS id, e.g. ``NVSS J123456.7+420312``.")
    ra_deg: Mapped[float] = mapped_column(FLOAT, doc="RA (deg).")
    dec_deg: Mapped[float] = mapped_column(FLOAT, doc="Dec (deg).")
    nvss_flux_mjy: Mapped[float | None] = mapped_column(FLOAT, doc="Reference NVSS flux (mJy).")
    peak_jyb: Mapped[float] = mapped_column(FLOAT, doc="Measured peak (Jy/beam).")
    peak_err_jyb: Mapped[float | None] = mapped_column(FLOAT, doc="Uncertainty (Jy/beam).")
    snr: Mapped[float | None] = mapped_column(FLOAT, doc="Signal to noise.")
    measured_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Measured (UTC).")
    mjd: Mapped[float | None] = mapped_column(FLOAT, doc="MJD of the observation.")
    sep_from_center_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Offset from centre.")
    flags: Mapped[int | None] = mapped_column(Integer, server_default=text("0"),
                                              doc="Quality bit flags.")


class VariabilityStats(Base):
    """``variability_stats``: per-source variability statistics, recomputed from photometry."""

    __tablename__ = "variability_stats"
    __table_args__ = table_args(Index("idx_variability_chi2", "chi2_nu"),
                                Index("idx_variability_sigma", "sigma_deviation"),
                                Index("idx_variability_last_mjd", "last_mjd"))

    source_id: Mapped[str] = mapped_column(TEXT, primary_key=True, doc="NVSS id.")
    ra_deg: Mapped[float] = mapped_column(FLOAT, doc="RA (deg).")
    dec_deg: Mapped[float] = mapped_column(FLOAT, doc="Dec (deg).")
    nvss_flux_mjy: Mapped[float | None] = mapped_column(FLOAT, doc="NVSS flux (mJy).")
    n_obs: Mapped[int | None] = mapped_column(Integer, server_default=text("0"),
                                              doc="Number of measurements.")
    mean_flux_mjy: Mapped[float | None] = mapped_column(FLOAT, doc="Mean flux (mJy).")
    std_flux_mjy: Mapped[float | None] = mapped_column(FLOAT, doc="Standard deviation (mJy).")
    min_flux_mjy: Mapped[float | None] = mapped_column(FLOAT, doc="Minimum (mJy).")
    max_flux_mjy: Mapped[float | None] = mapped_column(FLOAT, doc="Maximum (mJy).")
    chi2_nu: Mapped[float | None] = mapped_column(FLOAT, doc="Reduced chi-square, constant model.")
    sigma_deviation: Mapped[float | None] = mapped_column(FLOAT, doc="Max deviation in sigma.")
    last_measured_at: Mapped[dt.datetime | None] = mapped_column(UNIX_TIME,
                                                                 doc="Last measurement (UTC).")
    last_mjd: Mapped[float | None] = mapped_column(FLOAT, doc="MJD of the last measurement.")
    updated_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Computed (UTC).")


class ESECandidate(Base):
    """``ese_candidates``: a source flagged as an extreme-scattering-event candidate."""

    __tablename__ = "ese_candidates"
    __table_args__ = table_args(Index("idx_ese_source", "source_id"),
                                Index("idx_ese_status", "status"),
                                Index("idx_ese_flagged", "flagged_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    source_id: Mapped[str] = mapped_column(
        TEXT, ForeignKey(f"{SCHEMA}.variability_stats.source_id"), doc="NVSS id.")
    flagged_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Flagged (UTC).")
    flagged_by: Mapped[str | None] = mapped_column(TEXT, server_default=text("'auto'"),
                                                   doc="``auto`` or a user.")
    significance: Mapped[float] = mapped_column(FLOAT, doc="Chi-square or sigma value.")
    flag_type: Mapped[str] = mapped_column(TEXT,
                                           doc="``variability``, ``rapid_change`` or ``user``.")
    notes: Mapped[str | None] = mapped_column(TEXT, doc="User notes.")
    status: Mapped[str | None] = mapped_column(
        TEXT, server_default=text("'active'"), doc="``active``, ``investigated``, ``dismissed``.")
    investigated_at: Mapped[dt.datetime | None] = mapped_column(UNIX_TIME, doc="(UTC).")
    dismissed_at: Mapped[dt.datetime | None] = mapped_column(UNIX_TIME, doc="(UTC).")


class Mosaic(Base):
    """``mosaics``: a pre-generated mosaic image."""

    __tablename__ = "mosaics"
    __table_args__ = table_args(Index("idx_mosaics_created", "created_at"),
                                Index("idx_mosaics_mjd", "start_mjd", "end_mjd"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    path: Mapped[str] = mapped_column(TEXT, unique=True, doc="Full path of the FITS file.")
    name: Mapped[str] = mapped_column(TEXT, doc="E.g. ``2025-10-24_hourly_12-13UTC``.")
    created_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Made (UTC).")
    start_mjd: Mapped[float] = mapped_column(FLOAT, doc="Start of the time range (MJD).")
    end_mjd: Mapped[float] = mapped_column(FLOAT, doc="End of the time range (MJD).")
    integration_sec: Mapped[float | None] = mapped_column(FLOAT, doc="Total integration (s).")
    n_images: Mapped[int | None] = mapped_column(Integer, doc="Input images.")
    center_ra_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Centre RA (deg).")
    center_dec_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Centre Dec (deg).")
    dec_min_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Coverage (deg).")
    dec_max_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Coverage (deg).")
    noise_jy: Mapped[float | None] = mapped_column(FLOAT, doc="RMS noise (Jy/beam).")
    beam_major_arcsec: Mapped[float | None] = mapped_column(FLOAT, doc="Beam major axis.")
    beam_minor_arcsec: Mapped[float | None] = mapped_column(FLOAT, doc="Beam minor axis.")
    beam_pa_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Beam position angle.")
    n_sources: Mapped[int | None] = mapped_column(Integer, doc="Source count.")
    thumbnail_path: Mapped[str | None] = mapped_column(TEXT, doc="PNG preview.")


class QAArtifact(Base):
    """``qa_artifacts``: a QA plot, table or report of a group."""

    __tablename__ = "qa_artifacts"
    __table_args__ = table_args(UniqueConstraint("group_id", "name"),
                                Index("idx_qa_group", "group_id"),
                                Index("idx_qa_created", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    group_id: Mapped[str] = mapped_column(TEXT, doc="Observation group.")
    name: Mapped[str] = mapped_column(TEXT, doc="File name, e.g. ``amplitude_vs_time.png``.")
    path: Mapped[str] = mapped_column(TEXT, doc="Full path.")
    type: Mapped[str | None] = mapped_column(TEXT, doc="``plot``, ``table`` or ``report``.")
    category: Mapped[str | None] = mapped_column(
        TEXT, doc="``calibration``, ``imaging`` or ``system``.")
    created_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Made (UTC).")


class PointingHistory(Base):
    """``pointing_history``: where the telescope pointed, for sky-coverage plots."""

    __tablename__ = "pointing_history"
    __table_args__ = table_args(Index("idx_pointing_mjd", "mjd"),
                                Index("idx_pointing_dec", "dec_deg"))

    timestamp: Mapped[dt.datetime] = mapped_column(UNIX_TIME, primary_key=True,
                                                   doc="When (UTC).")
    mjd: Mapped[float | None] = mapped_column(FLOAT, doc="MJD.")
    ra_deg: Mapped[float] = mapped_column(FLOAT, doc="RA (deg).")
    dec_deg: Mapped[float] = mapped_column(FLOAT, doc="Dec (deg).")
    alt_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Elevation (deg).")
    az_deg: Mapped[float | None] = mapped_column(FLOAT, doc="Azimuth (deg).")
    lst_hours: Mapped[float | None] = mapped_column(FLOAT, doc="Local sidereal time (h).")
    field_name: Mapped[str | None] = mapped_column(TEXT, doc="Field.")


class AlertHistory(Base):
    """``alert_history``: an alert sent to Slack."""

    __tablename__ = "alert_history"
    __table_args__ = table_args(Index("idx_alert_source", "source_id"),
                                Index("idx_alert_sent", "sent_at"),
                                Index("idx_alert_type", "alert_type"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    source_id: Mapped[str] = mapped_column(TEXT, doc="NVSS id.")
    alert_type: Mapped[str] = mapped_column(
        TEXT, doc="``ese_candidate``, ``calibrator_missing`` or ``system_error``.")
    severity: Mapped[str] = mapped_column(TEXT, doc="``info``, ``warning`` or ``critical``.")
    message: Mapped[str] = mapped_column(TEXT, doc="The message.")
    sent_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Sent (UTC).")
    channel: Mapped[str | None] = mapped_column(TEXT, doc="E.g. ``#ese-alerts``.")
    success: Mapped[bool | None] = mapped_column(ZERO_ONE, server_default=text("1"),
                                                 doc="Delivered.")
    error_msg: Mapped[str | None] = mapped_column(TEXT, doc="Why delivery failed.")
