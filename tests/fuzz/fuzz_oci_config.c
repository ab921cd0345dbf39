/* The bundle's config.json as the hook reads it (hook/main.c
 * parse_config_json): network namespace entry and path, capabilities, the
 * resolv.conf bind mount. */
#include "tests/fuzz/fuzz.h"

#define main az_hook_main
#include "hook/main.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_config cfg;
	az_error err;

	if (parse_config_json((const char *)data, size, "config.json", &cfg, &err) == 0) {
		fz_assert(strlen(cfg.netns_path) < sizeof(cfg.netns_path), "netns path");
		fz_assert(!cfg.netns_path[0] || cfg.has_netns_entry, "a netns path without an entry");
		fz_assert(strlen(cfg.resolv_conf) < sizeof(cfg.resolv_conf), "resolv.conf path");
	}
	return 0;
}
