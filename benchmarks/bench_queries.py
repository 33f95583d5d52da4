"""Queries at survey scale: how look-ups grow with the number of light curves.

Usage::

    python benchmarks/bench_queries.py [--sizes 10000,100000,1000000] [--points 20]
        [--sectors 20] [--repeat 5] [--backend postgresql|sqlite|both] [--url URL]
        [--json out.json]

The tables are filled through the bulk path (:func:`~lightcurvedb.bulk.copy_rows`)
with TESS-shaped rows: ``--sectors`` observations (one CCD), and per target
and sector one time array, a SAP and a PDCSAP light curve (lineage edge from
SAP to PDCSAP) and a quality-flag array, ``--points`` values each. The fill
grows to each of ``--sizes`` light curves in turn (``dataset`` rows), and at
each size these are timed (best of ``--repeat``, in milliseconds):

``by_tic``
    seed 004's first usage example: ``session.query(Target).filter_by(name=TIC)``,
    then ``target.datasets`` with their values.
``quality_flags``
    seed 004's quality-flag example: the flags of a target in one observation.
``lineage``
    seed 004's lineage example read back: a PDCSAP light curve's
    ``ancestors()`` (the SAP light curve it was derived from).
``sector_bulk_read``
    every light curve of one sector with :func:`~lightcurvedb.bulk.read_arrays`;
    this one should grow with the sector's size (the table size / ``--sectors``),
    so its rate (light curves per second) is printed too.
``cone_search``
    :func:`lightcurvedb.cone_search` around a random position, its radius
    shrinking with the table so that about 10 targets fall inside (targets are
    spread uniformly over the sky); the count is checked against numpy. With
    q3c the plan uses ``target_q3c_idx``, elsewhere ``ix_target_dec``.

Indexed look-ups should stay flat as the table grows. Each query's plan is
checked at every size (``EXPLAIN`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on
SQLite) and a sequential scan of a light-curve table is printed as a defect
from 100,000 light curves up (on a few hundred rows PostgreSQL rightly prefers
a scan to an index; smaller sizes show ``SCAN`` without judging it).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import _common
import numpy as np
import sqlalchemy as sa
from _common import Bench, BenchmarkError
from sqlalchemy.orm import Session, undefer_group

from lightcurvedb import cone_search
from lightcurvedb.bulk import copy_rows, read_arrays
from lightcurvedb.core.cones import angular_separation_deg, cone_condition
from lightcurvedb.missions.tess import TESSObservation, ensure_tess_mission, tess_ccd
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    PhotometricSource,
    ProcessingMethod,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.partitions import create_observation_partitions

FIRST_TIC = 1_000_000
#: Sizes from which a sequential scan in a look-up's plan is a defect: at 10,000 light
#: curves of 20 sectors the target table has 250 rows (two pages), which PostgreSQL
#: rightly reads whole rather than through an index.
DEFECT_FROM = 100_000
QUERIES = ("by_tic", "quality_flags", "lineage", "cone_search", "sector_bulk_read")
#: Targets a cone search should find on average (its radius follows the table size).
CONE_HITS = 10
#: Tables a look-up must not scan sequentially.
BIG_TABLES = ("dataset", "target", "target_specific_time", "quality_flag_array",
              "dataset_hierarchy")


class Fill:
    """The rows written so far: one observation per sector, targets added in steps."""

    def __init__(self, bench: Bench, sectors: int, points: int, seed: int) -> None:
        self.bench, self.points = bench, points
        self.rng = np.random.default_rng(seed)
        self.targets = 0
        self.ra, self.dec = np.empty(0), np.empty(0)   # every target's position (deg)
        with Session(bench.engine) as session:
            _, catalog = ensure_tess_mission(session)
            ccd = tess_ccd(session, 1, 1)
            source = PhotometricSource(name="SPOC aperture", description="bench")
            method = ProcessingMethod(name="PDC", description="bench")
            observations = [TESSObservation(sector=s, cadence_seconds=120, instrument=ccd,
                                            cadence_reference=np.arange(points))
                            for s in range(1, sectors + 1)]
            session.add_all([source, method, *observations])
            session.flush()
            create_observation_partitions(session, [o.id for o in observations])
            session.commit()
            self.catalog_id, self.source_id, self.method_id = catalog.id, source.id, method.id
            self.observation_ids = [o.id for o in observations]
        self.next_dataset_id = 1

    @property
    def lightcurves(self) -> int:
        return 2 * self.targets * len(self.observation_ids)

    def grow_to(self, lightcurves: int) -> float:
        """Add targets until the table holds ``lightcurves`` light curves; return seconds."""
        per_target = 2 * len(self.observation_ids)
        wanted = -(-lightcurves // per_target)
        start = time.perf_counter()
        step = 5000
        while self.targets < wanted:
            n = min(step, wanted - self.targets)
            self._add_targets(n)
        return time.perf_counter() - start

    def _add_targets(self, n: int) -> None:
        first = self.targets
        tics = np.arange(FIRST_TIC + first, FIRST_TIC + first + n)
        engine, p = self.bench.engine, self.points
        ra = self.rng.uniform(0.0, 360.0, n)                            # uniform on the sky
        dec = np.degrees(np.arcsin(self.rng.uniform(-1.0, 1.0, n)))
        self.ra, self.dec = np.concatenate([self.ra, ra]), np.concatenate([self.dec, dec])
        with engine.begin() as connection:
            copy_rows(connection, Target, [{"id": first + i + 1, "catalog_id": self.catalog_id,
                                            "name": int(t), "ra": float(ra[i]),
                                            "dec": float(dec[i])} for i, t in enumerate(tics)])
            pairs = [(first + i + 1, o) for i in range(n) for o in self.observation_ids]
            values = self.rng.normal(1.0, 0.01, size=(len(pairs), p))
            copy_rows(connection, TargetSpecificTime, (
                {"target_id": t, "observation_id": o,
                 "barycentric_julian_dates": 2458000.0 + np.arange(p) / 720.0}
                for t, o in pairs))
            copy_rows(connection, QualityFlagArray, (
                {"type": "tess_quality_flag", "target_id": t, "observation_id": o,
                 "quality_flags": np.zeros(p, dtype=np.int64)} for t, o in pairs))
            ids = self.next_dataset_id + np.arange(2 * len(pairs))
            self.next_dataset_id += 2 * len(pairs)

            def datasets() -> Any:
                for k, (t, o) in enumerate(pairs):
                    for j, method in ((0, None), (1, self.method_id)):
                        yield {"id": int(ids[2 * k + j]), "target_id": t, "observation_id": o,
                               "photometric_method_id": self.source_id,
                               "processing_method_id": method, "unit": "electron / s",
                               "values": values[k], "errors": values[k] * 0.01}

            copy_rows(connection, DataSet, datasets())
            copy_rows(connection, DataSetHierarchy, (
                {"source_dataset_id": int(ids[2 * k]), "source_observation_id": o,
                 "child_dataset_id": int(ids[2 * k + 1]), "child_observation_id": o}
                for k, (_, o) in enumerate(pairs)))
        self.targets += n
        if engine.dialect.name == "postgresql":   # the explicit ids passed the sequences
            with engine.begin() as connection:
                for table in ("target", "dataset"):
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")


def _plan_scans(session: Session, statement: Any) -> list[str]:
    """The big tables a statement's plan reads sequentially (empty: all by index)."""
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect,
                                 compile_kwargs={"literal_binds": True})
    if connection.dialect.name == "postgresql":
        lines = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {compiled}")]
        scanned = {line.split("Seq Scan on ")[1].split()[0] for line in lines
                   if "Seq Scan on" in line}
        # partitions are <table>_obs_<id> (see lightcurvedb.partitions); the empty
        # <table>_default partition is always scanned, at no cost
        return sorted({table for name in scanned for table in BIG_TABLES
                       if name == table or name.startswith(f"{table}_obs_")})
    rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
    return sorted({table for *_, detail in rows for table in BIG_TABLES
                   if detail.startswith(f"SCAN {table}") and "USING" not in detail})


def run_queries(bench: Bench, fill: Fill, repeat: int) -> dict[str, dict[str, Any]]:
    """Time each query at the current size; return {query: {ms, scans, rows}}."""
    rng = np.random.default_rng(fill.targets)
    tic = int(FIRST_TIC + rng.integers(fill.targets))
    sector_observation = fill.observation_ids[len(fill.observation_ids) // 2]
    out: dict[str, dict[str, Any]] = {}
    with Session(bench.engine) as session:
        target = session.query(Target).filter_by(name=tic).one()
        observation_id = fill.observation_ids[0]

        def by_tic() -> int:
            found = session.query(Target).filter_by(name=tic).first()
            assert found is not None
            datasets = session.scalars(sa.select(DataSet).where(
                DataSet.target_id == found.id).options(undefer_group("dataset_arrays"))).all()
            return sum(len(ds.values) > 0 for ds in datasets)

        def quality_flags() -> int:
            flags = session.query(QualityFlagArray).filter_by(
                observation_id=observation_id, target_id=target.id,
                type="tess_quality_flag").first()
            assert flags is not None
            return len(flags.quality_flags)

        pdcsap_id = session.scalar(sa.select(DataSet.id).where(
            DataSet.target_id == target.id, DataSet.observation_id == observation_id,
            DataSet.processing_method_id == fill.method_id))

        def lineage() -> int:
            pdcsap = session.get(DataSet, pdcsap_id)
            return len(pdcsap.ancestors())

        # a cone holding CONE_HITS targets on average: 2 pi (1 - cos r) = 4 pi hits / N
        radius = float(np.degrees(np.arccos(1.0 - 2.0 * CONE_HITS / fill.targets)))
        centre = (float(rng.uniform(0.0, 360.0)),
                  float(np.degrees(np.arcsin(rng.uniform(-0.9, 0.9)))))
        inside = int(np.count_nonzero(angular_separation_deg(*centre, fill.ra, fill.dec)
                                      <= radius))

        def cone() -> int:
            return len(cone_search(session, centre, radius))

        def sector_bulk_read() -> int:
            return len(read_arrays(session, DataSet, "values",
                                   where=DataSet.observation_id == sector_observation))

        statements = {
            "by_tic": [sa.select(Target.id).where(Target.name == tic),
                       sa.select(DataSet.id).where(DataSet.target_id == target.id)],
            "quality_flags": [sa.select(QualityFlagArray.id).where(
                QualityFlagArray.observation_id == observation_id,
                QualityFlagArray.target_id == target.id,
                QualityFlagArray.type == "tess_quality_flag")],
            "lineage": [sa.select(DataSetHierarchy.source_dataset_id).where(
                DataSetHierarchy.child_dataset_id == pdcsap_id)],
            "cone_search": [sa.select(Target.id).where(cone_condition(
                session.get_bind().dialect, Target.ra, Target.dec, *centre, radius))],
            "sector_bulk_read": [],
        }
        runs: dict[str, Callable[[], int]] = {"by_tic": by_tic, "quality_flags": quality_flags,
                                              "lineage": lineage, "cone_search": cone,
                                              "sector_bulk_read": sector_bulk_read}
        expected = {"by_tic": 2 * len(fill.observation_ids), "quality_flags": fill.points,
                    "lineage": 1, "cone_search": inside, "sector_bulk_read": 2 * fill.targets}
        for name, run in runs.items():
            seconds, rows = _common.best_time(lambda run=run: (session.expunge_all(), run())[1],
                                              repeat=repeat)
            if rows != expected[name]:
                raise BenchmarkError(f"{bench.backend} {name}: {rows} rows, expected "
                                     f"{expected[name]}")
            scans = sorted({t for s in statements[name] for t in _plan_scans(session, s)})
            out[name] = {"ms": seconds * 1000, "rows": rows, "scans": scans}
    return out


def main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000",
                        help="light-curve counts to grow the table to, comma-separated")
    parser.add_argument("--points", type=int, default=20, help="values per array (20)")
    parser.add_argument("--sectors", type=int, default=20, help="observations (20)")
    _common.add_common_arguments(parser)
    parser.set_defaults(repeat=5)
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if sizes[0] < 2 * args.sectors:
        parser.error("each size must be at least 2 x --sectors light curves")
    results: list[dict[str, Any]] = []
    databases: dict[str, Any] = {}
    with _common.database_urls(args) as urls:
        for backend, url in urls.items():
            with Bench.open(url) as bench:
                _common.refuse_existing_rows(bench.engine, [DataSet.__table__,
                                                            Target.__table__])
                fill = Fill(bench, args.sectors, args.points, args.seed)
                for size in sizes:
                    seconds = fill.grow_to(size)
                    _common.vacuum_analyze(bench.engine)
                    timings = run_queries(bench, fill, args.repeat)
                    results.append({"backend": backend, "lightcurves": fill.lightcurves,
                                    "fill_seconds": seconds, "queries": timings})
                    print(f"{backend}: {fill.lightcurves:,} light curves (filled in "
                          f"{seconds:.1f} s)", flush=True)
                databases[backend] = _common.database_info(bench.engine)
    print(f"\nqueries: best of {args.repeat}, ms; {args.sectors} sectors, {args.points} "
          "points per array; a plan that scans a light-curve table is marked SCAN")
    header = ["backend", "light curves", *QUERIES, "sector LC/s"]
    lines = [header]
    defects = []
    for r in results:
        cells = [r["backend"], f"{r['lightcurves']:,}"]
        for name in QUERIES:
            q = r["queries"][name]
            cells.append(f"{q['ms']:.2f}" + (f" SCAN({','.join(q['scans'])})"
                                             if q["scans"] else ""))
            if q["scans"] and r["lightcurves"] >= DEFECT_FROM:
                defects.append(f"{r['backend']} {name} at {r['lightcurves']:,}: plan scans "
                               f"{', '.join(q['scans'])}")
        bulk = r["queries"]["sector_bulk_read"]
        cells.append(f"{bulk['rows'] / (bulk['ms'] / 1000):,.0f}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(line, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\ncone_search: about {CONE_HITS} targets per cone (radius shrinking with the "
          "table), counts checked against numpy")
    print("plans: " + ("; ".join(defects) if defects else "every look-up uses an index"))
    _common.write_json(args.json, {
        "benchmark": "queries", "parameters": {k: str(v) if k == "json" else v
                                               for k, v in vars(args).items()},
        "machine": _common.machine_info(), "databases": databases, "results": results,
        "defects": defects, "verified": True})
    return 0


if __name__ == "__main__":
    _common.run_main(main)
