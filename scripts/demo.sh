#!/usr/bin/env bash
# The whole story on the embedded default (SQLite + local folder), end to end:
# an archive is created, identities and a convention are added, generated sample
# justificatifs are filed, the archive is verified, one piece is exported and checked with
# OpenSSL alone, a refused action and a tampering are shown being caught.
# Everything happens in ./demo-run (removed and recreated each time).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

DEMO=${DEMO_DIR:-$PWD/demo-run}
rm -rf "$DEMO"
mkdir -p "$DEMO"
export PLIE_AUDIT_ARCHIVE="$DEMO/archive"
export PLIE_AUDIT_PASSPHRASE="demo archive passphrase"           # unlocks the root CA key
export PLIE_AUDIT_IDENTITY_PASSPHRASE="demo passphrase of marie"  # unlocks marie's key
CONV=PLIE-LYON-2007-01

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# Every claim the demo makes is checked: a claim that does not hold stops the demo with
# « DÉMO ÉCHOUÉE » and a non-zero exit (CI runs the demo: scripts/test.sh, pass demo).
fail() { printf 'DÉMO ÉCHOUÉE : %s\n' "$*" >&2; exit 1; }
# expect CODE PATTERN WHY COMMAND... : run COMMAND (its output shown), which must exit with
# CODE and, unless PATTERN is empty, print a line matching the extended regex PATTERN.
expect() {
  local want=$1 pattern=$2 why=$3 out code
  shift 3
  printf '$ %s\n' "$*"
  set +e
  out=$("$@" 2>&1); code=$?
  set -e
  printf '%s\n' "$out"
  echo "(code de sortie $code)"
  [ "$code" = "$want" ] || fail "$why : code de sortie $code, attendu $want"
  if [ -n "$pattern" ] && ! printf '%s\n' "$out" | grep -Eq -- "$pattern"; then
    fail "$why : la sortie ne montre pas « $pattern »"
  fi
}

step "1. Créer l'archive (SQLite + dossier local, autorité racine ECDSA P-256)"
run plie-audit init --origin anpe.example/rhone-alpes --producer "ANPE — Direction régionale Rhône-Alpes"

step "2. Identités : la comptable secondaire (dépôt + comptabilité) et un contrôleur"
run plie-audit identity create marie.dupont --role deposant --role comptable
PLIE_AUDIT_IDENTITY_PASSPHRASE="demo passphrase of the controller" \
  run plie-audit identity create controleur.cicc --role controle
PLIE_AUDIT_IDENTITY_PASSPHRASE="demo passphrase of the archivist" \
  run plie-audit identity create anne.archiviste --role archiviste
run plie-audit identity list

step "3. La convention et son budget prévisionnel (article 4)"
run plie-audit --as marie.dupont convention add "$CONV" \
  --plie "PLIE de Lyon" --agence "ALE Lyon Part-Dieu" --region "Rhône-Alpes" \
  --start 2007-01-01 --end 2007-12-31 --programme 2007-2013 \
  --budget cout-salarial=43000.00 --budget frais-gestion=5000.00 \
  --budget informatique=2500.00 --budget deplacement=900.00 --budget fonctionnement=1200.00
run plie-audit convention show "$CONV"

step "4. Déposer les justificatifs (générés, fictifs) depuis un tableau"
echo "-- le modèle de tableau à remplir (en-têtes, une ligne d'exemple, une feuille « Notes ») :"
run plie-audit evidence import --template -o "$DEMO/modele-pieces.xlsx"
run python -m plie_audit.samples.generate "$DEMO/justificatifs"
echo "-- le tableau rempli, enregistré par un tableur français (Windows-1252, « ; », 86,40 €, 12/03/2007) :"
python - "$DEMO/justificatifs/manifest.csv" <<'PY'
import csv, sys
from datetime import date
path = sys.argv[1]
with open(path, encoding="utf-8", newline="") as handle:
    rows = list(csv.reader(handle))
for row in rows[1:]:
    if row[4]:
        row[4] = row[4].replace(".", ",") + " €"
    if row[5]:
        row[5] = date.fromisoformat(row[5]).strftime("%d/%m/%Y")
with open(path, "w", encoding="cp1252", newline="") as handle:
    csv.writer(handle, delimiter=";", lineterminator="\r\n").writerows(rows)
PY
python -c 'import sys; print(open(sys.argv[1], encoding="cp1252").read().splitlines()[1])' \
  "$DEMO/justificatifs/manifest.csv"
expect 0 "read as Windows-1252" "le tableau d'un tableur français est lu tel quel" \
  plie-audit --as marie.dupont evidence import "$DEMO/justificatifs/manifest.csv"
FILED=$(plie-audit evidence list --json | python -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "-- une reprise du même import ne dépose rien deux fois :"
expect 0 "" "la reprise de l'import" \
  plie-audit --as marie.dupont evidence import "$DEMO/justificatifs/manifest.csv"
AGAIN=$(plie-audit evidence list --json | python -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$AGAIN" = "$FILED" ] || fail "la reprise a déposé $((AGAIN - FILED)) pièce(s) de plus"
echo "($FILED pièces avant et après la reprise)"
run plie-audit evidence list --convention "$CONV" --kind titre-transport

step "4 bis. Les dépenses réalisées et acquittées, l'avance, l'état certifié exact, le bilan final et le solde (articles 4 et 5)"
run plie-audit --as marie.dupont expense import "$DEMO/justificatifs/depenses.csv" --convention "$CONV"
run plie-audit --as marie.dupont payment add --convention "$CONV" --kind avance --amount 10000.00 --on 2007-01-20
echo "-- les indicateurs de l'article 5-2 (chiffres agrégés, jamais nominatifs) :"
cat > "$DEMO/indicateurs.csv" <<'CSV'
name,value
beneficiaires,142
hommes,61
femmes,81
age.moins-26,35
handicap,12
duree-moyenne-parcours-jours,412
actions.accompagnement-renforce,97
sorties-positives,48
CSV
run plie-audit --as marie.dupont indicator import --convention "$CONV" "$DEMO/indicateurs.csv"
echo "-- l'état est daté du jour où il a été certifié (--certified-on), pas du jour de sa saisie :"
run plie-audit --as marie.dupont statement certify --convention "$CONV" --certified-on 2008-01-15 -o "$DEMO/etat-certifie.pdf"
run pdfsig "$DEMO/etat-certifie.pdf"
run pdfdetach -list "$DEMO/etat-certifie.pdf"
SOLDE=$(plie-audit statement list --convention "$CONV" --json | python -c 'import json,sys; from decimal import Decimal; print(Decimal(json.load(sys.stdin)[-1]["total"]) - Decimal("10000.00"))')
run plie-audit --as marie.dupont bilan final --convention "$CONV" --issued-on 2008-02-20 -o "$DEMO/bilan-final.pdf"
run plie-audit --as marie.dupont payment add --convention "$CONV" --kind solde --amount "$SOLDE" --on 2008-03-10
run plie-audit accounting check --convention "$CONV"

step "4 ter. Publicité (article 11 a) : toute publication doit nommer le « Fonds social européen »"
cat > "$DEMO/affiche-forum-emploi.html" <<'HTML'
<html lang="fr"><body><h1>Forum de l'emploi &ndash; Lyon, 12 avril 2007</h1>
<p>Action du PLIE de Lyon cofinanc&eacute;e par le Fonds social europ&eacute;en.</p>
<p>Avec le soutien de l'Union europ&eacute;enne. L'Europe s'engage en France.</p></body></html>
HTML
printf 'Atelier CV - PLIE de Lyon\nAvec le soutien du FSE.\n' > "$DEMO/flyer-atelier-cv.txt"
echo "-- le flyer ne nomme que l'acronyme « FSE » : un constat (code 1), l'affiche est conforme"
expect 1 "flyer-atelier-cv" "le contrôle de publicité aurait dû signaler le flyer" \
  plie-audit publicity check "$DEMO/affiche-forum-emploi.html" "$DEMO/flyer-atelier-cv.txt"
run plie-audit --as marie.dupont evidence add "$DEMO/affiche-forum-emploi.html" \
  "$DEMO/flyer-atelier-cv.txt" --convention "$CONV" --kind publication
run plie-audit publicity report --convention "$CONV"

step "5. Sceller le journal : un point de contrôle signé (arbre de Merkle RFC 9162)"
run plie-audit journal checkpoint
plie-audit journal key > "$DEMO/journal-key.txt"
run cat "$DEMO/journal-key.txt"   # la clé de vérification, à remettre aux autorités

step "6. Vérifier toute l'archive (empreintes, enregistrements, journal, points de contrôle)"
run plie-audit verify
run plie-audit verify --signatures   # audit approfondi : chaque signature CMS revérifiée aussi
run plie-audit journal verify --log-key "$(cat "$DEMO/journal-key.txt")"

step "7. Exporter une pièce et la vérifier avec OpenSSL seul"
run plie-audit identity export --root -o "$DEMO/root.pem"
ID=$(plie-audit evidence list --kind titre-transport --json | python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
run plie-audit evidence show "$ID"
run plie-audit --as marie.dupont evidence export "$ID" -o "$DEMO/export"
NAME=$(plie-audit evidence show "$ID" --json | python -c 'import json,sys; print(json.load(sys.stdin)["name"])')
run openssl cms -verify -binary -inform DER -in "$DEMO/export/$NAME.p7s" \
  -content "$DEMO/export/$NAME" -CAfile "$DEMO/root.pem" -purpose any -out /dev/null
run openssl cms -verify -binary -inform DER -in "$DEMO/export/$NAME.record.json.p7s" \
  -content "$DEMO/export/$NAME.record.json" -CAfile "$DEMO/root.pem" -purpose any -out /dev/null
echo "-- et la preuve que son dépôt figure dans le journal scellé (C2SP tlog-proof) :"
run plie-audit journal prove "$ID" -o "$DEMO/export/$NAME.tlog-proof"
run cat "$DEMO/export/$NAME.tlog-proof"

step "7 bis. Contrôle (article 8) : la CICC demande les pièces ; paquet BagIt vérifiable hors ligne"
CTL=(env PLIE_AUDIT_IDENTITY_PASSPHRASE="demo passphrase of the controller" plie-audit --as controleur.cicc)
run "${CTL[@]}" control open --authority "CICC" --reference "CICC-2009-0412" --convention "$CONV" --deadline 2009-05-31
run "${CTL[@]}" control pack CR-0001 -o "$DEMO/paquet-CICC-2009-0412"
ROOTFP=$(openssl x509 -in "$DEMO/root.pem" -noout -fingerprint -sha256 | cut -d= -f2)
echo "-- l'autorité vérifie avec sh, coreutils et openssl seuls, et les empreintes reçues à part :"
run env -i PATH=/usr/bin:/bin sh "$DEMO/paquet-CICC-2009-0412/verify.sh" --root "$ROOTFP" \
  --log-key "$(cat "$DEMO/journal-key.txt")" "$DEMO/paquet-CICC-2009-0412"
run bagit.py --validate --quiet "$DEMO/paquet-CICC-2009-0412" && echo "bagit.py : paquet valide"
run plie-audit pack verify "$DEMO/paquet-CICC-2009-0412" --root "$ROOTFP" --log-key "$(cat "$DEMO/journal-key.txt")"
P1="$DEMO/paquet-CICC-2009-0412"
echo "-- le paquet est prouvé comme un tout : la signature du contrôleur sur tagmanifest-sha256.txt,"
echo "   l'entrée pack-built du journal et sa preuve dans pack-checkpoint.txt :"
run openssl cms -verify -binary -inform DER -in "$P1/pack-signature.p7s" \
  -content "$P1/tagmanifest-sha256.txt" -CAfile "$DEMO/root.pem" -purpose any -out /dev/null
echo "-- sans les empreintes reçues à part, la confiance n'est pas établie : code 4, jamais 0"
expect 4 "" "verify.sh sans ancres aurait dû sortir avec 4" \
  env -i PATH=/usr/bin:/bin sh "$P1/verify.sh" "$P1"
echo "-- un faussaire retire une pièce et recalcule tous les manifestes BagIt (bagit.py) :"
cp -a "$P1" "$DEMO/paquet-falsifie"
GONE=$(find "$DEMO/paquet-falsifie/data/pieces" -type f -name '*.p7s' ! -name '*.record.json.p7s' | sort | sed -n 1p)
rm -f "${GONE%.p7s}" "${GONE%.p7s}".*
python -c 'import bagit, sys; bagit.Bag(sys.argv[1]).save(manifests=True)' "$DEMO/paquet-falsifie"
run bagit.py --validate --quiet "$DEMO/paquet-falsifie" && echo "bagit.py : valide (il ne sait rien du périmètre)"
expect 1 "ÉCHEC" "le paquet falsifié aurait dû être refusé (1)" \
  env -i PATH=/usr/bin:/bin sh "$DEMO/paquet-falsifie/verify.sh" --root "$ROOTFP" \
  --log-key "$(cat "$DEMO/journal-key.txt")" "$DEMO/paquet-falsifie"
run "${CTL[@]}" control served CR-0001 --recipient "CICC, mission de contrôle"
run "${CTL[@]}" control close CR-0001
echo "-- une seconde demande de la CICC : le nouveau paquet porte la preuve de cohérence depuis le"
echo "   point de contrôle du paquet servi ; l'autorité la vérifie avec --previous (ni retour en"
echo "   arrière ni réécriture du journal entre les deux paquets)"
run "${CTL[@]}" control open --authority "CICC" --reference "CICC-2010-0077" --convention "$CONV"
run "${CTL[@]}" control pack CR-0002 -o "$DEMO/paquet-CICC-2010-0077" --no-index-pdf
run env -i PATH=/usr/bin:/bin sh "$DEMO/paquet-CICC-2010-0077/verify.sh" --root "$ROOTFP" \
  --log-key "$(cat "$DEMO/journal-key.txt")" --previous "$P1/pack-checkpoint.txt" "$DEMO/paquet-CICC-2010-0077"
run plie-audit pack verify "$DEMO/paquet-CICC-2010-0077" --root "$ROOTFP" \
  --log-key "$(cat "$DEMO/journal-key.txt")" --previous "$P1/pack-checkpoint.txt"
run "${CTL[@]}" control close CR-0002

step "8. Une erreur se corrige, elle ne s'efface pas"
SUP=$(plie-audit evidence list --kind facture --json | python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
printf '%%PDF-1.4\n%% facture rectificative (fictive)\n' > "$DEMO/facture-rectificative.pdf"
run plie-audit --as marie.dupont evidence supersede "$SUP" "$DEMO/facture-rectificative.pdf" \
  --reason "facture rectificative du fournisseur"
run plie-audit evidence show "$SUP"

step "9. Un contrôleur ne peut pas déposer : refus journalisé, archive inchangée"
BEFORE=$(plie-audit journal list --json | python -c 'import json,sys; print(len(json.load(sys.stdin)))')
expect 41 "" "le dépôt par un contrôleur aurait dû être refusé (41)" \
  env PLIE_AUDIT_IDENTITY_PASSPHRASE="demo passphrase of the controller" \
  plie-audit --as controleur.cicc evidence add "$DEMO/root.pem" --convention "$CONV" --kind autre
LAST=$(plie-audit journal list --from-seq "$((BEFORE + 1))" --json | python -c 'import json,sys; print(" ".join(e["event"] for e in json.load(sys.stdin)))')
[ "$LAST" = "action-refused" ] || fail "le journal aurait dû gagner une seule entrée action-refused, il a : $LAST"
echo "-- le journal a gagné une seule entrée : $LAST"

step "10. Une altération derrière le dos de l'archive est détectée"
cp -a "$PLIE_AUDIT_ARCHIVE" "$DEMO/archive-altered"
OBJ=$(find "$DEMO/archive-altered/objects" -type f -path '*/??/*' | sort | sed -n 1p)
chmod u+w "$OBJ"; printf 'X' | dd of="$OBJ" bs=1 seek=10 conv=notrunc status=none
expect 1 "object-mismatch|hash-mismatch|FINDING" "l'octet changé aurait dû être signalé" \
  plie-audit --archive "$DEMO/archive-altered" verify
echo "-- une entrée du journal réécrite en base (déclencheurs supprimés, comme le ferait un attaquant) :"
echo "   le premier dépôt de marie.dupont est attribué à paul.durand"
cp -a "$PLIE_AUDIT_ARCHIVE" "$DEMO/archive-rewritten"
python - "$DEMO/archive-rewritten/archive.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DROP TRIGGER journal_no_update")
seq, entry = db.execute(
    "SELECT seq, entry FROM journal WHERE actor = 'marie.dupont' AND event = 'evidence-filed' "
    "ORDER BY seq LIMIT 1"
).fetchone()
forged = entry.replace(b"marie.dupont", b"paul.durand")
assert forged != entry, "the entry does not name marie.dupont"
db.execute("UPDATE journal SET entry = ? WHERE seq = ?", (forged, seq))
db.commit()
print(f"entrée {seq} réécrite")
PY
expect 1 "journal-entry-mismatch|node-mismatch" "la réécriture du journal aurait dû être signalée" \
  plie-audit --archive "$DEMO/archive-rewritten" journal verify

ARCH=(env PLIE_AUDIT_IDENTITY_PASSPHRASE="demo passphrase of the archivist" plie-audit --as anne.archiviste)

step "11. Conservation : en attente du solde de la Commission, rien n'est éliminable"
run plie-audit retention policy list
expect 0 "retention audit as of" "l'audit de conservation" plie-audit retention audit
ELIGIBLE=$(plie-audit retention audit --json | python -c 'import json,sys; print(json.load(sys.stdin)["summary"].get("eligible", 0))')
[ "$ELIGIBLE" = 0 ] || fail "$ELIGIBLE pièce(s) éliminable(s) avant le solde de la Commission"

step "12. La Commission a versé le solde 2007-2013 le 31 mars 2015 : conservation jusqu'au 31 mars 2018"
run "${ARCH[@]}" retention event --programme 2007-2013 ec-final-balance-paid 2015-03-31
run "${ARCH[@]}" retention audit -o "$DEMO/audit-conservation.pdf"
run pdfsig "$DEMO/audit-conservation.pdf"

step "13. Bordereau d'élimination, gel, visa, élimination contrôlée"
run "${ARCH[@]}" retention propose -o "$DEMO/bordereau.pdf" --seda --archival-agency FRAD069
echo "-- le même bordereau en SEDA 2.2 (AuthorizationControlAuthorityRequest), valide selon les schémas officiels :"
SEDA=$(python -c 'from plie_audit.seda import schema; print(schema.SCHEMAS)')
run env XML_CATALOG_FILES="$SEDA/catalog.xml" xmllint --nonet --noout \
  --schema "$SEDA/seda-2.2-main.xsd" "$DEMO/bordereau.seda.xml"
BORD=$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$DEMO/bordereau.json")
run "${ARCH[@]}" retention hold add --convention "$CONV" --reason "contrôle CICC annoncé"
echo "-- le service d'archives renvoie le bordereau visé (ici, une copie du bordereau) :"
cp "$DEMO/bordereau.pdf" "$DEMO/bordereau-vise.pdf"
VISA=(--visa "AD69-2026-0042" --visa-date "$(TZ=Europe/Paris date +%F)"
      --visa-authority "Archives départementales du Rhône" --visa-file "$DEMO/bordereau-vise.pdf")
echo "-- les pièces gelées ne s'éliminent pas :"
expect 50 "held \(H-0001\)" "l'élimination sous gel aurait dû être refusée (50)" \
  "${ARCH[@]}" retention dispose --bordereau "$BORD" "${VISA[@]}" --yes
echo "-- le gel levé en base, derrière le dos de l'archive (sur une copie) : le journal fait foi"
cp -a "$PLIE_AUDIT_ARCHIVE" "$DEMO/archive-unheld"
python - "$DEMO/archive-unheld/archive.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE holds SET released_at = '2026-01-01 00:00:00.000000', released_by = 'anne.archiviste'")
db.commit()
PY
set +e
PLIE_AUDIT_ARCHIVE="$DEMO/archive-unheld" "${ARCH[@]}" retention dispose --bordereau "$BORD" "${VISA[@]}" --yes
code=$?
echo "(code de sortie $code : la base ne dit pas ce que dit le journal signé ; rien n'est détruit)"
[ "$code" -eq 30 ] || { echo "démo : l'élimination aurait dû être refusée (30), code $code" >&2; exit 1; }
plie-audit --archive "$DEMO/archive-unheld" verify | grep -E "row-mismatch: holds:|finding"
[ "${PIPESTATUS[0]}" -eq 1 ] || { echo "démo : verify aurait dû signaler le gel levé en base" >&2; exit 1; }
set -e
run "${ARCH[@]}" retention hold release H-0001 --reason "contrôle clos sans suite"
run "${ARCH[@]}" retention dispose --bordereau "$BORD" "${VISA[@]}" --yes
expect 50 "was disposed of" "une pièce éliminée ne se lit plus (50)" \
  plie-audit --as marie.dupont evidence get "$ID" -o "$DEMO/apres-elimination.pdf"
run plie-audit journal checkpoint >/dev/null
run plie-audit verify
run plie-audit journal verify --log-key "$(cat "$DEMO/journal-key.txt")"

step "14. Versement aux Archives départementales (SEDA 2.2) : ce qui va au tri"
run "${ARCH[@]}" retention transfer --convention "$CONV" --archival-agency FRAD069 -o "$DEMO/versement"
run env XML_CATALOG_FILES="$SEDA/catalog.xml" xmllint --nonet --noout \
  --schema "$SEDA/seda-2.2-main.xsd" "$DEMO/versement/manifest.xml"
echo "-- chaque objet contre son empreinte SHA-512 (sha512sum, sans plie-audit) :"
python - "$DEMO/versement" > "$DEMO/versement.sha512" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"s": "fr:gouv:culture:archivesdefrance:seda:v2.2"}
root = ET.parse(sys.argv[1] + "/manifest.xml").getroot()
for obj in root.iter("{%s}BinaryDataObject" % ns["s"]):
    print(f'{obj.findtext("s:MessageDigest", namespaces=ns)}  {obj.findtext("s:Uri", namespaces=ns)}')
PY
(cd "$DEMO/versement" && run sha512sum --quiet -c "$DEMO/versement.sha512") \
  || fail "une empreinte du versement ne correspond pas"
echo "   $(wc -l < "$DEMO/versement.sha512") objets vérifiés"
MSG=$(plie-audit retention transfers --json | python -c 'import json,sys; print(json.load(sys.stdin)[-1]["message_identifier"])')
echo "-- le service d'archives accuse réception et accepte (ArchiveTransferReply, ReplyCode OK) :"
python - "$MSG" "$DEMO/reponse-versement.xml" <<'PY'
import sys
from datetime import datetime, timezone
from xml.sax.saxutils import escape
message, path = sys.argv[1:]
now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
open(path, "w", encoding="utf-8").write(f"""<?xml version="1.0" encoding="UTF-8"?>
<ArchiveTransferReply xmlns="fr:gouv:culture:archivesdefrance:seda:v2.2">
  <Comment>Versement reçu et conforme</Comment>
  <Date>{now}</Date>
  <MessageIdentifier>FRAD069-ATR-2026-0001</MessageIdentifier>
  <CodeListVersions><ReplyCodeListVersion>ReplyCodeListVersion0</ReplyCodeListVersion></CodeListVersions>
  <ReplyCode>OK</ReplyCode>
  <MessageRequestIdentifier>{escape(message)}</MessageRequestIdentifier>
  <ArchivalAgency><Identifier>FRAD069</Identifier></ArchivalAgency>
  <TransferringAgency><Identifier>ANPE — Direction régionale Rhône-Alpes</Identifier></TransferringAgency>
</ArchiveTransferReply>
""")
PY
expect 0 "accepted \(OK" "la réponse du service d'archives aurait dû être acceptée" \
  "${ARCH[@]}" retention transfer-reply "$DEMO/reponse-versement.xml"
run plie-audit retention transfers
TRANSFERRED=$(plie-audit retention audit --json | python -c 'import json,sys; print(json.load(sys.stdin)["summary"]["transferred"])')
[ "$TRANSFERRED" -gt 0 ] || fail "aucune pièce versée après la réponse du service d'archives"
echo "   $TRANSFERRED pièce(s) versée(s) ; elles restent dans l'archive jusqu'à ce que leur propre élimination soit visée"
run plie-audit verify
run plie-audit journal verify --log-key "$(cat "$DEMO/journal-key.txt")"

step "15. Réversibilité : l'archive entière exportée en formats ouverts, puis reconstruite"
echo "-- l'archiviste seule ne lit pas les bulletins de salaire (données personnelles) :"
expect 41 "" "l'archiviste seule aurait dû être refusée (41)" \
  "${ARCH[@]}" archive export -o "$DEMO/archive-export"
PLIE_AUDIT_IDENTITY_PASSPHRASE="demo passphrase of the head of accounts" \
  run plie-audit identity create paul.responsable --role archiviste --role comptable
PLIE_AUDIT_IDENTITY_PASSPHRASE="demo passphrase of the head of accounts" \
  run plie-audit --as paul.responsable archive export -o "$DEMO/archive-export" --with-keys
run python -m bagit --quiet --validate "$DEMO/archive-export" && echo "bag valide (bagit.py)"
run plie-audit --archive "$DEMO/archive-restored" archive import "$DEMO/archive-export"
run plie-audit --archive "$DEMO/archive-restored" verify
run plie-audit --archive "$DEMO/archive-restored" journal verify --log-key "$(cat "$DEMO/journal-key.txt")"

step "Fin : l'archive de démonstration est dans $PLIE_AUDIT_ARCHIVE"
