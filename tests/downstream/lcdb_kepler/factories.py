"""factory-boy factories for the Kepler models (requires ``lightcurvedb[test]``).

They subclass lightcurvedb's factories, so :func:`lightcurvedb.testing.factories.bound_to`
binds them together with lightcurvedb's own::

    from lightcurvedb.testing import factories
    from lcdb_kepler.factories import KeplerObservationFactory

    with factories.bound_to(session):
        observation = KeplerObservationFactory(quarter=9)
        lc = factories.DataSetFactory(observation=observation)
"""

from __future__ import annotations

import factory
import numpy as np

from lcdb_kepler.mission import KeplerObservation, KeplerQualityFlagArray
from lightcurvedb.testing import factories

__all__ = ["KeplerObservationFactory", "KeplerQualityFlagArrayFactory"]


class KeplerObservationFactory(factories.ObservationFactory):
    """A long-cadence quarter of channel 1 (module 2, output 1)."""

    class Meta:
        model = KeplerObservation

    quarter = factory.Sequence(lambda n: n % 18)
    season = factory.LazyAttribute(lambda o: o.quarter % 4)
    ccd_module = 2
    ccd_output = 1
    cadence_type = "long"


class KeplerQualityFlagArrayFactory(factories.QualityFlagArrayFactory):
    """Observation-wide Kepler flags: a desaturation every 100th cadence."""

    class Meta:
        model = KeplerQualityFlagArray

    observation = factory.SubFactory(KeplerObservationFactory)
    quality_flags = factory.LazyFunction(
        lambda: np.where(np.arange(factories.N_CADENCES) % 100 == 0, 32, 0).astype(np.int64))
