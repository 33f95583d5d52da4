"""Kepler: quarters, CCD modules and outputs, full-frame images and QUALITY flags.

This is the module lightcurvedb imports through the entry point::

    [project.entry-points."lightcurvedb.missions"]
    kepler = "lcdb_kepler.mission"

Importing it defines the models on :class:`lightcurvedb.Base`, so their tables
join :data:`lightcurvedb.metadata`; :data:`ALEMBIC_VERSIONS` tells
``lcdb db upgrade`` where this package's Alembic branch (``lcdb_kepler``) is.

Kepler times are BKJD = BJD - 2454833 (TDB). The instrument tree is
``Kepler > Module m > Output o``: 21 CCD modules (2-24 without the corners
5 and 21), each read out through four outputs, 84 channels in all.
"""

from __future__ import annotations

import pathlib

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from lightcurvedb.missions._common import (
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
    "ALEMBIC_VERSIONS",
    "CCD_MODULES",
    "KEPLER_QUALITY_BITS",
    "KeplerFFIFrame",
    "KeplerObservation",
    "KeplerQualityFlagArray",
    "channel",
    "ensure_kepler_mission",
    "kepler_output",
]

#: This package's Alembic revisions (branch label ``lcdb_kepler``); lightcurvedb
#: adds the directory to its ``version_locations``.
ALEMBIC_VERSIONS = pathlib.Path(__file__).parent / "migrations"

#: The CCD modules of the focal plane, in channel order (the corners 1, 5, 21
#: and 25 hold the fine-guidance sensors).
CCD_MODULES = (2, 3, 4, *range(6, 21), 22, 23, 24)

#: Kepler pipeline QUALITY bits, from the Kepler Archive Manual (table 2-3).
#: The hard bits are the cadences the archive recommends dropping by default.
KEPLER_QUALITY_BITS = QualityBits(
    bits={
        "attitude_tweak": 1,
        "safe_mode": 2,
        "coarse_point": 4,
        "earth_point": 8,
        "zero_crossing": 16,
        "desaturation": 32,
        "argabrightening": 64,
        "aperture_cosmic": 128,
        "manual_exclude": 256,
        "sensitivity_dropout": 1024,
        "impulsive_outlier": 2048,
        "argabrightening_on_ccd": 4096,
        "collateral_cosmic": 8192,
        "detector_anomaly": 16384,
        "no_fine_point": 32768,
        "no_data": 65536,
        "rolling_band_in_aperture": 131072,
        "rolling_band_in_mask": 262144,
        "possible_thruster_firing": 524288,
        "thruster_firing": 1048576,
    },
    hard=("attitude_tweak", "safe_mode", "coarse_point", "earth_point", "desaturation",
          "manual_exclude", "detector_anomaly", "no_data", "thruster_firing"),
    descriptions={
        "attitude_tweak": "Attitude tweak",
        "safe_mode": "Safe mode",
        "coarse_point": "Spacecraft is in coarse point",
        "earth_point": "Spacecraft is in Earth point",
        "zero_crossing": "Reaction wheel zero crossing",
        "desaturation": "Reaction wheel desaturation event",
        "argabrightening": "Argabrightening event on the module",
        "aperture_cosmic": "Cosmic ray in the optimal aperture",
        "manual_exclude": "Manual exclude",
        "sensitivity_dropout": "Sudden sensitivity dropout",
        "impulsive_outlier": "Impulsive outlier removed before cotrending",
        "argabrightening_on_ccd": "Argabrightening event on the CCD",
        "collateral_cosmic": "Cosmic ray in collateral data",
        "detector_anomaly": "Detector anomaly",
        "no_fine_point": "No fine point",
        "no_data": "No data collected",
        "rolling_band_in_aperture": "Rolling band in the optimal aperture",
        "rolling_band_in_mask": "Rolling band in the full mask",
        "possible_thruster_firing": "Possible thruster firing (K2)",
        "thruster_firing": "Thruster firing (K2)",
    },
)


def channel(ccd_module: int, ccd_output: int) -> int:
    """Return the CCD channel number (1-84) of ``ccd_module``/``ccd_output``.

    Raises
    ------
    ValueError
        For a module that is not on the focal plane or an output outside 1-4.
    """
    if ccd_module not in CCD_MODULES or not 1 <= ccd_output <= 4:
        raise ValueError(f"Kepler has CCD modules {CCD_MODULES} with outputs 1-4, not module "
                         f"{ccd_module} output {ccd_output}")
    return 4 * CCD_MODULES.index(ccd_module) + ccd_output


class KeplerObservation(Observation):
    """One Kepler quarter of one CCD channel (module and output) at one cadence.

    A joined-table subclass: the Kepler columns live in ``kepler_observation``,
    whose primary key is also a foreign key to ``observation.id``.
    ``"polymorphic_load": "selectin"`` makes ``select(Observation)`` load them
    with one extra statement for all Kepler rows, not one per row.
    """

    __tablename__ = "kepler_observation"
    __table_args__ = (
        CheckConstraint("quarter BETWEEN 0 AND 17", name="quarter_range"),
        CheckConstraint("season BETWEEN 0 AND 3", name="season_range"),
        CheckConstraint(f"ccd_module IN {CCD_MODULES}", name="ccd_module_on_focal_plane"),
        CheckConstraint("ccd_output BETWEEN 1 AND 4", name="ccd_output_range"),
        CheckConstraint("cadence_type IN ('long', 'short')", name="cadence_type"),
    )

    id: Mapped[int] = mapped_column(ForeignKey("observation.id", ondelete="CASCADE"),
                                    primary_key=True, doc="The base :class:`Observation` id.")
    quarter: Mapped[int] = mapped_column(SmallInteger, index=True,
                                         doc="``QUARTER``: observing quarter, 0-17.")
    season: Mapped[int] = mapped_column(SmallInteger,
                                        doc="``SEASON``: spacecraft roll orientation, 0-3.")
    ccd_module: Mapped[int] = mapped_column(SmallInteger, doc="``MODULE``: CCD module, 2-24.")
    ccd_output: Mapped[int] = mapped_column(SmallInteger, doc="``OUTPUT``: CCD output, 1-4.")
    cadence_type: Mapped[str] = mapped_column(
        String(5), default="long", doc="``long`` (29.4 min) or ``short`` (58.85 s) cadence.")

    __mapper_args__ = {"polymorphic_identity": "kepler_observation",
                       "polymorphic_load": "selectin"}

    @property
    def channel(self) -> int:
        """The CCD channel number (1-84) of this module and output."""
        return channel(self.ccd_module, self.ccd_output)

    def __repr__(self) -> str:
        return (f"KeplerObservation(quarter={self.quarter!r}, ccd_module={self.ccd_module!r}, "
                f"ccd_output={self.ccd_output!r}, cadence_type={self.cadence_type!r})")


class KeplerFFIFrame(FITSFrame):
    """A Kepler full-frame image (the whole focal plane, one cadence)."""

    __tablename__ = "kepler_ffi_frame"

    id: Mapped[int] = mapped_column(ForeignKey("fits_frame.id", ondelete="CASCADE"),
                                    primary_key=True, doc="The base :class:`FITSFrame` id.")
    quarter: Mapped[int] = mapped_column(SmallInteger, doc="``QUARTER`` keyword.")
    start_bkjd: Mapped[float] = mapped_column(doc="``TSTART``: exposure start (BKJD).")
    end_bkjd: Mapped[float] = mapped_column(doc="``TSTOP``: exposure end (BKJD).")
    quality: Mapped[int] = mapped_column(default=0, doc="Frame quality word (Kepler bits).")

    __mapper_args__ = {"polymorphic_identity": "kepler_ffi", "polymorphic_load": "selectin"}


class KeplerQualityFlagArray(QualityFlagArray):
    """Kepler QUALITY flags with named bits (:data:`KEPLER_QUALITY_BITS`).

    A single-table subclass: the rows live in ``quality_flag_array``, so it
    needs no table and no migration of its own.
    """

    __mapper_args__ = {"polymorphic_identity": "kepler_quality_flag"}
    quality_bits = KEPLER_QUALITY_BITS


def ensure_kepler_mission(session: Session) -> tuple[Mission, MissionCatalog]:
    """Return the Kepler mission (BKJD, TDB) and the KIC catalog, creating them if absent."""
    mission = ensure_mission(session, "Kepler", description="Kepler space telescope",
                             time_unit="d", time_epoch=2454833.0, time_epoch_scale="tdb",
                             time_epoch_format="jd", time_format_name="bkjd")
    catalog = ensure_catalog(session, mission, "KIC", "Kepler Input Catalog")
    return mission, catalog


def kepler_output(session: Session, ccd_module: int, ccd_output: int) -> Instrument:
    """Return the instrument node ``Kepler > Module m > Output o``, creating it if absent."""
    channel(ccd_module, ccd_output)  # validates
    path = ("Kepler", f"Module {ccd_module}", f"Output {ccd_output}")
    node = find_instrument(session, *path)
    if node is None:
        ensure_instrument_tree(session, {path[0]: {path[1]: {path[2]: {}}}})
        node = find_instrument(session, *path)
    assert node is not None
    return node
