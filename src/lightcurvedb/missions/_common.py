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
    "ensure_instrument_path",
    "ensure_instrument_tree",
    "ensure_mission",
    "ensure_mjd_utc_mission",
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


def ensure_mjd_utc_mission(session: Session, name: str, description: str,
                           time_format_name: str) -> Mission:
    """Return the mission called ``name``, creating it with times in MJD (UTC) if absent.

    For observatories such as HST and JWST whose times are Modified Julian
    Dates in UTC: days since JD 2400000.5.
    """
    return ensure_mission(session, name, description=description, time_unit="d",
                          time_epoch=2400000.5, time_epoch_scale="utc", time_epoch_format="jd",
                          time_format_name=time_format_name)


def ensure_catalog(session: Session, mission: Mission, name: str, description: str
                   ) -> MissionCatalog:
    """Return the catalog called ``name``, creating it under ``mission`` if absent."""
    catalog = session.scalar(select(MissionCatalog).where(MissionCatalog.name == name))
    if catalog is None:
        catalog = MissionCatalog(name=name, description=description, host_mission=mission)
        session.add(catalog)
        session.flush()
    return catalog


def _child(session: Session, parent: Instrument | None, name: str) -> Instrument | None:
    """Return the instrument called ``name`` directly under ``parent`` (a root if None)."""
    return session.scalar(select(Instrument).where(
        Instrument.name == name,
        Instrument.parent_id.is_(None) if parent is None else Instrument.parent_id == parent.id))


def _ensure_child(session: Session, parent: Instrument | None, name: str) -> Instrument:
    node = _child(session, parent, name)
    if node is None:
        node = Instrument(name=name, parent=parent, properties={})
        session.add(node)
        session.flush()
    return node


def ensure_instrument_tree(session: Session, tree: InstrumentTree,
                           parent: Instrument | None = None) -> list[Instrument]:
    """Create the instruments of ``tree`` that do not exist yet; return the top-level ones.

    Instruments are identified by ``(name, parent)``, so calling this again
    creates nothing and returns the same rows.
    """
    tops = []
    for name, subtree in tree.items():
        node = _ensure_child(session, parent, name)
        ensure_instrument_tree(session, subtree, node)
        tops.append(node)
    return tops


def ensure_instrument_path(session: Session, *path: str) -> Instrument:
    """Return the instrument at ``path`` (e.g. ``"HST", "WFC3", "UVIS"``), creating it if absent.

    Each missing node of the chain is created under the previous one
    (identified by ``(name, parent)``, like :func:`ensure_instrument_tree`), so
    calling this again creates nothing and returns the same leaf.

    Raises
    ------
    ValueError
        If ``path`` is empty.
    """
    if not path:
        raise ValueError("an instrument path needs at least one name")
    node: Instrument | None = None
    for name in path:
        node = _ensure_child(session, node, name)
    assert node is not None
    return node


def find_instrument(session: Session, *path: str) -> Instrument | None:
    """Return the instrument at ``path`` (e.g. ``"TESS", "Camera 1", "CCD 2"``), or None."""
    node: Instrument | None = None
    for name in path:
        node = _child(session, node, name)
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
