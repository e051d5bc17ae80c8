"""plie-audit init, and what every command does on a folder that is not an archive."""

from __future__ import annotations

import re
import stat
import tomllib
from pathlib import Path

import pytest


def test_init_creates_the_archive(run, archive_dir: Path, journal, backend) -> None:
    result = run.ok("init", "--origin", "anpe.example/rhone-alpes")
    assert f"archive created in {archive_dir}" in result.stdout
    assert re.search(r"root certificate sha256:[0-9a-f]{64}", result.stdout)
    assert "identity export --root" in result.stderr  # advice goes to stderr
    settings = tomllib.loads((archive_dir / "archive.toml").read_text())["archive"]
    assert settings["origin"] == "anpe.example/rhone-alpes"
    if backend.name == "embedded":
        assert settings["database_url"] == "sqlite:///archive.db"
        assert settings["store"] == "objects"
        assert (archive_dir / "archive.db").is_file()
        assert (archive_dir / "objects").is_dir()
    else:  # $PLIE_AUDIT_DATABASE_URL and $PLIE_AUDIT_STORE stand for the options
        assert settings["database_url"] == backend.database_url
        assert settings["store"] == backend.store_url
        assert not (archive_dir / "archive.db").exists()
    key = archive_dir / "keys" / "root.key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    # the archive is initialised, then the shipped retention policies are copied into it,
    # then the first checkpoint is signed over them, journaled and kept in the store
    events = [e["event"] for e in journal()]
    assert events[0] == "archive-initialised"
    assert set(events[1:-1]) == {"policy-added"} and len(events) > 2
    assert events[-1] == "checkpoint-issued"
    assert len(backend.checkpoint_copies()) == 1


def test_init_without_origin_uses_a_default(run, archive_dir: Path) -> None:
    run.ok("init")
    origin = tomllib.loads((archive_dir / "archive.toml").read_text())["archive"]["origin"]
    assert re.fullmatch(r"plie-audit/[0-9a-f-]{36}", origin)
    assert run.ok("verify").exit_code == 0


def test_init_twice_is_refused(run, archive_dir: Path, snapshot) -> None:
    run.ok("init", "--origin", "anpe.example/lyon")
    before = snapshot()
    result = run.fails(10, "init", "--origin", "anpe.example/lyon")
    assert "already an archive" in result.stderr
    assert snapshot() == before


def test_init_in_a_non_empty_folder_is_refused(run, archive_dir: Path) -> None:
    archive_dir.mkdir()
    (archive_dir / "notes.txt").write_text("à garder")
    run.fails(10, "init")
    assert [p.name for p in archive_dir.iterdir()] == ["notes.txt"]


def test_short_archive_passphrase_is_refused_and_leaves_nothing(run, archive_dir: Path) -> None:
    run.fails(11, "init", env={"PLIE_AUDIT_PASSPHRASE": "court"})
    assert not archive_dir.exists()


def test_origin_too_long_for_a_certificate_is_refused_and_leaves_nothing(
    run, archive_dir: Path
) -> None:
    result = run.fails(11, "init", "--origin", "o" * 65)
    assert "origin" in result.stderr
    assert not archive_dir.exists()


NO_AWS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
    "AWS_CONFIG_FILE": "/nonexistent/config",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def test_s3_store_without_credentials_is_a_clear_error(run, archive_dir: Path) -> None:
    result = run.fails(
        20,
        "init",
        "--store",
        "s3://plie-archive/lyon",
        env={**NO_AWS, "PLIE_AUDIT_DATABASE_URL": None},
    )
    assert "cannot reach s3://plie-archive" in result.stderr
    assert "credentials" in result.stderr
    assert not archive_dir.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://", "bad S3 bucket name"),
        ("s3://Capitals/x", "bad S3 bucket name"),
        ("s3://plie-archive/a//b", "bad S3 prefix"),
        ("s3://plie-archive/../b", "bad S3 prefix"),
        ("ftp://plie-archive/x", "unsupported store URL"),
    ],
)
def test_malformed_store_url_is_refused_before_anything_is_made(
    run, archive_dir: Path, url: str, message: str
) -> None:
    result = run("init", "--store", url, env={"PLIE_AUDIT_DATABASE_URL": None})
    assert result.exit_code in (10, 11), result.stderr
    assert message in result.stderr
    assert not archive_dir.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/plie", "unsupported --database-url"),
        ("postgresql+psycopg://plie:secret@db.example/plie", "must not carry a password"),
        ("postgresql+psycopg://plie@db.example", "names no database"),
    ],
)
def test_unsupported_or_unsafe_database_url_is_refused(
    run, archive_dir: Path, url: str, message: str
) -> None:
    result = run.fails(11, "init", "--database-url", url, env={"PLIE_AUDIT_STORE": None})
    assert message in result.stderr
    assert "secret" not in result.stderr
    assert not archive_dir.exists()


def test_init_without_passphrase_and_without_terminal_is_a_usage_error(run, archive_dir) -> None:
    result = run.fails(2, "init", env={"PLIE_AUDIT_PASSPHRASE": None})
    assert "PLIE_AUDIT_PASSPHRASE" in result.stderr
    assert not archive_dir.exists()


@pytest.mark.parametrize(
    "args",
    [
        ("verify",),
        ("evidence", "list"),
        ("convention", "list"),
        ("identity", "list"),
        ("identity", "create", "marie.dupont", "--role", "deposant"),
        (
            "--as",
            "marie.dupont",
            "evidence",
            "add",
            "x.pdf",
            "--convention",
            "C",
            "--kind",
            "facture",
        ),
    ],
)
def test_commands_on_a_folder_that_is_not_an_archive(
    run, archive_dir: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4")
    result = run.fails(10, *args)
    assert "no archive at" in result.stderr
    assert "plie-audit init" in result.stderr
    assert not archive_dir.exists()


def test_archive_option_overrides_the_environment(run, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run.ok("--archive", str(other), "init", "--origin", "anpe.example/autre")
    assert (other / "archive.toml").is_file()
    run.ok("--archive", str(other), "verify")
    run.fails(10, "verify")  # $PLIE_AUDIT_ARCHIVE still names a folder without archive


def test_malformed_archive_toml(run, archive_dir: Path) -> None:
    run.ok("init")
    (archive_dir / "archive.toml").write_text("[archive\n")
    result = run.fails(10, "verify")
    assert "malformed" in result.stderr


def test_verbose_shows_the_traceback(run, archive_dir: Path) -> None:
    result = run("--verbose", "verify")
    assert result.exit_code == 10
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: no archive at")
