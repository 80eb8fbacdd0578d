#!/bin/bash
# ci/oss-fuzz/build.sh - build the fuzz targets the OSS-Fuzz / ClusterFuzzLite way.
#
# Honours the build environment's contract: compiles with $CC $CFLAGS (and $CXX
# $CXXFLAGS), links every target with $CXX and $LIB_FUZZING_ENGINE (whatever
# engine that is), and writes to $OUT, beside each target:
#   TARGET_seed_corpus.zip   corpus/TARGET/ (and corpus/found/ for the parser)
#   TARGET.dict              corpus/TARGET.dict, escapes in the engines' spelling
#   TARGET.options           harness/fuzz/TARGET.options
# The build folder is $WORK/kvtorture (a fresh one each time).  Needs meson,
# ninja and python3.  Exit status: 0 built, 99 set-up error.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
for v in CC CXX OUT LIB_FUZZING_ENGINE; do
	[ -n "${!v:-}" ] || { echo "ci/oss-fuzz/build.sh: \$$v is not set" >&2; exit 99; }
done
for tool in meson ninja python3; do
	command -v "$tool" >/dev/null || { echo "ci/oss-fuzz/build.sh: $tool is missing" >&2; exit 99; }
done
export CFLAGS=${CFLAGS:-}
export CXXFLAGS=${CXXFLAGS:-$CFLAGS}
work=${WORK:-$(mktemp -d)}
build=$work/kvtorture
targets=(fuzz-ops fuzz-repro-parser)

# Coverage feedback only from the code under test: the one list AFL++ and
# libFuzzer share (harness/fuzz/coverage-allowlist.txt).  clang takes it when
# the environment asks for SanitizerCoverage (libFuzzer, Honggfuzz, Centipede);
# afl-clang-fast reads it from AFL_LLVM_ALLOWLIST.  A coverage build
# (SANITIZER=coverage: -fprofile-instr-generate, no SanitizerCoverage) measures
# every line, so it gets neither.
lists=$top/harness/fuzz
case $CC in
*afl-*) export AFL_LLVM_ALLOWLIST=$lists/coverage-allowlist.txt ;;
*)
	case $CFLAGS in
	*fuzzer-no-link*|*-fsanitize-coverage=*)
		allow="-fsanitize-coverage-allowlist=$lists/coverage-allowlist.txt"
		allow+=" -fsanitize-coverage-allowlist=$lists/coverage-functions.txt"
		CFLAGS+=" $allow"
		CXXFLAGS+=" $allow"
		;;
	esac
	;;
esac

# The sanitizer and coverage flags come from $CFLAGS, so meson's own are off;
# warnings are not errors here: the environment's compiler and flags vary.
# The stress runner (real threads, liburcu) is not a fuzz target.
rm -rf "$build"
mkdir -p "$work" "$OUT"
meson setup "$build" "$top" -Dfuzzing=oss-fuzz -Dstress=disabled -Dbuildtype=plain \
	-Dwerror=false -Db_lundef=false -Db_sanitize=none >"$work/kvtorture-setup.log" 2>&1 ||
	{ cat "$work/kvtorture-setup.log" >&2; exit 99; }
ninja -C "$build" "${targets[@]}" || exit 99

python3 - "$top" "$OUT" "${targets[@]}" <<'PY'
import os, re, shutil, sys, zipfile
top, out, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
esc = {'n': '\\x0a', 't': '\\x09', 'r': '\\x0d'}
for t in targets:
	opts = os.path.join(top, 'harness', 'fuzz', t + '.options')
	dict_name = None
	if os.path.exists(opts):
		shutil.copyfile(opts, os.path.join(out, t + '.options'))
		for line in open(opts):
			m = re.match(r'\s*dict\s*=\s*(\S+)', line)
			if m:
				dict_name = m.group(1)
	src = os.path.join(top, 'corpus', t + '.dict')
	if os.path.exists(src):
		with open(src) as f, open(os.path.join(out, t + '.dict'), 'w') as o:
			for line in f:
				o.write(re.sub(r'\\(x[0-9A-Fa-f]{2}|.)',
					       lambda m: esc.get(m.group(1), '\\' + m.group(1)), line))
	if dict_name and dict_name != t + '.dict':
		sys.exit('%s: dict = %s, expected %s.dict' % (opts, dict_name, t))
	seeds = [os.path.join(top, 'corpus', t)]
	if t == 'fuzz-repro-parser':
		seeds.append(os.path.join(top, 'corpus', 'found'))
	with zipfile.ZipFile(os.path.join(out, t + '_seed_corpus.zip'), 'w') as z:
		for d in seeds:
			if not os.path.isdir(d):
				continue
			for n in sorted(os.listdir(d)):
				p = os.path.join(d, n)
				if os.path.isfile(p) and not n.startswith('.'):
					z.write(p, os.path.basename(d) + '-' + n)
PY
for t in "${targets[@]}"; do
	cp "$build/$t" "$OUT/$t"
done
echo "ci/oss-fuzz/build.sh: ${targets[*]} written to $OUT"
