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
    included, on both PostgreSQL (``UNIQUE NULLS NOT DISTINCT``) and SQLite (a
    unique index over ``coalesce(target_id, -1)``).

    Examples
    --------
    Bits are tested with numpy::

        cosmic_ray = (flags.quality_flags & 1) != 0
    """

    __tablename__ = "quality_flag_array"

    id: Mapped[BigIntPK] = mapped_column(primary_key=True, doc="Row identifier.")
    type: Mapped[str] = mapped_column(String(64), doc="Polymorphic discriminator.")
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("observation.id", ondelete="CASCADE"), index=True, doc="The observation.")
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("target.id", ondelete="CASCADE"), index=True,
        doc="The target, or NULL for flags that apply to the whole observation.")
    quality_flags: Mapped[npt.NDArray[np.int32]] = mapped_column(
        deferred=True, doc="Quality bit field per cadence.")
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


# One array per (type, observation, target), where a NULL target counts as a
# value. PostgreSQL 15 says so directly; SQLite gets an expression index. The
# ``info["dialects"]`` marker tells Alembic's autogenerate which backend owns each.
UniqueConstraint(
    QualityFlagArray.__table__.c.type, QualityFlagArray.__table__.c.observation_id,
    QualityFlagArray.__table__.c.target_id,
    name="uq_quality_flag_array_type_observation_id_target_id",
    postgresql_nulls_not_distinct=True, info={"dialects": {"postgresql"}},
).ddl_if(dialect="postgresql")
Index(
    "uq_quality_flag_array_type_observation_id_target_id_sqlite",
    QualityFlagArray.__table__.c.type, QualityFlagArray.__table__.c.observation_id,
    func.coalesce(QualityFlagArray.__table__.c.target_id, -1), unique=True,
    info={"dialects": {"sqlite"}},
).ddl_if(dialect="sqlite")
