#!/bin/bash -eu
# ClusterFuzzLite build step: the project's OSS-Fuzz build script does the work
# ($CC, $CFLAGS, $CXX, $LIB_FUZZING_ENGINE and $OUT come from the builder image).
exec "$SRC/kvtorture/ci/oss-fuzz/build.sh"
