"""DSA-110 calibration registry (``cal_registry.sqlite3``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from lightcurvedb.core.base import Base
from lightcurvedb.radio._types import FLOAT, TEXT, UNIX_TIME, ZERO_ONE, table_args

__all__ = ["APPLY_ORDER", "CalTable"]

#: Calibration table types and the order they are applied in.
APPLY_ORDER = {"K": 0, "BP": 1, "G": 2}


class CalTable(Base):
    """``caltables``: one calibration table and the MJD window it is valid for."""

    __tablename__ = "caltables"
    __table_args__ = table_args(
        Index("idx_caltables_set", "set_name"),
        Index("idx_caltables_valid", "valid_start_mjd", "valid_end_mjd"),
        Index("idx_caltables_active", "active"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, doc="Row identifier.")
    set_name: Mapped[str] = mapped_column(TEXT, doc="Set, e.g. ``bp_3c286_60238``.")
    path: Mapped[str] = mapped_column(TEXT, unique=True, doc="Full path of the table.")
    table_type: Mapped[str] = mapped_column(TEXT, doc="``K``, ``BP`` or ``G``.")
    order_index: Mapped[int] = mapped_column(Integer, doc="Apply order: K=0, BP=1, G=2.")
    valid_start_mjd: Mapped[float] = mapped_column(FLOAT, doc="Start of validity (MJD).")
    valid_end_mjd: Mapped[float] = mapped_column(FLOAT, doc="End of validity (MJD).")
    created_at: Mapped[dt.datetime] = mapped_column(UNIX_TIME, doc="Registered (UTC).")
    active: Mapped[bool | None] = mapped_column(ZERO_ONE, server_default=text("1"),
                                                doc="Still in use.")
