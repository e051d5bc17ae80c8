"""Bad input to evidence add: a one-line error, a non-zero exit code, nothing changed.

A refused action (wrong role, revoked identity) is the one exception: it adds exactly one
journal entry recording the refusal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CONV = "PLIE-LYON-2007-01"


def _add_args(path: Path | str, *extra: str) -> tuple[str | Path, ...]:
    return ("evidence", "add", path, "--convention", CONV, "--kind", "facture", *extra)


@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        (("--convention", "PLIE-PARIS-2007-09"), 11, "unknown convention 'PLIE-PARIS-2007-09'"),
        (("--kind", "ticket"), 2, "--kind"),
        (("--poste", "transport"), 2, "--poste"),
        (("--amount=-12.00",), 2, "negative amount"),
        (("--amount", "12,50"), 2, "bad amount"),
        (("--amount", "12.345"), 2, "bad amount"),
        (("--amount", "douze"), 2, "bad amount"),
        (("--paid-on", "2007-02-30"), 2, "no such day"),
        (("--paid-on", "12/03/2007"), 2, "YYYY-MM-DD"),
        (("--label", "ligne\nsuivante"), 11, "control characters"),
        (("--label", "x" * 501), 11, "too long"),
    ],
)
def test_bad_values(run, populated, samples, unchanged, extra, code, says) -> None:
    with unchanged():
        result = run.fails(code, *_add_args(samples["note.txt"]), *extra, as_="marie.dupont")
    assert says in result.stderr


def test_missing_file(run, populated, tmp_path: Path, unchanged) -> None:
    with unchanged():
        result = run.fails(11, *_add_args(tmp_path / "absent.pdf"), as_="marie.dupont")
    assert "no such file" in result.stderr


def test_directory(run, populated, tmp_path: Path, unchanged) -> None:
    with unchanged():
        result = run.fails(11, *_add_args(tmp_path), as_="marie.dupont")
    assert "is a directory" in result.stderr


def test_device_file(run, populated, unchanged) -> None:
    with unchanged():
        result = run.fails(11, *_add_args("/dev/null"), as_="marie.dupont")
    assert "not a regular file" in result.stderr


def test_symlink_is_refused_not_followed(
    run, populated, samples, tmp_path: Path, unchanged
) -> None:
    link = tmp_path / "lien.pdf"
    link.symlink_to(samples["billet-lyon-paris.pdf"])
    with unchanged():
        result = run.fails(11, *_add_args(link), as_="marie.dupont")
    assert "symbolic link" in result.stderr
    assert "does not follow" in result.stderr


def test_one_bad_file_among_good_ones_files_nothing(
    run, populated, samples, tmp_path: Path, unchanged
) -> None:
    with unchanged():
        run.fails(
            11,
            "evidence",
            "add",
            samples["note.txt"],
            tmp_path / "absent.pdf",
            samples["billet-lyon-paris.pdf"],
            "--convention",
            CONV,
            "--kind",
            "facture",
            as_="marie.dupont",
        )


def test_a_read_error_while_storing_leaves_nothing(run, populated, unchanged) -> None:
    # /proc/self/mem is a regular file whose first read fails (EIO) on Linux: the copy into
    # the store breaks half-way, which must leave no object, no temp file and no row.
    with unchanged():
        result = run.fails(20, *_add_args("/proc/self/mem"), as_="marie.dupont")
    assert "cannot store /proc/self/mem" in result.stderr


@pytest.mark.parametrize(
    ("who", "env", "code", "says"),
    [
        (
            "marie.dupont",
            {"PLIE_AUDIT_IDENTITY_PASSPHRASE": "not-her-passphrase"},
            42,
            "wrong passphrase",
        ),
        ("nobody", {}, 12, "unknown identity 'nobody'"),
        (None, {}, 2, "--as"),
        (
            "marie.dupont",
            {"PLIE_AUDIT_IDENTITY_PASSPHRASE": None},
            2,
            "PLIE_AUDIT_IDENTITY_PASSPHRASE",
        ),
    ],
)
def test_who_acts(run, populated, samples, unchanged, who, env, code, says) -> None:
    with unchanged():
        result = run.fails(code, *_add_args(samples["note.txt"]), as_=who, env=env)
    assert says in result.stderr


def test_identity_from_the_environment(run, populated, samples) -> None:
    report = run.json(*_add_args(samples["note.txt"]), env={"PLIE_AUDIT_IDENTITY": "marie.dupont"})
    assert report["filed"][0]["filed_by"] == "marie.dupont"


def test_wrong_role_is_refused_and_only_the_refusal_is_recorded(
    run, populated, samples, snapshot, journal
) -> None:
    before = snapshot()
    result = run.fails(41, *_add_args(samples["note.txt"]), as_="claire.martin")
    assert "lacks the role 'deposant'" in result.stderr
    after = snapshot()
    assert before.removed_rows(after) == set()
    (added,) = before.added_rows(after)
    assert added.startswith('INSERT INTO "journal"')
    assert after.files == before.files  # no object stored
    refusal = journal()[-1]
    assert refusal["event"] == "action-refused"
    assert refusal["actor"] == "claire.martin"
    assert refusal["subjects"] == [CONV]
    assert refusal["detail"] == {
        "action": "evidence add",
        "reason": "identity 'claire.martin' lacks the role 'deposant' (holds: controle)",
        "role": "deposant",
    }
