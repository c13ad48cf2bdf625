/* Compiled (not run) by `make check-headers` as C99, C11 and C++: the
 * event-loop adapters of the async client build warning-free in each
 * (with _POSIX_C_SOURCE, which strict C99 and C11 need for <uv.h>). */
#include <reds/async/libev.h>
#include <reds/async/libevent.h>
#include <reds/async/libuv.h>
#include <reds/reds.h>

int reds_adapters_compile(void);

int reds_adapters_compile(void)
{
    return (int)sizeof(reds_libevent) + (int)sizeof(reds_libuv) + (int)sizeof(reds_libev);
}
