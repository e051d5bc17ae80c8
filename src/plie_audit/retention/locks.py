"""What the storage itself must enforce on each object: S3 Object Lock from retention.

For every stored object (its bytes may be shared by several filings), over the filings not
disposed of:

- a **legal hold** while any of them is ``pending`` (its retention date still unknown) or
  ``held`` (a hold or an open control request);
- a **COMPLIANCE retention** until the end of the latest ``retain_until`` (a civil date in
  Europe/Paris, inclusive: the lock runs to the next midnight in Paris), never shortened;
- objects every filing of which was disposed of are destroyed once the lock allows (a disposal
  that met a lock not yet expired leaves the bytes for this pass).

A store without locks (the local folder) has nothing to apply: the archive refuses early
disposal itself, and ``verify`` finds what changed behind its back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from plie_audit import clock
from plie_audit.db.models import Evidence
from plie_audit.db.session import Database
from plie_audit.errors import StoreError, StoreLocked
from plie_audit.progress import ProgressCallback
from plie_audit.retention.engine import RetentionRules, RetentionStatus
from plie_audit.store.base import LockState, ObjectStore

CHUNK = 1000


def lock_end(retain_until: date) -> datetime:
    """The instant a lock for an inclusive civil date ends: the next midnight in Paris."""
    midnight = datetime.combine(retain_until + timedelta(days=1), time(0), tzinfo=clock.PARIS)
    return midnight.astimezone(UTC)


@dataclass(frozen=True)
class RequiredLock:
    """What retention requires of one object today."""

    sha256: str
    retain_until: datetime | None  # None: no date known yet (or already past)
    legal_hold: bool
    disposed: bool  # every filing of these bytes was disposed of: destroy when allowed

    def satisfied_by(self, state: LockState | None) -> bool:
        """Whether nothing is left to apply: the bytes of a disposed object gone, otherwise
        protected as required and no legal hold kept longer than needed."""
        if self.disposed:
            return state is None
        if state is None:
            return False  # a missing object is verify's finding; nothing to lock
        return self.protected_by(state) and state.legal_hold == self.legal_hold

    def protected_by(self, state: LockState | None) -> bool:
        """Whether the stored lock protects at least as much as retention requires (a legal
        hold kept a little longer is not a weakness; a missing one is)."""
        if self.disposed or state is None:
            return True  # destroyed bytes, or a missing object (verify's own finding)
        if self.legal_hold and not state.legal_hold:
            return False
        if self.retain_until is not None and self.retain_until > datetime.now(UTC):
            return state.retain_until is not None and state.retain_until >= self.retain_until
        return True

    def describe(self) -> str:
        """What is required, e.g. ``legal hold`` or ``COMPLIANCE until 2019-01-01T00:00:00Z``."""
        parts = ["legal hold"] if self.legal_hold else []
        if self.retain_until is not None and self.retain_until > datetime.now(UTC):
            parts.append(f"COMPLIANCE until {clock.isoformat(self.retain_until)}")
        return ", ".join(parts) or "no lock"

    def as_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "retain_until": clock.isoformat(self.retain_until) if self.retain_until else None,
            "legal_hold": self.legal_hold,
            "disposed": self.disposed,
        }


def describe_state(state: LockState) -> str:
    """What the store holds, in the words of :meth:`RequiredLock.describe`."""
    parts = ["legal hold" if state.legal_hold else "no legal hold"]
    if state.retain_until is not None:
        parts.append(f"COMPLIANCE until {clock.isoformat(state.retain_until)}")
    if state.versions > 1:
        parts.append(f"{state.versions} versions")
    return ", ".join(parts)


@dataclass
class LockReport:
    """The outcome of one pass over the store's locks."""

    store: str
    enforced: bool  # False: the store has no locks (local folder)
    checked: int = 0
    changed: list[str] = field(default_factory=list)
    destroyed: list[str] = field(default_factory=list)
    waiting: list[dict[str, str]] = field(default_factory=list)  # destruction the lock refuses
    differing: list[dict[str, Any]] = field(default_factory=list)  # what --apply would change
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "enforced": self.enforced,
            "checked": self.checked,
            "changed": self.changed,
            "destroyed": self.destroyed,
            "waiting": self.waiting,
            "differing": self.differing,
            "errors": self.errors,
        }


def required(
    db: Database,
    *,
    sha256s: Iterable[str] | None = None,
    convention: str | None = None,
    today: date | None = None,
    rules: RetentionRules | None = None,
) -> Iterator[RequiredLock]:
    """What retention requires of each object (all, or those named), a chunk at a time.
    ``rules`` lets a caller that asks chunk after chunk (verify) load them once."""
    today = today or clock.today()
    wanted = sorted(set(sha256s)) if sha256s is not None else None
    if rules is None:
        with db.read() as session:
            rules = RetentionRules.load(session)
    last = ""
    while True:
        with db.read() as session:
            query = select(Evidence).order_by(Evidence.sha256, Evidence.id)
            if wanted is not None:
                batch = [s for s in wanted if s > last][:CHUNK]
                if not batch:
                    return
                query = query.where(Evidence.sha256.in_(batch))
            else:
                objects = select(Evidence.sha256).where(Evidence.sha256 > last)
                if convention is not None:
                    objects = objects.where(Evidence.convention_ref == convention)
                batch = list(
                    session.execute(
                        objects.distinct().order_by(Evidence.sha256).limit(CHUNK)
                    ).scalars()
                )
                if not batch:
                    return
                query = query.where(Evidence.sha256.in_(batch))
            rows = list(session.execute(query).scalars())
        by_object: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_object[row.sha256].append(rules.evaluate(row, today))
        for sha256 in batch:
            pieces = [
                r for r in by_object.get(sha256, []) if r.status is not RetentionStatus.DISPOSED
            ]
            if not by_object.get(sha256):
                continue  # not an object of this archive's filings
            dates = [r.retain_until for r in pieces if r.retain_until is not None]
            yield RequiredLock(
                sha256=sha256,
                retain_until=lock_end(max(dates)) if dates else None,
                legal_hold=any(
                    r.status in (RetentionStatus.PENDING, RetentionStatus.HELD) or r.awaiting_reply
                    for r in pieces
                ),
                disposed=not pieces,
            )
        last = batch[-1]
        if wanted is None and len(batch) < CHUNK:
            return


def apply(
    db: Database,
    store: ObjectStore,
    *,
    sha256s: Iterable[str] | None = None,
    convention: str | None = None,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    known: Mapping[str, LockState] | None = None,
) -> LockReport:
    """Bring the storage's locks in line with retention (report only with ``dry_run``).

    ``known`` gives lock states already known without asking the store (objects just put,
    with their legal hold): most new pieces are pending and need no call at all."""
    known = known or {}
    report = LockReport(store=store.url, enforced=store.locks)
    if not store.locks:
        return report
    locks = list(required(db, sha256s=sha256s, convention=convention))

    def one(lock: RequiredLock) -> tuple[RequiredLock, LockState | None, str | None, str]:
        try:
            state = known.get(lock.sha256) or store.lock_state(lock.sha256)
            if state is None and not lock.disposed:
                return lock, None, "missing from the store (see plie-audit verify)", "error"
            if lock.satisfied_by(state):
                return lock, state, None, "same"
            if dry_run:
                return lock, state, None, "differs"
            if lock.disposed:
                store.delete(lock.sha256)
                return lock, state, None, "destroyed"
            store.set_lock(lock.sha256, lock.retain_until, lock.legal_hold)
            return lock, state, None, "changed"
        except StoreLocked as exc:
            return lock, None, str(exc), "waiting"
        except StoreError as exc:
            return lock, None, str(exc), "error"

    with ThreadPoolExecutor(max_workers=store.parallelism) as pool:
        for done, (lock, state, problem, outcome) in enumerate(pool.map(one, locks), start=1):
            report.checked += 1
            if outcome == "differs":
                report.differing.append(
                    {
                        **lock.as_json(),
                        "stored_retain_until": clock.isoformat(state.retain_until)
                        if state and state.retain_until
                        else None,
                        "stored_legal_hold": bool(state and state.legal_hold),
                        "present": state is not None,
                    }
                )
            elif outcome == "changed":
                report.changed.append(lock.sha256)
            elif outcome == "destroyed":
                report.destroyed.append(lock.sha256)
            elif outcome == "waiting":
                report.waiting.append({"sha256": lock.sha256, "reason": problem or ""})
            elif outcome == "error":
                report.errors.append({"sha256": lock.sha256, "error": problem or ""})
            if progress is not None:
                progress(done, len(locks))
    return report


def raise_for_errors(report: LockReport) -> None:
    """After an action already recorded: locks that could not be applied are an error the
    user must see, with the command that catches up."""
    if report.errors:
        first = report.errors[0]
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        raise StoreError(
            f"recorded, but the store's locks could not follow: sha256:{first['sha256']}: "
            f"{first['error']}{more}; run `plie-audit retention locks --apply`"
        )
