"""Array values shared by the array tests: every supported dtype at its edges."""

from __future__ import annotations

import numpy as np

DTYPES = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "float32",
          "float64")


def extremes(name: str) -> np.ndarray:
    """Edge values of dtype ``name``: limits, signed zeros, NaN and infinities.

    Integers get their minimum and maximum and the values around zero; unsigned
    ones also the values either side of the signed type of their width (e.g.
    127 and 128 for uint8), where a same-width signed store would wrap.
    """
    dtype = np.dtype(name)
    if dtype.kind == "b":
        return np.array([True, False, False, True])
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        return np.array([info.min, -1, 0, 1, info.max], dtype=dtype)
    if dtype.kind == "u":
        info = np.iinfo(dtype)
        half = 2 ** (8 * dtype.itemsize - 1)
        return np.array([info.min, 1, half - 1, half, info.max], dtype=dtype)
    info = np.finfo(dtype)
    return np.array([info.min, -0.0, 0.0, info.tiny, 1 / 3, info.max, np.nan, np.inf, -np.inf],
                    dtype=dtype)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bytes (so NaN payloads and -0.0 count)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
