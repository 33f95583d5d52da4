"""Catalog target loads whose keys already exist: the same key is the same target.

DESI-shaped files come from :func:`write_desi_fibermap_pair` (coadd and spectra
files of one healpix, ``FIBERMAP`` HDUs, CHECKSUM/DATASUM in every HDU); the
expected TARGETIDs are read back with plain astropy.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import pathlib
import shutil

import numpy as np
import sqlalchemy as sa
from astropy.io import fits
from sqlalchemy.orm import Session

from lightcurvedb.loaders.catalog_report import CatalogLoadReport
from lightcurvedb.loaders.catalog_targets import load_catalog_targets
from lightcurvedb.models import CatalogValidation, MissionCatalog, Target
from lightcurvedb.testing.fits.desi import write_desi_fibermap_pair

IDS = 39_633_200_000_000_000 + 11 * np.arange(40, dtype=np.int64)


def load(session: Session, path, **options):
    options.setdefault("hdu", "FIBERMAP")
    return load_catalog_targets(session, path, catalog="DESI DR1", mission="DESI",
                                **options)


def targets(session: Session) -> dict[int, tuple[int, str | None]]:
    """name -> (id, designation) of the targets of DESI DR1."""
    session.expire_all()
    rows = session.execute(sa.select(Target.name, Target.id, Target.designation)
                           .join(MissionCatalog).where(MissionCatalog.name == "DESI DR1"))
    return {name: (target_id, designation) for name, target_id, designation in rows}


def stored(session: Session) -> list[CatalogValidation]:
    session.expire_all()
    return list(session.scalars(sa.select(CatalogValidation).order_by(CatalogValidation.id)))


def fibermap(path: pathlib.Path, column: str = "TARGETID", hdu: str = "FIBERMAP") -> list:
    with fits.open(path, memmap=False) as hdul:
        return np.array(hdul[hdu].data[column]).tolist()


def catalog_id(session: Session) -> int:
    return session.scalar(sa.select(MissionCatalog.id).where(MissionCatalog.name == "DESI DR1"))


# -- two files sharing 5 TARGETIDs --------------------------------------------------------


def test_second_file_creates_only_the_new_targets(session, tmp_path):
    """Overlapping tiles: b's 25 targets include 5 of a's 20."""
    a = write_desi_fibermap_pair(tmp_path / "a", IDS[:20], healpix=9557, seed=1)
    b = write_desi_fibermap_pair(tmp_path / "b", IDS[15:40], healpix=9558, seed=2)
    assert len(set(fibermap(a.coadd)) & set(fibermap(b.coadd))) == 5
    first = load(session, a.coadd)
    assert first.ok and (first.new_targets, first.existing_targets) == (20, 0)
    before = targets(session)
    assert sorted(before) == sorted(fibermap(a.coadd))

    run = load(session, b.coadd, chunk_rows=7)  # the shared keys fall in two chunks
    assert run.ok, run.render()
    (report,) = run.reports
    assert (report.rows_in_file, report.rows_loaded, report.existing_keys) == (25, 20, 5)
    assert (report.key_unique, report.passed, report.loaded) == (True, True, True)
    assert sorted(report.existing_examples) == IDS[15:20].tolist()
    after = targets(session)
    assert sorted(after) == IDS.tolist() and len(after) == 40
    # The 5 shared TARGETIDs are the same target rows as before.
    assert {name: after[name] for name in IDS[15:20].tolist()} == \
        {name: before[name] for name in IDS[15:20].tolist()}

    cid = catalog_id(session)
    assert f"key TARGETID: unique in the file (0 repeated); 20 new, 5 existing in " \
           f"target [catalog_id={cid}]" in report.render()
    assert "all checks passed" in report.render()
    assert run.render().endswith("\n\ntargets: 20 new, 5 existing\n"
                                 "catalog DESI DR1 targets: 1 file: 1 loaded, 0 skipped, "
                                 "0 failed")
    meta = report.to_table().meta
    assert (meta["rows_loaded"], meta["existing_keys"], meta["key_unique"],
            meta["existing"]) == (20, 5, True, "reuse")
    row = stored(session)[-1]
    assert (row.rows_in_file, row.rows_loaded, row.existing_keys, row.key_unique,
            row.passed, row.loaded, row.problems) == (25, 20, 5, True, True, True, [])
    assert CatalogLoadReport.from_validation(row).render() == report.render()


def test_refuse_existing_gives_the_old_message_and_writes_only_its_report(session, tmp_path):
    a = write_desi_fibermap_pair(tmp_path / "a", IDS[:20], seed=1)
    b = write_desi_fibermap_pair(tmp_path / "b", IDS[15:40], seed=2)
    load(session, a.coadd)
    run = load(session, b.coadd, existing="refuse")
    assert not run.ok
    ((path, reason),) = run.files.failures
    assert path == b.coadd
    shown = ", ".join(map(str, IDS[15:20].tolist()))
    assert reason == (f"5 key(s) of TARGETID are already in target "
                      f"[catalog_id={catalog_id(session)}] (e.g. {shown})")
    assert sorted(targets(session)) == IDS[:20].tolist()
    row = stored(session)[-1]
    assert (row.rows_loaded, row.existing_keys, row.key_unique, row.passed, row.loaded) == (
        0, 5, False, False, False)
    assert "NOT unique (0 repeated in the file, 5 already in target" in \
        CatalogLoadReport.from_validation(row).render()


def test_a_file_of_existing_targets_only_then_twice(session, tmp_path):
    pair = write_desi_fibermap_pair(tmp_path, IDS[:12], exposures=2, seed=3)
    load(session, pair.coadd)
    run = load(session, pair.coadd, hdu="EXP_FIBERMAP")  # another HDU: not a skip
    (report,) = run.reports
    assert (report.rows_loaded, report.existing_keys, report.loaded) == (0, 12, True)
    assert "0 new, 12 existing" in report.render()
    again = load(session, pair.coadd, hdu="EXP_FIBERMAP")
    assert again.reports[0].skipped and again.files.skipped == [pair.coadd]
    assert len(targets(session)) == 12 and len(stored(session)) == 2


# -- per-exposure tables --------------------------------------------------------------------


def test_spectra_fibermap_lists_a_target_once_per_exposure(session, tmp_path):
    pair = write_desi_fibermap_pair(tmp_path, IDS[:15], exposures=4, seed=4)
    ids = fibermap(pair.spectra)
    expids = fibermap(pair.spectra, "EXPID")
    assert len(ids) == pair.spectra_rows > len(set(ids)) == 15  # TARGETIDs repeat
    assert len(set(zip(ids, expids, strict=True))) == len(ids)  # once per exposure

    run = load(session, pair.spectra, chunk_rows=6)
    assert run.ok, run.render()
    (report,) = run.reports
    assert report.key_columns == ["TARGETID", "EXPID"]
    assert (report.rows_in_file, report.rows_loaded, report.duplicate_keys) == (
        len(ids), 15, 0)
    assert sorted(targets(session)) == sorted(set(ids))
    # The coadd of the same healpix: the same 15 targets, nothing new.
    coadd = load(session, pair.coadd).reports[0]
    assert (coadd.key_columns, coadd.rows_loaded, coadd.existing_keys) == (["TARGETID"], 0, 15)
    assert len(targets(session)) == 15


def test_a_target_twice_in_one_exposure_is_refused(session, tmp_path):
    path = tmp_path / "spectra-bad.fits"
    fits.BinTableHDU.from_columns([
        fits.Column(name="TARGETID", format="K", array=np.array([5, 6, 5, 5])),
        fits.Column(name="EXPID", format="J", array=np.array([10, 10, 11, 10]))],
        name="FIBERMAP").writeto(path)
    run = load(session, path)
    ((_, reason),) = run.files.failures
    assert reason == "key TARGETID, EXPID is not unique: 1 row(s) repeat an earlier key " \
                     "(e.g. (5, 10))"
    assert targets(session) == {}


def test_without_an_exposure_column_a_repeat_is_a_duplicate(session, tmp_path):
    pair = write_desi_fibermap_pair(tmp_path, IDS[:10], exposures=2, seed=5)
    repeats = pair.spectra_rows - 10
    run = load(session, pair.spectra, exposure=None)
    ((_, reason),) = run.files.failures
    assert reason.startswith(f"key TARGETID is not unique: {repeats} row(s) repeat an "
                             "earlier key")
    assert targets(session) == {}


# -- designations ----------------------------------------------------------------------------


def named(path: pathlib.Path, ids, names, expids=None) -> pathlib.Path:
    columns = [fits.Column(name="TARGETID", format="K", array=np.array(ids)),
               fits.Column(name="DESIG", format="12A", array=np.array(names))]
    if expids is not None:
        columns.append(fits.Column(name="EXPID", format="J", array=np.array(expids)))
    fits.BinTableHDU.from_columns(columns, name="FIBERMAP").writeto(path)
    return path


def test_designation_filled_when_null_kept_otherwise(session, tmp_path):
    load(session, named(tmp_path / "a.fits", [1, 2, 3], ["", "DESI B", "DESI C"]),
         designation="DESIG")
    run = load(session, named(tmp_path / "b.fits", [1, 2, 3, 4],
                              ["DESI A", "DESI B", "", "DESI D"]), designation="DESIG")
    assert run.ok, run.render()
    assert (run.new_targets, run.existing_targets) == (1, 3)
    got = {name: designation for name, (_, designation) in targets(session).items()}
    assert got == {1: "DESI A", 2: "DESI B", 3: "DESI C", 4: "DESI D"}


def test_designation_conflict_refuses_the_file(session, tmp_path):
    load(session, named(tmp_path / "a.fits", [1, 2], ["", "DESI B"]), designation="DESIG")
    run = load(session, named(tmp_path / "b.fits", [1, 2, 5], ["DESI A", "DESI X", "DESI E"]),
               designation="DESIG")
    ((_, reason),) = run.files.failures
    assert reason == (f"1 key(s) of TARGETID already in target [catalog_id="
                      f"{catalog_id(session)}] hold other values than the file's (e.g. 2: "
                      "DESIG 'DESI X' in the file, 'DESI B' stored)")
    # Nothing written: neither target 5 nor the fill of target 1.
    assert {n: d for n, (_, d) in targets(session).items()} == {1: None, 2: "DESI B"}
    assert stored(session)[-1].problems == [reason]


def test_designation_fill_the_database_refuses(session, tmp_path):
    load(session, named(tmp_path / "a.fits", [1, 2], ["", "DESI B"]), designation="DESIG")
    run = load(session, named(tmp_path / "b.fits", [1, 7], ["DESI B", "DESI G"]),
               designation="DESIG")  # target 2 has "DESI B": unique per catalog
    ((path, reason),) = run.files.failures
    assert path.name == "b.fits"
    assert reason.startswith("the database refused the values filled into stored rows "
                             "(designation)")
    assert {n: d for n, (_, d) in targets(session).items()} == {1: None, 2: "DESI B"}


def test_rows_of_one_target_must_agree_on_its_designation(session, tmp_path):
    path = named(tmp_path / "s.fits", [7, 7, 8, 8], ["P", "Q", "R", "R"], expids=[1, 2, 1, 2])
    run = load(session, path, designation="DESIG")
    ((_, reason),) = run.files.failures
    assert reason.startswith("1 key(s) of TARGETID repeat on rows that disagree on a loaded "
                             "column (e.g. 7 (DESIG))")
    assert targets(session) == {}
    same = named(tmp_path / "t.fits", [7, 7, 8], ["P", "P", "R"], expids=[1, 2, 1])
    assert load(session, same, designation="DESIG").new_targets == 2
    assert {n: d for n, (_, d) in targets(session).items()} == {7: "P", 8: "R"}


# -- the same content, damaged content ------------------------------------------------------


def test_a_gzipped_copy_of_a_loaded_file_is_skipped(session, tmp_path):
    pair = write_desi_fibermap_pair(tmp_path, IDS[:10], seed=6)
    load(session, pair.coadd)
    copy = tmp_path / "copy" / (pair.coadd.name + ".gz")
    copy.parent.mkdir()
    with pair.coadd.open("rb") as plain, gzip.open(copy, "wb") as packed:
        shutil.copyfileobj(plain, packed)
    assert copy.read_bytes()[:2] == b"\x1f\x8b"
    run = load(session, copy)
    (report,) = run.reports
    assert report.skipped and run.files.skipped == [copy]
    assert report.sha256 == hashlib.sha256(pair.coadd.read_bytes()).hexdigest()
    (row,) = stored(session)
    assert row.sha256 == report.sha256 and row.source_path == pair.coadd.absolute()
    assert len(targets(session)) == 10


def test_a_compressed_file_loads(session, tmp_path):
    pair = write_desi_fibermap_pair(tmp_path, IDS[:9], exposures=2, seed=7)
    packed = tmp_path / (pair.spectra.name + ".bz2")
    packed.write_bytes(bz2.compress(pair.spectra.read_bytes()))
    (report,) = load(session, packed).reports
    assert (report.rows_in_file, report.rows_loaded) == (pair.spectra_rows, 9)
    assert report.sha256 == hashlib.sha256(pair.spectra.read_bytes()).hexdigest()
    assert sorted(targets(session)) == IDS[:9].tolist()


def test_a_flipped_byte_is_refused_naming_the_hdu(session, tmp_path):
    pair = write_desi_fibermap_pair(tmp_path, IDS[:10], seed=8)
    with fits.open(pair.coadd) as hdul:
        at = hdul["FIBERMAP"].fileinfo()["datLoc"] + 3  # inside row 0's TARGETID
    damaged = tmp_path / "damaged.fits"
    raw = bytearray(pair.coadd.read_bytes())
    raw[at] ^= 0x01
    damaged.write_bytes(bytes(raw))
    run = load(session, damaged)
    ((path, reason),) = run.files.failures
    assert path == damaged
    assert reason.startswith("checksum mismatch: HDU 1 ('FIBERMAP'): DATASUM = ")
    assert "HDU 2" not in reason  # only the damaged HDU is named
    assert targets(session) == {} and stored(session) == []
