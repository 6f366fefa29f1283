/* A shared library the tls_vars test links against: TLS of a module other
 * than the program (general-dynamic model, through __tls_get_addr, as a
 * library compiled with -fPIC uses it). */
__thread long dep_init = 42;
__thread long dep_zero;

long *dep_init_addr(void)
{
    return &dep_init;
}

long *dep_zero_addr(void)
{
    return &dep_zero;
}
