"""Load an RBH-1 directory (HST WFC3/UVIS and JWST NIRSpec IFU files) into zones 0 and 1.

Each file is classified from its headers, parsed and validated into plain
records (:func:`~lightcurvedb.loaders.rbh1.records.read_rbh1_file`), then
written inside its own SAVEPOINT
(:func:`~lightcurvedb.loaders.rbh1.store.store_rbh1_file`): the mission frame
under its HST/JWST observation, the ``rbh1.observations`` row, and its
``rbh1.wcs_solutions`` / ``rbh1.spectral_grids`` rows. Every run records its
stages in ``rbh1.pipeline_runs``. See :doc:`/rbh1`::

    from lightcurvedb.loaders.rbh1 import load_rbh1_directory

    with lightcurvedb.session() as s:
        report = load_rbh1_directory(s, "/data/rbh1", dictionary_path="dictionary.json")
    print(report.render())
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from lightcurvedb.core.engine import connect
from lightcurvedb.core.engine import session as open_session
from lightcurvedb.loaders.rbh1.geometry import RBH1FileError, canonical_grid_hash
from lightcurvedb.loaders.rbh1.introspect import build_data_dictionary, write_data_dictionary
from lightcurvedb.loaders.rbh1.provenance import StageLog
from lightcurvedb.loaders.rbh1.records import RBH1File, read_rbh1_file
from lightcurvedb.loaders.rbh1.store import store_rbh1_file
from lightcurvedb.loaders.report import (
    LoaderError,
    LoadReport,
    PathArgument,
    find_files,
    run_loader,
    with_compressed,
)
from lightcurvedb.rbh1 import SpectralGrid

__all__ = [
    "RBH1_PATTERNS",
    "RBH1LoadReport",
    "canonical_grid_hash",
    "distinct_grid_hashes",
    "find_rbh1_files",
    "grids_identical",
    "load_rbh1_directory",
    "load_rbh1_paths",
    "shared_grid_hash",
]

#: File names searched for in directories (plain, gzip, bzip2 and tile-compressed
#: ``.fits.fz``); the headers then decide each file's type.
RBH1_PATTERNS = with_compressed(("*.fits",), tile_compressed=True)


@dataclass
class RBH1LoadReport(LoadReport):
    """A :class:`~lightcurvedb.loaders.report.LoadReport` with the run's provenance.

    Attributes
    ----------
    run_name : str
        :attr:`~lightcurvedb.rbh1.PipelineRun.run_name` of the run's stage rows.
    notes : list of (pathlib.Path, str)
        Loaded files worth a remark, e.g. a name that disagrees with the headers.
    dictionary_path : pathlib.Path or None
        Where the data dictionary was written, if asked for.
    """

    run_name: str = ""
    notes: list[tuple[pathlib.Path, str]] = field(default_factory=list)
    dictionary_path: pathlib.Path | None = None

    def render(self) -> str:
        """Return :meth:`LoadReport.render` plus the run name, notes and dictionary."""
        lines = [super().render()]
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  {path}: {note}" for path, note in self.notes)
        if self.run_name:
            lines.append(f"pipeline run: {self.run_name}")
        if self.dictionary_path is not None:
            lines.append(f"data dictionary: {self.dictionary_path}")
        return "\n".join(lines)


def find_rbh1_files(paths: PathArgument) -> list[pathlib.Path]:
    """Expand directories recursively to their :data:`RBH1_PATTERNS` files (see ``find_files``).

    Raises :class:`~lightcurvedb.loaders.report.NoFilesFound` for a directory
    that holds none.
    """
    return find_files(paths, RBH1_PATTERNS)


def load_rbh1_directory(session: Session, directory: PathArgument, *, progress: bool = True,
                        strict: bool = False,
                        dictionary_path: str | os.PathLike[str] | None = None
                        ) -> RBH1LoadReport:
    """Load every RBH-1 file under ``directory``, each atomically, into zones 0 and 1.

    The session is flushed, never committed: commit it yourself, or use
    :func:`load_rbh1_paths`.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration.
    directory : path-like or iterable of path-like
        A directory searched recursively for :data:`RBH1_PATTERNS` (``*.fits``,
        ``*.fits.gz``, ``*.fits.bz2``, ``*.fits.fz``), or files.
    progress : bool, optional
        Show a progress bar on stderr.
    strict : bool, optional
        Raise at the first failure instead of going on (the stage rows are
        still closed as ``failed`` before the error propagates).
    dictionary_path : path-like, optional
        Also write the data dictionary of the files (JSON) there.

    Returns
    -------
    RBH1LoadReport
        Files loaded, skipped (same name and SHA-256 already loaded) and
        failed (with reasons), the run name and notes.

    Raises
    ------
    LoaderError
        With ``strict=True``, for the first file that fails.
    NoFilesFound
        If a directory holds no file :data:`RBH1_PATTERNS` match (nothing is
        written, not even the run's stage rows).
    """
    files = find_rbh1_files(directory)
    log = StageLog(session)
    notes: list[tuple[pathlib.Path, str]] = []

    def load_one(path: pathlib.Path) -> bool:
        stage = "observations"
        try:
            record: RBH1File = read_rbh1_file(path)
            try:
                with session.begin_nested():
                    wrote = store_rbh1_file(session, record, run_id=log.observations_run_id)
            except SQLAlchemyError as exc:
                orig = getattr(exc, "orig", None) or exc
                raise RBH1FileError(path, "the database refused the rows: "
                                          f"{str(orig).splitlines()[0]}") from exc
        except RBH1FileError as exc:
            stage = exc.stage
            log.failed(path, exc.reason, stage)
            raise
        (log.loaded if wrote else log.skipped)(record)
        notes.extend((path, note) for note in record.notes if wrote)
        return wrote

    try:
        base = run_loader(files, load_one, kind="RBH-1 files", label="rbh1", progress=progress,
                          strict=strict)
    except BaseException as exc:
        log.finish(error=str(exc) if isinstance(exc, LoaderError) else repr(exc))
        raise
    log.finish()
    report = RBH1LoadReport(kind=base.kind, loaded=base.loaded, skipped=base.skipped,
                            failures=base.failures, run_name=log.run_name, notes=notes)
    if dictionary_path is not None:
        root = directory if isinstance(directory, (str, os.PathLike)) else None
        report.dictionary_path = write_data_dictionary(
            build_data_dictionary(files, root=root), dictionary_path)
    return report


def load_rbh1_paths(bind: str | URL | Engine | None, directory: PathArgument, *,
                    progress: bool = True, strict: bool = False,
                    dictionary_path: str | os.PathLike[str] | None = None) -> RBH1LoadReport:
    """Load with :func:`load_rbh1_directory` in a new session, and commit.

    The database must be at the newest migration (``lcdb load rbh1``
    migrates first). With ``strict=True`` a failure rolls the whole run back.

    Parameters
    ----------
    bind : str, sqlalchemy.engine.URL or sqlalchemy.engine.Engine, optional
        The database; resolved like :func:`lightcurvedb.connect` when None.
    directory, progress, strict, dictionary_path
        As for :func:`load_rbh1_directory`.

    Returns
    -------
    RBH1LoadReport
    """
    engine = bind if isinstance(bind, Engine) else connect(bind)
    try:
        with open_session(engine) as db:
            return load_rbh1_directory(db, directory, progress=progress, strict=strict,
                                       dictionary_path=dictionary_path)
    finally:
        if engine is not bind:
            engine.dispose()


def distinct_grid_hashes(session: Session) -> dict[str, int]:
    """Return ``{grid_hash: number of cubes}`` over every stored spectral grid."""
    rows = session.execute(select(SpectralGrid.grid_hash, func.count())
                           .group_by(SpectralGrid.grid_hash)
                           .order_by(func.count().desc(), SpectralGrid.grid_hash)).all()
    return {digest: int(n) for digest, n in rows}


def grids_identical(session: Session) -> bool:
    """Whether every stored cube has the same wavelength grid (one distinct hash).

    False when no grid is stored; :func:`shared_grid_hash` gives the hash.
    """
    return len(distinct_grid_hashes(session)) == 1


def shared_grid_hash(session: Session) -> str | None:
    """Return the hash every stored grid shares; None if they differ or there are none.

    The hash is :func:`~lightcurvedb.loaders.rbh1.geometry.canonical_grid_hash`
    of the wavelengths (SHA-256 of the float64 little-endian array).
    """
    hashes = distinct_grid_hashes(session)
    return next(iter(hashes)) if len(hashes) == 1 else None
