"""Where lightcurvedb finds its database.

Precedence, first match wins:

1. an explicit URL passed to :func:`lightcurvedb.connect`;
2. the ``LIGHTCURVEDB_URL`` environment variable;
3. the ``[Credentials]`` section of ``~/.config/lightcurvedb/db.conf``
   (``$XDG_CONFIG_HOME`` is honoured; a file with only a ``[Radio]``
   section, which :mod:`lightcurvedb.radio.layout` reads, is passed over);
4. a SQLite file in the user's data directory
   (``$XDG_DATA_HOME/lightcurvedb/lightcurvedb.sqlite3``, by default
   ``~/.local/share/lightcurvedb/lightcurvedb.sqlite3``).

Plain ``postgresql://`` URLs use the psycopg 3 driver; ``postgresql+psycopg2://``
keeps working for code that names psycopg2.
"""

from __future__ import annotations

import configparser
import os
import pathlib
import stat
import warnings

from sqlalchemy.engine import URL, make_url

__all__ = [
    "ConfigurationError",
    "InsecureConfigWarning",
    "config_path",
    "default_sqlite_path",
    "resolve_url",
    "url_from_config",
]

ENV_URL = "LIGHTCURVEDB_URL"
_CREDENTIAL_KEYS = ("username", "password", "database_name", "database_host", "database_port",
                    "dialect")
#: ``dialect`` values of ``[Credentials]`` (the earlier package's key) and the driver each means.
_DIALECTS = {"postgresql": "postgresql+psycopg", "postgresql+psycopg": "postgresql+psycopg",
             "postgresql+psycopg2": "postgresql+psycopg2"}


class ConfigurationError(ValueError):
    """The database configuration cannot be used (bad URL, bad config file)."""


class InsecureConfigWarning(UserWarning):
    """The credentials file can be read by users other than its owner."""


def config_path() -> pathlib.Path:
    """Return the path of the credentials file (it need not exist)."""
    base = os.environ.get("XDG_CONFIG_HOME") or pathlib.Path.home() / ".config"
    return pathlib.Path(base) / "lightcurvedb" / "db.conf"


def default_sqlite_path() -> pathlib.Path:
    """Return the path of the embedded default SQLite database (it need not exist)."""
    base = os.environ.get("XDG_DATA_HOME") or pathlib.Path.home() / ".local" / "share"
    return pathlib.Path(base) / "lightcurvedb" / "lightcurvedb.sqlite3"


def url_from_config(path: str | os.PathLike[str]) -> URL:
    """Build a PostgreSQL URL from a ``db.conf`` file's ``[Credentials]`` section.

    Parameters
    ----------
    path : path-like
        The configuration file, e.g.::

            [Credentials]
            username = astro
            password = p@ss:w/rd
            database_name = lightcurves
            database_host = db.example.org
            database_port = 5432

        An optional ``dialect`` key (as in the Kavli package's files) picks
        the driver: ``postgresql+psycopg`` (the default, also for plain
        ``postgresql``) or ``postgresql+psycopg2``.

    Returns
    -------
    sqlalchemy.engine.URL
        A ``postgresql+psycopg`` (or the ``dialect``'s) URL; the password is
        carried as a value, so characters such as ``@ : / %`` need no escaping
        in the file.

    Warns
    -----
    InsecureConfigWarning
        If the file is readable or writable by group or others.

    Raises
    ------
    ConfigurationError
        If the section or a required key is missing, the port is not a number
        or the dialect is not a PostgreSQL driver lightcurvedb installs.
    """
    path = pathlib.Path(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(f"{path} is accessible by group/others (mode {stat.filemode(mode)}); "
                      f"it holds a database password: run 'chmod 600 {path}'",
                      InsecureConfigWarning, stacklevel=2)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigurationError(f"{path}: not a valid config file: {exc}") from None
    if not parser.has_section("Credentials"):
        raise ConfigurationError(f"{path}: no [Credentials] section")
    section = parser["Credentials"]
    missing = [key for key in ("username", "database_name") if not section.get(key)]
    if missing:
        raise ConfigurationError(f"{path}: [Credentials] lacks {', '.join(missing)}")
    unknown = set(section) - set(_CREDENTIAL_KEYS)
    if unknown:
        raise ConfigurationError(f"{path}: unknown key(s) in [Credentials]: "
                                 f"{', '.join(sorted(unknown))}; "
                                 f"expected {', '.join(_CREDENTIAL_KEYS)}")
    port_text = section.get("database_port", "5432")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigurationError(f"{path}: database_port {port_text!r} is not a number") from None
    dialect = section.get("dialect", "postgresql+psycopg").strip()
    if dialect not in _DIALECTS:
        raise ConfigurationError(f"{path}: dialect {dialect!r} is not one of "
                                 f"{', '.join(_DIALECTS)}")
    return URL.create(_DIALECTS[dialect], username=section["username"],
                      password=section.get("password") or None,
                      host=section.get("database_host", "localhost"), port=port,
                      database=section["database_name"])


def _radio_only(path: pathlib.Path) -> bool:
    """Whether the file names only the DSA-110 databases (``[Radio]``, no ``[Credentials]``)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return False      # url_from_config reports it
    return parser.has_section("Radio") and not parser.has_section("Credentials")


def resolve_url(url: str | URL | None = None) -> URL:
    """Decide which database to use, following the precedence above.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL, optional
        An explicit database URL; wins over every other setting.

    Returns
    -------
    sqlalchemy.engine.URL
        The URL, with plain ``postgresql://`` mapped to the psycopg 3 driver.

    Raises
    ------
    ConfigurationError
        If the URL cannot be parsed or the config file is unusable.
    """
    if url is None:
        url = os.environ.get(ENV_URL) or None
    if url is None and config_path().is_file() and not _radio_only(config_path()):
        return url_from_config(config_path())
    if url is None:
        return URL.create("sqlite", database=str(default_sqlite_path()))
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise ConfigurationError(f"cannot parse database URL {str(url)!r}: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed
