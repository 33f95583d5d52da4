"""Light curves (:class:`DataSet`) and their lineage (:class:`DataSetHierarchy`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    and_,
    or_,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from sqlalchemy.sql.elements import ColumnElement

from lightcurvedb.core.base import Base
from lightcurvedb.core.reprs import model_repr

if TYPE_CHECKING:
    from astropy.timeseries import TimeSeries

    from lightcurvedb.models.mission import Target
    from lightcurvedb.models.observation import Observation
    from lightcurvedb.models.processing import PhotometricSource, ProcessingMethod

__all__ = ["DataSet", "DataSetHierarchy"]


class DataSetHierarchy(Base):
    """One lineage edge: ``child_dataset`` was derived from ``source_dataset``.

    Each end is a light curve's ``(id, observation_id)``: on PostgreSQL
    ``dataset`` is partitioned by observation, and a foreign key to a
    partitioned table must reference a key that contains the partition key (see
    :doc:`/partitioning`). The edge is deleted with either light curve, and
    follows a light curve moved to another observation (ON UPDATE CASCADE).
    Edges are usually made through the relationships, which fill all four
    columns::

        detrended.source_datasets.append(raw)

    A direct constructor gives both ids of each end::

        DataSetHierarchy(source_dataset_id=raw.id, source_observation_id=raw.observation_id,
                         child_dataset_id=detrended.id,
                         child_observation_id=detrended.observation_id)
    """

    __tablename__ = "dataset_hierarchy"
    __table_args__ = (
        UniqueConstraint("source_dataset_id", "child_dataset_id"),
        CheckConstraint("source_dataset_id <> child_dataset_id", name="not_self"),
        ForeignKeyConstraint(["source_dataset_id", "source_observation_id"],
                             ["dataset.id", "dataset.observation_id"],
                             ondelete="CASCADE", onupdate="CASCADE"),
        ForeignKeyConstraint(["child_dataset_id", "child_observation_id"],
                             ["dataset.id", "dataset.observation_id"],
                             ondelete="CASCADE", onupdate="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, doc="Edge identifier.")
    source_dataset_id: Mapped[int] = mapped_column(index=True, doc="The input light curve.")
    source_observation_id: Mapped[int] = mapped_column(
        doc="Observation of the input light curve (part of its key on PostgreSQL).")
    child_dataset_id: Mapped[int] = mapped_column(index=True, doc="The derived light curve.")
    child_observation_id: Mapped[int] = mapped_column(
        doc="Observation of the derived light curve (part of its key on PostgreSQL).")

    def __repr__(self) -> str:
        return model_repr(self, "source_dataset_id", "child_dataset_id")


class DataSet(Base):
    """A light curve: one target, one observation, flux values and their errors.

    ``values``/``errors`` are numpy arrays aligned with the cadences of the
    observation and with the target's :class:`TargetSpecificTime`. They are
    deferred: listing many datasets does not load the arrays until they are
    touched (both load together). Lineage is kept in :class:`DataSetHierarchy`
    and read through :attr:`source_datasets` and :attr:`derived_datasets`.

    On PostgreSQL the table is partitioned by observation (see
    :doc:`/partitioning`) and its primary key there is ``(id,
    observation_id)``; ``id`` alone still identifies a light curve (it comes
    from one sequence). ``(id, observation_id)`` is unique on both backends, the
    key lineage edges reference.
    """

    __tablename__ = "dataset"
    __table_args__ = (
        # SQLite needs this unique index for the lineage foreign keys; on PostgreSQL the
        # partitioned table's primary key (id, observation_id) is that key, so migration
        # 0008 does not create it there (schema comparisons skip it, see migrations.py).
        Index("uq_dataset_id_observation_id", "id", "observation_id", unique=True),
    )

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
    unit: Mapped[str | None] = mapped_column(
        String(32), doc="Unit of ``values`` and ``errors`` as an astropy unit string "
                        "(e.g. ``electron / s``), or NULL if unknown or dimensionless.")
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
        primaryjoin=lambda: _end(DataSetHierarchy.child_dataset_id,
                                 DataSetHierarchy.child_observation_id),
        secondaryjoin=lambda: _end(DataSetHierarchy.source_dataset_id,
                                   DataSetHierarchy.source_observation_id),
        back_populates="derived_datasets", passive_deletes=True,
        doc="Light curves this one was derived from.")
    derived_datasets: Mapped[list[DataSet]] = relationship(
        secondary="dataset_hierarchy",
        primaryjoin=lambda: _end(DataSetHierarchy.source_dataset_id,
                                 DataSetHierarchy.source_observation_id),
        secondaryjoin=lambda: _end(DataSetHierarchy.child_dataset_id,
                                   DataSetHierarchy.child_observation_id),
        back_populates="source_datasets", passive_deletes=True,
        doc="Light curves derived from this one.")

    def __repr__(self) -> str:
        return model_repr(self, "id", "target_id", "observation_id")

    @hybrid_property
    def has_photometric_source(self) -> bool:
        """Whether the photometric source is known (in SQL: ``photometric_method_id IS NOT NULL``).

        Named as in the Kavli package, where "unknown" is the row with id 0;
        here it is NULL. ``select(DataSet).where(DataSet.has_photometric_source)``.
        """
        return self.photometric_method_id is not None or self.photometry_source is not None

    @has_photometric_source.inplace.expression
    @classmethod
    def _has_photometric_source_expression(cls) -> ColumnElement[bool]:
        return cls.photometric_method_id.is_not(None)

    @hybrid_property
    def has_processing_method(self) -> bool:
        """Whether a processing method is recorded (False for raw photometry such as SAP).

        In SQL: ``processing_method_id IS NOT NULL``, e.g.
        ``select(DataSet).where(~DataSet.has_processing_method)`` selects the raw
        light curves (the Kavli package's id-0 "unspecified" method).
        """
        return self.processing_method_id is not None or self.processing_method is not None

    @has_processing_method.inplace.expression
    @classmethod
    def _has_processing_method_expression(cls) -> ColumnElement[bool]:
        return cls.processing_method_id.is_not(None)

    def to_timeseries(self) -> TimeSeries:
        """Return this light curve as an :class:`astropy.timeseries.TimeSeries`.

        The time axis is the target's :class:`TargetSpecificTime` in the same
        observation (BJD, TDB). Columns: ``flux`` and ``flux_err`` (with
        :attr:`unit` when known), and, when quality flags exist for the
        observation (the target's own preferred over observation-wide ones),
        ``quality`` (the bit words) and ``quality_mask`` (True where a
        mission's "hard" bits are set; see
        :meth:`QualityFlagArray.hard_mask`).

        For the mission's own time format (BTJD), metadata (TIC id, sector,
        camera, CCD, ...), masked flux and many light curves at once, use
        :func:`lightcurvedb.lightcurves` and
        :meth:`LightCurve.to_timeseries <lightcurvedb.lc.LightCurve.to_timeseries>`.

        Raises
        ------
        ValueError
            If the light curve is not in a session, has no time array, or its
            arrays and the times differ in length.
        """
        from astropy import units as u
        from astropy.timeseries import TimeSeries

        from lightcurvedb.models.observation import TargetSpecificTime
        from lightcurvedb.models.quality import QualityFlagArray

        session = object_session(self)
        if session is None:
            raise ValueError(f"{self!r} is not attached to a session")
        times = session.scalar(select(TargetSpecificTime).where(
            TargetSpecificTime.target_id == self.target_id,
            TargetSpecificTime.observation_id == self.observation_id))
        if times is None:
            raise ValueError(f"{self!r}: no TargetSpecificTime for target {self.target_id} in "
                             f"observation {self.observation_id}, so there is no time axis")
        n = len(times.barycentric_julian_dates)
        if len(self.values) != n:
            raise ValueError(f"{self!r}: {len(self.values)} values but {n} times")
        unit = u.Unit(self.unit) if self.unit else u.dimensionless_unscaled
        series = TimeSeries(time=times.to_time())
        series["flux"] = self.values * unit
        if self.errors is not None:
            series["flux_err"] = self.errors * unit
        flags = session.scalars(
            select(QualityFlagArray).where(
                QualityFlagArray.observation_id == self.observation_id,
                or_(QualityFlagArray.target_id == self.target_id,
                    QualityFlagArray.target_id.is_(None)))
            .order_by(QualityFlagArray.target_id.is_(None))).first()
        if flags is not None and len(flags.quality_flags) == n:
            series["quality"] = flags.quality_flags
            series["quality_mask"] = flags.hard_mask()
        return series

    def ancestors(self) -> list[DataSet]:
        """Every light curve this one was derived from, directly or not, nearest first."""
        return _walk(self, "source_datasets")

    def descendants(self) -> list[DataSet]:
        """Every light curve derived from this one, directly or not, nearest first."""
        return _walk(self, "derived_datasets")


def _end(dataset_id: Any, observation_id: Any) -> Any:
    """Join condition of one end of a lineage edge: the light curve's full key."""
    return and_(DataSet.id == dataset_id, DataSet.observation_id == observation_id)


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
