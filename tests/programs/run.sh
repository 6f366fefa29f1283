#!/bin/sh
# run.sh PROGRAM: run one test program of tests/programs under the goshim
# preload, once per GOMAXPROCS value, and fail if any run fails.
#
# PROGRAM is the last argument. Under automake it is the TESTS entry
# tests/programs/NAME.ptest (a stamp file); the program is the same path
# without .ptest, else $top_builddir/tests/programs/NAME.
#
# Environment:
#   GOSHIM_LIBRARY     libgoshim.so to preload (required: 99 without it)
#   GOSHIM_TEST_PROCS  GOMAXPROCS values to run with (default "1 2 8")
#   GOSHIM_TEST_TIMEOUT  seconds allowed per run (default 120)
#   GOSHIM_TEST_NATIVE=1  run once without the preload instead (no thread
#                      limit, GOSHIM_LIBRARY not needed)
# Each run gets GOMAXPROCS=P and GOSHIM_TEST_MAX_THREADS=P+3 (the kernel
# threads a program may have under goshim). A run fails on a non-zero
# exit, a signal, a timeout, or output other than expected (see
# expected_output).

set -u

me=run.sh
if [ $# -lt 1 ]; then
    echo "usage: $me PROGRAM" >&2
    exit 99
fi
for arg; do :; done

prog=${arg%.ptest}
name=$(basename "$prog")
if [ "$prog" != "$arg" ] && [ ! -x "$prog" ]; then
    prog=${top_builddir:-.}/tests/programs/$name
fi
if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
    echo "$me: no program $prog (from $arg)" >&2
    exit 99
fi
case $prog in
/*) ;;
*) prog=./$prog ;;
esac

# What a program must write on stdout, if anything is checked.
expected_output() {
    case $1 in
    exit_from_main | tls_cxx | cxx_sync | rust_sync) echo ok ;;
    *) return 1 ;;
    esac
}

timeout_s=${GOSHIM_TEST_TIMEOUT:-120}
if ! command -v timeout >/dev/null 2>&1; then
    echo "$me: timeout(1) not found" >&2
    exit 99
fi

# Thousands of threads at once natively: raise a low soft limit on
# processes to the hard limit (bash spells it ulimit -u, dash ulimit -p).
raise_nproc() {
    for opt in -u -p; do
        # shellcheck disable=SC3045
        cur=$(ulimit -S $opt 2>/dev/null) || continue
        case $cur in
        '' | *[!0-9]*) return ;;
        esac
        [ "$cur" -ge 32768 ] && return
        # shellcheck disable=SC3045
        ulimit -S $opt "$(ulimit -H $opt)" 2>/dev/null
        return
    done
}
raise_nproc

if [ "${GOSHIM_TEST_NATIVE:-0}" = 1 ]; then
    procs=native
else
    if [ -z "${GOSHIM_LIBRARY:-}" ]; then
        echo "$me: GOSHIM_LIBRARY is not set" >&2
        exit 99
    fi
    if [ ! -f "$GOSHIM_LIBRARY" ]; then
        echo "$me: GOSHIM_LIBRARY=$GOSHIM_LIBRARY: no such file" >&2
        exit 99
    fi
    procs=${GOSHIM_TEST_PROCS:-1 2 8}
fi

out=$(mktemp) || exit 99
trap 'rm -f "$out"' EXIT
trap 'exit 130' INT TERM

failed=
for p in $procs; do
    if [ "$p" = native ]; then
        what="$name (native)"
        start=$(date +%s)
        timeout -k 10 "$timeout_s" env -u GOSHIM_TEST_MAX_THREADS \
            "$prog" >"$out"
        rc=$?
    else
        what="$name GOMAXPROCS=$p"
        start=$(date +%s)
        # timeout and env run without the preload; only the program has it.
        timeout -k 10 "$timeout_s" env \
            LD_PRELOAD="$GOSHIM_LIBRARY${LD_PRELOAD:+ $LD_PRELOAD}" \
            GOMAXPROCS="$p" GOSHIM_TEST_MAX_THREADS=$((p + 3)) \
            "$prog" >"$out"
        rc=$?
    fi
    secs=$(($(date +%s) - start))
    cat "$out"
    why=
    if [ $rc -eq 124 ] || { [ $rc -eq 137 ] && [ $secs -ge "$timeout_s" ]; }
    then
        why="timed out after ${timeout_s}s"
    elif [ $rc -gt 128 ]; then
        why="killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
    elif [ $rc -ne 0 ]; then
        why="exit status $rc"
    elif want=$(expected_output "$name"); then
        got=$(cat "$out")
        if [ "$got" != "$want" ]; then
            why="stdout was \"$got\", expected \"$want\""
        fi
    fi
    if [ -n "$why" ]; then
        echo "$me: FAIL: $what: $why" >&2
        failed="$failed $p"
    else
        echo "$me: ok: $what (${secs}s)"
    fi
done

if [ -n "$failed" ]; then
    echo "$me: FAIL: $name failed with GOMAXPROCS in:$failed" >&2
    exit 1
fi
exit 0
