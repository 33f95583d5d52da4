"""Writing RBH-1 zone 3 from analysis code: line fits, physical properties and MCMC runs.

Zone 3 is filled by fitting code, not read from FITS files. Each service takes
typed rows (the dataclasses below, or dicts with the same keys), validates
every one of them, then writes them all in bulk with Core ``INSERT ... ON
CONFLICT ... DO UPDATE`` (PostgreSQL and SQLite >= 3.24 alike):

* :func:`record_emission_lines` -- :class:`EmissionLineFit` rows, one per
  (spaxel, line): a second fit of the same line replaces the first;
* :func:`record_physical_properties` -- :class:`PhysicalPropertiesRow` rows,
  one per spaxel, replaced likewise;
* :func:`record_mcmc_run` -- one :class:`MCMCRun` and its
  :class:`ParameterSummary` rows; a run of the same model on the same spaxel
  or region replaces the earlier one.

Calling a service twice with the same rows therefore changes nothing but the
provenance. Every call writes one :class:`~lightcurvedb.rbh1.zones01.PipelineRun`
row (``stage_name`` ``emission_lines``, ``physical_properties`` or ``mcmc``)
with its counts, stamps the written rows with its ``run_id`` and returns a
:class:`RecordCounts`.

A bad row raises :class:`RowValidationError` naming the row's index and
field, and nothing is written: validation and writes happen inside a
SAVEPOINT (:meth:`~sqlalchemy.orm.Session.begin_nested`) that is rolled back
on any error. Committing is left to the caller.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import numbers
import operator
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lightcurvedb.rbh1.enums import QualityFlag
from lightcurvedb.rbh1.zones01 import PipelineRun
from lightcurvedb.rbh1.zones23 import (
    EmissionLine,
    IFUSpaxel,
    MCMCMetadata,
    MCMCParameterSummary,
    PhysicalProperties,
    RegionOfInterest,
)

__all__ = [
    "EmissionLineFit",
    "MCMCRecordCounts",
    "MCMCRun",
    "ParameterSummary",
    "PhysicalPropertiesRow",
    "RecordCounts",
    "RowValidationError",
    "record_emission_lines",
    "record_mcmc_run",
    "record_physical_properties",
]

#: Ids checked per ``IN (...)`` query, well under SQLite's bound-parameter limit.
_ID_CHUNK = 1000


# -- rows ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class EmissionLineFit:
    """One fitted emission line of one spaxel (a row of ``rbh1.emission_lines``).

    Parameters
    ----------
    spaxel_id : int
        An existing :class:`~lightcurvedb.rbh1.zones23.IFUSpaxel`.
    line_name : str
        E.g. ``Halpha``, ``[NII]6583``, ``[OIII]5007`` (at most 32 characters).
    rest_wavelength_um, observed_wavelength_um : float
        Rest and fitted wavelength, micron (finite, > 0).
    flux, flux_err : float
        Integrated line flux and its 1-sigma error (finite; error > 0).
    velocity_kms, velocity_err_kms : float
        Line-of-sight velocity and its 1-sigma error, km/s (finite; error >= 0).
    fit_quality : QualityFlag or str
        ``GOLD``, ``SILVER``, ``BRONZE`` or ``REJECTED``.
    sigma_kms : float, optional
        Velocity dispersion, km/s (finite, >= 0).
    snr : float, optional
        Signal-to-noise; ``flux / flux_err`` when omitted.
    """

    spaxel_id: int
    line_name: str
    rest_wavelength_um: float
    observed_wavelength_um: float
    flux: float
    flux_err: float
    velocity_kms: float
    velocity_err_kms: float
    fit_quality: QualityFlag | str
    sigma_kms: float | None = None
    snr: float | None = None


@dataclasses.dataclass(frozen=True)
class PhysicalPropertiesRow:
    """Quantities derived from one spaxel's lines (a row of ``rbh1.physical_properties``).

    Every value is optional; a value left ``None`` is stored as NULL, also when
    it replaces an earlier row of the same spaxel.

    Parameters
    ----------
    spaxel_id : int
        An existing :class:`~lightcurvedb.rbh1.zones23.IFUSpaxel`.
    metallicity_12logoh, metallicity_err : float, optional
        12 + log(O/H) and its 1-sigma error (finite; error > 0).
    extinction_av : float, optional
        A_V from the Balmer decrement, mag (finite).
    electron_density_cm3 : float, optional
        n_e, cm^-3 (finite, >= 0).
    sfr_msun_yr : float, optional
        Star-formation rate, Msun/yr (finite, >= 0).
    method : str, optional
        The calibration used, e.g. ``N2`` or ``O3N2`` (at most 64 characters).
    """

    spaxel_id: int
    metallicity_12logoh: float | None = None
    metallicity_err: float | None = None
    extinction_av: float | None = None
    electron_density_cm3: float | None = None
    sfr_msun_yr: float | None = None
    method: str | None = None


@dataclasses.dataclass(frozen=True)
class MCMCRun:
    """One MCMC fit of a spaxel or a region (a row of ``rbh1.mcmc_metadata``).

    A fit is identified by what it fitted (``spaxel_id``, ``region_id``) and
    ``model_name``: recording the same fit again replaces it.

    Parameters
    ----------
    model_name : str
        The model fitted (at most 64 characters).
    n_walkers, n_steps, n_burn : int
        Ensemble walkers (>= 1), steps per walker (>= 1) and burn-in steps
        discarded (0 <= n_burn < n_steps).
    converged : bool
        Whether the chains passed the convergence test.
    spaxel_id, region_id : int, optional
        The fitted :class:`~lightcurvedb.rbh1.zones23.IFUSpaxel` and/or
        :class:`~lightcurvedb.rbh1.zones23.RegionOfInterest`; at least one.
    acceptance_fraction : float, optional
        Mean acceptance fraction, in [0, 1].
    started_at, completed_at : datetime.datetime, optional
        Timezone-aware start and end of the fit.
    chain_path : pathlib.Path or str, optional
        Where the chains are stored.
    """

    model_name: str
    n_walkers: int
    n_steps: int
    n_burn: int
    converged: bool
    spaxel_id: int | None = None
    region_id: int | None = None
    acceptance_fraction: float | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    chain_path: pathlib.Path | str | None = None


@dataclasses.dataclass(frozen=True)
class ParameterSummary:
    """The posterior of one parameter of an MCMC fit (a row of ``rbh1.mcmc_parameter_summary``).

    Parameters
    ----------
    parameter : str
        Parameter name, unique within the fit (at most 64 characters).
    median, p16, p84 : float
        Posterior median and 16th/84th percentiles (finite, p16 <= median <= p84).
    mean, std, r_hat : float, optional
        Posterior mean, standard deviation (>= 0) and Gelman-Rubin statistic (> 0).
    """

    parameter: str
    median: float
    p16: float
    p84: float
    mean: float | None = None
    std: float | None = None
    r_hat: float | None = None


@dataclasses.dataclass(frozen=True)
class RecordCounts:
    """What a zone-3 service wrote.

    Attributes
    ----------
    run_id : int
        The :class:`~lightcurvedb.rbh1.zones01.PipelineRun` row of the call.
    inserted : int
        Rows that were new.
    updated : int
        Rows that replaced a stored row with the same key.
    """

    run_id: int
    inserted: int
    updated: int

    @property
    def written(self) -> int:
        """Rows written: ``inserted + updated``."""
        return self.inserted + self.updated


@dataclasses.dataclass(frozen=True)
class MCMCRecordCounts(RecordCounts):
    """What :func:`record_mcmc_run` wrote; ``inserted``/``updated`` count parameter summaries.

    Attributes
    ----------
    mcmc_id : int
        The fit's ``rbh1.mcmc_metadata`` row.
    replaced : bool
        Whether an earlier record of the same fit was replaced.
    removed : int
        Parameter summaries of the earlier record that the new one lacks, deleted.
    """

    mcmc_id: int
    replaced: bool
    removed: int


class RowValidationError(ValueError):
    """A row given to a zone-3 service is unusable; nothing was written.

    Attributes
    ----------
    index : int or None
        Position of the row in the input (``None`` for the single
        :class:`MCMCRun`).
    field : str or None
        The offending field, when one is to blame.
    """

    def __init__(self, what: str, index: int | None, field: str | None, problem: str) -> None:
        where = what if index is None else f"{what} row {index}"
        super().__init__(f"{where}: {field} {problem}" if field else f"{where}: {problem}")
        self.index = index
        self.field = field


# -- validation ---------------------------------------------------------------------------------

_Row = TypeVar("_Row")


def _as_row(row_type: type[_Row], row: Any, what: str, index: int | None) -> _Row:
    """Return ``row`` as a ``row_type`` dataclass, accepting a mapping with its field names."""
    if isinstance(row, row_type):
        return row
    if not isinstance(row, Mapping):
        raise RowValidationError(what, index, None, f"expected a {row_type.__name__} or a dict, "
                                 f"got {type(row).__name__}")
    fields = dataclasses.fields(cast(Any, row_type))
    names = {f.name for f in fields}
    unknown = sorted(set(row) - names)
    if unknown:
        raise RowValidationError(what, index, unknown[0], "is not a field of "
                                 f"{row_type.__name__} (fields: {', '.join(sorted(names))})")
    required = [f.name for f in fields
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for name in required:
        if name not in row:
            raise RowValidationError(what, index, name, "is missing")
    return row_type(**row)


class _Checker:
    """Validates the fields of one row, naming the row and field in every error."""

    def __init__(self, what: str, index: int | None) -> None:
        self.what, self.index = what, index

    def fail(self, field: str | None, problem: str) -> RowValidationError:
        return RowValidationError(self.what, self.index, field, problem)

    def number(self, field: str, value: Any, *, optional: bool = False, positive: bool = False,
               non_negative: bool = False) -> float | None:
        if value is None:
            if optional:
                return None
            raise self.fail(field, "is required")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.fail(field, f"must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise self.fail(field, f"must be finite, got {number!r}")
        if positive and number <= 0:
            raise self.fail(field, f"must be > 0, got {number!r}")
        if non_negative and number < 0:
            raise self.fail(field, f"must be >= 0, got {number!r}")
        return number

    def integer(self, field: str, value: Any, *, optional: bool = False,
                minimum: int | None = None) -> int | None:
        if value is None:
            if optional:
                return None
            raise self.fail(field, "is required")
        if isinstance(value, bool):
            raise self.fail(field, f"must be an integer, got {value!r}")
        try:
            integer = operator.index(value)
        except TypeError:
            raise self.fail(field, f"must be an integer, got {value!r}") from None
        if minimum is not None and integer < minimum:
            raise self.fail(field, f"must be >= {minimum}, got {integer}")
        return integer

    def text(self, field: str, value: Any, max_length: int, *, optional: bool = False
             ) -> str | None:
        if value is None:
            if optional:
                return None
            raise self.fail(field, "is required")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"must be a non-empty string, got {value!r}")
        if len(value) > max_length:
            raise self.fail(field, f"must be at most {max_length} characters, got {len(value)}")
        return value

    def quality(self, field: str, value: Any) -> QualityFlag:
        try:
            return QualityFlag(value)
        except ValueError:
            raise self.fail(field, f"must be one of {', '.join(QualityFlag)}, "
                            f"got {value!r}") from None

    def timestamp(self, field: str, value: Any) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise self.fail(field, f"must be a datetime, got {value!r}")
        if value.tzinfo is None:
            raise self.fail(field, f"must be timezone-aware, got naive {value!r}")
        return value


def _emission_line_values(fit: EmissionLineFit, index: int) -> dict[str, Any]:
    c = _Checker("emission line", index)
    flux = c.number("flux", fit.flux)
    flux_err = c.number("flux_err", fit.flux_err, positive=True)
    assert flux is not None and flux_err is not None
    snr = c.number("snr", fit.snr, optional=True)
    return {
        "spaxel_id": c.integer("spaxel_id", fit.spaxel_id),
        "line_name": c.text("line_name", fit.line_name, 32),
        "rest_wavelength_um": c.number("rest_wavelength_um", fit.rest_wavelength_um,
                                       positive=True),
        "observed_wavelength_um": c.number("observed_wavelength_um",
                                           fit.observed_wavelength_um, positive=True),
        "flux": flux,
        "flux_err": flux_err,
        "velocity_kms": c.number("velocity_kms", fit.velocity_kms),
        "velocity_err_kms": c.number("velocity_err_kms", fit.velocity_err_kms,
                                     non_negative=True),
        "sigma_kms": c.number("sigma_kms", fit.sigma_kms, optional=True, non_negative=True),
        "snr": flux / flux_err if snr is None else snr,
        "fit_quality": c.quality("fit_quality", fit.fit_quality),
    }


def _physical_properties_values(row: PhysicalPropertiesRow, index: int) -> dict[str, Any]:
    c = _Checker("physical properties", index)
    return {
        "spaxel_id": c.integer("spaxel_id", row.spaxel_id),
        "metallicity_12logoh": c.number("metallicity_12logoh", row.metallicity_12logoh,
                                        optional=True),
        "metallicity_err": c.number("metallicity_err", row.metallicity_err, optional=True,
                                    positive=True),
        "extinction_av": c.number("extinction_av", row.extinction_av, optional=True),
        "electron_density_cm3": c.number("electron_density_cm3", row.electron_density_cm3,
                                         optional=True, non_negative=True),
        "sfr_msun_yr": c.number("sfr_msun_yr", row.sfr_msun_yr, optional=True,
                                non_negative=True),
        "method": c.text("method", row.method, 64, optional=True),
    }


def _mcmc_values(run: MCMCRun) -> dict[str, Any]:
    c = _Checker("MCMC run", None)
    values: dict[str, Any] = {
        "spaxel_id": c.integer("spaxel_id", run.spaxel_id, optional=True),
        "region_id": c.integer("region_id", run.region_id, optional=True),
        "model_name": c.text("model_name", run.model_name, 64),
        "n_walkers": c.integer("n_walkers", run.n_walkers, minimum=1),
        "n_steps": c.integer("n_steps", run.n_steps, minimum=1),
        "n_burn": c.integer("n_burn", run.n_burn, minimum=0),
        "acceptance_fraction": c.number("acceptance_fraction", run.acceptance_fraction,
                                        optional=True, non_negative=True),
        "started_at": c.timestamp("started_at", run.started_at),
        "completed_at": c.timestamp("completed_at", run.completed_at),
        "chain_path": None if run.chain_path is None else pathlib.Path(run.chain_path),
    }
    if values["spaxel_id"] is None and values["region_id"] is None:
        raise c.fail(None, "give the fitted spaxel_id or region_id (or both)")
    if values["n_burn"] >= values["n_steps"]:
        raise c.fail("n_burn", f"must be < n_steps ({values['n_steps']}), got {values['n_burn']}")
    if values["acceptance_fraction"] is not None and values["acceptance_fraction"] > 1:
        raise c.fail("acceptance_fraction",
                     f"must be <= 1, got {values['acceptance_fraction']!r}")
    if not isinstance(run.converged, bool):
        raise c.fail("converged", f"must be True or False, got {run.converged!r}")
    values["converged"] = run.converged
    started, completed = values["started_at"], values["completed_at"]
    if started is not None and completed is not None and completed < started:
        raise c.fail("completed_at", f"is before started_at ({completed} < {started})")
    return values


def _parameter_values(summary: ParameterSummary, index: int) -> dict[str, Any]:
    c = _Checker("parameter summary", index)
    values: dict[str, Any] = {
        "parameter": c.text("parameter", summary.parameter, 64),
        "median": c.number("median", summary.median),
        "p16": c.number("p16", summary.p16),
        "p84": c.number("p84", summary.p84),
        "mean": c.number("mean", summary.mean, optional=True),
        "std": c.number("std", summary.std, optional=True, non_negative=True),
        "r_hat": c.number("r_hat", summary.r_hat, optional=True, positive=True),
    }
    if not values["p16"] <= values["median"] <= values["p84"]:
        raise c.fail("median", f"must lie between p16 and p84, got p16={values['p16']!r}, "
                     f"median={values['median']!r}, p84={values['p84']!r}")
    return values


def _unique_keys(values: Sequence[Mapping[str, Any]], key: Sequence[str], what: str) -> None:
    """Refuse two rows with the same key: one upsert statement cannot write a row twice."""
    seen: dict[tuple[Any, ...], int] = {}
    for index, row in enumerate(values):
        k = tuple(row[name] for name in key)
        if k in seen:
            shown = ", ".join(f"{name}={row[name]!r}" for name in key)
            raise RowValidationError(what, index, None,
                                     f"repeats row {seen[k]} ({shown}); give each once")
        seen[k] = index


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    """Yield the distinct ``ids``, sorted, in lists of at most :data:`_ID_CHUNK`."""
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), _ID_CHUNK):
        yield wanted[start:start + _ID_CHUNK]


def _existing_ids(session: Session, column: Any, ids: Iterable[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(ids):
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _check_spaxels_exist(session: Session, values: Sequence[Mapping[str, Any]],
                         what: str) -> None:
    known = _existing_ids(session, IFUSpaxel.spaxel_id, (v["spaxel_id"] for v in values))
    for index, row in enumerate(values):
        if row["spaxel_id"] not in known:
            raise RowValidationError(what, index, "spaxel_id",
                                     f"{row['spaxel_id']} is not a spaxel in rbh1.ifu_spaxels")


# -- writing ------------------------------------------------------------------------------------

def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _upsert(session: Session, model: type[Any], values: Sequence[Mapping[str, Any]],
            key: Sequence[str]) -> None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` every row, as one executemany."""
    if not values:
        return
    table = _table(model)
    dialect = session.get_bind().dialect.name
    statement: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        statement = postgresql.insert(table)
    elif dialect == "sqlite":
        statement = sqlite.insert(table)
    else:
        raise NotImplementedError(f"zone-3 upserts support PostgreSQL and SQLite, not {dialect}")
    changed = {name: statement.excluded[name] for name in values[0] if name not in key}
    session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=changed),
                    list(values))


def _start_run(session: Session, stage: str, run_name: str | None, started: dt.datetime
               ) -> int:
    name = run_name or f"rbh1-{stage}-{started:%Y%m%dT%H%M%S.%fZ}"
    return int(session.execute(
        insert(PipelineRun).values(run_name=name, stage_name=stage, status="running",
                                   started_at=started).returning(PipelineRun.run_id)).scalar_one())


def _finish_run(session: Session, run_id: int, *, processed: int, notes: str) -> None:
    session.execute(update(PipelineRun).where(PipelineRun.run_id == run_id).values(
        status="success", completed_at=dt.datetime.now(dt.UTC), rows_processed=processed,
        rows_skipped=0, rows_failed=0, notes=notes))


def _expire_stale(session: Session, model: type[Any], matches: Any,
                  parents: Iterable[tuple[type[Any], str, Any]] = ()) -> None:
    """Expire loaded ORM objects the Core writes made stale, so they reload on next access."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and matches(obj):
            session.expire(obj)
        for parent, attribute, parent_matches in parents:
            if isinstance(obj, parent) and parent_matches(obj):
                session.expire(obj, [attribute])


def record_emission_lines(session: Session,
                          rows: Iterable[EmissionLineFit | Mapping[str, Any]], *,
                          run_name: str | None = None) -> RecordCounts:
    """Validate and write emission-line fits (``rbh1.emission_lines``), replacing earlier fits.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The database; the caller commits.
    rows : iterable of EmissionLineFit or dict
        The fits; each (``spaxel_id``, ``line_name``) at most once.
    run_name : str, optional
        :attr:`PipelineRun.run_name <lightcurvedb.rbh1.zones01.PipelineRun.run_name>`
        of the provenance row (default ``rbh1-emission_lines-<UTC time>``).

    Returns
    -------
    RecordCounts
        The pipeline run and how many fits were new or replaced earlier ones.

    Raises
    ------
    RowValidationError
        A row is incomplete, has a non-finite number, ``flux_err <= 0``, an
        unknown ``spaxel_id`` or repeats another's key. Nothing is written.
    """
    what = "emission line"
    fits = [_as_row(EmissionLineFit, row, what, i) for i, row in enumerate(rows)]
    values = [_emission_line_values(fit, i) for i, fit in enumerate(fits)]
    _unique_keys(values, ("spaxel_id", "line_name"), what)
    started = dt.datetime.now(dt.UTC)
    session.flush()
    with session.begin_nested():
        _check_spaxels_exist(session, values, what)
        table = _table(EmissionLine)
        spaxel_ids = {v["spaxel_id"] for v in values}
        stored: set[tuple[int, str]] = set()
        for chunk in _chunks(spaxel_ids):
            stored.update((s, n) for s, n in session.execute(
                select(table.c.spaxel_id, table.c.line_name).where(table.c.spaxel_id.in_(chunk))))
        updated = sum((v["spaxel_id"], v["line_name"]) in stored for v in values)
        run_id = _start_run(session, "emission_lines", run_name, started)
        _upsert(session, EmissionLine, [{**v, "run_id": run_id} for v in values],
                ("spaxel_id", "line_name"))
        inserted = len(values) - updated
        _finish_run(session, run_id, processed=len(values),
                    notes=f"{inserted} emission lines inserted, {updated} updated "
                          f"({len(spaxel_ids)} spaxels)")
    _expire_stale(session, EmissionLine, lambda o: o.spaxel_id in spaxel_ids,
                  [(IFUSpaxel, "emission_lines", lambda o: o.spaxel_id in spaxel_ids)])
    return RecordCounts(run_id=run_id, inserted=inserted, updated=updated)


def record_physical_properties(session: Session,
                               rows: Iterable[PhysicalPropertiesRow | Mapping[str, Any]], *,
                               run_name: str | None = None) -> RecordCounts:
    """Validate and write physical properties (``rbh1.physical_properties``), one row per spaxel.

    A spaxel's stored row is replaced whole: values left ``None`` become NULL.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The database; the caller commits.
    rows : iterable of PhysicalPropertiesRow or dict
        The rows; each ``spaxel_id`` at most once.
    run_name : str, optional
        Name of the provenance :class:`~lightcurvedb.rbh1.zones01.PipelineRun`
        (default ``rbh1-physical_properties-<UTC time>``).

    Returns
    -------
    RecordCounts

    Raises
    ------
    RowValidationError
        A row has a non-finite number, ``metallicity_err <= 0``, a negative
        density or SFR, an unknown or repeated ``spaxel_id``. Nothing is written.
    """
    what = "physical properties"
    props = [_as_row(PhysicalPropertiesRow, row, what, i) for i, row in enumerate(rows)]
    values = [_physical_properties_values(row, i) for i, row in enumerate(props)]
    _unique_keys(values, ("spaxel_id",), what)
    started = dt.datetime.now(dt.UTC)
    session.flush()
    with session.begin_nested():
        _check_spaxels_exist(session, values, what)
        spaxel_ids = {v["spaxel_id"] for v in values}
        updated = len(_existing_ids(session, PhysicalProperties.spaxel_id, spaxel_ids))
        run_id = _start_run(session, "physical_properties", run_name, started)
        _upsert(session, PhysicalProperties, [{**v, "run_id": run_id} for v in values],
                ("spaxel_id",))
        inserted = len(values) - updated
        _finish_run(session, run_id, processed=len(values),
                    notes=f"{inserted} spaxels' properties inserted, {updated} updated")
    _expire_stale(session, PhysicalProperties, lambda o: o.spaxel_id in spaxel_ids,
                  [(IFUSpaxel, "physical_properties", lambda o: o.spaxel_id in spaxel_ids)])
    return RecordCounts(run_id=run_id, inserted=inserted, updated=updated)


def record_mcmc_run(session: Session, metadata: MCMCRun | Mapping[str, Any],
                    parameter_summaries: Iterable[ParameterSummary | Mapping[str, Any]], *,
                    run_name: str | None = None) -> MCMCRecordCounts:
    """Validate and write one MCMC fit and its posterior summaries.

    The fit is identified by (``spaxel_id``, ``region_id``, ``model_name``):
    if one is stored already (the newest, should there be several) it is
    updated in place, its summaries are upserted on (``mcmc_id``,
    ``parameter``) and those the new record lacks are deleted.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        The database; the caller commits.
    metadata : MCMCRun or dict
        The fit.
    parameter_summaries : iterable of ParameterSummary or dict
        One per parameter.
    run_name : str, optional
        Name of the provenance :class:`~lightcurvedb.rbh1.zones01.PipelineRun`
        (default ``rbh1-mcmc-<UTC time>``).

    Returns
    -------
    MCMCRecordCounts
        ``inserted``/``updated``/``removed`` count parameter summaries.

    Raises
    ------
    RowValidationError
        The run or a summary is invalid (non-finite numbers, ``n_burn >=
        n_steps``, percentiles out of order, repeated parameter names, an
        unknown spaxel or region). Nothing is written.
    """
    run = _as_row(MCMCRun, metadata, "MCMC run", None)
    run_values = _mcmc_values(run)
    what = "parameter summary"
    summaries = [_as_row(ParameterSummary, row, what, i)
                 for i, row in enumerate(parameter_summaries)]
    values = [_parameter_values(summary, i) for i, summary in enumerate(summaries)]
    _unique_keys(values, ("parameter",), what)
    started = dt.datetime.now(dt.UTC)
    session.flush()
    with session.begin_nested():
        for field, model, column in (("spaxel_id", IFUSpaxel, IFUSpaxel.spaxel_id),
                                     ("region_id", RegionOfInterest, RegionOfInterest.region_id)):
            wanted = run_values[field]
            if wanted is not None and not _existing_ids(session, column, [wanted]):
                raise RowValidationError("MCMC run", None, field,
                                         f"{wanted} is not in {_table(model).fullname}")
        m = MCMCMetadata
        mcmc_id = session.scalar(
            select(m.mcmc_id)
            .where(m.spaxel_id.is_not_distinct_from(run_values["spaxel_id"]),
                   m.region_id.is_not_distinct_from(run_values["region_id"]),
                   m.model_name == run_values["model_name"])
            .order_by(m.mcmc_id.desc()).limit(1))
        run_id = _start_run(session, "mcmc", run_name, started)
        replaced = mcmc_id is not None
        if mcmc_id is None:
            mcmc_id = session.execute(insert(m).values(**run_values, run_id=run_id)
                                      .returning(m.mcmc_id)).scalar_one()
        else:
            session.execute(update(m).where(m.mcmc_id == mcmc_id)
                            .values(**run_values, run_id=run_id))
        ps = MCMCParameterSummary
        stored = set(session.scalars(select(ps.parameter).where(ps.mcmc_id == mcmc_id)))
        names = {v["parameter"] for v in values}
        removed = len(stored - names)
        if removed:
            session.execute(delete(ps).where(ps.mcmc_id == mcmc_id,
                                             ps.parameter.not_in(sorted(names))))
        _upsert(session, ps, [{**v, "mcmc_id": mcmc_id} for v in values],
                ("mcmc_id", "parameter"))
        updated = len(stored & names)
        inserted = len(values) - updated
        _finish_run(session, run_id, processed=1 + len(values),
                    notes=f"MCMC fit {mcmc_id} ({run_values['model_name']}) "
                          f"{'replaced' if replaced else 'inserted'}: {inserted} parameter "
                          f"summaries inserted, {updated} updated, {removed} removed")
    _expire_stale(session, ps, lambda o: o.mcmc_id == mcmc_id,
                  [(m, "parameters", lambda o: o.mcmc_id == mcmc_id)])
    _expire_stale(session, m, lambda o: o.mcmc_id == mcmc_id)
    return MCMCRecordCounts(run_id=run_id, inserted=inserted, updated=updated,
                            mcmc_id=int(mcmc_id), replaced=replaced, removed=removed)
