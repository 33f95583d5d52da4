"""Plumbing shared by the benchmark scripts: databases, timing, checks and reports.

Nothing here is benchmarked itself. The scripts import it as a sibling module
(``python benchmarks/bench_*.py`` puts ``benchmarks/`` on ``sys.path``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

import lightcurvedb
from lightcurvedb import migrations

BACKENDS = ("postgresql", "sqlite")

#: Ratio (path rate / raw rate) each library path should reach, from issue 6.
TARGETS = {"postgresql": 0.8, "sqlite": 0.5}


class BenchmarkError(RuntimeError):
    """A path wrote or read something other than the benchmark's input."""


@dataclass
class Result:
    """One timed path: how many rows and payload bytes moved in how many seconds."""

    backend: str
    workload: str
    operation: str  # "write" or "read"
    path: str
    rows: int
    payload_bytes: int
    seconds: float
    baseline: str | None = None  # the raw path this one is compared with
    ratio: float | None = None  # rate of this path / rate of the baseline
    verified_rows: int = 0  # rows found in the database / returned, checked against the input
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        """Rows per second."""
        return self.rows / self.seconds if self.seconds > 0 else float("inf")

    @property
    def mb_per_s(self) -> float:
        """Payload megabytes (10**6 bytes) per second."""
        return self.payload_bytes / 1e6 / self.seconds if self.seconds > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data, rates included."""
        out = asdict(self)
        out["rows_per_s"] = self.rows_per_s
        out["mb_per_s"] = self.mb_per_s
        return out


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options both scripts share."""
    parser.add_argument("--backend", choices=[*BACKENDS, "both"], default="both",
                        help="database(s) to benchmark (default: both)")
    parser.add_argument("--url", help="PostgreSQL URL of an empty database to use (default: "
                        "start a throwaway server from the local PostgreSQL binaries)")
    parser.add_argument("--sqlite-page-size", type=int, default=None,
                        help="page size of the temporary SQLite file (default: SQLite's)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time each path this many times and keep the best (default 1)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--seed", type=int, default=20240601, help="random seed of the data")


def selected_backends(args: argparse.Namespace) -> list[str]:
    """Return the backends chosen with ``--backend``."""
    return list(BACKENDS) if args.backend == "both" else [args.backend]


@contextlib.contextmanager
def database_urls(args: argparse.Namespace) -> Iterator[dict[str, URL]]:
    """Yield ``{backend: URL}`` for fresh databases, removed afterwards.

    PostgreSQL: ``--url`` if given, else a database on a :class:`TemporaryPostgres`
    started here. SQLite: a file in a temporary directory.
    """
    urls: dict[str, URL] = {}
    with contextlib.ExitStack() as stack:
        backends = selected_backends(args)
        if "postgresql" in backends:
            if args.url:
                urls["postgresql"] = make_url(args.url)
            else:
                from lightcurvedb.testing.postgres import PostgresUnavailable, TemporaryPostgres

                try:
                    server = stack.enter_context(TemporaryPostgres())
                except PostgresUnavailable as exc:
                    raise SystemExit(f"{exc}; or give --url, or use --backend sqlite") from exc
                server.create_database("lcdb_bench")
                urls["postgresql"] = server.url("lcdb_bench")
        if "sqlite" in backends:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lcdb-bench-")))
            path = directory / "bench.sqlite3"
            if args.sqlite_page_size:
                with contextlib.closing(sqlite3.connect(path)) as raw:
                    raw.execute(f"PRAGMA page_size = {int(args.sqlite_page_size)}")
                    raw.execute("VACUUM")
            urls["sqlite"] = URL.create("sqlite", database=str(path))
        yield urls


@dataclass
class Bench:
    """A migrated database: its engine and one plain driver connection for the raw paths.

    The raw connection (psycopg 3 or :mod:`sqlite3`, no SQLAlchemy) is opened
    once, outside the timings, as the engine's pooled connections are; raw
    paths end their transaction so it never holds a lock between paths.
    """

    engine: Engine
    url: URL
    raw: Any

    @property
    def backend(self) -> str:
        """``postgresql`` or ``sqlite``."""
        return self.engine.dialect.name

    @classmethod
    @contextlib.contextmanager
    def open(cls, url: URL) -> Iterator[Bench]:
        """Migrate the database of ``url`` and yield it; close everything afterwards."""
        engine = migrated_engine(url)
        raw = raw_psycopg(url) if engine.dialect.name == "postgresql" else raw_sqlite(url)
        try:
            yield cls(engine, url, raw)
        finally:
            raw.close()
            engine.dispose()


def migrated_engine(url: URL) -> Engine:
    """Connect with :func:`lightcurvedb.connect` and apply every migration."""
    engine = lightcurvedb.connect(url)
    migrations.upgrade(engine)
    return engine


def refuse_existing_rows(engine: Engine, tables: Sequence[sa.Table]) -> None:
    """Stop if a lightcurvedb table the benchmark truncates already holds rows."""
    with engine.connect() as connection:
        for table in tables:
            if connection.scalar(sa.select(sa.func.count()).select_from(table)):
                raise SystemExit(f"{table.name} already has rows in {engine.url!r}; the "
                                 "benchmark truncates it: give --url an empty database")


def truncate(engine: Engine, tables: Sequence[sa.Table]) -> None:
    """Empty ``tables`` and restart their id sequences (SQLite: delete and vacuum)."""
    if engine.dialect.name == "postgresql":
        names = ", ".join(engine.dialect.identifier_preparer.format_table(t) for t in tables)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        checkpoint(engine)
        return
    with engine.begin() as connection:
        for table in tables:
            connection.execute(table.delete())
    with contextlib.closing(raw_sqlite(engine.url)) as raw:
        raw.isolation_level = None
        raw.execute("VACUUM")


def checkpoint(engine: Engine) -> None:
    """Flush dirty pages before a timed write (PostgreSQL; skipped without the right)."""
    with engine.connect() as connection:
        try:
            connection.exec_driver_sql("CHECKPOINT")
        except sa.exc.DBAPIError:
            connection.rollback()


def set_array_storage(engine: Engine, table: str, columns: Sequence[str], storage: str,
                      like: tuple[str, str]) -> None:
    """Give ``columns`` of ``table`` a PostgreSQL storage (nothing on SQLite).

    ``storage`` is ``extended``, ``external`` or ``main``, or ``dataset`` for the
    storage and compression of the column ``like`` (table, column).
    """
    if engine.dialect.name != "postgresql":
        return
    compression = None
    with engine.begin() as connection:
        if storage == "dataset":
            code, compression_code = connection.execute(sa.text(
                "SELECT attstorage, attcompression FROM pg_attribute WHERE "
                "attrelid = to_regclass(:t) AND attname = :c"),
                {"t": like[0], "c": like[1]}).one()
            storage = {"x": "extended", "e": "external", "m": "main", "p": "plain"}[code]
            compression = {"p": "pglz", "l": "lz4"}.get(compression_code.strip("\x00"))
        for column in columns:
            alter = f'ALTER TABLE "{table}" ALTER COLUMN "{column}"'
            connection.exec_driver_sql(f"{alter} SET STORAGE {storage.upper()}")
            if compression:
                connection.exec_driver_sql(f"{alter} SET COMPRESSION {compression}")


def vacuum_analyze(engine: Engine) -> None:
    """Set hint bits and statistics after a load, before timing reads."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql"
                                   else "ANALYZE")


def best_time(run: Callable[[], Any], *, repeat: int, before: Callable[[], Any] | None = None
              ) -> tuple[float, Any]:
    """Run ``run`` ``repeat`` times (``before`` untimed ahead of each); best seconds, last value."""
    best, value = float("inf"), None
    for _ in range(max(1, repeat)):
        if before is not None:
            before()
        start = time.perf_counter()
        value = run()
        best = min(best, time.perf_counter() - start)
    return best, value


def raw_psycopg(url: URL) -> Any:
    """Open a plain psycopg 3 connection (no SQLAlchemy) to the database of ``url``."""
    import psycopg

    return psycopg.connect(host=url.host, port=url.port, user=url.username,
                           password=url.password, dbname=url.database)


def raw_sqlite(url: URL) -> sqlite3.Connection:
    """Open a plain :mod:`sqlite3` connection to the file of ``url``."""
    assert url.database
    return sqlite3.connect(url.database)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """CPU count, platform and the versions of the libraries that matter."""
    import psycopg

    return {"cores": os.cpu_count(), "platform": platform.platform(),
            "machine": platform.machine(), "python": platform.python_version(),
            "numpy": _version("numpy"), "sqlalchemy": _version("sqlalchemy"),
            "psycopg": _version("psycopg"), "psycopg_impl": psycopg.pq.__impl__,
            "lightcurvedb": _version("lightcurvedb"), "sqlite": sqlite3.sqlite_version}


_PG_SETTINGS = ("server_version", "block_size", "shared_buffers", "fsync", "synchronous_commit",
                "full_page_writes", "wal_level", "max_wal_size", "default_toast_compression")


def database_info(engine: Engine, array_columns: Sequence[tuple[str, str]] = ()
                  ) -> dict[str, Any]:
    """Settings of the database, and on PostgreSQL the storage of ``array_columns``.

    ``array_columns`` are ``(table, column)`` pairs; for each, ``attstorage``
    (``x`` extended = compressed and out of line, ``e`` external = out of line
    uncompressed, ``m`` main, ``p`` plain) and ``attcompression`` (``p`` pglz,
    ``l`` lz4, empty = ``default_toast_compression``) are reported.
    """
    info: dict[str, Any] = {"dialect": engine.dialect.name}
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            for pragma in ("page_size", "journal_mode", "synchronous", "cache_size"):
                info[pragma] = connection.exec_driver_sql(f"PRAGMA {pragma}").scalar()
            info["sqlite_version"] = sqlite3.sqlite_version
            return info
        for name in _PG_SETTINGS:
            info[name] = connection.exec_driver_sql(f"SHOW {name}").scalar()
        storage = {}
        for table, column in array_columns:  # the table and, if partitioned, its partitions
            rows = connection.execute(sa.text(
                "SELECT c.relname, a.attstorage, a.attcompression FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid WHERE a.attname = :c AND (a.attrelid "
                "= to_regclass(:t) OR a.attrelid IN (SELECT relid FROM "
                "pg_partition_tree(to_regclass(:t)))) ORDER BY 1"),
                {"t": table, "c": column}).all()
            for relname, attstorage, attcompression in rows:
                storage[f"{relname}.{column}"] = {"attstorage": attstorage,
                                                  "attcompression": attcompression.strip("\x00")}
        info["array_storage"] = storage
    return info


def fill_ratios(results: Sequence[Result]) -> None:
    """Set each result's ``ratio``: its rows/s over its baseline's (same backend, workload)."""
    by_key = {(r.backend, r.workload, r.operation, r.path): r for r in results}
    for result in results:
        if result.baseline:
            raw = by_key.get((result.backend, result.workload, result.operation, result.baseline))
            if raw is not None:
                result.ratio = result.rows_per_s / raw.rows_per_s  # rows may differ (ORM)


def print_table(title: str, results: Sequence[Result], file: Any = sys.stdout) -> None:
    """Print the results as an aligned text table."""
    header = ("backend", "workload", "op", "path", "rows", "seconds", "rows/s", "MB/s",
              "vs raw")
    lines = [header]
    for r in results:
        ratio = "raw" if r.baseline is None and r.path.startswith("raw") else \
            ("-" if r.ratio is None else f"{r.ratio:.2f}x")
        lines.append((r.backend, r.workload, r.operation, r.path + (f" ({r.note})" if r.note
                      else ""), f"{r.rows:,}", f"{r.seconds:.3f}", f"{r.rows_per_s:,.0f}",
                      f"{r.mb_per_s:,.1f}", ratio))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print(f"\n{title}", file=file)
    for n, line in enumerate(lines):
        cells = [cell.ljust(w) if i < 4 else cell.rjust(w)
                 for i, (cell, w) in enumerate(zip(line, widths, strict=True))]
        print("  ".join(cells).rstrip(), file=file)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=file)


def target_checks(results: Sequence[Result], paths: dict[str, Sequence[str]]
                  ) -> list[dict[str, Any]]:
    """Compare the ratios of the library paths with the issue's targets.

    ``paths`` maps an operation (``write``/``read``) to the library paths judged.
    """
    checks = []
    for r in results:
        if r.path in paths.get(r.operation, ()) and r.ratio is not None:
            goal = TARGETS[r.backend]
            checks.append({"backend": r.backend, "workload": r.workload,
                           "operation": r.operation, "path": r.path, "ratio": r.ratio,
                           "target": goal, "met": r.ratio >= goal})
    return checks


def print_targets(checks: Sequence[dict[str, Any]], file: Any = sys.stdout) -> None:
    """Print one line per target check."""
    if not checks:
        return
    print("\ntargets (rate / raw rate; PostgreSQL >= 0.8, SQLite >= 0.5 i.e. within 2x):",
          file=file)
    for c in checks:
        verdict = "met" if c["met"] else "NOT met"
        print(f"  {c['backend']:<10} {c['workload']:<10} {c['operation']:<5} {c['path']:<16} "
              f"{c['ratio']:.2f} (target {c['target']}) {verdict}", file=file)


def write_json(path: Path | None, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON when ``path`` is given."""
    if path is not None:
        path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        print(f"\nJSON written to {path}")


def run_main(main: Callable[[list[str] | None], int]) -> None:
    """Run a script's ``main``; a :class:`BenchmarkError` exits with status 1 and its message."""
    try:
        status = main(None)
    except BenchmarkError as exc:
        print(f"benchmark check failed: {exc}", file=sys.stderr)
        status = 1
    sys.exit(status)


def report(benchmark: str, args: Any, title: str, results: Sequence[Result],
           databases: dict[str, Any], targets: dict[str, Sequence[str]]) -> int:
    """Fill the ratios, print the table and the targets, write the JSON; return 0."""
    fill_ratios(results)
    checks = target_checks(results, targets)
    print_table(title, results)
    print_targets(checks)
    write_json(args.json, {
        "benchmark": benchmark, "parameters": {k: str(v) if k == "json" else v
                                               for k, v in vars(args).items()},
        "machine": machine_info(), "databases": databases,
        "results": [r.to_dict() for r in results], "targets": checks, "verified": True})
    return 0
