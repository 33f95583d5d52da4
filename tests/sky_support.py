"""The tests' own great-circle distance (haversine), independent of the library's Vincenty."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def haversine_deg(ra1: npt.ArrayLike, dec1: npt.ArrayLike, ra2: npt.ArrayLike,
                  dec2: npt.ArrayLike) -> np.ndarray:
    """Distance in degrees between positions in degrees (broadcast; a 0-d array for scalars)."""
    a1, d1, a2, d2 = (np.radians(np.asarray(x, dtype=np.float64)) for x in (ra1, dec1, ra2, dec2))
    hav = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((a2 - a1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(hav, 0.0, 1.0))))
