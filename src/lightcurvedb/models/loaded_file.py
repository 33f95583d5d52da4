"""Files a loader has written, by name and content hash (:class:`LoadedFile`)."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base

if TYPE_CHECKING:
    from lightcurvedb.models.mission import Target
    from lightcurvedb.models.observation import Observation

__all__ = ["LoadedFile"]


class LoadedFile(Base):
    """One file a loader wrote, identified by its name and its content hash.

    Written in the same transaction as the file's rows, so a recorded file is
    a loaded file. On the next run a file whose :attr:`sha256` is recorded is
    skipped without reading its arrays, and a file of a recorded
    :attr:`file_name` whose content now hashes differently is refused as
    changed (nothing is overwritten). The record goes with the target or the
    observation its rows belong to (``ON DELETE CASCADE``), so deleting those
    lets the file load again.
    """

    __tablename__ = "loaded_file"
    __table_args__ = (UniqueConstraint("loader", "file_name"),)

    id: Mapped[int] = mapped_column(primary_key=True, doc="Record identifier.")
    loader: Mapped[str] = mapped_column(String(32), doc="The loader that wrote it, e.g. "
                                                        "``tess``.")
    file_name: Mapped[str] = mapped_column(
        String(255), doc="The file's name without directories or a ``.gz``/``.bz2`` suffix "
                         "(:func:`~lightcurvedb.loaders.report.uncompressed_name`): SPOC "
                         "names carry the TIC id, sector and cadence.")
    sha256: Mapped[str] = mapped_column(
        String(64), index=True,
        doc="SHA-256 (hex) of the uncompressed FITS bytes (:attr:`FitsContent.sha256 "
            "<lightcurvedb.loaders.fitsfile.FitsContent.sha256>`).")
    size_bytes: Mapped[int] = mapped_column(BigInteger, doc="Size of the file on disk.")
    file_path: Mapped[pathlib.Path] = mapped_column(doc="The file as it was loaded (absolute).")
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("target.id", ondelete="CASCADE"), index=True,
        doc="The target whose rows the file gave, if one.")
    observation_id: Mapped[int | None] = mapped_column(
        ForeignKey("observation.id", ondelete="CASCADE"), index=True,
        doc="The observation of those rows, if one.")
    loaded_at: Mapped[dt.datetime] = mapped_column(
        server_default=func.current_timestamp(), doc="When the file was loaded (UTC).")

    target: Mapped[Target | None] = relationship(doc="The :class:`Target`, if any.")
    observation: Mapped[Observation | None] = relationship(
        doc="The :class:`Observation`, if any.")

    def __repr__(self) -> str:
        return f"LoadedFile(loader={self.loader!r}, file_name={self.file_name!r})"
