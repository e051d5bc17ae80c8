"""The Library of Congress BagIt conformance suite against ``plie_audit.packs.bagit.validate``.

The suite (tests/data/bagit, see SOURCE.md) says: every ``valid/`` bag passes; every
``invalid/`` and ``linux-only/`` bag fails; every ``warning/`` bag passes *and* warns. Each case
runs twice, as a folder and zipped (the case folder as the zip's single top folder), and both
must give the same findings and warnings.

``windows-only/`` cases are not collected: they write Windows path forms into manifests and
fetch.txt (``C:\\...``, ``\\\\?\\UNC\\...``, ``%HomeDrive%\\...``) that only escape a bag on
Windows, and the suite's README limits them to Windows. (The validator refuses backslashes and
drive letters anyway, which test_bagit.py checks.)

No ``linux-only/`` case depends on a symbolic link (they test absolute and ``~`` paths written in
manifests and fetch.txt), so zipping keeps every case's meaning; nothing is left out of the zip
run. A link inside a zip is refused as a whole (test_bagit.py).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from plie_audit.packs.bagit import BagFindingKind, BagReport, validate

SUITE = Path(__file__).resolve().parents[2] / "data" / "bagit"
APPLICABLE = ("valid", "invalid", "linux-only", "warning")
CASES = sorted(
    path.relative_to(SUITE).as_posix()
    for path in SUITE.glob("v*/*/*")
    if path.is_dir() and path.parent.name in APPLICABLE
)

# Why each bag that must fail does fail: the finding that decides it. Several of these bags
# also carry a tag manifest that was not updated when the case was made (bagit.txt's checksum
# is stale), which would fail them on its own; checking the deciding kind keeps each rule honest.
DECIDING: dict[str, BagFindingKind] = {
    "v0.97/invalid/baginfo-missing-encoding": BagFindingKind.DECLARATION_INVALID,
    "v0.97/invalid/bom-in-bagit.txt": BagFindingKind.DECLARATION_INVALID,
    "v0.97/invalid/corrupt-data-file": BagFindingKind.CHECKSUM_MISMATCH,
    "v0.97/invalid/corrupt-tag-file": BagFindingKind.CHECKSUM_MISMATCH,
    "v0.97/invalid/extra-file-in-bag": BagFindingKind.UNLISTED_FILE,
    "v0.97/invalid/invalid-version-number": BagFindingKind.DECLARATION_INVALID,
    "v0.97/invalid/missing-baginfo": BagFindingKind.MISSING_FILE,
    "v0.97/invalid/missing-bagit.txt": BagFindingKind.DECLARATION_MISSING,
    "v0.97/invalid/out-of-scope-file-paths-using-dot-notation": BagFindingKind.UNSAFE_PATH,
    "v0.97/invalid/out-of-scope-file-paths-using-dot-notation-for-fetch": (
        BagFindingKind.UNSAFE_PATH
    ),
    "v0.97/invalid/same-filename-listed-twice-with-different-hashes": (
        BagFindingKind.DUPLICATE_ENTRY
    ),
    "v0.97/linux-only/out-of-scope-file-paths-using-absolute-path": BagFindingKind.UNSAFE_PATH,
    "v0.97/linux-only/out-of-scope-file-paths-using-absolute-path-for-fetch": (
        BagFindingKind.UNSAFE_PATH
    ),
    "v0.97/linux-only/out-of-scope-file-paths-using-shortcut": BagFindingKind.UNSAFE_PATH,
    "v0.97/linux-only/out-of-scope-file-paths-using-shortcut-for-fetch": (
        BagFindingKind.UNSAFE_PATH
    ),
    "v0.97/linux-only/out-of-scope-file-paths-using-shortcut-username": (
        BagFindingKind.UNSAFE_PATH
    ),
    "v0.97/linux-only/out-of-scope-file-paths-using-shortcut-username-for-fetch": (
        BagFindingKind.UNSAFE_PATH
    ),
    "v1.0/invalid/bagit-with-invalid-whitespace": BagFindingKind.DECLARATION_INVALID,
    "v1.0/invalid/notAllManifestsListAllFiles": BagFindingKind.UNLISTED_FILE,
    "v1.0/invalid/same-filename-listed-twice-with-different-hashes": (
        BagFindingKind.DUPLICATE_ENTRY
    ),
    "v1.0/invalid/same-filename-listed-twice-with-the-same-hash": BagFindingKind.DUPLICATE_ENTRY,
}


def _category(case: str) -> str:
    return case.split("/")[1]


def _assert_outcome(case: str, report: BagReport) -> None:
    summary = [f.as_json() for f in report.findings], report.warnings
    category = _category(case)
    if category == "valid":
        assert report.ok, summary
    elif category == "warning":
        assert report.ok, summary
        assert any("warning" in line for line in report.warnings), summary
    else:
        assert not report.ok, summary


def _zip_case(case: str, folder: Path) -> Path:
    """Zip the case folder byte for byte, under one top folder named like the case."""
    source = SUITE / case
    top = source.name
    output = folder / f"{top}.zip"
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for directory, _subdirs, names in os.walk(source):
            for name in sorted(names):
                path = Path(directory) / name
                archive.write(path, f"{top}/{path.relative_to(source).as_posix()}")
    return output


def test_every_applicable_case_is_collected() -> None:
    """54 cases: a folder lost in a copy (or a checkout that drops files) shows here."""
    by_category = {category: 0 for category in APPLICABLE}
    for case in CASES:
        by_category[_category(case)] += 1
    assert by_category == {"valid": 27, "invalid": 15, "linux-only": 6, "warning": 6}
    assert len(CASES) == 54
    assert set(DECIDING) == {c for c in CASES if _category(c) in ("invalid", "linux-only")}


@pytest.mark.parametrize("case", CASES)
def test_folder(case: str) -> None:
    _assert_outcome(case, validate(SUITE / case))


@pytest.mark.parametrize("case", CASES)
def test_zip_gives_the_folder_result(case: str, tmp_path: Path) -> None:
    zipped = validate(_zip_case(case, tmp_path))
    _assert_outcome(case, zipped)
    folder = validate(SUITE / case)
    assert (zipped.version, zipped.findings, zipped.warnings) == (
        folder.version,
        folder.findings,
        folder.warnings,
    )
    assert (zipped.files, zipped.bytes) == (folder.files, folder.bytes)


@pytest.mark.parametrize("case", sorted(DECIDING))
def test_failing_case_fails_for_its_own_reason(case: str) -> None:
    report = validate(SUITE / case)
    assert DECIDING[case] in {f.kind for f in report.findings}, [
        f.as_json() for f in report.findings
    ]


def test_warnings_name_what_each_warning_case_is_about() -> None:
    """Each warning case warns about its own subject, not merely about something."""
    expected = {
        "duplicate-file-with-different-case": "differ only in letter case",
        "made-with-md5sum-tools": "binary-mode marker",
        "relative-path": "'./data/hello.txt' is not in normal form",
        "same-filename-listed-twice-with-different-normalization": "Unicode normalization",
        "same-filename-listed-twice-with-the-same-hash": "listed 2 times",
        "special-system-files": "operating-system",
    }
    for name, words in expected.items():
        report = validate(SUITE / "v0.97" / "warning" / name)
        assert any(words in line for line in report.warnings), (name, report.warnings)


def test_rules_follow_the_declared_version() -> None:
    """The same defect is a warning in a 0.97 bag and a finding in a 1.0 bag."""
    old = validate(SUITE / "v0.97/warning/same-filename-listed-twice-with-the-same-hash")
    new = validate(SUITE / "v1.0/invalid/same-filename-listed-twice-with-the-same-hash")
    assert old.ok and old.version == "0.97"
    assert not new.ok and new.version == "1.0"
    assert BagFindingKind.DUPLICATE_ENTRY in {f.kind for f in new.findings}
