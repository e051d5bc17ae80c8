"""The Python API mirrors the command line one to one: ``plie-audit <noun> <verb>`` is
``archive.<noun>.<verb>()`` (``import`` is ``import_``), documented."""

from __future__ import annotations

import inspect
from typing import Any

import click

from plie_audit.archive import Archive
from plie_audit.cli.main import cli

# The archive-wide verbs, and the one command that needs no archive (an authority checks a
# pack it received: plie_audit.packs.verify.verify_pack).
ARCHIVE_WIDE = {
    "init": Archive.init,
    "verify": Archive.verify,
    "archive export": Archive.export,
    "archive import": Archive.import_,
}
WITHOUT_ARCHIVE = {"pack verify"}


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found.extend(_leaves(command, (*path, name)))
        else:
            found.append((*path, name))
    return found


def _method(archive: Archive, path: tuple[str, ...]) -> Any:
    *nouns, verb = path
    owner: Any = archive
    for noun in nouns:
        owner = getattr(owner, noun, None)
    # ``retention event-withdraw`` -> ``archive.retention.event_withdraw``
    return getattr(owner, "import_" if verb == "import" else verb.replace("-", "_"), None)


def _archive() -> Archive:
    """An Archive whose services are made on a stand-in context (they only keep it)."""
    return Archive(object())  # type: ignore[arg-type]


def test_every_command_has_its_documented_method() -> None:
    archive = _archive()
    missing, undocumented = [], []
    for path in _leaves(cli):
        name = " ".join(path)
        if name in WITHOUT_ARCHIVE:
            continue
        method = ARCHIVE_WIDE.get(name) or _method(archive, path)
        if not callable(method):
            missing.append(f"plie-audit {name} -> archive.{'.'.join(path)}()")
        elif not inspect.getdoc(method):
            undocumented.append(name)
    assert missing == []
    assert undocumented == []


def test_a_command_without_its_method_is_found() -> None:
    assert _method(_archive(), ("evidence", "shred")) is None
    assert _method(_archive(), ("retention", "policy", "add")) is not None
