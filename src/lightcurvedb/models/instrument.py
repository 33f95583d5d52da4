"""The self-referential instrument tree (mission > instrument > detector)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Select, String, select
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column, relationship

from lightcurvedb.core.base import Base

if TYPE_CHECKING:
    from lightcurvedb.models.observation import Observation

__all__ = ["Instrument", "InstrumentPath"]

#: An instrument path: ``"TESS > Camera 1 > CCD 2"`` (as :attr:`Instrument.path`
#: gives it), ``"TESS/Camera 1/CCD 2"`` or a sequence of names.
InstrumentPath = str | Sequence[str]


def split_path(path: InstrumentPath) -> list[str]:
    """Return the names of an instrument path, root first.

    A string is split at ``" > "`` (the separator of :attr:`Instrument.path`)
    when it holds one, otherwise at ``"/"``; surrounding blanks are dropped.
    Pass a sequence of names for names holding either separator.

    Raises
    ------
    ValueError
        If the path has no names or an empty one.
    """
    if isinstance(path, str):
        names = [part.strip() for part in path.split(" > " if " > " in path else "/")]
    else:
        names = list(path)
    if not names or any(not name for name in names):
        raise ValueError(f"instrument path {path!r} needs one or more non-empty names, "
                         "e.g. 'TESS > Camera 1 > CCD 2'")
    return names


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

    @classmethod
    def select_path(cls, path: InstrumentPath) -> Select[Instrument]:
        """Return a ``select()`` of the instrument at ``path`` (one statement, no look-up).

        Parameters
        ----------
        path : str or sequence of str
            Names from the root down, e.g. ``"TESS > Camera 1 > CCD 2"`` (the
            form :attr:`path` gives), ``"TESS/Camera 1/CCD 2"`` or
            ``["TESS", "Camera 1", "CCD 2"]``.

        Returns
        -------
        sqlalchemy.Select
            Selects the matching instrument (no row if the path does not exist);
            usable as a subquery.

        Examples
        --------
        ::

            ccd = session.scalar(Instrument.select_path("TESS > Camera 1 > CCD 2"))
            ccd_2 = Instrument.select_path("TESS/Camera 1/CCD 2").subquery()
            on_ccd_2 = select(Observation).where(
                Observation.instrument_id.in_(select(ccd_2.c.id)))
        """
        names = split_path(path)
        nodes = [aliased(cls, name=f"instrument_{level}") for level in range(len(names))]
        statement = select(nodes[-1]).where(nodes[0].parent_id.is_(None),
                                            nodes[0].name == names[0])
        for parent, node, name in zip(nodes, nodes[1:], names[1:], strict=False):
            statement = statement.join(node, node.parent_id == parent.id).where(node.name == name)
        return statement.select_from(nodes[0])

    @classmethod
    def find(cls, session: Session, path: InstrumentPath) -> Instrument:
        """Return the instrument at ``path``, e.g. ``Instrument.find(session, "TESS/Camera 1")``.

        Parameters
        ----------
        session : sqlalchemy.orm.Session
            Where to look.
        path : str or sequence of str
            Names from the root down, as for :meth:`select_path`.

        Returns
        -------
        Instrument

        Raises
        ------
        LookupError
            If a name of the path is missing (the message names it, the
            instrument it was looked for under and the children that exist) or
            an instrument has two children of that name.
        ValueError
            If the path is empty.
        """
        names = split_path(path)
        node: Instrument | None = None
        for name in names:
            parent_filter = (cls.parent_id.is_(None) if node is None
                             else cls.parent_id == node.id)
            found = session.scalars(select(cls).where(parent_filter, cls.name == name)).all()
            where = "at the root" if node is None else f"under {node.path!r}"
            if len(found) > 1:
                raise LookupError(f"instrument path {' > '.join(names)!r}: {len(found)} "
                                  f"instruments are named {name!r} {where}")
            if not found:
                existing = session.scalars(select(cls.name).where(parent_filter)
                                           .order_by(cls.name)).all()
                listed = ", ".join(existing) if existing else "none"
                kind = "roots" if node is None else "children"
                raise LookupError(f"instrument path {' > '.join(names)!r}: no instrument "
                                  f"{name!r} {where} ({kind}: {listed})")
            node = found[0]
        assert node is not None
        return node

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
