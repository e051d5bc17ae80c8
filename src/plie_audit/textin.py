"""Files the user names (CSV, TOML, certificates, PKCS#12, publications): regular files only,
with a size cap. Text files (CSV, TOML) are UTF-8 only, a BOM accepted (../cli-contract.md,
Files). Anything else is refused with the file's name, the line of the first bad byte and what
the bytes look like, so the user knows how to save the file again."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import BinaryIO

from plie_audit.errors import InputError


def open_regular(path: Path, kind: str) -> BinaryIO:
    """Open the regular file ``path`` for reading. A pipe or a device (``/dev/zero``) is
    refused before any read: it could block, or feed bytes without end."""
    try:
        # O_NONBLOCK: opening a pipe must not wait for a writer (no effect on a regular file)
        handle = open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {kind}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path}: is a directory, not a {kind}")
        raise InputError(f"{path}: is not a regular file (device, pipe or socket)")
    return handle


def read_bytes(path: Path, kind: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused beyond ``limit`` bytes."""
    with open_regular(path, kind) as handle:
        try:
            raw = handle.read(limit + 1)
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > limit:
        raise InputError(f"{path}: larger than {limit // (1 << 20)} MiB, not a {kind}")
    return raw


def read_text(path: Path, kind: str, limit: int) -> str:
    """The UTF-8 text of the regular file ``path``, at most ``limit`` bytes."""
    return decode_utf8(read_bytes(path, kind, limit), path.name, kind)


def decode_utf8(raw: bytes, name: str, kind: str) -> str:
    """``raw`` as text (a UTF-8 BOM dropped); raise InputError naming ``name`` otherwise.
    ``kind`` says what the file should be ("CSV", "TOML file")."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{name} line 1: UTF-16 text, not UTF-8 (save the {kind} as UTF-8)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name} line {line}: not UTF-8 (byte 0x{raw[exc.start]:02x}; latin-1 or "
            f"Windows-1252?) (save the {kind} as UTF-8)"
        ) from None
    return refuse_nul(text, name, kind)


def refuse_nul(text: str, name: str, kind: str) -> str:
    """``text``, unless it holds a NUL (UTF-16 read as bytes, or no text at all)."""
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InputError(
            f"{name} line {line}: NUL character (UTF-16 without a byte-order mark, or not "
            f"text at all?) (save the {kind} as UTF-8)"
        )
    return text
