"""Provenance of a loader run: one ``rbh1.pipeline_runs`` row per stage.

A :class:`StageLog` creates the rows of the stages ``observations``,
``wcs_solutions`` and ``spectral_grids`` as ``running`` when a run starts,
counts each file's outcome, writes each failure onto its stage's row at once
(in a SAVEPOINT of its own, after the file's own SAVEPOINT was rolled back,
so the record survives), and finishes every stage as ``success`` or
``failed`` with its counts, notes (exclusions included) and errors.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from lightcurvedb.loaders.rbh1.records import RBH1File
from lightcurvedb.rbh1 import PipelineRun

__all__ = ["STAGES", "StageLog", "new_run_name"]

#: The stages of one run, in order.
STAGES = ("observations", "wcs_solutions", "spectral_grids")
#: Failure lines kept in ``error_message`` (the rest are counted).
_MAX_ERRORS = 20


def new_run_name() -> str:
    """Return a unique run name, e.g. ``rbh1-load-20241224T045800Z-3f2a9c``."""
    return f"rbh1-load-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@dataclass
class _Tally:
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    excluded: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


class StageLog:
    """The ``pipeline_runs`` rows of one run and the counts behind them.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Where the rows go (flushed, not committed).
    run_name : str, optional
        Shared by the stage rows; default :func:`new_run_name`.
    """

    def __init__(self, session: Session, run_name: str | None = None) -> None:
        self.session = session
        self.run_name = run_name or new_run_name()
        self.tallies = {stage: _Tally() for stage in STAGES}
        self.grid_hashes: Counter[str] = Counter()
        self.grid_modes: Counter[str] = Counter()
        self.notes: list[str] = []
        now = dt.datetime.now(dt.UTC)
        with session.begin_nested():
            self.runs = {stage: PipelineRun(run_name=self.run_name, stage_name=stage,
                                            status="running", started_at=now)
                         for stage in STAGES}
            session.add_all(self.runs.values())
            session.flush()

    @property
    def observations_run_id(self) -> int:
        """``run_id`` of the ``observations`` stage (stored on each catalog row)."""
        return self.runs["observations"].run_id

    def loaded(self, record: RBH1File) -> None:
        """Count a file whose rows were written."""
        self._count(record, "processed")

    def skipped(self, record: RBH1File) -> None:
        """Count a file that was already loaded with identical content."""
        self._count(record, "skipped")

    def _count(self, record: RBH1File, outcome: str) -> None:
        obs, wcs, grids = (self.tallies[stage] for stage in STAGES)
        setattr(obs, outcome, getattr(obs, outcome) + 1)
        obs.by_type[record.file_type] += outcome == "processed"
        self.notes.extend(f"{record.file_name}: {note}" for note in record.notes)
        if record.wcs is None:
            wcs.skipped += 1
            wcs.excluded.setdefault(record.file_type, []).append(
                record.wcs_excluded_reason or "no WCS")
            return
        setattr(wcs, outcome, getattr(wcs, outcome) + 1)
        wcs.by_type[record.file_type] += outcome == "processed"
        if record.grid is not None:
            setattr(grids, outcome, getattr(grids, outcome) + 1)
            grids.by_type[record.file_type] += outcome == "processed"
            if outcome == "processed":
                self.grid_hashes[record.grid.grid_hash] += 1
                self.grid_modes[record.grid.extraction_mode] += 1

    def failed(self, path: pathlib.Path, reason: str, stage: str = "observations") -> None:
        """Count a refused file and record the reason on its stage's row now."""
        tally = self.tallies[stage if stage in STAGES else "observations"]
        tally.failed += 1
        tally.errors.append(f"{path}: {reason}")
        run = self.runs[stage if stage in STAGES else "observations"]
        with self.session.begin_nested():
            run.rows_failed = tally.failed
            run.error_message = self._errors(tally)
            self.session.flush()

    @staticmethod
    def _errors(tally: _Tally) -> str | None:
        if not tally.errors:
            return None
        lines = tally.errors[:_MAX_ERRORS]
        more = len(tally.errors) - len(lines)
        return (f"{len(tally.errors)} file(s) failed:\n" + "\n".join(lines)
                + (f"\n... and {more} more" if more else ""))

    def _notes(self, stage: str) -> str:
        tally = self.tallies[stage]
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(tally.by_type.items()) if n)
        parts = [f"{tally.processed} written ({counts or 'none'}), {tally.skipped} skipped, "
                 f"{tally.failed} failed"]
        if stage == "observations" and self.notes:
            parts.append("classified by headers: " + "; ".join(self.notes))
        if stage == "wcs_solutions" and tally.excluded:
            parts.append("excluded: " + "; ".join(
                f"{kind} {len(reasons)} ({reasons[0]})"
                for kind, reasons in sorted(tally.excluded.items())))
        if stage == "spectral_grids" and self.grid_hashes:
            parts.append(f"{len(self.grid_hashes)} distinct wavelength grid(s): " + ", ".join(
                f"sha256 {digest} x{n}" for digest, n in self.grid_hashes.most_common()))
            parts.append("extraction: " + ", ".join(
                f"{mode} {n}" for mode, n in sorted(self.grid_modes.items())))
        return "\n".join(parts)

    def finish(self, error: str | None = None) -> None:
        """Close every stage: ``failed`` if it refused a file or ``error`` is given.

        Parameters
        ----------
        error : str, optional
            Why the whole run stopped (e.g. the first failure under
            ``strict=True``, or a database error); recorded on every stage.
        """
        now = dt.datetime.now(dt.UTC)
        with self.session.begin_nested():
            for stage, run in self.runs.items():
                tally = self.tallies[stage]
                message = self._errors(tally)
                if error is not None:
                    message = f"run stopped: {error}" + (f"\n{message}" if message else "")
                run.status = "failed" if (tally.failed or error is not None) else "success"
                run.completed_at = now
                run.rows_processed, run.rows_skipped = tally.processed, tally.skipped
                run.rows_failed = tally.failed
                run.notes, run.error_message = self._notes(stage), message
            self.session.flush()
