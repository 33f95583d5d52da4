"""The one declarative base and metadata every lightcurvedb model hangs off."""

from __future__ import annotations

import datetime as dt
import pathlib
import uuid
from typing import Annotated, Any

import numpy.typing as npt
from sqlalchemy import JSON, BigInteger, Integer, MetaData, String, Uuid, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapper, Session

from lightcurvedb.core import orm_checks, polymorphic
from lightcurvedb.core.types import NUMPY_DTYPES, NumpyArray, PathType, UTCDateTime

__all__ = ["NAMING_CONVENTION", "SCHEMAS", "Base", "BigIntPK", "metadata"]

#: Constraint names Alembic can rely on; every generated name stays well under
#: PostgreSQL's 63-character identifier limit for the core schema.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: PostgreSQL schemas of the study-specific table groups. SQLite has no
#: schemas: :func:`lightcurvedb.connect` translates them away there.
SCHEMAS = ("rbh1", "radio")

#: A 64-bit integer primary key that still auto-increments on SQLite, where only
#: ``INTEGER PRIMARY KEY`` aliases the rowid.
BigIntPK = Annotated[int, "bigint_pk"]

_JSON = JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of every lightcurvedb model (core, missions, RBH-1, radio).

    Annotations map to portable column types: ``npt.NDArray[np.float64]`` (and
    the other dtypes of :data:`~lightcurvedb.core.types.NUMPY_DTYPES`, e.g.
    ``npt.NDArray[np.uint8]``) to :class:`~lightcurvedb.core.types.NumpyArray`,
    ``dict``/``list`` to JSON (JSONB on PostgreSQL), :class:`pathlib.Path` to
    :class:`~lightcurvedb.core.types.PathType`, :class:`datetime.datetime` to the
    timezone-aware :class:`~lightcurvedb.core.types.UTCDateTime` and
    :class:`uuid.UUID` to a native UUID.

    Polymorphic bases defined on it get the identity map of
    :mod:`lightcurvedb.core.polymorphic`, and configuring its mappers imports
    the missions (shipped and plugins) first.
    """

    metadata = metadata
    type_annotation_map: dict[Any, Any] = {
        **{npt.NDArray[dtype.type]: NumpyArray(dtype)  # type: ignore[name-defined]
           for dtype in NUMPY_DTYPES},
        dict[str, Any]: _JSON,
        dict: _JSON,
        list: _JSON,
        pathlib.Path: PathType(),
        dt.datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        str: String(),
        BigIntPK: BigInteger().with_variant(Integer(), "sqlite"),
    }


@event.listens_for(Base, "mapper_configured", propagate=True)
def _coerce_arrays_on_assignment(mapper: Mapper[Any], class_: type) -> None:
    """Validate and convert values assigned to array columns, naming the attribute."""
    for prop in mapper.column_attrs:
        column_type = prop.columns[0].type
        inherited = mapper.inherits is not None and prop.key in mapper.inherits.attrs
        if not isinstance(column_type, NumpyArray) or inherited:
            continue
        label = f"{class_.__name__}.{prop.key}"

        def coerce(target: Any, value: Any, oldvalue: Any, initiator: Any,
                   _type: NumpyArray = column_type, _label: str = label) -> Any:
            return None if value is None else _type.coerce(value, what=_label)

        event.listen(getattr(class_, prop.key), "set", coerce, retval=True, propagate=True)


# Polymorphic loading (lightcurvedb.core.polymorphic): each polymorphic base gets
# an identity map that names unknown identities, and the missions are imported
# when the mappers configure, whichever modules the script imported.
event.listen(Base, "after_mapper_constructed", polymorphic.use_identity_map, propagate=True)
event.listen(Mapper, "before_configured", polymorphic.register_missions)

# Every ORM write judged by the column rules (lightcurvedb.core.column_rules)
# before the flush: the same verdict on SQLite as on PostgreSQL.
@event.listens_for(Session, "before_flush")
def _check_before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    orm_checks.check_flush(session, flush_context, instances, only=Base)
