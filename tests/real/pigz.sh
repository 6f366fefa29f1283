#!/bin/sh
# pigz.sh: a real program under goshim.  pigz (the Debian package: a
# thread pool on its own "yarn" layer over pthread mutexes and condition
# variables, a writer thread and a check thread, joins and thread reuse)
# compresses and decompresses under the preload.
#
# The input mixes text that compresses well (seq) with random bytes that
# do not.  Once per GOMAXPROCS value:
# - pigz -p 8 and pigz -p 32 with 32 KiB blocks (many jobs in flight)
#   compress it under goshim: the output is the native pigz's, byte for
#   byte;
# - pigz -d under goshim gives the input back, and pigz -t accepts both;
# - the compressing process's kernel threads, sampled every 10 ms, stay
#   at most GOMAXPROCS+3 (natively pigz -p 32 runs 33 or more).
#
# Exit status: 0 pass, 77 skip (pigz not installed), 99 hard error, 1 fail.
#
# Environment (make check sets the first):
#   GOSHIM_LIBRARY       libgoshim.so to preload (required)
#   GOSHIM_TEST_PROCS    GOMAXPROCS values (default "1 2")
#   GOSHIM_TEST_TIMEOUT  seconds allowed for each pigz run (default 120)

set -u

me=pigz.sh
procs=${GOSHIM_TEST_PROCS:-1 2}
timeout_s=${GOSHIM_TEST_TIMEOUT:-120}

pigz=$(command -v pigz) || {
    echo "$me: SKIP: pigz is not installed (Debian: pigz)"
    exit 77
}
if [ -z "${GOSHIM_LIBRARY:-}" ] || [ ! -f "$GOSHIM_LIBRARY" ]; then
    echo "$me: GOSHIM_LIBRARY is not set or not a file" >&2
    exit 99
fi
for c in cmp seq head; do
    command -v $c >/dev/null 2>&1 || { echo "$me: no $c" >&2; exit 99; }
done

tmp=$(mktemp -d) || exit 99
job=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$job" ]; then
        kill -KILL "$job" 2>/dev/null
        wait "$job" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

{
    seq 1 2000000
    head -c 4194304 /dev/urandom
    seq 2000000 -7 1
} >"$tmp/in" || exit 99

# goshim P OUT ARGS...: pigz ARGS under the preload with GOMAXPROCS=P,
# stdout to OUT; samples its kernel threads into max, and kills it after
# timeout_s.  Returns pigz's status (137 when it ran out of time).
goshim() {
    p=$1
    out=$2
    shift 2
    # env execs pigz: $! is pigz.
    env LD_PRELOAD="$GOSHIM_LIBRARY${LD_PRELOAD:+ $LD_PRELOAD}" GOMAXPROCS="$p" \
        "$pigz" "$@" >"$out" 2>"$tmp/err" &
    job=$!
    i=0
    while [ -r "/proc/$job/status" ]; do
        state=
        while read -r k v _; do
            case $k in
            State:) state=$v ;;
            Threads:) [ "$v" -gt "$max" ] && max=$v ;;
            esac
        done 2>/dev/null <"/proc/$job/status"
        [ "$state" = Z ] && break
        if [ $i -ge $((timeout_s * 100)) ]; then
            echo "$me: pigz $* ran over ${timeout_s}s" >&2
            kill -KILL "$job"
            break
        fi
        sleep 0.01
        i=$((i + 1))
    done
    wait "$job"
    rc=$?
    job=
    if [ -s "$tmp/err" ]; then
        cat "$tmp/err" >&2
    fi
    return $rc
}

failed=
for p in $procs; do
    limit=$((p + 3))
    for threads in 8 32; do
        what="GOMAXPROCS=$p pigz -p $threads"
        max=0
        why=
        "$pigz" -p "$threads" -b 32 -c "$tmp/in" >"$tmp/native.gz" || exit 99
        if ! goshim "$p" "$tmp/out.gz" -p "$threads" -b 32 -c "$tmp/in"; then
            why="compressing failed (status $rc)"
        elif ! cmp -s "$tmp/native.gz" "$tmp/out.gz"; then
            why="the compressed output differs from the native pigz's"
        elif ! goshim "$p" "$tmp/back" -p "$threads" -d -c "$tmp/out.gz"; then
            why="decompressing failed (status $rc)"
        elif ! cmp -s "$tmp/in" "$tmp/back"; then
            why="decompressing does not give the input back"
        elif ! goshim "$p" /dev/null -p "$threads" -t "$tmp/out.gz"; then
            why="pigz -t rejects the output (status $rc)"
        elif [ "$max" -gt "$limit" ]; then
            why="$max kernel threads, more than GOMAXPROCS+3 = $limit"
        fi
        if [ -n "$why" ]; then
            echo "$me: FAIL: $what: $why" >&2
            failed="$failed $p/$threads"
        else
            echo "$me: $what: $(wc -c <"$tmp/in") bytes, output as native," \
                "round trip exact, at most $max kernel threads"
        fi
    done
done
if [ -n "$failed" ]; then
    echo "$me: FAIL:$failed"
    exit 1
fi
echo "$me: PASS"
exit 0
