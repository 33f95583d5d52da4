"""Quality bitmasks by name: ``"default"``, ``"hard"``, ``"hardest"``, bit names or an int.

A light curve's quality flags are the bit words of its
:class:`~lightcurvedb.models.QualityFlagArray`; the flag array's mission names
the bits (:class:`~lightcurvedb.models.QualityBits`). A *quality bitmask* says
which bits make a cadence bad:

===================  =====================================================================
``"none"`` or None   nothing is masked
``"default"``        the mission's recommended bits (:attr:`QualityBits.hard
                     <lightcurvedb.models.QualityBits.hard>`)
``"hard"``           those plus :attr:`QualityBits.harder
                     <lightcurvedb.models.QualityBits.harder>` (more conservative: it
                     masks some good cadences too)
``"hardest"``        every bit: any cadence whose quality word is not 0
a bit name           that bit, e.g. ``"desaturation"``
a list               the OR of its items, each a bit name or an int, e.g.
                     ``["desaturation", "manual_exclude"]``
an int               those bits, e.g. ``32 | 128``
===================  =====================================================================

For TESS, ``"default"`` is lightkurve's ``"default"`` plus ``scattered_light``
(4096), and ``"hard"`` is lightkurve's ``"hard"`` (24319); ``"hardest"`` here
also masks bits above the 16 SPOC names. A light curve without a flag array
masks nothing (there is nothing to test).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Union

import numpy as np
import numpy.typing as npt

from lightcurvedb.models import QualityBits, UnknownQualityBitError

__all__ = ["LEVELS", "QualityBitmask", "bitmask_value", "quality_mask"]

#: The named quality levels, weakest first.
LEVELS = ("none", "default", "hard", "hardest")

#: What a ``quality_bitmask`` argument may be.
QualityBitmask = Union[str, int, Iterable[Union[str, int]], None]  # noqa: UP007

#: ``"hardest"``: every bit of a 64-bit word set.
ALL_BITS = -1


def bitmask_value(bits: QualityBits, bitmask: QualityBitmask = "default") -> int:
    """Return the integer bit mask that ``bitmask`` means for a mission's bits.

    Parameters
    ----------
    bits : QualityBits
        The mission's named bits (``type(flags).quality_bits``).
    bitmask : str, int, list or None, optional
        A level (``"none"``, ``"default"``, ``"hard"``, ``"hardest"``), a bit
        name, a list of bit names and ints, an int, or None (nothing).

    Returns
    -------
    int
        The OR of the bits; ``-1`` (every bit) for ``"hardest"``, 0 for nothing.

    Raises
    ------
    UnknownQualityBitError
        For a name that is neither a level nor one of the mission's bits; the
        message lists the levels and the valid names.
    TypeError
        For anything else (a float, a bool).
    """
    if bitmask is None:
        return 0
    if isinstance(bitmask, str):
        return _named(bits, bitmask)
    if isinstance(bitmask, bool) or isinstance(bitmask, (float, np.floating)):
        raise TypeError(f"a quality bitmask is a level name, bit names or an int, not {bitmask!r}")
    if isinstance(bitmask, (int, np.integer)):
        return int(bitmask)
    if isinstance(bitmask, Iterable):
        word = 0
        for item in bitmask:
            word |= _named(bits, item) if isinstance(item, str) else bitmask_value(bits, item)
        return word
    raise TypeError(f"a quality bitmask is a level name, bit names or an int, not {bitmask!r}")


def _named(bits: QualityBits, name: str) -> int:
    level = name.lower()
    if level == "none":
        return 0
    if level == "default":
        return bits.hard_value
    if level == "hard":
        return bits.value(*bits.hard, *bits.harder)
    if level == "hardest":
        return ALL_BITS
    if name in bits.bits:
        return bits.bits[name]
    valid = ", ".join(sorted(bits.bits)) or "(none: this flag type names no bits)"
    raise UnknownQualityBitError(
        f"unknown quality bitmask {name!r}: use a level ({', '.join(LEVELS)}), an int, or "
        f"bit names of the mission: {valid}")


def quality_mask(flags: npt.NDArray[np.int64] | None, bits: QualityBits, n: int,
                 bitmask: QualityBitmask = "default") -> npt.NDArray[np.bool_]:
    """Return True for each cadence that ``bitmask`` flags.

    Parameters
    ----------
    flags : numpy.ndarray or None
        Quality words per cadence, or None when the light curve has no flags.
    bits : QualityBits
        The named bits of the flags' mission.
    n : int
        Number of cadences (the length of the result when ``flags`` is None).
    bitmask : str, int, list or None, optional
        See :func:`bitmask_value`.

    Returns
    -------
    numpy.ndarray
        Boolean, of length ``n``; all False without flags.
    """
    word = bitmask_value(bits, bitmask)
    if flags is None:
        return np.zeros(n, dtype=bool)
    return (np.asarray(flags, dtype=np.int64) & word) != 0
