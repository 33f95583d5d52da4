"""DSA-110 ingest state (``ingest.sqlite3``): the queue, its subband files, timings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base
from lightcurvedb.radio._types import FLOAT, SCHEMA, TEXT, UNIX_TIME, ZERO_ONE, table_args

__all__ = ["GROUP_STATES", "IngestGroup", "PerformanceMetrics", "SubbandFile"]

#: States of an observation group, in the order a group normally passes them.
GROUP_STATES = ("collecting", "pending", "in_progress", "completed", "failed")


class IngestGroup(Base):
    """``ingest_queue``: an observation group (one timestamp, 16 subbands) in the pipeline."""

    __tablename__ = "ingest_queue"
    __table_args__ = table_args(Index("idx_ingest_state", "state"),
                                Index("idx_ingest_received", "received_at"))

    group_id: Mapped[str] = mapped_column(TEXT, primary_key=True,
                                          doc="``YYYY-MM-DDTHH:MM:SS`` of the group.")
    state: Mapped[str] = mapped_column(TEXT, doc="One of :data:`GROUP_STATES`.")
    received_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="First file seen (UTC).")
    last_update: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Last state change (UTC).")
    expected_subbands: Mapped[int | None] = mapped_column(
        Integer, server_default=text("16"), doc="Subbands that make a complete group.")
    has_calibrator: Mapped[bool | None] = mapped_column(
        ZERO_ONE, doc="A calibrator is in the field (NULL: not checked yet).")
    calibrators: Mapped[str | None] = mapped_column(TEXT, doc="JSON array of calibrators.")
    retry_count: Mapped[int | None] = mapped_column(Integer, server_default=text("0"),
                                                    doc="Processing attempts after the first.")
    error_message: Mapped[str | None] = mapped_column(TEXT, doc="Why the last attempt failed.")

    subbands: Mapped[list[SubbandFile]] = relationship(
        back_populates="group", order_by="SubbandFile.subband_idx",
        doc="The group's subband files, by index.")
    performance: Mapped[PerformanceMetrics | None] = relationship(
        back_populates="group", doc="Processing times, once completed.")


class SubbandFile(Base):
    """``subband_files``: one of a group's 16 subband files."""

    __tablename__ = "subband_files"
    __table_args__ = table_args(UniqueConstraint("group_id", "subband_idx"),
                                Index("idx_subband_group", "group_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    group_id: Mapped[str] = mapped_column(TEXT, ForeignKey(f"{SCHEMA}.ingest_queue.group_id"),
                                          doc="The group.")
    subband_idx: Mapped[int] = mapped_column(Integer, doc="Subband index, 0-15.")
    file_path: Mapped[str] = mapped_column(TEXT, doc="Path of the file.")
    file_size: Mapped[int | None] = mapped_column(Integer, doc="Bytes.")
    discovered_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="When it appeared (UTC).")

    group: Mapped[IngestGroup] = relationship(back_populates="subbands", doc="The group.")


class PerformanceMetrics(Base):
    """``performance_metrics``: how long each stage took for one group (seconds)."""

    __tablename__ = "performance_metrics"
    __table_args__ = table_args(Index("idx_perf_group", "group_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    group_id: Mapped[str] = mapped_column(
        TEXT, ForeignKey(f"{SCHEMA}.ingest_queue.group_id"), unique=True, doc="The group.")
    writer_type: Mapped[str | None] = mapped_column(
        TEXT, doc="``direct-subband``, ``pyuvdata`` or ``auto``.")
    conversion_time: Mapped[float | None] = mapped_column(FLOAT, doc="Seconds.")
    concat_time: Mapped[float | None] = mapped_column(FLOAT, doc="Seconds.")
    k_solve_time: Mapped[float | None] = mapped_column(FLOAT, doc="Seconds.")
    bp_solve_time: Mapped[float | None] = mapped_column(FLOAT, doc="Seconds.")
    g_solve_time: Mapped[float | None] = mapped_column(FLOAT, doc="Seconds.")
    imaging_time: Mapped[float | None] = mapped_column(FLOAT, doc="Seconds.")
    photometry_time: Mapped[float | None] = mapped_column(FLOAT, doc="Seconds.")
    total_time: Mapped[float | None] = mapped_column(FLOAT, doc="Seconds.")
    recorded_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="When recorded (UTC).")

    group: Mapped[IngestGroup] = relationship(back_populates="performance", doc="The group.")
