"""Transfer to the public archives and the visa in SEDA 2.2 (issue 21): a convention past its
retention, its kinds going to destruction and to ``tri`` (the seed policy's management
table): propose (PDF + SEDA request), the service's visa reply, dispose; transfer, the
service's reply, pieces ``transferred``; ``verify`` and ``journal verify`` pass throughout.
Every message is checked against the SEDA 2.2 schemas (lxml, and xmllint where installed)
and every object against its bytes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from freezegun import freeze_time
from lxml import etree

from plie_audit import clock
from plie_audit.seda import schema
from plie_audit.seda.model import NAMESPACE
from support.seda_replies import transfer_reply, visa_reply

ANNE = "anne.archiviste"
CONV = "PLIE-LYON-2007-01"
NS = {"s": NAMESPACE}
SCHEMAS = Path(schema.__file__).parent / "schemas"
# The seed policy's management table (retention_policies/esf-2007-2013-seed.toml): invoices
# and transport tickets are destroyed; the convention and the état go to `tri`, and so does
# a kind it does not name (`autre`); the payslip is destroyed unless a policy says otherwise.
PIECES = {
    "facture.pdf": ("facture", "fonctionnement"),
    "billet.pdf": ("titre-transport", "deplacement"),
    "convention-signee.pdf": ("convention", None),
    "courrier.txt": ("autre", None),
    "bulletin-2007-03.pdf": ("bulletin-salaire", "cout-salarial"),
}
PAYSLIPS_TO_TRI = """id = "local-paie-tri"
title = "Bulletins de paie : tri par les Archives départementales"
programme = "2007-2013"
trigger = "ec-final-balance-paid"
duration = "P3Y"
rounding = "exact"
final_action = "destroy"
enabled = true
confirmed = false
source = "Test: the archives service's management table sends payslips to tri."

[legal_basis]
text = "Tableau de gestion des Archives départementales (test)"
article = "art. L212-2 du Code du patrimoine"

[final_actions]
tri = ["bulletin-salaire"]
confirmed = false
source = "test"
"""


def now() -> str:
    return clock.isoformat(clock.now())


def xmllint(message: Path) -> subprocess.CompletedProcess[str] | None:
    """``xmllint --schema`` on ``message`` (None where xmllint is not installed)."""
    if shutil.which("xmllint") is None:
        return None
    return subprocess.run(
        ["xmllint", "--nonet", "--noout", "--schema", str(SCHEMAS / "seda-2.2-main.xsd"),
         str(message)],
        env={**os.environ, "XML_CATALOG_FILES": str(SCHEMAS / "catalog.xml")},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def assert_valid(message: Path) -> None:
    data = message.read_bytes()
    assert schema.validate(data) == []
    assert schema.check_references(data) == []
    linted = xmllint(message)
    if linted is not None:
        assert linted.returncode == 0, linted.stderr


def assert_objects_match(folder: Path) -> int:
    """Every BinaryDataObject's SHA-512 and Size against its file, recomputed here."""
    tree = etree.parse(str(folder / "manifest.xml"))
    objects = tree.findall(".//s:BinaryDataObject", NS)
    for element in objects:
        path = folder / element.findtext("s:Uri", namespaces=NS)
        digest = element.find("s:MessageDigest", NS)
        assert digest.get("algorithm") == "SHA-512"
        data = path.read_bytes()
        assert hashlib.sha512(data).hexdigest() == digest.text
        assert int(element.findtext("s:Size", namespaces=NS)) == len(data)
    files = [p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.xml"]
    assert len(files) == len(objects)
    return len(objects)


def check_all(run) -> None:
    assert run("verify").exit_code == 0, run("verify").stdout
    assert run("journal", "verify").exit_code == 0


@pytest.fixture
def past(run, convention: str, tmp_path: Path) -> dict[str, str]:
    """Five pieces whose retention ended on 31 March 2018 (balance paid on 31 March 2015),
    payslips sent to `tri` by a local policy; an archiviste. Returns kind -> evidence id."""
    run.ok("identity", "create", ANNE, "--role", "archiviste")
    policy = tmp_path / "local-paie-tri.toml"
    policy.write_text(PAYSLIPS_TO_TRI, encoding="utf-8")
    run.ok("retention", "policy", "add", policy, as_=ANNE)
    ids = {}
    for name, (kind, poste) in PIECES.items():
        path = tmp_path / name
        body = f"% {name}\n".encode()
        path.write_bytes(b"%PDF-1.4\n" + body + b"%%EOF\n" if name.endswith(".pdf") else body)
        extra = ["--poste", poste] if poste else []
        if kind == "bulletin-salaire":
            extra += ["--amount", "3100.00", "--paid-on", "2007-03-31"]
        report = run.json(
            "evidence", "add", path, "--convention", CONV, "--kind", kind, *extra,
            as_="marie.dupont",
        )  # fmt: skip
        ids[kind] = report["filed"][0]["id"]
    run.ok(
        "retention", "event", "--programme", "2007-2013", "ec-final-balance-paid",
        "2015-03-31", as_=ANNE,
    )  # fmt: skip
    return ids


def test_propose_visa_dispose_transfer_reply_end_to_end(run, past, tmp_path: Path, journal):
    check_all(run)
    # ---- élimination: the bordereau, also as a SEDA request for the visa
    run.ok(
        "retention", "propose", "-o", tmp_path / "bordereau.pdf", "--seda",
        "--archival-agency", "FRAD069", as_=ANNE,
    )  # fmt: skip
    bordereau = json.loads((tmp_path / "bordereau.json").read_text())
    request = tmp_path / "bordereau.seda.xml"
    assert_valid(request)
    tree = etree.parse(str(request))
    assert tree.getroot().tag == f"{{{NAMESPACE}}}AuthorizationControlAuthorityRequest"
    units = tree.findall(".//s:AuthorizationRequestContent/s:UnitIdentifier", NS)
    destroyed = {past["facture"], past["titre-transport"]}
    assert {unit.text for unit in units} == {p["id"] for p in bordereau["pieces"]} == destroyed
    identifier = tree.findtext("s:MessageIdentifier", namespaces=NS)
    assert identifier == f"anpe.example/lyon/{bordereau['id']}"
    assert tree.findtext("s:ArchivalAgency/s:Identifier", namespaces=NS) == "FRAD069"
    assert tree.findtext("s:ControlAuthority/s:Identifier", namespaces=NS) == "FRAD069"
    check_all(run)

    # ---- the service's visa, as its SEDA reply
    reply = tmp_path / "visa.xml"
    reply.write_bytes(visa_reply(identifier, identifier="FRAD069-VISA-0042", date=now()))
    report = run.json(
        "retention", "dispose", "--bordereau", bordereau["id"], "--visa-file", reply, "--yes",
        as_=ANNE,
    )  # fmt: skip
    assert {p["id"] for p in report["disposed"]} == destroyed
    assert (report["visa"], report["visa_authority"]) == ("FRAD069-VISA-0042", "FRAD069")
    assert report["visa_date"] == clock.today().isoformat()
    (visa,) = run.json("evidence", "list", "--kind", "visa-elimination")
    assert visa["sha256"] == hashlib.sha256(reply.read_bytes()).hexdigest()
    check_all(run)

    # ---- versement: the ArchiveTransfer of what is left
    out = tmp_path / "versement"
    result = run.json(
        "retention", "transfer", "--convention", CONV, "-o", out, "--archival-agency",
        "FRAD069", "--archival-agreement", "IC-FRAD069-PLIE", as_=ANNE,
    )  # fmt: skip
    kept = {past["convention"], past["autre"], past["bulletin-salaire"]}
    assert result["pieces"] == 3
    assert {s["id"] for s in result["skipped"]} == destroyed
    manifest = out / "manifest.xml"
    assert_valid(manifest)
    assert schema.check_objects(manifest.read_bytes(), out) == []
    # the piece, record, two signatures, chain and proof of each, and three journal files
    assert assert_objects_match(out) == 3 * 6 + 3
    assert hashlib.sha256(manifest.read_bytes()).hexdigest() == result["manifest_sha256"]
    tree = etree.parse(str(manifest))
    root = tree.getroot()
    assert root.findtext("s:MessageIdentifier", namespaces=NS) == (
        f"anpe.example/lyon/{result['transfer']}"
    )
    assert root.findtext("s:ArchivalAgency/s:Identifier", namespaces=NS) == "FRAD069"
    assert root.findtext("s:ArchivalAgreement", namespaces=NS) == "IC-FRAD069-PLIE"
    assert root.findtext("s:TransferringAgency/s:Identifier", namespaces=NS) == (
        "anpe.example/lyon"
    )
    items = {
        unit.findtext("s:Content/s:OriginatingAgencyArchiveUnitIdentifier", namespaces=NS): unit
        for unit in tree.iterfind(".//s:ArchiveUnit", NS)
    }
    assert kept <= set(items) and not destroyed & set(items)
    (convention_unit,) = tree.xpath(
        "s:DataObjectPackage/s:DescriptiveMetadata/s:ArchiveUnit"
        "[s:Content/s:DescriptionLevel='RecordGrp']",
        namespaces=NS,
    )
    assert items[CONV] is convention_unit
    # The kind's unit carries the retention rule: the policy as its code, the event's day.
    payslip = items[past["bulletin-salaire"]]
    kind_unit = payslip.getparent()
    rules = kind_unit.find("s:Management/s:AppraisalRule", NS)
    codes = [rule.text for rule in rules.findall("s:Rule", NS)]
    assert set(codes) == {"esf-2007-2013-seed", "local-paie-tri"}
    assert {d.text for d in rules.findall("s:StartDate", NS)} == {"2015-03-31"}
    assert rules.findtext("s:FinalAction", namespaces=NS) == "Keep"
    # The payslip is a personal document: an AccessRule from its own date.
    access = payslip.find("s:Management/s:AccessRule", NS)
    assert access is not None and access.findtext("s:StartDate", namespaces=NS) == "2007-03-31"
    assert items[past["convention"]].find("s:Management/s:AccessRule", NS) is None
    # The journal checkpoint that proves it all.
    event = root.find("s:DataObjectPackage/s:ManagementMetadata/s:LogBook/s:Event", NS)
    checkpoint = (out / "Content/journal/checkpoint.txt").read_text()
    assert event.findtext("s:EventDetailData", namespaces=NS) == checkpoint
    assert checkpoint.startswith("anpe.example/lyon\n")
    # Journaled, and the pieces wait for the reply: no disposal takes them.
    entry = journal()[-1]
    assert entry["event"] == "transfer-prepared"
    assert entry["subjects"] == [result["transfer"], CONV]
    assert sorted(entry["detail"]["pieces"]) == sorted(kept)
    audit = run.json("retention", "audit")
    waiting = {p["id"]: p for p in audit["pieces"] if p["id"] in kept}
    assert all(
        p["awaiting_reply"] and p["transfer"] == result["transfer"] for p in waiting.values()
    )
    run.fails(50, "retention", "propose", "-o", tmp_path / "b2.pdf", as_=ANNE)
    check_all(run)

    # ---- the service's reply: accepted
    answer = tmp_path / "reply.xml"
    answer.write_bytes(
        transfer_reply(result["message_identifier"], date=now(), comments=("Versement conforme",))
    )
    replied = run.json("retention", "transfer-reply", answer, as_=ANNE)
    assert (replied["status"], replied["accepted"], replied["pieces"]) == ("accepted", True, 3)
    (filed,) = run.json("evidence", "list", "--kind", "reponse-versement")
    assert filed["id"] == replied["reply_evidence"]
    audit = run.json("retention", "audit")
    statuses = {p["id"]: p["status"] for p in audit["pieces"]}
    assert {statuses[i] for i in kept} == {"transferred"}
    assert {statuses[i] for i in destroyed} == {"disposed"}
    assert journal()[-1]["event"] == "transfer-replied"
    (listed,) = run.json("retention", "transfers")
    assert (listed["status"], listed["reply_code"]) == ("accepted", "OK")
    check_all(run)
    # The archives hold them now: the archive's own copies may be proposed for disposal.
    run.ok("retention", "propose", "-o", tmp_path / "copies.pdf", as_=ANNE)
    copies = json.loads((tmp_path / "copies.json").read_text())
    assert {p["id"] for p in copies["pieces"]} == kept
    assert {p["transfer"] for p in copies["pieces"]} == {result["transfer"]}
    check_all(run)


def test_a_rejected_transfer_records_its_reason_and_frees_the_pieces(run, past, tmp_path):
    first = run.json(
        "retention", "transfer", "--convention", CONV, "-o", tmp_path / "v1.zip", "--zip",
        "--archival-agency", "FRAD069", as_=ANNE,
    )  # fmt: skip
    with zipfile.ZipFile(tmp_path / "v1.zip") as package:
        assert "manifest.xml" in package.namelist()
        package.extractall(tmp_path / "v1")
    assert_valid(tmp_path / "v1" / "manifest.xml")
    assert_objects_match(tmp_path / "v1")
    answer = tmp_path / "ko.xml"
    answer.write_bytes(
        transfer_reply(
            first["message_identifier"], code="KO", date=now(),
            outcome="Profil d'archivage non respecté",
        )
    )  # fmt: skip
    replied = run.json("retention", "transfer-reply", answer, as_=ANNE)
    assert (replied["status"], replied["accepted"]) == ("rejected", False)
    assert replied["reason"] == "Profil d'archivage non respecté"
    audit = run.json("retention", "audit")
    assert "transferred" not in {p["status"] for p in audit["pieces"]}
    assert not any(p["awaiting_reply"] for p in audit["pieces"])
    # A second reply to the same transfer is a conflict; the pieces may go again.
    run.fails(13, "retention", "transfer-reply", answer, as_=ANNE)
    second = run.json(
        "retention", "transfer", "--convention", CONV, "-o", tmp_path / "v2",
        "--archival-agency", "FRAD069", as_=ANNE,
    )  # fmt: skip
    assert second["transfer"] != first["transfer"] and second["pieces"] == first["pieces"]
    check_all(run)


def test_replies_that_do_not_answer_are_refused_and_change_nothing(
    run, past, tmp_path: Path, unchanged
):
    made = run.json(
        "retention", "transfer", "--convention", CONV, "-o", tmp_path / "v",
        "--archival-agency", "FRAD069", as_=ANNE,
    )  # fmt: skip
    message = made["message_identifier"]
    cases = [
        (12, transfer_reply("anpe.example/lyon/VT-1999-0001", date=now())),
        (11, transfer_reply(message, archival="FRAD075", date=now())),
        (11, transfer_reply(message, transferring="someone-else", date=now())),
        (11, transfer_reply(message, code="MAYBE", date=now())),
        (11, transfer_reply(message, code=None, date=now())),
        (11, transfer_reply(message, date="2001-01-01T00:00:00Z")),  # before the transfer
        (11, visa_reply(message, date=now())),  # a visa is no transfer reply
        (11, transfer_reply(message, date=now()).replace(b"<MessageIdentifier>", b"<X>", 1)),
        (11, b"%PDF-1.4\n%%EOF\n"),
    ]
    for number, (code, data) in enumerate(cases):
        path = tmp_path / f"reply-{number}.xml"
        path.write_bytes(data)
        with unchanged():
            run.fails(code, "retention", "transfer-reply", path, as_=ANNE)


def test_nothing_to_transfer_is_refused_and_journaled(run, convention, tmp_path, journal):
    run.ok("identity", "create", ANNE, "--role", "archiviste")
    result = run.fails(
        50, "retention", "transfer", "--convention", CONV, "-o", tmp_path / "v",
        "--archival-agency", "FRAD069", as_=ANNE,
    )  # fmt: skip
    assert "nothing of PLIE-LYON-2007-01 may be transferred" in result.stderr
    assert journal()[-1]["event"] == "action-refused"
    assert not (tmp_path / "v").exists()
    assert list(tmp_path.glob(".v.*")) == []
    # An archival agency is needed, identifiers have no spaces; a deposant may not transfer.
    run.fails(11, "retention", "transfer", "--convention", CONV, "-o", tmp_path / "w", as_=ANNE)
    run.fails(
        11, "retention", "transfer", "--convention", CONV, "-o", tmp_path / "w",
        "--archival-agency", "FRAD069", "--archival-agreement", "accord du 12 mars", as_=ANNE,
    )  # fmt: skip
    run.fails(
        41, "retention", "transfer", "--convention", CONV, "-o", tmp_path / "w",
        "--archival-agency", "FRAD069", as_="marie.dupont",
    )  # fmt: skip


def test_a_refused_visa_reply_refuses_the_disposal(run, past, tmp_path, journal, unchanged):
    run.ok(
        "retention", "propose", "-o", tmp_path / "b.pdf", "--seda", "--archival-agency",
        "FRAD069", as_=ANNE,
    )  # fmt: skip
    bordereau = json.loads((tmp_path / "b.json").read_text())
    request = f"anpe.example/lyon/{bordereau['id']}"
    refused = tmp_path / "ko.xml"
    refused.write_bytes(visa_reply(request, code="KO", date=now(), comments=("À conserver",)))
    result = run.fails(
        50, "retention", "dispose", "--bordereau", bordereau["id"], "--visa-file", refused,
        "--yes", as_=ANNE,
    )  # fmt: skip
    assert "refused the visa" in result.stderr and "À conserver" in result.stderr
    assert journal()[-1]["event"] == "action-refused"
    other = tmp_path / "other.xml"
    other.write_bytes(visa_reply("anpe.example/lyon/BE-1999-0001", date=now()))
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(b"%PDF-1.4\n% vu\n%%EOF\n")
    ok = tmp_path / "ok.xml"
    ok.write_bytes(visa_reply(request, date=now()))
    with unchanged():
        # a reply to another request; a signed PDF without the visa's fields; fields that
        # contradict the reply
        run.fails(11, "retention", "dispose", "--bordereau", bordereau["id"], "--visa-file",
                  other, "--yes", as_=ANNE)  # fmt: skip
        run.fails(2, "retention", "dispose", "--bordereau", bordereau["id"], "--visa-file",
                  plain, "--yes", as_=ANNE)  # fmt: skip
        run.fails(11, "retention", "dispose", "--bordereau", bordereau["id"], "--visa-file",
                  ok, "--visa", "AUTRE-REF", "--yes", as_=ANNE)  # fmt: skip


def test_a_transfer_marked_behind_the_archives_back_is_caught(run, past, tmp_path, sql):
    """An operator with database access marks pieces transferred (they would become
    disposable) or deletes a transfer awaiting its reply (its pieces would be free): verify
    says so, and no destruction is decided on it."""
    made = run.json(
        "retention", "transfer", "--convention", CONV, "-o", tmp_path / "v",
        "--archival-agency", "FRAD069", as_=ANNE,
    )  # fmt: skip
    sql(
        "UPDATE evidence SET transferred_at = filed_at, transfer_id = ? WHERE id = ?",
        (made["transfer"], past["convention"]),
    )
    report = json.loads(run("verify", "--json").stdout)
    assert any(
        f["subject"] == past["convention"] and "transferred" in f["expected"]
        for f in report["findings"]
    ), report["findings"]
    run.fails(30, "retention", "propose", "-o", tmp_path / "b.pdf", as_=ANNE)
    sql("UPDATE evidence SET transferred_at = NULL, transfer_id = NULL")
    assert run("verify").exit_code == 0
    sql("DELETE FROM transfers")
    report = json.loads(run("verify", "--json").stdout)
    assert any(f["subject"] == f"transfers:{made['transfer']}" for f in report["findings"])
    run.fails(30, "retention", "propose", "-o", tmp_path / "b.pdf", as_=ANNE)


@pytest.mark.timetravel
def test_an_imported_export_writes_the_same_transfer(run, past, tmp_path: Path, another_backend):
    """Round trip: ``archive import`` of an export, then the same transfer, gives the same
    message byte for byte (ids come from the archive's own, not from the run)."""
    run.ok("identity", "create", "keeper", "--role", "archiviste", "--role", "comptable")
    run.ok("journal", "checkpoint")
    run.json("archive", "export", "-o", tmp_path / "export", "--with-keys", as_="keeper")
    target = tmp_path / "restored"
    run.json("--archive", target, "archive", "import", tmp_path / "export",
             env=another_backend(target))  # fmt: skip
    instant = clock.now().replace(microsecond=0)
    messages = []
    for number, where in enumerate((None, target)):
        env = {"PLIE_AUDIT_ARCHIVE": str(where)} if where else {}
        with freeze_time(instant, real_asyncio=True):
            run.json(
                "retention", "transfer", "--convention", CONV, "-o", tmp_path / f"v{number}",
                "--archival-agency", "FRAD069", as_=ANNE, env=env,
            )  # fmt: skip
        messages.append((tmp_path / f"v{number}" / "manifest.xml").read_bytes())
    assert messages[0] == messages[1]
    assert schema.validate(messages[0]) == []


def test_init_records_the_archival_agency(run, tmp_path: Path, journal, backend) -> None:
    folder = tmp_path / "other"
    result = run(
        "--archive", folder, "init", "--origin", "anpe.example/vienne", "--archival-agency",
        "FRAD038", env=backend.env(),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    bad = run("--archive", tmp_path / "bad", "init", "--archival-agency", "AD de l'Isère",
              env=backend.env())  # fmt: skip
    assert bad.exit_code == 11 and "without spaces" in bad.stderr


def test_broken_messages_fail_the_schema(run, past, tmp_path: Path) -> None:
    """The validation these tests rely on can fail: the transfer written here, without its
    MessageIdentifier or its archival agency's Identifier, is invalid."""
    run.json(
        "retention", "transfer", "--convention", CONV, "-o", tmp_path / "v",
        "--archival-agency", "FRAD069", as_=ANNE,
    )  # fmt: skip
    for path in ("s:MessageIdentifier", "s:ArchivalAgency/s:Identifier"):
        tree = etree.parse(str(tmp_path / "v" / "manifest.xml"))
        gone = tree.find(path, NS)
        gone.getparent().remove(gone)
        broken = tmp_path / "broken.xml"
        broken.write_bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
        assert schema.validate(broken.read_bytes()) != []
        linted = xmllint(broken)
        if linted is not None:
            assert linted.returncode == 3, linted.stderr


def test_a_damaged_object_is_never_transferred(run, past, tmp_path, backend, journal) -> None:
    """Bytes that no longer match their hash stop the transfer: nothing written, nothing
    recorded (the journal as it was)."""
    listed = {piece["id"]: piece for piece in run.json("evidence", "list")}
    sha256 = listed[past["convention"]]["sha256"]
    data = bytearray(backend.read_object(sha256))
    data[len(data) // 2] ^= 0x20
    backend.overwrite_object(sha256, bytes(data))
    run.ok("journal", "checkpoint")  # one covers the filings: the transfer seals none
    before = len(journal())
    result = run.fails(
        20, "retention", "transfer", "--convention", CONV, "-o", tmp_path / "v",
        "--archival-agency", "FRAD069", as_=ANNE,
    )  # fmt: skip
    assert sha256 in result.stderr
    assert not (tmp_path / "v").exists() and list(tmp_path.glob(".v.*")) == []
    assert run.json("retention", "transfers") == []
    assert len(journal()) == before
