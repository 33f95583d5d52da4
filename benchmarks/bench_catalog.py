"""Scalar catalog ingest: lightcurvedb's write paths against raw driver code.

Usage::

    python benchmarks/bench_catalog.py [--rows 1000000] [--orm-rows 20000]
        [--backend postgresql|sqlite|both] [--url URL] [--json out.json]

The table, ``bench_catalog`` (created here, in its own MetaData), has 13
columns named after a DESI FastSpecFit catalog: ``targetid`` (int64 primary
key), ``healpix`` (int32), ten float64 columns (``ra``, ``dec``, ``z``,
``rchi2``, ``vdisp``, ``av``, ``age``, ``zzsun``, ``logmstar``, ``sfr``) and a
short text column ``survey``. The rows are generated once (fixed seed) as a
numpy structured array, the form a FITS table reader hands over, and every
path starts from that array; whatever conversion a path needs is timed.

Paths: ``orm`` (``session.add_all`` of ``--orm-rows`` objects + commit), ``core``
(``connection.execute(insert(table), [dict, ...])`` per 100,000 rows, one
transaction), ``copy_rows`` (the structured array as is), ``copy_rows_tuples``
(``array.tolist()`` handed to copy_rows), ``fits_loader``
(:func:`lightcurvedb.loaders.catalog.load_fits_catalog` of a FITS file holding
the same rows, validation included; also compared, as operation ``load``, with
``raw_fits_read``: astropy reading every column of that file) and the raw
baseline: ``raw_copy`` on
PostgreSQL (binary COPY stream encoded here with numpy, on a plain psycopg
connection) with ``psycopg_write_row`` (psycopg's own ``Copy.write_row``) as a
second reference, ``raw_sqlite`` on SQLite (``sqlite3`` executemany of
``array.tolist()``). Every path is verified: rows counted and read back,
compared with the input; a mismatch exits with status 1.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import _common
import _rawpg
import numpy as np
import sqlalchemy as sa
from _common import Bench, BenchmarkError, Result
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from lightcurvedb.bulk import copy_rows

CHUNK_ROWS = 100_000
#: Rows (~1 MB of COPY stream) the raw path encodes per write(): the server works on
#: one chunk while the next is encoded.
RAW_CHUNK_ROWS = 10_000
WARMUP_ROWS = 100
FLOATS = ("ra", "dec", "z", "rchi2", "vdisp", "av", "age", "zzsun", "logmstar", "sfr")
NUMERIC = ("targetid", "healpix", *FLOATS)
COLUMNS = (*NUMERIC, "survey")  # the text column last: the raw encoder wants it there
SURVEYS = np.array(["main", "sv1", "sv3", "cmx", "spec"])


class BenchBase(DeclarativeBase):
    """Declarative base of the benchmark's own table (not part of lightcurvedb's schema)."""

    metadata = sa.MetaData()


class BenchCatalogRow(BenchBase):
    """One galaxy of a FastSpecFit-like catalog."""

    __tablename__ = "bench_catalog"

    targetid: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    healpix: Mapped[int] = mapped_column(sa.Integer)
    ra: Mapped[float] = mapped_column(sa.Double)
    dec: Mapped[float] = mapped_column(sa.Double)
    z: Mapped[float] = mapped_column(sa.Double)
    rchi2: Mapped[float] = mapped_column(sa.Double)
    vdisp: Mapped[float] = mapped_column(sa.Double)
    av: Mapped[float] = mapped_column(sa.Double)
    age: Mapped[float] = mapped_column(sa.Double)
    zzsun: Mapped[float] = mapped_column(sa.Double)
    logmstar: Mapped[float] = mapped_column(sa.Double)
    sfr: Mapped[float] = mapped_column(sa.Double)
    survey: Mapped[str] = mapped_column(sa.String(8))


TABLE: sa.Table = BenchCatalogRow.__table__  # type: ignore[assignment]


def make_catalog(rows: int, seed: int) -> np.ndarray:
    """Noisy catalog rows as a structured array (fields in :data:`COLUMNS` order)."""
    rng = np.random.default_rng(seed)
    dtype = [("targetid", "<i8"), ("healpix", "<i4"), *((f, "<f8") for f in FLOATS),
             ("survey", "U4")]
    cat = np.empty(rows, dtype=dtype)
    cat["targetid"] = 39_627_400_000_000_000 + np.arange(rows)
    cat["healpix"] = rng.integers(0, 12 * 64**2, rows)
    cat["ra"] = rng.uniform(0.2, 359.8, rows)
    cat["dec"] = np.degrees(np.arcsin(rng.uniform(-0.5075, 0.9999, rows)))
    cat["z"] = rng.uniform(0.001, 0.45, rows)
    for name, (low, high) in {"rchi2": (0.5, 3.0), "vdisp": (50, 350), "av": (0, 2),
                              "age": (0.1, 13), "zzsun": (-1, 0.5), "logmstar": (6, 13),
                              "sfr": (-3, 2)}.items():
        cat[name] = rng.uniform(low, high, rows)
    cat["survey"] = SURVEYS[rng.integers(0, len(SURVEYS), rows)]
    return cat


def payload_bytes(cat: np.ndarray) -> int:
    """Bytes of the values as stored: 8 per int64/float64, 4 per int32, UTF-8 text."""
    text = int(np.char.str_len(cat["survey"]).sum())
    return len(cat) * (8 + 4 + 8 * len(FLOATS)) + text


# Writes: each takes the structured array (the whole input or a prefix) -------------


def write_orm(bench: Bench, cat: np.ndarray) -> None:
    with Session(bench.engine) as session:
        session.add_all([BenchCatalogRow(**dict(zip(COLUMNS, row, strict=True)))
                         for row in cat.tolist()])
        session.commit()


def write_core(bench: Bench, cat: np.ndarray) -> None:
    with bench.engine.begin() as connection:
        for start in range(0, len(cat), CHUNK_ROWS):
            rows = [dict(zip(COLUMNS, row, strict=True))
                    for row in cat[start:start + CHUNK_ROWS].tolist()]
            connection.execute(sa.insert(TABLE), rows)


def write_copy_rows(bench: Bench, cat: np.ndarray) -> None:
    copy_rows(bench.engine, TABLE, cat)


def write_copy_rows_tuples(bench: Bench, cat: np.ndarray) -> None:
    copy_rows(bench.engine, TABLE, cat.tolist(), columns=COLUMNS)


def write_raw_copy(bench: Bench, cat: np.ndarray) -> None:
    conn, cols = bench.raw, ", ".join(COLUMNS)
    with conn.transaction(), conn.cursor() as cursor, \
            cursor.copy(f"COPY bench_catalog ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(_rawpg.SIGNATURE)
        for start in range(0, len(cat), RAW_CHUNK_ROWS):
            chunk = cat[start:start + RAW_CHUNK_ROWS]
            copy.write(_rawpg.encode_scalar_rows([chunk[c] for c in NUMERIC],
                                                 chunk["survey"]).data)
        copy.write(_rawpg.TRAILER)


def write_psycopg_write_row(bench: Bench, cat: np.ndarray) -> None:
    conn, cols = bench.raw, ", ".join(COLUMNS)
    with conn.transaction(), conn.cursor() as cursor, \
            cursor.copy(f"COPY bench_catalog ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "int4", *(["float8"] * len(FLOATS)), "text"])
        for start in range(0, len(cat), CHUNK_ROWS):
            for row in cat[start:start + CHUNK_ROWS].tolist():
                copy.write_row(row)


def write_raw_sqlite(bench: Bench, cat: np.ndarray) -> None:
    sql = (f"INSERT INTO bench_catalog ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in COLUMNS)})")
    with bench.raw:
        for start in range(0, len(cat), CHUNK_ROWS):
            bench.raw.executemany(sql, cat[start:start + CHUNK_ROWS].tolist())


def write_fits_files(directory: Path, cat: np.ndarray) -> dict[int, Path]:
    """Write the catalog (and a warm-up prefix) as FITS files: {rows: path}."""
    from astropy.table import Table

    files: dict[int, Path] = {}
    for rows in {len(cat), min(len(cat), WARMUP_ROWS)}:
        table = Table(cat[:rows])
        table["survey"] = table["survey"].astype("S4")  # FITS 4A
        for name in table.colnames:
            table.rename_column(name, name.upper())
        files[rows] = directory / f"fastspec_{rows}.fits"
        table.write(files[rows], format="fits", overwrite=True)
    return files


def make_fits_writer(files: dict[int, Path]) -> Callable[[Bench, np.ndarray], None]:
    """The loader path: :func:`~lightcurvedb.loaders.catalog.load_fits_catalog` of the file."""
    from lightcurvedb.loaders.catalog import load_fits_catalog

    def write_fits_loader(bench: Bench, part: np.ndarray) -> None:
        load_fits_catalog(bench.engine, files[len(part)], TABLE)

    return write_fits_loader


def raw_fits_read(path: Path) -> int:
    """astropy reads every column of the FITS table into numpy: the loader's raw read."""
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        data = hdul[1].data
        columns = [np.asarray(data[name]) for name in data.columns.names]
    return len(columns[0])


# Checks and driver ------------------------------------------------------------------


def check_written(bench: Bench, cat: np.ndarray, path: str) -> int:
    """Raise :class:`BenchmarkError` unless the table holds exactly the rows of ``cat``.

    Returns the number of rows read back and checked.
    """
    query = f"SELECT {', '.join(COLUMNS)} FROM bench_catalog ORDER BY targetid"
    if bench.backend == "postgresql":
        with bench.raw.transaction(), bench.raw.cursor(binary=True) as cursor:
            rows = cursor.execute(query).fetchall()
    else:
        rows = bench.raw.execute(query).fetchall()
    if len(rows) != len(cat):
        raise BenchmarkError(f"catalog/{path} wrote {len(rows)} rows, expected {len(cat)}")
    got = np.array(rows, dtype=cat.dtype)
    for name in COLUMNS:
        if not np.array_equal(got[name], cat[name]):
            bad = int(np.flatnonzero(got[name] != cat[name])[0])
            raise BenchmarkError(f"catalog/{path}: column {name} differs from the input "
                                 f"(row {bad}: {got[name][bad]!r} != {cat[name][bad]!r})")
    return len(rows)


def run_backend(bench: Bench, args: argparse.Namespace, cat: np.ndarray, fits_dir: Path | None
                ) -> list[Result]:
    """Time every write path on one database."""
    backend, engine = bench.backend, bench.engine
    BenchBase.metadata.drop_all(engine)
    BenchBase.metadata.create_all(engine)
    tables = [TABLE]
    paths: dict[str, Callable[[Bench, np.ndarray], None]] = {
        "orm": write_orm, "core": write_core, "copy_rows": write_copy_rows,
        "copy_rows_tuples": write_copy_rows_tuples}
    if fits_dir is not None:
        from lightcurvedb.models.validation import CatalogValidation

        validation: sa.Table = CatalogValidation.__table__  # type: ignore[assignment]
        _common.refuse_existing_rows(engine, [validation])  # the path truncates it
        fits_files = write_fits_files(fits_dir, cat)
        paths["fits_loader"] = make_fits_writer(fits_files)
        tables.append(validation)
    if backend == "postgresql":
        paths |= {"psycopg_write_row": write_psycopg_write_row, "raw_copy": write_raw_copy}
        raw = "raw_copy"
    else:
        paths["raw_sqlite"] = write_raw_sqlite
        raw = "raw_sqlite"
    results = []
    for path, write in paths.items():
        part = cat[:args.orm_rows] if path == "orm" else cat

        def empty() -> None:
            _common.truncate(engine, tables)

        empty()
        write(bench, cat[:min(len(part), WARMUP_ROWS)])
        seconds, _ = _common.best_time(partial(write, bench, part),
                                       repeat=args.repeat, before=empty)
        verified = check_written(bench, part, path)
        results.append(Result(backend, "catalog", "write", path, len(part),
                              payload_bytes(part), seconds, None if path == raw else raw,
                              verified_rows=verified,
                              note=f"{len(part):,} rows" if path == "orm" else ""))
    if fits_dir is not None:   # the loader against astropy reading the same file
        path = fits_files[len(cat)]
        raw_fits_read(path)
        seconds, rows = _common.best_time(partial(raw_fits_read, path), repeat=args.repeat)
        loader = next(r for r in results if r.path == "fits_loader")
        results += [Result(backend, "catalog", "load", "raw_fits_read", rows,
                           payload_bytes(cat), seconds, verified_rows=rows),
                    Result(backend, "catalog", "load", "fits_loader", loader.rows,
                           loader.payload_bytes, loader.seconds, "raw_fits_read",
                           verified_rows=loader.verified_rows,
                           note="the write above, against the raw read")]
    if not args.keep:
        BenchBase.metadata.drop_all(engine)
    return results


def fits_loader_available() -> bool:
    """Whether this lightcurvedb has the FITS catalog loader."""
    try:
        from lightcurvedb.loaders.catalog import load_fits_catalog  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="catalog rows (default 1,000,000)")
    parser.add_argument("--orm-rows", type=int, default=20_000,
                        help="rows written through the ORM (default 20,000)")
    parser.add_argument("--skip-fits", action="store_true", help="leave out the FITS loader")
    parser.add_argument("--keep", action="store_true",
                        help="leave the benchmark's table and rows in the database")
    _common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.rows < 1 or args.orm_rows < 1:
        parser.error("--rows and --orm-rows must be positive")
    args.orm_rows = min(args.orm_rows, args.rows)
    cat = make_catalog(args.rows, args.seed)
    results: list[Result] = []
    databases: dict[str, Any] = {}
    use_fits = not args.skip_fits and fits_loader_available()
    with tempfile.TemporaryDirectory(prefix="lcdb-bench-fits-") as fits_dir, \
            _common.database_urls(args) as urls:
        for backend, url in urls.items():
            with Bench.open(url) as bench:
                results += run_backend(bench, args, cat, Path(fits_dir) if use_fits else None)
                databases[backend] = _common.database_info(bench.engine)
    title = (f"catalog: {args.rows:,} rows x 13 columns (ORM: {args.orm_rows:,}), best of "
             f"{args.repeat}; MB = 10^6 value bytes ({payload_bytes(cat[:1000]) / 1000:.0f} "
             "per row)")
    return _common.report("catalog", args, title, results, databases,
                          {"write": ["copy_rows", "copy_rows_tuples"]})

if __name__ == "__main__":
    _common.run_main(main)
