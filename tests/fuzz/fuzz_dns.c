/* dns values: az_dns_parse and the canonical round trip. */
#include "tests/fuzz/fuzz.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_cstr(data, size);
	struct az_dns d, again;
	struct az_buf a, b;
	az_error err;

	az_buf_init(&a);
	az_buf_init(&b);
	if (az_setting_check("dns", s, &err) == 0 && az_dns_parse(s, &d, &err) == 0) {
		fz_assert(d.n <= AZ_MAX_DNS, "%zu resolvers", d.n);
		fz_assert(d.mode == AZ_DNS_LIST || d.n == 0, "mode %d with %zu resolvers", d.mode, d.n);
		fz_assert(az_dns_format(&d, &a) == 0, "format failed");
		fz_assert(az_dns_parse(a.data, &again, &err) == 0, "canonical \"%s\" does not parse: %s",
			  a.data, err.msg);
		fz_assert(az_dns_format(&again, &b) == 0, "format failed");
		fz_assert(!strcmp(a.data, b.data), "canonical text not stable: \"%s\" then \"%s\"", a.data,
			  b.data);
	}
	az_buf_free(&a);
	az_buf_free(&b);
	free(s);
	return 0;
}
