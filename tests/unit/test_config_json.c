/* az_json_has_nul: a NUL byte in JSON text, raw or escaped, is found; an
 * escaped backslash followed by "u0000" is text, not a NUL. */
#include <criterion/criterion.h>
#include <string.h>

#include "config/config.h"

static bool has(const char *s)
{
	return az_json_has_nul(s, strlen(s));
}

Test(config_json, nul_found)
{
	cr_assert(az_json_has_nul("{\"a\":\"x\0y\"}", 11));
	cr_assert(has("{\"a\":\"10.0.0.1\\u0000 *\"}"));
	cr_assert(has("{\"a\\u0000b\":1}"));
	cr_assert(has("[\"\\\\\", \"\\u0000\"]"));
	cr_assert(has("{\"a\":\"\\u00001\"}"));
}

Test(config_json, no_nul)
{
	cr_assert_not(has("{\"a\":\"10.0.0.1 *\"}"));
	cr_assert_not(has("{\"a\":\"\\\\u0000\"}"));	/* \\ then u0000: text */
	cr_assert_not(has("{\"a\":\"\\\"\\u0001\"}"));
	cr_assert_not(has("{\"a\":\"\\u000\"}"));
	cr_assert_not(has(""));
}
