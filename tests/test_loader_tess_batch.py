"""The batched TESS loader: content hashes, near-free re-runs, batches, workers, resuming.

Files are generated in the real SPOC layout; expected hashes are computed here
with :mod:`hashlib` from the files' bytes, expected rows from the FITS columns.
"""

from __future__ import annotations

import gzip
import hashlib
import pathlib
import shutil
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, undefer, undefer_group

from lightcurvedb import connect, migrations
from lightcurvedb.loaders.tess import load_lightcurves, load_paths
from lightcurvedb.missions.tess import TESSObservation
from lightcurvedb.models import (
    DataSet,
    LoadedFile,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.testing.fits import write_spoc_lightcurve, write_truncated_copy

A, B, C, D = 261136679, 25155310, 307210830, 140068425
#: (tic, sector, cadence seconds) of the good files: sector 1 and 2, camera 1 CCD 1.
GOOD = [(A, 1, 120), (B, 1, 120), (C, 1, 120), (A, 2, 120), (D, 2, 120), (A, 1, 20),
        (B, 2, 120), (C, 2, 120)]
BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[pathlib.Path]:
    directory = tmp_path_factory.mktemp("spoc_batch")
    return [write_spoc_lightcurve(directory, tic_id=tic, sector=sector, camera=1, ccd=1,
                                  cadence_seconds=cadence, n_cadences=60 if cadence == 120
                                  else 90) for tic, sector, cadence in GOOD]


def sha256_of(path: pathlib.Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return hashlib.sha256(data).hexdigest()


def snapshot(session: Session) -> dict[tuple[int, int, int], dict[str, Any]]:
    """Every loaded light curve by (TIC, sector, cadence): its arrays' bytes (NaNs kept)."""
    out: dict[tuple[int, int, int], dict[str, Any]] = {}
    observations = {o.id: (o.sector, o.cadence_seconds)
                    for o in session.scalars(select(TESSObservation))}
    tics = dict(session.execute(select(Target.id, Target.name)).all())
    for times in session.scalars(select(TargetSpecificTime).options(
            undefer(TargetSpecificTime.barycentric_julian_dates))):
        key = (tics[times.target_id], *observations[times.observation_id])
        out.setdefault(key, {})["times"] = times.barycentric_julian_dates.tobytes()
    for ds in session.scalars(select(DataSet).options(undefer_group("dataset_arrays"))):
        key = (tics[ds.target_id], *observations[ds.observation_id])
        kind = "pdcsap" if ds.processing_method_id else "sap"
        out[key][kind] = [ds.values.tobytes(), ds.errors.tobytes(), ds.unit,
                          [(s.processing_method_id, tics[s.target_id])
                           for s in ds.source_datasets]]
    for flags in session.scalars(select(QualityFlagArray).options(
            undefer(QualityFlagArray.quality_flags))):
        key = (tics[flags.target_id], *observations[flags.observation_id])
        out[key]["quality"] = flags.quality_flags.tobytes()
    return out


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_hashes_are_recorded_with_the_rows(session, files):
    report = load_lightcurves(session, files, progress=False)
    assert report.loaded == files
    records = {r.file_name: r for r in session.scalars(select(LoadedFile))}
    assert set(records) == {f.name for f in files}
    for path in files:
        record = records[path.name]
        assert record.loader == "tess"
        assert record.sha256 == sha256_of(path)
        assert record.size_bytes == path.stat().st_size
        assert record.file_path == path.absolute()
        header = fits.getheader(path)
        target = session.get(Target, record.target_id)
        observation = session.get(TESSObservation, record.observation_id)
        assert target.name == header["TICID"] and observation.sector == header["SECTOR"]
        assert record.loaded_at is not None


def test_rerun_skips_by_hash_without_reading_arrays(session, files):
    load_lightcurves(session, files[:2], progress=False)
    # Change a stored light curve: a re-run that read the arrays back would refuse
    # the file ("already loaded with different data"); the hash skips it.
    for ds in session.scalars(select(DataSet).options(undefer_group("dataset_arrays"))):
        ds.values = ds.values + 1.0
    session.flush()
    session.expire_all()
    edited = snapshot(session)
    again = load_lightcurves(session, files[:2], progress=False)
    assert (again.skipped, again.failures) == (files[:2], [])
    assert snapshot(session) == edited   # not overwritten either
    # Without the records (a database loaded before hashes were kept) the rows
    # are compared, and the difference is found.
    session.execute(delete(LoadedFile))
    compared = load_lightcurves(session, files[:2], progress=False)
    assert compared.failed == files[:2]
    assert all(reason.startswith("already loaded with different data (SAP flux, PDCSAP flux")
               for _, reason in compared.failures)


def test_rows_loaded_before_hashes_are_compared_then_recorded(session, files):
    load_lightcurves(session, files, progress=False)
    session.execute(delete(LoadedFile))
    before = snapshot(session)
    again = load_lightcurves(session, files, progress=False)
    assert (again.skipped, again.failures) == (files, [])
    assert snapshot(session) == before
    assert {r.sha256 for r in session.scalars(select(LoadedFile))} == \
        {sha256_of(f) for f in files}


def test_changed_file_is_reported_and_not_overwritten(session, files, tmp_path):
    load_lightcurves(session, files[:1], progress=False)
    before = snapshot(session)
    changed = write_spoc_lightcurve(tmp_path, tic_id=A, sector=1, camera=1, ccd=1,
                                    n_cadences=60, seed=12345)
    assert changed.name == files[0].name and sha256_of(changed) != sha256_of(files[0])
    report = load_lightcurves(session, [changed], progress=False)
    [(path, reason)] = report.failures
    assert path == changed
    assert reason == (f"changed since it was loaded (sha256 {sha256_of(files[0])[:12]}... "
                      f"then, {sha256_of(changed)[:12]}... now); the loaded rows are kept, "
                      "not overwritten")
    assert snapshot(session) == before


def test_a_gzipped_copy_of_a_loaded_file_is_skipped(session, files, tmp_path):
    load_lightcurves(session, files[:1], progress=False)
    copy = tmp_path / (files[0].name + ".gz")
    copy.write_bytes(gzip.compress(files[0].read_bytes()))
    renamed = tmp_path / "renamed_lc.fits"      # same bytes, another name
    shutil.copyfile(files[0], renamed)
    report = load_lightcurves(session, [copy, renamed], progress=False)
    assert (report.skipped, report.failures) == ([copy, renamed], [])
    assert count(session, LoadedFile) == 1


def test_bad_files_in_one_batch_fail_alone(session, files, tmp_path):
    load_lightcurves(session, files[3:4], progress=False)   # sector 2 exists
    before = snapshot(session)
    shifted = write_spoc_lightcurve(tmp_path, tic_id=C, sector=2, camera=1, ccd=1,
                                    n_cadences=60, first_cadenceno=1)
    truncated = write_truncated_copy(files[1], tmp_path / "truncated_lc.fits")
    twin = tmp_path / (files[0].name + ".gz")       # the batch's first file again
    twin.write_bytes(gzip.compress(files[0].read_bytes()))
    batch = [files[0], shifted, truncated, files[2], twin, files[4]]
    report = load_lightcurves(session, batch, progress=False, batch_size=len(batch))
    assert report.loaded == [files[0], files[2], files[4]]
    assert report.skipped == [twin]
    assert report.failed == [truncated, shifted]      # refused while reading, then writing
    assert report.failures[1][1].startswith("cadence numbers differ from observation ")
    after = snapshot(session)
    assert set(after) - set(before) == {(A, 1, 120), (C, 1, 120), (D, 2, 120)}
    assert (C, 2, 120) not in after                  # nothing of the shifted file
    assert session.scalar(select(func.count()).select_from(LoadedFile).where(
        LoadedFile.file_name == shifted.name)) == 0


def _refuse_file_in_database(session: Session, name: str) -> None:
    """A trigger of the database (not of lightcurvedb) refusing the record of file ``name``."""
    if session.connection().dialect.name == "sqlite":
        session.execute(text(
            "CREATE TRIGGER refuse_one BEFORE INSERT ON loaded_file "
            f"WHEN NEW.file_name = '{name}' "
            "BEGIN SELECT RAISE(ABORT, 'site policy refuses this file'); END"))
        return
    session.execute(text(
        "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF NEW.file_name = '{name}' THEN "
        "RAISE EXCEPTION 'site policy refuses this file'; END IF; RETURN NEW; END $$"))
    session.execute(text("CREATE TRIGGER refuse_one BEFORE INSERT ON loaded_file "
                         "FOR EACH ROW EXECUTE FUNCTION refuse_one()"))


def test_a_batch_the_database_refuses_is_written_file_by_file(session, files):
    # The database refuses one file's rows in the middle of the batch's bulk write
    # (COPY on PostgreSQL, executemany on SQLite); the batch falls back to one
    # SAVEPOINT per file, so only that file fails, with the database's reason.
    batch = files[:4]
    refused = batch[2]
    _refuse_file_in_database(session, refused.name)
    report = load_lightcurves(session, batch, progress=False, batch_size=len(batch))
    assert report.loaded == [batch[0], batch[1], batch[3]]
    assert report.failed == [refused]
    assert "site policy refuses this file" in report.failures[0][1]
    loaded = snapshot(session)
    assert set(loaded) == {(A, 1, 120), (B, 1, 120), (A, 2, 120)}   # nothing of (C, 1, 120)
    assert count(session, DataSet) == 6 and count(session, TargetSpecificTime) == 3
    assert sorted(session.scalars(select(LoadedFile.file_name))) == sorted(
        path.name for path in report.loaded)
    with fits.open(batch[3]) as hdul:
        sap = np.array(hdul["LIGHTCURVE"].data["SAP_FLUX"], dtype=np.float64)
    np.testing.assert_array_equal(np.frombuffer(loaded[(A, 2, 120)]["sap"][0]), sap)


def test_worker_processes_write_the_same_rows(session, files):
    with session.begin_nested() as single:
        one = load_lightcurves(session, files, progress=False, jobs=1, batch_size=4)
        expected = snapshot(session)
        single.rollback()
    assert count(session, DataSet) == 0
    two = load_lightcurves(session, files, progress=False, jobs=2, batch_size=4)
    assert two.loaded == one.loaded == files
    assert snapshot(session) == expected
    assert len(expected) == len(files)
    # and the values are the files' (times are TIME + BJDREF)
    with fits.open(files[0]) as hdul:
        flux = np.array(hdul["LIGHTCURVE"].data["PDCSAP_FLUX"], dtype=np.float64)
    np.testing.assert_array_equal(np.frombuffer(expected[(A, 1, 120)]["pdcsap"][0]), flux)


class Interrupted(Exception):
    """Raised by a test's after_batch callback to stop a load between batches."""


@BOTH
def test_an_interrupted_load_resumes_where_it_stopped(empty_database_url, files, capsys):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        batches = []

        with Session(engine) as db:
            def commit_then_stop() -> None:
                db.commit()
                batches.append(1)
                if len(batches) == 1:
                    raise Interrupted

            with pytest.raises(Interrupted):
                load_lightcurves(db, files, progress=False, batch_size=2,
                                 after_batch=commit_then_stop)
        with Session(engine) as fresh:
            assert count(fresh, LoadedFile) == 2 and count(fresh, DataSet) == 4
        capsys.readouterr()
        report = load_paths(engine, files, progress=True, batch_size=2)
        assert report.skipped == files[:2] and report.loaded == files[2:]
        err = capsys.readouterr().err
        assert "tess: 2 of 8 files already loaded (checking their hashes); 6 left to load" \
            in err
        assert "] 6/6 " in err and "/8" not in err
        with Session(engine) as fresh:
            assert count(fresh, LoadedFile) == 8 and count(fresh, DataSet) == 16
    finally:
        engine.dispose()
