#!/usr/bin/env bash
# Install what plie-audit needs on a Debian machine with Python >= 3.11:
# Debian packages (openssl, python3-venv when venv is missing), a virtualenv in .venv,
# and the package with its test tools. Safe to run again: it only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: plie-audit needs Python 3.11 or newer ($PY is $("$PY" -V 2>&1))" >&2
  exit 3
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# Debian packages the project and its tests use: the real openssl (signature checks, the
# test TSA), pango and fonts for weasyprint's French PDFs, poppler-utils (pdftotext, pdfsig)
# to read and check them, faketime for the CLI walk through time; dash, busybox and unzip to
# run a pack's verify.sh as auditors do (POSIX shells and awks, zipped packs); groff-base to
# check the generated man pages (docs/man/); libxml2-utils (xmllint) to validate the SEDA 2.2
# messages as archives services do.
need=()
for package in openssl libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
               poppler-utils faketime dash busybox unzip groff-base libxml2-utils; do
  dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
done
"$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=("python3-venv")
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}" >&2
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PY" -m venv .venv
fi
# Re-install only when pyproject.toml changed since the last successful setup.
stamp=.venv/.plie-audit-setup
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv (log: .venv/setup.log)" >&2
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install --disable-pip-version-check -e '.[test]'; } \
       >.venv/setup.log 2>&1; then
    tail -30 .venv/setup.log >&2
    echo "error: pip install failed (full log: .venv/setup.log)" >&2
    exit 3
  fi
  echo "$want" > "$stamp"
fi
echo "setup: ready ($(.venv/bin/plie-audit --version))" >&2
