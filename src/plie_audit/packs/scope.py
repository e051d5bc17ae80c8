"""``data/scope.txt``, format ``plie-audit/pack-scope@v1``: what a control pack holds, stated
once for the builder (``control/pack.py``, :func:`format_scope`) and ``pack verify``
(:func:`parse_scope`); ``verify.sh`` reads the same text with awk (docs/formats.md).

ASCII, LF line ends, one record per line, fields separated by one space, no empty line::

    plie-audit/pack-scope@v1
    request <request id>
    identity <name> <sha256 hex of the certificate's DER>        sorted by name
    convention <reference>                                        the request's, in its order
    piece <id> <sha256> <convention|-> <poste|-> <amount|-> <filed_by> <path>   sorted by path
    tombstone <id> <sha256> <disposed_at, UTC …Z>                 sorted by id
    file <sha256> <path>                                          sorted by path

The groups come in that order. No id is twice (pieces and tombstones), no path is twice (a
piece, its five companions, the ``file`` lines); every piece's ``filed_by`` has an
``identity`` line. The parser checks the text's form only: whether the pack holds what the
scope says is ``pack verify``'s business.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from plie_audit.packs import layout

FORMAT = layout.SCOPE_FORMAT
NULL = "-"  # a null field (convention, poste, amount)

_TOKEN = re.compile(r"[!-~]+")  # printable ASCII, no space
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"ev-[0-9a-f]{16}")
_AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")

_KINDS = ("request", "identity", "convention", "piece", "tombstone", "file")
_FIELDS = {"request": 1, "identity": 2, "convention": 1, "piece": 7, "tombstone": 3, "file": 2}


class ScopeError(ValueError):
    """A malformed scope text; ``line`` is the 1-based line at fault (0: the whole text)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.reason = message


_Fail = Callable[[str], ScopeError]  # makes the error of one line


@dataclass(frozen=True)
class ScopeIdentity:
    """An identity that signed in the pack (a filer or the builder) and the SHA-256 of its
    certificate's DER (lowercase hex, as ``signing.ca.fingerprint``)."""

    name: str
    fingerprint: str


@dataclass(frozen=True)
class ScopePiece:
    """A piece the pack holds; ``None`` for a null convention, poste or amount."""

    id: str
    sha256: str
    convention: str | None
    poste: str | None
    amount: str | None  # as in the filing record: "1234.50"
    filed_by: str
    path: str  # data/pieces/…

    @property
    def companions(self) -> tuple[str, ...]:
        """The paths of its five companions (signatures, record, chain, proof)."""
        return tuple(self.path + suffix for suffix in layout.COMPANIONS)


@dataclass(frozen=True)
class ScopeTombstone:
    """A piece of the scope disposed of: no file in the pack."""

    id: str
    sha256: str
    disposed_at: str  # YYYY-MM-DDTHH:MM:SSZ


@dataclass(frozen=True)
class ScopeFile:
    """Any other payload file (index, trust, accounting) with its SHA-256."""

    sha256: str
    path: str


@dataclass(frozen=True)
class Scope:
    """A pack's scope. :func:`format_scope` sorts the groups as the format requires;
    :func:`parse_scope` returns them in the (checked) order of the text."""

    request: str
    identities: tuple[ScopeIdentity, ...] = ()
    conventions: tuple[str, ...] = ()
    pieces: tuple[ScopePiece, ...] = ()
    tombstones: tuple[ScopeTombstone, ...] = ()
    files: tuple[ScopeFile, ...] = ()
    _fingerprints: dict[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        self._fingerprints.update((i.name, i.fingerprint) for i in self.identities)

    def fingerprint(self, name: str) -> str | None:
        """The certificate fingerprint of identity ``name``, if it has a line."""
        return self._fingerprints.get(name)

    def accounted(self) -> set[str]:
        """Every payload path the scope accounts for: pieces, their companions, files
        (``data/scope.txt`` itself is not among them)."""
        paths = {file.path for file in self.files}
        for piece in self.pieces:
            paths.add(piece.path)
            paths.update(piece.companions)
        return paths


def format_scope(scope: Scope) -> str:
    """The text of ``scope``: identities sorted by name, pieces and files by path, tombstones
    by id, conventions in their order. Raises :class:`ScopeError` (a ``ValueError``) when a
    field would not read back the same (a space, non-ASCII, a malformed hash, id or path, a
    duplicate, a filer without an identity)."""
    lines = [FORMAT, f"request {scope.request}"]
    lines += [f"identity {i.name} {i.fingerprint}" for i in sorted(scope.identities, key=_by_name)]
    lines += [f"convention {ref}" for ref in scope.conventions]
    for piece in sorted(scope.pieces, key=_by_path):
        shown = " ".join(
            NULL if value is None else value
            for value in (piece.convention, piece.poste, piece.amount)
        )
        lines.append(f"piece {piece.id} {piece.sha256} {shown} {piece.filed_by} {piece.path}")
    lines += [
        f"tombstone {t.id} {t.sha256} {t.disposed_at}" for t in sorted(scope.tombstones, key=_by_id)
    ]
    lines += [f"file {f.sha256} {f.path}" for f in sorted(scope.files, key=_by_path)]
    text = "".join(f"{line}\n" for line in lines)
    parse_scope(text)  # the same rules both ways: what is written reads back
    return text


def _by_name(identity: ScopeIdentity) -> str:
    return identity.name


def _by_path(item: ScopePiece | ScopeFile) -> str:
    return item.path


def _by_id(tombstone: ScopeTombstone) -> str:
    return tombstone.id


def parse_scope(text: str | bytes) -> Scope:
    """Read a scope text, strictly (every rule of the module docstring).

    Raises:
        ScopeError: (a ``ValueError``) the first malformed line, with its number and what is
            wrong with it.
    """
    if isinstance(text, bytes):
        data = text
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ScopeError(line, f"a byte that is not ASCII (0x{data[exc.start]:02x})") from None
    if not text:
        raise ScopeError(0, "empty: no header line")
    if not text.endswith("\n"):
        raise ScopeError(text.count("\n") + 1, "no line feed at the end of the last line")
    return _Parser().run(text[:-1].split("\n"))


class _Parser:
    def __init__(self) -> None:
        self.rank = 0
        self.request: str | None = None
        self.identities: list[ScopeIdentity] = []
        self.names: set[str] = set()
        self.conventions: list[str] = []
        self.pieces: list[ScopePiece] = []
        self.tombstones: list[ScopeTombstone] = []
        self.files: list[ScopeFile] = []
        self.ids: set[str] = set()
        self.paths: set[str] = set()
        self.last: dict[str, str] = {}

    def run(self, lines: list[str]) -> Scope:
        if lines[0] != FORMAT:
            raise ScopeError(1, f"the header must be {FORMAT!r}, found {_shown(lines[0])}")
        for number, line in enumerate(lines[1:], start=2):
            self.line(number, line)
        if self.request is None:
            raise ScopeError(0, "no request line")
        return Scope(
            request=self.request,
            identities=tuple(self.identities),
            conventions=tuple(self.conventions),
            pieces=tuple(self.pieces),
            tombstones=tuple(self.tombstones),
            files=tuple(self.files),
        )

    def line(self, number: int, line: str) -> None:
        def fail(message: str) -> ScopeError:
            return ScopeError(number, message)

        if not line:
            raise fail("empty line")
        if "\r" in line:
            raise fail("a carriage return (line ends are LF only)")
        bad = next((c for c in line if not " " <= c <= "~"), None)
        if bad is not None:
            raise fail(f"a character that is not printable ASCII ({bad!r})")
        if line.startswith(" ") or line.endswith(" ") or "  " in line:
            raise fail("fields are separated by exactly one space")
        kind, *fields = line.split(" ")
        if kind not in _FIELDS:
            raise fail(f"unknown line kind {_shown(kind)}")
        if len(fields) != _FIELDS[kind]:
            raise fail(
                f"a {kind} line has {_FIELDS[kind]} field(s) after its kind, found {len(fields)}"
            )
        rank = _KINDS.index(kind)
        if rank < self.rank:
            raise fail(f"a {kind} line after a {_KINDS[self.rank]} line (out of its group)")
        self.rank = rank
        if kind == "request":
            if self.request is not None or number != 2:
                raise fail("one request line, line 2")
            self.request = _token(fields[0], "request id", fail)
        elif kind == "identity":
            name = _token(fields[0], "identity name", fail)
            self.sorted_once(kind, name, f"identity {name}", fail)
            self.names.add(name)
            self.identities.append(ScopeIdentity(name, _hex64(fields[1], "fingerprint", fail)))
        elif kind == "convention":
            ref = _token(fields[0], "convention reference", fail)
            if ref in self.conventions:
                raise fail(f"convention {ref} twice")
            self.conventions.append(ref)
        elif kind == "piece":
            self.piece(fields, fail)
        elif kind == "tombstone":
            self.tombstone(fields, fail)
        else:
            path = _path(fields[1], "data/", fail)
            if path == layout.SCOPE:
                raise fail(f"{layout.SCOPE} does not list itself")
            self.sorted_once(kind, path, f"path {path}", fail)
            self.claim(path, fail)
            self.files.append(ScopeFile(_hex64(fields[0], "sha256", fail), path))

    def piece(self, fields: list[str], fail: _Fail) -> None:
        piece_id, digest, convention, poste, amount, filed_by, path = fields
        if not _ID.fullmatch(piece_id):
            raise fail(f"piece id {_shown(piece_id)} is not ev- and 16 lowercase hex digits")
        if amount != NULL and not _AMOUNT.fullmatch(amount):
            raise fail(f"amount {_shown(amount)} is neither - nor an amount such as 1234.50")
        filer = _token(filed_by, "filed_by", fail)
        if filer not in self.names:
            raise fail(f"no identity line for {filer}, who filed piece {piece_id}")
        path = _path(path, f"{layout.PIECES}/", fail)
        self.sorted_once("piece", path, f"path {path}", fail)
        self.claim_id(piece_id, fail)
        piece = ScopePiece(
            id=piece_id,
            sha256=_hex64(digest, "sha256", fail),
            convention=None if convention == NULL else _token(convention, "convention", fail),
            poste=None if poste == NULL else _token(poste, "poste", fail),
            amount=None if amount == NULL else amount,
            filed_by=filer,
            path=path,
        )
        for claimed in (path, *piece.companions):
            self.claim(claimed, fail)
        self.pieces.append(piece)

    def tombstone(self, fields: list[str], fail: _Fail) -> None:
        tombstone_id, digest, disposed_at = fields
        if not _ID.fullmatch(tombstone_id):
            raise fail(
                f"tombstone id {_shown(tombstone_id)} is not ev- and 16 lowercase hex digits"
            )
        if not _INSTANT.fullmatch(disposed_at) or not _valid_instant(disposed_at):
            raise fail(
                f"disposed_at {_shown(disposed_at)} is not a UTC instant YYYY-MM-DDTHH:MM:SSZ"
            )
        self.sorted_once("tombstone", tombstone_id, f"id {tombstone_id}", fail)
        self.claim_id(tombstone_id, fail)
        self.tombstones.append(
            ScopeTombstone(tombstone_id, _hex64(digest, "sha256", fail), disposed_at)
        )

    def sorted_once(self, kind: str, key: str, what: str, fail: _Fail) -> None:
        last = self.last.get(kind)
        if last == key:
            raise fail(f"{what} twice")
        if last is not None and key < last:
            raise fail(f"{kind} lines out of order: {key} after {last}")
        self.last[kind] = key

    def claim_id(self, evidence_id: str, fail: _Fail) -> None:
        if evidence_id in self.ids:
            raise fail(f"id {evidence_id} twice")
        self.ids.add(evidence_id)

    def claim(self, path: str, fail: _Fail) -> None:
        if path in self.paths:
            raise fail(f"path {path} twice (a piece, a companion or a file)")
        self.paths.add(path)


def _shown(value: str, limit: int = 60) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _token(value: str, what: str, fail: _Fail) -> str:
    if not _TOKEN.fullmatch(value):
        raise fail(f"{what} {_shown(value)} is not printable ASCII without spaces")
    return value


def _hex64(value: str, what: str, fail: _Fail) -> str:
    if not _HEX64.fullmatch(value):
        raise fail(f"{what} {_shown(value)} is not 64 lowercase hex digits")
    return value


def _path(value: str, prefix: str, fail: _Fail) -> str:
    segments = value.split("/")
    if not value.startswith(prefix) or any(
        not _SEGMENT.fullmatch(s) or s in {".", ".."} for s in segments
    ):
        raise fail(
            f"path {_shown(value)} is not a relative path under {prefix} in the pack "
            "alphabet [A-Za-z0-9._-] (no empty, . or .. segment)"
        )
    return value


def _valid_instant(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True
