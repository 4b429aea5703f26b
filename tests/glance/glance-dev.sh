#!/usr/bin/env bash
# A real Keystone + Glance on 127.0.0.1 for imgtool's integration tests.
#
#   tests/glance/glance-dev.sh start    install (idempotent), configure on first use, start, wait
#   tests/glance/glance-dev.sh stop     stop every service (by recorded PID / process group)
#   tests/glance/glance-dev.sh status   exit 0 when Keystone and both Glances answer
#   tests/glance/glance-dev.sh env      print the env file (source it; see below)
#   tests/glance/glance-dev.sh spare-glance [IMAGE_SIZE_CAP]
#                                       one more Glance API process on the same
#                                       database and store, on a free port, with
#                                       its own image_size_cap if given; prints
#                                       "PID PORT" (tests kill it mid-upload, or
#                                       hit its cap; stop also stops it)
#   tests/glance/glance-dev.sh break-store NAME [two]
#                                       make store NAME of the main Glance (of
#                                       glance-two with "two") fail: its
#                                       directory becomes a regular file, so
#                                       every write to it fails (we run as
#                                       root: permissions would not stop us).
#                                       Idempotent. Only while tests that use
#                                       that store cannot run at the same time.
#   tests/glance/glance-dev.sh mend-store NAME [two]
#                                       give it back an empty directory
#
# Layout. The main Glance (RegionOne, IMGTOOL_GLANCE_PORT) has three file
# stores, fast (the default), slow and cold, in $D/glance/images/NAME/. A
# second Glance, "glance-two" (IMGTOOL_GLANCE_TWO_PORT, 9295), is region
# RegionTwo of the same Keystone with its own database and stores (east, the
# default, and west, in $D/glance-two/images/NAME/) and the image_conversion
# import plugin (glance-direct and web-download imports end as raw). A static
# web server (IMGTOOL_GLANCE_WEB_PORT, 9380) serves $D/web for web-download
# imports; both Glances allow 127.0.0.1 on that port ([import_filtering_opts]).
#
# State (git-ignored): $IMGTOOL_GLANCE_STATE, default tests/glance/.state/. It
# holds the sqlite databases (WAL mode: Keystone's default rollback journal
# leaks a read lock and answers 500 "database is locked"), fernet keys, logs,
# PIDs, clouds.yaml and `env`. A restart of an existing state re-uses all of it
# (about 5 s). Ports: IMGTOOL_KEYSTONE_PORT (5000), IMGTOOL_GLANCE_PORT (9292),
# IMGTOOL_GLANCE_TWO_PORT (9295); a state made for other ports, or with an
# older layout (see kLayout), is rebuilt (about 40-60 s).
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
G2PORT=${IMGTOOL_GLANCE_TWO_PORT:-9295}
G2URL=http://127.0.0.1:$G2PORT
WPORT=${IMGTOOL_GLANCE_WEB_PORT:-9380}
WURL=http://127.0.0.1:$WPORT
STORES="fast slow cold"
TWO_STORES="east west"
# The state's layout: bumped whenever configure() makes something an older
# state lacks (2: multi-store, glance-two, RegionTwo), so that state is rebuilt.
kLayout=2
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
    die "127.0.0.1:$1 is already in use (another clone's glance-dev.sh?): stop it, or choose other ports with IMGTOOL_KEYSTONE_PORT, IMGTOOL_GLANCE_PORT, IMGTOOL_KEYSTONE_SHORT_PORT, IMGTOOL_KEYSTONE_TLS_PORT, IMGTOOL_GLANCE_TLS_PORT, IMGTOOL_GLANCE_TWO_PORT, IMGTOOL_GLANCE_WEB_PORT"
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
  sed -e "s|@STATE@|$D|g" -e "s|@KEYSTONE_PORT@|$KPORT|g" -e "s|@GLANCE_PORT@|$GPORT|g" \
    -e "s|@GLANCE_TWO_PORT@|$G2PORT|g" -e "s|@WEB_PORT@|$WPORT|g" "$1" >"$2"
}

render_all() {
  render "$here/templates/keystone.conf.in" "$D/keystone/keystone.conf"
  render "$here/templates/glance-api.conf.in" "$D/glance/glance-api.conf"
  render "$here/templates/glance-two-api.conf.in" "$D/glance-two/glance-api.conf"
  cp "$here/templates/glance-api-paste.ini" "$D/glance/glance-api-paste.ini"
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

# start_X launches X unless it runs already (no wait: the services start in
# parallel, which is most of a start's time); wait_X waits for its answer.
start_keystone() {
  alive keystone && return 0
  need_free_port "$KPORT"
  launch_keystone keystone "$D/keystone/keystone.conf" "$KPORT"
}
wait_keystone() {
  wait_http "$KURL/v3" 200 60 || die "Keystone did not answer on $KURL/v3 within 60 s (see $D/log/keystone.out)"
}

start_glance() {
  alive glance && return 0
  need_free_port "$GPORT"
  launch_glance glance "$D/glance/glance-api.conf"
}
wait_glance() {
  wait_http "$GURL/healthcheck" 200 60 || die "Glance did not answer on $GURL/healthcheck within 60 s (see $D/log/glance.out)"
}

start_glance_two() {
  alive glance-two && return 0
  need_free_port "$G2PORT"
  launch_glance glance-two "$D/glance-two/glance-api.conf"
}
wait_glance_two() {
  wait_http "$G2URL/healthcheck" 200 60 ||
    die "glance-two did not answer on $G2URL/healthcheck within 60 s (see $D/log/glance-two.out)"
}

# The static web server web-download imports fetch from ($D/web).
start_web() {
  alive web && return 0
  need_free_port "$WPORT"
  mkdir -p "$D/web"
  setsid $PY -m http.server --bind 127.0.0.1 "$WPORT" --directory "$D/web" >>"$D/log/web.out" 2>&1 </dev/null &
  echo $! >"$D/run/web.pid"
}
wait_web() {
  wait_http "$WURL/" 200 30 || die "the web server did not answer on $WURL/ within 30 s (see $D/log/web.out)"
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

make_dirs() {
  mkdir -p "$D"/keystone "$D"/glance/staging "$D"/glance/tasks "$D"/glance-two/staging "$D"/glance-two/tasks \
    "$D"/log "$D"/run "$D"/web
  # A store a test broke (break-store) and never mended is mended here: a
  # Glance does not start with a regular file for a store directory.
  local s
  for s in $STORES; do mend_dir "$D/glance/images/$s"; done
  for s in $TWO_STORES; do mend_dir "$D/glance-two/images/$s"; done
}
mend_dir() { [ -d "$1" ] || { rm -f "$1"; mkdir -p "$1"; }; }

# glance-manage db_sync of one Glance, WAL mode (run in the background).
glance_db() {
  glance_py glance.cmd.manage glance-manage --config-file "$1/glance-api.conf" db_sync >>"$D/log/setup-$2.log" 2>&1
  wal "$1/glance.sqlite"
}

configure() {
  log "configuring a new state in $D"
  rm -rf "$D"
  make_dirs
  render_all
  # Both Glance databases are made while Keystone's is (a few seconds each).
  glance_db "$D/glance" glance &
  local g1=$!
  glance_db "$D/glance-two" glance-two &
  local g2=$!
  local K=(keystone-manage --config-file "$D/keystone/keystone.conf")
  # The key repositories need no database: made while it is.
  ("${K[@]}" fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)" &&
    "${K[@]}" credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)") >>"$D/log/setup-keys.log" 2>&1 &
  local keys=$!
  "${K[@]}" db_sync >>"$D/log/setup.log" 2>&1
  wal "$D/keystone/keystone.sqlite"
  wait "$keys" || die "keystone-manage fernet_setup/credential_setup failed (see $D/log/setup-keys.log)"
  "${K[@]}" bootstrap --bootstrap-password "$ADMIN_PASS" --bootstrap-username admin \
    --bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-service-name keystone \
    --bootstrap-region-id RegionOne --bootstrap-admin-url "$KURL/v3" \
    --bootstrap-internal-url "$KURL/v3" --bootstrap-public-url "$KURL/v3" >>"$D/log/setup.log" 2>&1
  wait "$g1" || die "glance-manage db_sync failed (see $D/log/setup-glance.log)"
  wait "$g2" || die "glance-manage db_sync of glance-two failed (see $D/log/setup-glance-two.log)"
  # Everything starts now; the Glances need Keystone only to answer requests,
  # so they come up while the catalog below is written.
  start_keystone
  start_glance
  start_glance_two
  start_keystone_short
  start_web
  wait_keystone
  (
    admin_env
    # One openstackclient process reads all the commands from stdin (its
    # interactive mode): one start-up and one token instead of one each
    # (~2-4 s apiece). It goes on after a failed command and exits 0, so
    # check_authenticated verifies the catalog, and the application
    # credential below the demo user. RegionTwo has Keystone too:
    # glance-two's keystonemiddleware looks it up in its own region.
    openstack <<EOF
service create --name glance image
endpoint create --region RegionOne image public $GURL
region create RegionTwo
endpoint create --region RegionTwo image public $G2URL
endpoint create --region RegionTwo identity public $KURL/v3
endpoint create --region RegionTwo identity internal $KURL/v3
region create RegionTLS
endpoint create --region RegionTLS identity public https://127.0.0.1:$KTPORT/v3
endpoint create --region RegionTLS image public https://127.0.0.1:$GTPORT
project create --domain Default service
user create --domain Default --password $GLANCE_PASS glance
role add --project service --user glance admin
project create --domain Default demo
user create --domain Default --password $DEMO_PASS demo
role add --project demo --user demo member
EOF
    echo "$KTPORT $GTPORT" >"$D/tls-region"
    set -x
    export OS_USERNAME=demo OS_PASSWORD=$DEMO_PASS OS_PROJECT_NAME=demo
    openstack application credential create --secret "$AC_SECRET" -f value -c id demo-ac >"$D/demo-ac.id"
  ) >>"$D/log/setup.log" 2>&1 || die "catalog/users setup failed (see $D/log/setup.log)"
  marker >"$D/configured"
}

# What "configured" holds: what the state was made for.
marker() { echo "$KPORT $GPORT $G2PORT layout$kLayout"; }

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
  glance-dev-admin-two:
    auth:
      auth_url: $KURL/v3
      username: admin
      password: $ADMIN_PASS
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionTwo
    interface: public
    identity_api_version: 3
  glance-dev-demo-two:
    auth:
      auth_url: $KURL/v3
      username: demo
      password: $DEMO_PASS
      project_name: demo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionTwo
    identity_api_version: 3
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
export IMGTOOL_GLANCE_STORES='$STORES'
export IMGTOOL_GLANCE_TWO_URL='$G2URL'
export IMGTOOL_GLANCE_TWO_REGION='RegionTwo'
export IMGTOOL_GLANCE_TWO_STORES='$TWO_STORES'
export IMGTOOL_GLANCE_WEB_DIR='$D/web'
export IMGTOOL_GLANCE_WEB_URL='$WURL'
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
  tok=$(curl -s -D - -o "$D/run/token.json" --max-time 20 -H 'Content-Type: application/json' \
    -d "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"},\"password\":\"$ADMIN_PASS\"}}},\"scope\":{\"project\":{\"name\":\"admin\",\"domain\":{\"name\":\"Default\"}}}}}" \
    "$KURL/v3/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
  [ -n "$tok" ] || die "Keystone gave no token to admin"
  # The endpoints the set-up made (its openstack batch does not stop at errors).
  $PY - "$D/run/token.json" "RegionOne image $GURL" "RegionTwo image $G2URL" "RegionTwo identity $KURL/v3" <<'PYEOF' ||
import json, sys
cat = json.load(open(sys.argv[1]))["token"]["catalog"]
have = {(e["region_id"], s["type"], e["url"]) for s in cat for e in s["endpoints"] if e["interface"] == "public"}
missing = [w for w in sys.argv[2:] if tuple(w.split()) not in have]
if missing:
    sys.exit("missing from the catalog: " + ", ".join(missing))
PYEOF
    die "the Keystone catalog lacks endpoints (see $D/log/setup.log; remove $D/configured to rebuild the state)"
  rm -f "$D/run/token.json"
  wait_http "$GURL/v2/images" 200 30 -H "X-Auth-Token: $tok" || die "authenticated GET $GURL/v2/images failed"
  wait_http "$G2URL/v2/images" 200 30 -H "X-Auth-Token: $tok" || die "authenticated GET $G2URL/v2/images failed"
}

# store_dir NAME [two]: the directory of that store; dies on an unknown name.
store_dir() {
  local name=$1 which=${2:-} list=$STORES base=$D/glance/images
  if [ "$which" = two ]; then
    list=$TWO_STORES
    base=$D/glance-two/images
  elif [ -n "$which" ]; then
    die "the second argument is 'two' (glance-two) or nothing (the main Glance), not '$which'"
  fi
  case " $list " in *" $name "*) ;; *) die "no store '$name' (stores: $list)" ;; esac
  echo "$base/$name"
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
    t0=$SECONDS
    if [ ! -f "$D/configured" ] || [ "$(cat "$D/configured")" != "$(marker)" ]; then
      [ -d "$D/run" ] && for n in web stunnel glance-two glance keystone-short keystone; do stop_one $n; done
      configure
    else
      make_dirs
      render_all
      start_keystone
      start_glance
      start_glance_two
      start_keystone_short
      start_web
      wait_keystone
    fi
    wait_glance
    wait_glance_two
    wait_web
    check_authenticated
    wait_keystone_short
    # The TLS tests fail without this front (they never skip).
    have_tls || die "stunnel4/openssl missing: no TLS front (run scripts/deps.sh test)"
    start_tls
    write_env
    log "Keystone $KURL/v3, Glance $GURL, glance-two $G2URL and $WURL are up after $((SECONDS - t0)) s; env: $D/env"
    ;;
  break-store)
    [ $# -ge 2 ] || die "usage: $0 break-store NAME [two]"
    dir=$(store_dir "$2" "${3:-}")
    if [ ! -f "$dir" ]; then
      rm -rf "$dir"
      echo "this store is broken on purpose by glance-dev.sh break-store" >"$dir"
    fi
    ;;
  mend-store)
    [ $# -ge 2 ] || die "usage: $0 mend-store NAME [two]"
    mend_dir "$(store_dir "$2" "${3:-}")"
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
    for n in web stunnel glance-two glance keystone-short keystone; do stop_one $n; done
    ;;
  status)
    alive keystone && alive glance && alive glance-two && wait_http "$KURL/v3" 200 1 &&
      wait_http "$GURL/healthcheck" 200 1 && wait_http "$G2URL/healthcheck" 200 1 ||
      { echo "not running"; exit 1; }
    echo "running: Keystone $KURL/v3 (pid $(cat "$D/run/keystone.pid")), Glance $GURL (pid $(cat "$D/run/glance.pid")), glance-two $G2URL (pid $(cat "$D/run/glance-two.pid"))"
    ;;
  env)
    [ -f "$D/env" ] || die "no env yet: run '$0 start' first"
    cat "$D/env"
    ;;
  *)
    echo "usage: $0 {start|stop|status|env|spare-glance|break-store|mend-store}" >&2
    exit 64
    ;;
esac
