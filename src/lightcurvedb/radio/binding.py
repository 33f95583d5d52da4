"""Which database each DSA-110 table lives in: one database, or the pipeline's four files.

The pipeline deploys its tables in four SQLite files, one per *group*:

============== ================================= =====================================
group          pipeline file                     models
============== ================================= =====================================
ingest         ``ingest.sqlite3``                :mod:`lightcurvedb.radio.ingest`
cal_registry   ``cal_registry.sqlite3``          :mod:`lightcurvedb.radio.calibration`
products       ``products.sqlite3``              :mod:`lightcurvedb.radio.products`
master_sources ``master_sources.sqlite3``        :mod:`lightcurvedb.radio.sources`
============== ================================= =====================================

:func:`radio_session` opens a :class:`~sqlalchemy.orm.Session` over either
layout, chosen by configuration, with the same models and the same service
functions::

    from lightcurvedb.radio.binding import radio_session

    # the pipeline's four files
    state = "/data/dsa110-contimg/state"
    with radio_session({"ingest": f"sqlite:///{state}/ingest.sqlite3",
                        "cal_registry": f"sqlite:///{state}/cal_registry.sqlite3",
                        "products": f"sqlite:///{state}/products.sqlite3",
                        "master_sources": f"sqlite:///{state}/catalogs/master_sources.sqlite3"}
                       ) as session:
        ...
    # one SQLite file, or one PostgreSQL database (tables in schema ``radio``)
    with radio_session("postgresql://astro@db/lightcurves") as session:
        ...

URLs are opened with :func:`lightcurvedb.connect`, so on SQLite the ``radio``
schema is translated away and foreign keys are enforced. Nothing is created or
migrated here: build the databases with the pipeline's DDL or with
``lcdb db upgrade``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, sessionmaker

from lightcurvedb.core.engine import connect
from lightcurvedb.radio import calibration, ingest, products, sources

__all__ = ["GROUPS", "RadioBind", "bind_radio", "group_models", "radio_session",
           "radio_sessionmaker"]

#: The four table groups, in the pipeline's order, and the model module of each.
GROUPS: dict[str, ModuleType] = {
    "ingest": ingest,
    "cal_registry": calibration,
    "products": products,
    "master_sources": sources,
}

#: A database given as a URL (string or :class:`~sqlalchemy.engine.URL`) or an engine.
RadioBind = str | URL | Engine


def group_models(group: str) -> list[type]:
    """Return the mapped classes of one group, by table name.

    Parameters
    ----------
    group : str
        ``ingest``, ``cal_registry``, ``products`` or ``master_sources``.

    Returns
    -------
    list
        The mapped classes defined in the group's module (:data:`GROUPS`).

    Raises
    ------
    KeyError
        If ``group`` is not one of the four.
    """
    try:
        module = GROUPS[group]
    except KeyError:
        raise KeyError(f"unknown DSA-110 table group {group!r}; expected one of "
                       f"{', '.join(GROUPS)}") from None
    from lightcurvedb.core.base import Base

    models = [mapper.class_ for mapper in Base.registry.mappers
              if mapper.class_.__module__ == module.__name__]
    return sorted(models, key=lambda model: model.__tablename__)


def _engine(bind: RadioBind, opened: dict[str, Engine]) -> Engine:
    if isinstance(bind, Engine):
        return bind
    key = bind.render_as_string(hide_password=False) if isinstance(bind, URL) else str(bind)
    if key not in opened:
        opened[key] = connect(bind)
    return opened[key]


def bind_radio(databases: RadioBind | Mapping[str, RadioBind]) -> dict[type, Engine]:
    """Route every DSA-110 model to its database.

    Parameters
    ----------
    databases : str, URL, Engine or mapping
        One database for all four groups (one SQLite file, or PostgreSQL with
        the tables in schema ``radio``), or a mapping from group name
        (:data:`GROUPS`) to the database of that group. Groups left out of the
        mapping are not bound: using their models raises
        :class:`sqlalchemy.exc.UnboundExecutionError`. The same URL given for
        several groups opens one engine.

    Returns
    -------
    dict
        ``Session(binds=...)`` input: each model (and with it its table, for
        Core statements) mapped to an engine. URLs are opened with
        :func:`lightcurvedb.connect` and live as long as the session refers
        to them; pass engines instead to control when they are disposed.

    Raises
    ------
    KeyError
        If the mapping names an unknown group.
    """
    opened: dict[str, Engine] = {}
    if isinstance(databases, Mapping):
        unknown = sorted(set(databases) - set(GROUPS))
        if unknown:
            raise KeyError(f"unknown DSA-110 table group(s) {', '.join(map(repr, unknown))}; "
                           f"expected some of {', '.join(GROUPS)}")
        by_group = {group: _engine(bind, opened) for group, bind in databases.items()}
    else:
        engine = _engine(databases, opened)
        by_group = dict.fromkeys(GROUPS, engine)
    return {model: engine for group, engine in by_group.items() for model in group_models(group)}


def radio_sessionmaker(databases: RadioBind | Mapping[str, RadioBind],
                       **session_options: Any) -> sessionmaker[Session]:
    """Return a :class:`~sqlalchemy.orm.sessionmaker` over the DSA-110 databases.

    Parameters
    ----------
    databases : str, URL, Engine or mapping
        As for :func:`bind_radio`.
    **session_options
        Passed to :class:`~sqlalchemy.orm.sessionmaker`.

    Returns
    -------
    sqlalchemy.orm.sessionmaker
        Its sessions route each model and table to its group's database. With
        one database, that database is also the session's default bind (for
        plain ``text()`` queries such as the reference views).
    """
    binds = bind_radio(databases)
    engines = set(binds.values())
    if len(engines) == 1 and not isinstance(databases, Mapping):
        session_options.setdefault("bind", next(iter(engines)))
    return sessionmaker(binds=binds, **session_options)  # type: ignore[arg-type]


def radio_session(databases: RadioBind | Mapping[str, RadioBind],
                  **session_options: Any) -> Session:
    """Open one :class:`~sqlalchemy.orm.Session` over the DSA-110 databases.

    Parameters
    ----------
    databases : str, URL, Engine or mapping
        As for :func:`bind_radio`.
    **session_options
        Passed to :class:`~sqlalchemy.orm.Session`.

    Returns
    -------
    sqlalchemy.orm.Session
        Use it as a context manager; it commits only when told to. With four
        databases a commit is four commits, one per file, not one atomic
        transaction (SQLite cannot commit across files).
    """
    return radio_sessionmaker(databases, **session_options)()
