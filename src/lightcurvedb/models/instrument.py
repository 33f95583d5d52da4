"""The self-referential instrument tree (mission > instrument > detector)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base

if TYPE_CHECKING:
    from lightcurvedb.models.observation import Observation

__all__ = ["Instrument"]


class Instrument(Base):
    """A node of the instrument tree: a telescope, camera, detector or CCD.

    Examples
    --------
    >>> camera = Instrument(name="TESS Camera 1")
    >>> ccd1 = Instrument(name="CCD 1", parent=camera)
    >>> [child.name for child in camera.children]
    ['CCD 1']
    """

    __tablename__ = "instrument"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4,
                                          doc="Instrument identifier (UUID).")
    name: Mapped[str] = mapped_column(String(128), doc="Instrument name, e.g. ``CCD 1``.")
    properties: Mapped[dict[str, Any]] = mapped_column(
        default=dict, doc="Free-form properties (JSON; JSONB on PostgreSQL).")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("instrument.id", ondelete="CASCADE"), index=True,
        doc="The enclosing instrument, or NULL for a root.")

    parent: Mapped[Instrument | None] = relationship(
        back_populates="children", remote_side=[id], doc="The enclosing instrument.")
    children: Mapped[list[Instrument]] = relationship(
        back_populates="parent", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Instrument.name", doc="Instruments directly inside this one, by name.")
    observations: Mapped[list[Observation]] = relationship(
        back_populates="instrument", passive_deletes="all",
        doc="Observations taken with this instrument.")

    def __repr__(self) -> str:
        return f"Instrument(name={self.name!r})"

    @property
    def path(self) -> str:
        """The names from the root down to this instrument, joined by ``" > "``."""
        names = [node.name for node in self.ancestors()][::-1]
        return " > ".join([*names, self.name])

    def ancestors(self) -> Iterator[Instrument]:
        """Yield the parent, grandparent, ... up to the root."""
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def walk(self) -> Iterator[Instrument]:
        """Yield this instrument and every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()
