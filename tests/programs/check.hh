// The C++ test programs' CHECK (check.h is C): a failed check prints
// file:line and the expression on stderr and aborts.
#ifndef CHECK_HH
#define CHECK_HH

#include <cstdio>
#include <cstdlib>

#define CHECK(c)                                                           \
    do {                                                                   \
        if (!(c)) {                                                        \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,   \
                         __LINE__, #c);                                    \
            std::abort();                                                  \
        }                                                                  \
    } while (0)

#endif
