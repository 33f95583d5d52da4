"""Which files a loader has already written: :class:`~lightcurvedb.models.LoadedFile` records.

A loader records each file it writes (name, SHA-256 of the uncompressed
bytes, size, path) in the transaction that writes its rows. Before reading a
file the next run looks its name up (:func:`recorded_hashes`): a recorded
file is only hashed (:func:`check_recorded`), not parsed -- the same hash is
skipped, another hash is refused as changed. Nothing is ever overwritten.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lightcurvedb.loaders.fitsfile import content_sha256
from lightcurvedb.loaders.report import LoaderError, uncompressed_name
from lightcurvedb.models import LoadedFile

__all__ = ["changed_reason", "check_recorded", "file_key", "recorded_hashes",
           "recorded_names", "record_row"]

#: Names looked up per query (well under SQLite's bound-parameter limit).
_LOOKUP_CHUNK = 500


def file_key(path: str | pathlib.Path) -> str:
    """Return the name a file is recorded under: no directories, no ``.gz``/``.bz2`` suffix."""
    return uncompressed_name(pathlib.Path(path).name)


def _chunked(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _LOOKUP_CHUNK):
        yield values[start:start + _LOOKUP_CHUNK]


def recorded_hashes(session: Session, loader: str, paths: Sequence[pathlib.Path]
                    ) -> dict[str, str]:
    """Return ``{file name: sha256}`` of the ``paths`` whose name ``loader`` has recorded.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration.
    loader : str
        The loader's name, e.g. ``"tess"``.
    paths : sequence of pathlib.Path
        The files about to be loaded.

    Returns
    -------
    dict
        Keys from :func:`file_key`.
    """
    names = sorted({file_key(path) for path in paths})
    found: dict[str, str] = {}
    for chunk in _chunked(names):
        found.update(session.execute(
            select(LoadedFile.file_name, LoadedFile.sha256)
            .where(LoadedFile.loader == loader, LoadedFile.file_name.in_(chunk))).all())
    return found


def recorded_names(session: Session, loader: str, hashes: Sequence[str]) -> dict[str, str]:
    """Return ``{sha256: file name}`` for the ``hashes`` ``loader`` has recorded (any name)."""
    found: dict[str, str] = {}
    for chunk in _chunked(sorted(set(hashes))):
        for sha, name in session.execute(
                select(LoadedFile.sha256, LoadedFile.file_name)
                .where(LoadedFile.loader == loader, LoadedFile.sha256.in_(chunk))):
            found.setdefault(sha, name)
    return found


def changed_reason(recorded: str, now: str) -> str:
    """Return the one-line reason a recorded file whose content changed is refused."""
    return (f"changed since it was loaded (sha256 {recorded[:12]}... then, {now[:12]}... "
            "now); the loaded rows are kept, not overwritten")


def check_recorded(path: pathlib.Path, recorded: str) -> bool:
    """Hash a file recorded as loaded: True if unchanged (skip it).

    Raises
    ------
    LoaderError
        ``"no such file"``, or :func:`changed_reason` when its SHA-256
        differs from the recorded one.
    """
    try:
        now = content_sha256(path)
    except FileNotFoundError:
        raise LoaderError(path, "no such file") from None
    except OSError as exc:
        raise LoaderError(path, f"cannot read it ({exc})") from None
    if now != recorded:
        raise LoaderError(path, changed_reason(recorded, now))
    return True


def record_row(loader: str, path: pathlib.Path, sha256: str, size_bytes: int,
               target_id: int | None = None, observation_id: int | None = None
               ) -> dict[str, Any]:
    """Return the :class:`~lightcurvedb.models.LoadedFile` row of one written file, as a dict."""
    return {"loader": loader, "file_name": file_key(path), "sha256": sha256,
            "size_bytes": size_bytes, "file_path": pathlib.Path(path).absolute(),
            "target_id": target_id, "observation_id": observation_id}
