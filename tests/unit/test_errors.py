"""One error hierarchy; each class carries the exit code the CLI returns (the table of
docs/commands.md, summed up in README.md)."""

from __future__ import annotations

import pytest

from plie_audit import errors
from plie_audit.errors import EXIT_CODES, PlieAuditError


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def test_exit_code_table_is_exactly_the_documented_one() -> None:
    assert EXIT_CODES == {
        "PlieAuditError": 3,
        "ArchiveStateError": 10,
        "InputError": 11,
        "NotFoundError": 12,
        "ConflictError": 13,
        "StoreError": 20,
        "JournalError": 30,
        "SigningError": 40,
        "PermissionRefused": 41,
        "WrongPassphrase": 42,
        "RetentionError": 50,
    }


def test_table_matches_the_classes() -> None:
    for name, code in EXIT_CODES.items():
        assert getattr(errors, name).exit_code == code


def test_codes_stay_clear_of_click_and_verify() -> None:
    # 0 ok, 1 "found problems", 2 click usage, 4 "pack verify: intact, trust not
    # established": no error class may reuse them.
    assert not {0, 1, 2, 4} & set(EXIT_CODES.values())
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)


@pytest.mark.parametrize("cls", _all_subclasses(PlieAuditError), ids=lambda c: c.__name__)
def test_every_subclass_has_an_exit_code(cls: type[PlieAuditError]) -> None:
    assert isinstance(cls.exit_code, int)
    if cls is errors.DamagedData:
        # The one error that is a finding: a stored value that does not decode stopped the
        # command; "the command ran and found problems" (exit 1), never 3 (issue 16).
        assert cls.exit_code == 1
        return
    assert cls.exit_code >= 3
    assert issubclass(cls, PlieAuditError)


def test_every_error_class_of_the_module_is_in_the_hierarchy() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert classes
    assert all(issubclass(cls, PlieAuditError) for cls in classes)


def test_signature_invalid_is_a_signing_error() -> None:
    assert errors.SignatureInvalid.exit_code == errors.SigningError.exit_code == 40
