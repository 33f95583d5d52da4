"""Header values read from a card's 80 characters, without astropy's per-card machinery.

Reading a value through :class:`astropy.io.fits.Header` parses and verifies
the card and looks up several configuration items each time: for a SPOC
light curve, whose reader looks at some 150 cards, that costs about as much
as hashing the whole file. :func:`card_value` reads the common forms itself
(FITS 4.0, section 4.2: a quoted string, ``T``/``F``, an integer, a real
number) from the card image astropy read from the file, and leaves every
other card to astropy: a keyword that occurs more than once, a card that was
changed after reading, a long string continued on ``CONTINUE`` cards, a
``HIERARCH`` or record-valued card, complex numbers, undefined values and
anything it does not recognise (``NAN``, say, which astropy refuses). So a
value is always what ``header[keyword]`` gives, errors included.
"""

from __future__ import annotations

import re
from typing import Any

from astropy.io import fits
from astropy.io.fits.verify import VerifyError

__all__ = ["card_value", "value_or_none"]

_MISSING = object()
#: A value field after ``"= "``: integer, real (E or D exponent), logical.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_REAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[EDed][+-]?[0-9]+)?")


def _string(field: str) -> str | None:
    """Return a quoted string field's value (``''`` is one quote); None if it is unusual."""
    end = 1
    while True:
        end = field.find("'", end)
        if end < 0:
            return None
        if field[end + 1:end + 2] != "'":
            break
        end += 2
    rest = field[end + 1:].lstrip()
    if rest and rest[0] != "/":
        return None
    value = field[1:end].replace("''", "'").rstrip()
    # '&' at the end continues the string on CONTINUE cards; a colon may make a
    # record-valued card: astropy's rules for both
    return None if value.endswith("&") or ":" in value else value


def _parse(image: str) -> Any:
    """Return the value of one simple card image, or :data:`_MISSING` to ask astropy."""
    if len(image) != 80 or image[8:10] != "= " or image.startswith("HIERARCH"):
        return _MISSING
    field = image[10:].lstrip()
    if field.startswith("'"):
        text = _string(field)
        return _MISSING if text is None else text
    token = field.split("/", 1)[0].strip()
    if token in ("T", "F"):
        return token == "T"
    if _INTEGER.fullmatch(token):
        return int(token)
    if _REAL.fullmatch(token):
        return float(token.replace("D", "E").replace("d", "e"))
    return _MISSING


def card_value(header: fits.Header, keyword: str, default: Any = _MISSING) -> Any:
    """Return ``header[keyword]`` (or ``header.get(keyword, default)``), reading simple cards fast.

    Parameters
    ----------
    header : astropy.io.fits.Header
        A header as read from a file.
    keyword : str
        A standard keyword (case does not matter).
    default : object, optional
        Returned for an absent keyword; without it, an absent keyword raises
        :class:`KeyError` as ``header[keyword]`` does.

    Returns
    -------
    object
        The value, of the type astropy gives it (str with trailing blanks
        removed, bool, int or float).

    Raises
    ------
    KeyError
        If the keyword is absent and no ``default`` is given.
    astropy.io.fits.verify.VerifyError
        Where astropy raises it for the card (an unparsable value).
    """
    key = keyword.upper()
    try:  # astropy's own index of the cards it read, and each card's image as read
        indices = header._keyword_indices.get(key)
        if indices is not None and len(indices) == 1:
            card = header._cards[indices[0]]
            if not card._modified and card._image is not None:
                value = _parse(card._image)
                if value is not _MISSING:
                    return value
        elif indices is None and key not in header:
            if default is _MISSING:
                raise KeyError(f"Keyword {keyword!r} not found.")
            return default
    except AttributeError:  # an astropy without these internals: its own way
        pass
    return header[keyword] if default is _MISSING else header.get(keyword, default)


def value_or_none(header: fits.Header, keyword: str) -> Any:
    """Return :func:`card_value`, or None when the keyword is absent or its value unparsable.

    For readers that judge a missing or broken card themselves (a table's
    ``TFORMn``, a product's identifying keywords).
    """
    try:
        return card_value(header, keyword, None)
    except (VerifyError, ValueError):
        return None
