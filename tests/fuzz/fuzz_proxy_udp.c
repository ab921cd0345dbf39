/* The word values: proxy-udp and enable (alcatraz.network), and the
 * hostile-text check every value passes first. */
#include "tests/fuzz/fuzz.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_cstr(data, size);
	enum az_proxy_udp u, again;
	bool on;
	az_error err;

	if (az_setting_check("proxy-udp", s, &err) == 0) {
		/* what the check lets through is printable ASCII or a separator */
		for (const char *p = s; *p; p++)
			fz_assert((*p >= 0x20 && *p < 0x7f) || *p == '\t' || *p == '\r' || *p == '\n',
				  "byte 0x%02x passed the check", (unsigned char)*p);
	}
	if (az_proxy_udp_parse(s, &u, &err) == 0) {
		fz_assert(u == AZ_PROXY_UDP_DIRECT || u == AZ_PROXY_UDP_BLOCK, "value %d", u);
		fz_assert(az_proxy_udp_parse(az_proxy_udp_str(u), &again, &err) == 0 && again == u,
			  "\"%s\" does not parse back", az_proxy_udp_str(u));
	}
	(void)az_enable_parse(s, &on, &err);
	free(s);
	return 0;
}
