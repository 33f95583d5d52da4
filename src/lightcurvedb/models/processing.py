"""How light curves were made: photometric sources and processing methods."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base

if TYPE_CHECKING:
    from lightcurvedb.models.dataset import DataSet

__all__ = ["PhotometricSource", "ProcessingMethod"]


class PhotometricSource(Base):
    """Where flux was measured: an aperture, a PSF fit, a difference image, ...

    Deleting a photometric source deletes the light curves extracted with it.
    """

    __tablename__ = "photometric_source"

    id: Mapped[int] = mapped_column(primary_key=True, doc="Source identifier.")
    name: Mapped[str] = mapped_column(String(64), unique=True,
                                      doc="Unique name, e.g. ``SPOC aperture``.")
    description: Mapped[str | None] = mapped_column(doc="Free-text description.")

    datasets: Mapped[list[DataSet]] = relationship(
        back_populates="photometry_source", cascade="all, delete", passive_deletes=True,
        doc="Light curves extracted with this source.")

    def __repr__(self) -> str:
        return f"PhotometricSource(name={self.name!r})"


class ProcessingMethod(Base):
    """A processing step applied to a light curve: detrending, PDC, normalisation, ...

    Deleting a processing method deletes the light curves it produced.
    """

    __tablename__ = "processing_method"

    id: Mapped[int] = mapped_column(primary_key=True, doc="Method identifier.")
    name: Mapped[str] = mapped_column(String(64), unique=True,
                                      doc="Unique name, e.g. ``PDC-MAP``.")
    description: Mapped[str | None] = mapped_column(doc="Free-text description.")

    datasets: Mapped[list[DataSet]] = relationship(
        back_populates="processing_method", cascade="all, delete", passive_deletes=True,
        doc="Light curves produced by this method.")

    def __repr__(self) -> str:
        return f"ProcessingMethod(name={self.name!r})"
