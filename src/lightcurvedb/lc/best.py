"""The best light curve of each target and observation, chosen in SQL.

Several light curves usually exist for one target in one observation: SPOC's
raw SAP and its PDC-corrected PDCSAP, other photometry, reprocessings.
:class:`BestRule` ranks them and keeps the first of each ``(target,
observation)``; :func:`rank_filter` turns the rule into one window function
(``ROW_NUMBER() OVER (PARTITION BY target_id, observation_id ORDER BY ...)``),
so the choice is part of the single row query on PostgreSQL and SQLite alike.

The default rule, criterion by criterion (a later one only breaks ties):

1. ``"processing"`` -- processing names in the order of
   :attr:`BestRule.processing` (none listed by default: no effect);
2. ``"processed"`` -- a processed light curve over raw photometry (PDC over SAP);
3. ``"derived"`` -- a light curve derived from another over one that is not
   (it has a lineage edge to a source);
4. ``"photometry"`` -- photometric source names in the order of
   :attr:`BestRule.photometry` (none listed by default);
5. ``"newest"`` -- the highest id (ids come from one sequence, so the most
   recently stored light curve wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lightcurvedb.models import DataSet, DataSetHierarchy, PhotometricSource, ProcessingMethod

__all__ = ["CRITERIA", "DEFAULT_RULE", "BestRule", "rank_filter"]

#: Every criterion a :class:`BestRule` can order by.
CRITERIA = ("processing", "processed", "derived", "photometry", "newest")

#: The name that stands for raw photometry (no processing method) in rankings and filters.
RAW = "raw"


@dataclass(frozen=True)
class BestRule:
    """Which light curve of a target in an observation is the best one.

    Parameters
    ----------
    processing : sequence of str, optional
        Processing-method names, most preferred first; ``"raw"`` stands for
        light curves without one. Unlisted methods rank after listed ones.
    photometry : sequence of str, optional
        Photometric-source names, most preferred first; unlisted sources rank
        after listed ones.
    order : sequence of str, optional
        The criteria (:data:`CRITERIA`) in the order they are applied; the
        default is all five as listed in the module documentation. Leave one out
        to ignore it.

    Examples
    --------
    Prefer my own aperture photometry, then SPOC's; PDC over other processing:

    >>> rule = BestRule(photometry=["my aperture", "SPOC aperture"], processing=["PDC"],
    ...                 order=["photometry", "processing", "processed", "newest"])
    """

    processing: Sequence[str] = ()
    photometry: Sequence[str] = ()
    order: Sequence[str] = CRITERIA

    def __post_init__(self) -> None:
        for field in ("processing", "photometry", "order"):
            value = getattr(self, field)
            if isinstance(value, str):
                raise TypeError(f"BestRule.{field} is a sequence of names, not the string "
                                f"{value!r} (write [{value!r}])")
            object.__setattr__(self, field, tuple(value))
        unknown = [name for name in self.order if name not in CRITERIA]
        if unknown:
            raise ValueError(f"unknown BestRule criteria {unknown}; choose from {list(CRITERIA)}")
        if len(set(self.order)) != len(self.order):
            raise ValueError(f"BestRule.order repeats a criterion: {list(self.order)}")

    def order_by(self) -> list[Any]:
        """Return the SQL ORDER BY terms of the rule, best first.

        The terms refer to ``dataset``, ``processing_method`` and
        ``photometric_source`` (outer-joined by :func:`rank_filter`).

        Returns
        -------
        list
            SQLAlchemy column expressions.
        """
        terms: list[Any] = []
        for criterion in self.order:
            if criterion == "processing" and self.processing:
                terms.append(_position(self.processing, ProcessingMethod.name,
                                       raw=DataSet.processing_method_id.is_(None)))
            elif criterion == "processed":
                terms.append(sa.case((DataSet.processing_method_id.is_(None), 1), else_=0))
            elif criterion == "derived":
                derived = sa.exists().where(DataSetHierarchy.child_dataset_id == DataSet.id,
                                            DataSetHierarchy.child_observation_id
                                            == DataSet.observation_id)
                terms.append(sa.case((derived, 0), else_=1))
            elif criterion == "photometry" and self.photometry:
                terms.append(_position(self.photometry, PhotometricSource.name))
            elif criterion == "newest":
                terms.append(DataSet.id.desc())
        terms.append(DataSet.id.desc())   # a total order, so the choice is deterministic
        return terms


#: The rule ``best=True`` uses.
DEFAULT_RULE = BestRule()


def _position(names: Sequence[str], column: Any, raw: Any = None) -> Any:
    """``CASE`` giving each listed name its position; unlisted rows rank after all of them."""
    whens = []
    for i, name in enumerate(names):
        if name == RAW and raw is not None:
            whens.append((raw, i))
        else:
            whens.append((column == name, i))
    return sa.case(*whens, else_=len(names))


def rank_filter(rule: BestRule, ids: sa.Select[Any]) -> sa.Select[Any]:
    """Keep the best light curve of each ``(target, observation)`` among ``ids``.

    Parameters
    ----------
    rule : BestRule
        The ranking.
    ids : sqlalchemy.Select
        A SELECT of ``dataset.id`` (the light curves that pass the filters).

    Returns
    -------
    sqlalchemy.Select
        A SELECT of the winning ``dataset.id`` values, one per target and observation.
    """
    candidates = ids.subquery("lcdb_candidates")
    rank = sa.func.row_number().over(
        partition_by=(DataSet.target_id, DataSet.observation_id),
        order_by=rule.order_by()).label("lcdb_rank")
    ranked = (sa.select(DataSet.id.label("id"), rank)
              .join(candidates, candidates.c.id == DataSet.id)
              .outerjoin(ProcessingMethod, ProcessingMethod.id == DataSet.processing_method_id)
              .outerjoin(PhotometricSource,
                         PhotometricSource.id == DataSet.photometric_method_id)
              .subquery("lcdb_ranked"))
    return sa.select(ranked.c.id).where(ranked.c.lcdb_rank == 1)
