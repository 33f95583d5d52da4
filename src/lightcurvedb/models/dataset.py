"""Light curves (:class:`DataSet`) and their lineage (:class:`DataSetHierarchy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base

if TYPE_CHECKING:
    from lightcurvedb.models.mission import Target
    from lightcurvedb.models.observation import Observation
    from lightcurvedb.models.processing import PhotometricSource, ProcessingMethod

__all__ = ["DataSet", "DataSetHierarchy"]


class DataSetHierarchy(Base):
    """One lineage edge: ``child_dataset`` was derived from ``source_dataset``."""

    __tablename__ = "dataset_hierarchy"
    __table_args__ = (
        UniqueConstraint("source_dataset_id", "child_dataset_id"),
        CheckConstraint("source_dataset_id <> child_dataset_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, doc="Edge identifier.")
    source_dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True, doc="The input light curve.")
    child_dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), index=True, doc="The derived light curve.")


class DataSet(Base):
    """A light curve: one target, one observation, flux values and their errors.

    ``values``/``errors`` are numpy arrays aligned with the cadences of the
    observation and with the target's :class:`TargetSpecificTime`. They are
    deferred: listing many datasets does not load the arrays until they are
    touched (both load together). Lineage is kept in :class:`DataSetHierarchy`
    and read through :attr:`source_datasets` and :attr:`derived_datasets`.
    """

    __tablename__ = "dataset"

    id: Mapped[int] = mapped_column(primary_key=True, doc="Light-curve identifier.")
    target_id: Mapped[int] = mapped_column(
        ForeignKey("target.id", ondelete="CASCADE"), index=True, doc="The target.")
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("observation.id", ondelete="CASCADE"), index=True, doc="The observation.")
    photometric_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("photometric_source.id", ondelete="CASCADE"), index=True,
        doc="The :class:`PhotometricSource` the flux was measured with (NULL if unknown).")
    processing_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_method.id", ondelete="CASCADE"), index=True,
        doc="The :class:`ProcessingMethod` applied (NULL for raw photometry).")
    values: Mapped[npt.NDArray[np.float64]] = mapped_column(
        deferred=True, deferred_group="dataset_arrays", doc="Flux per cadence.")
    errors: Mapped[npt.NDArray[np.float64] | None] = mapped_column(
        deferred=True, deferred_group="dataset_arrays", doc="1-sigma flux error per cadence.")

    target: Mapped[Target] = relationship(back_populates="datasets", doc="The :class:`Target`.")
    observation: Mapped[Observation] = relationship(back_populates="datasets",
                                                    doc="The :class:`Observation`.")
    photometry_source: Mapped[PhotometricSource | None] = relationship(
        back_populates="datasets", doc="How the flux was measured.")
    processing_method: Mapped[ProcessingMethod | None] = relationship(
        back_populates="datasets", doc="How the flux was processed (None for raw).")
    source_datasets: Mapped[list[DataSet]] = relationship(
        secondary="dataset_hierarchy",
        primaryjoin="DataSet.id == DataSetHierarchy.child_dataset_id",
        secondaryjoin="DataSet.id == DataSetHierarchy.source_dataset_id",
        back_populates="derived_datasets", passive_deletes=True,
        doc="Light curves this one was derived from.")
    derived_datasets: Mapped[list[DataSet]] = relationship(
        secondary="dataset_hierarchy",
        primaryjoin="DataSet.id == DataSetHierarchy.source_dataset_id",
        secondaryjoin="DataSet.id == DataSetHierarchy.child_dataset_id",
        back_populates="source_datasets", passive_deletes=True,
        doc="Light curves derived from this one.")

    def __repr__(self) -> str:
        return f"DataSet(id={self.id!r}, target_id={self.target_id!r}, " \
               f"observation_id={self.observation_id!r})"

    def ancestors(self) -> list[DataSet]:
        """Every light curve this one was derived from, directly or not, nearest first."""
        return _walk(self, "source_datasets")

    def descendants(self) -> list[DataSet]:
        """Every light curve derived from this one, directly or not, nearest first."""
        return _walk(self, "derived_datasets")


def _walk(start: DataSet, attribute: str) -> list[DataSet]:
    seen: dict[int, DataSet] = {}
    frontier = list(getattr(start, attribute))
    while frontier:
        node = frontier.pop(0)
        if id(node) in seen:
            continue
        seen[id(node)] = node
        frontier.extend(getattr(node, attribute))
    return list(seen.values())
