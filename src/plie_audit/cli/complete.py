"""Shell completion of the archive's own names: identities, conventions, piece ids, control
requests, holds and policies (bash, zsh and fish: docs/cli.md, Completion).

Click completes commands and options by itself; the values below are read from the archive
named by ``--archive`` (else ``$PLIE_AUDIT_ARCHIVE``, else ``./archive``), read-only. A
completion never fails aloud: no archive, a damaged one or any error completes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem

from plie_audit import lazy
from plie_audit.cli.options import ENV_ARCHIVE

if TYPE_CHECKING:
    from plie_audit import archive as archive_api
    from plie_audit.archive import Archive
else:  # opened only when a value is completed (lazy.py)
    archive_api = lazy.module("plie_audit.archive")

Lister = Callable[["Archive"], list[tuple[str, str]]]


def _archive_dir(ctx: click.Context) -> Path:
    given = ctx.find_root().params.get("archive_dir")
    return Path(given or os.environ.get(ENV_ARCHIVE) or "archive")


def _completer(
    lister: Lister,
) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    def complete(
        ctx: click.Context, _param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        folder = _archive_dir(ctx)
        if not (folder / "archive.toml").is_file():
            return []
        try:
            archive = archive_api.Archive.open(folder)
            try:
                found = lister(archive)
            finally:
                archive.close()
        except Exception:  # noqa: BLE001 - a completion must never print a traceback
            return []
        return [
            CompletionItem(value, help=help or None)
            for value, help in found
            if value.startswith(incomplete)
        ]

    return complete


def _identities(archive: Archive) -> list[tuple[str, str]]:
    return [(i.name, ",".join(i.roles)) for i in archive.identity.list() if not i.revoked_at]


def _conventions(archive: Archive) -> list[tuple[str, str]]:
    return [(c.ref, c.plie) for c in archive.convention.list()]


def _pieces(archive: Archive) -> list[tuple[str, str]]:
    return [(e.id, f"{e.kind} {e.name}") for e in archive.evidence.list()]


def _requests(archive: Archive) -> list[tuple[str, str]]:
    return [(r.id, r.authority) for r in archive.control.list()]


def _holds(archive: Archive) -> list[tuple[str, str]]:
    return [(h.id, h.convention) for h in archive.retention.hold.list()]


def _policies(archive: Archive) -> list[tuple[str, str]]:
    return [(p.policy.id, p.policy.title) for p in archive.retention.policy.list()]


# Parameter name -> what completes it. ``ref`` and ``name`` depend on the group.
BY_PARAMETER: dict[str, Lister] = {
    "identity": _identities,
    "as_after_verb": _identities,
    "convention": _conventions,
    "evidence_id": _pieces,
    "request_id": _requests,
    "hold_id": _holds,
    "policy_id": _policies,
}
BY_GROUP: dict[tuple[str, str], Lister] = {
    ("convention", "ref"): _conventions,
    ("identity", "name"): _identities,
}


def attach_root(root: click.Group) -> None:
    """The root's own options (``--as``) complete identities."""
    for param in root.params:
        _attach_one(param, ())


def attach_command(command: click.Command, path: tuple[str, ...]) -> None:
    """Give every parameter of ``command`` (a group: of its whole tree) that names an
    archive's object its completion; ``path`` is the command's name under the root."""
    if isinstance(command, click.Group):
        for param in command.params:
            _attach_one(param, path)
        for name, sub in command.commands.items():
            attach_command(sub, (*path, name))
        return
    for param in command.params:
        _attach_one(param, path)


def _attach_one(param: click.Parameter, path: tuple[str, ...]) -> None:
    lister = BY_PARAMETER.get(param.name or "")
    if lister is None and path:
        lister = BY_GROUP.get((path[0], param.name or ""))
    if lister is not None:
        param._custom_shell_complete = _completer(lister)  # click's own hook
