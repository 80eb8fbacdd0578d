#!/bin/bash
# ci/oss-fuzz/test-build.sh - exercise ci/oss-fuzz/build.sh locally, with
# libFuzzer standing in for the OSS-Fuzz engine, and check what it produced:
# each target, its seed corpus zip, dictionary and options file exist, and the
# target runs every seed once (-runs=0 over the unzipped seeds, with its
# dictionary) without a crash; fuzz-ops's feedback comes from the code under
# test only (no traced comparison from impl/kenv.h, nothing from the harness's
# walks marked KVFREE_HARNESS_FN or OPS_TABLE_FN), while the checker keeps
# ASan.  Then the coverage build OSS-Fuzz makes
# (SANITIZER=coverage: source-based coverage flags, no sanitizer): fuzz-ops
# runs its seeds and writes a profile that llvm-cov-14 reports
# impl/kvfree_rcu.c from (skipped without llvm-14).  TAP on stdout.  Exit
# status: 0 pass, 1 a check failed, 77 no clang (skipped), 99 set-up error.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v clang >/dev/null && command -v clang++ >/dev/null ||
	{ echo "1..0 # SKIP clang/clang++ not installed"; exit 77; }
tmp=${KVT_OSS_FUZZ_TMP:-$(mktemp -d)}
trap 'rm -rf "$tmp"' EXIT
targets=(fuzz-ops fuzz-repro-parser)

n=0
status=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; status=1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

echo "1..$(( 7 + ${#targets[@]} * 5 ))"
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,fuzzer-no-link"
if CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" \
	LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=$tmp/out WORK=$tmp/work \
	bash "$top/ci/oss-fuzz/build.sh" >"$tmp/build.log" 2>&1; then
	ok "build.sh builds with CC=clang LIB_FUZZING_ENGINE=-fsanitize=fuzzer"
else
	not_ok "build.sh builds with CC=clang LIB_FUZZING_ENGINE=-fsanitize=fuzzer"
	sed 's/^/# /' "$tmp/build.log" | tail -n 40
fi

# Seeds may trip leak checks only through a real leak; a crash is a failure.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
for t in "${targets[@]}"; do
	out=$tmp/out
	check "$t: target is executable" test -x "$out/$t"
	check "$t: seed corpus zip is a non-empty zip" python3 -c '
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sys.exit(0 if z.testzip() is None and z.namelist() else 1)' "$out/${t}_seed_corpus.zip"
	check "$t: dictionary present" test -s "$out/$t.dict"
	check "$t: options name the dictionary" grep -qx "dict = $t.dict" "$out/$t.options"
	mkdir -p "$tmp/seeds/$t"
	python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
		"$out/${t}_seed_corpus.zip" "$tmp/seeds/$t" 2>/dev/null
	seeds=$(find "$tmp/seeds/$t" -type f | wc -l)
	if [ -x "$out/$t" ] && "$out/$t" -runs=0 -dict="$out/$t.dict" "$tmp/seeds/$t" \
		>"$tmp/$t.run.log" 2>&1 && grep -q 'INITED' "$tmp/$t.run.log" &&
		! grep -q 'ParseDictionaryFile: error' "$tmp/$t.run.log"; then
		ok "$t: runs its $seeds seed(s) with its dictionary"
	else
		not_ok "$t: runs its $seeds seed(s) with its dictionary"
		sed 's/^/# /' "$tmp/$t.run.log" | tail -n 40
	fi
done

# Feedback from the code under test only: no comparison the fuzzer traces
# may come from the environment's inline helpers (impl/kenv.h), which the
# implementation's functions inline; its access points test their flag out
# of line in such builds (KENV_EDGE_FEEDBACK).  By the debug lines of every
# call to a __sanitizer_cov_trace_* callback.
if ! command -v objdump >/dev/null; then
	echo "ok $((n + 1)) # SKIP objdump not installed"
	n=$((n + 1))
elif [ -x "$tmp/out/fuzz-ops" ] &&
	objdump -dl --no-show-raw-insn "$tmp/out/fuzz-ops" >"$tmp/fuzz-ops.dis" 2>/dev/null &&
	awk '/^\/.*:[0-9]+/ { loc = $0 } /call.*__sanitizer_cov_trace_/ { print loc }' \
		"$tmp/fuzz-ops.dis" >"$tmp/traced-lines.txt" && [ -s "$tmp/traced-lines.txt" ] &&
	! grep -q '/impl/kenv\.h:' "$tmp/traced-lines.txt"; then
	ok "fuzz-ops: no traced comparison comes from the environment's inline helpers (impl/kenv.h)"
else
	not_ok "fuzz-ops: no traced comparison comes from the environment's inline helpers (impl/kenv.h)"
	grep '/impl/kenv\.h:' "$tmp/traced-lines.txt" 2>/dev/null | sort | uniq -c | sed 's/^/# /' | head
fi

# Nor from the harness's walks inside the instrumented files: the functions
# marked KVFREE_HARNESS_FN (impl/kvfree_walk.h) and OPS_TABLE_FN
# (harness/ops/ops.c) have no block in the fuzzer's PC table (the
# __sancov_pcs section, one per counter) and call no tracing callback, while
# kvfree_call_rcu() has both.  A name missing from the binary fails the check.
untraced=(kvfree_rcu_walk_locked kvfree_rcu_snapshot decode_fields op_pack field_get field_put
	  kvt_op_args)
if ! command -v objdump >/dev/null || ! command -v nm >/dev/null; then
	echo "ok $((n + 1)) # SKIP objdump or nm not installed"
	n=$((n + 1))
elif [ -x "$tmp/out/fuzz-ops" ] && python3 - "$tmp/out/fuzz-ops" "${untraced[@]}" \
	>"$tmp/untraced.log" 2>&1 <<'PY'
import re, struct, subprocess, sys

binary, names = sys.argv[1], sys.argv[2:]


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


ranges = {}
for line in run("nm", "-S", "--defined-only", binary).splitlines():
    f = line.split()
    if len(f) == 4 and f[2] in "tT":
        ranges.setdefault(f[3], (int(f[0], 16), int(f[0], 16) + int(f[1], 16)))
table = bytearray()
for line in run("objdump", "-s", "-j", "__sancov_pcs", binary).splitlines():
    m = re.match(r"^ [0-9a-f]+ ((?:[0-9a-f]{8} ?){1,4})", line)
    if m:
        table += bytes.fromhex(m.group(1).replace(" ", ""))
pcs = [struct.unpack_from("<Q", table, i)[0] for i in range(0, len(table) - 15, 16)]
traced = {}
fn = None
for line in run("objdump", "-d", "--no-show-raw-insn", binary).splitlines():
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if m:
        fn = m.group(1)
    elif "call" in line and "<__sanitizer_cov_trace_" in line:
        traced[fn] = traced.get(fn, 0) + 1
bad = 0
for name in names + ["kvfree_call_rcu"]:
    if name not in ranges:
        print(f"{name}: not in {binary}")
        bad += 1
        continue
    lo, hi = ranges[name]
    blocks = sum(lo <= pc < hi for pc in pcs)
    calls = traced.get(name, 0)
    print(f"{name}: {blocks} block(s) in the PC table, {calls} tracing call(s)")
    if (blocks > 0 and calls > 0) if name == "kvfree_call_rcu" else (blocks == 0 and calls == 0):
        continue
    bad += 1
sys.exit(1 if bad else 0)
PY
then
	ok "fuzz-ops: the harness's walks in instrumented files give no feedback (${untraced[*]})"
else
	not_ok "fuzz-ops: the harness's walks in instrumented files give no feedback (${untraced[*]})"
	sed 's/^/# /' "$tmp/untraced.log"
fi

# The harness keeps its sanitizers: the checker's lock hook checks its
# memory accesses with ASan in a fuzzing build as in every other (meson's
# -Dchecker_asan=false, an owners' option for the speed, is not OSS-Fuzz's).
# From the disassembly the kenv.h check made.
if ! command -v objdump >/dev/null; then
	echo "ok $((n + 1)) # SKIP objdump not installed"
	n=$((n + 1))
else
	asan_calls=$(awk '/^[0-9a-f]+ <check_lock_acquire>:$/ { p = 1; next } /^$/ { p = 0 }
		     p && /call.*<__asan_report_/ { c++ } END { print c + 0 }' "$tmp/fuzz-ops.dis" 2>/dev/null)
	check "fuzz-ops: the checker is built with ASan ($asan_calls report call(s) in check_lock_acquire)" \
		test "$asan_calls" -gt 0
fi

# SANITIZER=coverage, with OSS-Fuzz's flags for it.
unset ASAN_OPTIONS
cflags="-O1 -fno-omit-frame-pointer -gline-tables-only -fprofile-instr-generate -fcoverage-mapping"
cflags+=" -pthread -Wl,--no-as-needed -Wl,-ldl -Wl,-lm -Wno-unused-command-line-argument"
if ! command -v llvm-profdata-14 >/dev/null || ! command -v llvm-cov-14 >/dev/null; then
	echo "ok $((n + 1)) # SKIP llvm-profdata-14/llvm-cov-14 not installed"
	echo "ok $((n + 2)) # SKIP llvm-profdata-14/llvm-cov-14 not installed"
	echo "ok $((n + 3)) # SKIP llvm-profdata-14/llvm-cov-14 not installed"
elif touch "$tmp/before-cov" && CC=clang CXX=clang++ CFLAGS="$cflags" CXXFLAGS="$cflags" \
	SANITIZER=coverage LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=$tmp/out-cov WORK=$tmp/work-cov \
	LLVM_PROFILE_FILE=/dev/null bash "$top/ci/oss-fuzz/build.sh" >"$tmp/build-cov.log" 2>&1; then
	ok "build.sh builds with SANITIZER=coverage"
	# meson's compiler checks run in the current folder, each writing a
	# profile there unless told where (LLVM_PROFILE_FILE above).
	check "the coverage build left no default.profraw in $PWD" \
		test -z "$(find . -maxdepth 1 -name default.profraw -newer "$tmp/before-cov")"
	LLVM_PROFILE_FILE=$tmp/cov.%p.profraw "$tmp/out-cov/fuzz-ops" -runs=0 "$tmp/seeds/fuzz-ops" \
		>"$tmp/cov-run.log" 2>&1
	# The report goes to a file first: `grep -q` in a pipe would stop reading at
	# the first match, and llvm-cov's SIGPIPE would fail the pipe (pipefail).
	if llvm-profdata-14 merge -sparse "$tmp"/cov.*.profraw -o "$tmp/cov.profdata" 2>>"$tmp/cov-run.log" &&
		llvm-cov-14 report -instr-profile="$tmp/cov.profdata" "$tmp/out-cov/fuzz-ops" \
		>"$tmp/cov-report.txt" 2>>"$tmp/cov-run.log" &&
		grep -q 'impl/kvfree_rcu\.c' "$tmp/cov-report.txt"; then
		ok "fuzz-ops: the coverage build's profile of its seeds reports impl/kvfree_rcu.c"
	else
		not_ok "fuzz-ops: the coverage build's profile of its seeds reports impl/kvfree_rcu.c"
		sed 's/^/# /' "$tmp/cov-run.log" | tail -n 20
	fi
else
	not_ok "build.sh builds with SANITIZER=coverage"
	sed 's/^/# /' "$tmp/build-cov.log" | tail -n 40
	not_ok "the coverage build left no default.profraw in $PWD"
	not_ok "fuzz-ops: the coverage build's profile of its seeds reports impl/kvfree_rcu.c"
fi
exit $status
