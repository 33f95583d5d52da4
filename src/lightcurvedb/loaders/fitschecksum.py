"""The FITS checksum convention, computed on a file's own bytes.

The FITS standard (Appendix J of FITS 4.0) defines two cards per HDU:
``DATASUM``, the 32-bit ones' complement sum of the HDU's data blocks as an
unsigned decimal, and ``CHECKSUM``, 16 characters chosen so that the ones'
complement sum of the whole HDU -- header and data blocks, as stored -- is
negative zero. Either may be present without the other. :func:`hdu_spans` finds
where each HDU lies, :func:`hash_and_sum` reads the (uncompressed) stream once,
hashing it and summing each HDU's blocks, and :func:`checksum_problems` says
which cards disagree with the bytes. :func:`encode_checksum` is the writer's
side, used by the test-file generators.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

import numpy as np
from astropy.io import fits

__all__ = ["BLOCK", "HDUSpan", "checksum_problems", "encode_checksum", "hash_and_sum", "hdu_spans",
           "ones_complement_sum"]

#: Bytes in a FITS block; headers and data areas are whole blocks.
BLOCK = 2880
#: Bytes read at a time while hashing and summing (a whole number of blocks).
_CHUNK = BLOCK * 4096
_NEGATIVE_ZERO = 0xFFFFFFFF


def _fold(total: int) -> int:
    while total >> 32:
        total = (total & _NEGATIVE_ZERO) + (total >> 32)
    return total


def ones_complement_sum(data: bytes | memoryview, start: int = 0) -> int:
    """Return the 32-bit ones' complement sum of big-endian words, as FITS checksums use.

    Parameters
    ----------
    data : bytes
        The bytes; a length that is not a multiple of 4 is padded with zeros.
    start : int, optional
        A sum to continue (the result of an earlier call).

    Returns
    -------
    int
        The folded sum, 0 to ``2**32 - 1``.

    Examples
    --------
    >>> ones_complement_sum(bytes([255, 255, 255, 255, 0, 0, 0, 2]))
    2
    """
    if len(data) % 4:
        data = bytes(data) + b"\0" * (4 - len(data) % 4)
    words = np.frombuffer(data, dtype=">u4")
    # 2**22 words of at most 2**32 - 1 each stay far below 2**64 per block.
    total = start
    for first in range(0, len(words), 1 << 22):
        total += int(words[first:first + (1 << 22)].sum(dtype=np.uint64))
    return _fold(total)


_EXCLUDED = frozenset(b":;<=>?@[\\]^_`")


def encode_checksum(value: int) -> str:
    """Encode a 32-bit value as the 16 characters of a FITS ``CHECKSUM`` card.

    This is the ASCII encoding of the FITS checksum convention: each byte is
    spread over four characters from ``0-9A-Za-z`` (punctuation between
    them avoided), then the string is rotated right by one. A writer stores
    ``encode_checksum(~sum & 0xFFFFFFFF)`` where ``sum`` is the ones'
    complement sum of the HDU with ``CHECKSUM = '0000000000000000'``.

    Parameters
    ----------
    value : int
        The complemented sum, 0 to ``2**32 - 1``.

    Returns
    -------
    str
    """
    chars = [0] * 16
    for i in range(4):
        byte = (value >> (24 - 8 * i)) & 0xFF
        quarter = [byte // 4 + 0x30] * 4
        quarter[0] += byte % 4
        changed = True
        while changed:
            changed = False
            for j in (0, 2):
                while quarter[j] in _EXCLUDED or quarter[j + 1] in _EXCLUDED:
                    quarter[j] += 1
                    quarter[j + 1] -= 1
                    changed = True
        for j in range(4):
            chars[4 * j + i] = quarter[j]
    return bytes(chars[15:] + chars[:15]).decode("ascii")


def _raw_cards(header_bytes: bytes) -> dict[str, str]:
    """``{keyword: value text}`` of the CHECKSUM, DATASUM and EXTNAME cards of a raw header."""
    cards = {}
    for offset in range(0, len(header_bytes), 80):
        card = header_bytes[offset:offset + 80].decode("ascii", "replace")
        keyword = card[:8].strip()
        if keyword == "END":
            break
        if keyword in ("CHECKSUM", "DATASUM", "EXTNAME") and card[8:10] == "= ":
            cards[keyword] = card[10:].split("/", 1)[0].strip().strip("'").strip()
    return cards


@dataclass
class HDUSpan:
    """Where one HDU lies in the stream, and the sums :func:`hash_and_sum` adds up for it.

    Attributes
    ----------
    index : int
        The HDU's position in the file (0 = primary).
    header, data : tuple of (int, int)
        Byte offsets ``[start, end)`` of its header and data blocks.
    header_bytes : bytes
        The raw header blocks (cards are read from these, not from astropy).
    header_sum, data_sum : int
        Ones' complement sums of the header and data blocks.
    data_bytes : bytearray or None
        Where :func:`hash_and_sum` keeps the data blocks as it reads them;
        None (the default): not kept.
    """

    index: int
    header: tuple[int, int]
    data: tuple[int, int]
    header_bytes: bytes = b""
    header_sum: int = 0
    data_sum: int = 0
    data_bytes: bytearray | None = None


def hdu_spans(hdul: fits.HDUList) -> list[HDUSpan]:
    """Return where each HDU of an open file lies: header and data blocks, by offset."""
    # Where each HDU lies only: its cards are read from the raw bytes later, so
    # astropy parses (and judges) none of them here.
    # (HDU.fileinfo, not HDUList.fileinfo: the latter re-serialises every header.)
    spans = []
    for index, hdu in enumerate(hdul):
        info = hdu.fileinfo()
        if info is None:
            continue
        start, data, span = int(info["hdrLoc"]), int(info["datLoc"]), int(info["datSpan"])
        spans.append(HDUSpan(index, (start, data), (data, data + span)))
    return spans


def _overlap(chunk: memoryview, offset: int, region: tuple[int, int]) -> memoryview:
    low, high = max(region[0], offset), min(region[1], offset + len(chunk))
    return chunk[low - offset:high - offset] if low < high else chunk[0:0]


def hash_and_sum(stream: IO[bytes], spans: Sequence[HDUSpan]) -> str:
    """Read ``stream`` once: return its SHA-256 (hex) and add each span's sums to it.

    The data blocks of spans whose ``data_bytes`` is a bytearray are kept in it.
    """
    digest = hashlib.sha256()
    offset = 0
    while True:
        block = stream.read(_CHUNK)
        if not block:
            break
        digest.update(block)
        view = memoryview(block)
        for span in spans:
            head = _overlap(view, offset, span.header)
            if len(head):
                span.header_bytes += bytes(head)
                span.header_sum = ones_complement_sum(head, span.header_sum)
            body = _overlap(view, offset, span.data)
            if len(body):
                span.data_sum = ones_complement_sum(body, span.data_sum)
                if span.data_bytes is not None:
                    span.data_bytes += body
        offset += len(block)
    return digest.hexdigest()


def checksum_problems(spans: Sequence[HDUSpan]) -> list[str]:
    """Return one sentence per HDU whose ``CHECKSUM`` or ``DATASUM`` does not match its bytes.

    ``spans`` are the per-HDU sums :func:`open_fits` collects; the function is
    public so its rule can be read in one place: ``DATASUM`` must equal the
    data blocks' ones' complement sum (as an unsigned decimal), and the sum
    of the header and data blocks must be negative zero when ``CHECKSUM`` is
    present. An HDU with neither card passes.
    """
    problems = []
    for span in spans:
        cards = _raw_cards(span.header_bytes)
        name = cards.get("EXTNAME") or ("PRIMARY" if span.index == 0 else "")
        where = f"HDU {span.index} ({name!r})" if name else f"HDU {span.index}"
        if "DATASUM" in cards:
            text = cards["DATASUM"]
            if not text.isdigit():
                problems.append(f"{where}: DATASUM = {text!r} is not a number")
            elif int(text) != span.data_sum:
                problems.append(f"{where}: DATASUM = {text} but its data sum to "
                                f"{span.data_sum}: the data were changed after it was written")
        if "CHECKSUM" in cards:
            total = _fold(span.header_sum + span.data_sum)
            if total != _NEGATIVE_ZERO:
                problems.append(f"{where}: CHECKSUM = {cards['CHECKSUM']!r} does not match "
                                "its header and data: the HDU was changed after it was "
                                "written")
    return problems
