"""plie-audit identity create | list | export | import | revoke."""

from __future__ import annotations

import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

P12_PASSPHRASE = "p12-passphrase-qualifiée"


ADD_CONVENTION = (
    "convention",
    "add",
    "PLIE-LYON-2007-01",
    "--plie",
    "PLIE de Lyon",
    "--agence",
    "ALE",
    "--region",
    "Rhône-Alpes",
    "--start",
    "2007-01-01",
    "--end",
    "2007-12-31",
    "--programme",
    "2007-2013",
)


@pytest.fixture
def initialised(run) -> None:
    run.ok("init", "--origin", "anpe.example/lyon")


def _create(run, name: str, *roles: str) -> None:
    role_args = [arg for role in roles for arg in ("--role", role)]
    run.ok("identity", "create", name, *role_args)


def _certs(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


# ------------------------------------------------------------------ create / list / export


def test_create_list_and_export(run, archive_dir: Path, initialised, journal) -> None:
    result = run.ok(
        "identity", "create", "marie.dupont", "--role", "deposant", "--role", "comptable"
    )
    assert re.search(
        r"identity marie\.dupont created, roles comptable, deposant, "
        r"certificate sha256:[0-9a-f]{64}",
        result.stdout,
    )
    key = archive_dir / "keys" / "identities" / "marie.dupont.key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()

    (listed,) = run.json("identity", "list")
    assert listed["name"] == "marie.dupont"
    assert listed["roles"] == ["comptable", "deposant"]
    assert listed["source"] == "issued"
    assert listed["status"] == "active"
    assert listed["revoked_at"] is None
    assert "CN=marie.dupont" in listed["subject"]
    assert "CN=plie-audit root CA" in listed["issuer"]
    # 30-year horizon: signatures must still check long after filing.
    not_after = datetime.fromisoformat(listed["not_after"].replace("Z", "+00:00"))
    assert not_after - datetime.now(UTC) > timedelta(days=29 * 365)

    chain = _certs(run.ok("identity", "export", "marie.dupont").stdout)
    root_pem = run.ok("identity", "export", "--root").stdout
    (root,) = _certs(root_pem)
    assert len(chain) == 2
    leaf, anchor = chain
    assert anchor == root
    leaf.verify_directly_issued_by(root)
    assert leaf.fingerprint(hashes.SHA256()).hex() == listed["fingerprint"]
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"
    assert root.subject == root.issuer
    events = [e["event"] for e in journal() if e["event"] != "policy-added"]
    assert events == ["archive-initialised", "checkpoint-issued", "identity-created"]

    human = run.ok("identity", "list").stdout
    assert "marie.dupont" in human and "active" in human


def test_export_to_a_file(run, tmp_path: Path, initialised) -> None:
    out = tmp_path / "root.pem"
    result = run.ok("identity", "export", "--root", "-o", out)
    assert result.stdout == ""
    assert len(_certs(out.read_text())) == 1
    run.fails(2, "identity", "export", "--root", "-o", out)  # never overwritten


def test_export_needs_exactly_one_of_name_or_root(run, initialised) -> None:
    run.fails(2, "identity", "export")
    run.fails(2, "identity", "export", "marie.dupont", "--root")


def test_export_unknown_identity(run, initialised) -> None:
    result = run.fails(12, "identity", "export", "nobody")
    assert "unknown identity 'nobody'" in result.stderr


def test_create_twice_is_a_conflict(run, initialised, unchanged) -> None:
    _create(run, "marie.dupont", "deposant")
    with unchanged():
        run.fails(13, "identity", "create", "marie.dupont", "--role", "comptable")


@pytest.mark.parametrize(
    ("args", "env", "code"),
    [
        (("Marie Dupont", "--role", "deposant"), {}, 11),
        (("marie.dupont",), {}, 2),  # --role is required
        (("marie.dupont", "--role", "chef"), {}, 2),
        (("marie.dupont", "--role", "deposant"), {"PLIE_AUDIT_IDENTITY_PASSPHRASE": "court"}, 11),
        (("marie.dupont", "--role", "deposant"), {"PLIE_AUDIT_PASSPHRASE": "not-the-one"}, 42),
        (("marie.dupont", "--role", "deposant"), {"PLIE_AUDIT_IDENTITY_PASSPHRASE": None}, 2),
    ],
)
def test_bad_create_changes_nothing(run, initialised, unchanged, args, env, code) -> None:
    with unchanged():
        run.fails(code, "identity", "create", *args, env=env)


def test_passphrase_file(run, tmp_path: Path, initialised) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file-passphrase\n")
    run.ok(
        "identity",
        "create",
        "paul.leroy",
        "--role",
        "comptable",
        "--passphrase-file",
        secret,
        env={"PLIE_AUDIT_IDENTITY_PASSPHRASE": None},
    )
    run.fails(42, *ADD_CONVENTION, as_="paul.leroy")  # the environment's passphrase is not his
    run.ok(
        *ADD_CONVENTION,
        "--passphrase-file",
        secret,
        as_="paul.leroy",
        env={"PLIE_AUDIT_IDENTITY_PASSPHRASE": None},
    )


# ------------------------------------------------------------------ revoke


def test_revoke(run, initialised, journal) -> None:
    _create(run, "paul.leroy", "deposant")
    result = run.ok("identity", "revoke", "paul.leroy", "--reason", "départ le 2008-06-30")
    assert "identity paul.leroy revoked at" in result.stdout
    (listed,) = run.json("identity", "list")
    assert listed["status"] == "revoked"
    assert listed["revoke_reason"] == "départ le 2008-06-30"
    assert journal()[-1]["event"] == "identity-revoked"
    assert journal()[-1]["detail"] == {"reason": "départ le 2008-06-30"}


def test_revoke_twice_unknown_or_wrong_passphrase(run, initialised, unchanged) -> None:
    _create(run, "paul.leroy", "deposant")
    run.ok("identity", "revoke", "paul.leroy", "--reason", "départ")
    with unchanged():
        run.fails(13, "identity", "revoke", "paul.leroy", "--reason", "encore")
        run.fails(12, "identity", "revoke", "nobody", "--reason", "x")
        run.fails(11, "identity", "revoke", "paul.leroy", "--reason", "  ")
    _create(run, "jean.martin", "deposant")
    with unchanged():
        run.fails(
            42,
            "identity",
            "revoke",
            "jean.martin",
            "--reason",
            "x",
            env={"PLIE_AUDIT_PASSPHRASE": "wrong-archive-pass"},
        )


def test_revoked_identity_cannot_file_and_only_the_refusal_is_recorded(
    run, tmp_path: Path, initialised, snapshot, journal
) -> None:
    _create(run, "marie.dupont", "deposant", "comptable")
    _create(run, "paul.leroy", "deposant")
    run.ok(
        *ADD_CONVENTION,
        as_="marie.dupont",
    )
    piece = tmp_path / "billet.pdf"
    piece.write_bytes(b"%PDF-1.4 billet")
    filed = run.json(
        "evidence",
        "add",
        piece,
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "titre-transport",
        as_="paul.leroy",
    )["filed"]
    run.ok("identity", "revoke", "paul.leroy", "--reason", "départ")
    other = tmp_path / "facture.pdf"
    other.write_bytes(b"%PDF-1.4 facture")

    before = snapshot()
    result = run.fails(
        41,
        "evidence",
        "add",
        other,
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "facture",
        as_="paul.leroy",
    )
    assert "revoked" in result.stderr
    after = snapshot()
    assert before.removed_rows(after) == set()
    (added,) = before.added_rows(after)
    assert added.startswith('INSERT INTO "journal"')
    assert before.files == after.files
    refusal = journal()[-1]
    assert refusal["event"] == "action-refused"
    assert refusal["actor"] == "paul.leroy"
    assert refusal["detail"]["action"] == "evidence add"
    assert "revoked" in refusal["detail"]["reason"]

    # What it signed before its revocation stays valid.
    assert run.json("verify")["ok"] is True
    assert run.json("evidence", "show", filed[0]["id"])["signature_status"] == "valid"


# ------------------------------------------------------------------ import (outside CA)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Autorité de certification"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _outside_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Outside Root CA"))
        .issuer_name(_name("Outside Root CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key, ca_cert, common_name: str, *, signing: bool = True):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(signing, signing, not signing, False, False, False, False, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _p12(path: Path, key, cert, cas, passphrase: str = P12_PASSPHRASE) -> Path:
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"jean.martin",
            key,
            cert,
            cas,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
    )
    return path


@pytest.fixture
def outside(tmp_path: Path):
    ca_key, ca_cert = _outside_ca()
    key, cert = _leaf(ca_key, ca_cert, "Jean Martin")
    return ca_key, ca_cert, key, cert


def test_import_pkcs12_with_its_root(run, tmp_path: Path, initialised, outside, journal) -> None:
    _, ca_cert, key, cert = outside
    bundle = _p12(tmp_path / "jean.p12", key, cert, [ca_cert])
    result = run.ok(
        "identity",
        "import",
        "jean.martin",
        "--pkcs12",
        bundle,
        "--role",
        "deposant",
        "--role",
        "comptable",
        env={"PLIE_AUDIT_IDENTITY_PASSPHRASE": P12_PASSPHRASE},
    )
    assert "identity jean.martin imported" in result.stdout
    assert "CN=Jean Martin" in result.stdout
    (listed,) = run.json("identity", "list")
    assert listed["source"] == "imported"
    assert listed["fingerprint"] == cert.fingerprint(hashes.SHA256()).hex()
    assert _certs(run.ok("identity", "export", "jean.martin").stdout) == [cert, ca_cert]
    assert journal()[-1]["event"] == "identity-imported"

    # The imported identity acts with its own key and passphrase, and its filings verify.
    env = {"PLIE_AUDIT_IDENTITY_PASSPHRASE": P12_PASSPHRASE}
    run.ok(
        *ADD_CONVENTION,
        as_="jean.martin",
        env=env,
    )
    piece = tmp_path / "facture.pdf"
    piece.write_bytes(b"%PDF-1.4 facture signee par un certificat qualifie")
    filed = run.json(
        "evidence",
        "add",
        piece,
        "--convention",
        "PLIE-LYON-2007-01",
        "--kind",
        "facture",
        as_="jean.martin",
        env=env,
    )["filed"]
    assert filed[0]["filed_by"] == "jean.martin"
    report = run.json("verify")
    assert report["ok"] is True, report
    assert run.json("evidence", "show", filed[0]["id"])["signatures"] == {
        "content": "valid",
        "record": "valid",
        "signer": "trusted",
    }


def test_import_with_ca_file_when_the_bundle_lacks_the_root(
    run, tmp_path: Path, initialised, outside, unchanged
) -> None:
    _, ca_cert, key, cert = outside
    bundle = _p12(tmp_path / "jean.p12", key, cert, None)
    env = {"PLIE_AUDIT_IDENTITY_PASSPHRASE": P12_PASSPHRASE}
    with unchanged():
        result = run.fails(
            11,
            "identity",
            "import",
            "jean.martin",
            "--pkcs12",
            bundle,
            "--role",
            "deposant",
            env=env,
        )
        assert "--ca-file" in result.stderr
    root_pem = tmp_path / "outside-root.pem"
    root_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    run.ok(
        "identity",
        "import",
        "jean.martin",
        "--pkcs12",
        bundle,
        "--role",
        "deposant",
        "--ca-file",
        root_pem,
        env=env,
    )
    assert _certs(run.ok("identity", "export", "jean.martin").stdout) == [cert, ca_cert]


def test_import_with_the_wrong_ca_file_is_refused(
    run, tmp_path: Path, initialised, outside, unchanged
) -> None:
    _, _, key, cert = outside
    _, stranger = _outside_ca()
    bundle = _p12(tmp_path / "jean.p12", key, cert, None)
    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(stranger.public_bytes(serialization.Encoding.PEM))
    with unchanged():
        run.fails(
            40,
            "identity",
            "import",
            "jean.martin",
            "--pkcs12",
            bundle,
            "--role",
            "deposant",
            "--ca-file",
            wrong,
            env={"PLIE_AUDIT_IDENTITY_PASSPHRASE": P12_PASSPHRASE},
        )


def test_import_with_the_wrong_pkcs12_passphrase(
    run, tmp_path: Path, initialised, outside, unchanged
) -> None:
    _, ca_cert, key, cert = outside
    bundle = _p12(tmp_path / "jean.p12", key, cert, [ca_cert])
    with unchanged():
        result = run.fails(
            42,
            "identity",
            "import",
            "jean.martin",
            "--pkcs12",
            bundle,
            "--role",
            "deposant",
            env={"PLIE_AUDIT_IDENTITY_PASSPHRASE": "pas-la-bonne"},
        )
    assert "PKCS#12" in result.stderr


def test_import_of_a_certificate_not_for_signing(
    run, tmp_path: Path, initialised, outside, unchanged
) -> None:
    ca_key, ca_cert, _, _ = outside
    key, cert = _leaf(ca_key, ca_cert, "Chiffrement seulement", signing=False)
    bundle = _p12(tmp_path / "enc.p12", key, cert, [ca_cert])
    with unchanged():
        run.fails(
            11,
            "identity",
            "import",
            "jean.martin",
            "--pkcs12",
            bundle,
            "--role",
            "deposant",
            env={"PLIE_AUDIT_IDENTITY_PASSPHRASE": P12_PASSPHRASE},
        )


def test_import_of_something_that_is_not_pkcs12(
    run, tmp_path: Path, initialised, unchanged
) -> None:
    junk = tmp_path / "junk.p12"
    junk.write_bytes(b"not a pkcs12 file at all")
    with unchanged():
        run.fails(40, "identity", "import", "jean.martin", "--pkcs12", junk, "--role", "deposant")
        run.fails(
            11,
            "identity",
            "import",
            "jean.martin",
            "--pkcs12",
            tmp_path / "absent.p12",
            "--role",
            "deposant",
        )


# ------------------------------------------------------------ issue 18: the signatory


def test_create_with_full_name_and_title(run, initialised, journal) -> None:
    run.ok(
        "identity",
        "create",
        "helene.garcon",
        "--role",
        "comptable",
        "--full-name",
        "He\u0301le\u0300ne Garçon",  # decomposed: stored NFC
        "--title",
        "comptable secondaire",
    )
    (listed,) = run.json("identity", "list")
    assert (listed["full_name"], listed["title"]) == ("Hélène Garçon", "comptable secondaire")
    created = next(e for e in journal() if e["event"] == "identity-created")
    assert created["detail"]["full_name"] == "Hélène Garçon"
    assert created["detail"]["title"] == "comptable secondaire"
    assert run.ok("verify").exit_code == 0  # the row is the journal's replay


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--full-name", "Hélène\u202eGarçon"),  # bidirectional override
        ("--full-name", "Hélène\x1b[31mGarçon"),  # terminal escape
        ("--title", "comptable\nsecondaire"),  # a newline forges a line
        ("--title", "   "),
    ],
)
def test_bad_full_name_or_title_changes_nothing(
    run, initialised, unchanged, option: str, value: str
) -> None:
    with unchanged():
        run.fails(11, "identity", "create", "helene.garcon", "--role", "comptable", option, value)
