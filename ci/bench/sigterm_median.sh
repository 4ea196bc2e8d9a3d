# Sourced by ci/bench/mock_llm.sh and ci/bench/mock_vector.sh (POSIX sh).
# sigterm_median BIN RUNS WORKDIR: compiles sigterm_time.c (with $CC, default cc) into WORKDIR and
# prints "SIGTERM to exit: median N ms over R starts (min A, max B; target < 100 ms: ok|MISSED)";
# fails when a start fails or an exit status is not 0. The tests only assert the behaviour (status
# 0, the shutdown line, no hang within 5 s); the speed is this figure.
sigterm_median() {
  ${CC:-cc} -O2 -o "$3/sigterm_time" "$(dirname "$0")/sigterm_time.c"
  "$3/sigterm_time" "$2" "$3" "$1"
}
