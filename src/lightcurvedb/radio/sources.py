"""DSA-110 master sources (``master_sources.sqlite3``): the NVSS/VLASS/FIRST crossmatch."""

from __future__ import annotations

from sqlalchemy import Index, text
from sqlalchemy.orm import Mapped, mapped_column

from lightcurvedb.core.base import Base
from lightcurvedb.radio._types import FLOAT, TEXT, ZERO_ONE, table_args

__all__ = ["Source"]


class Source(Base):
    """``sources``: one NVSS source with its VLASS/FIRST crossmatch."""

    __tablename__ = "sources"
    __table_args__ = table_args(Index("idx_sources_ra_dec", "ra_deg", "dec_deg"),
                                Index("idx_sources_flux", "s_nvss"),
                                Index("idx_sources_alpha", "alpha"))

    source_id: Mapped[str] = mapped_column(TEXT, primary_key=True, doc="NVSS id.")
    ra_deg: Mapped[float] = mapped_column(FLOAT, doc="RA (deg).")
    dec_deg: Mapped[float] = mapped_column(FLOAT, doc="Dec (deg).")
    s_nvss: Mapped[float | None] = mapped_column(FLOAT, doc="NVSS flux (Jy).")
    snr_nvss: Mapped[float | None] = mapped_column(FLOAT, doc="NVSS S/N.")
    s_vlass: Mapped[float | None] = mapped_column(FLOAT, doc="VLASS flux (Jy).")
    alpha: Mapped[float | None] = mapped_column(FLOAT, doc="Spectral index NVSS -> VLASS.")
    resolved_flag: Mapped[bool | None] = mapped_column(
        ZERO_ONE, server_default=text("0"), doc="Resolved by FIRST's deconvolved size.")
    confusion_flag: Mapped[bool | None] = mapped_column(
        ZERO_ONE, server_default=text("0"), doc="Several matches within the radius.")
    first_size_maj_arcsec: Mapped[float | None] = mapped_column(FLOAT, doc="FIRST major axis.")
    first_size_min_arcsec: Mapped[float | None] = mapped_column(FLOAT, doc="FIRST minor axis.")
    first_size_pa_deg: Mapped[float | None] = mapped_column(FLOAT, doc="FIRST position angle.")


