"""``archive.toml``: the settings chosen at ``init``, read by every later command.

Layout of an archive folder (embedded default)::

    archive.toml        these settings
    archive.db          SQLite metadata and journal (when database_url is the default)
    objects/            content-addressed store: objects/<2 hex>/<64 hex sha256>, read-only
    keys/root.key.pem   the root CA key, encrypted with $PLIE_AUDIT_PASSPHRASE (mode 0600)
    keys/identities/<name>.key.pem   each identity's key, encrypted with its passphrase (0600)
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from plie_audit.errors import ArchiveStateError

SETTINGS_FILE = "archive.toml"
SETTINGS_FORMAT = 1
DEFAULT_DATABASE = "archive.db"
DEFAULT_STORE = "objects"


@dataclass(frozen=True)
class Settings:
    """What ``archive.toml`` holds."""

    archive_id: str
    origin: str
    database_url: str
    store: str
    created_at: str
    format: int = SETTINGS_FORMAT
    tsa_url: str | None = None  # RFC 3161 time-stamping authority for journal checkpoints
    # Kinds whose bytes only SENSITIVE_READERS may read, beyond the payslips (domain.py).
    sensitive_kinds: tuple[str, ...] = ()
    # Documents head with « République française » only when asked (`init
    # --republique-francaise`): the archive is not the State's, the agence is its producer.
    republique_francaise: bool = False

    def resolved_database_url(self, root: Path) -> str:
        """SQLite paths in ``archive.toml`` are relative to the archive folder."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            path = self.database_url[len(prefix) :]
            if path and not os.path.isabs(path):
                return prefix + str((root / path).resolve())
        return self.database_url


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(ch if ord(ch) >= 0x20 else f"\\u{ord(ch):04x}" for ch in escaped)
    return f'"{escaped}"'


def write_settings(root: Path, settings: Settings) -> None:
    """Write ``archive.toml`` atomically (temp file, fsync, rename)."""
    lines = [
        "# plie-audit archive settings, written by `plie-audit init`.",
        "# Relative paths are relative to this folder. Do not edit by hand.",
        "[archive]",
        f"format = {settings.format}",
        f"id = {_toml_string(settings.archive_id)}",
        f"origin = {_toml_string(settings.origin)}",
        f"created_at = {_toml_string(settings.created_at)}",
        f"database_url = {_toml_string(settings.database_url)}",
        f"store = {_toml_string(settings.store)}",
    ]
    if settings.tsa_url:
        lines.append(f"tsa_url = {_toml_string(settings.tsa_url)}")
    if settings.sensitive_kinds:
        kinds = ", ".join(_toml_string(kind) for kind in settings.sensitive_kinds)
        lines.append(f"sensitive_kinds = [{kinds}]")
    if settings.republique_francaise:
        lines.append("republique_francaise = true")
    lines.append("")
    target = root / SETTINGS_FILE
    tmp = root / (SETTINGS_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)


def _string(section: dict[str, object], key: str) -> str:
    value = section[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string, not {type(value).__name__}")
    return value


def _integer(section: dict[str, object], key: str) -> int:
    value = section[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key} must be an integer, not {type(value).__name__}")
    return value


def _sensitive_kinds(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise ValueError("sensitive_kinds must be a list of evidence kinds")
    return tuple(value)


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("republique_francaise must be true or false")
    return value


def read_settings(root: Path) -> Settings:
    """Read ``archive.toml``; a missing or malformed file is an :class:`ArchiveStateError`."""
    path = root / SETTINGS_FILE
    if not path.is_file():
        raise ArchiveStateError(
            f"no archive at {root} (no {SETTINGS_FILE}); create one with `plie-audit init` "
            "or point --archive / $PLIE_AUDIT_ARCHIVE at it"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        section = data["archive"]
        settings = Settings(
            archive_id=_string(section, "id"),
            origin=_string(section, "origin"),
            database_url=_string(section, "database_url"),
            store=_string(section, "store"),
            created_at=_string(section, "created_at"),
            format=_integer(section, "format"),
            tsa_url=_string(section, "tsa_url") if "tsa_url" in section else None,
            sensitive_kinds=_sensitive_kinds(section.get("sensitive_kinds", [])),
            republique_francaise=_boolean(section.get("republique_francaise", False)),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ArchiveStateError(f"{path} is malformed: {exc}") from exc
    if settings.format != SETTINGS_FORMAT:
        raise ArchiveStateError(
            f"{path} has format {settings.format}; this plie-audit reads format {SETTINGS_FORMAT}"
        )
    return settings
