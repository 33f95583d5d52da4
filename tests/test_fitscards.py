"""``fitscards.card_value`` gives what ``header[keyword]`` gives, for every card of real files.

Every real product the suite fetches from PyPI (TESS, Kepler, K2, HST, JWST,
DESI and radio files) is read both ways, card by card: the same value and
type, or the same exception. Cards written here cover the forms the fast path
reads (quoted strings with doubled quotes and blanks, logicals, integers,
reals with E or D exponents) and the ones it must leave to astropy (long
strings on CONTINUE cards, HIERARCH, record-valued and complex cards,
undefined values, ``NAN``, repeated keywords, cards changed after reading).
"""

from __future__ import annotations

import io
import warnings

import pytest
from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from lightcurvedb.loaders.fitscards import card_value, value_or_none
from realdata.manifest import MANIFEST

FITS_FILES = sorted(key for key, entry in MANIFEST.items()
                    if entry.name.endswith((".fits", ".fits.gz", ".fit")))


def outcome(read, *args):
    """(type, value) of a read, or the exception class it raised."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = read(*args)
        except (KeyError, VerifyError, ValueError) as exc:
            return type(exc)
    return type(value), value


def test_the_real_files_are_checked():
    assert len(FITS_FILES) >= 15


@pytest.mark.parametrize("key", FITS_FILES)
def test_every_card_of_a_real_file_reads_as_astropy_reads_it(real_file, key):
    with fits.open(real_file(key)) as hdul:
        for hdu in hdul:
            header = hdu.header
            keywords = {card.keyword for card in header.cards} - {"", "COMMENT", "HISTORY"}
            assert keywords, key
            for keyword in sorted(keywords):
                fresh = fits.Header.fromstring(header.tostring())  # no card read yet
                assert outcome(card_value, fresh, keyword) == \
                    outcome(lambda h, k: h[k], fits.Header.fromstring(header.tostring()),
                            keyword), (key, hdu.name, keyword)


def header_of(*cards: str) -> fits.Header:
    """A header read from these card images (padded to 80 characters), as from a file."""
    text = "".join(card.ljust(80) for card in (*cards, "END"))
    return fits.Header.fromfile(io.BytesIO(text.ljust(2880).encode("ascii")))


@pytest.mark.parametrize(("card", "expected"), [
    ("OBJECT  = 'TIC 1   '           / trailing blanks go", "TIC 1"),
    ("OBJECT  = '  lead'", "  lead"),
    ("OBJECT  = 'O''Brien'           / a doubled quote is one", "O'Brien"),
    ("OBJECT  = ''", ""),
    ("OBJECT  =                    T / logical", True),
    ("OBJECT  =                    F", False),
    ("OBJECT  =                  -42 / integer", -42),
    ("OBJECT  =                  +007", 7),
    ("OBJECT  =         1.5D+03 / D exponent", 1500.0),
    ("OBJECT  = -.25E-2", -0.0025),
    ("OBJECT  = 1E5", 100000.0),
    ("OBJECT  = 12.", 12.0),
])
def test_simple_cards_read_fast_as_astropy_reads_them(card, expected):
    assert card_value(header_of(card), "OBJECT") == expected
    assert outcome(card_value, header_of(card), "object") == \
        outcome(lambda h, k: h[k], header_of(card), "OBJECT")


@pytest.mark.parametrize("cards", [
    ("OBJECT  = 'a long string that goes on&'", "CONTINUE  'and on'"),
    ("OBJECT  = (1.0, 2.0)",),
    ("OBJECT  =",),
    ("OBJECT  = NAN",),
    ("OBJECT  = 'AXIS.1: 1'",),
    ("HIERARCH ESO DET CHIP = 'x'", "OBJECT  = 'first'", "OBJECT  = 'second'"),
    ("OBJECT  = 'no closing quote",),
    ("OBJECT  = 'x' junk",),
])
def test_other_cards_are_left_to_astropy(cards):
    assert outcome(card_value, header_of(*cards), "OBJECT") == \
        outcome(lambda h, k: h[k], header_of(*cards), "OBJECT")


def test_a_card_changed_after_reading_gives_its_new_value():
    header = header_of("OBJECT  = 'old'")
    header["OBJECT"] = "new"
    assert card_value(header, "OBJECT") == "new"


def test_an_absent_keyword_is_a_key_error_or_the_default():
    header = header_of("OBJECT  = 'x'")
    with pytest.raises(KeyError):
        card_value(header, "TSCAL1")
    assert card_value(header, "TSCAL1", None) is None
    assert card_value(header, "TSCAL1", 1) == 1


def test_value_or_none_is_none_for_an_absent_or_unparsable_card():
    header = header_of("OBJECT  = NAN", "TFORM1  = '1E      '")
    with pytest.raises(VerifyError):
        card_value(header, "OBJECT")
    assert value_or_none(header, "OBJECT") is None
    assert value_or_none(header, "TSCAL1") is None
    assert value_or_none(header, "TFORM1") == "1E"
