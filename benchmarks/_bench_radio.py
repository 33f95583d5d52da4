"""The DSA-110 products in ``bench_loaders.py``: images and forced photometry vs raw paths.

``raw_image_read`` opens every generated image (CASA ``exportfits`` layout,
:func:`lightcurvedb.testing.fits.radio.write_casa_image`: one ``float32``
plane with degenerate ``FREQ`` and ``STOKES`` axes) with astropy and reads its
header and pixels; ``register_images`` is
:func:`~lightcurvedb.radio.products_service.register_image` -- what ``lcdb
radio image register`` runs -- for each of them (the file read, the checks,
the plane's statistics: noise from the median absolute deviation, peak,
beam, frequency) into the products tables, committed at the end.

Photometry comes from the pipeline as rows, not files: ``record_photometry``
(:func:`~lightcurvedb.radio.products_service.record_photometry`, every row
validated, the separation from the image centre computed, then one bulk
write) is compared with the driver writing the same rows into the same table
itself (``raw_photometry_write``: psycopg's ``COPY ... FROM STDIN`` with
``write_row``, or :mod:`sqlite3` ``executemany``).
"""

from __future__ import annotations

import datetime as dt
import pathlib
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from _common import Bench, BenchmarkError, Result
from astropy.io import fits
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lightcurvedb.bulk._wire import qualified_name
from lightcurvedb.radio import Image, MSIndex, Photometry
from lightcurvedb.radio import products_service as ps
from lightcurvedb.radio._types import stored_path
from lightcurvedb.testing.fits.radio import write_casa_image

WORKLOAD = "radio"
MS = "/data/dsa110-contimg/ms/2025-10-24T12:00:00.ms"
#: When the benchmark's photometry was measured (one month's partition on PostgreSQL).
MEASURED = dt.datetime(2025, 10, 24, 12, 30, tzinfo=dt.UTC)
#: RMS noise of the generated images (Jy/beam); registration must measure it back.
NOISE_JY = 4e-4
_COLUMNS = ("image_path", "source_id", "ra_deg", "dec_deg", "nvss_flux_mjy", "peak_jyb",
            "peak_err_jyb", "snr", "measured_at", "mjd", "sep_from_center_deg", "flags")


def make_images(directory: pathlib.Path, n: int, pixels: int) -> list[pathlib.Path]:
    """``n`` CASA-layout images of ``pixels`` x ``pixels`` (1.4 GHz, 3-arcsec cells)."""
    directory.mkdir(parents=True, exist_ok=True)
    return [write_casa_image(directory / f"2025-10-24T12:{i // 60:02d}:{i % 60:02d}.img.fits",
                             ra=188.73 + 0.2 * i, dec=42.05, bmaj_deg=0.0042, bmin_deg=0.0031,
                             bpa_deg=-12.5, noise_jy=NOISE_JY, nx=pixels, ny=pixels, seed=i)
            for i in range(n)]


def read_images(files: Sequence[pathlib.Path]) -> int:
    """The baseline: open each image with astropy, read its header and pixels; return pixels."""
    pixels = 0
    for path in files:
        with fits.open(path, memmap=False) as hdul:
            dict(hdul[0].header)
            pixels += np.asarray(hdul[0].data).size
    return pixels


def photometry_rows(images: Sequence[str], sources: int, seed: int = 0) -> list[dict[str, Any]]:
    """``sources`` forced-photometry measurements on each of ``images``."""
    rng = np.random.default_rng(seed)
    ra = rng.uniform(186.0, 192.0, sources)
    dec = rng.uniform(40.0, 44.0, sources)
    nvss = rng.uniform(10.0, 500.0, sources)
    rows = []
    for n, image in enumerate(images):
        peak = nvss / 1e3 * rng.normal(1.0, 0.05, sources)
        for i in range(sources):
            rows.append({"image_path": image, "source_id": f"NVSS J{i:06d}+42{n:04d}",
                         "ra_deg": float(ra[i]), "dec_deg": float(dec[i]),
                         "nvss_flux_mjy": float(nvss[i]), "peak_jyb": float(peak[i]),
                         "peak_err_jyb": 4e-4, "mjd": 60972.5 + n / 1440,
                         "measured_at": MEASURED})
    return rows


def _raw_photometry(bench: Bench, rows: list[dict[str, Any]]) -> None:
    """The driver alone writes the rows (values as stored: times as Unix seconds)."""
    values = [(r["image_path"], r["source_id"], r["ra_deg"], r["dec_deg"], r["nvss_flux_mjy"],
               r["peak_jyb"], r["peak_err_jyb"], r["peak_jyb"] / r["peak_err_jyb"],
               r["measured_at"].timestamp(), r["mjd"], 0.0, 0) for r in rows]
    with bench.engine.connect() as connection:
        name = qualified_name(connection, Photometry.__table__)
    columns = ", ".join(_COLUMNS)
    if bench.backend == "postgresql":
        with bench.raw.cursor() as cursor, cursor.copy(
                f"COPY {name} ({columns}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        bench.raw.commit()
        return
    bench.raw.executemany(f"INSERT INTO {name} ({columns}) VALUES "
                          f"({', '.join('?' for _ in _COLUMNS)})", values)
    bench.raw.commit()


def _stored(bench: Bench) -> tuple[int, float]:
    with Session(bench.engine) as session:
        return session.execute(select(func.count(), func.sum(Photometry.peak_jyb))).one()


def _empty_photometry(bench: Bench) -> None:
    with bench.engine.begin() as connection:
        connection.execute(Photometry.__table__.delete())


def run_backend(bench: Bench, images: Sequence[pathlib.Path], sources: int) -> list[Result]:
    """Time reading and registering ``images``, then ``sources`` measurements on each."""
    backend, results = bench.backend, []
    payload = sum(f.stat().st_size for f in images)
    read_images(images[:2])
    start = time.perf_counter()
    pixels = read_images(images)
    results.append(Result(backend, WORKLOAD, "load", "raw_image_read", len(images), payload,
                          time.perf_counter() - start, verified_rows=len(images),
                          note=f"{pixels // len(images):,} pixels each"))
    with Session(bench.engine) as session:
        ps.record_ms_stage(session, MS, "imaged")
        session.commit()
        start = time.perf_counter()
        for path in images:
            ps.register_image(session, path, ms_path=MS)
        session.commit()
        seconds = time.perf_counter() - start
        measured = session.execute(select(Image.path, Image.noise_jy).order_by(Image.path)).all()
    stored = [path for path, _ in measured]
    expected = sorted(stored_path(path) for path in images)
    if stored != expected:
        raise BenchmarkError(f"{backend} register_images: {len(stored)} images stored, "
                             f"expected {len(expected)}")
    off = [(path, noise) for path, noise in measured
           if noise is None or not np.isclose(noise, NOISE_JY, rtol=0.1)]
    if off:     # the generator's noise, measured back from every plane
        raise BenchmarkError(f"{backend} register_images: noise {off[0][1]} Jy/beam measured "
                             f"in {off[0][0]}, the image was written with {NOISE_JY}")
    results.append(Result(backend, WORKLOAD, "load", "register_images", len(images), payload,
                          seconds, baseline="raw_image_read", verified_rows=len(stored)))

    rows = photometry_rows(stored, sources)
    expected_sum = sum(r["peak_jyb"] for r in rows)
    photometry_bytes = len(rows) * 8 * 10      # MB/s counts the ten numbers of a row
    for path in ("record_photometry", "raw_photometry_write"):
        _empty_photometry(bench)
        start = time.perf_counter()
        if path == "raw_photometry_write":
            _raw_photometry(bench, rows)
        else:
            with Session(bench.engine) as session:
                ps.record_photometry(session, rows)
                session.commit()
        seconds = time.perf_counter() - start
        count, total = _stored(bench)
        if count != len(rows) or not np.isclose(total, expected_sum, rtol=1e-12):
            raise BenchmarkError(f"{backend} {path}: {count} rows (sum {total}), expected "
                                 f"{len(rows)} (sum {expected_sum})")
        results.append(Result(backend, "photometry", "write", path, len(rows), photometry_bytes,
                              seconds, verified_rows=count,
                              baseline=None if path.startswith("raw") else
                              "raw_photometry_write"))
    _empty_photometry(bench)
    with bench.engine.begin() as connection:
        connection.execute(Image.__table__.delete())
        connection.execute(MSIndex.__table__.delete())
    return results

