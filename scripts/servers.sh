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
  local try
  for try in 1 2 3; do
    as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 && break
    # Durability settings off: a throwaway test cluster, not an archive.
    as_postgres "$bin/pg_ctl" -D "$data" -l "$DIR/pg/server.log" -w -t 120 -o \
      "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off \
       -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start \
      >/dev/null 2>&1 && break
    log "PostgreSQL start $try of 3 failed (log: $DIR/pg/server.log)"
    sleep 2
  done
  if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "PostgreSQL did not start (log: $DIR/pg/server.log)"
    exit 3
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
# Starting a one-node Ceph on a fresh, loaded machine is not always clean the first time (an
# OSD has been seen getting "wrong fsid" from a monitor still forming its quorum). Each daemon
# is started only once the one before answers, each wait is bounded, and a failed bring-up is
# torn down and tried again from scratch (CEPH_TRIES times), so the test command passes
# first time.
CEPH_TRIES=${PLIE_CEPH_TRIES:-3}

start_ceph() {
  if curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"; then
    log "radosgw already answers on 127.0.0.1:$RGW_PORT"
    return 0
  fi
  local try
  for try in $(seq 1 "$CEPH_TRIES"); do
    if start_ceph_once; then
      log "radosgw (S3 with Object Lock) up on 127.0.0.1:$RGW_PORT"
      return 0
    fi
    log "Ceph bring-up $try of $CEPH_TRIES failed (logs kept in $DIR/ceph-failed-$try)"
    stop_ceph
    rm -rf "$DIR/ceph-failed-$try"
    mv "$DIR/ceph" "$DIR/ceph-failed-$try" 2>/dev/null || true
  done
  log "Ceph did not come up after $CEPH_TRIES tries (logs in $DIR/ceph-failed-*)"
  exit 3
}

# wait_for SECONDS WHAT COMMAND...: run COMMAND every second until it succeeds.
wait_for() {
  local seconds=$1 what=$2 waited
  shift 2
  for waited in $(seq 1 "$seconds"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [ $((waited % 10)) -eq 0 ]; then log "waiting for $what (${waited}s)"; fi
    sleep 1
  done
  log "$what: not ready after ${seconds}s"
  return 1
}

mon_in_quorum() {
  timeout 10 ceph quorum_status -f json 2>/dev/null | grep -q '"quorum_names":\["a"\]'
}

osd_up() {
  timeout 10 ceph osd stat -f json 2>/dev/null | grep -Eq '"num_up_osds":1[,}]'
}

rgw_answers() {
  curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/"
}

# One bring-up; returns non-zero (never exits) so that start_ceph can try again. Called in an
# `if`, where `set -e` does not apply: every step says `|| return 1` itself.
start_ceph_once() {
  local c="$DIR/ceph"
  [ -n "$DIR" ] || return 1
  stop_ceph
  rm -rf "$c"
  mkdir -p "$c"/{mon,osd,run,log,rgw} || return 1
  local fsid
  fsid=$(uuidgen) || return 1
  write_ceph_conf "$c" "$fsid" || return 1
  export CEPH_CONF="$c/ceph.conf"
  ceph-authtool --create-keyring "$c/mon.keyring" --gen-key -n mon. --cap mon 'allow *' \
    >/dev/null || return 1
  monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$MON_PORT]" "$c/monmap" \
    >/dev/null || return 1
  ceph-mon --mkfs -i a --monmap "$c/monmap" --keyring "$c/mon.keyring" \
    >>"$c/log/mon-mkfs.log" 2>&1 || return 1
  ceph-mon -i a >>"$c/log/mon-start.log" 2>&1 || return 1
  # The monitor must have formed its quorum before an OSD asks it for the map.
  wait_for 90 "the Ceph monitor's quorum" mon_in_quorum || return 1
  local uuid id
  uuid=$(uuidgen) || return 1
  id=$(timeout 30 ceph osd new "$uuid" 2>>"$c/log/osd-new.log") || return 1
  [ -n "$id" ] || return 1
  mkdir -p "$c/osd/ceph-$id" || return 1
  ceph-osd -i "$id" --mkfs --osd-uuid "$uuid" >>"$c/log/osd-mkfs.log" 2>&1 || return 1
  ceph-osd -i "$id" >>"$c/log/osd-start.log" 2>&1 || return 1
  wait_for 90 "the Ceph OSD" osd_up || return 1
  radosgw -n client.rgw.a >>"$c/log/rgw-start.log" 2>&1 || return 1
  wait_for 120 "radosgw" rgw_answers || return 1
  radosgw-admin user create --uid=plie-test --display-name=plie-test \
    --access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null 2>>"$c/log/rgw-user.log" \
    || return 1
}

write_ceph_conf() {
  local c=$1 fsid=$2
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
