"""A strict DER reader (X.690 §8.1, §10.1): tag-length-value triples walked in place.

It reads what the fast check of the archive's own signatures needs (``cms``): one-octet
tags (tag numbers 0-30, X.690 §8.1.2.2), definite lengths in their shortest form (§10.1;
long form only from 128 on, no leading zero octet, at most four length octets), contents
that stay inside their parent, and INTEGERs in their shortest form (§8.3.2). Anything else
raises :class:`DerError`: indefinite lengths (BER only, §10.1), high tag numbers, truncated
or overlong encodings. It decodes nothing else and never copies: positions index the
caller's bytes, so a caller compares known encodings with slices of them.

Each octet of a TLV, as read::

    tag      1 octet, bit 6 (0x20) set when constructed; 0x1f (high tag number) refused
    length   0x00-0x7f: the length itself (short form)
             0x81-0x84 then 1-4 octets, big-endian: the length, >= 0x80, first octet not 0
             0x80 (indefinite) and 0x85-0xff refused
    contents exactly ``length`` octets, within the enclosing contents
"""

from __future__ import annotations

_MAX_LENGTH_OCTETS = 4  # 4 GiB: more than any signature; longer is refused, not computed


class DerError(ValueError):
    """Bytes that are not strict DER (X.690 §10), or not the encoding the caller expects."""


def read(data: bytes, offset: int, end: int) -> tuple[int, int, int]:
    """The TLV at ``offset``, which must end by ``end``: (tag octet, contents start,
    contents end)."""
    if offset + 2 > end:
        raise DerError(f"truncated header at offset {offset}")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise DerError(f"high tag number form at offset {offset}")
    first = data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0:
            raise DerError(f"indefinite length at offset {offset}")
        if count > _MAX_LENGTH_OCTETS:
            raise DerError(f"{count} length octets at offset {offset}")
        if start + count > end:
            raise DerError(f"truncated length at offset {offset}")
        if data[start] == 0:
            raise DerError(f"length with a leading zero octet at offset {offset}")
        length = int.from_bytes(data[start : start + count], "big")
        if length < 0x80:
            raise DerError(f"long form for a short length at offset {offset}")
        start += count
    stop = start + length
    if stop > end:
        raise DerError(f"contents at offset {offset} run {stop - end} octets past their end")
    return tag, start, stop


def expect(data: bytes, offset: int, end: int, tag: int) -> tuple[int, int]:
    """The contents (start, end) of the TLV at ``offset``, which must have tag octet ``tag``."""
    found, start, stop = read(data, offset, end)
    if found != tag:
        raise DerError(f"tag 0x{found:02x} at offset {offset}, expected 0x{tag:02x}")
    return start, stop


def children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The TLVs that fill ``data[start:end]`` exactly, in order: (tag octet, offset,
    contents start, contents end) each."""
    found = []
    offset = start
    while offset < end:
        tag, contents, stop = read(data, offset, end)
        found.append((tag, offset, contents, stop))
        offset = stop
    return found


def single(data: bytes) -> tuple[int, int, int]:
    """The one TLV that ``data`` holds, trailing octets refused: as :func:`read`."""
    tag, start, stop = read(data, 0, len(data))
    if stop != len(data):
        raise DerError(f"{len(data) - stop} octets after the value")
    return tag, start, stop


def integer(data: bytes, start: int, stop: int) -> int:
    """The INTEGER whose contents are ``data[start:stop]``: two's complement, at least one
    octet, no redundant leading octet (X.690 §8.3.2)."""
    if stop <= start:
        raise DerError(f"empty INTEGER at offset {start}")
    if stop - start > 1 and (
        (data[start] == 0x00 and data[start + 1] < 0x80)
        or (data[start] == 0xFF and data[start + 1] >= 0x80)
    ):
        raise DerError(f"INTEGER with a redundant leading octet at offset {start}")
    return int.from_bytes(data[start:stop], "big", signed=True)
