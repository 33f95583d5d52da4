"""Every core factory builds a valid row on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lightcurvedb.testing import factories


@pytest.mark.parametrize("factory", factories.ALL_FACTORIES, ids=lambda f: f.__name__)
def test_factory_flushes_a_row(session, factory):
    obj = factory()
    session.flush()
    model = factory._meta.model
    primary_key = sa.inspect(model).primary_key[0]
    stored = session.scalars(sa.select(model).where(primary_key == getattr(obj, primary_key.key)))
    assert stored.one() is obj


def test_there_is_a_factory_for_every_core_model():
    from lightcurvedb import Base, models

    exported = (getattr(models, name) for name in models.__all__)
    mapped = {obj for obj in exported if isinstance(obj, type) and issubclass(obj, Base)}
    assert len(mapped) == 15   # with TargetAlias and LoadedFile
    assert {factory._meta.model for factory in factories.ALL_FACTORIES} == mapped
