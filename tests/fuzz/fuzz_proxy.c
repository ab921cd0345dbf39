/* proxy values: az_proxy_parse and the canonical round trip. */
#include "tests/fuzz/fuzz.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_cstr(data, size);
	struct az_proxy p, again;
	struct az_buf a, b;
	az_error err;

	az_buf_init(&a);
	az_buf_init(&b);
	if (az_setting_check("proxy", s, &err) == 0 && az_proxy_parse(s, &p, &err) == 0) {
		fz_assert(p.n <= 2, "%zu endpoints", p.n);
		fz_assert(az_proxy_format(&p, &a) == 0, "format failed");
		/* "" is no proxy: the settings file and records skip the parser for it */
		if (p.n) {
			fz_assert(az_proxy_parse(a.data, &again, &err) == 0,
				  "canonical \"%s\" does not parse: %s", a.data, err.msg);
			fz_assert(az_proxy_format(&again, &b) == 0, "format failed");
			fz_assert(!strcmp(a.data, b.data), "canonical text not stable: \"%s\" then \"%s\"",
				  a.data, b.data);
		}
	}
	az_buf_free(&a);
	az_buf_free(&b);
	free(s);
	return 0;
}
