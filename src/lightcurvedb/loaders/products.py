"""Say what a FITS file is from its headers, so a loader can refuse another product by name.

Archives ship many products that look alike from a distance: a Kepler or K2
light curve has a ``LIGHTCURVE`` table with ``SAP_FLUX`` and ``PDCSAP_FLUX``
like a TESS SPOC light curve; a TESS target pixel file or a TESScut cutout has
the SPOC primary header; a QLP or TASOC light curve is a TESS light curve.
Handed one, a loader should not say "lacks keyword TICID" or "no 'LIGHTCURVE'
HDU" but what the file *is*.

The knowledge is data: a :class:`Product` is a description and the header
facts that identify it (primary-header keyword patterns, extension names,
missing columns, an image-only layout); :func:`identify` returns the first
product of a list whose facts a file's :class:`HeaderFacts` show, with the
keywords that prove it::

    identify(header_facts(hdul), NOT_SPOC)
    # "a Kepler long-cadence light curve (TELESCOP = 'Kepler', KEPLERID = 11446443)"

:data:`NOT_SPOC` lists what the TESS SPOC loader refuses
(:func:`~lightcurvedb.loaders.spoc.read_spoc_lightcurve`). Only headers are
read: no data array is touched, so a 50 MB target pixel file is refused at
the cost of reading its headers.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from astropy.io import fits

from lightcurvedb.loaders.fitscards import value_or_none
from lightcurvedb.loaders.fitstable import column_names

__all__ = ["NOT_SPOC", "SPOC_COLUMNS", "HeaderFacts", "Product", "header_facts", "identify",
           "product_keywords"]

#: The ``LIGHTCURVE`` columns that make a TESS light curve SPOC's (those the loader stores).
SPOC_COLUMNS = ("TIME", "CADENCENO", "SAP_FLUX", "SAP_FLUX_ERR", "PDCSAP_FLUX",
                "PDCSAP_FLUX_ERR", "QUALITY")


@dataclass(frozen=True)
class HeaderFacts:
    """What the headers of a file say, as :class:`Product` rules read it.

    Attributes
    ----------
    keywords : dict
        Primary-header keyword -> value (strings stripped); absent keywords are absent.
    extnames : tuple of str
        ``EXTNAME`` of every HDU, upper case (``PRIMARY`` for the first).
    columns : frozenset of str
        Column names (upper case) of the ``LIGHTCURVE`` table, else of the
        first binary table; empty without a table.
    image_hdus : tuple of str
        Names (or, unnamed, indices) of HDUs whose header declares an image
        of 2 or more axes (``APERTURE`` masks excluded).
    has_table : bool
        Whether any HDU is a binary table.
    """

    keywords: Mapping[str, Any]
    extnames: tuple[str, ...]
    columns: frozenset[str] = frozenset()
    image_hdus: tuple[str, ...] = ()
    has_table: bool = False


def _value(header: fits.Header, keyword: str) -> Any:
    value = value_or_none(header, keyword)
    return value.strip() if isinstance(value, str) else value


def header_facts(hdul: fits.HDUList, keywords: Collection[str] | None = None) -> HeaderFacts:
    """Collect the :class:`HeaderFacts` of an open file (headers only, no data read).

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The open file.
    keywords : collection of str, optional
        Collect only these primary-header keywords (e.g. the
        :func:`product_keywords` of the products to tell apart); default every
        keyword. Parsing a card's value is most of the cost of reading
        headers, and a SPOC primary header has about 70 cards of which
        :data:`NOT_SPOC` reads 15.

    Returns
    -------
    HeaderFacts
    """
    primary = hdul[0].header
    found = {}
    for card in primary.cards:
        keyword = card.keyword
        if keywords is not None and keyword not in keywords:
            continue
        if keyword and keyword not in found and keyword not in ("COMMENT", "HISTORY"):
            value = _value(primary, keyword)
            if value is not None and value != "" and not isinstance(value, fits.card.Undefined):
                found[keyword] = value
    extnames = tuple(str(hdu.name).upper() for hdu in hdul)
    named = list(zip(hdul, extnames, strict=True))
    tables = [(hdu, name) for hdu, name in named if isinstance(hdu, fits.BinTableHDU)]
    table = next((hdu for hdu, name in tables if name == "LIGHTCURVE"),
                 tables[0][0] if tables else None)
    columns = frozenset(name.upper() for name in column_names(table.header)) if table \
        else frozenset()
    images = tuple(name or str(index) for index, (hdu, name) in enumerate(named)
                   if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU))
                   and int(hdu.header.get("NAXIS", 0) or 0) >= 2 and name != "APERTURE")
    return HeaderFacts(found, extnames, columns, images, bool(tables))


def product_keywords(products: Iterable[Product]) -> frozenset[str]:
    """Return the primary-header keywords that ``products`` test or quote as evidence.

    Parameters
    ----------
    products : iterable of Product

    Returns
    -------
    frozenset of str
        ``OBSMODE`` included (the ``{cadence}`` of a description).
    """
    found = {"OBSMODE"}
    for product in products:
        found.update(product.keywords)
        found.update(product.quote)
    return frozenset(found)


def _matches(value: Any, pattern: str) -> bool:
    """``pattern``: an fnmatch pattern, case-insensitive; ``!pattern`` negates it."""
    if value is None:
        return False
    negate = pattern.startswith("!")
    found = fnmatch.fnmatchcase(str(value).upper(), pattern.lstrip("!").upper())
    return found != negate


def _cadence(facts: HeaderFacts) -> str:
    """``OBSMODE = 'long cadence'`` -> ``long-cadence`` (Kepler and K2)."""
    mode = str(facts.keywords.get("OBSMODE", "")).strip().lower()
    return mode.replace(" ", "-") if mode else ""


@dataclass(frozen=True)
class Product:
    """A kind of file and the header facts that identify it.

    Parameters
    ----------
    description : str
        What the file is, e.g. ``"a Kepler {cadence} light curve"``;
        ``{cadence}`` becomes ``long-cadence``/``short-cadence`` from
        ``OBSMODE`` (or nothing).
    keywords : mapping of str to str, optional
        Primary-header keyword -> pattern its value must match
        (:mod:`fnmatch`, case-insensitive; ``"!TESS"`` means "present and not
        TESS"; ``"*"`` means present). All must match.
    extnames : sequence of str, optional
        Extensions that must all be present.
    lacks_columns : sequence of str, optional
        Columns of which at least one must be missing from the table.
    image_only : bool, optional
        The file must hold an image (2 or more axes, not an ``APERTURE``
        mask) and no binary table.
    quote : sequence of str, optional
        Primary-header keywords quoted as evidence when present.
    cite_extnames : bool, optional
        Cite ``extnames`` as evidence too (not worth it for a ``LIGHTCURVE``
        HDU that SPOC files have as well).
    """

    description: str
    keywords: Mapping[str, str] = field(default_factory=dict)
    extnames: Sequence[str] = ()
    lacks_columns: Sequence[str] = ()
    image_only: bool = False
    quote: Sequence[str] = ()
    cite_extnames: bool = True

    def matches(self, facts: HeaderFacts) -> bool:
        """Whether ``facts`` show every fact of this product."""
        return (all(_matches(facts.keywords.get(key), pattern)
                    for key, pattern in self.keywords.items())
                and all(name.upper() in facts.extnames for name in self.extnames)
                and (not self.lacks_columns or facts.has_table
                     and any(col not in facts.columns for col in self.lacks_columns))
                and (not self.image_only or bool(facts.image_hdus) and not facts.has_table))

    def describe(self, facts: HeaderFacts) -> str:
        """Return the description with its evidence, e.g. ``a TESS target pixel file (...)``."""
        cards = ", ".join(f"{key} = {facts.keywords[key]!r}" for key in self.quote
                          if key in facts.keywords)
        evidence = [cards] if cards else []
        if self.cite_extnames and self.extnames:
            evidence.append(f"{', '.join(name.upper() for name in self.extnames)} "
                            f"HDU{'s' * (len(self.extnames) > 1)}")
        missing = [col for col in self.lacks_columns if col not in facts.columns]
        if missing:
            evidence.append(f"no {', '.join(missing)} column{'s' * (len(missing) > 1)}")
        if self.image_only:
            many = len(facts.image_hdus) > 1
            evidence.append(f"image{'s' * many} in HDU{'s' * many} "
                            f"{', '.join(facts.image_hdus)}, no table")
        text = " ".join(self.description.format(cadence=_cadence(facts)).split())
        return f"{text} ({'; '.join(evidence)})" if evidence else text


def identify(facts: HeaderFacts, products: Iterable[Product]) -> str | None:
    """Return the description of the first of ``products`` that ``facts`` match, or None.

    Parameters
    ----------
    facts : HeaderFacts
        From :func:`header_facts`.
    products : iterable of Product
        Tried in order: put specific products before general ones.

    Returns
    -------
    str or None
        :meth:`Product.describe`, or None if no product matches.
    """
    for product in products:
        if product.matches(facts):
            return product.describe(facts)
    return None


_KEPLER = {"TELESCOP": "KEPLER"}
_K2 = {"TELESCOP": "KEPLER", "MISSION": "K2"}
_K2_QUOTE = ("TELESCOP", "MISSION", "CAMPAIGN", "KEPLERID")
_TESS = {"TELESCOP": "TESS"}

#: What the TESS SPOC light-curve loader refuses, most specific first: Kepler and
#: K2 light curves and pixel files, TESScut/astrocut cutouts, TESS target pixel
#: files and full-frame images, TESS light curves of other pipelines (high-level
#: science products), and files of other telescopes.
NOT_SPOC: tuple[Product, ...] = (
    Product("a K2 {cadence} light curve", _K2, ("LIGHTCURVE",), quote=_K2_QUOTE,
            cite_extnames=False),
    Product("a K2 target pixel file", _K2, ("TARGETTABLES",), quote=_K2_QUOTE),
    Product("a K2 file", _K2, quote=_K2_QUOTE),
    Product("a Kepler {cadence} light curve", _KEPLER, ("LIGHTCURVE",),
            quote=("TELESCOP", "KEPLERID"), cite_extnames=False),
    Product("a Kepler target pixel file", _KEPLER, ("TARGETTABLES",),
            quote=("TELESCOP", "KEPLERID", "QUARTER")),
    Product("a Kepler file", _KEPLER, quote=("TELESCOP", "MISSION", "OBJECT")),
    Product("a TESScut full-frame-image cutout", {"CREATOR": "*ASTROCUT*"},
            quote=("CREATOR", "SECTOR", "CAMERA", "CCD")),
    Product("a TESScut full-frame-image cutout", {**_TESS, "ORIGIN": "*STSCI*"}, ("PIXELS",),
            quote=("ORIGIN", "SECTOR", "CAMERA", "CCD")),
    Product("a TESS target pixel file", _TESS, ("PIXELS",), quote=("TICID", "SECTOR")),
    Product("a TESS full-frame image", _TESS, image_only=True,
            quote=("SECTOR", "CAMERA", "CCD")),
    Product("a QLP light curve, a high-level science product of the MIT Quick-Look Pipeline",
            {"ORIGIN": "*QLP*"}, quote=("ORIGIN", "TICID")),
    Product("a TASOC light curve, a TESS high-level science product", {"ORIGIN": "TASOC*"},
            quote=("ORIGIN", "TICID")),
    Product("a CDIPS light curve, a TESS high-level science product", {"ORIGIN": "*CDIPS*"},
            quote=("ORIGIN",)),
    Product("a TGLC light curve, a TESS high-level science product", {"ORIGIN": "*TGLC*"},
            quote=("ORIGIN", "TICID")),
    Product("an eleanor light curve, a TESS high-level science product", {"PCORIGIN": "*"},
            quote=("TICID",)),
    Product("a TESS light curve of another pipeline", {**_TESS, "ORIGIN": "!NASA/AMES"},
            lacks_columns=SPOC_COLUMNS, quote=("ORIGIN", "TICID")),
    Product("a file from another telescope", {"TELESCOP": "!TESS"},
            quote=("TELESCOP", "INSTRUME")),
)
