"""Throwaway PostgreSQL servers for test suites.

:class:`TemporaryPostgres` runs ``initdb`` and ``pg_ctl`` from the local
PostgreSQL binaries to start a private server on 127.0.0.1. Its data directory
is deleted when it stops. When the current process runs as root, the server runs as
the ``postgres`` system user (or ``nobody``), because PostgreSQL refuses to run as root.

Examples
--------
>>> with TemporaryPostgres() as pg:  # doctest: +SKIP
...     pg.create_database("demo")
...     engine = sqlalchemy.create_engine(pg.url("demo"))
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

__all__ = ["PostgresUnavailable", "TemporaryPostgres", "find_postgres_bindir"]

_ENV_BINDIR = "LIGHTCURVEDB_PG_BINDIR"


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL server binaries (``initdb``, ``pg_ctl``) were found."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (-1,)


def find_postgres_bindir() -> Path | None:
    """Locate the directory holding the PostgreSQL server binaries.

    Returns
    -------
    pathlib.Path or None
        ``$LIGHTCURVEDB_PG_BINDIR`` if set; otherwise ``pg_config --bindir`` when
        ``pg_config`` is on ``PATH`` and that directory holds ``initdb``; otherwise
        the newest ``/usr/lib/postgresql/*/bin`` holding ``initdb``; otherwise None.
    """
    env = os.environ.get(_ENV_BINDIR)
    if env:
        return Path(env)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and (Path(out) / "initdb").is_file():
            return Path(out)
    candidates = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").is_file()]
    return max(candidates, key=_version_key) if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _default_user() -> str:
    return "postgres" if "postgres" in {p.pw_name for p in pwd.getpwall()} else "nobody"


class TemporaryPostgres:
    """A private, disposable PostgreSQL server listening on 127.0.0.1.

    Parameters
    ----------
    bindir : str or pathlib.Path, optional
        Directory holding ``initdb`` and ``pg_ctl``; default :func:`find_postgres_bindir`.
    port : int, optional
        TCP port to listen on; default a free port on 127.0.0.1.
    user : str, optional
        OS user to run the server as. Default: ``postgres`` (else ``nobody``) when
        running as root, else the current user.

    Raises
    ------
    PostgresUnavailable
        If no PostgreSQL binaries are found in `bindir`.
    """

    host = "127.0.0.1"
    superuser = "postgres"

    def __init__(
        self,
        *,
        bindir: str | os.PathLike[str] | None = None,
        port: int | None = None,
        user: str | None = None,
    ) -> None:
        found = Path(bindir) if bindir is not None else find_postgres_bindir()
        hint = f"install PostgreSQL or set ${_ENV_BINDIR} to the dir holding initdb and pg_ctl"
        if found is None:
            raise PostgresUnavailable(f"PostgreSQL binaries not found; {hint}")
        for exe in ("initdb", "pg_ctl"):
            if not (found / exe).is_file():
                raise PostgresUnavailable(
                    f"PostgreSQL binaries not found: {found / exe} does not exist; {hint}"
                )
        self.bindir = found
        self._auto_port = port is None
        self._port = _free_port() if port is None else int(port)
        current = pwd.getpwuid(os.geteuid()).pw_name
        if user is None:
            user = _default_user() if os.geteuid() == 0 else current
        if user != current and os.geteuid() != 0:
            raise ValueError(f"cannot run the server as {user!r} without root privileges")
        self.user = user
        self._prefix: list[str] = []
        if user != current:
            if shutil.which("runuser"):
                self._prefix = ["runuser", "-u", user, "--"]
            else:
                pw = pwd.getpwnam(user)
                ids = [f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}"]
                self._prefix = ["setpriv", *ids, "--clear-groups", "--"]
        self._tmpdir: Path | None = None
        self._owner_pid: int | None = None

    @property
    def port(self) -> int:
        """int: TCP port the server listens on."""
        return self._port

    @property
    def data_dir(self) -> Path | None:
        """pathlib.Path or None: Data directory of the running server, None if stopped."""
        return None if self._tmpdir is None else self._tmpdir / "data"

    @property
    def running(self) -> bool:
        """bool: Whether :meth:`start` has been called and :meth:`stop` has not."""
        return self._tmpdir is not None

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        assert self._tmpdir is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        cmd = [*self._prefix, str(self.bindir / args[0]), *args[1:]]
        kw: dict[str, Any] = {"cwd": self._tmpdir, "env": env, "stdin": subprocess.DEVNULL}
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)

    def _fail(self, what: str, proc: subprocess.CompletedProcess[str]) -> RuntimeError:
        log = self._tmpdir / "server.log" if self._tmpdir else None
        lines = log.read_text(errors="replace").splitlines() if log and log.exists() else []
        tail = "\n".join(lines[-40:])
        return RuntimeError(
            f"{what} failed (exit {proc.returncode}): {shlex.join(map(str, proc.args))}\n"
            f"stderr:\n{proc.stderr.strip()}\nstdout:\n{proc.stdout.strip()}\n"
            f"server log tail:\n{tail}"
        )

    def start(self) -> TemporaryPostgres:
        """Initialise a fresh cluster and start the server.

        Returns
        -------
        TemporaryPostgres
            ``self``.

        Raises
        ------
        RuntimeError
            If already running, or if ``initdb``/``pg_ctl start`` fails (the message
            holds the command, its stderr and the tail of the server log).
        """
        if self._tmpdir is not None:
            raise RuntimeError("server already running")
        if self._auto_port:
            self._port = _free_port()
        self._tmpdir = Path(tempfile.mkdtemp(prefix="lcdb-pg-"))
        self._owner_pid = os.getpid()
        atexit.register(self._atexit_stop)
        try:
            (self._tmpdir / "sock").mkdir()
            if os.geteuid() == 0:
                pw = pwd.getpwnam(self.user)
                for path in (self._tmpdir, self._tmpdir / "sock"):
                    os.chown(path, pw.pw_uid, pw.pw_gid)
            data, base = str(self._tmpdir / "data"), ["-A", "trust", "-U", self.superuser]
            proc = self._run("initdb", *base, "--encoding=UTF8", "--locale=C.UTF-8", "-D", data)
            if proc.returncode != 0:
                shutil.rmtree(data, ignore_errors=True)
                proc = self._run("initdb", *base, "--encoding=UTF8", "--no-locale", "-D", data)
                if proc.returncode != 0:
                    raise self._fail("initdb", proc)
            opts = (
                f"-p {self._port} -k {shlex.quote(str(self._tmpdir / 'sock'))} "
                "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c max_connections=100"
            )
            log = str(self._tmpdir / "server.log")
            proc = self._run("pg_ctl", "-w", "-t", "60", "-D", data, "-l", log, "start", "-o", opts)
            if proc.returncode != 0:
                raise self._fail("pg_ctl start", proc)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and delete its data directory; harmless if not running."""
        if self._tmpdir is None:
            return
        try:
            data = self._tmpdir / "data"
            for mode in ("fast", "immediate"):  # escalate if a fast shutdown fails
                if not (data / "postmaster.pid").exists():
                    break
                if self._run("pg_ctl", "-D", str(data), "-m", mode, "-w", "stop").returncode == 0:
                    break
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            atexit.unregister(self._atexit_stop)

    def _atexit_stop(self) -> None:
        # A forked child inherits the atexit hook; only the starting process may stop.
        if os.getpid() == self._owner_pid:
            self.stop()

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, database: str = "postgres", driver: str = "psycopg",
            user: str | None = None) -> URL:
        """Build an SQLAlchemy URL for a database on this server.

        Parameters
        ----------
        database : str, default "postgres"
            Database name.
        driver : str, default "psycopg"
            SQLAlchemy DBAPI driver name, e.g. ``"psycopg"`` or ``"psycopg2"``.
        user : str, optional
            Role to connect as (no password: the server trusts local
            connections); default the superuser.

        Returns
        -------
        sqlalchemy.engine.URL
            ``postgresql+{driver}://{user}@127.0.0.1:{port}/{database}``.
        """
        user, host, port = user or self.superuser, self.host, self._port
        return URL.create(f"postgresql+{driver}", user, None, host, port, database)

    def run_sql(
        self, query: str | sql.Composable, database: str = "postgres", params: Any = None
    ) -> list[tuple[Any, ...]]:
        """Execute one statement in autocommit mode as the superuser.

        Parameters
        ----------
        query : str or psycopg.sql.Composable
            The statement.
        database : str, default "postgres"
            Database to connect to.
        params : sequence or mapping, optional
            Query parameters.

        Returns
        -------
        list of tuple
            Result rows; empty if the statement returns none.
        """
        if self._tmpdir is None:
            raise RuntimeError("server is not running")
        with psycopg.connect(
            host=self.host, port=self._port, user=self.superuser, dbname=database, autocommit=True
        ) as conn:
            cur = conn.execute(query, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def create_database(self, name: str, template: str | None = None,
                        owner: str | None = None) -> None:
        """Create database `name`, optionally copied from database `template`.

        Parameters
        ----------
        name : str
            New database name.
        template : str, optional
            Name of the template database.
        owner : str, optional
            Role that owns the new database (default: the superuser).
        """
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        if owner is not None:
            stmt += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        self.run_sql(stmt)

    def create_role(self, name: str) -> None:
        """Create login role `name` without superuser or role/database creation, if missing.

        The role can own a database (:meth:`create_database` with ``owner``)
        as on a managed PostgreSQL service; it cannot create untrusted
        extensions such as PostGIS or q3c.

        Parameters
        ----------
        name : str
            Role name.
        """
        if not self.run_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", params=(name,)):
            self.run_sql(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB")
                         .format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, terminating its connections.

        Parameters
        ----------
        name : str
            Database name.
        """
        stmt = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self.run_sql(stmt.format(sql.Identifier(name)))
