#!/bin/sh
# memcached.sh: a real program under goshim.  memcached (the Debian
# package: libevent, a listener thread, four worker threads and its LRU,
# hash-table, crawler and logger threads) runs under the preload and serves
# tests/real/memcached_client, which runs natively: 50 threads, 200
# connections, every reply checked byte for byte and the server's stats
# against the requests sent (see memcached_client.c).
#
# Once per GOMAXPROCS value a run:
# - starts its own memcached on a free port of 127.0.0.1 (as nobody when
#   run as root: memcached will not run as root), its hash table small
#   enough (2^13 buckets) that the client's keys make it grow;
# - samples the server's kernel threads from start to stop, every 10 ms
#   during the workload (the client does, with -P: a shell loop forks
#   sleep(1) and falls behind on a busy machine): at most GOMAXPROCS+4,
#   the GOMAXPROCS+3 of tests/programs plus one blocked in the netpoller,
#   as for the echo programs;
# - checks that every kernel thread of the server has the user memcached
#   switched to (setuid reaches the threads goshim made before it);
# - stops memcached with SIGTERM: it must exit 0 within stop_s seconds,
#   with nothing on stderr (it writes nothing there in a clean run).
#
# Exit status: 0 pass, 77 skip (memcached not installed), 99 hard error,
# 1 fail.
#
# Environment (make check sets the first two):
#   GOSHIM_LIBRARY       libgoshim.so to preload (required)
#   top_builddir         where tests/real/memcached_client was built
#   GOSHIM_TEST_PROCS    GOMAXPROCS values (default "1 2")
#   GOSHIM_TEST_TIMEOUT  seconds allowed for the client per run (default 120)

set -u

me=memcached.sh
procs=${GOSHIM_TEST_PROCS:-1 2}
timeout_s=${GOSHIM_TEST_TIMEOUT:-120}
# Seconds for memcached to accept connections, and to exit after SIGTERM
# (its clock event, which notices the signal, ticks once a second).
start_s=10
stop_s=10

memcached=$(command -v memcached) || {
    echo "$me: SKIP: memcached is not installed (Debian: memcached)"
    exit 77
}
if [ -z "${GOSHIM_LIBRARY:-}" ] || [ ! -f "$GOSHIM_LIBRARY" ]; then
    echo "$me: GOSHIM_LIBRARY is not set or not a file" >&2
    exit 99
fi
client=${top_builddir:-.}/tests/real/memcached_client
if [ ! -x "$client" ]; then
    echo "$me: no client $client" >&2
    exit 99
fi
for c in timeout getconf; do
    command -v $c >/dev/null 2>&1 || { echo "$me: no $c" >&2; exit 99; }
done

user=
if [ "$(id -u)" = 0 ]; then
    user="-u nobody"
fi
cpus=$(getconf _NPROCESSORS_ONLN)

tmp=$(mktemp -d) || exit 99
server=
client_pid=

# running PID: PID is a process that has not exited (a child that exited
# stays, a zombie, until waited for).
running() {
    state=
    [ -r "/proc/$1/status" ] || return 1
    while read -r k v _; do
        if [ "$k" = State: ]; then
            state=$v
            break
        fi
    done 2>/dev/null <"/proc/$1/status"
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# sample: one look at the server's kernel threads, in threads; max and
# samples keep count.  No fork: it runs every 10 ms while memcached stops.
sample() {
    threads=
    [ -r "/proc/$server/status" ] || return 0
    while read -r k v _; do
        if [ "$k" = Threads: ]; then
            threads=$v
            samples=$((samples + 1))
            [ "$v" -gt "$max" ] && max=$v
            break
        fi
    done 2>/dev/null <"/proc/$server/status"
}

# stop_server: SIGTERM, then SIGKILL after stop_s; sets server_rc and
# stop_ms (-1 when it had to be killed).
stop_server() {
    kill -TERM "$server" 2>/dev/null
    i=0
    while running "$server" && [ $i -lt $((stop_s * 100)) ]; do
        sample
        sleep 0.01
        i=$((i + 1))
    done
    stop_ms=$((i * 10))
    if running "$server"; then
        kill -KILL "$server" 2>/dev/null
        stop_ms=-1
    fi
    wait "$server"
    server_rc=$?
    server=
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    if [ -n "$client_pid" ]; then
        kill -KILL "$client_pid" 2>/dev/null
    fi
    if [ -n "$server" ]; then
        kill -KILL "$server" 2>/dev/null
        wait "$server" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server P: memcached under the preload with GOMAXPROCS=P on a free
# port, accepting connections; sets server and port.  Another process may
# take the port between the client's look and memcached's bind: then try
# another.
start_server() {
    for attempt in 1 2 3 4 5; do
        port=$("$client" --free-port) || return 1
        # env runs without the preload and execs memcached: $! is its pid.
        # shellcheck disable=SC2086 # $user: none or "-u nobody"
        env LD_PRELOAD="$GOSHIM_LIBRARY${LD_PRELOAD:+ $LD_PRELOAD}" \
            GOMAXPROCS="$1" \
            "$memcached" -l 127.0.0.1 -p "$port" -U 0 -t 4 -m 256 -M \
            -o hashpower=13 $user \
            >"$tmp/server.out" 2>"$tmp/server.err" &
        server=$!
        i=0
        while [ $i -lt $((start_s * 10)) ]; do
            sample
            if ! running "$server"; then
                break
            fi
            if "$client" --ping 127.0.0.1 "$port"; then
                return 0
            fi
            sleep 0.1
            i=$((i + 1))
        done
        if running "$server"; then
            echo "$me: memcached does not answer on port $port after" \
                "${start_s}s" >&2
            kill -KILL "$server"
            wait "$server"
            server=
            return 1
        fi
        wait "$server"
        rc=$?
        server=
        if ! grep -q 'Address already in use' "$tmp/server.err"; then
            echo "$me: memcached exited with status $rc at start:" >&2
            cat "$tmp/server.err" >&2
            return 1
        fi
        echo "$me: port $port was taken (attempt $attempt of 5)"
    done
    echo "$me: no port memcached could listen on in 5 attempts" >&2
    return 1
}

# check_uids: every kernel thread of the server runs as the main thread
# does, and not as root.
check_uids() {
    main_uid=$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/$server/status")
    if [ -n "$user" ] && [ "${main_uid%%[[:space:]]*}" = 0 ]; then
        echo "uid 0 after -u nobody"
        return 1
    fi
    for f in /proc/"$server"/task/*/status; do
        u=$(sed -n 's/^Uid:[[:space:]]*//p' "$f" 2>/dev/null)
        if [ -n "$u" ] && [ "$u" != "$main_uid" ]; then
            echo "$f: Uid $u, main thread $main_uid"
            return 1
        fi
    done
    return 0
}

failed=
for p in $procs; do
    what="GOMAXPROCS=$p"
    limit=$((p + 4))
    max=0
    samples=0
    why=
    start=$(date +%s)
    if ! start_server "$p"; then
        echo "$me: FAIL: $what: memcached did not start" >&2
        failed="$failed $p"
        continue
    fi
    echo "$me: $what: memcached $("$memcached" -V | cut -d' ' -f2)," \
        "pid $server, port $port${user:+, $user}"

    timeout -k 5 "$timeout_s" "$client" -S -P "$server" \
        -T $((timeout_s - 5)) 127.0.0.1 "$port" \
        >"$tmp/client.out" 2>"$tmp/client.err" &
    client_pid=$!
    wait "$client_pid"
    client_rc=$?
    client_pid=
    cat "$tmp/client.out"
    cat "$tmp/client.err" >&2
    # The client's samples, during the workload.
    re='^.*: at most \([0-9]*\) kernel threads in \([0-9]*\) samples$'
    cmax=$(sed -n "s/$re/\\1/p" "$tmp/client.out")
    csamples=$(sed -n "s/$re/\\2/p" "$tmp/client.out")
    if [ -n "$cmax" ] && [ -n "$csamples" ]; then
        [ "$cmax" -gt "$max" ] && max=$cmax
        samples=$((samples + csamples))
    fi
    if [ $client_rc -eq 124 ] || [ $client_rc -eq 137 ]; then
        why="the client did not finish in ${timeout_s}s"
    elif [ $client_rc -ne 0 ]; then
        why="the client failed (status $client_rc)"
    elif ! grep -q 'hash_power_level 1[4-9]' "$tmp/client.out"; then
        why="memcached's hash table did not grow (its maintenance thread)"
    elif ! running "$server"; then
        why="memcached died during the run"
    elif ! bad=$(check_uids); then
        why="kernel threads with another user: $bad"
    fi
    sample
    threads_now=$threads

    stop_server
    if [ -z "$why" ]; then
        if [ $stop_ms -lt 0 ]; then
            why="memcached did not exit within ${stop_s}s of SIGTERM"
        elif [ $server_rc -ne 0 ]; then
            why="memcached exited with status $server_rc after SIGTERM"
        elif [ -s "$tmp/server.err" ]; then
            why="memcached wrote on stderr"
        fi
    fi
    if [ -s "$tmp/server.err" ]; then
        echo "$me: memcached's stderr:"
        cat "$tmp/server.err"
    fi

    echo "$me: $what: kernel threads: at most $max in $samples samples" \
        "(limit $limit), $threads_now at the end of the workload;" \
        "exit after SIGTERM in ${stop_ms} ms"
    if [ -z "$why" ] && [ "$max" -gt "$limit" ]; then
        if [ "$p" -gt "$cpus" ]; then
            # As for the echo programs: with more Ps than CPUs the kernel
            # preempts Ms inside short system calls and sysmon hands
            # their Ps to new Ms; the bound is for schedules that fit.
            echo "$me: $what: more than $limit kernel threads, not" \
                "checked with GOMAXPROCS above the $cpus CPUs"
        else
            why="$max kernel threads, more than GOMAXPROCS+4=$limit"
        fi
    fi
    if [ -n "$why" ]; then
        echo "$me: FAIL: $what: $why" >&2
        failed="$failed $p"
    else
        echo "$me: ok: $what ($(($(date +%s) - start))s)"
    fi
done

if [ -n "$failed" ]; then
    echo "$me: FAIL: memcached failed with GOMAXPROCS in:$failed" >&2
    exit 1
fi
exit 0
