"""One vocabulary on the command line (issue 19; cli-contract, Shape).

- ``--json`` on every command, the acting ones included: stdout then holds one JSON value
  and nothing else; an error is ``{"ok": false, "errors": [...]}`` on stdout as well as the
  ``error:`` line on stderr.
- ``--as`` after the noun and verb as well as before.
- Former option names (``journal list --since``, ``journal verify --key``,
  ``payment add --date``) still work, but are shown nowhere.
- No ``None`` in what a person reads.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest

from plie_audit.cli.main import cli as plie_cli
from plie_audit.cli.options import RenamedOption

CONV = "PLIE-LYON-2007-01"


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _leaves(command, (*path, name))
        else:
            found.append((" ".join((*path, name)), command))
    return found


LEAVES = _leaves(plie_cli.load_all())


@pytest.mark.parametrize("name", [name for name, _ in LEAVES])
def test_every_command_has_json_and_as_after_the_verb(name: str) -> None:
    command = dict(LEAVES)[name]
    names = {opt for param in command.params for opt in getattr(param, "opts", [])}
    assert "--json" in names, name
    assert "--as" in names, name


def _json_only(result) -> object:  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_acting_commands_print_json_only(run, archive_dir: Path, tmp_path: Path) -> None:
    """Each command that only acts, run with --json: its stdout is one JSON document."""
    made = _json_only(run("init", "--origin", "anpe.example/lyon", "--json"))
    assert made["origin"] == "anpe.example/lyon"
    assert len(made["root_certificate_sha256"]) == 64
    who = _json_only(
        run(
            "identity",
            "create",
            "marie.dupont",
            "--role",
            "deposant",
            "--role",
            "comptable",
            "--role",
            "archiviste",
            "--role",
            "controle",
            "--json",
        )
    )
    assert who["name"] == "marie.dupont"
    added = _json_only(
        run(
            "convention",
            "add",
            CONV,
            "--plie",
            "PLIE de Lyon",
            "--agence",
            "ALE Lyon",
            "--region",
            "Rhône-Alpes",
            "--start",
            "2007-01-01",
            "--end",
            "2007-12-31",
            "--programme",
            "2007-2013",
            "--budget",
            "deplacement=1500.00",
            "--json",
            "--as",
            "marie.dupont",
        )
    )
    assert added["ref"] == CONV
    event = _json_only(
        run("convention", "event", CONV, "last-payment", "2008-03-31", "--json", as_="marie.dupont")
    )
    assert event["event"] == "last-payment" and event["date"] == "2008-03-31"
    piece = tmp_path / "billet.pdf"
    piece.write_bytes(b"%PDF-1.4\n% billet Lyon-Paris\n%%EOF\n")
    run.ok(
        "evidence",
        "add",
        piece,
        "--convention",
        CONV,
        "--kind",
        "titre-transport",
        "--poste",
        "deplacement",
        "--amount",
        "86.40",
        "--paid-on",
        "2007-03-12",
        "--label",
        "billet",
        as_="marie.dupont",
    )
    (evidence_id,) = [e["id"] for e in run.json("evidence", "list")]
    got = _json_only(
        run(
            "evidence",
            "get",
            evidence_id,
            "-o",
            tmp_path / "copie.pdf",
            "--json",
            as_="marie.dupont",
        )
    )
    assert got["size"] == piece.stat().st_size
    exported = _json_only(
        run("evidence", "export", evidence_id, "-o", tmp_path / "out", "--json", as_="marie.dupont")
    )
    assert all(Path(p).exists() for p in exported["files"])
    assert _json_only(run("journal", "key", "--json"))["log_key"].startswith("anpe.example")
    held = _json_only(
        run(
            "retention",
            "hold",
            "add",
            "--convention",
            CONV,
            "--reason",
            "contrôle CICC",
            "--json",
            as_="marie.dupont",
        )
    )
    released = _json_only(
        run(
            "retention",
            "hold",
            "release",
            held["id"],
            "--reason",
            "fin",
            "--json",
            as_="marie.dupont",
        )
    )
    assert released["id"] == held["id"]
    withdrawn = _json_only(
        run(
            "retention",
            "event-withdraw",
            "--convention",
            CONV,
            "last-payment",
            "--reason",
            "saisie erronée",
            "--json",
            as_="marie.dupont",
        )
    )
    assert (withdrawn["event"], withdrawn["date"]) == ("last-payment", "2008-03-31")
    opened = run.json(
        "control",
        "open",
        "--authority",
        "CICC",
        "--reference",
        "2009-0412",
        "--convention",
        CONV,
        as_="marie.dupont",
    )
    closed = _json_only(run("control", "close", opened["id"], "--json", as_="marie.dupont"))
    assert closed["status"] == "closed"
    indicator = _json_only(
        run(
            "indicator",
            "set",
            "--convention",
            CONV,
            "beneficiaires",
            "142",
            "--json",
            as_="marie.dupont",
        )
    )
    assert indicator["value"] in (142, "142")
    annulled = _json_only(
        run(
            "evidence",
            "annul",
            evidence_id,
            "--reason",
            "déposé deux fois",
            "--json",
            as_="marie.dupont",
        )
    )
    assert annulled["status"] == "annulled"
    root = _json_only(run("identity", "export", "--root", "--json"))
    assert root["pem"].startswith("-----BEGIN CERTIFICATE-----")
    run.ok("identity", "create", "paul.leroy", "--role", "deposant")
    revoked = _json_only(run("identity", "revoke", "paul.leroy", "--reason", "départ", "--json"))
    assert revoked["name"] == "paul.leroy" and revoked["revoked_at"]


def test_an_error_with_json_is_an_error_object_on_stdout(run, populated, unchanged) -> None:
    with unchanged():
        result = run("convention", "show", "PLIE-NULLE-PART", "--json")
    assert result.exit_code == 12
    error = json.loads(result.stdout)
    assert error["ok"] is False and error["exit_code"] == 12
    (only,) = error["errors"]
    assert set(only) == {"line", "column", "value", "message"}
    assert "PLIE-NULLE-PART" in only["message"]
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_a_usage_error_with_json_too(run, populated) -> None:
    result = run("payment", "add", "--convention", CONV, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["message"].startswith("Missing option")


def test_without_json_stdout_stays_empty_on_error(run, populated) -> None:
    run.fails(12, "convention", "show", "PLIE-NULLE-PART")


def test_as_after_the_verb_acts_as_before(run, populated, samples, journal) -> None:
    run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        CONV,
        "--kind",
        "autre",
        "--as",
        "marie.dupont",
    )
    assert journal()[-1]["actor"] == "marie.dupont"


def test_as_given_twice_must_agree(run, populated, samples, unchanged) -> None:
    with unchanged():
        result = run.fails(
            2,
            "evidence",
            "add",
            samples["note.txt"],
            "--convention",
            CONV,
            "--kind",
            "autre",
            "--as",
            "claire.martin",
            as_="marie.dupont",
        )
    assert "--as given twice" in result.stderr
    run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        CONV,
        "--kind",
        "autre",
        "--as",
        "marie.dupont",
        as_="marie.dupont",
    )


def test_as_after_the_verb_overrides_the_environment(run, populated, samples, journal) -> None:
    run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        CONV,
        "--kind",
        "autre",
        "--as",
        "marie.dupont",
        env={"PLIE_AUDIT_IDENTITY": "claire.martin"},
    )
    assert journal()[-1]["actor"] == "marie.dupont"


def test_journal_list_from_seq_and_its_former_name(run, populated) -> None:
    new = run.json("journal", "list", "--from-seq", "3")
    old = run.json("journal", "list", "--since", "3")
    assert new == old and new[0]["seq"] == 3
    shown = run.ok("journal", "list", "--help").stdout
    assert "--from-seq" in shown and "--since" not in shown


def test_journal_verify_log_key_and_its_former_name(run, populated) -> None:
    key = run.ok("journal", "key").stdout.strip()
    assert run.json("journal", "verify", "--log-key", key)["ok"] is True
    assert run.json("journal", "verify", "--key", key)["ok"] is True
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert run("journal", "verify", "--log-key", wrong).exit_code != 0
    shown = run.ok("journal", "verify", "--help").stdout
    assert "--log-key" in shown and "--key " not in shown


def test_payment_on_and_its_former_name(run, populated) -> None:
    new = run.json(
        "payment",
        "add",
        "--convention",
        CONV,
        "--kind",
        "avance",
        "--amount",
        "1000.00",
        "--on",
        "2007-02-15",
        as_="marie.dupont",
    )
    old = run.json(
        "payment",
        "add",
        "--convention",
        CONV,
        "--kind",
        "acompte",
        "--amount",
        "500.00",
        "--date",
        "2007-06-15",
        as_="marie.dupont",
    )
    assert (new["paid_on"], old["paid_on"]) == ("2007-02-15", "2007-06-15")
    shown = run.ok("payment", "add", "--help").stdout
    assert "--on" in shown and "--date" not in shown


def test_no_none_in_what_a_person_reads(run, populated, samples) -> None:
    run.ok(
        "evidence",
        "add",
        samples["note.txt"],
        "--convention",
        CONV,
        "--kind",
        "autre",
        as_="marie.dupont",
    )  # no poste, no amount, no date
    opened = run.json(
        "control",
        "open",
        "--authority",
        "CICC",
        "--reference",
        "2009-0412",
        "--convention",
        CONV,
        as_="claire.martin",
    )
    (piece,) = run.json("evidence", "list")
    for args in (
        ("control", "show", opened["id"]),
        ("control", "list"),
        ("evidence", "show", piece["id"]),
        ("evidence", "list"),
        ("convention", "show", CONV),
        ("convention", "list"),
        ("identity", "list"),
        ("journal", "list"),
        ("retention", "hold", "list"),
        ("retention", "events"),
        ("retention", "policy", "list"),
        ("accounting", "check", "--convention", CONV),
        ("expense", "list", "--convention", CONV),
        ("payment", "list", "--convention", CONV),
        ("statement", "list", "--convention", CONV),
        ("indicator", "list", "--convention", CONV),
    ):
        result = run(*args)
        assert result.exit_code in (0, 1), (args, result.stderr)
        assert "None" not in result.stdout + result.stderr, (args, result.stdout)


def test_money_on_the_terminal_in_one_french_form(run, populated, samples) -> None:
    """JSON and CSV keep ``1234.50``; what the terminal shows is ``1 234,50 €`` everywhere."""
    run.ok(
        "evidence",
        "add",
        samples["billet-lyon-paris.pdf"],
        "--convention",
        CONV,
        "--kind",
        "titre-transport",
        "--poste",
        "deplacement",
        "--amount",
        "1086.40",
        "--paid-on",
        "2007-03-12",
        as_="marie.dupont",
    )
    run.ok(
        "payment",
        "add",
        "--convention",
        CONV,
        "--kind",
        "avance",
        "--amount",
        "1000.00",
        "--on",
        "2007-02-15",
        as_="marie.dupont",
    )
    (piece,) = run.json("evidence", "list")
    assert piece["amount"] == "1086.40"
    shown = ""
    for args in (
        ("evidence", "list"),
        ("evidence", "show", piece["id"]),
        ("convention", "list"),
        ("convention", "show", CONV),
        ("payment", "list", "--convention", CONV),
    ):
        shown += run.ok(*args).stdout
    assert "1\u202f086,40\u00a0€" in shown and "1\u202f000,00\u00a0€" in shown
    assert not re.search(r"\b\d+\.\d\d\b", shown), shown


FORMER_NAMES = {
    ("journal list", "--since"): "--from-seq",
    ("journal verify", "--key"): "--log-key",
    ("payment add", "--date"): "--on",
    ("control pack", "--since-checkpoint"): "--from-checkpoint",
}


def test_former_names_are_kept_hidden_and_listed() -> None:
    """Every renamed option: its former name is in FORMER_NAMES (and docs/formats.md), and
    no help shows it."""
    found = {}
    for name, command in LEAVES:
        for param in command.params:
            if isinstance(param, RenamedOption):
                for old in param.old_names:
                    found[(name, old)] = param.opts[0]
                    ctx = click.Context(command, info_name=name)
                    assert old not in command.get_help(ctx).replace(param.opts[0], ""), name
    assert found == FORMER_NAMES
    documented = (Path(__file__).parents[2] / "docs" / "formats.md").read_text()
    for (name, old), new in FORMER_NAMES.items():
        assert f"`{name} {old}` → `{new}`" in documented
