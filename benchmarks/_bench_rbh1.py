"""The RBH-1 loaders in ``bench_loaders.py``: zones 0-1 and the zone-2 spaxels vs raw reads.

``raw_rbh1_read`` opens every file of a generated RBH-1 set
(:func:`lightcurvedb.testing.fits.write_rbh1_set`) with astropy and reads the
data of every HDU; ``rbh1_zones01`` is :func:`~lightcurvedb.loaders.rbh1.load_rbh1_paths`
(what ``lcdb load rbh1`` runs) and ``rbh1_rerun`` the same again.
``raw_cube_read`` reads the ``SCI``, ``ERR`` and ``DQ`` cubes of the s3d
files; ``spaxels`` is :func:`~lightcurvedb.loaders.rbh1.spaxels.extract_spaxels`.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

import numpy as np
from _common import Bench, BenchmarkError, Result
from astropy.io import fits
from sqlalchemy.orm import Session

from lightcurvedb.loaders.rbh1 import load_rbh1_paths
from lightcurvedb.loaders.rbh1.spaxels import extract_spaxels
from lightcurvedb.testing.fits.rbh1 import write_rbh1_set

WORKLOAD = "rbh1"


def make_set(directory: pathlib.Path, scale: int) -> dict[str, list[pathlib.Path]]:
    """A miniature RBH-1 set: ``scale`` x (6 flc, 4 drc, 2 cal, 2 x1d, 2 s3d) files."""
    counts = {"flc": 6 * scale, "drc": 4 * scale, "cal": 2 * scale, "x1d": 2 * scale,
              "s3d": 2 * scale}
    return write_rbh1_set(directory, counts=counts)


def read_all(files: Sequence[pathlib.Path], extnames: Sequence[str] | None = None) -> int:
    """Open each file and read the data of its HDUs (or of ``extnames``); return bytes read."""
    total = 0
    for path in files:
        with fits.open(path, memmap=False) as hdul:
            for hdu in hdul:
                if extnames is not None and hdu.name not in extnames:
                    continue
                if hdu.data is not None:
                    total += np.asarray(hdu.data).nbytes if not isinstance(
                        hdu, fits.BinTableHDU) else hdu.data.nbytes
    return total


def run_backend(bench: Bench, sets: dict[str, list[pathlib.Path]]) -> list[Result]:
    backend, results = bench.backend, []
    files = sorted(f for group in sets.values() for f in group)
    cubes = sorted(sets["s3d"])
    payload = sum(f.stat().st_size for f in files)
    read_all(files[:2])
    start = time.perf_counter()
    read_all(files)
    results.append(Result(backend, WORKLOAD, "load", "raw_rbh1_read", len(files), payload,
                          time.perf_counter() - start, verified_rows=len(files)))
    for path in ("rbh1_zones01", "rbh1_rerun"):
        start = time.perf_counter()
        report = load_rbh1_paths(bench.engine, files, progress=False)
        seconds = time.perf_counter() - start
        done = report.loaded if path == "rbh1_zones01" else report.skipped
        if len(done) != len(files) or report.failures:
            raise BenchmarkError(f"{backend} {path}: {report.render()}")
        results.append(Result(backend, WORKLOAD, "load", path, len(files), payload, seconds,
                              baseline="raw_rbh1_read", verified_rows=len(done)))
    cube_bytes = sum(f.stat().st_size for f in cubes)
    start = time.perf_counter()
    read_all(cubes, ("SCI", "ERR", "DQ"))
    results.append(Result(backend, "spaxels", "load", "raw_cube_read", len(cubes),
                          cube_bytes, time.perf_counter() - start, verified_rows=len(cubes)))
    start = time.perf_counter()
    with Session(bench.engine) as session:
        report = extract_spaxels(session)
        session.commit()
    seconds = time.perf_counter() - start
    if len(report.loaded) != len(cubes) or report.failures or not report.spaxels_written:
        raise BenchmarkError(f"{backend} spaxels: {report.render()}")
    results.append(Result(backend, "spaxels", "load", "spaxels", len(cubes), cube_bytes,
                          seconds, baseline="raw_cube_read", verified_rows=len(cubes),
                          note=f"{report.spaxels_written:,} spaxels"))
    return results
