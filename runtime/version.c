/* reds_version(): the version of the library a program runs with. */
#include <reds/version.h>

const char *reds_version(void)
{
    return REDS_VERSION;
}

int reds_version_number(void)
{
    return REDS_VERSION_NUMBER;
}
