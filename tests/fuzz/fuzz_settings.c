/* The settings file, /etc/alcatraz/alcatraz.json: az_settings_parse_json.
 * What it accepts must be coherent and its values canonical. */
#include "tests/fuzz/fuzz.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct az_settings s;
	struct az_policy copy;
	struct az_buf a;
	az_error err;

	if (az_settings_parse_json((const char *)data, size, &s, &err) < 0) {
		/* refused: the built-in defaults are left, nothing to free */
		fz_assert(s.defaults.lan.v == NULL && s.path == NULL, "refused settings left memory");
		return 0;
	}
	fz_assert(s.defaults.enabled == (s.isolate == AZ_ISOLATE_ALL), "enabled and isolate disagree");
	fz_assert(s.annotations == AZ_ANN_ANY || s.annotations == AZ_ANN_NARROW ||
			  s.annotations == AZ_ANN_IGNORE,
		  "annotations %d", s.annotations);
	fz_assert(s.defaults.lan.n <= AZ_MAX_LAN, "%zu lan entries", s.defaults.lan.n);
	az_buf_init(&a);
	fz_assert(az_policy_format(&s.defaults, &a) == 0, "format failed");
	fz_assert(az_policy_copy(&copy, &s.defaults, &err) == 0, "copy failed");
	fz_assert(az_policy_equal(&copy, &s.defaults), "a copy differs: %s", a.data);
	az_policy_free(&copy);
	az_buf_free(&a);
	az_settings_free(&s);
	return 0;
}
