#!/usr/bin/env bash
# The whole test suite, in two passes; installs what it needs itself:
#   1. everything on the embedded default (SQLite + a local folder), both cores;
#   2. the integration suite again on PostgreSQL + S3 with Object Lock (Ceph radosgw), real
#      servers on 127.0.0.1 started by scripts/servers.sh, minus the tests that move the clock
#      or look inside the embedded default's own files (markers timetravel, embedded);
#   3. the demo (scripts/demo.sh), whose every claim is checked: it exits non-zero when one
#      does not hold.
# Extra arguments go to pytest in both passes (e.g. scripts/test.sh -k tamper).
# PLIE_TEST_PASSES=embedded (or scale, or demo) runs one pass only, for a quicker loop while
# developing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
passes=${PLIE_TEST_PASSES:-embedded scale demo}
status=0
for pass in $passes; do
  case "$pass" in
    embedded)
      echo "== pass 1: embedded default (SQLite + local folder)" >&2
      PLIE_TEST_BACKEND=embedded .venv/bin/python -m pytest -n 2 -q "$@" || status=1
      ;;
    scale)
      echo "== pass 2: PostgreSQL + S3 Object Lock (integration suite)" >&2
      settings=$(scripts/servers.sh start)
      eval "$settings"
      export PLIE_TEST_BACKEND=scale PLIE_TEST_S3_BUCKET=plie-tests
      .venv/bin/python -m pytest -n 2 -q tests/integration "$@" || status=1
      ;;
    demo)
      echo "== pass 3: the demo, every claim checked (scripts/demo.sh)" >&2
      DEMO_DIR="${TMPDIR:-/tmp}/plie-audit-demo-$$" scripts/demo.sh >"${TMPDIR:-/tmp}/plie-audit-demo.log" 2>&1 \
        || { tail -40 "${TMPDIR:-/tmp}/plie-audit-demo.log" >&2; echo "error: the demo failed" >&2; status=1; }
      ;;
    *)
      echo "error: unknown pass '$pass' in PLIE_TEST_PASSES (embedded, scale, demo)" >&2
      exit 2
      ;;
  esac
done
exit "$status"
