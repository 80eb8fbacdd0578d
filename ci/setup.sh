# ci/setup.sh - sourced by the ci/ scripts: installs what is missing, builds.
# Not executable on its own.

KVT_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KVT_PACKAGES=(meson ninja-build pkg-config gcc clang libclang-rt-14-dev lld-14 llvm-14
	      afl++ liburcu-dev libjson-c-dev gnuplot-nox python3)

# The kernel trees whose kvfree_rcu code the kernel builds run (Debian's
# linux-source packages, read in place), and the fixes proposed for 6.12's
# findings (corpus/found/kernel-6.12; the -mainline patches are for 6.14+)
# and for 6.1's: its own two, and the shrinker's from 6.12's (the same code).
KVT_KERNEL_PACKAGES=(linux-source-6.1 linux-source-6.12)
KVT_KERNEL_61=/usr/src/linux-source-6.1.tar.xz
KVT_KERNEL_612=/usr/src/linux-source-6.12.tar.xz
KVT_KERNEL_612_FIXES=$(cd "$KVT_TOP" && ls corpus/found/kernel-6.12/*.patch |
	grep -v -- '-mainline\.patch$' | paste -sd, -)
KVT_KERNEL_61_FIXES=$(cd "$KVT_TOP" && ls corpus/found/kernel-6.1/*.patch \
	corpus/found/kernel-6.12/shrink-scan-stop.patch | paste -sd, -)

# The sanitizer builds' options, one set for every script that uses their
# folders (kvt_build configures a folder again when its options change):
# both with 6.12's kvfree_rcu carrying the fixes (as shipped, its open
# findings may show up in any run on real threads).
KVT_ASAN_OPTIONS=(-Db_sanitize=address,undefined -Dkernel_src="$KVT_KERNEL_612"
		  -Dkernel_patch="$KVT_KERNEL_612_FIXES")
KVT_TSAN_OPTIONS=(-Db_sanitize=thread -Dkernel_src="$KVT_KERNEL_612"
		  -Dkernel_patch="$KVT_KERNEL_612_FIXES")
# Every libFuzzer build of the scripts, without a sanitizer and with
# ASan+UBSan: linked with LTO, which inlines the environment's small calls
# (locks, irq state, context) into the implementation across files, for less
# time per execution on the same inputs (the README, under Fuzzing) with the
# same instrumentation (coverage and sanitizers are added
# as each file compiles, before the link).  Such a build makes only the
# targets it runs: an LTO link of every program of the tree takes minutes.
#
# They are optimised with a profile of the committed fuzz-ops corpus
# (-Dpgo_profile, kvt_pgo_profile below; the code under the fuzzers'
# coverage is left out, meson.build): 13 % less time per execution without a
# sanitizer, 7 % with ASan+UBSan, on inputs the profile never saw (the
# README, under Fuzzing).
KVT_PGO_PROFILE=$KVT_TOP/build-pgo/fuzz-ops.profdata
KVT_LIBFUZZER_OPTIONS=(-Dfuzzing=libfuzzer -Db_lto=true "-Dpgo_profile=$KVT_PGO_PROFILE")
KVT_LIBFUZZER_ASAN_OPTIONS=("${KVT_LIBFUZZER_OPTIONS[@]}" -Db_sanitize=address,undefined
			    -Dstress=disabled)

kvt_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
kvt_die() { kvt_log "$*"; exit 99; }

# kvt_worst STATUS...: the most severe of the exit statuses of a script's
# steps, which the script then exits with.  Precedence 99 > 3 > 2 > 1 > 0:
# a set-up error (99) first, for then nothing else can be trusted; then a
# hang (3), a bad usage or input (2), an invariant violated (1), a pass (0).
# A skip (77) is below a pass: it is the result only when every step
# skipped.  Any other status (a signal, a sanitizer's abort) counts as 1: the
# step failed.  Empty and '-' arguments are ignored; none at all give 0.
kvt_worst() {
	local s worst=0 rank best=-1
	for s in "$@"; do
		case $s in
		''|-) continue ;;
		99) rank=5 ;; 3) rank=4 ;; 2) rank=3 ;; 1) rank=2 ;; 0) rank=1 ;; 77) rank=0 ;;
		*) rank=2 s=1 ;;
		esac
		[ "$rank" -le "$best" ] || { best=$rank; worst=$s; }
	done
	echo "$worst"
}

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

# A kernel tree given to a script (--kernel-src PATH, each --kernel-patch
# FILE[,FILE], paths from the source top, as meson takes them):
# kvt_kernel_tree SRC [PATCHES...] checks them, exiting 2 with what is
# wrong, and sets KVT_KERNEL_PATCHES (one file each) and KVT_KERNEL_OPTS,
# the meson options (both empty without SRC); kvt_kernel_tree_build
# [TARGET...] builds build-kernel-tree/ with them (kvtorture,
# kvtorture-kernel and the TARGETs: kvtorture --impl kernel runs the tree's
# kvfree_rcu section) and sets KVT_KERNEL_VERSION ("6.12.118"),
# KVT_KERNEL_SERIES ("6.12") and KVT_KERNEL_WHAT, what the scripts say
# they torture.
kvt_kernel_tree() {
	local src=$1 p list
	shift
	KVT_KERNEL_OPTS=()
	KVT_KERNEL_PATCHES=()
	for list in "$@"; do
		IFS=, read -ra p <<<"$list"
		KVT_KERNEL_PATCHES+=("${p[@]}")
	done
	if [ -z "$src" ]; then
		[ ${#KVT_KERNEL_PATCHES[@]} -eq 0 ] || { kvt_log "--kernel-patch needs --kernel-src: a patch is applied to the kernel tree it names"; exit 2; }
		return 0
	fi
	[ -e "$src" ] || { kvt_log "--kernel-src $src: no such file or folder"; exit 2; }
	for p in "${KVT_KERNEL_PATCHES[@]}"; do
		[ -f "$p" ] || { kvt_log "--kernel-patch $p: no such file"; exit 2; }
	done
	KVT_KERNEL_OPTS=("-Dkernel_src=$src")
	[ ${#KVT_KERNEL_PATCHES[@]} -eq 0 ] ||
		KVT_KERNEL_OPTS+=("-Dkernel_patch=$(IFS=,; echo "${KVT_KERNEL_PATCHES[*]}")")
}

kvt_kernel_tree_build() {
	CC=clang kvt_build build-kernel-tree "${KVT_KERNEL_OPTS[@]}" -- kvtorture kvtorture-kernel "$@"
	KVT_KERNEL_VERSION=$(sed -nE 's/^#define KVT_K_VERSION "([^"]+)".*/\1/p' \
		"$KVT_TOP/build-kernel-tree/impl/kernel/kernel_section.h")
	[ -n "$KVT_KERNEL_VERSION" ] || kvt_die "cannot read the kernel's version from build-kernel-tree"
	KVT_KERNEL_SERIES=$(cut -d. -f1,2 <<<"$KVT_KERNEL_VERSION")
	KVT_KERNEL_WHAT="Linux $KVT_KERNEL_VERSION's kvfree_rcu${KVT_KERNEL_PATCHES[*]:+ with ${KVT_KERNEL_PATCHES[*]}}"
}

# kvt_build DIR [meson setup options...] [-- TARGET...]: configure DIR (again,
# from scratch, when it was configured with other options or another compiler:
# DIR/.kvt-build-options records them), then build everything, or only the
# ninja TARGETs.  DIR is under the source top unless it is absolute.  Quiet
# unless something fails.  With KVT_BUILD_LOGS set to a folder, meson's and
# ninja's output stay there (NAME.setup.log, NAME.build.log); with
# KVT_BUILD_NICE=1, meson and ninja run under nice.
kvt_build() {
	local dir=$1 opts=() targets=() run=() o profile=
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -eq 0 ] || { shift; targets=("$@"); }
	case $dir in /*) ;; *) dir=$KVT_TOP/$dir ;; esac
	[ "${KVT_BUILD_NICE:-0}" != 1 ] || run=(nice)
	# A profile to optimise with is made (or brought up to date) first; the
	# objects made with it depend on it through meson.build's pgo-profile.h.
	for o in "${opts[@]}"; do
		case $o in -Dpgo_profile=?*) profile=${o#-Dpgo_profile=} ;; esac
	done
	[ -z "$profile" ] || kvt_pgo_profile "$profile"
	local name=${dir#"$KVT_TOP"/} want="CC=${CC:-} ${opts[*]}" stamp=$dir/.kvt-build-options
	local setup_log=$dir.setup.log
	[ -z "${KVT_BUILD_LOGS:-}" ] || setup_log=$KVT_BUILD_LOGS/${dir##*/}.setup.log
	if [ -f "$dir/build.ninja" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
		kvt_log "$name was configured with other options: configuring it again ($want)"
		# From nothing: meson's --wipe keeps every option it is not given
		# again (a -Dkernel_patch left out would stay applied).
		rm -rf "$dir"
	fi
	if [ ! -f "$dir/build.ninja" ]; then
		# Meson runs its compiler checks in the current folder: with
		# -fprofile-instr-generate each would leave default.profraw there.
		LLVM_PROFILE_FILE=/dev/null "${run[@]}" meson setup "$dir" "$KVT_TOP" "${opts[@]}" \
			>"$setup_log" 2>&1 ||
			{ cat "$setup_log" >&2; kvt_die "meson setup $name failed"; }
		[ -n "${KVT_BUILD_LOGS:-}" ] || rm -f "$setup_log"
		printf '%s\n' "$want" >"$stamp"
	fi
	# A failed build shows its output again: `|| true` there, or `set -e`
	# would end the script with ninja's status rather than kvt_die's 99.
	if [ -n "${KVT_BUILD_LOGS:-}" ]; then
		"${run[@]}" ninja -C "$dir" "${targets[@]}" >"$KVT_BUILD_LOGS/${dir##*/}.build.log" 2>&1 ||
			{ tail -n 30 "$KVT_BUILD_LOGS/${dir##*/}.build.log" >&2; kvt_die "build of $name failed"; }
	else
		"${run[@]}" ninja -C "$dir" "${targets[@]}" >/dev/null ||
			{ ninja -C "$dir" "${targets[@]}" || true; kvt_die "build of $name failed"; }
	fi
}

# kvt_llvm_tool NAME: the path of LLVM's NAME, version 14 (package llvm-14)
# first; a set-up error (99) without it.  Use as x=$(kvt_llvm_tool NAME).
kvt_llvm_tool() {
	command -v "$1-14" || command -v "$1" || kvt_die "$1-14 is needed (package llvm-14)"
}

# kvt_pgo_profile FILE: make FILE, the profile the libFuzzer builds are
# optimised with, or bring it up to date: build-pgo/ (clang,
# -fprofile-instr-generate, the replay main) runs every input of
# corpus/fuzz-ops three times, and llvm-profdata-14 merges what it counted.
# FILE is replaced (atomically) only when the profile changed.
kvt_pgo_profile() {
	local file=$1 raw profdata
	profdata=$(kvt_llvm_tool llvm-profdata)
	CC=clang kvt_build build-pgo -Dstress=disabled -Dfuzzing=none -Db_sanitize=none \
		-Dc_args=-fprofile-instr-generate -Dc_link_args=-fprofile-instr-generate -- fuzz-ops
	mkdir -p "$(dirname "$file")"
	raw=$(mktemp -d "$(dirname "$file")/.raw.XXXXXX")
	LLVM_PROFILE_FILE=$raw/%p.profraw "$KVT_TOP/build-pgo/fuzz-ops" -runs=3 \
		"$KVT_TOP"/corpus/fuzz-ops/* >"$raw/replay.log" 2>&1 ||
		{ tail -n 20 "$raw/replay.log" >&2; rm -rf "$raw"; kvt_die "the profile run (build-pgo/fuzz-ops) failed"; }
	"$profdata" merge -o "$raw/merged.profdata" "$raw"/*.profraw ||
		{ rm -rf "$raw"; kvt_die "llvm-profdata merge failed for $file"; }
	cmp -s "$raw/merged.profdata" "$file" 2>/dev/null || mv -f "$raw/merged.profdata" "$file"
	rm -rf "$raw"
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

# The compiler of every AFL++ build (CC="$KVT_AFL_CC"): AFL++ instruments only
# the code under test (harness/fuzz/coverage-allowlist.txt, the list the
# libFuzzer builds use too), and afl-clang-fast reads that list from its
# environment only, so the compiler command sets it, for every recompilation
# (harness/fuzz/meson.build refuses an AFL++ build without it).
KVT_AFL_CC="env 'AFL_LLVM_ALLOWLIST=$KVT_TOP/harness/fuzz/coverage-allowlist.txt' afl-clang-fast"
