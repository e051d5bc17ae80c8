#!/bin/sh
# verify.sh - offline verification of a plie-audit control pack (pack de contrôle),
# format plie-audit/control-pack/1, a BagIt 1.0 bag (RFC 8493). Copied into every pack as a
# tag file; the auditor runs it with nothing but a POSIX sh, GNU coreutils and OpenSSL >= 3.0
# (no Python, jq, xxd, find, grep, sed or awk), e.g. `env -i PATH=/usr/bin:/bin sh verify.sh`.
#
# Usage:
#   sh verify.sh [--root SHA256 ...] [--log-key KEY] [BAG_DIR]
#
#   --root SHA256   SHA-256 fingerprint of a trusted root certificate (the archive's root, and
#                   the root of every outside CA whose identities signed pieces): 64 hex digits,
#                   any case, colons and a "sha256:" prefix allowed. Repeatable.
#   --log-key KEY   the journal verifier key <name>+<8 hex key id>+<base64(0x01 || key)>.
#   BAG_DIR         the bag; defaults to the folder holding this script.
#
# Trust. Both values must come from OUTSIDE the pack (from the archive service): a pack forged
# with another CA and another journal key is just as consistent as a genuine one. Without
# them the script checks the pack against its own anchors (data/trust) and journal key, prints
# "confiance NON établie : ..." and still exits 0 if everything else holds. The summary says
# "confiance : établie" only with --root AND --log-key and no trust problem.
#
# What is checked; every problem is reported, one "ÉCHEC: ..." line each, and the run goes on:
#   1. structure: bagit.txt (BagIt-Version 1.0); manifest lines well formed, with safe paths
#      (relative, under data/, no "." or ".." segment, alphabet [A-Za-z0-9._/-]); every line of
#      manifest-sha256.txt and manifest-sha512.txt verifies (sha256sum/sha512sum -c run from the
#      bag root); every file under data/ is in both (no extra file, no symbolic link); the tag
#      manifests verify.
#   2. trust anchors: the fingerprints of data/trust/root.pem and of every data/trust/anchors/
#      file a chain ends with are among the --root values. Only the first certificate of an
#      anchor file is ever trusted.
#   3. the checkpoint data/trust/checkpoint.txt (C2SP signed note + tlog-checkpoint): a
#      signature line of the journal key (name and key id match) verifies over the note text
#      (Ed25519, openssl pkeyutl -rawin); with --log-key, data/trust/journal-key.txt must equal it.
#   4. each piece data/pieces/<convention>/<poste>/<name> (every file there without a companion
#      suffix) has its five companions, and no companion lacks its piece; the CMS signatures
#      (RFC 5652) <name>.p7s of the piece and <name>.record.json.p7s of its filing record
#      (enregistrement de dépôt) verify with openssl cms through <name>.chain.pem, whose last
#      certificate must be a trusted anchor; the record's "sha256" member is the piece's SHA-256.
#      A certificate that has expired since is checked at the signingTime the signature carries
#      (as the archive does, signing.ca.verify_chain), and the report notes it.
#   5. each <name>.tlog-proof (C2SP tlog-proof@v1): its checkpoint is data/trust/checkpoint.txt
#      byte for byte; its entry (the "extra" line) holds "sha256":["<piece sha256>"] and
#      "record_sha256":"<record sha256>"; the RFC 9162 §2.1.3.2 inclusion proof of
#      SHA-256(0x00 || entry) at its index leads to the checkpoint's root for its size.
#
# Exit status: 0 every check passed (trust established or not, see "Trust" above);
#              1 the checks ran and found problems;
#              2 usage error;
#              3 cannot run (no bag folder, OpenSSL missing or older than 3.0, a coreutils
#                command missing, no temporary folder).
#
# Cost: one openssl process per signature; everything else is batched (one sha256sum per
# Merkle level for all proofs together), so the time grows linearly with the pieces.
# Messages are in French (the auditors' language); comments in English.

set -eu
LC_ALL=C
export LC_ALL
umask 077

USAGE='Usage : sh verify.sh [--root EMPREINTE_SHA256 ...] [--log-key CLE_DU_JOURNAL] [DOSSIER_DU_PAQUET]

Vérifie hors ligne un paquet de contrôle plie-audit (BagIt) : manifestes, signatures CMS des
pièces et des enregistrements de dépôt, point de contrôle signé du journal, preuves d'"'"'inclusion.

  --root EMPREINTE   empreinte SHA-256 d'"'"'une racine de confiance (64 chiffres hexadécimaux,
                     deux-points et préfixe « sha256: » acceptés) ; option répétable
  --log-key CLE      clé de vérification du journal (<nom>+<id>+<clé base64>)
  DOSSIER            dossier du paquet (par défaut, celui de ce script)

Empreintes et clé s'"'"'obtiennent HORS du paquet, auprès du service d'"'"'archives. Sans elles,
seule la cohérence interne est vérifiée (« confiance NON établie ») et le code de sortie
peut être 0.

Codes de sortie : 0 tout est vérifié ; 1 problèmes trouvés ; 2 erreur d'"'"'utilisation ;
3 vérification impossible (dossier absent, OpenSSL absent ou antérieur à 3.0).'

# --- output ------------------------------------------------------------------------------------

FAILURES=0

# One problem, one line on stdout.
fail() {
    FAILURES=$((FAILURES + 1))
    printf 'ÉCHEC: %s\n' "$*"
}

# A problem with trust itself (a root, an anchor or the journal key refused): counted apart so
# the summary never says "confiance établie" after one.
TRUST_PROBLEMS=0
fail_trust() {
    TRUST_PROBLEMS=$((TRUST_PROBLEMS + 1))
    fail "$@"
}

info() {
    printf '%s\n' "$*"
}

usage_error() {
    printf 'verify.sh : %s\n\n%s\n' "$1" "$USAGE" >&2
    exit 2
}

cannot_run() {
    printf 'verify.sh : vérification impossible : %s\n' "$1" >&2
    exit 3
}

# A file name as it may be printed: anything outside the pack's path alphabet becomes '?', so a
# hostile name cannot forge report lines.
printable() {
    PRINTABLE=$(printf '%s' "$1" | tr -c 'A-Za-z0-9._/-' '?') || PRINTABLE='?'
}

# --- small parsers (no fork unless said) -------------------------------------------------------

HEX64='[0-9a-f]'
B64C='[A-Za-z0-9+/]'
# A canonical base64 SHA-256 hash: 42 free characters, one whose low two bits are zero, "=".
HASH_B64=''
_i=0
while [ "$_i" -lt 42 ]; do
    HASH_B64="$HASH_B64$B64C"
    _i=$((_i + 1))
done
HASH_B64="${HASH_B64}[AEIMQUYcgkosw048]="
_i=0
_h=''
while [ "$_i" -lt 64 ]; do
    _h="$_h$HEX64"
    _i=$((_i + 1))
done
HEX64=$_h
CR=$(printf '\r')

# Decimal without sign or leading zero, at most 18 digits (shell arithmetic is 64-bit signed).
is_decimal() {
    case $1 in
        '' | *[!0-9]* | 0?*) return 1 ;;
    esac
    [ "${#1}" -le 18 ]
}

# Standard base64 with padding (RFC 4648 §4): alphabet, length a multiple of 4, "=" only at the
# end. Sets B64_BYTES to the decoded length.
is_base64() {
    case $1 in
        '' | *[!A-Za-z0-9+/=]* | *=[!=]* | *===) return 1 ;;
    esac
    [ $((${#1} % 4)) -eq 0 ] || return 1
    case $1 in
        *==) B64_BYTES=$((${#1} * 3 / 4 - 2)) ;;
        *=) B64_BYTES=$((${#1} * 3 / 4 - 1)) ;;
        *) B64_BYTES=$((${#1} * 3 / 4)) ;;
    esac
    return 0
}

# A path a manifest may name: relative, no "." or ".." segment, no empty segment, only the pack
# alphabet [A-Za-z0-9._/-] (bagit-python refuses the same dangerous paths).
is_safe_path() {
    case $1 in
        '' | /* | */ | *//* | . | .. | ./* | ../* | */. | */.. | */./* | */../*) return 1 ;;
        *[!A-Za-z0-9._/-]*) return 1 ;;
    esac
    return 0
}

# Hex string (a multiple of 8 digits) -> printf octal escapes in ESC, without forking; four
# bytes per turn (an arithmetic expansion is cheaper than a pattern removal).
hex_to_esc() {
    _h=$1
    ESC=''
    while [ -n "$_h" ]; do
        _r=${_h#????????}
        _v=$((0x${_h%"$_r"}))
        _h=$_r
        ESC="$ESC\\$((_v >> 30 & 3))$((_v >> 27 & 7))$((_v >> 24 & 7))\\$((_v >> 22 & 3))$((_v >> 19 & 7))$((_v >> 16 & 7))\\$((_v >> 14 & 3))$((_v >> 11 & 7))$((_v >> 8 & 7))\\$((_v >> 6 & 3))$((_v >> 3 & 7))$((_v & 7))"
    done
}

# Hex of a binary file (lowercase, one line). Forks od and tr.
hex_of_file() {
    HEX=$(od -An -v -tx1 "$1" | tr -d ' \n') || HEX=''
}

# Lowercase SHA-256 hex of a file, in SHA. Forks sha256sum.
sha256_of() {
    SHA=$(sha256sum < "$1") || SHA=''
    SHA=${SHA%% *}
}

# Certificate fingerprint argument -> 64 lowercase hex digits in FP, or return 1.
normalize_fingerprint() {
    FP=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]') || return 1
    FP=${FP#sha256:}
    while :; do
        case $FP in
            *:*) FP=${FP%%:*}${FP#*:} ;;
            *) break ;;
        esac
    done
    # shellcheck disable=SC2254  # HEX64 is a pattern
    case $FP in
        $HEX64) return 0 ;;
    esac
    return 1
}

# The reason OpenSSL gives in an error file: "<reason> (<data>)" from its first error line
# (<thread>:error:<code>:<library>:<function>:<reason>:<file>:<line>:<data>).
openssl_reason() {
    REASON=''
    while IFS= read -r _l || [ -n "$_l" ]; do
        case $_l in
            *:error:*)
                _l=${_l#*:error:}
                _f=${_l#*:*:*:}
                REASON=${_f%%:*}
                _f=${_f#*:}
                _f=${_f#*:*:}
                if [ "$_f" != "${REASON}" ] && [ -n "$_f" ]; then
                    case $_f in
                        *:*:*:*) ;;
                        *) REASON="$REASON ($_f)" ;;
                    esac
                fi
                break
                ;;
            *[!\ ]*)
                if [ -z "$REASON" ]; then REASON=$_l; fi
                ;;
        esac
    done < "$1"
    if [ -z "$REASON" ]; then REASON='raison inconnue'; fi
    REASON=$(printf '%s' "$REASON" | tr -c 'A-Za-z0-9 ._:/()-' ' ') || REASON='?'
}

# --- arguments ---------------------------------------------------------------------------------

ROOTS=''        # " fp1 fp2 ..." given with --root
LOG_KEY=''
LOG_KEY_GIVEN=0
BAG=''
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help | --aide)
            printf '%s\n' "$USAGE"
            exit 0
            ;;
        --root | --log-key)
            if [ $# -lt 2 ]; then usage_error "l'option $1 demande une valeur"; fi
            _opt=$1
            _val=$2
            shift 2
            ;;
        --root=* | --log-key=*)
            _opt=${1%%=*}
            _val=${1#*=}
            shift
            ;;
        --)
            shift
            if [ $# -gt 1 ]; then usage_error 'un seul dossier de paquet est attendu'; fi
            if [ $# -eq 1 ]; then BAG=$1; shift; fi
            continue
            ;;
        -*)
            printable "$1"
            usage_error "option inconnue : $PRINTABLE"
            ;;
        *)
            if [ -n "$BAG" ]; then usage_error 'un seul dossier de paquet est attendu'; fi
            BAG=$1
            shift
            continue
            ;;
    esac
    case $_opt in
        --root)
            if ! normalize_fingerprint "$_val"; then
                printable "$_val"
                usage_error "empreinte SHA-256 invalide : $PRINTABLE (64 chiffres hexadécimaux attendus)"
            fi
            ROOTS="$ROOTS $FP"
            ;;
        --log-key)
            if [ -z "$_val" ]; then usage_error 'clé du journal vide'; fi
            if [ "$LOG_KEY_GIVEN" -eq 1 ]; then usage_error 'une seule clé du journal est attendue'; fi
            LOG_KEY=$_val
            LOG_KEY_GIVEN=1
            ;;
    esac
done
if [ -z "$BAG" ]; then
    case $0 in
        */*) BAG=${0%/*} ;;
        *) BAG=. ;;
    esac
fi

# --- environment -------------------------------------------------------------------------------

command -v openssl >/dev/null 2>&1 || cannot_run "la commande openssl est introuvable"
_v=$(openssl version 2>/dev/null) || _v=''
case $_v in
    'OpenSSL '[3-9].* | 'OpenSSL '[1-9][0-9]*.*) ;;
    *) cannot_run "OpenSSL 3.0 ou plus récent est requis (trouvé : ${_v:-aucun})" ;;
esac
for _cmd in base64 cat comm cut date join mkdir mktemp mv od rm sha256sum sha512sum sort tail tr uniq wc; do
    command -v "$_cmd" >/dev/null 2>&1 || cannot_run "la commande $_cmd (coreutils) est introuvable"
done
case $BAG in
    -*) BAG=./$BAG ;;
esac
[ -d "$BAG" ] || cannot_run "dossier introuvable : $BAG"
cd "$BAG" || cannot_run "dossier illisible : $BAG"
BAG_ABS=$(pwd) || BAG_ABS=$BAG

TMP=$(mktemp -d 2>/dev/null) || cannot_run "impossible de créer un dossier temporaire"
trap 'rm -rf "$TMP"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$TMP/leaf" "$TMP/node" "$TMP/anchor"

PROGRESS=0
if [ -t 2 ]; then PROGRESS=1; fi

info "Vérification du paquet de contrôle : $BAG_ABS"

# =============================================================================================
# 1. Structure (cheap checks first, then hashing)
# =============================================================================================
info ''
info '[1/5] Structure BagIt et manifestes'

for _f in bagit.txt bag-info.txt manifest-sha256.txt manifest-sha512.txt \
          tagmanifest-sha256.txt tagmanifest-sha512.txt; do
    if [ ! -f "$_f" ]; then fail "fichier obligatoire absent : $_f"; fi
done
if [ ! -d data ]; then fail 'dossier data/ absent'; fi

# RFC 8493 §2.1.1: bagit.txt names the version and the tag file encoding.
if [ -f bagit.txt ]; then
    _version=0
    _encoding=0
    while IFS= read -r _l || [ -n "$_l" ]; do
        _l=${_l%"$CR"}
        case $_l in
            'BagIt-Version: 1.0') _version=1 ;;
            'Tag-File-Character-Encoding: UTF-8') _encoding=1 ;;
        esac
    done < bagit.txt
    if [ "$_version" -eq 0 ]; then fail 'bagit.txt : « BagIt-Version: 1.0 » absent'; fi
    if [ "$_encoding" -eq 0 ]; then fail 'bagit.txt : « Tag-File-Character-Encoding: UTF-8 » absent'; fi
fi

# Every file under data/, by a pure-shell walk (no find): paths to fd 5, one a line, and for
# files under data/pieces a line of the piece grouping stream to fd 6 (see step 4). Symbolic
# links, special files and names outside the pack alphabet are refused.
walk() {
    for _w in "$1"/* "$1"/.[!.]* "$1"/..?*; do
        if [ ! -e "$_w" ] && [ ! -L "$_w" ]; then continue; fi
        if ! is_safe_path "$_w"; then
            printable "$_w"
            fail "nom de fichier non autorisé : $PRINTABLE"
        elif [ -L "$_w" ]; then
            fail "lien symbolique refusé : $_w"
        elif [ -d "$_w" ]; then
            walk "$_w"
        elif [ -f "$_w" ]; then
            printf '%s\n' "$_w" >&5
            FILE_COUNT=$((FILE_COUNT + 1))
            # Companions are grouped under their piece (X), pieces are F.
            case $_w in
                data/pieces/*.record.json.p7s) printf '%s X %s\n' "${_w%.record.json.p7s}" "$_w" >&6 ;;
                data/pieces/*.record.json) printf '%s X %s\n' "${_w%.record.json}" "$_w" >&6 ;;
                data/pieces/*.chain.pem) printf '%s X %s\n' "${_w%.chain.pem}" "$_w" >&6 ;;
                data/pieces/*.tlog-proof) printf '%s X %s\n' "${_w%.tlog-proof}" "$_w" >&6 ;;
                data/pieces/*.p7s) printf '%s X %s\n' "${_w%.p7s}" "$_w" >&6 ;;
                data/pieces/*) printf '%s F -\n' "$_w" >&6 ;;
            esac
        else
            fail "fichier spécial refusé : $_w"
        fi
    done
}
FILE_COUNT=0
exec 5> "$TMP/files.raw" 6> "$TMP/group.raw"
if [ -L data ]; then
    fail 'lien symbolique refusé : data'
elif [ -d data ]; then
    walk data
fi
exec 5>&- 6>&-
sort -u "$TMP/files.raw" > "$TMP/files"

# Parse one manifest: lines "<hex> <path>". Well-formed lines with a safe path go, normalised
# to "<hex>  <path>", to $TMP/<manifest>.ok (the only lines handed to sha256sum -c); their
# paths to $TMP/<manifest>.paths. $1 file, $2 hex length, $3 "payload" or "tag".
# For manifest-sha256.txt, piece digests also go to fd 6 (see "pieces" below).
# shellcheck disable=SC2094  # reads the manifest, writes only under $TMP
parse_manifest() {
    _m=$1
    : > "$TMP/$_m.ok"
    : > "$TMP/$_m.paths"
    [ -f "$_m" ] || return 0
    _n=0
    while IFS= read -r _l || [ -n "$_l" ]; do
        _n=$((_n + 1))
        _l=${_l%"$CR"}
        _hex=${_l%% *}
        _path=${_l#"$_hex"}
        while :; do
            case $_path in
                ' '*) _path=${_path# } ;;
                *) break ;;
            esac
        done
        case $_hex in
            *[A-F]*) _hex=$(printf '%s' "$_hex" | tr 'A-F' 'a-f') || _hex='' ;;
        esac
        if [ "${#_hex}" -ne "$2" ] || [ -z "$_path" ] || [ "$_hex" = "$_l" ]; then
            fail "$_m, ligne $_n : ligne mal formée"
            continue
        fi
        case $_hex in
            *[!0-9a-f]*)
                fail "$_m, ligne $_n : empreinte mal formée"
                continue
                ;;
        esac
        if ! is_safe_path "$_path"; then
            printable "$_path"
            fail "$_m, ligne $_n : chemin refusé : $PRINTABLE"
            continue
        fi
        case $3:$_path in
            payload:data/*) ;;
            payload:*)
                fail "$_m, ligne $_n : chemin hors de data/ : $_path"
                continue
                ;;
            tag:data/*)
                fail "$_m, ligne $_n : fichier de data/ dans un manifeste d'étiquettes : $_path"
                continue
                ;;
        esac
        printf '%s  %s\n' "$_hex" "$_path" >> "$TMP/$_m.ok"
        printf '%s\n' "$_path" >> "$TMP/$_m.paths"
        if [ "$_m" = manifest-sha256.txt ]; then
            case $_path in
                data/pieces/*.record.json.p7s | data/pieces/*.p7s | data/pieces/*.tlog-proof) ;;
                data/pieces/*.record.json) printf '%s R %s\n' "${_path%.record.json}" "$_hex" >&6 ;;
                data/pieces/*.chain.pem) printf '%s C %s\n' "${_path%.chain.pem}" "$_hex" >&6 ;;
                data/pieces/*) printf '%s P %s\n' "$_path" "$_hex" >&6 ;;
            esac
        fi
    done < "$_m"
    sort "$TMP/$_m.paths" > "$TMP/$_m.sorted"
    uniq -d "$TMP/$_m.sorted" > "$TMP/$_m.dup"
    while IFS= read -r _path; do
        fail "$_m : fichier listé plusieurs fois : $_path"
    done < "$TMP/$_m.dup"
    return 0
}

# Run sha256sum/sha512sum -c from the bag root on the checked lines; translate its output.
check_manifest() {
    _m=$1
    [ -f "$_m" ] || return 0
    if "$2" -c --quiet --strict "$TMP/$_m.ok" > "$TMP/check.out" 2> "$TMP/check.err"; then
        return 0
    fi
    _seen=0
    while IFS= read -r _l || [ -n "$_l" ]; do
        case $_l in
            *': FAILED open or read')
                _l=${_l%: FAILED open or read}
                fail "$_m : fichier absent ou illisible : $_l"
                _seen=1
                ;;
            *': FAILED')
                _l=${_l%: FAILED}
                fail "$_m : empreinte différente : $_l"
                _seen=1
                ;;
            *) continue ;;
        esac
        # The manifest's digest of this file is wrong: step 4 must hash the file itself.
        # Lowercase types sort after the manifest's P, R, C lines and override them.
        if [ "$_m" = manifest-sha256.txt ]; then
            case $_l in
                data/pieces/*.record.json) printf '%s r -\n' "${_l%.record.json}" >> "$TMP/group.raw" ;;
                data/pieces/*.chain.pem) printf '%s c -\n' "${_l%.chain.pem}" >> "$TMP/group.raw" ;;
                data/pieces/*.p7s | data/pieces/*.tlog-proof) ;;
                data/pieces/*) printf '%s p -\n' "$_l" >> "$TMP/group.raw" ;;
            esac
        fi
    done < "$TMP/check.out"
    if [ "$_seen" -eq 0 ] && [ -s "$TMP/$_m.ok" ]; then
        openssl_reason "$TMP/check.err"
        fail "$_m : la vérification par $2 a échoué ($REASON)"
    fi
    return 0
}

exec 6>> "$TMP/group.raw"
parse_manifest manifest-sha256.txt 64 payload
exec 6> /dev/null
parse_manifest manifest-sha512.txt 128 payload
parse_manifest tagmanifest-sha256.txt 64 tag
parse_manifest tagmanifest-sha512.txt 128 tag
exec 6>&-

# RFC 8493 §3: every payload file is listed in every payload manifest (no extra file).
for _m in manifest-sha256.txt manifest-sha512.txt; do
    [ -f "$_m" ] || continue
    sort -u "$TMP/$_m.paths" > "$TMP/$_m.set"
    comm -23 "$TMP/files" "$TMP/$_m.set" > "$TMP/extra"
    while IFS= read -r _path; do
        fail "fichier absent de $_m : $_path"
    done < "$TMP/extra"
done

check_manifest manifest-sha256.txt sha256sum
check_manifest manifest-sha512.txt sha512sum
check_manifest tagmanifest-sha256.txt sha256sum
check_manifest tagmanifest-sha512.txt sha512sum
STRUCTURE_FAILURES=$FAILURES
info "  fichiers dans data/ : $FILE_COUNT"

# =============================================================================================
# 2. Trust anchors
# =============================================================================================
info ''
info '[2/5] Ancres de confiance'

is_root_given() {
    case "$ROOTS " in
        *" $1 "*) return 0 ;;
    esac
    return 1
}

# Each anchor is rewritten by OpenSSL to $TMP/anchor/<fp>.pem holding that one certificate
# (and its fingerprint line), so a second certificate hidden in an anchor file is never
# trusted. Anchor lookups are shell variables ANCHOR_<fp> (fp is 64 hex digits).
ROOT_FP=''
load_anchor() {
    if ! openssl x509 -in "$1" -fingerprint -sha256 -out "$TMP/anchor/new.pem" \
            > /dev/null 2> "$TMP/x509.err"; then
        openssl_reason "$TMP/x509.err"
        fail "certificat illisible : $1 ($REASON)"
        return 1
    fi
    IFS= read -r _l < "$TMP/anchor/new.pem" || :
    normalize_fingerprint "${_l#*=}" || {
        fail "empreinte illisible : $1"
        return 1
    }
    mv "$TMP/anchor/new.pem" "$TMP/anchor/$FP.pem"
    eval "ANCHOR_$FP=\$1"
    return 0
}

if [ -f data/trust/root.pem ]; then
    if load_anchor data/trust/root.pem; then
        ROOT_FP=$FP
        info "  racine de l'archive : sha256:$ROOT_FP"
        if [ -n "$ROOTS" ] && ! is_root_given "$ROOT_FP"; then
            fail_trust "racine de l'archive non reconnue : data/trust/root.pem a l'empreinte sha256:$ROOT_FP, absente des --root"
        fi
    fi
else
    fail 'racine de l'"'"'archive absente : data/trust/root.pem'
fi
ANCHOR_COUNT=0
for _f in data/trust/anchors/*.pem; do
    [ -f "$_f" ] || continue
    if load_anchor "$_f"; then
        ANCHOR_COUNT=$((ANCHOR_COUNT + 1))
    fi
done
info "  autres ancres (autorités extérieures) : $ANCHOR_COUNT"
if [ -z "$ROOTS" ]; then
    info 'ATTENTION: confiance NON établie : empreintes de racine non fournies (--root) ; ancres du paquet utilisées'
fi

# =============================================================================================
# 3. The journal checkpoint (C2SP signed note + tlog-checkpoint)
# =============================================================================================
info ''
info '[3/5] Point de contrôle du journal'

CP_FILE=data/trust/checkpoint.txt
CP_STATUS='INVALIDE'
CP_SIZE=''      # tree size, when the text parses
CP_ROOT=''      # root hash, hex, when the text parses
CP_LINES=0      # the note's lines CPL_1..CPL_n, for the byte comparison with each proof
KEY_NAME=''

# Verifier key (golang.org/x/mod/sumdb/note): <name>+<8 hex key id>+base64(0x01 || 32-byte key).
# The name holds no '+', so the first two '+' split it; the base64 may hold '+'.
KEY_OK=0
check_key() {
    _k=$1
    case $_k in
        *+*+*) ;;
        *)
            fail "clé du journal mal formée ($2) : <nom>+<id>+<clé> attendu"
            return 0
            ;;
    esac
    KEY_NAME=${_k%%+*}
    _rest=${_k#*+}
    KEY_ID=${_rest%%+*}
    _kb=${_rest#*+}
    case $KEY_NAME in
        '' | *[!!-~]*)
            fail "clé du journal mal formée ($2) : nom invalide"
            return 0
            ;;
    esac
    case $KEY_ID in
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
        *)
            fail "clé du journal mal formée ($2) : identifiant de 8 chiffres hexadécimaux attendu"
            return 0
            ;;
    esac
    if ! is_base64 "$_kb" || [ "$B64_BYTES" -ne 33 ]; then
        fail "clé du journal mal formée ($2) : 33 octets en base64 attendus"
        return 0
    fi
    printf '%s\n' "$_kb" | base64 -d > "$TMP/key.bin" 2>/dev/null || :
    hex_of_file "$TMP/key.bin"
    case $HEX in
        01?*) ;;
        *)
            fail "clé du journal ($2) : type de signature inconnu (Ed25519, 0x01, attendu)"
            return 0
            ;;
    esac
    # c2sp.org/signed-note: key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4].
    { printf '%s\n' "$KEY_NAME"; cat "$TMP/key.bin"; } > "$TMP/keyid.in"
    sha256_of "$TMP/keyid.in"
    if [ "${SHA%"${SHA#????????}"}" != "$KEY_ID" ]; then
        fail "clé du journal ($2) : l'identifiant $KEY_ID ne correspond pas au nom et à la clé"
        return 0
    fi
    # RFC 8410 §4 SubjectPublicKeyInfo for Ed25519:
    #   30 2a  30 05  06 03 2b 65 70  03 21 00  <32-byte public key>
    { printf '\060\052\060\005\006\003\053\145\160\003\041\000'; tail -c 32 "$TMP/key.bin"; } \
        > "$TMP/pub.der"
    KEY_OK=1
    return 0
}

FILE_KEY=''
if [ -f data/trust/journal-key.txt ]; then
    IFS= read -r FILE_KEY < data/trust/journal-key.txt || :
    FILE_KEY=${FILE_KEY%"$CR"}
else
    fail 'clé du journal absente : data/trust/journal-key.txt'
fi
if [ "$LOG_KEY_GIVEN" -eq 1 ]; then
    if [ -n "$FILE_KEY" ] && [ "$FILE_KEY" != "$LOG_KEY" ]; then
        fail_trust 'data/trust/journal-key.txt ne correspond pas à la clé fournie par --log-key'
    fi
    check_key "$LOG_KEY" '--log-key'
else
    info 'ATTENTION: confiance NON établie : clé du journal non fournie (--log-key) ; clé du paquet utilisée'
    if [ -n "$FILE_KEY" ]; then check_key "$FILE_KEY" 'data/trust/journal-key.txt'; fi
fi

# The note: text lines, one empty line, signature lines; every line ends in "\n"
# (c2sp.org/signed-note, "Format"). Lines are kept in CPL_<n> for the proofs' comparison.
check_checkpoint() {
    if [ ! -f "$CP_FILE" ]; then
        fail "point de contrôle absent : $CP_FILE"
        return 0
    fi
    _text=0      # number of text lines (before the first empty line)
    _l=''
    while IFS= read -r _l; do
        CP_LINES=$((CP_LINES + 1))
        eval "CPL_$CP_LINES=\$_l"
        if [ "$_text" -eq 0 ] && [ -z "$_l" ]; then _text=$((CP_LINES - 1)); fi
    done < "$CP_FILE"
    if [ -n "$_l" ]; then
        fail "$CP_FILE : la dernière ligne ne se termine pas par un saut de ligne"
        CP_LINES=$((CP_LINES + 1))
        eval "CPL_$CP_LINES=\$_l"
        return 0
    fi
    # c2sp.org/tlog-checkpoint: origin, decimal size, base64 root, then extension lines.
    if [ "$_text" -lt 3 ]; then
        fail "$CP_FILE : texte mal formé (origine, taille et racine attendues, puis une ligne vide)"
        return 0
    fi
    _size=$CPL_2
    _root=$CPL_3
    if ! is_decimal "$_size"; then
        fail "$CP_FILE : taille de l'arbre mal formée"
        return 0
    fi
    # shellcheck disable=SC2254  # HASH_B64 is a pattern
    case $_root in
        $HASH_B64) ;;
        *)
            fail "$CP_FILE : racine mal formée (base64 de 32 octets attendu)"
            return 0
            ;;
    esac
    printf '%s\n' "$_root" | base64 -d > "$TMP/root.bin" 2>/dev/null || :
    hex_of_file "$TMP/root.bin"
    CP_SIZE=$_size
    CP_ROOT=$HEX
    CP_ORIGIN=$CPL_1
    : > "$TMP/cp.text"
    _i=1
    while [ "$_i" -le "$_text" ]; do
        eval "printf '%s\n' \"\$CPL_$_i\"" >> "$TMP/cp.text"
        _i=$((_i + 1))
    done
    if [ "$KEY_OK" -ne 1 ]; then
        fail "$CP_FILE : signature non vérifiable (clé du journal inutilisable)"
        return 0
    fi
    _found=0
    _bad=0
    _i=$((_text + 2))
    if [ "$_i" -gt "$CP_LINES" ]; then
        fail "$CP_FILE : aucune ligne de signature"
        return 0
    fi
    while [ "$_i" -le "$CP_LINES" ]; do
        eval "_l=\$CPL_$_i"
        _i=$((_i + 1))
        # "— <key name> <base64(4-byte key ID || signature)>"; the dash is U+2014 (e2 80 94).
        case $_l in
            '— '?*' '?*) ;;
            *)
                fail "$CP_FILE : ligne de signature mal formée (ligne $((_i - 1)))"
                _bad=1
                continue
                ;;
        esac
        _l=${_l#'— '}
        _name=${_l%% *}
        _sig=${_l#* }
        # Signatures by other keys are ignored, as the spec requires.
        [ "$_name" = "$KEY_NAME" ] || continue
        if ! is_base64 "$_sig" || [ "$B64_BYTES" -ne 68 ]; then
            fail "$CP_FILE : signature de $KEY_NAME mal formée (4 + 64 octets en base64 attendus)"
            _bad=1
            continue
        fi
        printf '%s\n' "$_sig" | base64 -d > "$TMP/sig.blob" 2>/dev/null || :
        hex_of_file "$TMP/sig.blob"
        [ "${HEX%"${HEX#????????}"}" = "$KEY_ID" ] || continue
        tail -c 64 "$TMP/sig.blob" > "$TMP/sig.bin"
        _found=1
        # OpenSSL 3.0: Ed25519 needs -rawin, and -rawin needs a regular file as -in.
        if openssl pkeyutl -verify -pubin -inkey "$TMP/pub.der" -keyform DER -rawin \
                -in "$TMP/cp.text" -sigfile "$TMP/sig.bin" > /dev/null 2> "$TMP/pkey.err"; then
            :
        else
            fail_trust "$CP_FILE : la signature de la clé du journal $KEY_NAME+$KEY_ID ne vérifie pas"
            _bad=1
        fi
    done
    if [ "$_found" -eq 0 ]; then
        fail_trust "$CP_FILE : aucune signature de la clé du journal $KEY_NAME+$KEY_ID"
        return 0
    fi
    if [ "$_bad" -eq 0 ]; then CP_STATUS='valide'; fi
    return 0
}
check_checkpoint
if [ -n "$CP_SIZE" ]; then
    printable "$CP_ORIGIN"
    info "  journal $PRINTABLE, taille $CP_SIZE, signature $CP_STATUS"
fi

# =============================================================================================
# 4. Pieces: companions, CMS signatures, records; proofs parsed and queued for step 5
# =============================================================================================
info ''
info '[4/5] Pièces : signatures CMS et enregistrements de dépôt'

# One sorted stream groups, per piece path, what the walk found (F the piece, X a companion
# file) and what manifest-sha256.txt says (P piece, R record, C chain digests), both written
# to $TMP/group.raw in step 1: sort + one pass, no lookup per piece.
sort -k1,1 -k2,2 "$TMP/group.raw" > "$TMP/group"

# Rows "<piece> <piece sha256> <record sha256> <chain sha256>" ("-": not in the manifest, or
# the manifest's digest is wrong).
: > "$TMP/pieces"
flush_group() {
    [ -n "$_gbase" ] || return 0
    if [ "$_gF" -eq 1 ]; then
        printf '%s %s %s %s\n' "$_gbase" "$_gP" "$_gR" "$_gC" >> "$TMP/pieces"
    else
        for _x in $_gX; do
            fail "fichier compagnon sans pièce : $_x"
        done
    fi
    return 0
}
_gbase=''
while read -r _base _type _val; do
    if [ "$_base" != "$_gbase" ]; then
        flush_group
        _gbase=$_base _gF=0 _gP=- _gR=- _gC=- _gX=''
    fi
    case $_type in
        F) _gF=1 ;;
        P | p) _gP=$_val ;;
        R | r) _gR=$_val ;;
        C | c) _gC=$_val ;;
        X) _gX="$_gX $_val" ;;
    esac
done < "$TMP/group"
flush_group
PIECES=$(wc -l < "$TMP/pieces") || PIECES=0
PIECES=$((PIECES + 0))

# Anchor of a chain file, cached by the chain's SHA-256 (a filer's chain is shared by all their
# pieces; $2 is that digest, checked against the file in step 1, or "-" to hash the file).
# Sets CAFILE (the rewritten anchor to trust) and CHAIN_PROBLEM.
chain_anchor() {
    _c=$2
    if [ "$_c" = - ]; then
        sha256_of "$1"
        _c=$SHA
    fi
    eval "_cached=\${CHAIN_$_c-}"
    if [ -n "$_cached" ]; then
        eval "CAFILE=\$CHAINCA_$_c CHAIN_PROBLEM=\$CHAINPB_$_c"
        return 0
    fi
    CAFILE=''
    CHAIN_PROBLEM=''
    # The last PEM certificate of the file is the chain's anchor.
    _in=0
    _count=0
    _body=''
    _last=''
    while IFS= read -r _l || [ -n "$_l" ]; do
        _l=${_l%"$CR"}
        case $_l in
            '-----BEGIN CERTIFICATE-----') _in=1 _body='' ;;
            '-----END CERTIFICATE-----')
                if [ "$_in" -eq 1 ]; then
                    _count=$((_count + 1))
                    _last=$_body
                fi
                _in=0
                ;;
            *) if [ "$_in" -eq 1 ]; then _body="$_body$_l
"; fi ;;
        esac
    done < "$1"
    if [ "$_count" -eq 0 ]; then
        CHAIN_PROBLEM='aucun certificat dans la chaîne'
    else
        printf '%s' "$_last" > "$TMP/last.b64"
        _fp=$(base64 -d < "$TMP/last.b64" 2>/dev/null | sha256sum) || _fp=''
        _fp=${_fp%% *}
        eval "_anchor=\${ANCHOR_$_fp-}"
        if [ -z "$_anchor" ]; then
            CHAIN_PROBLEM="la chaîne ne se termine pas par une ancre du paquet (dernier certificat sha256:$_fp)"
        else
            CAFILE="$TMP/anchor/$_fp.pem"
            if [ -n "$ROOTS" ] && ! is_root_given "$_fp"; then
                # Signatures are still checked (integrity); trust is reported once per anchor.
                _uses=0
                eval "_uses=\${UNAPPROVED_$_fp-0}"
                if [ "$_uses" -eq 0 ]; then UNAPPROVED="$UNAPPROVED $_fp"; fi
                eval "UNAPPROVED_$_fp=1"
            fi
        fi
    fi
    eval "CHAIN_$_c=1 CHAINCA_$_c=\$CAFILE CHAINPB_$_c=\$CHAIN_PROBLEM"
    return 0
}
UNAPPROVED=''

SIG_TOTAL=0
SIG_OK=0
SIG_AT_SIGNING=0

# RFC 5652 §5.6 signature check by OpenSSL, at the current time or at epoch $4. Only the given
# anchor is trusted: -no-CApath and -no-CAstore keep the system's certificate folders out
# (OpenSSL loads them by default even with -CAfile).
cms_verify() {
    openssl cms -verify -binary -inform DER -in "$1" -content "$2" \
        -CAfile "$CAFILE" -no-CApath -no-CAstore -certfile "$3" -purpose any \
        ${4:+-attime "$4"} -out /dev/null < /dev/null > /dev/null 2> "$TMP/cms.err"
}

# The signingTime signed attribute (RFC 5652 §11.3) of a CMS file, as epoch seconds in
# SIGNED_AT and as text in SIGNED_TEXT. Forks openssl and date.
signing_time() {
    SIGNED_AT=''
    SIGNED_TEXT=''
    openssl cms -cmsout -noout -print -inform DER -in "$1" < /dev/null > "$TMP/cms.txt" \
        2>/dev/null || return 1
    _next=0
    while IFS= read -r _l; do
        case $_l in
            *'object: signingTime '*) _next=1 ;;
            *UTCTIME:* | *GENERALIZEDTIME:*)
                if [ "$_next" -eq 1 ]; then
                    SIGNED_TEXT=${_l#*TIME:}
                    break
                fi
                ;;
        esac
    done < "$TMP/cms.txt"
    [ -n "$SIGNED_TEXT" ] || return 1
    SIGNED_AT=$(date -u -d "$SIGNED_TEXT" +%s 2>/dev/null) || return 1
    return 0
}

# A certificate may have expired since it signed: like the archive (signing.ca.verify_chain),
# the path is then checked at the signing time the signature carries. This retry only runs
# after OpenSSL reports an expired certificate, so a valid pack costs one openssl per signature.
cms_check() {
    SIG_TOTAL=$((SIG_TOTAL + 1))
    if cms_verify "$1" "$2" "$3" ''; then
        SIG_OK=$((SIG_OK + 1))
        return 0
    fi
    openssl_reason "$TMP/cms.err"
    case $REASON in
        *'certificate has expired'*)
            if signing_time "$1" && cms_verify "$1" "$2" "$3" "$SIGNED_AT"; then
                SIG_OK=$((SIG_OK + 1))
                SIG_AT_SIGNING=$((SIG_AT_SIGNING + 1))
                info "  note : $1 : certificat expiré depuis, valide à la date de signature ($SIGNED_TEXT)"
                return 0
            fi
            if [ -n "$SIGNED_AT" ]; then openssl_reason "$TMP/cms.err"; fi
            ;;
    esac
    case $REASON in
        *'certificate verify error'*) _why='certificat refusé' ;;
        *'verification failure'*) _why='contenu différent du contenu signé' ;;
        *) _why='signature refusée' ;;
    esac
    fail "signature CMS invalide : $1 : $_why (openssl : $REASON)"
    return 0
}

# The filing record's "sha256" member (canonical JSON, plie-audit/filing-record/1).
check_record() {
    _rec=''
    while IFS= read -r _l || [ -n "$_l" ]; do
        _rec="$_rec$_l
"
    done < "$1"
    case $_rec in
        *'"sha256":"'*) ;;
        *)
            fail "enregistrement de dépôt sans membre \"sha256\" : $1"
            return 0
            ;;
    esac
    _after=${_rec#*'"sha256":"'}
    case $_after in
        *'"sha256":'*)
            fail "enregistrement de dépôt ambigu (plusieurs membres \"sha256\") : $1"
            return 0
            ;;
    esac
    case $_after in
        "$2\""*) ;;
        *)
            _found=${_after%%\"*}
            printable "$_found"
            fail "l'enregistrement de dépôt $1 indique sha256:$PRINTABLE, la pièce a sha256:$2"
            ;;
    esac
    return 0
}

# c2sp.org/tlog-proof@v1: "c2sp.org/tlog-proof@v1", "extra <base64 entry>", "index <n>",
# base64 hashes (leaf's sibling first), "", then the checkpoint note verbatim.
# A parsed proof k is queued for step 5 as the line "<k> <index> <hash count> <piece>" on fd 3
# ($TMP/queue), its hashes on fd 4 ($TMP/hashes.b64) and the leaf input 0x00 || entry in
# $TMP/leaf/k. No shell variable per proof: dash's variable table has 39 buckets.
PROOFS=0
parse_proof() {
    _pf=$1
    {
        IFS= read -r _l1 || _l1=''
        IFS= read -r _l2 || _l2=''
        IFS= read -r _l3 || _l3=''
        _hashes=''
        _nh=0
        _badhash=0
        _l=''
        while IFS= read -r _l; do
            [ -n "$_l" ] || break
            # shellcheck disable=SC2254  # HASH_B64 is a pattern
            case $_l in
                $HASH_B64) ;;
                *) _badhash=1 ;;
            esac
            _hashes="$_hashes $_l"
            _nh=$((_nh + 1))
        done
        # The rest must be data/trust/checkpoint.txt, byte for byte (line by line, each
        # ending in "\n").
        _same=1
        _i=0
        while IFS= read -r _l; do
            _i=$((_i + 1))
            if [ "$_i" -gt "$CP_LINES" ]; then _same=0; break; fi
            _want=''
            eval "_want=\$CPL_$_i"
            if [ "$_l" != "$_want" ]; then _same=0; fi
        done
        if [ -n "$_l" ] || [ "$_i" -ne "$CP_LINES" ]; then _same=0; fi
    } < "$_pf"
    if [ "$_same" -eq 0 ]; then
        fail "$_pf : le point de contrôle de la preuve diffère de $CP_FILE"
    fi
    if [ "$_l1" != 'c2sp.org/tlog-proof@v1' ]; then
        fail "$_pf : en-tête c2sp.org/tlog-proof@v1 absent"
        return 0
    fi
    case $_l2 in
        'extra '*) _extra=${_l2#extra } ;;
        *)
            fail "$_pf : ligne « extra » (entrée du journal) absente"
            return 0
            ;;
    esac
    if ! is_base64 "$_extra"; then
        fail "$_pf : entrée du journal mal formée (base64)"
        return 0
    fi
    _ebytes=$B64_BYTES
    case $_l3 in
        'index '*) _idx=${_l3#index } ;;
        *) _idx='' ;;
    esac
    if ! is_decimal "$_idx"; then
        fail "$_pf : ligne « index » mal formée"
        return 0
    fi
    if [ "$_badhash" -eq 1 ] || [ "$_nh" -gt 64 ]; then
        fail "$_pf : hachage de preuve mal formé (base64 de 32 octets attendu)"
        return 0
    fi
    # The leaf input, RFC 9162 §2.1.1: 0x00 || entry bytes.
    _k=$((PROOFS + 1))
    { printf '\000'; printf '%s\n' "$_extra" | base64 -d 2>/dev/null; } > "$TMP/leaf/$_k" || :
    # The entry as text (read drops the leading NUL): its length proves it holds no NUL and
    # no newline, so the substring checks below see every byte.
    _entry=''
    IFS= read -r _entry < "$TMP/leaf/$_k" || :
    if [ "${#_entry}" -ne "$_ebytes" ]; then
        fail "$_pf : entrée du journal mal formée (octet nul ou saut de ligne)"
        return 0
    fi
    case $_entry in
        *"\"sha256\":[\"$3\"]"*) ;;
        *) fail "$_pf : l'entrée du journal ne nomme pas la pièce (sha256:$3)" ;;
    esac
    case $_entry in
        *"\"record_sha256\":\"$4\""*) ;;
        *) fail "$_pf : l'entrée du journal ne nomme pas l'enregistrement de dépôt (sha256:$4)" ;;
    esac
    if [ -z "$CP_SIZE" ]; then
        return 0
    fi
    # RFC 9162 §2.1.3.2 step 1: "If leaf_index is greater than or equal to tree_size, then
    # fail the proof verification."
    if [ "$_idx" -ge "$CP_SIZE" ]; then
        fail "$_pf : index $_idx hors d'un arbre de taille $CP_SIZE"
        return 0
    fi
    PROOFS=$_k
    printf '%s %s %s %s\n' "$_k" "$_idx" "$_nh" "$2" >&3
    for _l in $_hashes; do
        printf '%s\n' "$_l" >&4
    done
    return 0
}

exec 3> "$TMP/queue" 4> "$TMP/hashes.b64"
_n=0
while read -r _piece _psha _rsha _csha; do
    _n=$((_n + 1))
    if [ "$PROGRESS" -eq 1 ] && [ $((_n % 50)) -eq 0 ]; then
        printf '\r  %s / %s pièces' "$_n" "$PIECES" >&2
    fi
    for _s in .p7s .record.json .record.json.p7s .chain.pem .tlog-proof; do
        if [ ! -f "$_piece$_s" ]; then fail "fichier compagnon absent : $_piece$_s"; fi
    done
    # Digests come from manifest-sha256.txt (checked in step 1); a file the manifest omits or
    # gets wrong (already reported) is hashed here.
    if [ "$_psha" = - ]; then sha256_of "$_piece"; _psha=$SHA; fi
    if [ "$_rsha" = - ] && [ -f "$_piece.record.json" ]; then
        sha256_of "$_piece.record.json"
        _rsha=$SHA
    fi
    if [ -f "$_piece.chain.pem" ]; then
        chain_anchor "$_piece.chain.pem" "$_csha"
        if [ -n "$CHAIN_PROBLEM" ]; then
            fail_trust "$_piece.chain.pem : $CHAIN_PROBLEM ; signatures non vérifiées"
        fi
    else
        CAFILE=''
    fi
    if [ -n "$CAFILE" ] && [ -f "$_piece.p7s" ]; then
        cms_check "$_piece.p7s" "$_piece" "$_piece.chain.pem"
    else
        SIG_TOTAL=$((SIG_TOTAL + 1))
    fi
    if [ -n "$CAFILE" ] && [ -f "$_piece.record.json.p7s" ] && [ -f "$_piece.record.json" ]; then
        cms_check "$_piece.record.json.p7s" "$_piece.record.json" "$_piece.chain.pem"
    else
        SIG_TOTAL=$((SIG_TOTAL + 1))
    fi
    if [ -f "$_piece.record.json" ]; then
        check_record "$_piece.record.json" "$_psha"
    fi
    if [ -f "$_piece.tlog-proof" ]; then
        parse_proof "$_piece.tlog-proof" "$_piece" "$_psha" "$_rsha"
    fi
done < "$TMP/pieces"
exec 3>&- 4>&-
if [ "$PROGRESS" -eq 1 ] && [ "$PIECES" -ge 50 ]; then printf '\r%40s\r' '' >&2; fi

for _fp in $UNAPPROVED; do
    eval "_anchor=\$ANCHOR_$_fp"
    fail_trust "ancre utilisée mais non approuvée : $_anchor a l'empreinte sha256:$_fp, absente des --root"
done
info "  pièces : $PIECES ; signatures CMS valides : $SIG_OK / $SIG_TOTAL"

# =============================================================================================
# 5. Inclusion proofs, RFC 9162 §2.1.3.2. All proofs advance together, one level at a time, so
#    a level costs one sha256sum process whatever the number of proofs. dash reads files one
#    byte per system call, so the shell only reads short lines:
#      $TMP/level/<j>  hash j (hex) of every proof that has one, in proof order;
#      $TMP/state      "<k> <fn> <sn> <hashes left>" for every proof still running;
#      $TMP/r          r (hex) of the same proofs, same order (sha256sum output, cut).
#    Failures are collected as "<k> <code>" and named after the join with $TMP/queue.
# =============================================================================================
info ''
info "[5/5] Preuves d'inclusion dans le journal"

# sha256sum over the files listed in $1 (chunks of 500 arguments); the hashes only, one a line.
hash_files() {
    _list=$1
    set --
    while IFS= read -r _f; do
        # Older shells (posh, ksh88) reject an empty "$@" under set -u.
        if [ $# -eq 0 ]; then set -- "$_f"; else set -- "$@" "$_f"; fi
        if [ $# -ge 500 ]; then
            sha256sum -- "$@"
            set --
        fi
    done < "$_list"
    if [ $# -gt 0 ]; then sha256sum -- "$@"; fi
    return 0
}

PROOF_OK=0
if [ "$PROOFS" -gt 0 ]; then
    mkdir "$TMP/level"
    # Every proof hash in one base64 decode, then one hash (64 hex digits) a line.
    base64 -d < "$TMP/hashes.b64" 2>/dev/null | od -An -v -tx1 -w32 | tr -d ' ' \
        > "$TMP/hashes.hex"
    : > "$TMP/list"
    exec 7< "$TMP/hashes.hex"
    # Step 2: "Set fn to leaf_index and sn to tree_size - 1."
    while read -r _k _idx _nh _piece; do
        _j=0
        while [ "$_j" -lt "$_nh" ]; do
            IFS= read -r _h <&7 || _h=''
            printf '%s\n' "$_h" >> "$TMP/level/$_j"
            _j=$((_j + 1))
        done
        printf '%s %s %s %s\n' "$_k" "$_idx" "$((CP_SIZE - 1))" "$_nh"
        printf '%s\n' "$TMP/leaf/$_k" >> "$TMP/list"
    done < "$TMP/queue" > "$TMP/state"
    exec 7<&-
    # Step 3: "Set r to hash", the leaf hash SHA-256(0x00 || entry) (RFC 9162 §2.1.1).
    hash_files "$TMP/list" | cut -c1-64 > "$TMP/r"

    : > "$TMP/proof.failures"
    _j=0
    while [ -s "$TMP/state" ]; do
        : > "$TMP/list"
        _n=0
        exec 7< "$TMP/r"
        if [ -f "$TMP/level/$_j" ]; then exec 8< "$TMP/level/$_j"; else exec 8< /dev/null; fi
        while read -r _k _fn _sn _left; do
            IFS= read -r _r <&7 || _r=''
            if [ "$_left" -eq 0 ]; then
                # Step 5: "Compare sn to 0. Compare r against the root_hash. If sn is equal to
                # 0 and r and the root_hash are equal, then the log has proven the inclusion."
                if [ "$_sn" -ne 0 ]; then
                    printf '%s court\n' "$_k" >> "$TMP/proof.failures"
                elif [ "$_r" != "$CP_ROOT" ]; then
                    printf '%s racine\n' "$_k" >> "$TMP/proof.failures"
                else
                    PROOF_OK=$((PROOF_OK + 1))
                fi
                continue
            fi
            IFS= read -r _p <&8 || _p=''
            # Step 4: "For each value p in the inclusion_path array:"
            # 4a: "If sn is 0, then stop the iteration and fail the proof verification."
            if [ "$_sn" -eq 0 ]; then
                printf '%s long\n' "$_k" >> "$TMP/proof.failures"
                continue
            fi
            # 4b: "If LSB(fn) is set, or if fn is equal to sn, then:"
            if [ $((_fn & 1)) -eq 1 ] || [ "$_fn" -eq "$_sn" ]; then
                # 4b.i: "Set r to HASH(0x01 || p || r)."
                hex_to_esc "$_p$_r"
                # 4b.ii: "If LSB(fn) is not set, then right-shift both fn and sn equally
                # until either LSB(fn) is set or fn is 0."
                while [ $((_fn & 1)) -eq 0 ] && [ "$_fn" -ne 0 ]; do
                    _fn=$((_fn >> 1))
                    _sn=$((_sn >> 1))
                done
            else
                # Otherwise: "Set r to HASH(0x01 || r || p)."
                hex_to_esc "$_r$_p"
            fi
            # 4c: "Finally, right-shift both fn and sn one time."
            _fn=$((_fn >> 1))
            _sn=$((_sn >> 1))
            _n=$((_n + 1))
            # shellcheck disable=SC2059  # the format is the node's bytes, as octal escapes
            printf "\\001$ESC" > "$TMP/node/$_n"
            printf '%s\n' "$TMP/node/$_n" >> "$TMP/list"
            printf '%s %s %s %s\n' "$_k" "$_fn" "$_sn" "$((_left - 1))" >&9
        done < "$TMP/state" 9> "$TMP/state.next"
        exec 7<&- 8<&-
        mv "$TMP/state.next" "$TMP/state"
        if [ -s "$TMP/state" ]; then hash_files "$TMP/list" | cut -c1-64 > "$TMP/r"; fi
        _j=$((_j + 1))
    done

    # Name the failed proofs, in piece order.
    if [ -s "$TMP/proof.failures" ]; then
        sort -k1,1 "$TMP/proof.failures" > "$TMP/pf.sorted"
        sort -k1,1 "$TMP/queue" > "$TMP/queue.sorted"
        join -o 1.1,2.4,1.2 "$TMP/pf.sorted" "$TMP/queue.sorted" | sort -n > "$TMP/pf.named"
        while read -r _k _piece _code; do
            case $_code in
                court) fail "$_piece.tlog-proof : preuve d'inclusion trop courte pour un arbre de taille $CP_SIZE" ;;
                long) fail "$_piece.tlog-proof : preuve d'inclusion trop longue pour un arbre de taille $CP_SIZE" ;;
                *) fail "$_piece.tlog-proof : la preuve d'inclusion ne mène pas à la racine du point de contrôle" ;;
            esac
        done < "$TMP/pf.named"
    fi
fi
PROOFS_AGAINST=''
if [ "$CP_STATUS" != valide ] && [ "$PROOF_OK" -gt 0 ]; then
    PROOFS_AGAINST=" (vers un point de contrôle $CP_STATUS : elles ne prouvent rien)"
fi
info "  preuves d'inclusion valides : $PROOF_OK / $PIECES$PROOFS_AGAINST"

# =============================================================================================
# Summary
# =============================================================================================
info ''
info 'Résumé'
info "  structure et manifestes : $(if [ "$STRUCTURE_FAILURES" -eq 0 ]; then echo conformes; else echo "$STRUCTURE_FAILURES problème(s)"; fi)"
info "  pièces vérifiées : $PIECES"
info "  signatures CMS valides : $SIG_OK / $SIG_TOTAL"
if [ "$SIG_AT_SIGNING" -gt 0 ]; then
    info "    dont $SIG_AT_SIGNING par un certificat expiré depuis, valide à la date de signature"
fi
info "  preuves d'inclusion valides : $PROOF_OK / $PIECES$PROOFS_AGAINST"
if [ -n "$CP_SIZE" ]; then
    info "  point de contrôle du journal : $CP_STATUS (taille $CP_SIZE)"
else
    info "  point de contrôle du journal : $CP_STATUS"
fi
TRUSTED=0
if [ -n "$ROOTS" ] && [ "$LOG_KEY_GIVEN" -eq 1 ]; then
    if [ "$TRUST_PROBLEMS" -eq 0 ] && [ "$CP_STATUS" = valide ]; then
        TRUSTED=1
        info '  confiance : établie (racines --root et clé --log-key fournies et vérifiées)'
    else
        info '  confiance : NON établie (racine, ancre ou clé du journal refusée : voir les ÉCHEC)'
    fi
else
    _why=''
    if [ -z "$ROOTS" ]; then _why='empreintes de racine non fournies'; fi
    if [ "$LOG_KEY_GIVEN" -eq 0 ]; then _why="${_why:+$_why, }clé du journal non fournie"; fi
    info "  confiance : NON établie ($_why)"
fi
if [ "$FAILURES" -eq 0 ]; then
    if [ "$TRUSTED" -eq 1 ]; then
        info 'RÉSULTAT : paquet vérifié'
    else
        info 'RÉSULTAT : paquet cohérent, mais confiance NON établie'
    fi
    exit 0
fi
info "RÉSULTAT : ÉCHEC ($FAILURES problème(s))"
exit 1
