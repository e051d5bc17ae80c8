#!/usr/bin/env bash
# Throwaway servers for the PostgreSQL + S3 test pass, on 127.0.0.1 only:
#   scripts/servers.sh start   install what is missing (Debian packages), start a PostgreSQL
#                              cluster and a single-node Ceph (mon + memstore OSD + radosgw,
#                              S3 with Object Lock), then print the settings as `export` lines
#   scripts/servers.sh stop    stop both (by their pid files) and remove their folders
#   scripts/servers.sh restart stop, then start: a clean slate (locked objects cannot be deleted,
#                              and the OSD refuses writes once full)
# Everything lives under $PLIE_SERVERS_DIR (default /tmp/plie-audit-servers). Ceph's memstore
# keeps objects in RAM (6 GiB at most, taken as objects are written): tests keep S3 objects
# small; one full test run puts well under 1 GiB.
set -euo pipefail

DIR=${PLIE_SERVERS_DIR:-/tmp/plie-audit-servers}
PG_PORT=${PLIE_PG_PORT:-54329}
RGW_PORT=${PLIE_RGW_PORT:-7480}
MON_PORT=${PLIE_MON_PORT:-6789}
ACCESS_KEY=plie-test-access
SECRET_KEY=plie-test-secret
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

log() { echo "servers: $*" >&2; }
# A failing step names itself (set -e alone exits silently with the command's status).
trap 'log "failed (exit $?) at line $LINENO: $BASH_COMMAND; logs in $DIR"' ERR

install_packages() {
  local need=()
  for package in postgresql ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl; do
    dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
  done
  if [ "${#need[@]}" -gt 0 ]; then
    log "installing Debian packages: ${need[*]}"
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
      "${need[@]}" >/dev/null
  fi
}

# -- PostgreSQL --------------------------------------------------------------------------
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  local data="$DIR/pg/data"
  mkdir -p "$DIR/pg"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$DIR/pg"; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$DIR/pg/initdb.log"
  fi
  if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    # Durability settings off: a throwaway test cluster, not an archive.
    as_postgres "$bin/pg_ctl" -D "$data" -l "$DIR/pg/server.log" -w -o \
      "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off \
       -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
  fi
  log "PostgreSQL up on 127.0.0.1:$PG_PORT"
}

stop_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1) || return 0
  [ -f "$DIR/pg/data/PG_VERSION" ] || return 0
  as_postgres "$bin/pg_ctl" -D "$DIR/pg/data" -m immediate stop >/dev/null 2>&1 || true
}

# -- Ceph radosgw ------------------------------------------------------------------------
start_ceph() {
  local c="$DIR/ceph"
  if curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
    log "radosgw already answers on 127.0.0.1:$RGW_PORT"
    return 0
  fi
  stop_ceph
  rm -rf "$c"
  mkdir -p "$c"/{mon,osd,run,log,rgw}
  local fsid
  fsid=$(uuidgen)
  cat >"$c/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$MON_PORT
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr2 = false
run dir = $c/run
admin socket = $c/run/\$name.asok
log file = $c/log/\$name.log
pid file = $c/run/\$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon max pg per osd = 1000
mon data = $c/mon/\$cluster-\$id
osd data = $c/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 6442450944
osd journal size = 0
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $c/rgw
rgw dns name = localhost
EOF
  export CEPH_CONF="$c/ceph.conf"
  ceph-authtool --create-keyring "$c/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$c/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$c/monmap" --keyring "$c/mon.keyring"
  ceph-mon -i a
  # The monitor takes a moment to form its quorum (longer on a machine that has just installed
  # the packages): ask until it answers, each try bounded, rather than fail the whole run.
  local uuid id="" try
  uuid=$(uuidgen)
  for try in $(seq 1 30); do
    if id=$(timeout 20 ceph osd new "$uuid" 2>>"$c/log/osd-new.log"); then break; fi
    id=""
    log "waiting for the Ceph monitor (try $try)"
    sleep 2
  done
  if [ -z "$id" ]; then
    log "the Ceph monitor did not answer (logs in $c/log)"
    exit 3
  fi
  mkdir -p "$c/osd/ceph-$id"
  ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" >>"$c/log/osd-mkfs.log" 2>&1
  ceph-osd -i "$id" >>"$c/log/osd-start.log" 2>&1
  radosgw -n client.rgw.a
  for _ in $(seq 1 90); do
    curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break
    sleep 1
  done
  if ! curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
    log "radosgw did not start (logs in $c/log)"
    exit 3
  fi
  radosgw-admin user create --uid=plie-test --display-name=plie-test \
    --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null
  log "radosgw (S3 with Object Lock) up on 127.0.0.1:$RGW_PORT"
}

stop_ceph() {
  local c="$DIR/ceph" pids="" pid
  for file in "$c"/run/client.rgw.a.pid "$c"/run/osd.*.pid "$c"/run/mon.a.pid; do
    [ -f "$file" ] && pids="$pids $(cat "$file")"
  done
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill $pids 2>/dev/null || true
  for _ in $(seq 1 30); do
    local alive=""
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
    [ -z "$alive" ] && return 0
    sleep 0.5
  done
  # shellcheck disable=SC2086
  kill -9 $alive 2>/dev/null || true
}

settings() {
  cat <<EOF
export PLIE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres
export AWS_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=us-east-1
EOF
}

case "${1:-}" in
  start)
    install_packages
    start_postgres
    start_ceph
    settings
    ;;
  stop)
    stop_ceph
    stop_postgres
    rm -rf "$DIR"
    ;;
  restart)
    stop_ceph
    stop_postgres
    rm -rf "$DIR"
    install_packages
    start_postgres
    start_ceph
    settings
    ;;
  settings)
    settings
    ;;
  *)
    echo "usage: scripts/servers.sh start|stop|restart|settings" >&2
    exit 2
    ;;
esac
