"""HST: WFC3/UVIS observations, calibrated (``_flc``) and drizzled (``_drc``) frames.

HST times are MJD in UTC. The instrument tree is telescope, instrument,
detector -- ``HST > WFC3 > UVIS`` -- from the headers' ``INSTRUME`` and
``DETECTOR`` (:func:`hst_detector`). WFC3/UVIS's two chips are read into one
file, so the detector node is the channel (``UVIS``), not the chip.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from lightcurvedb.core.reprs import model_repr
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
    "HST_DETECTORS",
    "HST_DQ_BITS",
    "HSTDRCFrame",
    "HSTFLCFrame",
    "HSTFrame",
    "HSTObservation",
    "HSTQualityFlagArray",
    "create_hst_instruments",
    "ensure_hst_mission",
    "hst_detector",
]

#: ``INSTRUME`` -> (instrument node name, its ``DETECTOR`` values).
HST_DETECTORS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "WFC3": ("WFC3", ("UVIS", "IR")),
    "ACS": ("ACS", ("WFC", "HRC", "SBC")),
    "STIS": ("STIS", ("CCD", "FUV-MAMA", "NUV-MAMA")),
    "COS": ("COS", ("FUV", "NUV")),
    "NICMOS": ("NICMOS", ("IR",)),
    "WFPC2": ("WFPC2", ("PC", "WF")),
}

#: WFC3/UVIS data-quality bits, from the WFC3 Data Handbook.
HST_DQ_BITS = QualityBits(
    bits={
        "reed_solomon_error": 1,
        "fill_value": 2,
        "bad_detector_pixel": 4,
        "deviant_zero_read": 8,
        "hot_pixel": 16,
        "cte_tail": 32,
        "warm_pixel": 64,
        "bad_bias": 128,
        "full_well_saturation": 256,
        "bad_flat": 512,
        "charge_trap": 1024,
        "ad_saturation": 2048,
        "cosmic_ray_drizzle": 4096,
        "cosmic_ray_calwf3": 8192,
        "ghost_crosstalk": 16384,
    },
    hard=("reed_solomon_error", "fill_value", "bad_detector_pixel", "hot_pixel",
          "full_well_saturation", "ad_saturation", "cosmic_ray_drizzle", "cosmic_ray_calwf3"),
    descriptions={
        "reed_solomon_error": "Reed-Solomon decoding error",
        "fill_value": "Data missing and replaced by fill value",
        "bad_detector_pixel": "Bad detector pixel",
        "deviant_zero_read": "Deviant zero read (IR) / unused (UVIS)",
        "hot_pixel": "Hot pixel",
        "cte_tail": "Charge-transfer-efficiency tail",
        "warm_pixel": "Warm pixel",
        "bad_bias": "Bad pixel in bias",
        "full_well_saturation": "Full-well saturation",
        "bad_flat": "Bad or uncertain flat-field value",
        "charge_trap": "Charge trap",
        "ad_saturation": "Analog-to-digital saturation",
        "cosmic_ray_drizzle": "Cosmic ray found by AstroDrizzle",
        "cosmic_ray_calwf3": "Cosmic ray found by calwf3 rejection",
        "ghost_crosstalk": "Ghost or crosstalk",
    },
)


class HSTObservation(Observation):
    """One HST visit with one filter and detector."""

    __tablename__ = "hst_observation"

    id: Mapped[int] = mapped_column(ForeignKey("observation.id", ondelete="CASCADE"),
                                    primary_key=True, doc="The base :class:`Observation` id.")
    program_id: Mapped[int] = mapped_column(index=True, doc="Proposal/program id (``PROPOSID``).")
    visit_id: Mapped[str] = mapped_column(String(16), doc="Visit (``LINENUM`` prefix).")
    filter_name: Mapped[str] = mapped_column(String(32), doc="Filter (``FILTER``).")
    exposure_time: Mapped[float] = mapped_column(doc="Total exposure time, seconds.")
    detector: Mapped[str] = mapped_column(String(16), doc="Detector (``DETECTOR``), e.g. UVIS.")

    __mapper_args__ = {"polymorphic_identity": "hst_observation",
                       "polymorphic_load": "selectin"}

    def __repr__(self) -> str:
        return model_repr(self, "program_id", "visit_id", "filter_name", "detector")


class HSTFrame(ExposureColumns, FITSFrame):
    """An HST exposure file; see :class:`HSTFLCFrame` and :class:`HSTDRCFrame`."""

    __tablename__ = "hst_frame"

    id: Mapped[int] = mapped_column(ForeignKey("fits_frame.id", ondelete="CASCADE"),
                                    primary_key=True, doc="The base :class:`FITSFrame` id.")

    __mapper_args__ = {"polymorphic_identity": "hst_frame", "polymorphic_load": "selectin"}
    #: File suffix of this frame type.
    file_type = ""


class HSTFLCFrame(HSTFrame):
    """A CTE-corrected, calibrated, flat-fielded exposure (``_flc.fits``, two UVIS chips)."""

    __mapper_args__ = {"polymorphic_identity": "hst_flc", "polymorphic_load": "inline"}
    file_type = "flc"


class HSTDRCFrame(HSTFrame):
    """A drizzled, distortion-corrected image (``_drc.fits``)."""

    __mapper_args__ = {"polymorphic_identity": "hst_drc", "polymorphic_load": "inline"}
    file_type = "drc"


class HSTQualityFlagArray(QualityFlagArray):
    """WFC3 data-quality bits with names (:data:`HST_DQ_BITS`)."""

    __mapper_args__ = {"polymorphic_identity": "hst_quality_flag"}
    quality_bits = HST_DQ_BITS


def ensure_hst_mission(session: Session) -> Mission:
    """Return the HST mission (MJD, UTC), creating it if absent."""
    return ensure_mjd_utc_mission(session, "HST", "Hubble Space Telescope", "hst_mjd")


def hst_detector(session: Session, instrument: str, detector: str) -> Instrument:
    """Return the node ``HST > instrument > detector``, creating it if absent.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    instrument, detector : str
        The ``INSTRUME`` and ``DETECTOR`` keywords, e.g. ``"WFC3"``, ``"UVIS"``.

    Raises
    ------
    ValueError
        For an instrument or detector HST does not have, naming the keyword.
    """
    key, detector = instrument.strip().upper(), detector.strip().upper()
    if key not in HST_DETECTORS:
        raise ValueError(f"INSTRUME = {instrument!r} is not an HST instrument "
                         f"({', '.join(HST_DETECTORS)})")
    name, detectors = HST_DETECTORS[key]
    if detector not in detectors:
        raise ValueError(f"DETECTOR = {detector!r} is not a {name} detector "
                         f"({', '.join(detectors)})")
    ensure_hst_mission(session)
    return ensure_instrument_path(session, "HST", name, detector)


def create_hst_instruments(session: Session) -> Instrument:
    """Create ``HST > WFC3 > UVIS`` if absent; return the UVIS node."""
    return ensure_instrument_path(session, "HST", "WFC3", "UVIS")
