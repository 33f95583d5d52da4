"""TESS: sectors, cameras and CCDs, full-frame images and SPOC quality flags.

TESS times are BTJD = BJD - 2457000 (TDB). The instrument tree is
``TESS > Camera 1..4 > CCD 1..4``; a :class:`TESSObservation` is one sector
seen by one CCD at one cadence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger
from sqlalchemy.orm import Mapped, Session, mapped_column

from lightcurvedb.core.reprs import model_repr
from lightcurvedb.missions._common import (
    InstrumentTree,
    ensure_catalog,
    ensure_instrument_tree,
    ensure_mission,
    find_instrument,
)
from lightcurvedb.models import (
    FITSFrame,
    Instrument,
    Mission,
    MissionCatalog,
    Observation,
    QualityBits,
    QualityFlagArray,
)

__all__ = [
    "CADENCES_SECONDS",
    "TESS_QUALITY_BITS",
    "TESSFFIFrame",
    "TESSObservation",
    "TESSQualityFlagArray",
    "create_tess_instruments",
    "ensure_tess_mission",
    "tess_ccd",
]

#: Cadences TESS has flown, in seconds: 20 s and 120 s target pixels, and the
#: full-frame images at 1800 s (primary mission), 600 s (first extension) and
#: 200 s (second extension).
CADENCES_SECONDS = (20, 120, 200, 600, 1800)

#: SPOC quality bits, from the TESS Science Data Products Description Document.
TESS_QUALITY_BITS = QualityBits(
    bits={
        "attitude_tweak": 1,
        "safe_mode": 2,
        "coarse_point": 4,
        "earth_point": 8,
        "argabrightening": 16,
        "desaturation": 32,
        "aperture_cosmic": 64,
        "manual_exclude": 128,
        "discontinuity": 256,
        "impulsive_outlier": 512,
        "collateral_cosmic": 1024,
        "stray_light": 2048,
        "scattered_light": 4096,
        "planet_search_exclude": 8192,
        "bad_calibration_exclude": 16384,
        "insufficient_targets": 32768,
    },
    hard=("attitude_tweak", "safe_mode", "coarse_point", "earth_point", "argabrightening",
          "desaturation", "manual_exclude", "impulsive_outlier", "scattered_light",
          "bad_calibration_exclude"),
    descriptions={
        "attitude_tweak": "Attitude tweak",
        "safe_mode": "Safe mode",
        "coarse_point": "Spacecraft is in coarse point",
        "earth_point": "Spacecraft is in Earth point",
        "argabrightening": "Argabrightening event",
        "desaturation": "Reaction wheel desaturation event",
        "aperture_cosmic": "Cosmic ray in optimal aperture pixel",
        "manual_exclude": "Manual exclude",
        "discontinuity": "Discontinuity corrected between this cadence and the next",
        "impulsive_outlier": "Impulsive outlier removed before cotrending",
        "collateral_cosmic": "Cosmic ray detected on collateral pixel row or column",
        "stray_light": "Stray light from Earth or Moon in camera field of view",
        "scattered_light": "Scattered light exclude",
        "planet_search_exclude": "Planet search exclude",
        "bad_calibration_exclude": "Bad calibration exclude",
        "insufficient_targets": "Insufficient targets for error correction exclude",
    },
    # Cosmic rays and stray light: flagged, but most such cadences are usable.
    harder=("aperture_cosmic", "collateral_cosmic", "stray_light"),
)


class TESSObservation(Observation):
    """One TESS sector (or orbit) of one CCD at one cadence.

    The camera and CCD are the observation's :attr:`instrument` (a node of the
    ``TESS > Camera n > CCD m`` tree), available as :attr:`camera` / :attr:`ccd`.
    """

    __tablename__ = "tess_observation"
    __table_args__ = (
        CheckConstraint(f"cadence_seconds IN {CADENCES_SECONDS}", name="cadence_seconds"),
        CheckConstraint("sector > 0", name="sector_positive"),
    )

    id: Mapped[int] = mapped_column(ForeignKey("observation.id", ondelete="CASCADE"),
                                    primary_key=True, doc="The base :class:`Observation` id.")
    sector: Mapped[int] = mapped_column(SmallInteger, index=True, doc="TESS sector number.")
    orbit_number: Mapped[int | None] = mapped_column(
        doc="Spacecraft orbit, or NULL when the observation spans the whole sector.")
    cadence_seconds: Mapped[int] = mapped_column(
        SmallInteger, doc="Cadence in seconds: 20, 120, 200, 600 or 1800 (FFI).")
    cosmic_ray_mitigation: Mapped[bool] = mapped_column(
        default=True, doc="Onboard cosmic-ray mitigation was on.")
    spacecraft_quaternion: Mapped[dict[str, Any] | None] = mapped_column(
        doc="Spacecraft attitude quaternions (JSON).")

    __mapper_args__ = {"polymorphic_identity": "tess_observation",
                       "polymorphic_load": "selectin"}

    @property
    def ccd(self) -> int | None:
        """The CCD number (1-4) from the instrument tree, or None."""
        return _trailing_number(self.instrument)

    @property
    def camera(self) -> int | None:
        """The camera number (1-4) from the instrument tree, or None."""
        return _trailing_number(self.instrument.parent if self.instrument else None)

    def __repr__(self) -> str:
        # camera and CCD only when the instrument tree is loaded: a repr never queries
        return model_repr(self, "sector", ("camera", "instrument.parent", lambda: self.camera),
                          ("ccd", "instrument", lambda: self.ccd), "cadence_seconds")


class TESSFFIFrame(FITSFrame):
    """A calibrated TESS full-frame image (one CCD, one cadence)."""

    __tablename__ = "tess_ffi_frame"

    id: Mapped[int] = mapped_column(ForeignKey("fits_frame.id", ondelete="CASCADE"),
                                    primary_key=True, doc="The base :class:`FITSFrame` id.")
    camera: Mapped[int] = mapped_column(SmallInteger, doc="``CAMERA`` keyword (1-4).")
    ccd: Mapped[int] = mapped_column(SmallInteger, doc="``CCD`` keyword (1-4).")
    start_btjd: Mapped[float] = mapped_column(doc="``TSTART``: exposure start (BTJD).")
    end_btjd: Mapped[float] = mapped_column(doc="``TSTOP``: exposure end (BTJD).")
    exposure_time: Mapped[float] = mapped_column(doc="``EXPOSURE``: exposure time (days).")
    quality: Mapped[int] = mapped_column(default=0, doc="Frame quality word (SPOC bits).")

    __mapper_args__ = {"polymorphic_identity": "tess_ffi", "polymorphic_load": "selectin"}


class TESSQualityFlagArray(QualityFlagArray):
    """SPOC quality flags with named bits (:data:`TESS_QUALITY_BITS`)."""

    __mapper_args__ = {"polymorphic_identity": "tess_quality_flag"}
    quality_bits = TESS_QUALITY_BITS


def _trailing_number(node: Instrument | None) -> int | None:
    if node is None:
        return None
    tail = node.name.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else None


def ensure_tess_mission(session: Session) -> tuple[Mission, MissionCatalog]:
    """Return the TESS mission (BTJD, TDB) and the TIC catalog, creating them if absent."""
    mission = ensure_mission(session, "TESS", description="Transiting Exoplanet Survey Satellite",
                             time_unit="d", time_epoch=2457000.0, time_epoch_scale="tdb",
                             time_epoch_format="jd", time_format_name="btjd")
    catalog = ensure_catalog(session, mission, "TIC", "TESS Input Catalog")
    return mission, catalog


def create_tess_instruments(session: Session) -> Instrument:
    """Create ``TESS > Camera 1..4 > CCD 1..4`` (21 instruments) if absent; return the root."""
    cameras: InstrumentTree = {f"Camera {c}": {f"CCD {d}": {} for d in range(1, 5)}
                               for c in range(1, 5)}
    (root,) = ensure_instrument_tree(session, {"TESS": cameras})
    return root


def tess_ccd(session: Session, camera: int, ccd: int) -> Instrument:
    """Return the instrument node of ``camera``/``ccd``, creating the tree if needed."""
    if not (1 <= camera <= 4 and 1 <= ccd <= 4):
        raise ValueError(f"TESS has cameras 1-4 and CCDs 1-4, not camera {camera} CCD {ccd}")
    node = find_instrument(session, "TESS", f"Camera {camera}", f"CCD {ccd}")
    if node is None:
        create_tess_instruments(session)
        node = find_instrument(session, "TESS", f"Camera {camera}", f"CCD {ccd}")
    assert node is not None
    return node
