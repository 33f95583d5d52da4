"""``lightcurves(session, tic=...)``: light curves with metadata and arrays in two statements.

The first statement selects the light-curve rows with everything their
metadata needs (target, catalog, mission, observation, its instrument and the
instrument's parent, photometric source, processing method, and the lineage
ids as aggregated strings); SQLAlchemy then loads the mission columns of the
observations (``TESSObservation.sector`` ...) with one SELECT per mission
class present (their ``polymorphic_load="selectin"``). The last statement
reads every array of those light curves -- values, errors, the target's times,
the quality flags and the observation's cadence numbers -- in one bulk read
(:func:`lightcurvedb.bulk.read_array_rows`). The row and array statements
select the same light curves through one id subquery, so no statement count
grows with the number of light curves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from lightcurvedb.lc.best import DEFAULT_RULE, RAW, BestRule, rank_filter
from lightcurvedb.lc.collection import LightCurveCollection
from lightcurvedb.lc.lightcurve import LightCurve
from lightcurvedb.lc.timefmt import native_times
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    Instrument,
    Mission,
    MissionCatalog,
    Observation,
    PhotometricSource,
    ProcessingMethod,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)

__all__ = ["lightcurves", "select_ids"]


def _many(value: Any) -> list[Any]:
    """Return a value or an iterable of values as a list (a string or a row is one value)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _named(column: Any, objects: Any, model: type[Any], values: Any) -> Any:
    """``column IN names``, or ``id IN ids`` for ORM objects of ``model``."""
    items = _many(values)
    ids = [item.id for item in items if isinstance(item, model)]
    names = [item for item in items if not isinstance(item, model)]
    terms = []
    if ids:
        terms.append(objects.in_(ids))
    if names:
        terms.append(column.in_(names))
    return sa.or_(*terms)


def _observation_attribute(name: str, values: Any) -> Any:
    """Observations whose mission class has a column ``name`` with one of ``values``."""
    wanted = _many(values)
    subqueries = []
    for mapper in Observation.__mapper__.self_and_descendants:
        column = mapper.columns.get(name)
        if column is not None and name in mapper.column_attrs:
            # The observation id from the table holding the column (a mission's own table).
            (key,) = column.table.primary_key.columns
            subqueries.append(sa.select(key).where(column.in_(wanted)))
    if not subqueries:
        known = sorted({key for m in Observation.__mapper__.self_and_descendants
                        for key in m.column_attrs.keys()})
        raise ValueError(f"no observation class has an attribute {name!r}; known: "
                         f"{', '.join(known)}")
    return DataSet.observation_id.in_(sa.union_all(*subqueries).scalar_subquery()) \
        if len(subqueries) > 1 else DataSet.observation_id.in_(subqueries[0].scalar_subquery())


def select_ids(*, target: Any = None, tic: Any = None, catalog: Any = None, mission: Any = None,
               observation: Any = None, sector: Any = None,
               observation_filter: Mapping[str, Any] | None = None, processing: Any = None,
               photometry: Any = None, best: bool | BestRule = False) -> sa.Select[Any]:
    """Return the SELECT of ``dataset.id`` that :func:`lightcurves` reads.

    Takes the same filters as :func:`lightcurves`; useful to count light
    curves or to join them in your own queries.

    Returns
    -------
    sqlalchemy.Select
        One column, ``id``.
    """
    where: list[Any] = []
    joins: set[str] = set()
    if tic is not None:
        if catalog is not None or target is not None:
            raise ValueError("give tic= (TIC numbers) or target=/catalog=, not both")
        target, catalog = tic, "TIC"
    if target is not None:
        items = _many(target)
        objects = [t.id for t in items if isinstance(t, Target)]
        numbers = [int(t) for t in items if not isinstance(t, Target)]
        where.append(sa.or_(DataSet.target_id.in_(objects), Target.name.in_(numbers)))
        joins.add("target")
    if catalog is not None:
        where.append(_named(MissionCatalog.name, MissionCatalog.id, MissionCatalog, catalog))
        joins |= {"target", "catalog"}
    if mission is not None:
        where.append(_named(Mission.name, Mission.id, Mission, mission))
        joins |= {"target", "catalog", "mission"}
    if observation is not None:
        where.append(DataSet.observation_id.in_(
            [o.id if isinstance(o, Observation) else int(o) for o in _many(observation)]))
    for name, values in {**({"sector": sector} if sector is not None else {}),
                         **(observation_filter or {})}.items():
        where.append(_observation_attribute(name, values))
    if processing is not None:
        names = _many(processing)
        named = [n for n in names if n != RAW]
        where.append(sa.or_(*([DataSet.processing_method_id.is_(None)] if RAW in names else []),
                            *([ProcessingMethod.name.in_(named)] if named else [])))
        joins.add("processing")
    if photometry is not None:
        where.append(PhotometricSource.name.in_(_many(photometry)))
        joins.add("photometry")
    ids = sa.select(DataSet.id)
    if "target" in joins:
        ids = ids.join(Target, Target.id == DataSet.target_id)
    if "catalog" in joins:
        ids = ids.join(MissionCatalog, MissionCatalog.id == Target.catalog_id)
    if "mission" in joins:
        ids = ids.join(Mission, Mission.id == MissionCatalog.host_mission_id)
    if "processing" in joins:
        ids = ids.outerjoin(ProcessingMethod, ProcessingMethod.id == DataSet.processing_method_id)
    if "photometry" in joins:
        ids = ids.join(PhotometricSource, PhotometricSource.id == DataSet.photometric_method_id)
    ids = ids.where(*where)
    if best:
        ids = rank_filter(DEFAULT_RULE if best is True else best, ids)
    return ids


def _lineage(column: Any, match: Any) -> Any:
    edge = aliased(DataSetHierarchy)
    return (sa.select(sa.func.aggregate_strings(sa.cast(getattr(edge, column), sa.String), ","))
            .where(getattr(edge, match) == DataSet.id).scalar_subquery())


def _row_statement(ids: sa.Select[Any]) -> sa.Select[Any]:
    # The observation's mission columns (TESSObservation.sector ...) come from SQLAlchemy's
    # polymorphic "selectin" loading: one more SELECT per mission class in the result.
    parent = aliased(Instrument)
    return (
        sa.select(DataSet, _lineage("source_dataset_id", "child_dataset_id"),
                  _lineage("child_dataset_id", "source_dataset_id"))
        .join(DataSet.target).join(Target.catalog).join(MissionCatalog.host_mission)
        .join(DataSet.observation).join(Observation.instrument)
        .outerjoin(Instrument.parent.of_type(parent))
        .outerjoin(DataSet.photometry_source).outerjoin(DataSet.processing_method)
        .where(DataSet.id.in_(ids.scalar_subquery()))
        .options(
            contains_eager(DataSet.target).contains_eager(Target.catalog)
            .contains_eager(MissionCatalog.host_mission),
            contains_eager(DataSet.observation).contains_eager(Observation.instrument)
            .contains_eager(Instrument.parent.of_type(parent)),
            contains_eager(DataSet.photometry_source), contains_eager(DataSet.processing_method))
        .order_by(Target.name, DataSet.observation_id, DataSet.id))


def _array_statement(ids: sa.Select[Any]) -> sa.Select[Any]:
    dataset, times = DataSet.__table__, TargetSpecificTime.__table__
    flags, pick = QualityFlagArray.__table__, QualityFlagArray.__table__.alias("lcdb_pick")
    observation = Observation.__table__
    # The target's own flags before observation-wide ones (as DataSet.to_timeseries).
    chosen = (sa.select(pick.c.id)
              .where(pick.c.observation_id == dataset.c.observation_id,
                     sa.or_(pick.c.target_id == dataset.c.target_id, pick.c.target_id.is_(None)))
              .order_by(pick.c.target_id.is_(None), pick.c.id).limit(1)
              .correlate(dataset).scalar_subquery())
    joined = (dataset.join(observation, observation.c.id == dataset.c.observation_id)
              .outerjoin(times, sa.and_(times.c.target_id == dataset.c.target_id,
                                        times.c.observation_id == dataset.c.observation_id))
              .outerjoin(flags, flags.c.id == chosen))
    return (sa.select(dataset.c.id, dataset.c["values"], dataset.c.errors,
                      times.c.barycentric_julian_dates, flags.c.quality_flags, flags.c.type,
                      observation.c.cadence_reference)
            .select_from(joined).where(dataset.c.id.in_(ids.scalar_subquery())))


def _id_list(text: str | None) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",")) if text else ()


def lightcurves(session: Session, *, target: Any = None, tic: Any = None, catalog: Any = None,
                mission: Any = None, observation: Any = None, sector: Any = None,
                observation_filter: Mapping[str, Any] | None = None, processing: Any = None,
                photometry: Any = None, best: bool | BestRule = False) -> LightCurveCollection:
    """Return light curves with their metadata and arrays: one query and one bulk read.

    Three SELECTs for the light curves of one mission, whatever their number:
    the rows, the mission columns of their observations, and the arrays (see
    the module documentation).

    Every filter is optional and takes one value or a list; filters combine
    with AND (a list within one filter with OR).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        Where to read.
    target : Target, int or list, optional
        Targets, as :class:`~lightcurvedb.models.Target` rows or catalog
        numbers (matched in every catalog unless ``catalog`` is given).
    tic : int or list, optional
        TIC numbers: ``target=`` in the catalog ``"TIC"``.
    catalog : str, MissionCatalog or list, optional
        Catalog names (``"TIC"``) or rows.
    mission : str, Mission or list, optional
        Mission names (``"TESS"``) or rows: the mission of the target's catalog.
    observation : Observation, int or list, optional
        Observations or their ids.
    sector : int or list, optional
        TESS sectors (any observation class with a ``sector`` column).
    observation_filter : mapping, optional
        Other observation attributes, e.g. ``{"cadence_seconds": 120}``; an
        attribute no observation class has is an error.
    processing : str or list, optional
        Processing-method names (``"PDC"``); ``"raw"`` selects light curves
        without processing (SAP).
    photometry : str or list, optional
        Photometric-source names (``"SPOC aperture"``).
    best : bool or BestRule, optional
        Keep only the best light curve of each target and observation among
        those the filters select: True for the default
        :class:`~lightcurvedb.lc.BestRule` (processed over raw, derived over
        source, newest), or a rule of your own. Chosen in SQL, in the same query.

    Returns
    -------
    LightCurveCollection
        Ordered by catalog number, observation and light-curve id.

    Raises
    ------
    ValueError
        For contradictory filters (``tic`` with ``target``/``catalog``), an
        unknown observation attribute, or a light curve whose arrays differ in
        length from its values.

    Examples
    --------
    >>> import lightcurvedb
    >>> with lightcurvedb.session() as s:                               # doctest: +SKIP
    ...     pdcsap = lightcurvedb.lightcurves(s, tic=261136679, processing="PDC")
    ...     pdcsap.plot()
    """
    ids = select_ids(target=target, tic=tic, catalog=catalog, mission=mission,
                     observation=observation, sector=sector, observation_filter=observation_filter,
                     processing=processing, photometry=photometry, best=best)
    rows = session.execute(_row_statement(ids)).all()
    if not rows:
        return LightCurveCollection()
    # Imported here: lightcurvedb.bulk imports the loaders and, through them, the missions,
    # which `import lightcurvedb` must not do (they register when the mappers configure).
    from lightcurvedb.bulk import read_array_rows

    arrays = {row[0]: row[1:] for row in read_array_rows(session, _array_statement(ids))}
    flag_classes = QualityFlagArray.__mapper__.polymorphic_map
    curves = []
    for dataset, sources, derived in rows:
        if dataset.id not in arrays:
            raise RuntimeError(f"{dataset!r} was deleted while its arrays were being read")
        values, errors, bjd, quality, flag_type, cadences = arrays[dataset.id]
        set_committed_value(dataset, "values", values)
        set_committed_value(dataset, "errors", errors)
        mission_row = dataset.target.catalog.host_mission
        bits = flag_classes[flag_type].class_.quality_bits if flag_type is not None \
            else QualityFlagArray.quality_bits
        curves.append(LightCurve(
            dataset, times=None if bjd is None else native_times(mission_row, bjd),
            quality=quality, quality_bits=bits,
            cadenceno=None if cadences is None else np.asarray(cadences, dtype=np.int64),
            source_ids=_id_list(sources), derived_ids=_id_list(derived)))
    return LightCurveCollection(curves)
