/* lan-access values (annotation, label, -o, driver-opt, settings file):
 * az_lan_parse_list and az_lan_parse_entry, and the canonical round trip. */
#include "tests/fuzz/fuzz.h"
#include "config/config.h"

static void roundtrip(const struct az_lan_list *l)
{
	struct az_buf a, b;
	struct az_lan_list again;
	az_error err;

	az_buf_init(&a);
	az_buf_init(&b);
	fz_assert(az_lan_format(l, &a) == 0, "format failed");
	fz_assert(az_lan_parse_list(a.data ? a.data : "", &again, &err) == 0,
		  "canonical \"%s\" does not parse: %s", a.data, err.msg);
	fz_assert(az_lan_format(&again, &b) == 0, "format failed");
	fz_assert(!strcmp(a.data ? a.data : "", b.data ? b.data : ""),
		  "canonical text not stable: \"%s\" then \"%s\"", a.data, b.data);
	for (size_t i = 0; i < l->n; i++) {
		struct az_lan_entry e;
		struct az_buf c;

		az_buf_init(&c);
		fz_assert(az_lan_entry_format(&l->v[i], &c) == 0, "entry format failed");
		fz_assert(az_lan_parse_entry(c.data, &e, &err) == 0, "entry \"%s\" does not parse: %s",
			  c.data, err.msg);
		az_buf_free(&c);
	}
	free(again.v);
	az_buf_free(&a);
	az_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_cstr(data, size);
	struct az_lan_list l;
	struct az_lan_entry e;
	az_error err;

	if (az_setting_check("lan-access", s, &err) == 0 && az_lan_parse_list(s, &l, &err) == 0) {
		roundtrip(&l);
		free(l.v);
	}
	/* The entry parser is also reached without the list's checks. */
	(void)az_lan_parse_entry(s, &e, &err);
	free(s);
	return 0;
}
