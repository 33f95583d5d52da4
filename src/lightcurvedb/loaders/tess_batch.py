"""Write a batch of parsed SPOC light curves at once: bulk rows, per-file isolation kept.

:func:`write_spoc_batch` is the "write" half of ``lcdb load tess`` (the
"parse" half is :func:`~lightcurvedb.loaders.spoc.read_spoc_lightcurve`, run
in worker processes). For a batch it

1. skips files whose content hash is already recorded (under any name) or
   repeats an earlier file of the batch;
2. inside one SAVEPOINT, resolves the shared rows (mission, TIC catalog, CCDs,
   photometric source, PDC method), the observations (checking each file's
   cadence numbers: a mismatch refuses that file alone) and the targets, then
   writes every new file's times, SAP and PDCSAP light curves, lineage edge,
   quality flags and :class:`~lightcurvedb.models.LoadedFile` record with one
   bulk write per table (binary ``COPY`` on PostgreSQL, ``executemany`` on
   SQLite: :func:`~lightcurvedb.bulk.copy_rows`);
3. sends the files that need comparing with rows already in the database
   (loaded before hashes were recorded, or sharing a target and observation
   with another file of the batch) -- and every file of the batch, should the
   database refuse the bulk write -- through the per-file path
   (:func:`~lightcurvedb.loaders.tess.store_spoc_lightcurve` in a SAVEPOINT
   of its own), so a bad file fails alone with its reason.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from lightcurvedb.core.db_errors import describe_db_error
from lightcurvedb.loaders.loaded import (
    changed_reason,
    file_key,
    record_row,
    recorded_hashes,
    recorded_names,
)
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.loaders.spoc import SpocLightCurve
from lightcurvedb.missions.tess import TESSObservation, TESSQualityFlagArray, ensure_tess_mission
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    LoadedFile,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)

__all__ = ["LOADER", "write_spoc_batch"]

#: ``loaded_file.loader`` of SPOC light-curve files.
LOADER = "tess"
_FLAG_TYPE = TESSQualityFlagArray.__mapper__.polymorphic_identity


def _fast(session: Session, items: list[tuple[int, SpocLightCurve]]
          ) -> tuple[dict[int, LoaderError], list[int], list[int]]:
    """Bulk-write what can be: returns (refused, to compare one by one, written)."""
    from lightcurvedb.loaders import tess  # the per-file half shares the lookups

    refused: dict[int, LoaderError] = {}
    slow: list[int] = []
    _, catalog = ensure_tess_mission(session)
    source, method = tess.shared_methods(session)
    ccds: dict[tuple[int, int], Any] = {}
    observations: dict[tuple[int, int, Any], TESSObservation] = {}
    passing: list[tuple[int, SpocLightCurve, TESSObservation]] = []
    for i, lc in items:
        ccd = ccds.get((lc.camera, lc.ccd))
        if ccd is None:
            ccd = ccds[(lc.camera, lc.ccd)] = tess.tess_ccd(session, lc.camera, lc.ccd)
        key = (lc.sector, lc.cadence_seconds, ccd.id)
        try:
            observation = observations.get(key)
            if observation is None:
                observation = observations[key] = tess.observation_for(session, lc, ccd)
            else:
                tess.check_cadences(observation, lc)
        except LoaderError as exc:
            refused[i] = exc
            continue
        passing.append((i, lc, observation))
    positions: dict[int, dict[str, Any]] = {}     # TIC id -> the first file's position
    for _, lc, _ in passing:
        positions.setdefault(lc.tic_id, lc.position)
    stored = session.execute(select(Target.name, Target.id, Target.ra, Target.magnitude).where(
        Target.catalog_id == catalog.id, Target.name.in_(sorted(positions)))).all()
    target_ids = {name: target_id for name, target_id, _, _ in stored}
    unplaced = [target_id for name, target_id, ra, magnitude in stored
                if (ra is None and "ra" in positions[name])
                or (magnitude is None and "magnitude" in positions[name])]
    for target in session.scalars(select(Target).where(Target.id.in_(unplaced))):
        tess.record_position(target, positions[target.name])
    new_targets = [Target(catalog_id=catalog.id, name=name) for name in positions
                   if name not in target_ids]
    for target in new_targets:
        tess.record_position(target, positions[target.name])
    if new_targets or unplaced:
        session.add_all(new_targets)
        session.flush()
        target_ids.update((t.name, t.id) for t in new_targets)
    pairs = {(target_ids[lc.tic_id], obs.id) for _, lc, obs in passing}
    existing = _existing_pairs(session, pairs)
    recorded = recorded_hashes(session, LOADER, [lc.path for _, lc, _ in passing])
    fast: list[tuple[int, SpocLightCurve, int, int]] = []
    seen: set[tuple[int, int]] = set()
    seen_names: set[str] = set()
    for i, lc, obs in passing:
        pair, name = (target_ids[lc.tic_id], obs.id), file_key(lc.path)
        if pair in existing or pair in seen or name in recorded or name in seen_names:
            slow.append(i)
            continue
        seen.add(pair)
        seen_names.add(name)
        fast.append((i, lc, *pair))
    if fast:
        _bulk_write(session, fast, source.id, method.id)
    return refused, slow, [i for i, *_ in fast]


def _existing_pairs(session: Session, pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Return the (target, observation) pairs that already have times, light curves or flags."""
    if not pairs:
        return set()
    targets = sorted({t for t, _ in pairs})
    observations = sorted({o for _, o in pairs})
    found: set[tuple[int, int]] = set()
    for model in (TargetSpecificTime, DataSet, QualityFlagArray):
        table = model.__table__
        found.update(session.execute(select(table.c.target_id, table.c.observation_id).where(
            table.c.target_id.in_(targets), table.c.observation_id.in_(observations))
        ).all())
    return found & pairs


def _dataset_ids(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Write the light curves and return their ids, in order."""
    from lightcurvedb.bulk import copy_rows  # lightcurvedb.bulk imports the loaders package
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        ids = session.execute(text(
            "SELECT nextval(pg_get_serial_sequence('dataset', 'id')) "
            "FROM generate_series(1, :n)"), {"n": len(rows)}).scalars().all()
        copy_rows(connection, DataSet, [{**row, "id": i} for row, i in
                                        zip(rows, ids, strict=True)])
        return list(ids)
    return list(session.execute(insert(DataSet).returning(DataSet.id,
                                                          sort_by_parameter_order=True),
                                rows).scalars().all())


def _bulk_write(session: Session, fast: list[tuple[int, SpocLightCurve, int, int]],
                source_id: int, method_id: int) -> None:
    from lightcurvedb.bulk import copy_rows
    from lightcurvedb.loaders.tess import FLUX_UNIT

    connection = session.connection()
    copy_rows(connection, TargetSpecificTime, [
        {"target_id": t, "observation_id": o,
         "barycentric_julian_dates": lc.barycentric_julian_dates} for _, lc, t, o in fast])
    datasets: list[dict[str, Any]] = []
    for _, lc, t, o in fast:
        common = {"target_id": t, "observation_id": o, "photometric_method_id": source_id,
                  "unit": FLUX_UNIT}
        datasets.append({**common, "processing_method_id": None, "values": lc.sap_flux,
                         "errors": lc.sap_flux_err})
        datasets.append({**common, "processing_method_id": method_id,
                         "values": lc.pdcsap_flux, "errors": lc.pdcsap_flux_err})
    ids = _dataset_ids(session, datasets)
    copy_rows(connection, DataSetHierarchy, [
        {"source_dataset_id": ids[2 * n], "source_observation_id": o,
         "child_dataset_id": ids[2 * n + 1], "child_observation_id": o}
        for n, (_, _, _, o) in enumerate(fast)])
    copy_rows(connection, QualityFlagArray, [
        {"type": _FLAG_TYPE, "observation_id": o, "target_id": t,
         "quality_flags": np.asarray(lc.quality, dtype=np.int64)} for _, lc, t, o in fast])
    copy_rows(connection, LoadedFile, [
        record_row(LOADER, lc.path, lc.sha256, lc.size_bytes, t, o) for _, lc, t, o in fast])


def record_loaded(session: Session, lc: SpocLightCurve, target_id: int,
                  observation_id: int) -> None:
    """Record one file as loaded (per-file path); refuse it if its name holds other content.

    Raises
    ------
    LoaderError
        :func:`~lightcurvedb.loaders.loaded.changed_reason` when the name is
        recorded with another hash.
    """
    name = file_key(lc.path)
    recorded = session.scalar(select(LoadedFile.sha256).where(
        LoadedFile.loader == LOADER, LoadedFile.file_name == name))
    if recorded is None:
        session.add(LoadedFile(**record_row(LOADER, lc.path, lc.sha256, lc.size_bytes,
                                            target_id, observation_id)))
        session.flush()
    elif recorded != lc.sha256:
        raise LoaderError(lc.path, changed_reason(recorded, lc.sha256))


def store_one(session: Session, lc: SpocLightCurve) -> bool:
    """Write (or compare) one light curve and record it, in a SAVEPOINT: the per-file path.

    Returns True if rows were written, False if they were already there.

    Raises
    ------
    LoaderError
        As :func:`~lightcurvedb.loaders.tess.store_spoc_lightcurve`, and
        :func:`~lightcurvedb.core.db_errors.describe_db_error`'s line for a
        database error; either way the
        file's SAVEPOINT is rolled back.
    """
    from lightcurvedb.loaders.tess import store_and_locate

    try:
        with session.begin_nested():
            wrote, target_id, observation_id = store_and_locate(session, lc)
            record_loaded(session, lc, target_id, observation_id)
    except sa_exc.DBAPIError as exc:
        raise LoaderError(lc.path, describe_db_error(exc)) from None
    return wrote


def write_spoc_batch(session: Session, lcs: Sequence[SpocLightCurve]
                     ) -> list[tuple[pathlib.Path, bool | LoaderError]]:
    """Write a batch of parsed light curves; say per file what happened.

    Flushes but never commits. See the module description for the steps.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration.
    lcs : sequence of SpocLightCurve
        From :func:`~lightcurvedb.loaders.spoc.read_spoc_lightcurve`.

    Returns
    -------
    list of (pathlib.Path, bool or LoaderError)
        In the order of ``lcs``: True (rows written), False (already loaded:
        same content hash, or identical rows), or why the file was refused
        (nothing of it written).
    """
    from lightcurvedb.bulk import BulkLoadError

    outcomes: dict[int, bool | LoaderError] = {}
    known = recorded_names(session, LOADER, [lc.sha256 for lc in lcs])
    todo: list[tuple[int, SpocLightCurve]] = []
    hashes: set[str] = set()
    for i, lc in enumerate(lcs):
        if lc.sha256 in known or lc.sha256 in hashes:
            outcomes[i] = False
        else:
            hashes.add(lc.sha256)
            todo.append((i, lc))
    try:
        with session.begin_nested():
            refused, slow, written = _fast(session, todo)
    except (BulkLoadError, sa_exc.DBAPIError, LoaderError):
        refused, slow, written = {}, [i for i, _ in todo], []
    outcomes.update(refused)
    outcomes.update(dict.fromkeys(written, True))
    for i in slow:
        try:
            outcomes[i] = store_one(session, lcs[i])
        except LoaderError as exc:
            outcomes[i] = exc
    return [(lc.path, outcomes[i]) for i, lc in enumerate(lcs)]
