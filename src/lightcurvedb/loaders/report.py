"""What a loader run did, file by file (:class:`LoadReport`), and why a file failed.

All of it is generic: every loader (TESS SPOC, RBH-1, DSA-110) raises
:class:`LoaderError` for a file it refuses, finds its files with
:func:`find_files` and drives its run with :func:`run_loader`, which returns
a :class:`LoadReport`.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from astropy.utils.exceptions import AstropyWarning

from lightcurvedb.loaders.progress import ProgressBar

__all__ = ["LoadReport", "LoaderError", "PathArgument", "find_files", "refuse_if_fits_warned",
           "run_loader"]

#: One path or several, as loaders accept them.
PathArgument = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]


class LoaderError(ValueError):
    """A file cannot be loaded: unreadable, incomplete, inconsistent or conflicting.

    Parameters
    ----------
    path : path-like
        The offending file.
    reason : str
        Why it was refused, in words a user can act on.

    Examples
    --------
    >>> str(LoaderError("s1/x_lc.fits", "no 'LIGHTCURVE' HDU"))
    "s1/x_lc.fits: no 'LIGHTCURVE' HDU"
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(path, reason)
        self.path = pathlib.Path(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def refuse_if_fits_warned(path: pathlib.Path, caught: Sequence[warnings.WarningMessage],
                          error: type[LoaderError] = LoaderError) -> None:
    """Refuse a FITS file if astropy warned while reading it (truncation, checksum, header).

    Parameters
    ----------
    path : pathlib.Path
        The file being read.
    caught : sequence of warnings.WarningMessage
        What :func:`warnings.catch_warnings` recorded while reading it.
    error : LoaderError subclass, optional
        The class of the error to raise (default :class:`LoaderError`).

    Raises
    ------
    LoaderError
        ``"truncated or corrupt FITS file (...)"`` with astropy's first message.
    """
    from_astropy = [w for w in caught if issubclass(w.category, AstropyWarning)]
    if from_astropy:
        lines = [line.strip() for line in str(from_astropy[0].message).splitlines()
                 if line.strip() and not line.startswith("There may be extra bytes")]
        detail = " ".join(lines).replace(" (note: Astropy uses zero-based indexing).", ":")
        raise error(path, f"truncated or corrupt FITS file ({detail})")


@dataclass
class LoadReport:
    """The outcome of one loader run.

    Attributes
    ----------
    kind : str
        What was loaded, for the summary line, e.g. ``"TESS SPOC light curves"``.
    loaded : list of pathlib.Path
        Files whose rows were written by this run.
    skipped : list of pathlib.Path
        Files already in the database with identical data (nothing written).
    failures : list of (pathlib.Path, str)
        Files refused, with the reason; nothing of them was written.
    """

    kind: str = "files"
    loaded: list[pathlib.Path] = field(default_factory=list)
    skipped: list[pathlib.Path] = field(default_factory=list)
    failures: list[tuple[pathlib.Path, str]] = field(default_factory=list)

    @property
    def failed(self) -> list[pathlib.Path]:
        """The refused files (:class:`pathlib.Path`), in the order they were tried."""
        return [path for path, _ in self.failures]

    @property
    def ok(self) -> bool:
        """Whether no file failed."""
        return not self.failures

    @property
    def total(self) -> int:
        """Number of files tried: loaded, skipped and failed."""
        return len(self.loaded) + len(self.skipped) + len(self.failures)

    def add_loaded(self, path: str | os.PathLike[str]) -> None:
        """Record a file whose rows were written."""
        self.loaded.append(pathlib.Path(path))

    def add_skipped(self, path: str | os.PathLike[str]) -> None:
        """Record a file that was already loaded."""
        self.skipped.append(pathlib.Path(path))

    def add_failure(self, path: str | os.PathLike[str], reason: str) -> None:
        """Record a refused file and why."""
        self.failures.append((pathlib.Path(path), reason))

    def render(self) -> str:
        """Return a plain-text summary: one count line, then one line per failed file.

        Returns
        -------
        str
            For example::

                TESS SPOC light curves: 3 files: 2 loaded, 0 skipped, 1 failed
                failed:
                  s1/x_lc.fits: no 'LIGHTCURVE' HDU
        """
        noun = "file" if self.total == 1 else "files"
        lines = [f"{self.kind}: {self.total} {noun}: {len(self.loaded)} loaded, "
                 f"{len(self.skipped)} skipped, {len(self.failures)} failed"]
        if self.failures:
            lines.append("failed:")
            lines.extend(f"  {path}: {reason}" for path, reason in self.failures)
        return "\n".join(lines)


def find_files(paths: PathArgument, patterns: Sequence[str]) -> list[pathlib.Path]:
    """Expand directories recursively to the files matching ``patterns``; drop repeats.

    Files named explicitly are kept whatever their name (missing ones too: the
    loader reports them), in the order given; a directory's matches are sorted.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: dict[pathlib.Path, None] = {}
    for path in map(pathlib.Path, paths):
        if path.is_dir():
            matches = {match for pattern in patterns for match in path.rglob(pattern)
                       if match.is_file()}
            found.update(dict.fromkeys(sorted(matches)))
        else:
            found[path] = None
    return list(found)


def run_loader(files: Sequence[pathlib.Path], load_one: Callable[[pathlib.Path], bool], *,
               kind: str, label: str = "", progress: bool = True, strict: bool = False
               ) -> LoadReport:
    """Call ``load_one`` on each file, recording the outcome, under a progress bar.

    Parameters
    ----------
    files : sequence of pathlib.Path
        The files, in order.
    load_one : callable
        Loads one file atomically; returns True if it wrote rows, False if the
        file was already loaded; raises :class:`LoaderError` to refuse it.
    kind : str
        :attr:`LoadReport.kind`.
    label : str, optional
        Shown before the progress bar, e.g. ``"tess"``.
    progress : bool, optional
        Show a :class:`~lightcurvedb.loaders.progress.ProgressBar` on stderr.
    strict : bool, optional
        Re-raise the first :class:`LoaderError` instead of going on.

    Returns
    -------
    LoadReport
    """
    report = LoadReport(kind=kind)
    with ProgressBar(len(files), label=label, enabled=progress) as bar:
        for path in files:
            try:
                wrote = load_one(path)
            except LoaderError as exc:
                report.add_failure(path, exc.reason)
                if strict:
                    raise
            else:
                (report.add_loaded if wrote else report.add_skipped)(path)
            bar.advance()
    return report
