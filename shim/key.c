/*
 * key.c — pthread_key_create/delete, pthread_getspecific/setspecific over
 * the runtime's key table (src/tsd.c).
 */
#include "shim.h"

SHIM_EXPORT int pthread_key_create(pthread_key_t *key, void (*destr)(void *))
{
	shim_g();
	unsigned k;
	int err = tsd_key_create(&k, destr);
	if (err)
		return -err;
	*key = k;
	return 0;
}

SHIM_EXPORT int pthread_key_delete(pthread_key_t key)
{
	shim_g();
	return -tsd_key_delete(key);
}

SHIM_EXPORT void *pthread_getspecific(pthread_key_t key)
{
	shim_g();
	return tsd_get(key);
}

SHIM_EXPORT int pthread_setspecific(pthread_key_t key, const void *value)
{
	shim_g();
	return -tsd_set(key, value);
}
