"""`retention locks` on both backends: reporting needs no role, `--apply` needs archiviste
(a refusal changes nothing but its journal entry); a local folder has nothing to enforce."""

from __future__ import annotations

import json


def test_locks_report_needs_no_role_and_matches_retention(run, populated, samples, backend) -> None:
    run.ok(
        "evidence", "add", samples["note.txt"], "--convention", "PLIE-LYON-2007-01",
        "--kind", "note-frais", as_="marie.dupont",
    )  # fmt: skip
    report = run.json("retention", "locks")
    assert report["enforced"] is (backend.name == "scale")
    assert report["differing"] == [] and report["errors"] == []
    if backend.name == "embedded":
        assert report["checked"] == 0
        assert "enforces no locks" in run.ok("retention", "locks").stdout
    else:
        assert report["checked"] == 1  # the piece, pending: under its legal hold already
        assert run.ok("retention", "locks").stdout.rstrip().endswith("OK")


def test_apply_without_the_archiviste_role_is_refused_and_journaled(
    run, populated, snapshot, journal
) -> None:
    before = snapshot()
    result = run.fails(41, "retention", "locks", "--apply", as_="marie.dupont")
    assert "archiviste" in result.stderr
    after = snapshot()
    assert before.removed_rows(after) == set()
    (added,) = before.added_rows(after)
    assert added.startswith('INSERT INTO "journal"')
    assert after.files == before.files
    refusal = journal()[-1]
    assert refusal["event"] == "action-refused"
    assert json.dumps(refusal["detail"]).count("retention locks") == 1
