# Real programs: programs installed on the system (Debian packages), run
# under the preload by a driver script each, with what they need built
# here.  A driver skips (77) when its program is not installed.
#
# memcached: the server runs under goshim; its client, built here, runs
# natively and checks every reply.
check_PROGRAMS += tests/real/memcached_client
tests_real_memcached_client_SOURCES = tests/real/memcached_client.c
tests_real_memcached_client_CFLAGS = $(AM_CFLAGS) -pthread
tests_real_memcached_client_LDFLAGS = -pthread

TESTS += tests/real/memcached.sh
EXTRA_DIST += tests/real/memcached.sh

# pigz: compresses and decompresses under goshim, checked against the
# native pigz's output.
TESTS += tests/real/pigz.sh
EXTRA_DIST += tests/real/pigz.sh
