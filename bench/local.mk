# Benchmark programs: plain pthread C, run natively and under goshim by
# scripts/bench; their Go twins in bench/go/ are built by scripts/bench
# when go is installed.
noinst_PROGRAMS += bench/create_join bench/sleepers bench/yield_pingpong \
	bench/mutex_cond_pingpong bench/cond_broadcast bench/mutex_uncontended \
	bench/mutex_contended bench/echo bench/pipe_pingpong
bench_create_join_SOURCES = bench/create_join.c bench/procstat.h
bench_create_join_LDADD = -lpthread
bench_sleepers_SOURCES = bench/sleepers.c bench/procstat.h
bench_sleepers_LDADD = -lpthread
bench_yield_pingpong_SOURCES = bench/yield_pingpong.c bench/procstat.h
bench_yield_pingpong_LDADD = -lpthread
bench_mutex_cond_pingpong_SOURCES = bench/mutex_cond_pingpong.c bench/procstat.h
bench_mutex_cond_pingpong_LDADD = -lpthread
bench_cond_broadcast_SOURCES = bench/cond_broadcast.c bench/procstat.h
bench_cond_broadcast_LDADD = -lpthread
bench_mutex_uncontended_SOURCES = bench/mutex_uncontended.c bench/procstat.h
bench_mutex_uncontended_LDADD = -lpthread
bench_mutex_contended_SOURCES = bench/mutex_contended.c bench/procstat.h
bench_mutex_contended_LDADD = -lpthread
bench_echo_SOURCES = bench/echo.c bench/procstat.h
bench_echo_LDADD = -lpthread
bench_pipe_pingpong_SOURCES = bench/pipe_pingpong.c bench/procstat.h
bench_pipe_pingpong_LDADD = -lpthread
EXTRA_DIST += \
	bench/go/create_join.go \
	bench/go/sleepers.go \
	bench/go/yield_pingpong.go \
	bench/go/mutex_cond_pingpong.go \
	bench/go/cond_broadcast.go \
	bench/go/mutex_uncontended.go \
	bench/go/mutex_contended.go \
	bench/go/echo.go \
	bench/go/pipe_pingpong.go \
	bench/go/procstat.go
