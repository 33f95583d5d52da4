"""A mission's time system as an astropy time format (``btjd`` for TESS).

:meth:`Mission.to_time <lightcurvedb.models.Mission.to_time>` turns stored
mission times into :class:`~astropy.time.Time` in JD; light curves are shown
in the mission's own numbers instead (BTJD = BJD - 2457000 for TESS), so
:func:`time_format` registers an astropy format named
:attr:`Mission.time_format_name <lightcurvedb.models.Mission.time_format_name>`
counting :attr:`~lightcurvedb.models.Mission.time_unit` from the mission's epoch
in its scale. A format of that name that astropy already knows (lightkurve
registers ``btjd`` and ``bkjd``) is used as it is when it agrees with the
mission; one that disagrees is an error.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from astropy import units as u
from astropy.time import TIME_FORMATS, Time, TimeFromEpoch

from lightcurvedb.models import Mission

__all__ = ["native_times", "time_format"]

_checked: dict[tuple[object, ...], str] = {}


def _key(mission: Mission) -> tuple[object, ...]:
    return (mission.time_format_name, mission.time_unit, float(mission.time_epoch),
            mission.time_epoch_scale, mission.time_epoch_format)


def time_format(mission: Mission) -> str:
    """Return the astropy time format of the mission's times, registering it if needed.

    Parameters
    ----------
    mission : Mission
        Its ``time_format_name`` names the format.

    Returns
    -------
    str
        The format name, usable as ``Time(values, format=name)``.

    Raises
    ------
    ValueError
        If astropy already has a format of that name that means other times.
    """
    key = _key(mission)
    name = _checked.get(key)
    if name is not None:
        return name
    name = mission.time_format_name
    if name not in TIME_FORMATS:
        attributes = {"name": name, "unit": u.Unit(mission.time_unit).to(u.day),
                      "epoch_val": float(mission.time_epoch), "epoch_val2": None,
                      "epoch_scale": mission.time_epoch_scale,
                      "epoch_format": mission.time_epoch_format,
                      "__doc__": f"{mission.name} times ({mission.time_unit} since the "
                                 f"mission epoch; registered by lightcurvedb)."}
        type(f"Time_{name}", (TimeFromEpoch,), attributes)   # subclasses register themselves
    probe = np.array([0.0, 1000.0, -1000.0])
    known = Time(probe, format=name, scale=mission.time_epoch_scale)
    if not np.allclose((known - mission.to_time(probe)).to_value(u.s), 0.0, rtol=0, atol=1e-6):
        raise ValueError(f"astropy time format {name!r} is already registered with another "
                         f"meaning than mission {mission.name}'s times ({mission.time_unit} "
                         f"since {mission.time_epoch_format} {mission.time_epoch} "
                         f"{mission.time_epoch_scale})")
    _checked[key] = name
    return name


def native_times(mission: Mission, bjd: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return barycentric Julian dates (TDB) as the mission's numbers (e.g. BTJD).

    Parameters
    ----------
    mission : Mission
        The time system.
    bjd : numpy.ndarray
        Julian dates in TDB (a :class:`~lightcurvedb.models.TargetSpecificTime`);
        NaN entries stay NaN.

    Returns
    -------
    numpy.ndarray
        Float64 times in ``mission.time_unit`` since the mission epoch, in the
        mission's scale.
    """
    out = np.full(bjd.shape, np.nan)
    finite = np.isfinite(bjd)
    if finite.any():
        out[finite] = mission.from_time(Time(bjd[finite], format="jd", scale="tdb"))
    return out
