"""JWST: NIRSpec observations and their ``_cal``, ``_x1d`` and ``_s3d`` products.

JWST times are MJD in UTC. The instrument tree is telescope, instrument,
observing mode, detector -- ``JWST > NIRSpec > IFU > NRS1`` -- built from the
headers' ``INSTRUME``, ``EXP_TYPE`` and ``DETECTOR`` (:func:`jwst_instrument`):
an observation hangs on its mode, each file's frame on the detector that read it.
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
    "JWST_DETECTORS",
    "JWST_DQ_BITS",
    "JWST_INSTRUMENTS",
    "NIRSPEC_MODES",
    "JWSTCalFrame",
    "JWSTFrame",
    "JWSTObservation",
    "JWSTQualityFlagArray",
    "JWSTS3DFrame",
    "JWSTX1DFrame",
    "create_jwst_instruments",
    "ensure_jwst_mission",
    "jwst_instrument",
    "jwst_mode",
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


#: ``INSTRUME`` keyword -> instrument node name.
JWST_INSTRUMENTS: Mapping[str, str] = {
    "NIRSPEC": "NIRSpec", "NIRCAM": "NIRCam", "NIRISS": "NIRISS", "MIRI": "MIRI", "FGS": "FGS"}

#: NIRSpec ``EXP_TYPE`` -> (observing-mode node, description), from the JWST
#: keyword dictionary's NIRSpec exposure types.
NIRSPEC_MODES: Mapping[str, tuple[str, str]] = {
    "NRS_IFU": ("IFU", "integral-field spectroscopy"),
    "NRS_FIXEDSLIT": ("Fixed slit", "fixed-slit spectroscopy"),
    "NRS_MSASPEC": ("MOS", "multi-object spectroscopy with the micro-shutter assembly"),
    "NRS_BRIGHTOBJ": ("BOTS", "bright-object time-series spectroscopy"),
    "NRS_IMAGE": ("Imaging", "imaging"),
    "NRS_TACQ": ("Target acquisition", "target acquisition"),
    "NRS_TASLIT": ("Target acquisition", "target acquisition through the slit"),
    "NRS_TACONFIRM": ("Target acquisition", "target-acquisition confirmation"),
    "NRS_CONFIRM": ("Target acquisition", "confirmation image"),
    "NRS_MSATA": ("Target acquisition", "MSA target acquisition"),
    "NRS_WATA": ("Target acquisition", "wide-aperture target acquisition"),
    "NRS_VERIFY": ("Target acquisition", "MSA verification image"),
    "NRS_FOCUS": ("Calibration", "focus"),
    "NRS_MIMF": ("Calibration", "mid-frequency wavefront sensing"),
    "NRS_AUTOFLAT": ("Calibration", "internal flat"),
    "NRS_AUTOWAVE": ("Calibration", "internal wavelength calibration"),
    "NRS_LAMP": ("Calibration", "internal lamp"),
    "NRS_DARK": ("Calibration", "dark"),
}

#: ``DETECTOR`` values each instrument reads out (node names, upper case as in headers).
JWST_DETECTORS: Mapping[str, tuple[str, ...]] = {
    "NIRSPEC": ("NRS1", "NRS2"),
    "NIRCAM": ("NRCA1", "NRCA2", "NRCA3", "NRCA4", "NRCALONG",
               "NRCB1", "NRCB2", "NRCB3", "NRCB4", "NRCBLONG"),
    "NIRISS": ("NIS",), "MIRI": ("MIRIMAGE", "MIRIFULONG", "MIRIFUSHORT"), "FGS": ("GUIDER1",
                                                                                "GUIDER2"),
}


def jwst_mode(instrument: str, exp_type: str) -> tuple[str, str]:
    """Return the observing-mode node name and a description of an ``EXP_TYPE``.

    NIRSpec's exposure types map through :data:`NIRSPEC_MODES` (``NRS_IFU`` ->
    ``IFU``); another instrument's mode node is named by its ``EXP_TYPE``
    (e.g. ``MIR_MRS``).

    Raises
    ------
    ValueError
        For an unknown instrument, or a NIRSpec ``EXP_TYPE`` that is not NIRSpec's.
    """
    instrument, exp_type = instrument.strip().upper(), exp_type.strip().upper()
    if instrument not in JWST_INSTRUMENTS:
        raise ValueError(f"INSTRUME = {instrument!r} is not a JWST instrument "
                         f"({', '.join(JWST_INSTRUMENTS)})")
    if instrument != "NIRSPEC":
        return exp_type, f"{JWST_INSTRUMENTS[instrument]} {exp_type}"
    if exp_type not in NIRSPEC_MODES:
        raise ValueError(f"EXP_TYPE = {exp_type!r} is not a NIRSpec exposure type")
    return NIRSPEC_MODES[exp_type]


def jwst_instrument(session: Session, instrument: str, exp_type: str, detector: str
                    ) -> tuple[Instrument, Instrument]:
    """Return the mode and detector nodes of a JWST exposure, creating them if absent.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
    instrument, exp_type, detector : str
        The ``INSTRUME``, ``EXP_TYPE`` and ``DETECTOR`` keywords, e.g.
        ``"NIRSPEC"``, ``"NRS_IFU"``, ``"NRS2"``.

    Returns
    -------
    tuple of (Instrument, Instrument)
        ``JWST > NIRSpec > IFU`` (where the observation hangs) and
        ``JWST > NIRSpec > IFU > NRS2`` (where the file's frame hangs).

    Raises
    ------
    ValueError
        For an unknown instrument, exposure type or detector, naming the keyword.
    """
    mode, _ = jwst_mode(instrument, exp_type)
    name = instrument.strip().upper()
    detector = detector.strip().upper()
    if detector not in JWST_DETECTORS[name]:
        raise ValueError(f"DETECTOR = {detector!r} is not a {JWST_INSTRUMENTS[name]} detector "
                         f"({', '.join(JWST_DETECTORS[name])})")
    ensure_jwst_mission(session)
    node = ensure_instrument_path(session, "JWST", JWST_INSTRUMENTS[name], mode)
    return node, ensure_instrument_path(session, "JWST", JWST_INSTRUMENTS[name], mode, detector)


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

    def __repr__(self) -> str:
        return model_repr(self, "program_id", "observation_number", "visit_number",
                          "exposure_type")


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
    """Create ``JWST > NIRSpec > IFU`` and its detectors ``NRS1``, ``NRS2`` if absent.

    Returns
    -------
    Instrument
        The IFU node.
    """
    ifu, _ = jwst_instrument(session, "NIRSPEC", "NRS_IFU", "NRS1")
    jwst_instrument(session, "NIRSPEC", "NRS_IFU", "NRS2")
    return ifu
