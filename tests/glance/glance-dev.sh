#!/usr/bin/env bash
# A real Keystone + Glance on 127.0.0.1 for imgtool's integration tests.
#
#   tests/glance/glance-dev.sh start    install (idempotent), configure on first use, start, wait
#   tests/glance/glance-dev.sh stop     stop both services (by recorded PID / process group)
#   tests/glance/glance-dev.sh status   exit 0 when both answer
#   tests/glance/glance-dev.sh env      print the env file (source it; see below)
#   tests/glance/glance-dev.sh spare-glance [IMAGE_SIZE_CAP]
#                                       one more Glance API process on the same
#                                       database and store, on a free port, with
#                                       its own image_size_cap if given; prints
#                                       "PID PORT" (tests kill it mid-upload, or
#                                       hit its cap; stop also stops it)
#
# State (git-ignored): $IMGTOOL_GLANCE_STATE, default tests/glance/.state/. It
# holds the sqlite databases (WAL mode: Keystone's default rollback journal
# leaks a read lock and answers 500 "database is locked"), fernet keys, logs,
# PIDs, clouds.yaml and `env`. A restart of an existing state re-uses all of it
# (about 5 s). Ports: IMGTOOL_KEYSTONE_PORT (5000), IMGTOOL_GLANCE_PORT (9292);
# a state made for other ports is rebuilt.
#
# Two more fronts on the same databases and keys, for the tests that need them:
# - a second Keystone process (IMGTOOL_KEYSTONE_SHORT_PORT, 5001) whose tokens
#   live IMGTOOL_SHORT_TOKEN_SECONDS (20 s): token re-authentication during a
#   long upload, against the real Glance (fernet tokens validate anywhere);
# - TLS: stunnel with a self-signed certificate for 127.0.0.1 in front of
#   Keystone (IMGTOOL_KEYSTONE_TLS_PORT, 5443) and Glance
#   (IMGTOOL_GLANCE_TLS_PORT, 9443), and a region "RegionTLS" whose image
#   endpoint is https (docs/publish.md, "Tests").
#
# Users: admin/admin-dev-pass (project admin), glance/glance-dev-pass (service),
# demo/demo-dev-pass (project demo, role member) and demo's application
# credential "demo-ac" with the secret demo-ac-dev-secret. The env file defines
# IMGTOOL_GLANCE_* variables and the shell functions glance_admin, glance_demo
# and glance_demo_ac, which export the OS_* variables openstackclient uses.
# Everything listens on 127.0.0.1 only. Python: /usr/bin/python3 (the python3
# on PATH may lack these modules).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
D=${IMGTOOL_GLANCE_STATE:-$here/.state}
KPORT=${IMGTOOL_KEYSTONE_PORT:-5000}
GPORT=${IMGTOOL_GLANCE_PORT:-9292}
PY=/usr/bin/python3
KURL=http://127.0.0.1:$KPORT
GURL=http://127.0.0.1:$GPORT
KSPORT=${IMGTOOL_KEYSTONE_SHORT_PORT:-5001}
KSURL=http://127.0.0.1:$KSPORT
SHORT_SECS=${IMGTOOL_SHORT_TOKEN_SECONDS:-20}
KTPORT=${IMGTOOL_KEYSTONE_TLS_PORT:-5443}
GTPORT=${IMGTOOL_GLANCE_TLS_PORT:-9443}
ADMIN_PASS=admin-dev-pass
GLANCE_PASS=glance-dev-pass
DEMO_PASS=demo-dev-pass
AC_SECRET=demo-ac-dev-secret

log() { echo "glance-dev: $*" >&2; }
die() { log "$*"; exit 1; }

install_deps() {
  local missing=()
  for p in python3-keystone python3-glance python3-openstackclient python3-glanceclient qemu-utils curl \
    stunnel4 openssl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  local SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null
}

alive() { [ -f "$D/run/$1.pid" ] && kill -0 "$(cat "$D/run/$1.pid")" 2>/dev/null; }

# Before launching on PORT: nothing may listen there yet. Otherwise the launch
# fails, the wait below gets its answer from that other process (another
# clone's glance-dev.sh, say), and the setup would write users and endpoints
# into that other Keystone.
need_free_port() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "127.0.0.1:$1 is already in use (another clone's glance-dev.sh?): stop it, or choose other ports with IMGTOOL_KEYSTONE_PORT, IMGTOOL_GLANCE_PORT, IMGTOOL_KEYSTONE_SHORT_PORT, IMGTOOL_KEYSTONE_TLS_PORT, IMGTOOL_GLANCE_TLS_PORT"
  fi
}

# wait_http URL EXPECTED_CODE SECONDS [curl args...]
wait_http() {
  local url=$1 want=$2 secs=$3 code
  shift 3
  for _ in $(seq 1 $((secs * 5))); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url" || true)
    [ "$code" = "$want" ] && return 0
    sleep 0.2
  done
  return 1
}

render() {  # render TEMPLATE OUT
  sed -e "s|@STATE@|$D|g" -e "s|@KEYSTONE_PORT@|$KPORT|g" -e "s|@GLANCE_PORT@|$GPORT|g" "$1" >"$2"
}

wal() { $PY -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=WAL"); c.close()' "$1"; }

admin_env() {
  export OS_AUTH_URL=$KURL/v3 OS_IDENTITY_API_VERSION=3 OS_USERNAME=admin OS_PASSWORD=$ADMIN_PASS \
    OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default \
    OS_REGION_NAME=RegionOne OS_INTERFACE=public
  unset OS_CLOUD OS_AUTH_TYPE OS_TOKEN OS_APPLICATION_CREDENTIAL_ID OS_APPLICATION_CREDENTIAL_SECRET || true
}

glance_py() {  # glance_py MODULE ARGS... (python3-glance ships no /usr/bin entry points)
  local mod=$1 name=$2
  shift 2
  $PY -c "import sys; from $mod import main; sys.argv[0]='$name'; sys.exit(main())" "$@"
}

# launch_keystone NAME CONF PORT / launch_glance NAME CONF: start the service
# in its own process group (stop_one signals the group), record its PID in
# run/NAME.pid, log to log/NAME.out. They do not wait.
launch_keystone() {
  OS_KEYSTONE_CONFIG_FILES=$2 setsid keystone-wsgi-public --host 127.0.0.1 --port "$3" \
    >>"$D/log/$1.out" 2>&1 </dev/null &
  echo $! >"$D/run/$1.pid"
}
launch_glance() {
  setsid $PY -c 'import sys; from glance.cmd.api import main; sys.argv[0]="glance-api"; sys.exit(main())' \
    --config-file "$2" >>"$D/log/$1.out" 2>&1 </dev/null &
  echo $! >"$D/run/$1.pid"
}

start_keystone() {
  alive keystone && return 0
  need_free_port "$KPORT"
  launch_keystone keystone "$D/keystone/keystone.conf" "$KPORT"
  wait_http "$KURL/v3" 200 60 || die "Keystone did not answer on $KURL/v3 within 60 s (see $D/log/keystone.out)"
}

start_glance() {
  alive glance && return 0
  need_free_port "$GPORT"
  launch_glance glance "$D/glance/glance-api.conf"
  wait_http "$GURL/healthcheck" 200 60 || die "Glance did not answer on $GURL/healthcheck within 60 s (see $D/log/glance.out)"
}

# The same Keystone with short-lived tokens (see the header); started in the
# background, waited for in wait_keystone_short.
start_keystone_short() {
  alive keystone-short && return 0
  need_free_port "$KSPORT"
  sed -e "s|^expiration = .*|expiration = $SHORT_SECS|" -e "s|/log/keystone.log|/log/keystone-short.log|" \
    "$D/keystone/keystone.conf" >"$D/keystone/keystone-short.conf"
  launch_keystone keystone-short "$D/keystone/keystone-short.conf" "$KSPORT"
}
wait_keystone_short() {
  wait_http "$KSURL/v3" 200 60 ||
    die "the short-token Keystone did not answer on $KSURL/v3 within 60 s (see $D/log/keystone-short.out)"
}

have_tls() { command -v stunnel4 >/dev/null && command -v openssl >/dev/null; }

# stunnel in front of both services, with a certificate made once per state.
start_tls() {
  alive stunnel && return 0
  need_free_port "$KTPORT"
  need_free_port "$GTPORT"
  mkdir -p "$D/tls"
  if [ ! -s "$D/tls/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$D/tls/key.pem" -out "$D/tls/cert.pem" -days 3650 \
      -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >>"$D/log/setup.log" 2>&1 ||
      die "openssl could not make the test certificate (see $D/log/setup.log)"
  fi
  printf '%s\n' "foreground = yes" "pid =" "output = $D/log/stunnel.log" \
    "[keystone-tls]" "accept = 127.0.0.1:$KTPORT" "connect = 127.0.0.1:$KPORT" \
    "cert = $D/tls/cert.pem" "key = $D/tls/key.pem" \
    "[glance-tls]" "accept = 127.0.0.1:$GTPORT" "connect = 127.0.0.1:$GPORT" \
    "cert = $D/tls/cert.pem" "key = $D/tls/key.pem" >"$D/tls/stunnel.conf"
  setsid stunnel4 "$D/tls/stunnel.conf" >>"$D/log/stunnel.out" 2>&1 </dev/null &
  echo $! >"$D/run/stunnel.pid"
  wait_http "https://127.0.0.1:$KTPORT/v3" 200 30 --cacert "$D/tls/cert.pem" ||
    die "stunnel did not serve https://127.0.0.1:$KTPORT/v3 within 30 s (see $D/log/stunnel.log)"
  # The https endpoints live in their own region (once per state and ports).
  if [ "$(cat "$D/tls-region" 2>/dev/null)" != "$KTPORT $GTPORT" ]; then
    (
      admin_env
      set -x
      openstack region show RegionTLS >/dev/null 2>&1 || openstack region create RegionTLS
      for id in $(openstack endpoint list --region RegionTLS -f value -c ID); do openstack endpoint delete "$id"; done
      openstack endpoint create --region RegionTLS identity public "https://127.0.0.1:$KTPORT/v3"
      openstack endpoint create --region RegionTLS image public "https://127.0.0.1:$GTPORT"
    ) >>"$D/log/setup.log" 2>&1 || die "RegionTLS setup failed (see $D/log/setup.log)"
    echo "$KTPORT $GTPORT" >"$D/tls-region"
  fi
}

configure() {
  log "configuring a new state in $D"
  rm -rf "$D"
  mkdir -p "$D"/keystone "$D"/glance/images "$D"/glance/staging "$D"/glance/tasks "$D"/log "$D"/run
  render "$here/templates/keystone.conf.in" "$D/keystone/keystone.conf"
  render "$here/templates/glance-api.conf.in" "$D/glance/glance-api.conf"
  cp "$here/templates/glance-api-paste.ini" "$D/glance/glance-api-paste.ini"
  local K=(keystone-manage --config-file "$D/keystone/keystone.conf")
  "${K[@]}" db_sync >>"$D/log/setup.log" 2>&1
  wal "$D/keystone/keystone.sqlite"
  "${K[@]}" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >>"$D/log/setup.log" 2>&1
  "${K[@]}" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" >>"$D/log/setup.log" 2>&1
  "${K[@]}" bootstrap --bootstrap-password "$ADMIN_PASS" --bootstrap-username admin \
    --bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-service-name keystone \
    --bootstrap-region-id RegionOne --bootstrap-admin-url "$KURL/v3" \
    --bootstrap-internal-url "$KURL/v3" --bootstrap-public-url "$KURL/v3" >>"$D/log/setup.log" 2>&1
  glance_py glance.cmd.manage glance-manage --config-file "$D/glance/glance-api.conf" db_sync >>"$D/log/setup.log" 2>&1
  wal "$D/glance/glance.sqlite"
  start_keystone
  (
    admin_env
    set -x
    openstack service create --name glance image
    openstack endpoint create --region RegionOne image public "$GURL"
    openstack project create --domain Default service
    openstack user create --domain Default --password "$GLANCE_PASS" glance
    openstack role add --project service --user glance admin
    openstack project create --domain Default demo
    openstack user create --domain Default --password "$DEMO_PASS" demo
    openstack role add --project demo --user demo member
    export OS_USERNAME=demo OS_PASSWORD=$DEMO_PASS OS_PROJECT_NAME=demo
    openstack application credential create --secret "$AC_SECRET" -f value -c id demo-ac >"$D/demo-ac.id"
  ) >>"$D/log/setup.log" 2>&1 || die "catalog/users setup failed (see $D/log/setup.log)"
  echo "$KPORT $GPORT" >"$D/configured"
}

write_env() {
  local ac tls_env=""
  if alive stunnel; then
    tls_env="export IMGTOOL_GLANCE_TLS_KEYSTONE_URL='https://127.0.0.1:$KTPORT/v3'
export IMGTOOL_GLANCE_TLS_REGION='RegionTLS'
export IMGTOOL_GLANCE_TLS_CACERT='$D/tls/cert.pem'
"
  fi
  ac=$(cat "$D/demo-ac.id")
  cat >"$D/clouds.yaml" <<EOF
# Written by tests/glance/glance-dev.sh: the local test cloud.
clouds:
  glance-dev-admin:
    auth:
      auth_url: $KURL/v3
      username: admin
      password: $ADMIN_PASS
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    interface: public
    identity_api_version: 3
  glance-dev-demo:
    auth:
      auth_url: $KURL/v3
      username: demo
      password: $DEMO_PASS
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
  glance-dev-demo-ac:
    auth_type: v3applicationcredential
    auth:
      auth_url: $KURL/v3
      application_credential_id: $ac
      application_credential_secret: $AC_SECRET
    region_name: RegionOne
EOF
  # One `export NAME='value'` per line (tests parse exactly this form), then
  # the functions for shells.
  cat >"$D/env" <<EOF
# Written by tests/glance/glance-dev.sh. Source it, then call glance_admin,
# glance_demo or glance_demo_ac to get the OS_* variables of that identity.
export IMGTOOL_GLANCE_STATE='$D'
export IMGTOOL_GLANCE_KEYSTONE_URL='$KURL/v3'
export IMGTOOL_GLANCE_URL='$GURL'
export IMGTOOL_GLANCE_REGION='RegionOne'
export IMGTOOL_GLANCE_CLOUDS_YAML='$D/clouds.yaml'
export IMGTOOL_GLANCE_ADMIN_USERNAME='admin'
export IMGTOOL_GLANCE_ADMIN_PASSWORD='$ADMIN_PASS'
export IMGTOOL_GLANCE_ADMIN_PROJECT='admin'
export IMGTOOL_GLANCE_DEMO_USERNAME='demo'
export IMGTOOL_GLANCE_DEMO_PASSWORD='$DEMO_PASS'
export IMGTOOL_GLANCE_DEMO_PROJECT='demo'
export IMGTOOL_GLANCE_DEMO_AC_ID='$ac'
export IMGTOOL_GLANCE_DEMO_AC_SECRET='$AC_SECRET'
export IMGTOOL_GLANCE_SHORT_KEYSTONE_URL='$KSURL/v3'
export IMGTOOL_GLANCE_SHORT_TOKEN_SECONDS='$SHORT_SECS'
${tls_env}_glance_clear() {
  unset OS_CLOUD OS_AUTH_TYPE OS_TOKEN OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_PROJECT_ID \\
    OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME OS_APPLICATION_CREDENTIAL_ID OS_APPLICATION_CREDENTIAL_SECRET
}
_glance_user() {
  _glance_clear
  export OS_AUTH_URL='$KURL/v3' OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne OS_INTERFACE=public
  export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_USERNAME="\$1" OS_PASSWORD="\$2" OS_PROJECT_NAME="\$3"
}
glance_admin() { _glance_user admin '$ADMIN_PASS' admin; }
glance_demo() { _glance_user demo '$DEMO_PASS' demo; }
glance_demo_ac() {
  _glance_clear
  export OS_AUTH_URL='$KURL/v3' OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne OS_INTERFACE=public
  export OS_AUTH_TYPE=v3applicationcredential OS_APPLICATION_CREDENTIAL_ID='$ac' OS_APPLICATION_CREDENTIAL_SECRET='$AC_SECRET'
}
EOF
}

check_authenticated() {
  local tok
  tok=$(curl -s -D - -o /dev/null --max-time 20 -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$ADMIN_PASS\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" \
    "$KURL/v3/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
  [ -n "$tok" ] || die "Keystone gave no token to admin"
  wait_http "$GURL/v2/images" 200 30 -H "X-Auth-Token: $tok" || die "authenticated GET $GURL/v2/images failed"
}

stop_one() {
  local name=$1 pid
  [ -f "$D/run/$name.pid" ] || return 0
  pid=$(cat "$D/run/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    # setsid made the service a process-group leader: signal the whole group.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$D/run/$name.pid"
}

cmd=${1:-}
case "$cmd" in
  start)
    command -v curl >/dev/null && [ -x "$(command -v keystone-manage || true)" ] &&
      $PY -c 'import glance, keystone' 2>/dev/null && have_tls || install_deps
    if [ ! -f "$D/configured" ] || [ "$(cat "$D/configured")" != "$KPORT $GPORT" ]; then
      [ -d "$D/run" ] && { stop_one stunnel; stop_one glance; stop_one keystone-short; stop_one keystone; }
      configure
    else
      mkdir -p "$D/run" "$D/log"
      render "$here/templates/keystone.conf.in" "$D/keystone/keystone.conf"
      render "$here/templates/glance-api.conf.in" "$D/glance/glance-api.conf"
      cp "$here/templates/glance-api-paste.ini" "$D/glance/glance-api-paste.ini"
      start_keystone
    fi
    start_keystone_short
    start_glance
    check_authenticated
    wait_keystone_short
    # The TLS tests fail without this front (they never skip).
    have_tls || die "stunnel4/openssl missing: no TLS front (run scripts/deps.sh test)"
    start_tls
    write_env
    log "Keystone $KURL/v3 and Glance $GURL are up; env: $D/env"
    ;;
  spare-glance)
    [ -f "$D/configured" ] || die "no state yet: run '$0 start' first"
    read -r KPORT _ <"$D/configured"
    port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    GPORT=$port render "$here/templates/glance-api.conf.in" /dev/stdout |
      sed -e "s|/log/glance-api.log|/log/glance-api-$port.log|" \
        -e "s|^image_size_cap = .*|image_size_cap = ${2:-1099511627776}|" >"$D/glance/glance-api-$port.conf"
    launch_glance "glance-spare-$port" "$D/glance/glance-api-$port.conf"
    wait_http "http://127.0.0.1:$port/healthcheck" 200 60 ||
      die "spare Glance on port $port did not start (see $D/log/glance-spare-$port.out)"
    echo "$(cat "$D/run/glance-spare-$port.pid") $port"
    ;;
  stop)
    for f in "$D"/run/glance-spare-*.pid; do [ -e "$f" ] && stop_one "$(basename "$f" .pid)"; done
    stop_one stunnel
    stop_one glance
    stop_one keystone-short
    stop_one keystone
    ;;
  status)
    alive keystone && alive glance && wait_http "$KURL/v3" 200 1 && wait_http "$GURL/healthcheck" 200 1 ||
      { echo "not running"; exit 1; }
    echo "running: Keystone $KURL/v3 (pid $(cat "$D/run/keystone.pid")), Glance $GURL (pid $(cat "$D/run/glance.pid"))"
    ;;
  env)
    [ -f "$D/env" ] || die "no env yet: run '$0 start' first"
    cat "$D/env"
    ;;
  *)
    echo "usage: $0 {start|stop|status|env|spare-glance}" >&2
    exit 64
    ;;
esac
