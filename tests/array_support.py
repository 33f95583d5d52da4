"""Array values shared by the array tests: every supported dtype at its edges."""

from __future__ import annotations

import numpy as np

DTYPES = ("bool", "int16", "int32", "int64", "float32", "float64")


def extremes(name: str) -> np.ndarray:
    """Edge values of dtype ``name``: limits, signed zeros, NaN and infinities."""
    dtype = np.dtype(name)
    if dtype.kind == "b":
        return np.array([True, False, False, True])
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        return np.array([info.min, -1, 0, 1, info.max], dtype=dtype)
    info = np.finfo(dtype)
    return np.array([info.min, -0.0, 0.0, info.tiny, 1 / 3, info.max, np.nan, np.inf, -np.inf],
                    dtype=dtype)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bytes (so NaN payloads and -0.0 count)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
