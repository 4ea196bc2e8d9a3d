#!/usr/bin/env bash
# envtest's test command (the one README gives; .ci/run runs exactly this), from a fresh clone:
#   1. ci/setup.sh: packages and a Docker engine
#   2. configure + build in build/ with -DENVTEST_WERROR=ON
#   3. the MySQL image (mysql:8.4 if present, else envtest/mysql-offline:10.11, built once)
#   4. ctest -L unit; the ASan/UBSan build in build-asan/ and its unit tests
#   5. ctest -L docker with ENVTEST_REQUIRE_DOCKER=1 (no silent skips): most on the ASan/UBSan
#      build, valgrind's and the shipped artefacts' on the plain one; then the docker tests that
#      matter against Podman (DOCKER_HOST=unix://$ENVTEST_PODMAN_SOCK)
#   6. the libFuzzer targets (clang, -DENVTEST_FUZZ=ON) in build-fuzz/ and their corpora replayed
#   7. clang-format check of the C sources (prints the files that differ)
# Ends with "N passed, N failed" (the ctest runs' tests); exit status 0 only when every step passed.
#
# Environment: ENVTEST_JOBS (build jobs, default nproc), ENVTEST_SKIP_SETUP=1, ENVTEST_SKIP_ASAN=1,
# ENVTEST_DOCKER_CTEST_JOBS (parallel docker tests, default 1), ENVTEST_SKIP_PODMAN=1 (no Podman
# step; ci/setup.sh then installs no Podman either), ENVTEST_BUILD_DIR (default build;
# relative to the repository or absolute),
# ENVTEST_ASAN_BUILD_DIR (default build-asan), ENVTEST_SKIP_FUZZ=1, ENVTEST_FUZZ_BUILD_DIR
# (default build-fuzz).
set -euo pipefail
# shellcheck source=ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ENVTEST_ROOT"

ci_build_dirs
ASAN_BUILD_DIR="${ENVTEST_ASAN_BUILD_DIR:-build-asan}"
TOTAL_START="$(ci_now)"
tests_passed=0 tests_failed=0 tests_skipped=0
failed_steps=()
timings=()

# step NAME COMMAND...: runs one step under a header; a failure is recorded and the run goes on.
step() {
    local name="$1" status=0
    shift
    ci_section "$name"
    "$@" || status=$?
    timings+=("$(printf '%-28s %6ss  %s' "$name" "$(ci_elapsed "$CI_SECTION_START")" \
        "$([ "$status" -eq 0 ] && echo ok || echo "FAILED (exit $status)")")")
    if [ "$status" -ne 0 ]; then
        failed_steps+=("$name")
        ci_log "==== $name: FAILED (exit $status)"
    else
        ci_section_end
    fi
    return 0
}
step_failed() {
    local s
    for s in "${failed_steps[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

# configure_and_build BUILD_DIR CMAKE_ARGS...: with make, keeps going after an error so that the
# tests of the parts that do build still run (the step fails all the same).
configure_and_build() {
    local dir="$1" keep_going=()
    shift
    cmake -S . -B "$dir" -DENVTEST_WERROR=ON "$@" || return 1
    [ -f "$dir/Makefile" ] && keep_going=(-- -k)
    cmake --build "$dir" -j "$JOBS" "${keep_going[@]}"
}

# run_ctest BUILD_DIR LABEL [ctest args]: counts the tests from ctest's summary.
run_ctest() {
    local dir="$1" label="$2" log status=0 total failed skipped
    shift 2
    log="$dir/ctest-$label${CI_CTEST_LOG_SUFFIX:-}.log"
    ctest --test-dir "$dir" --output-on-failure -L "^$label\$" "$@" 2>&1 | tee "$log" || status=$?
    # "100% tests passed, 0 tests failed out of 12"
    total="$(sed -n 's/.* tests failed out of \([0-9][0-9]*\).*/\1/p' "$log" | tail -n1)"
    failed="$(sed -n 's/.*, \([0-9][0-9]*\) tests\{0,1\} failed out of.*/\1/p' "$log" | tail -n1)"
    skipped="$(grep -c '(Skipped)' "$log" || true)"
    if [ -z "$total" ]; then
        if grep -q 'No tests were found' "$log"; then
            ci_log "no tests with label $label"
            return 0
        fi
        ci_log "could not read ctest's summary"
        return 1
    fi
    tests_failed=$((tests_failed + failed))
    tests_skipped=$((tests_skipped + skipped))
    tests_passed=$((tests_passed + total - failed - skipped))
    return "$status"
}

mysql_image() { ci_export_mysql_image; }

# After a failed build the tests still run: those whose programs are missing fail as "Not Run".
unit_tests() {
    step_failed build && ci_log "note: the build failed; tests whose programs are missing will fail"
    run_ctest "$BUILD_DIR" unit -j "$JOBS"
}

# The docker tests run once, most of them on the ASan/UBSan build (envtest, its suites and helper
# programs sanitized: any memory error, undefined behaviour or leak in any envtest process fails
# the test). On the plain build: valgrind's own tests (valgrind cannot run sanitized programs) and
# the tests of what is shipped (the package, the images of static mocks, the MySQL image). With
# ENVTEST_SKIP_ASAN=1 they all run on the plain build.
PLAIN_DOCKER_TESTS='^(valgrind_e2e|test_sca_api_valgrind|test_install|test_images|test_mock_llm_image|test_mysql_image|test_podman_seoul)$'
docker_tests() {
    step_failed build && ci_log "note: the build failed; tests whose programs are missing will fail"
    step_failed "MySQL image" && ci_log "note: no MySQL image; tests that need one will fail"
    local only=()
    [ "${ENVTEST_SKIP_ASAN:-}" = 1 ] || only=(-R "$PLAIN_DOCKER_TESTS")
    ENVTEST_REQUIRE_DOCKER=1 run_ctest "$BUILD_DIR" docker -j "${ENVTEST_DOCKER_CTEST_JOBS:-1}" "${only[@]}"
}
asan_docker_tests() {
    step_failed "ASan/UBSan build" && ci_log "note: the build failed; tests whose programs are missing will fail"
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
        UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        ENVTEST_REQUIRE_DOCKER=1 CI_CTEST_LOG_SUFFIX=-asan run_ctest "$ASAN_BUILD_DIR" docker \
        -j "${ENVTEST_DOCKER_CTEST_JOBS:-1}" -E "$PLAIN_DOCKER_TESTS"
}

# The docker tests that matter, against Podman's Docker-compatible API (ci/setup.sh: setup_podman):
# lifecycle (up/status/env/exec/down, health, failed ups cleaned, Ctrl-C, kill -9 reaped), fixtures
# (MariaDB, copy steps), the Seoul environment's up/status/env/run/down (test_podman_seoul), and
# envtest inside a Podman container (test_in_container: in its own namespace it joins the project's
# network, its reaper shares that namespace; in the host's, as on the host).
PODMAN_TESTS='^(test_lifecycle_docker|test_fixture_mysql|test_podman_seoul|test_in_container)$'
podman_docker_tests() {
    step_failed build && ci_log "note: the build failed; tests whose programs are missing will fail"
    podman_ping || {
        ci_log "error: Podman does not answer on $ENVTEST_PODMAN_SOCK (ci/setup.sh starts it; ENVTEST_SKIP_PODMAN=1 skips this step)"
        return 1
    }
    # the MySQL image the Docker tests used, copied into Podman's own image store
    podman_copy_image "${ENVTEST_MYSQL_IMAGE:-$ENVTEST_MYSQL_OFFLINE_IMAGE}" || return 1
    DOCKER_HOST="unix://$ENVTEST_PODMAN_SOCK" ENVTEST_DOCKER_SOCK="$ENVTEST_PODMAN_SOCK" \
        ENVTEST_REQUIRE_DOCKER=1 CI_CTEST_LOG_SUFFIX=-podman run_ctest "$BUILD_DIR" docker -R "$PODMAN_TESTS"
}

asan_build() { configure_and_build "$ASAN_BUILD_DIR" -DENVTEST_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug; }

# The libFuzzer targets built with clang (-DENVTEST_FUZZ=ON) and their committed corpora replayed:
# the fuzzers are compiled in no other build, so this is what keeps them building.
FUZZ_BUILD_DIR="${ENVTEST_FUZZ_BUILD_DIR:-build-fuzz}"
fuzz_corpora() {
    if ! printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' |
        clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
        ci_log "no clang with libFuzzer here (apt-get install clang libclang-rt-14-dev): skipped"
        return 0
    fi
    CC=clang cmake -S . -B "$FUZZ_BUILD_DIR" -DENVTEST_FUZZ=ON -DENVTEST_WERROR=ON \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || return 1
    cmake --build "$FUZZ_BUILD_DIR" -j "$JOBS" --target fuzz_compose fuzz_manifest fuzz_csv \
        fuzz_tap fuzz_mock_llm fuzz_mock_vector fuzz_sca_pdf fuzz_sca_request fuzz_engine_stream \
        fuzz_engine_reply || return 1
    run_ctest "$FUZZ_BUILD_DIR" unit -R '^fuzz_.*_corpus$'
}

asan_unit_tests() {
    step_failed "ASan/UBSan build" && ci_log "note: the build failed; tests whose programs are missing will fail"
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
        UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        run_ctest "$ASAN_BUILD_DIR" unit -j "$JOBS"
}

format_check() {
    command -v clang-format >/dev/null || {
        ci_log "clang-format is missing (apt-get install clang-format, or ci/setup.sh)"
        return 1
    }
    local files=() bad
    mapfile -t files < <(find cmd envmgr compose suites fixtures tests -maxdepth 6 \
        \( -name node_modules -o -name 'build*' \) -prune -o -type f \( -name '*.c' -o -name '*.h' \) -print |
        sort; find . -maxdepth 1 -type f \( -name '*.c' -o -name '*.h' \) | sort)
    ci_log "checking ${#files[@]} files against .clang-format"
    bad="$(clang-format --dry-run --Werror "${files[@]}" 2>&1 |
        sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u)" || true
    if [ -n "$bad" ]; then
        ci_log "these files differ from .clang-format (fix: clang-format -i FILE...):"
        printf '  %s\n' $bad >&2
        return 1
    fi
    ci_log "all files formatted"
}

main() {
    if [ "${ENVTEST_SKIP_SETUP:-}" = 1 ]; then
        ci_log "ENVTEST_SKIP_SETUP=1: not running ci/setup.sh"
    else
        step setup "$ENVTEST_ROOT/ci/setup.sh"
        step_failed setup && ci_die "ci/setup.sh failed; nothing else can run"
    fi
    step build configure_and_build "$BUILD_DIR"
    step "MySQL image" mysql_image
    step "unit tests" unit_tests
    if [ "${ENVTEST_SKIP_ASAN:-}" = 1 ]; then
        ci_log "ENVTEST_SKIP_ASAN=1: no ASan/UBSan build"
    else
        step "ASan/UBSan build" asan_build
        step "ASan/UBSan unit tests" asan_unit_tests
    fi
    step "docker tests" docker_tests
    [ "${ENVTEST_SKIP_ASAN:-}" = 1 ] || step "docker tests (ASan/UBSan)" asan_docker_tests
    if [ "${ENVTEST_SKIP_PODMAN:-}" = 1 ]; then
        ci_log "ENVTEST_SKIP_PODMAN=1: no docker tests on Podman"
    else
        step "docker tests (podman)" podman_docker_tests
    fi
    if [ "${ENVTEST_SKIP_FUZZ:-}" = 1 ]; then
        ci_log "ENVTEST_SKIP_FUZZ=1: no fuzz targets"
    else
        step "fuzz targets, corpora" fuzz_corpora
    fi
    step "clang-format" format_check

    printf '\n==== summary (%s s in all)\n' "$(ci_elapsed "$TOTAL_START")"
    printf '%s\n' "${timings[@]}"
    [ "$tests_skipped" -gt 0 ] && echo "$tests_skipped tests skipped"
    if [ ${#failed_steps[@]} -gt 0 ]; then
        echo "failed steps: $(
            IFS=,
            echo "${failed_steps[*]}"
        )"
    fi
    echo "$tests_passed passed, $tests_failed failed"
    [ ${#failed_steps[@]} -eq 0 ] && [ "$tests_failed" -eq 0 ]
}

main "$@"
