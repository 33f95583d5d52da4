"""Per-cadence quality-flag bit arrays (polymorphic: missions name their bits)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base, BigIntPK

if TYPE_CHECKING:
    from lightcurvedb.models.mission import Target
    from lightcurvedb.models.observation import Observation

__all__ = ["QualityFlagArray"]


class QualityFlagArray(Base):
    """Quality bits per cadence for an observation, optionally for one target.

    Polymorphic on :attr:`type` with base identity ``base_quality_flag``;
    missions subclass it to name their bits. At most one array exists per
    ``(type, observation, target)`` -- an observation-wide array (target NULL)
    included: a unique constraint covers arrays with a target and a partial unique
    index (``WHERE target_id IS NULL``) the observation-wide ones, on PostgreSQL
    and SQLite alike.

    Examples
    --------
    Bits are tested with numpy::

        cosmic_ray = (flags.quality_flags & 1) != 0
    """

    __tablename__ = "quality_flag_array"
    __table_args__ = (UniqueConstraint("type", "observation_id", "target_id"),)

    id: Mapped[BigIntPK] = mapped_column(primary_key=True, doc="Row identifier.")
    type: Mapped[str] = mapped_column(String(64), doc="Polymorphic discriminator.")
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("observation.id", ondelete="CASCADE"), index=True, doc="The observation.")
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("target.id", ondelete="CASCADE"), index=True,
        doc="The target, or NULL for flags that apply to the whole observation.")
    quality_flags: Mapped[npt.NDArray[np.int64]] = mapped_column(
        deferred=True,
        doc="Quality bit field per cadence (64-bit, so unsigned 32-bit words such as "
            "JWST DQ fit).")
    created_on: Mapped[dt.datetime] = mapped_column(
        server_default=func.current_timestamp(), doc="When the row was written (UTC).")

    observation: Mapped[Observation] = relationship(back_populates="quality_flag_arrays",
                                                    doc="The :class:`Observation`.")
    target: Mapped[Target | None] = relationship(back_populates="quality_flag_arrays",
                                                 doc="The :class:`Target`, if any.")

    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "base_quality_flag"}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(observation_id={self.observation_id!r}, " \
               f"target_id={self.target_id!r})"


# Observation-wide arrays (target NULL) would slip past the unique constraint,
# because SQL treats NULLs as distinct; a partial unique index covers them.
# (PostgreSQL 15's NULLS NOT DISTINCT would do too, but SQLite has no such
# clause, and one mechanism on both backends is simpler to reason about.)
Index(
    "uq_quality_flag_array_observation_wide",
    QualityFlagArray.__table__.c.type, QualityFlagArray.__table__.c.observation_id,
    unique=True,
    postgresql_where=QualityFlagArray.__table__.c.target_id.is_(None),
    sqlite_where=QualityFlagArray.__table__.c.target_id.is_(None),
)
