"""``data/scope.txt`` (``plie-audit/pack-scope@v1``, ``packs/scope.py``): what the builder
writes reads back the same, and every malformed text is refused with its line and reason."""

from __future__ import annotations

import pytest

from plie_audit.packs import layout
from plie_audit.packs.scope import (
    Scope,
    ScopeError,
    ScopeFile,
    ScopeIdentity,
    ScopePiece,
    ScopeTombstone,
    format_scope,
    parse_scope,
)

H1, H2, H3 = "a" * 64, "b" * 64, "c" * 64
P1 = "data/pieces/PLIE-LYON-2007-01/deplacement/ev-0123456789abcdef-billet.pdf"
P2 = "data/pieces/archive/documents/ev-fedcba9876543210-statuts.pdf"

GOOD = [
    layout.SCOPE_FORMAT,
    "request CR-0001",
    "identity claire.roux " + H1,
    "identity marie.dupont " + H2,
    "convention PLIE-LYON-2007-01",
    "convention PLIE-LYON-2008-02",
    f"piece ev-0123456789abcdef {H3} PLIE-LYON-2007-01 deplacement 100.50 marie.dupont {P1}",
    f"piece ev-fedcba9876543210 {H1} - - - claire.roux {P2}",
    f"tombstone ev-00000000000000aa {H2} 2009-03-01T10:00:00Z",
    f"tombstone ev-00000000000000bb {H2} 2009-03-02T10:00:00Z",
    f"file {H1} data/accounting/PLIE-LYON-2007-01/depenses.csv",
    f"file {H2} data/index.json",
    f"file {H3} data/trust/root.pem",
]


def _text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _scope() -> Scope:
    """The scope of GOOD, given in another order than the format's (the builder's case)."""
    return Scope(
        request="CR-0001",
        identities=(ScopeIdentity("marie.dupont", H2), ScopeIdentity("claire.roux", H1)),
        conventions=("PLIE-LYON-2007-01", "PLIE-LYON-2008-02"),
        pieces=(
            ScopePiece("ev-fedcba9876543210", H1, None, None, None, "claire.roux", P2),
            ScopePiece(
                "ev-0123456789abcdef",
                H3,
                "PLIE-LYON-2007-01",
                "deplacement",
                "100.50",
                "marie.dupont",
                P1,
            ),
        ),
        tombstones=(
            ScopeTombstone("ev-00000000000000bb", H2, "2009-03-02T10:00:00Z"),
            ScopeTombstone("ev-00000000000000aa", H2, "2009-03-01T10:00:00Z"),
        ),
        files=(
            ScopeFile(H3, "data/trust/root.pem"),
            ScopeFile(H2, "data/index.json"),
            ScopeFile(H1, "data/accounting/PLIE-LYON-2007-01/depenses.csv"),
        ),
    )


def test_format_sorts_and_writes_the_exact_text() -> None:
    assert format_scope(_scope()) == _text(GOOD)


def test_round_trip() -> None:
    text = _text(GOOD)
    parsed = parse_scope(text)
    assert format_scope(parsed) == text
    assert parse_scope(text.encode("ascii")) == parsed
    assert parsed.request == "CR-0001"
    assert parsed.conventions == ("PLIE-LYON-2007-01", "PLIE-LYON-2008-02")
    assert [p.path for p in parsed.pieces] == [P1, P2]
    assert parsed.pieces[1].convention is None and parsed.pieces[1].amount is None
    assert parsed.fingerprint("marie.dupont") == H2 and parsed.fingerprint("nobody") is None
    assert [t.id for t in parsed.tombstones] == ["ev-00000000000000aa", "ev-00000000000000bb"]


def test_accounted_paths_are_pieces_companions_and_files() -> None:
    accounted = parse_scope(_text(GOOD)).accounted()
    assert {P1, *(P1 + suffix for suffix in layout.COMPANIONS)} <= accounted
    assert "data/index.json" in accounted and layout.SCOPE not in accounted
    assert len(accounted) == 2 * 6 + 3


def test_a_minimal_scope_has_a_request_only() -> None:
    scope = parse_scope(f"{layout.SCOPE_FORMAT}\nrequest CR-9\n")
    assert scope == Scope(request="CR-9")
    assert format_scope(scope) == f"{layout.SCOPE_FORMAT}\nrequest CR-9\n"


def _replace(number: int, line: str | None) -> str:
    """GOOD with its line ``number`` (1-based) replaced, or removed when ``line`` is None."""
    lines = list(GOOD)
    if line is None:
        del lines[number - 1]
    else:
        lines[number - 1] = line
    return _text(lines)


def _insert(number: int, line: str) -> str:
    lines = list(GOOD)
    lines.insert(number - 1, line)
    return _text(lines)


MALFORMED = {
    "header": (_replace(1, "plie-audit/pack-scope@v2"), 1, "header"),
    "no request": (_replace(2, None), 0, "no request line"),
    "request not line 2": (_insert(3, "request CR-0002"), 3, "one request line"),
    "empty line": (_insert(5, ""), 5, "empty line"),
    "carriage return": (_replace(2, "request CR-0001\r"), 2, "carriage return"),
    "non-ASCII": (_replace(2, "request CR-0001é"), 2, "not printable ASCII"),
    "tab": (_replace(2, "request\tCR-0001"), 2, "not printable ASCII"),
    "two spaces": (_replace(2, "request  CR-0001"), 2, "exactly one space"),
    "leading space": (_replace(2, " request CR-0001"), 2, "exactly one space"),
    "trailing space": (_replace(2, "request CR-0001 "), 2, "exactly one space"),
    "unknown kind": (_insert(5, "signer x y"), 5, "unknown line kind"),
    "too few fields": (_replace(3, "identity claire.roux"), 3, "2 field(s)"),
    "too many fields": (_replace(5, "convention A B"), 5, "1 field(s)"),
    "out of its group": (_insert(6, "identity zoe " + H1), 6, "out of its group"),
    "identity unsorted": (
        _text([*GOOD[:2], GOOD[3], GOOD[2], *GOOD[4:]]),
        4,
        "out of order",
    ),
    "identity twice": (_replace(4, "identity claire.roux " + H2), 4, "twice"),
    "fingerprint": (_replace(3, "identity claire.roux " + "A" * 64), 3, "64 lowercase hex"),
    "convention twice": (_replace(6, "convention PLIE-LYON-2007-01"), 6, "twice"),
    "piece id": (_replace(7, GOOD[6].replace("ev-0123456789abcdef", "ev-0123")), 7, "piece id"),
    "piece sha256": (_replace(7, GOOD[6].replace(H3, "x" * 64)), 7, "sha256"),
    "piece amount": (_replace(7, GOOD[6].replace("100.50", "100,50")), 7, "amount"),
    "piece amount one decimal": (_replace(7, GOOD[6].replace("100.50", "100.5")), 7, "amount"),
    "filer without identity": (
        _replace(7, GOOD[6].replace("marie.dupont", "paul.martin")),
        7,
        "no identity line for paul.martin",
    ),
    "piece path outside pieces": (
        _replace(8, GOOD[7].replace(P2, "data/index.pdf")),
        8,
        "under data/pieces/",
    ),
    "piece path dot-dot": (
        _replace(8, GOOD[7].replace(P2, "data/pieces/../trust/x")),
        8,
        "no empty, . or .. segment",
    ),
    "piece path empty segment": (
        _replace(8, GOOD[7].replace(P2, "data/pieces//x")),
        8,
        "no empty, . or .. segment",
    ),
    "piece path alphabet": (
        _replace(8, GOOD[7].replace(P2, "data/pieces/a/b/c%20d")),
        8,
        "pack alphabet",
    ),
    "pieces unsorted": (_text([*GOOD[:6], GOOD[7], GOOD[6], *GOOD[8:]]), 8, "out of order"),
    "piece path twice": (
        _replace(8, GOOD[7].replace(P2, P1).replace("ev-fedcba9876543210", "ev-fedcba98765432ff")),
        8,
        "twice",
    ),
    "piece id twice": (
        _replace(8, GOOD[7].replace("ev-fedcba9876543210", "ev-0123456789abcdef")),
        8,
        "id ev-0123456789abcdef twice",
    ),
    "piece path is a companion": (
        _replace(8, GOOD[7].replace(P2, P1 + ".p7s")),
        8,
        "twice",
    ),
    "tombstone id": (_replace(9, f"tombstone ev-XYZ {H2} 2009-03-01T10:00:00Z"), 9, "tombstone id"),
    "tombstone date": (
        _replace(9, f"tombstone ev-00000000000000aa {H2} 2009-03-01 10:00"),
        9,
        "3 field(s)",
    ),
    "tombstone not UTC": (
        _replace(9, f"tombstone ev-00000000000000aa {H2} 2009-03-01T10:00:00+01:00"),
        9,
        "UTC instant",
    ),
    "tombstone impossible date": (
        _replace(9, f"tombstone ev-00000000000000aa {H2} 2009-02-30T10:00:00Z"),
        9,
        "UTC instant",
    ),
    "tombstone id is a piece's": (
        _replace(10, f"tombstone ev-fedcba9876543210 {H2} 2009-03-02T10:00:00Z"),
        10,
        "id ev-fedcba9876543210 twice",
    ),
    "tombstones unsorted": (_text([*GOOD[:8], GOOD[9], GOOD[8], *GOOD[10:]]), 10, "out of order"),
    "file sha256": (_replace(12, "file 1234 data/index.json"), 12, "sha256"),
    "file outside data": (_replace(12, f"file {H2} bagit.txt"), 12, "under data/"),
    "file is the scope": (_replace(12, f"file {H2} {layout.SCOPE}"), 12, "does not list itself"),
    "file is a piece": (_insert(11, f"file {H2} {P1}"), 11, "twice"),
    "files unsorted": (_text([*GOOD[:10], GOOD[11], GOOD[10], GOOD[12]]), 12, "out of order"),
    "file twice": (_insert(12, GOOD[10]), 12, "twice"),
    "no final newline": (_text(GOOD)[:-1], len(GOOD), "no line feed at the end"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_scope_is_refused_with_its_line(case: str) -> None:
    text, line, reason = MALFORMED[case]
    with pytest.raises(ScopeError) as caught:
        parse_scope(text)
    assert caught.value.line == line, str(caught.value)
    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("data", "line"),
    [(b"", 0), (b"plie-audit/pack-scope@v1\nrequest \xff\n", 2), (b"\x00\x01\x02", 1)],
)
def test_bytes_that_are_no_scope(data: bytes, line: int) -> None:
    with pytest.raises(ScopeError) as caught:
        parse_scope(data)
    assert caught.value.line == line


def test_format_refuses_what_would_not_read_back() -> None:
    scope = _scope()
    for bad in (
        Scope(request="CR 1"),
        Scope(request="CR-1", identities=(ScopeIdentity("claire roux", H1),)),
        Scope(request="CR-1", files=(ScopeFile(H1, "data/fiche é.pdf"),)),
        Scope(request="CR-1", pieces=scope.pieces),  # filers without an identity line
        Scope(request="CR-1", files=(ScopeFile(H1, "data/x"), ScopeFile(H2, "data/x"))),
    ):
        with pytest.raises(ValueError):
            format_scope(bad)
