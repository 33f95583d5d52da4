"""Observations (polymorphic), their FITS frames and per-target time arrays."""

from __future__ import annotations

import pathlib
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from astropy.time import Time
from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base, BigIntPK

if TYPE_CHECKING:
    from lightcurvedb.models.dataset import DataSet
    from lightcurvedb.models.instrument import Instrument
    from lightcurvedb.models.mission import Target
    from lightcurvedb.models.quality import QualityFlagArray

__all__ = ["FITSFrame", "Observation", "TargetSpecificTime"]

#: Children an observation owns: deleted with it, in the database (ON DELETE
#: CASCADE) and through the ORM when they are loaded.
def _owned(doc: str) -> Any:
    return relationship(back_populates="observation", cascade="all, delete",
                        passive_deletes=True, doc=doc)


class Observation(Base):
    """One observation (e.g. a TESS sector) made with an :class:`Instrument`.

    Polymorphic on :attr:`type`: missions subclass it (see
    :mod:`lightcurvedb.missions`) and ``select(Observation)`` returns instances
    of the right subclass. Deleting an observation deletes its FITS frames,
    target times, light curves and quality flags.
    """

    __tablename__ = "observation"

    id: Mapped[int] = mapped_column(primary_key=True, doc="Observation identifier.")
    type: Mapped[str] = mapped_column(String(64), index=True,
                                      doc="Polymorphic discriminator (the subclass identity).")
    cadence_reference: Mapped[npt.NDArray[np.int64] | None] = mapped_column(
        deferred=True, doc="Cadence numbers of the observation (e.g. TESS ``CADENCENO``).")
    instrument_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("instrument.id"), index=True, doc="The instrument that made the observation.")

    instrument: Mapped[Instrument] = relationship(back_populates="observations",
                                                  doc="The observing :class:`Instrument`.")
    fits_frames: Mapped[list[FITSFrame]] = _owned("FITS frames of this observation.")
    target_specific_times: Mapped[list[TargetSpecificTime]] = _owned("Per-target time arrays.")
    datasets: Mapped[list[DataSet]] = _owned("Light curves from this observation.")
    quality_flag_arrays: Mapped[list[QualityFlagArray]] = _owned(
        "Quality flags of this observation.")
    targets: Mapped[list[Target]] = relationship(
        secondary="target_specific_time", viewonly=True, order_by="Target.name",
        doc="Targets with times in this observation, by catalog number.")

    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "observation"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


def _observation_instrument(context: Any) -> Any:
    """Default of :attr:`FITSFrame.instrument_id`: the instrument of the frame's observation."""
    observation_id = context.get_current_parameters().get("observation_id")
    if observation_id is None:
        return None
    observation = Observation.__table__
    return context.connection.scalar(
        select(observation.c.instrument_id).where(observation.c.id == observation_id))


class FITSFrame(Base):
    """The primary-header description of one FITS file belonging to an observation.

    Polymorphic on :attr:`type` with base identity ``basefits``; missions add
    their own frame types (full-frame images, calibrated exposures, cubes).

    A frame is unique per ``(type, cadence, instrument_id)``: one product type
    of one detector at one time. The schema document's key is ``(type,
    cadence)``, and that is what it amounts to where one detector records an
    observation, because :attr:`instrument_id` defaults to the observation's
    instrument. Where several detectors expose at once the detector tells the
    frames apart: NIRSpec's NRS1 and NRS2 (one exposure, one ``EXPSTART``, two
    files), the 16 CCD images of one TESS full-frame cadence, HST instruments
    observing in parallel. The same detector, type and cadence twice is refused
    by the database.
    """

    __tablename__ = "fits_frame"
    __table_args__ = (UniqueConstraint("type", "cadence", "instrument_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, doc="Frame identifier.")
    type: Mapped[str] = mapped_column(String(64), doc="Polymorphic discriminator.")
    cadence: Mapped[int] = mapped_column(BigInteger, doc="Cadence number of the frame.")
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("observation.id", ondelete="CASCADE"), index=True,
        doc="The observation the frame belongs to.")
    instrument_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("instrument.id"), index=True, default=_observation_instrument,
        doc="The detector that recorded the frame (a node of the instrument tree, e.g. "
            "``JWST > NIRSpec > IFU > NRS2``); by default the observation's instrument.")
    simple: Mapped[bool] = mapped_column(default=True, doc="FITS ``SIMPLE`` keyword.")
    bitpix: Mapped[int] = mapped_column(doc="Bits per data value (FITS ``BITPIX``).")
    naxis: Mapped[int] = mapped_column(doc="Number of data axes (FITS ``NAXIS``).")
    naxis_values: Mapped[npt.NDArray[np.int32]] = mapped_column(
        doc="Length of each axis (FITS ``NAXIS1`` ... ``NAXISn``).")
    extended: Mapped[bool] = mapped_column(default=False, doc="FITS ``EXTEND`` keyword.")
    bscale: Mapped[float] = mapped_column(default=1.0, doc="FITS ``BSCALE``.")
    bzero: Mapped[float] = mapped_column(default=0.0, doc="FITS ``BZERO``.")
    file_path: Mapped[pathlib.Path] = mapped_column(doc="Path of the FITS file.")

    observation: Mapped[Observation] = relationship(back_populates="fits_frames",
                                                    doc="The owning :class:`Observation`.")
    instrument: Mapped[Instrument] = relationship(
        doc="The detector (:class:`Instrument`) that recorded the frame.")

    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "basefits"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cadence={self.cadence!r}, file_path={self.file_path!r})"


class TargetSpecificTime(Base):
    """Barycentric times of one target in one observation.

    The barycentric correction depends on where the target is on the sky, so
    each target gets its own time array; this table is also the link that
    makes :attr:`Target.observations` and :attr:`Observation.targets`.
    """

    __tablename__ = "target_specific_time"
    __table_args__ = (UniqueConstraint("target_id", "observation_id"),)

    id: Mapped[BigIntPK] = mapped_column(primary_key=True, doc="Row identifier.")
    target_id: Mapped[int] = mapped_column(
        ForeignKey("target.id", ondelete="CASCADE"), index=True, doc="The target.")
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("observation.id", ondelete="CASCADE"), index=True, doc="The observation.")
    barycentric_julian_dates: Mapped[npt.NDArray[np.float64]] = mapped_column(
        deferred=True, doc="Barycentric Julian dates (TDB), one per cadence.")

    target: Mapped[Target] = relationship(back_populates="target_specific_times",
                                          doc="The :class:`Target`.")
    observation: Mapped[Observation] = relationship(back_populates="target_specific_times",
                                                    doc="The :class:`Observation`.")

    def __repr__(self) -> str:
        return f"TargetSpecificTime(target_id={self.target_id!r}, " \
               f"observation_id={self.observation_id!r})"

    def to_time(self) -> Time:
        """Return :attr:`barycentric_julian_dates` as :class:`astropy.time.Time` (JD, TDB).

        NaN dates (SPOC writes them in data gaps) come back masked.
        """
        return Time(np.ma.masked_invalid(self.barycentric_julian_dates), format="jd", scale="tdb")
