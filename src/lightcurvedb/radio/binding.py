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

:func:`state_databases` names the four files of a state directory (and
refuses a directory that lacks one), so the first example is also
``radio_session(state_databases(state))``.

The core lightcurvedb tables (targets, light curves, ...) are not among the
pipeline's files. Give ``core=`` (a migrated lightcurvedb database) to route
every model that is not a DSA-110 one there, for
:func:`~lightcurvedb.radio.targets.materialise_lightcurve`; with one database
for everything it is that database.

URLs are opened with :func:`lightcurvedb.connect`, so on SQLite the ``radio``
schema is translated away and foreign keys are enforced. Nothing is created or
migrated here: build the databases with the pipeline's DDL or with
``lcdb db upgrade``.

Transactions over several databases
-----------------------------------
A session over several databases holds one transaction in each database it
has used, and ``commit()`` commits them one after the other, in no defined
order: it is not atomic (SQLite cannot commit across files, and no two-phase
commit is used). Should one commit fail, the others may have happened. Every
DSA-110 service writes the tables of one group per call (the four groups'
tables never reference each other), so committing after each call (the queue
services do by default) keeps every call either done or not done; a failed
call can be run again. :func:`lightcurvedb.paths.repoint` writes several files
in one call and is safe to run again (the paths already rewritten no longer
match), and :func:`~lightcurvedb.radio.targets.materialise_lightcurve` reads
``products`` and writes only the core database.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, sessionmaker

from lightcurvedb.core.config import ConfigurationError
from lightcurvedb.core.engine import connect
from lightcurvedb.radio import calibration, ingest, products, sources

__all__ = ["GROUPS", "PIPELINE_FILES", "RadioBind", "RadioLayoutError", "bind_radio",
           "group_models", "radio_session", "radio_sessionmaker", "state_databases"]

#: The four table groups, in the pipeline's order, and the model module of each.
GROUPS: dict[str, ModuleType] = {
    "ingest": ingest,
    "cal_registry": calibration,
    "products": products,
    "master_sources": sources,
}

#: Where the pipeline keeps each group's database, relative to its state directory.
PIPELINE_FILES: dict[str, str] = {
    "ingest": "ingest.sqlite3",
    "cal_registry": "cal_registry.sqlite3",
    "products": "products.sqlite3",
    "master_sources": "catalogs/master_sources.sqlite3",
}

#: A database given as a URL (string or :class:`~sqlalchemy.engine.URL`) or an engine.
RadioBind = str | URL | Engine


class RadioLayoutError(ConfigurationError):
    """The DSA-110 databases named cannot be used (a missing file, a bad setting)."""


def state_databases(directory: str | os.PathLike[str]) -> dict[str, URL]:
    """Return the URLs of the pipeline's four SQLite files in a state directory.

    Parameters
    ----------
    directory : path-like
        The pipeline's state directory (``~`` expanded, relative to the
        current directory if relative), holding :data:`PIPELINE_FILES`.

    Returns
    -------
    dict of str to sqlalchemy.engine.URL
        A ``sqlite:///`` URL per group, for :func:`radio_session`.

    Raises
    ------
    RadioLayoutError
        If the directory or one of the files does not exist (all missing files
        are named). Nothing is created: the files are the pipeline's.
    """
    root = pathlib.Path(directory).expanduser().absolute()
    if not root.is_dir():
        raise RadioLayoutError(f"{root}: no such DSA-110 state directory")
    missing = [name for name in PIPELINE_FILES.values() if not (root / name).is_file()]
    if missing:
        raise RadioLayoutError(f"DSA-110 state directory {root} lacks {', '.join(missing)} "
                               "(the pipeline creates them; nothing was created)")
    return {group: URL.create("sqlite", database=str(root / name))
            for group, name in PIPELINE_FILES.items()}


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
    return _bind_radio(databases, {})


def _bind_radio(databases: RadioBind | Mapping[str, RadioBind],
                opened: dict[str, Engine]) -> dict[type, Engine]:
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


def radio_sessionmaker(databases: RadioBind | Mapping[str, RadioBind], *,
                       core: RadioBind | None = None,
                       **session_options: Any) -> sessionmaker[Session]:
    """Return a :class:`~sqlalchemy.orm.sessionmaker` over the DSA-110 databases.

    Parameters
    ----------
    databases : str, URL, Engine or mapping
        As for :func:`bind_radio`.
    core : str, URL or Engine, optional
        The lightcurvedb database of every other model (core, missions,
        plugins): the sessions' default bind. A URL equal to one given in
        ``databases`` shares its engine.
    **session_options
        Passed to :class:`~sqlalchemy.orm.sessionmaker` (``bind`` only
        without ``core``).

    Returns
    -------
    sqlalchemy.orm.sessionmaker
        Its sessions route each model and table to its group's database. The
        default bind is ``core``, else, with one database, that database: with
        the pipeline's separate files and no ``core``, a model that is not a
        DSA-110 one (or a plain ``text()`` query) has no database and raises
        :class:`sqlalchemy.exc.UnboundExecutionError`.

    Raises
    ------
    TypeError
        If both ``core`` and ``bind`` are given.
    """
    opened: dict[str, Engine] = {}
    binds = _bind_radio(databases, opened)
    if core is not None:
        if "bind" in session_options:
            raise TypeError("give core= or bind=, not both: core is the default bind")
        session_options["bind"] = _engine(core, opened)
    elif len(set(binds.values())) == 1 and not isinstance(databases, Mapping):
        session_options.setdefault("bind", next(iter(binds.values())))
    return sessionmaker(binds=binds, **session_options)  # type: ignore[arg-type]


def radio_session(databases: RadioBind | Mapping[str, RadioBind], *,
                  core: RadioBind | None = None, **session_options: Any) -> Session:
    """Open one :class:`~sqlalchemy.orm.Session` over the DSA-110 databases.

    Parameters
    ----------
    databases : str, URL, Engine or mapping
        As for :func:`bind_radio`; a mapping such as :func:`state_databases`
        returns for the pipeline's four files.
    core : str, URL or Engine, optional
        The lightcurvedb database of the models that are not DSA-110 ones;
        see :func:`radio_sessionmaker`.
    **session_options
        Passed to :class:`~sqlalchemy.orm.Session`.

    Returns
    -------
    sqlalchemy.orm.Session
        Use it as a context manager; it commits only when told to. Over
        several databases a commit is one commit per database, in no defined
        order, not one atomic transaction (see the module description).
    """
    return radio_sessionmaker(databases, core=core, **session_options)()
