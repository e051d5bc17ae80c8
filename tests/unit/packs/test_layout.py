"""The control pack's layout is stated once (``packs/layout.py``): the builder, ``pack verify``
and the ``verify.sh`` every pack carries all follow it; and one BagIt writer makes packs and
exports."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest

from plie_audit.errors import StoreError
from plie_audit.packs import layout
from plie_audit.packs.bagit import BagWriter, validate


def _template() -> str:
    lines = layout.VERIFY_SH_TEMPLATE.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("#%"))


def test_the_rendered_script_has_every_name_and_no_placeholder() -> None:
    script = layout.verify_sh().decode("utf-8")
    assert re.findall(r"@[A-Z_]+@", script) == []
    for value in layout.PLACEHOLDERS.values():
        assert value in script, value
    assert f'split("{" ".join(layout.COMPANIONS)}", COMP, " ")' in script
    assert not script.startswith("#!/bin/sh\n#%")


def test_the_template_states_no_layout_name_itself() -> None:
    """A name of the layout written out in the template would not follow a change of it.
    (Names without "/" or ".", such as "archive" or "consistency-", are also plain words or
    part of a finding kind: not looked for.)"""
    template = _template()
    literal = [
        value
        for value in layout.PLACEHOLDERS.values()
        if ("/" in value or "." in value) and value in template
    ]
    assert literal == []


def test_a_changed_name_changes_the_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(layout.PLACEHOLDERS, "@PROOF@", ".inclusion-proof")
    layout.verify_sh.cache_clear()
    try:
        script = layout.verify_sh().decode("utf-8")
    finally:
        layout.verify_sh.cache_clear()
    assert ".inclusion-proof" in script
    assert script.count(".tlog-proof") == script.count(layout.PACK_PROOF)  # only that name


def test_piece_paths_stay_in_the_pack_alphabet() -> None:
    path = layout.piece_path(None, None, "ev-0a1b", "Ticket TCL n°1 — été.pdf")
    assert path == "data/pieces/archive/documents/ev-0a1b-Ticket_TCL_n1_ete.pdf"
    assert re.fullmatch(r"[A-Za-z0-9._/-]+", path)
    assert layout.piece_path("PLIE-LYON", "deplacement", "ev-1", "a.pdf").startswith(
        f"{layout.PIECES}/PLIE-LYON/deplacement/"
    )


def test_the_writer_makes_a_valid_bag_with_its_tag_files(tmp_path: Path) -> None:
    bag = BagWriter(tmp_path / "bag")
    bag.write("data/a.txt", b"alpha\n")
    with bag.stream("data/b/c.txt") as write:
        write(b"be")
        write(b"ta\n")
    stored = b"stored bytes\n"
    assert bag.copy("data/d.bin", io.BytesIO(stored), hashlib.sha256(stored).hexdigest()) == 13
    tag = bag.finish([("Source-Organization", "anpe.example/lyon")], tags={"README.txt": b"x\n"})
    report = validate(tmp_path / "bag")
    assert report.ok, report.findings
    assert report.files == 3 and report.bytes == len(b"alpha\nbeta\n" + stored)
    info = (tmp_path / "bag" / "bag-info.txt").read_text(encoding="utf-8")
    assert info.startswith("Source-Organization: anpe.example/lyon\nPayload-Oxum: 24.3\n")
    listed = (tmp_path / "bag" / "tagmanifest-sha256.txt").read_text().split()
    assert "README.txt" in listed and "bag-info.txt" in listed
    assert len(tag) == 64


def test_the_writer_refuses_stored_bytes_that_are_not_the_recorded_ones(tmp_path: Path) -> None:
    bag = BagWriter(tmp_path / "bag", purpose="nothing packed")
    with pytest.raises(StoreError, match=r"do not match sha256:0{64}.*\(nothing packed\)"):
        bag.copy("data/piece.pdf", io.BytesIO(b"%PDF-1.4 altered\n"), "0" * 64)
