"""The errors of the DSA-110 product services (documented with :mod:`~.products_service`)."""

from __future__ import annotations

import os

__all__ = ["ImageFileError", "ProductsError"]


class ProductsError(ValueError):
    """A product was refused; nothing was written."""


class ImageFileError(ProductsError):
    """A file is not a readable radio image (not FITS, or lacking the needed keywords)."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{os.fspath(path)}: {reason}")
        self.path, self.reason = os.fspath(path), reason
