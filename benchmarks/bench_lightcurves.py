"""Light-curve I/O: lightcurvedb's write and read paths against raw driver code.

Usage::

    python benchmarks/bench_lightcurves.py [--n 2000] [--points 20000]
        [--backend postgresql|sqlite|both] [--url URL] [--json out.json] [--skip-orm]

Two workloads, on the same noisy float64 data (generated once, fixed seed):

``lightcurve``
    ``bench_lightcurve`` (created here, in its own MetaData): an int key, a
    target id and three ``NumpyArray(float64)`` columns ``time``, ``flux``,
    ``flux_err`` -- the issue's "3 x M points" shape. On PostgreSQL its array
    columns get the storage of ``dataset.values`` (``--array-storage``).
``dataset``
    lightcurvedb's own :class:`~lightcurvedb.models.DataSet` table as the
    migrations built it (``values`` and ``errors``: 2 x M points per row).

Write paths: ``orm`` (``session.add_all`` + commit), ``copy_rows``, and the raw
baseline -- ``raw_copy`` on PostgreSQL (binary COPY stream encoded here with
numpy, sent with ``cursor.copy().write()`` on a plain psycopg connection),
``raw_sqlite`` on SQLite (``sqlite3`` executemany of BLOBs). Read paths:
``orm`` (entities with their arrays), ``read_arrays``, ``read_arrays_flat`` and
the raw baseline (binary psycopg cursor + numpy decode; ``sqlite3`` fetch +
``numpy.frombuffer``). Every path is verified: rows counted, arrays compared
with the input; a mismatch exits with status 1. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import _common
import _rawpg
import numpy as np
import sqlalchemy as sa
from _common import Bench, BenchmarkError, Result
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, undefer_group

from lightcurvedb.bulk import copy_rows, read_arrays, read_arrays_flat
from lightcurvedb.core.types import NumpyArray
from lightcurvedb.models import DataSet, Instrument, Mission, MissionCatalog, Observation, Target
from lightcurvedb.partitions import create_observation_partitions

WARMUP_ROWS = 5
#: Bytes of COPY stream encoded per write() by the raw path: small, so the server
#: works on one chunk while the next is encoded.
RAW_CHUNK_BYTES = 2**20


class BenchBase(DeclarativeBase):
    """Declarative base of the benchmark's own table (not part of lightcurvedb's schema)."""

    metadata = sa.MetaData()


class BenchLightCurve(BenchBase):
    """A light curve of three float64 arrays (time, flux, flux error) per row."""

    __tablename__ = "bench_lightcurve"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(sa.BigInteger)
    time: Mapped[np.ndarray] = mapped_column(NumpyArray(np.float64))
    flux: Mapped[np.ndarray] = mapped_column(NumpyArray(np.float64))
    flux_err: Mapped[np.ndarray] = mapped_column(NumpyArray(np.float64))


@dataclass
class Workload:
    """One table and the rows every path writes into it / reads from it."""

    name: str
    model: type
    scalars: dict[str, np.ndarray]  # int64 per row
    arrays: dict[str, np.ndarray]  # float64, shape (rows, points)
    orm_options: list[Any] = field(default_factory=list)

    @property
    def table(self) -> sa.Table:
        """The table written."""
        return self.model.__table__  # type: ignore[attr-defined,no-any-return]

    @property
    def columns(self) -> list[str]:
        """Columns written, in row order (the id comes from the database)."""
        return [*self.scalars, *self.arrays]

    @property
    def rows(self) -> int:
        """Number of rows."""
        return len(next(iter(self.scalars.values())))

    def payload(self, rows: int) -> int:
        """Array bytes of ``rows`` rows."""
        return sum(a[:rows].nbytes for a in self.arrays.values())

    def tuples(self, rows: int) -> Iterator[tuple[Any, ...]]:
        """Rows as tuples in :attr:`columns` order (arrays are views of the input)."""
        cols = [*self.scalars.values(), *self.arrays.values()]
        for i in range(rows):
            yield tuple(c[i] for c in cols)

    def objects(self, rows: int) -> list[Any]:
        """Rows as new ORM objects (Python ints: sqlite3 would store numpy ints as BLOBs)."""
        scalars = {name: values[:rows].tolist() for name, values in self.scalars.items()}
        return [self.model(**{name: values[i] for name, values in scalars.items()},
                           **{name: values[i] for name, values in self.arrays.items()})
                for i in range(rows)]


def make_data(n: int, points: int, seed: int) -> dict[str, np.ndarray]:
    """Noisy float64 arrays (incompressible): BJD-like times, fluxes and errors."""
    rng = np.random.default_rng(seed)
    cadence = np.arange(points) * (2.0 / 1440.0)
    time = 2_458_325.0 + cadence + rng.normal(0.0, 1e-7, size=(n, points))
    flux = rng.normal(1.0e4, 50.0, size=(n, points))
    flux_err = np.abs(rng.normal(50.0, 5.0, size=(n, points)))
    return {"time": time, "flux": flux, "flux_err": flux_err}


# Writes --------------------------------------------------------------------------


def write_orm(bench: Bench, wl: Workload, rows: int) -> None:
    with Session(bench.engine) as session:
        session.add_all(wl.objects(rows))
        session.commit()


def write_copy_rows(bench: Bench, wl: Workload, rows: int) -> None:
    copy_rows(bench.engine, wl.table, wl.tuples(rows), columns=wl.columns)


def write_raw_copy(bench: Bench, wl: Workload, rows: int) -> None:
    cols = ", ".join(f'"{c}"' for c in wl.columns)
    per_chunk = max(1, RAW_CHUNK_BYTES // max(1, wl.payload(1) * 3 // 2))
    conn = bench.raw
    with conn.transaction(), conn.cursor() as cursor, \
            cursor.copy(f'COPY "{wl.table.name}" ({cols}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.write(_rawpg.SIGNATURE)
        for start in range(0, rows, per_chunk):
            stop = min(rows, start + per_chunk)
            record = _rawpg.encode_array_rows([s[start:stop] for s in wl.scalars.values()],
                                              [a[start:stop] for a in wl.arrays.values()])
            copy.write(record.view(np.uint8).data)
        copy.write(_rawpg.TRAILER)


def write_raw_sqlite(bench: Bench, wl: Workload, rows: int) -> None:
    cols = wl.columns
    names = ", ".join(f'"{c}"' for c in cols)
    sql = (f'INSERT INTO "{wl.table.name}" ({names}) '
           f'VALUES ({", ".join("?" for _ in cols)})')
    scalars, arrays = list(wl.scalars.values()), list(wl.arrays.values())
    params = ((*(int(s[i]) for s in scalars), *(memoryview(a[i]) for a in arrays))
              for i in range(rows))
    with bench.raw:
        bench.raw.executemany(sql, params)


WRITES: dict[str, dict[str, Callable[[Bench, Workload, int], None]]] = {
    "postgresql": {"orm": write_orm, "copy_rows": write_copy_rows, "raw_copy": write_raw_copy},
    "sqlite": {"orm": write_orm, "copy_rows": write_copy_rows, "raw_sqlite": write_raw_sqlite},
}

# Reads: each returns the natural result; `as_lists` turns it into {column: [array, ...]}.

ReadResult = tuple[str, Any]


def read_orm(bench: Bench, wl: Workload, limit: int | None) -> ReadResult:
    model: Any = wl.model
    query = sa.select(model).options(*wl.orm_options).order_by(model.id)
    if limit is not None:
        query = query.where(model.id <= limit)
    with Session(bench.engine) as session:
        objects = session.scalars(query).all()
        return "orm", [[getattr(o, c) for c in wl.arrays] for o in objects]


def read_with_read_arrays(bench: Bench, wl: Workload, limit: int | None
                          ) -> ReadResult:
    where = None if limit is None else wl.table.c.id <= limit
    with bench.engine.connect() as connection:
        return "dict", read_arrays(connection, wl.table, list(wl.arrays), where=where)


def read_with_read_arrays_flat(bench: Bench, wl: Workload, limit: int | None
                               ) -> ReadResult:
    where = None if limit is None else wl.table.c.id <= limit
    with bench.engine.connect() as connection:
        return "flat", read_arrays_flat(connection, wl.table, list(wl.arrays), where=where)


def read_raw_fetch(bench: Bench, wl: Workload, limit: int | None) -> ReadResult:
    cols = ", ".join(f'"{c}"' for c in wl.arrays)
    where = "" if limit is None else f"WHERE id <= {int(limit)}"
    conn = bench.raw
    with conn.transaction(), conn.cursor(binary=True) as cursor:
        _rawpg.register_raw_float8_loader(cursor)
        cursor.execute(f'SELECT {cols} FROM "{wl.table.name}" {where} ORDER BY id')
        return "rows", cursor.fetchall()


def read_raw_sqlite(bench: Bench, wl: Workload, limit: int | None) -> ReadResult:
    cols = ", ".join(f'"{c}"' for c in wl.arrays)
    where = "" if limit is None else f"WHERE id <= {int(limit)}"
    rows = bench.raw.execute(f'SELECT {cols} FROM "{wl.table.name}" {where} ORDER BY id')
    return "rows", [[np.frombuffer(v, dtype="<f8") for v in row] for row in rows]


READS: dict[str, dict[str, Callable[[Bench, Workload, int | None], ReadResult]]] = {
    "postgresql": {"orm": read_orm, "read_arrays": read_with_read_arrays,
                   "read_arrays_flat": read_with_read_arrays_flat, "raw_fetch": read_raw_fetch},
    "sqlite": {"orm": read_orm, "read_arrays": read_with_read_arrays,
               "read_arrays_flat": read_with_read_arrays_flat, "raw_sqlite": read_raw_sqlite},
}
RAW = {"postgresql": ("raw_copy", "raw_fetch"), "sqlite": ("raw_sqlite", "raw_sqlite")}


def as_lists(wl: Workload, result: ReadResult) -> dict[str, list[np.ndarray]]:
    """Turn any read path's result into ``{column: [array per row, in id order]}``."""
    kind, value = result
    names = list(wl.arrays)
    if kind == "dict":
        rows = [value[key] for key in sorted(value)]
        return {c: [row[c] for row in rows] for c in names}
    if kind == "flat":
        bounds = list(zip(value.offsets[:-1], value.offsets[1:], strict=True))
        return {c: [value.columns[c][a:b] for a, b in bounds] for c in names}
    return {c: [row[j] for row in value] for j, c in enumerate(names)}


def check_arrays(wl: Workload, path: str, got: dict[str, list[np.ndarray]], rows: int) -> int:
    """Raise :class:`BenchmarkError` unless ``got`` equals the first ``rows`` input rows.

    Returns the number of rows checked.
    """
    for name, expected in wl.arrays.items():
        values = got[name]
        if len(values) != rows:
            raise BenchmarkError(f"{wl.name}/{path}: {len(values)} rows of {name}, "
                                 f"expected {rows}")
        for i, value in enumerate(values):
            if value is None or value.dtype != np.float64 or not np.array_equal(value,
                                                                                expected[i]):
                raise BenchmarkError(f"{wl.name}/{path}: row {i + 1} {name} differs from "
                                     "the input")
    return rows


def check_written(bench: Bench, wl: Workload, path: str) -> int:
    """Count the rows and compare every array and scalar with the input; return the count."""
    with bench.engine.connect() as connection:
        count = connection.scalar(sa.select(sa.func.count()).select_from(wl.table))
        ids = connection.execute(sa.select(wl.table.c.id, *(wl.table.c[s] for s in wl.scalars))
                                 .order_by(wl.table.c.id)).all()
    if count != wl.rows:
        raise BenchmarkError(f"{wl.name}/{path} wrote {count} rows, expected {wl.rows}")
    for j, (name, values) in enumerate(wl.scalars.items(), start=1):
        if not np.array_equal([row[j] for row in ids], values):
            raise BenchmarkError(f"{wl.name}/{path}: column {name} differs from the input")
    reader = READS[bench.backend][RAW[bench.backend][1]]
    return check_arrays(wl, path, as_lists(wl, reader(bench, wl, None)), wl.rows)


# Driver --------------------------------------------------------------------------


def setup(engine: Engine, data: dict[str, np.ndarray], n: int, storage: str
          ) -> list[Workload]:
    """Create the parent rows and the benchmark table; return both workloads."""
    _common.refuse_existing_rows(engine, [DataSet.__table__])
    with Session(engine) as session:
        mission = Mission(name="Bench mission", description="benchmark", time_unit="d",
                          time_epoch=2457000.0, time_epoch_scale="tdb", time_epoch_format="jd",
                          time_format_name="benchtjd")
        target = Target(catalog=MissionCatalog(host_mission=mission, name="Bench catalog",
                                               description="benchmark"), name=1)
        observation = Observation(instrument=Instrument(name="Bench camera", properties={}),
                                  cadence_reference=np.arange(data["time"].shape[1]))
        session.add_all([target, observation])
        session.flush()
        target_id, observation_id = target.id, observation.id
        create_observation_partitions(session, [observation_id])
        session.commit()
    BenchBase.metadata.drop_all(engine)
    BenchBase.metadata.create_all(engine)
    _common.set_array_storage(engine, "bench_lightcurve", ("time", "flux", "flux_err"),
                              storage, like=("dataset", "values"))

    def integers(table: Any, column: str, values: Any) -> np.ndarray:
        sql_type = table.c[column].type.compile(dialect=engine.dialect).upper()
        return np.asarray(values, dtype=np.int64 if "BIG" in sql_type else np.int32)

    lightcurve, dataset = BenchLightCurve.__table__, DataSet.__table__
    return [
        Workload("lightcurve", BenchLightCurve,
                 {"target_id": integers(lightcurve, "target_id", np.arange(1, n + 1))}, data),
        Workload("dataset", DataSet,
                 {"target_id": integers(dataset, "target_id", np.full(n, target_id)),
                  "observation_id": integers(dataset, "observation_id",
                                             np.full(n, observation_id))},
                 {"values": data["flux"], "errors": data["flux_err"]},
                 [undefer_group("dataset_arrays")]),
    ]


def run_backend(bench: Bench, args: argparse.Namespace, data: dict[str, np.ndarray]
                ) -> list[Result]:
    """Time every path of both workloads on one database."""
    backend, engine, results = bench.backend, bench.engine, []
    workloads = [w for w in setup(engine, data, args.n, args.array_storage)
                 if args.workload in ("both", w.name)]
    raw_write, raw_read = RAW[backend]
    for wl in workloads:
        def empty(wl: Workload = wl) -> None:
            _common.truncate(engine, [wl.table])

        for path, write in WRITES[backend].items():
            if path == "orm" and args.skip_orm:
                continue
            empty()
            write(bench, wl, min(wl.rows, WARMUP_ROWS))
            seconds, _ = _common.best_time(partial(write, bench, wl, wl.rows),
                                           repeat=args.repeat, before=empty)
            verified = check_written(bench, wl, path)
            results.append(Result(backend, wl.name, "write", path, wl.rows,
                                  wl.payload(wl.rows), seconds,
                                  None if path == raw_write else raw_write,
                                  verified_rows=verified))
        _common.vacuum_analyze(engine)
        READS[backend][raw_read](bench, wl, None)  # bring the table into the cache
        for path, read in READS[backend].items():
            if path == "orm" and args.skip_orm:
                continue
            read(bench, wl, WARMUP_ROWS)
            seconds, value = _common.best_time(partial(read, bench, wl, None),
                                               repeat=args.repeat)
            verified = check_arrays(wl, path, as_lists(wl, value), wl.rows)
            del value
            results.append(Result(backend, wl.name, "read", path, wl.rows,
                                  wl.payload(wl.rows), seconds,
                                  None if path == raw_read else raw_read,
                                  verified_rows=verified))
    return results


def main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="light curves (default 2000)")
    parser.add_argument("--points", type=int, default=20000,
                        help="points per array (default 20000)")
    parser.add_argument("--workload", choices=["lightcurve", "dataset", "both"], default="both",
                        help="tables to benchmark (default both)")
    parser.add_argument("--array-storage", default="dataset",
                        choices=["dataset", "extended", "external", "main"],
                        help="PostgreSQL storage of bench_lightcurve's arrays (default: as "
                             "dataset.values)")
    parser.add_argument("--skip-orm", action="store_true", help="leave out the ORM paths")
    parser.add_argument("--keep", action="store_true",
                        help="leave the benchmark's rows and table in the database")
    _common.add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.n < 1 or args.points < 1:
        parser.error("--n and --points must be positive")
    data = make_data(args.n, args.points, args.seed)
    results: list[Result] = []
    databases: dict[str, Any] = {}
    with _common.database_urls(args) as urls:
        for backend, url in urls.items():
            with Bench.open(url) as bench:
                results += run_backend(bench, args, data)
                databases[backend] = _common.database_info(bench.engine, [
                    ("bench_lightcurve", c) for c in ("time", "flux", "flux_err")] + [
                    ("dataset", "values"), ("dataset", "errors")])
                if not args.keep:
                    BenchBase.metadata.drop_all(bench.engine)
                    _common.truncate(bench.engine, [DataSet.__table__])
    title = (f"light curves: {args.n:,} x 3 x {args.points:,} float64 "
             f"(dataset: 2 arrays), best of {args.repeat}; MB = 10^6 array bytes")
    return _common.report("lightcurves", args, title, results, databases,
                          {"write": ["copy_rows"], "read": ["read_arrays", "read_arrays_flat"]})

if __name__ == "__main__":
    _common.run_main(main)
