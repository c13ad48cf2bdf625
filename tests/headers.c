/* Compiled (not run) by `make check-headers` as C99, C11 and C++: the
 * public headers must build warning-free in each, pedantic included. */
#include <reds/reds.h>
/* Not in the umbrella: the API add-on command bindings are built on. */
#include <reds/extension.h>

int reds_headers_compile(void);

int reds_headers_compile(void)
{
    reds_set_opts o = {
        REDS_SET_CONDITION_NX, {false, 0}, {false, 0}, {false, 0}, {false, 0}, false};
    reds_str s = reds_cstr("x");
    reds_str lit = REDS_STR("literal");
    reds_opt_i64 n = REDS_I64(0);
    reds_opt_f64 d = REDS_F64(1.5);
    (void)o;
    return (int)s.len + (int)lit.len + (int)n.value + (int)d.value;
}
