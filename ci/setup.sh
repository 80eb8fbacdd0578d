# ci/setup.sh - sourced by the ci/ scripts: installs what is missing, builds.
# Not executable on its own.

KVT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KVT_PACKAGES=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev lld-14 llvm-14
	      afl++ liburcu-dev gnuplot-nox python3)

kvt_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
kvt_die() { kvt_log "$*"; exit 99; }

# Install the Debian packages that are missing (needs root and apt-get): the
# project's list, plus any named as arguments.
kvt_install_packages() {
	local missing=() p
	for p in "${KVT_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	kvt_log "installing: ${missing[*]}"
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq || kvt_die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || kvt_die "apt-get install ${missing[*]} failed"
}

# kvt_build DIR [meson setup options...]: configure (again, from scratch, when
# DIR was configured with other options or another compiler), then build.
kvt_build() {
	local dir=$1
	shift
	local want="CC=${CC:-} $*" stamp="$KVT_TOP/$dir/.kvt-build-options" wipe=()
	if [ -f "$KVT_TOP/$dir/build.ninja" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		kvt_log "$dir was configured with other options: configuring it again ($want)"
		wipe=(--wipe)
	fi
	if [ ! -f "$KVT_TOP/$dir/build.ninja" ] || [ ${#wipe[@]} -gt 0 ]; then
		meson setup "${wipe[@]}" "$KVT_TOP/$dir" "$KVT_TOP" "$@" >"$KVT_TOP/$dir.setup.log" 2>&1 ||
			{ cat "$KVT_TOP/$dir.setup.log" >&2; kvt_die "meson setup $dir failed"; }
		rm -f "$KVT_TOP/$dir.setup.log"
		printf '%s\n' "$want" >"$stamp"
	fi
	ninja -C "$KVT_TOP/$dir" >/dev/null || { ninja -C "$KVT_TOP/$dir"; kvt_die "build of $dir failed"; }
}

# kvt_py MODULE [ARGS...]: run the scripts' Python, ci/kvtci/MODULE.py (tested
# by ci/tests/); its messages start with the script's name.  The system
# python: a version manager's shim costs a second per call under load.
kvt_py() {
	local module=$1 py=/usr/bin/python3
	shift
	[ -x "$py" ] || py=python3
	KVT_PROG=${0##*/} PYTHONPATH="$KVT_TOP/ci${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 \
		"$py" -m "kvtci.$module" "$@"
}

# AFL++ instruments only the code under test (see the allowlist's header); a
# build made with afl-clang-fast must be compiled with this in the environment.
export AFL_LLVM_ALLOWLIST="$KVT_TOP/harness/fuzz/afl-allowlist.txt"
