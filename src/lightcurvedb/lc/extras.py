"""Optional dependencies: import one, or fail with one line naming the extra to install."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

__all__ = ["MissingExtraError", "require"]


class MissingExtraError(ImportError):
    """An optional package a light-curve feature needs is not installed.

    The message is one line naming the package and the lightcurvedb extra
    that installs it, e.g. ``to_pandas() needs pandas: pip install '.[pandas]'
    (in the lightcurvedb checkout)``.
    """


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError`.

    lightkurve warns on import that an optional part of it (its PRF fitting,
    which needs ``oktopus``) is unavailable; nothing here uses that part, so
    that one warning is silenced.

    Parameters
    ----------
    module : str
        E.g. ``"pandas"`` or ``"pyarrow.parquet"``.
    extra : str
        The lightcurvedb extra that installs it, e.g. ``"pandas"``.
    feature : str
        What needs it, e.g. ``"to_pandas()"``.

    Returns
    -------
    types.ModuleType

    Raises
    ------
    MissingExtraError
        If the import fails.
    """
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*without oktopus installed.*",
                                    category=UserWarning)
            return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        raise MissingExtraError(
            f"{feature} needs {package}: pip install '.[{extra}]' (in the lightcurvedb "
            f"checkout)") from exc
