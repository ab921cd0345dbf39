/* The OCI state the runtime writes on the hook's stdin (hook/main.c
 * parse_state), then its annotations through az_policy_resolve under the
 * built-in settings, as the hook does at createRuntime. */
#include "tests/fuzz/fuzz.h"

/* The hook's own parser, not a copy of it. */
#define main az_hook_main
#include "hook/main.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_in in;
	struct az_settings s;
	struct az_policy p;
	az_error err;

	if (parse_state((const char *)data, size, &in, &err) == 0) {
		fz_assert(az_id_valid(in.id) && !strchr(in.id, '/'), "id \"%s\" accepted", in.id);
		fz_assert(!in.bundle[0] || in.bundle[0] == '/', "bundle \"%s\" accepted", in.bundle);
		fz_assert(in.pid >= 0, "pid %ld", in.pid);
		az_settings_default(&s);
		if (az_policy_resolve(&s, in.ann, in.n_ann, &p, &err) == 0)
			az_policy_free(&p);
		az_settings_free(&s);
	}
	cJSON_Delete(in.tree);
	free(in.ann);
	return 0;
}
