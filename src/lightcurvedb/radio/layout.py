"""Where the ``lcdb`` commands find the DSA-110 tables: one database, or the pipeline's files.

The first of these that is set wins (:func:`resolve_radio_layout`):

1. ``--state DIR``: the pipeline's state directory, holding its four files
   (:data:`~lightcurvedb.radio.binding.PIPELINE_FILES`);
2. ``--url URL``: one database for everything;
3. the ``LIGHTCURVEDB_RADIO_STATE`` environment variable: a state directory;
4. the ``LIGHTCURVEDB_URL`` environment variable: one database;
5. the ``[Radio]`` section of ``db.conf`` (next to ``[Credentials]``, see
   :mod:`lightcurvedb.core.config`): ``state = DIR``, or a URL per group
   (``ingest``, ``cal_registry``, ``products``, ``master_sources``; given
   with ``state``, a group's URL replaces that group's file)::

       [Radio]
       state = /data/dsa110-contimg/state

6. otherwise one database, as :func:`lightcurvedb.connect` resolves it
   (``[Credentials]``, else the default SQLite file).

A command line setting beats the environment, which beats the file. With a
state directory (or ``[Radio]`` URLs) the pipeline's databases are used as
they are: nothing is migrated, and a missing SQLite file is refused, never
created. The core lightcurvedb database, which only ``lcdb radio sources
lightcurve`` and ``lcdb db repoint`` need then, is the one
:func:`lightcurvedb.connect` resolves (``--url``, ``LIGHTCURVEDB_URL``,
``[Credentials]``, the default SQLite file).
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import pathlib

from sqlalchemy.engine import URL, make_url

from lightcurvedb.core.config import ENV_URL, config_path
from lightcurvedb.radio.binding import GROUPS, RadioLayoutError, state_databases

__all__ = ["ENV_RADIO_STATE", "RADIO_SECTION", "RadioLayout", "radio_from_config",
           "resolve_radio_layout"]

#: The environment variable naming the pipeline's state directory.
ENV_RADIO_STATE = "LIGHTCURVEDB_RADIO_STATE"
#: The ``db.conf`` section naming the pipeline's databases.
RADIO_SECTION = "Radio"


@dataclasses.dataclass(frozen=True)
class RadioLayout:
    """The DSA-110 databases a command uses.

    Attributes
    ----------
    databases : dict of str to URL, or None
        The database of each group when they are the pipeline's separate
        databases; None when everything is in one database.
    url : str or None
        The explicit ``--url``: the one database, or with separate databases
        the core lightcurvedb database. None: resolved as
        :func:`lightcurvedb.connect` does.
    origin : str
        Which setting chose the layout (``--state``, ``--url``,
        ``LIGHTCURVEDB_RADIO_STATE``, ...), for messages.
    """

    databases: dict[str, URL] | None
    url: str | None
    origin: str

    @property
    def separate(self) -> bool:
        """Whether the groups are the pipeline's own databases (nothing migrated)."""
        return self.databases is not None


def _sqlite_file(url: URL) -> pathlib.Path | None:
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return pathlib.Path(database).expanduser()


def radio_from_config(path: str | os.PathLike[str]) -> dict[str, URL] | None:
    """Read the ``[Radio]`` section of a ``db.conf`` file.

    Parameters
    ----------
    path : path-like
        The configuration file.

    Returns
    -------
    dict of str to URL, or None
        The database of each group, or None if the file has no ``[Radio]`` section.

    Raises
    ------
    RadioLayoutError
        Naming the file: an unknown key, a ``state`` that is not an absolute
        directory holding the four files, a URL that cannot be parsed, a
        SQLite file that does not exist, or groups left without a database.
    """
    path = pathlib.Path(path)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise RadioLayoutError(f"{path}: not a valid config file: {exc}") from None
    if not parser.has_section(RADIO_SECTION):
        return None
    section = parser[RADIO_SECTION]
    unknown = sorted(set(section) - {"state", *GROUPS})
    if unknown:
        raise RadioLayoutError(f"{path}: unknown key(s) in [{RADIO_SECTION}]: "
                               f"{', '.join(unknown)}; expected state, {', '.join(GROUPS)}")
    databases: dict[str, URL] = {}
    state = section.get("state", "").strip()
    if state:
        directory = pathlib.Path(state).expanduser()
        if not directory.is_absolute():
            raise RadioLayoutError(f"{path}: [{RADIO_SECTION}] state must be an absolute "
                                   f"directory, got {state!r}")
        try:
            databases = state_databases(directory)
        except RadioLayoutError as exc:
            raise RadioLayoutError(f"{path}: [{RADIO_SECTION}] state: {exc}") from None
    for group in GROUPS:
        text = section.get(group, "").strip()
        if not text:
            continue
        try:
            url = make_url(text)
        except Exception as exc:  # sqlalchemy's ArgumentError is terse
            raise RadioLayoutError(f"{path}: [{RADIO_SECTION}] {group}: cannot parse "
                                   f"database URL {text!r}: {exc}") from None
        file = _sqlite_file(url)
        if file is not None and not file.is_file():
            raise RadioLayoutError(f"{path}: [{RADIO_SECTION}] {group}: {file} does not exist "
                                   "(the pipeline creates it; nothing was created)")
        databases[group] = url
    missing = [group for group in GROUPS if group not in databases]
    if missing:
        raise RadioLayoutError(f"{path}: [{RADIO_SECTION}] names no database for "
                               f"{', '.join(missing)}: give state = DIR, or a URL for each of "
                               f"{', '.join(GROUPS)}")
    return databases


def resolve_radio_layout(state: str | os.PathLike[str] | None = None,
                         url: str | None = None) -> RadioLayout:
    """Decide where the DSA-110 tables are, following the precedence above.

    Parameters
    ----------
    state : path-like, optional
        ``--state``: the pipeline's state directory.
    url : str, optional
        ``--url``: one database for everything (or, with ``state``, the core
        database).

    Returns
    -------
    RadioLayout

    Raises
    ------
    RadioLayoutError
        If the chosen state directory lacks a file, or ``db.conf``'s
        ``[Radio]`` section cannot be used (one line, naming the file).
    """
    if state is not None:
        return RadioLayout(state_databases(state), url, "--state")
    if url is not None:
        return RadioLayout(None, url, "--url")
    from_environment = os.environ.get(ENV_RADIO_STATE)
    if from_environment:
        try:
            return RadioLayout(state_databases(from_environment), None, ENV_RADIO_STATE)
        except RadioLayoutError as exc:
            raise RadioLayoutError(f"{ENV_RADIO_STATE}: {exc}") from None
    if os.environ.get(ENV_URL):
        return RadioLayout(None, None, ENV_URL)
    config = config_path()
    databases = radio_from_config(config) if config.is_file() else None
    if databases is not None:
        return RadioLayout(databases, None, f"{config} [{RADIO_SECTION}]")
    return RadioLayout(None, None, "lightcurvedb.connect")
