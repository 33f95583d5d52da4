"""JWST: NIRSpec IFU observations and their ``_cal``, ``_x1d`` and ``_s3d`` products.

JWST times are MJD in UTC. The instrument tree is ``JWST > NIRSpec > IFU``.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from lightcurvedb.missions._common import (
    ExposureColumns,
    ensure_instrument_path,
    ensure_mjd_utc_mission,
)
from lightcurvedb.models import (
    FITSFrame,
    Instrument,
    Mission,
    Observation,
    QualityBits,
    QualityFlagArray,
)

__all__ = [
    "JWST_DQ_BITS",
    "JWSTCalFrame",
    "JWSTFrame",
    "JWSTObservation",
    "JWSTQualityFlagArray",
    "JWSTS3DFrame",
    "JWSTX1DFrame",
    "create_jwst_instruments",
    "ensure_jwst_mission",
]

_DQ_NAMES = (
    "do_not_use", "saturated", "jump_det", "dropout", "outlier", "persistence", "ad_floor",
    "charge_loss", "unreliable_error", "non_science", "dead", "hot", "warm", "low_qe", "rc",
    "telegraph", "nonlinear", "bad_ref_pixel", "no_flat_field", "no_gain_value", "no_lin_corr",
    "no_sat_check", "unreliable_bias", "unreliable_dark", "unreliable_slope", "unreliable_flat",
    "open", "adj_open", "flux_estimated", "msa_failed_open", "other_bad_pixel",
    "reference_pixel",
)

#: JWST pixel DQ bits (bit n has value 2**n), from the JWST calibration
#: pipeline's data-quality flag definitions (DO_NOT_USE = 1 ... REFERENCE_PIXEL = 2**31).
JWST_DQ_BITS = QualityBits(
    bits={name: 1 << position for position, name in enumerate(_DQ_NAMES)},
    hard=("do_not_use", "saturated", "dead", "hot", "non_science", "reference_pixel"),
)


class JWSTObservation(Observation):
    """One JWST exposure set: program, observation, visit, with its optical configuration."""

    __tablename__ = "jwst_observation"

    id: Mapped[int] = mapped_column(ForeignKey("observation.id", ondelete="CASCADE"),
                                    primary_key=True, doc="The base :class:`Observation` id.")
    program_id: Mapped[int] = mapped_column(index=True, doc="Program id (``PROGRAM``).")
    observation_number: Mapped[int] = mapped_column(doc="Observation number (``OBSERVTN``).")
    visit_number: Mapped[int] = mapped_column(doc="Visit number (``VISIT``).")
    grating: Mapped[str | None] = mapped_column(String(16), doc="Grating (``GRATING``).")
    filter_name: Mapped[str | None] = mapped_column(String(32), doc="Filter (``FILTER``).")
    exposure_time: Mapped[float] = mapped_column(doc="Effective exposure time (``EFFEXPTM``), s.")
    exposure_type: Mapped[str] = mapped_column(String(32), doc="``EXP_TYPE``, e.g. NRS_IFU.")

    __mapper_args__ = {"polymorphic_identity": "jwst_observation",
                       "polymorphic_load": "selectin"}


class JWSTFrame(ExposureColumns, FITSFrame):
    """A JWST product file.

    See :class:`JWSTCalFrame`, :class:`JWSTX1DFrame` and :class:`JWSTS3DFrame`.
    """

    __tablename__ = "jwst_frame"

    id: Mapped[int] = mapped_column(ForeignKey("fits_frame.id", ondelete="CASCADE"),
                                    primary_key=True, doc="The base :class:`FITSFrame` id.")

    __mapper_args__ = {"polymorphic_identity": "jwst_frame", "polymorphic_load": "selectin"}
    #: File suffix of this frame type.
    file_type = ""


class JWSTCalFrame(JWSTFrame):
    """A calibrated 2-D detector image before cube building (``_cal.fits``)."""

    __mapper_args__ = {"polymorphic_identity": "jwst_cal", "polymorphic_load": "inline"}
    file_type = "cal"


class JWSTX1DFrame(JWSTFrame):
    """An extracted 1-D spectrum (``_x1d.fits``, ``EXTRACT1D`` table)."""

    __mapper_args__ = {"polymorphic_identity": "jwst_x1d", "polymorphic_load": "inline"}
    file_type = "x1d"


class JWSTS3DFrame(JWSTFrame):
    """A resampled 3-D IFU cube (``_s3d.fits``: two spatial axes and wavelength)."""

    __mapper_args__ = {"polymorphic_identity": "jwst_s3d", "polymorphic_load": "inline"}
    file_type = "s3d"


class JWSTQualityFlagArray(QualityFlagArray):
    """JWST DQ bits with names (:data:`JWST_DQ_BITS`)."""

    __mapper_args__ = {"polymorphic_identity": "jwst_quality_flag"}
    quality_bits = JWST_DQ_BITS


def ensure_jwst_mission(session: Session) -> Mission:
    """Return the JWST mission (MJD, UTC), creating it if absent."""
    return ensure_mjd_utc_mission(session, "JWST", "James Webb Space Telescope", "jwst_mjd")


def create_jwst_instruments(session: Session) -> Instrument:
    """Create ``JWST > NIRSpec > IFU`` if absent; return the IFU node."""
    return ensure_instrument_path(session, "JWST", "NIRSpec", "IFU")
