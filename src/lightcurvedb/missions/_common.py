"""Idempotent creation of a mission's fixed rows: the mission, its catalog, its instruments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lightcurvedb.models import Instrument, Mission, MissionCatalog

__all__ = [
    "ExposureColumns",
    "InstrumentTree",
    "cadence_from_mjd",
    "ensure_catalog",
    "ensure_instrument_tree",
    "ensure_mission",
    "find_instrument",
]

#: ``{name: subtree}``; a leaf's subtree is an empty mapping.
InstrumentTree = Mapping[str, "InstrumentTree"]


def ensure_mission(session: Session, name: str, **time_system: Any) -> Mission:
    """Return the mission called ``name``, creating it with ``time_system`` if absent."""
    mission = session.scalar(select(Mission).where(Mission.name == name))
    if mission is None:
        mission = Mission(name=name, **time_system)
        session.add(mission)
        session.flush()
    return mission


def ensure_catalog(session: Session, mission: Mission, name: str, description: str
                   ) -> MissionCatalog:
    """Return the catalog called ``name``, creating it under ``mission`` if absent."""
    catalog = session.scalar(select(MissionCatalog).where(MissionCatalog.name == name))
    if catalog is None:
        catalog = MissionCatalog(name=name, description=description, host_mission=mission)
        session.add(catalog)
        session.flush()
    return catalog


def ensure_instrument_tree(session: Session, tree: InstrumentTree,
                           parent: Instrument | None = None) -> list[Instrument]:
    """Create the instruments of ``tree`` that do not exist yet; return the top-level ones.

    Instruments are identified by ``(name, parent)``, so calling this again
    creates nothing and returns the same rows.
    """
    tops = []
    for name, subtree in tree.items():
        parent_id = parent.id if parent is not None else None
        node = session.scalar(select(Instrument).where(
            Instrument.name == name,
            Instrument.parent_id.is_(None) if parent_id is None
            else Instrument.parent_id == parent_id))
        if node is None:
            node = Instrument(name=name, parent=parent, properties={})
            session.add(node)
            session.flush()
        ensure_instrument_tree(session, subtree, node)
        tops.append(node)
    return tops


def find_instrument(session: Session, *path: str) -> Instrument | None:
    """Return the instrument at ``path`` (e.g. ``"TESS", "Camera 1", "CCD 2"``), or None."""
    node: Instrument | None = None
    for name in path:
        parent_clause = (Instrument.parent_id.is_(None) if node is None
                         else Instrument.parent_id == node.id)
        node = session.scalar(select(Instrument).where(Instrument.name == name, parent_clause))
        if node is None:
            return None
    return node


class ExposureColumns:
    """Columns every space-telescope exposure frame has (HST, JWST); a declarative mixin."""

    rootname: Mapped[str] = mapped_column(String(64), index=True,
                                          doc="``ROOTNAME``/file stem identifying the exposure.")
    exposure_start_mjd: Mapped[float] = mapped_column(
        doc="``EXPSTART``: exposure start (MJD, UTC).")
    exposure_time: Mapped[float] = mapped_column(doc="``EXPTIME``/``EFFEXPTM``: seconds.")
    filter_name: Mapped[str | None] = mapped_column(String(32), doc="Filter (``FILTER``).")


def cadence_from_mjd(mjd: float) -> int:
    """Frame cadence number of a space-telescope exposure: its start in whole ms since MJD 0.

    :class:`~lightcurvedb.models.FITSFrame` is unique per ``(type, cadence)``;
    for observatories without a cadence counter the exposure start serves.
    """
    return round(mjd * 86_400_000)
