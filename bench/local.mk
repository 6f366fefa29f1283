# Benchmark programs: plain pthread C, run natively and under goshim by
# scripts/bench; their Go twins in bench/go/ are built by scripts/bench
# when go is installed.
noinst_PROGRAMS += bench/create_join bench/sleepers bench/yield_pingpong
bench_create_join_SOURCES = bench/create_join.c bench/procstat.h
bench_create_join_LDADD = -lpthread
bench_sleepers_SOURCES = bench/sleepers.c bench/procstat.h
bench_sleepers_LDADD = -lpthread
bench_yield_pingpong_SOURCES = bench/yield_pingpong.c bench/procstat.h
bench_yield_pingpong_LDADD = -lpthread
EXTRA_DIST += \
	bench/go/create_join.go \
	bench/go/sleepers.go \
	bench/go/yield_pingpong.go
