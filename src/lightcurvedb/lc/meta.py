"""Metadata of a light curve: observation attributes, labels and FITS-style keywords."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

if TYPE_CHECKING:
    from lightcurvedb.lc.lightcurve import LightCurve
    from lightcurvedb.models import Observation

__all__ = ["fits_keyword", "lightcurve_meta", "observation_meta"]

#: Observation columns that are bookkeeping, not metadata.
_SKIP = frozenset({"id", "type", "instrument_id", "cadence_reference"})
_SCALARS = (bool, int, float, str, np.bool_, np.integer, np.floating)
_FITS_KEY = re.compile(r"^[A-Z0-9_-]{1,8}$")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def observation_meta(observation: Observation) -> dict[str, Any]:
    """Return the mission attributes of an observation that are plain scalars.

    The mapped columns of the observation's class (``sector``,
    ``cadence_seconds`` ... for TESS) that are loaded and not None, then the
    public properties the mission class defines (``camera``, ``ccd``), by
    name. Bookkeeping columns (ids, the discriminator, the cadence array)
    and non-scalar values (JSON) are left out; nothing is loaded from the
    database.

    Parameters
    ----------
    observation : Observation
        A loaded observation of any mission.

    Returns
    -------
    dict
        Attribute name to value, e.g. ``{"sector": 1, "cadence_seconds": 120,
        "camera": 1, "ccd": 1}``.
    """
    state = sa.inspect(observation)
    out: dict[str, Any] = {}
    for attribute in state.mapper.column_attrs:
        if attribute.key in _SKIP or attribute.key in state.unloaded:
            continue
        value = getattr(observation, attribute.key)
        if value is not None and isinstance(value, _SCALARS):
            out[attribute.key] = _plain(value)
    for name, member in sorted(vars(type(observation)).items()):
        if isinstance(member, property) and not name.startswith("_"):
            try:
                value = getattr(observation, name)
            except Exception:   # a property that cannot be computed here is not metadata
                continue
            if value is not None and isinstance(value, _SCALARS):
                out[name] = _plain(value)
    return out


def fits_keyword(name: str) -> str:
    """Return the FITS keyword of a metadata name: upper case, ``HIERARCH`` if long.

    Parameters
    ----------
    name : str
        E.g. ``"sector"`` or ``"cadence_seconds"``.

    Returns
    -------
    str
        ``"SECTOR"``, ``"HIERARCH CADENCE_SECONDS"``.
    """
    key = name.upper()
    return key if _FITS_KEY.match(key) else f"HIERARCH {key}"


def _ids(values: tuple[int, ...]) -> str:
    return ",".join(str(v) for v in values)


def lightcurve_meta(lc: LightCurve) -> dict[str, Any]:
    """Return the keywords a FITS export or a lightkurve ``LightCurve`` carries.

    Keys are upper case, as in lightkurve's ``meta`` and SPOC headers:
    ``TELESCOP``/``MISSION``, ``OBJECT`` (``"TIC 261136679"``), ``TARGETID``
    and ``<CATALOG>ID`` (``TICID``) with the catalog number, ``CATALOG``, the
    observation attributes (``SECTOR``, ``CAMERA``, ``CCD``, ...), ``LABEL``,
    ``PHOTSRC`` and ``PROCESS`` (photometric source and processing method
    names, None when unknown or raw), ``FLUXUNIT``, the lineage
    (``DATASET``: this light curve's id; ``SOURCES``/``DERIVED``: ids of the
    light curves it was derived from / that derive from it, comma separated),
    and the time system (``TIMESYS``, ``TIMEUNIT``, ``TIMEFMT``, ``TIMEREF``,
    ``BJDREFI``/``BJDREFF``: the mission epoch as a JD in its scale).

    Parameters
    ----------
    lc : LightCurve
        The light curve.

    Returns
    -------
    dict
        Keyword to value (str, int, float, bool or None).
    """
    mission, catalog = lc.mission, lc.target.catalog
    epoch = mission.epoch
    whole = np.floor(epoch.jd1 + epoch.jd2)
    meta: dict[str, Any] = {
        "TELESCOP": mission.name, "MISSION": mission.name, "OBJECT": lc.object_name,
        "TARGETID": int(lc.target.name), "CATALOG": catalog.name,
    }
    catalog_key = re.sub(r"[^A-Z0-9]", "", catalog.name.upper()) + "ID"
    if _FITS_KEY.match(catalog_key) and catalog_key not in meta:
        meta[catalog_key] = int(lc.target.name)
    for name, value in lc.observation_meta.items():
        meta.setdefault(name.upper(), value)
    meta.update({
        "LABEL": lc.label, "PHOTSRC": lc.photometry, "PROCESS": lc.processing,
        "FLUXUNIT": lc.unit, "DATASET": lc.id, "OBSID": lc.observation.id,
        "SOURCES": _ids(lc.source_ids), "DERIVED": _ids(lc.derived_ids),
        "TIMESYS": mission.time_epoch_scale.upper(), "TIMEUNIT": mission.time_unit,
        "TIMEFMT": mission.time_format_name, "TIMEREF": "SOLARSYSTEM",
        "BJDREFI": int(whole), "BJDREFF": float((epoch.jd1 - whole) + epoch.jd2),
    })
    return meta
