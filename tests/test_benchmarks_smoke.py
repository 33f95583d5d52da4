"""The benchmark scripts run end to end at tiny sizes and check what they wrote.

Each script runs as a subprocess against the suite's PostgreSQL server (a fresh
database) and a temporary SQLite file. Timings are never asserted on: only that
every path ran, moved the requested number of rows and was verified.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import URL

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
_numbers = itertools.count()


@pytest.fixture
def fresh_postgres_url(postgres_server) -> Iterator[URL]:
    name = f"bench_smoke_{os.getpid()}_{next(_numbers)}"
    postgres_server.create_database(name)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture
def bench_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``benchmarks/`` importable the way the scripts import each other."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def _run(script: str, *args: str, json_path: Path) -> dict:
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), *args,
                           "--json", str(json_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "vs raw" in proc.stdout  # the printed table
    return json.loads(json_path.read_text())


def _paths(report: dict) -> dict[tuple[str, str, str], set[str]]:
    found: dict[tuple[str, str, str], set[str]] = {}
    for r in report["results"]:
        found.setdefault((r["backend"], r["workload"], r["operation"]), set()).add(r["path"])
    return found


def _check_ratios(report: dict) -> None:
    """Each ratio is the path's rows/s over its raw baseline's, whatever the row counts."""
    by_key = {(r["backend"], r["workload"], r["operation"], r["path"]): r
              for r in report["results"]}
    for r in report["results"]:
        if r["baseline"] is None:
            assert r["path"].startswith("raw") and r["ratio"] is None
            continue
        raw = by_key[(r["backend"], r["workload"], r["operation"], r["baseline"])]
        assert r["ratio"] == pytest.approx(r["rows_per_s"] / raw["rows_per_s"])


def test_bench_lightcurves(fresh_postgres_url: URL, tmp_path: Path) -> None:
    report = _run("bench_lightcurves.py", "--n", "4", "--points", "50",
                  "--url", fresh_postgres_url.render_as_string(hide_password=False),
                  json_path=tmp_path / "lc.json")
    assert report["verified"] is True
    writes = {"postgresql": {"orm", "copy_rows", "raw_copy"},
              "sqlite": {"orm", "copy_rows", "raw_sqlite"}}
    reads = {"postgresql": {"orm", "read_arrays", "read_arrays_flat", "raw_fetch"},
             "sqlite": {"orm", "read_arrays", "read_arrays_flat", "raw_sqlite"}}
    expected = {}
    for backend, workload in itertools.product(("postgresql", "sqlite"),
                                               ("lightcurve", "dataset")):
        expected[(backend, workload, "write")] = writes[backend]
        expected[(backend, workload, "read")] = reads[backend]
    assert _paths(report) == expected
    for r in report["results"]:
        assert r["rows"] == 4 and r["verified_rows"] == 4  # counted in the database
        assert r["rows_per_s"] > 0 and r["mb_per_s"] > 0
        arrays = 3 if r["workload"] == "lightcurve" else 2
        assert r["payload_bytes"] == 4 * arrays * 50 * 8
    _check_ratios(report)
    # The machine description the performance figures need.
    assert report["machine"]["cores"] >= 1
    pg = report["databases"]["postgresql"]
    assert pg["server_version"] and pg["block_size"]
    storage = pg["array_storage"]
    assert {"bench_lightcurve.time", "bench_lightcurve.flux", "bench_lightcurve.flux_err",
            "dataset.values", "dataset.errors"} <= set(storage)
    # bench_lightcurve mirrors the storage the migrations gave dataset.values.
    assert storage["bench_lightcurve.flux"]["attstorage"] == \
        storage["dataset.values"]["attstorage"]
    assert report["databases"]["sqlite"]["page_size"] > 0


def test_bench_lightcurves_without_orm_sqlite_only(tmp_path: Path) -> None:
    report = _run("bench_lightcurves.py", "--n", "3", "--points", "7", "--backend", "sqlite",
                  "--skip-orm", "--workload", "dataset", json_path=tmp_path / "lc.json")
    assert _paths(report) == {
        ("sqlite", "dataset", "write"): {"copy_rows", "raw_sqlite"},
        ("sqlite", "dataset", "read"): {"read_arrays", "read_arrays_flat", "raw_sqlite"}}
    assert all(r["rows"] == r["verified_rows"] == 3 for r in report["results"])


def test_bench_catalog(fresh_postgres_url: URL, tmp_path: Path) -> None:
    report = _run("bench_catalog.py", "--rows", "200", "--orm-rows", "20",
                  "--url", fresh_postgres_url.render_as_string(hide_password=False),
                  json_path=tmp_path / "cat.json")
    assert report["verified"] is True
    common = {"orm", "core", "copy_rows", "copy_rows_tuples", "fits_loader"}
    assert _paths(report) == {
        ("postgresql", "catalog", "write"): common | {"raw_copy", "psycopg_write_row"},
        ("sqlite", "catalog", "write"): common | {"raw_sqlite"},
        ("postgresql", "catalog", "load"): {"raw_fits_read", "fits_loader"},
        ("sqlite", "catalog", "load"): {"raw_fits_read", "fits_loader"}}
    for r in report["results"]:
        assert r["rows"] == r["verified_rows"] == (20 if r["path"] == "orm" else 200)
        assert r["rows_per_s"] > 0 and r["mb_per_s"] > 0
        # 8 (targetid) + 4 (healpix) + 10 x 8 (floats) + 3 or 4 bytes of survey per row
        assert 95 * r["rows"] <= r["payload_bytes"] <= 96 * r["rows"]
    _check_ratios(report)
    assert {c["path"] for c in report["targets"]} == {"copy_rows", "copy_rows_tuples"}


def test_refuses_a_database_with_light_curves(fresh_postgres_url: URL, tmp_path: Path,
                                              bench_modules: None) -> None:
    from bench_lightcurves import main

    from lightcurvedb import connect, migrations
    from lightcurvedb.models import DataSet
    from lightcurvedb.testing import factories

    engine = connect(fresh_postgres_url)
    migrations.upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session, factories.bound_to(session):
        factories.DataSetFactory()
        session.commit()
    url = fresh_postgres_url.render_as_string(hide_password=False)
    with pytest.raises(SystemExit, match="dataset already has rows"):
        main(["--n", "2", "--points", "5", "--backend", "postgresql", "--url", url])
    with Session(engine) as session:
        assert session.query(DataSet).count() == 1  # left alone
    engine.dispose()


def test_catalog_check_catches_a_changed_value_and_a_missing_row(tmp_path: Path,
                                                                 bench_modules: None) -> None:
    import bench_catalog
    from _common import Bench, BenchmarkError

    url = URL.create("sqlite", database=str(tmp_path / "check.sqlite3"))
    cat = bench_catalog.make_catalog(50, seed=3)
    with Bench.open(url) as bench:
        bench_catalog.BenchBase.metadata.create_all(bench.engine)
        bench_catalog.write_raw_sqlite(bench, cat)
        bench_catalog.check_written(bench, cat, "raw_sqlite")  # the honest copy passes
        with bench.raw:
            bench.raw.execute("UPDATE bench_catalog SET ra = ra + 1e-9 WHERE targetid = ?",
                              (int(cat["targetid"][7]),))
        with pytest.raises(BenchmarkError, match="column ra differs.*row 7"):
            bench_catalog.check_written(bench, cat, "raw_sqlite")
        with bench.raw:
            bench.raw.execute("DELETE FROM bench_catalog WHERE targetid = ?",
                              (int(cat["targetid"][0]),))
        with pytest.raises(BenchmarkError, match="wrote 49 rows, expected 50"):
            bench_catalog.check_written(bench, cat, "raw_sqlite")


def test_raw_copy_encoders_round_trip_through_postgres(fresh_postgres_url: URL,
                                                       bench_modules: None) -> None:
    """The raw baselines' own binary COPY encoding is what PostgreSQL reads."""
    import _rawpg
    from _common import raw_psycopg

    ints = np.array([0, -1, 2**40, -(2**62)], dtype=np.int64)
    small = np.array([7, -7, 2**31 - 1, -(2**31)], dtype=np.int32)
    floats = np.array([0.5, -np.inf, 1e-308, np.nan])
    text = np.array(["a", "", "Öffnung ✓", "光光光光"])
    arrays = np.arange(12, dtype=np.float64).reshape(4, 3) / 7
    with raw_psycopg(fresh_postgres_url) as conn, conn.cursor() as cursor:
        cursor.execute("CREATE TABLE s (i int8, j int4, x float8, t text)")
        cursor.execute("CREATE TABLE a (i int8, j int4, v float8[], w float8[])")
        with cursor.copy("COPY s FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(_rawpg.SIGNATURE)
            copy.write(_rawpg.encode_scalar_rows([ints, small, floats], text).data)
            copy.write(_rawpg.TRAILER)
        with cursor.copy("COPY a FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(_rawpg.SIGNATURE)
            record = _rawpg.encode_array_rows([ints, small], [arrays, arrays[::-1] * 2])
            copy.write(record.view(np.uint8).data)
            copy.write(_rawpg.TRAILER)
        rows = cursor.execute("SELECT i, j, x, t FROM s").fetchall()
        assert [r[0] for r in rows] == ints.tolist()
        assert [r[1] for r in rows] == small.tolist()
        np.testing.assert_array_equal([r[2] for r in rows], floats)
        assert [r[3] for r in rows] == text.tolist()
        assert cursor.execute("SELECT v, w FROM a ORDER BY i").fetchall() == [
            (arrays[i].tolist(), (arrays[::-1][i] * 2).tolist()) for i in np.argsort(ints)]
        with conn.cursor(binary=True) as binary:
            _rawpg.register_raw_float8_loader(binary)
            got = binary.execute("SELECT v FROM a ORDER BY i").fetchall()
        for (value,), i in zip(got, np.argsort(ints), strict=True):
            assert value.dtype == np.float64
            np.testing.assert_array_equal(value, arrays[i])


def test_bench_loaders(fresh_postgres_url: URL, tmp_path: Path) -> None:
    report = _run("bench_loaders.py", "--files", "4", "--cadences", "50", "--jobs", "2",
                  "--batch-size", "3", "--repeat", "2", "--rbh1-scale", "1", "--radio-images", "3",
                  "--radio-pixels", "96", "--radio-sources", "7", "--url",
                  fresh_postgres_url.render_as_string(hide_password=False),
                  json_path=tmp_path / "loaders.json")
    assert report["verified"] is True
    paths = {("tess", "load"): {"raw_astropy_read", "load_tess", "load_tess_jobs1", "rerun"},
             ("rbh1", "load"): {"raw_rbh1_read", "rbh1_zones01", "rbh1_rerun"},
             ("spaxels", "load"): {"raw_cube_read", "spaxels"},
             ("radio", "load"): {"raw_image_read", "register_images"},
             ("photometry", "write"): {"raw_photometry_write", "record_photometry"}}
    assert _paths(report) == {(backend, *key): names for backend in ("postgresql", "sqlite")
                              for key, names in paths.items()}
    # SPOC files; the RBH-1 set; its s3d cubes; DSA-110 images; their measurements
    rows = {"tess": 4, "rbh1": 16, "spaxels": 2, "radio": 3, "photometry": 3 * 7}
    for r in report["results"]:
        assert r["rows"] == r["verified_rows"] == rows[r["workload"]]
        # every file is at least a FITS block; a photometry row is ten 8-byte numbers
        per_row = 80 if r["workload"] == "photometry" else 2880
        assert r["rows_per_s"] > 0 and r["payload_bytes"] >= r["rows"] * per_row
    _check_ratios(report)
    assert {(c["backend"], c["check"]) for c in report["targets"]} == {
        (backend, check) for backend in ("postgresql", "sqlite")
        for check in ("load_tess vs raw read", "rerun time vs load time")}
    # --repeat 2: two interleaved rounds of raw read and loads, each round's ratio kept
    loads = [r for r in report["results"] if r["path"] in ("load_tess", "load_tess_jobs1")]
    assert loads and all(len(r["extra"]["round_ratios"]) == 2 for r in loads)
    assert all(len(c["rounds"]) == 2 for c in report["targets"]
               if c["check"] == "load_tess vs raw read")
    assert [row["files"] for row in report["rss"]] == [2, 4]
    assert all(row["peak_rss_mib"] > 0 for row in report["rss"])


def test_bench_queries(fresh_postgres_url: URL, tmp_path: Path) -> None:
    json_path = tmp_path / "queries.json"
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "bench_queries.py"), "--sizes",
                           "40,120", "--sectors", "2", "--points", "5", "--repeat", "1",
                           "--url", fresh_postgres_url.render_as_string(hide_password=False),
                           "--json", str(json_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "cone_search: about 10 targets per cone" in proc.stdout
    report = json.loads(json_path.read_text())
    assert report["verified"] is True
    # 2 sectors x 2 light curves per target: 40 -> 10 targets, 120 -> 30 targets
    assert [(r["backend"], r["lightcurves"]) for r in report["results"]] == [
        ("postgresql", 40), ("postgresql", 120), ("sqlite", 40), ("sqlite", 120)]
    for r in report["results"]:
        queries = r["queries"]
        assert set(queries) == {"by_tic", "quality_flags", "lineage", "cone_search",
                                "sector_bulk_read"}
        assert queries["by_tic"]["rows"] == 4 and queries["lineage"]["rows"] == 1
        assert queries["quality_flags"]["rows"] == 5     # one flag per point
        assert queries["sector_bulk_read"]["rows"] == r["lightcurves"] // 2
        assert all(q["ms"] > 0 for q in queries.values())
    assert report["defects"] == []   # below 100,000 light curves scans are not judged


def test_validation_benchmark_runs_and_finds_the_planted_bad_row(tmp_path: Path) -> None:
    out = tmp_path / "validation.json"
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "bench_validation.py"),
                           "--rows", "2000", "--repeat", "1", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())["results"]
    assert [r["input"] for r in results] == ["numpy columns", "lists", "tuples"]
    assert all(r["rows"] == 2000 and r["copy_rows_seconds"] > 0 for r in results)
