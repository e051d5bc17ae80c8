"""The archive's own copy of the retention policies: installed at ``init``, then added,
changed, enabled or disabled by an ``archiviste`` — journaled, and never so as to shorten the
retention of pieces already filed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plie_audit import clock
from plie_audit.db.models import Convention, Evidence, RetentionPolicyRow
from plie_audit.db.session import Database
from plie_audit.errors import ConflictError, NotFoundError, RetentionError
from plie_audit.journal import log as journal
from plie_audit.journal.log import Event
from plie_audit.retention.never_earlier import guarded
from plie_audit.retention.policies import RetentionPolicy, parse_policy, shipped_policies


@dataclass(frozen=True)
class PolicyInfo:
    policy: RetentionPolicy
    enabled: bool
    version: int
    text: str
    updated_at: datetime
    updated_by: str | None

    def as_json(self) -> dict[str, object]:
        return {
            **self.policy.as_json(),
            "enabled": self.enabled,
            "version": self.version,
            "updated_at": clock.isoformat(self.updated_at),
            "updated_by": self.updated_by,
        }


def _info(row: RetentionPolicyRow) -> PolicyInfo:
    return PolicyInfo(
        parse_policy(row.text, f"policy {row.id}"),
        row.enabled,
        row.version,
        row.text,
        row.updated_at,
        row.updated_by,
    )


def install_shipped(session: Session, at: datetime) -> None:
    """Copy the shipped policies into a new archive (inside ``init``'s transaction)."""
    for policy, text in shipped_policies():
        session.add(
            RetentionPolicyRow(
                id=policy.id,
                text=text,
                enabled=policy.enabled,
                version=1,
                updated_at=at,
                updated_by=None,
            )
        )
        journal.append(
            session,
            Event.POLICY_ADDED,
            None,
            subjects=[policy.id],
            detail={
                "enabled": int(policy.enabled),
                "source": "shipped",
                "programme": policy.programme.value,
                "text": text,
            },
            at=at,
        )


def list_policies(db: Database) -> list[PolicyInfo]:
    with db.read() as session:
        rows = session.execute(select(RetentionPolicyRow).order_by(RetentionPolicyRow.id))
        return [_info(row) for row in rows.scalars()]


def get(db: Database, policy_id: str) -> PolicyInfo:
    with db.read() as session:
        row = session.get(RetentionPolicyRow, policy_id)
        if row is None:
            raise NotFoundError(f"unknown retention policy {policy_id!r}")
        return _info(row)


def _pieces_under(session: Session, programme: str) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(Evidence)
            .join(Convention)
            .where(Convention.programme == programme, Evidence.disposed_at.is_(None))
        ).scalar_one()
    )


def add(session: Session, actor: str, text: str, where: str) -> PolicyInfo:
    policy = parse_policy(text, where)
    now = clock.now()
    if session.get(RetentionPolicyRow, policy.id) is not None:
        raise ConflictError(
            f"policy {policy.id!r} already exists; change it with "
            "`plie-audit retention policy update`"
        )
    row = RetentionPolicyRow(
        id=policy.id,
        text=text,
        enabled=policy.enabled,
        version=1,
        updated_at=now,
        updated_by=actor,
    )
    # A new policy only adds a date to the latest one (max): checked all the same.
    guarded(
        session,
        lambda: session.add(row),
        f"adding policy {policy.id}",
        programme=policy.programme.value,
    )
    journal.append(
        session,
        Event.POLICY_ADDED,
        actor,
        subjects=[policy.id],
        detail={
            "enabled": int(policy.enabled),
            "source": where,
            "programme": policy.programme.value,
            "text": text,
        },
        at=now,
    )
    return _info(row)


def update(session: Session, actor: str, text: str, where: str) -> PolicyInfo:
    """Replace a policy's text; refused when it could shorten a retention already running."""
    new = parse_policy(text, where)
    now = clock.now()
    row = session.get(RetentionPolicyRow, new.id)
    if row is None:
        raise NotFoundError(f"unknown retention policy {new.id!r} (add it instead)")
    old = parse_policy(row.text, f"policy {row.id}")
    if row.enabled:
        reason = new.never_shorter_than(old)
        if reason is not None and _pieces_under(session, old.programme.value):
            raise RetentionError(
                f"refused: the new {new.id} would shorten the retention "
                f"of pieces already filed ({reason})"
            )

    def change() -> None:
        row.text, row.enabled, row.version = text, row.enabled or new.enabled, row.version + 1
        row.updated_at, row.updated_by = now, actor

    # The rule above reads the two texts; this one measures every convention's dates (a
    # policy's pieces are those of its old programme: the new one's only gain a date).
    guarded(session, change, f"changing policy {new.id}", programme=old.programme.value)
    journal.append(
        session,
        Event.POLICY_CHANGED,
        actor,
        subjects=[new.id],
        detail={"version": row.version, "enabled": int(row.enabled), "text": text},
        at=now,
    )
    return _info(row)


def set_enabled(session: Session, actor: str, policy_id: str, enabled: bool) -> PolicyInfo:
    now = clock.now()
    row = session.get(RetentionPolicyRow, policy_id)
    if row is None:
        raise NotFoundError(f"unknown retention policy {policy_id!r}")
    if row.enabled == enabled:
        return _info(row)
    policy = parse_policy(row.text, f"policy {row.id}")
    if not enabled:
        count = _pieces_under(session, policy.programme.value)
        if count:
            raise RetentionError(
                f"refused: disabling {policy_id} would shorten the retention of {count} "
                f"piece(s) already filed under programme {policy.programme.value}"
            )

    def change() -> None:
        row.enabled, row.updated_at, row.updated_by = enabled, now, actor

    verb = "enabling" if enabled else "disabling"
    guarded(session, change, f"{verb} policy {policy_id}", programme=policy.programme.value)
    journal.append(
        session,
        Event.POLICY_ENABLED if enabled else Event.POLICY_DISABLED,
        actor,
        subjects=[policy_id],
        at=now,
    )
    return _info(row)
