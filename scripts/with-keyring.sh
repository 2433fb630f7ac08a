#!/usr/bin/env bash
# Run a command with a real, unlocked Secret Service on a private session bus.
#
#   scripts/with-keyring.sh CMD [ARGS...]
#
# Starts a private dbus-daemon (own config, no <servicedir>, so nothing is ever
# auto-started) and `gnome-keyring-daemon --foreground --unlock
# --components=secrets`, each with a throwaway HOME / XDG_* inside a temp dir,
# waits until org.freedesktop.secrets is owned on the bus, checks with
# secret-tool that a store/lookup/clear round trip works, then runs CMD with
# DBUS_SESSION_BUS_ADDRESS and CRED_TEST_KEYRING=1 exported. The daemons are
# stopped by PID (never by name) and the temp dir is removed on exit, whatever
# happens. Exits with CMD's exit code, 75 if CMD failed and the keyring daemon
# had died meanwhile (or non-zero if the keyring failed to
# come up). Safe to run several times at once: every run is fully private.
#
# Needs: dbus-daemon, dbus-send, gnome-keyring-daemon, secret-tool (scripts/test.sh
# installs them).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

log() { printf 'with-keyring: %s\n' "$*" >&2; }

for c in dbus-daemon dbus-send gnome-keyring-daemon secret-tool timeout; do
    if ! command -v "$c" >/dev/null 2>&1; then
        log "missing command '$c' (run scripts/test.sh once, or apt-get install gnome-keyring dbus-daemon dbus-x11 libsecret-tools)"
        exit 127
    fi
done

# A unix socket path must fit in ~107 bytes; fall back to /tmp if TMPDIR is long.
base=${TMPDIR:-/tmp}
if [ "${#base}" -gt 60 ] || [ ! -d "$base" ] || [ ! -w "$base" ]; then
    base=/tmp
fi
tmp=$(mktemp -d "$base/cred-keyring.XXXXXX")
bus_pid=
keyring_pid=

# True while $1 is a live (non-zombie) process.
alive() {
    local pid=$1 stat
    kill -0 "$pid" 2>/dev/null || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }      # drop "pid (comm) "
    [ "${stat%% *}" != Z ]
}

# shellcheck disable=SC2317  # called from the EXIT trap
stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            log "pid $pid ignored SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_pid "$keyring_pid"
    stop_pid "$bus_pid"
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Print the daemons' logs and fail.
die() {
    log "$*"
    local f
    for f in "$tmp/dbus.log" "$tmp/keyring.log"; do
        if [ -s "$f" ]; then
            log "---- ${f##*/} ----"
            sed 's/^/    /' "$f" >&2
        fi
    done
    exit 1
}

mkdir -m 700 "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/runtime"

# ---- private session bus -------------------------------------------------
cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <!-- No <servicedir>/<standard_session_servicedirs/>: nothing is auto-started. -->
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF

daemon_env=(
    env -u DISPLAY -u WAYLAND_DISPLAY -u DBUS_SESSION_BUS_ADDRESS
    -u GNOME_KEYRING_CONTROL -u SSH_AUTH_SOCK
    HOME="$tmp/home"
    XDG_DATA_HOME="$tmp/data"
    XDG_CONFIG_HOME="$tmp/config"
    XDG_CACHE_HOME="$tmp/cache"
    XDG_RUNTIME_DIR="$tmp/runtime"
)

"${daemon_env[@]}" dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile \
    --print-address=3 3>"$tmp/address" </dev/null >"$tmp/dbus.log" 2>&1 &
bus_pid=$!

addr=
for ((i = 0; i < 100; i++)); do
    if [ -s "$tmp/address" ]; then
        addr=$(head -n 1 "$tmp/address")
        [ -n "$addr" ] && break
    fi
    alive "$bus_pid" || die "dbus-daemon exited during start-up"
    sleep 0.1
done
[ -n "$addr" ] || die "dbus-daemon printed no address within 10 s"
export DBUS_SESSION_BUS_ADDRESS=$addr

# ---- gnome-keyring, unlocked ---------------------------------------------
# Password on stdin, no trailing newline; random per run (the keyring is thrown away).
pw=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && printf '%s' "$pw" >"$tmp/password")
"${daemon_env[@]}" DBUS_SESSION_BUS_ADDRESS="$addr" \
    gnome-keyring-daemon --foreground --unlock --components=secrets \
    <"$tmp/password" >"$tmp/keyring.log" 2>&1 &
keyring_pid=$!

owned=
for ((i = 0; i < 100; i++)); do
    reply=$(timeout 5 dbus-send --session --print-reply --dest=org.freedesktop.DBus \
        /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
        string:org.freedesktop.secrets 2>/dev/null) || reply=
    if [[ $reply == *"boolean true"* ]]; then
        owned=1
        break
    fi
    alive "$keyring_pid" || die "gnome-keyring-daemon exited during start-up"
    sleep 0.1
done
[ -n "$owned" ] || die "org.freedesktop.secrets has no owner on the private bus after 10 s"
rm -f "$tmp/password"

# ---- smoke test: store / lookup / clear ----------------------------------
probe="cred-probe-$$-$RANDOM"
printf '%s' "$probe" | timeout 10 secret-tool store --label=probe service cred-probe account probe \
    >>"$tmp/keyring.log" 2>&1 ||
    die "smoke test: secret-tool store failed"
got=$(timeout 10 secret-tool lookup service cred-probe account probe 2>>"$tmp/keyring.log") ||
    die "smoke test: secret-tool lookup failed"
[ "$got" = "$probe" ] || die "smoke test: lookup returned '$got', expected '$probe'"
timeout 10 secret-tool clear service cred-probe account probe >>"$tmp/keyring.log" 2>&1 ||
    die "smoke test: secret-tool clear failed"
if timeout 10 secret-tool lookup service cred-probe account probe >/dev/null 2>&1; then
    die "smoke test: secret still present after clear"
fi
log "Secret Service ready (bus $addr, dbus-daemon pid $bus_pid, gnome-keyring-daemon pid $keyring_pid)"

# ---- the command ---------------------------------------------------------
export CRED_TEST_KEYRING=1
set +e
"$@"
rc=$?
set -e
# gnome-keyring-daemon 42 has an upstream race that can crash it when many
# clients open sessions at once under heavy load. Make that recognisable:
# exit 75 (EX_TEMPFAIL) with its log, so the caller can run again.
if [ "$rc" -ne 0 ] && ! alive "$keyring_pid"; then
    log "gnome-keyring-daemon (pid $keyring_pid) died during the run; its log:"
    tail -n 20 "$tmp/keyring.log" | sed 's/^/    /' >&2
    exit 75
fi
exit "$rc"
