/* A library the tls_vars test loads with dlopen after its threads have
 * started: its TLS is dynamic, allocated per thread on first use. */
__thread long dl_init = 7;
__thread char dl_buf[4096];

long *dl_init_addr(void)
{
    return &dl_init;
}

char *dl_buf_addr(void)
{
    return dl_buf;
}
