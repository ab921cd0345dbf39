/* What the Docker Engine API sends the plugin's label route (plugin/events.c):
 * lines of GET /events (pl_event_parse) and GET /containers/json replies
 * (pl_containers_parse).  The first byte chooses which. */
#include "tests/fuzz/fuzz.h"
#include "plugin/plugin.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	az_log_stderr = false;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	az_error err;

	if (size == 0)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	if (data[0] & 1) {
		struct pl_event ev;
		if (pl_event_parse(text, len, &ev, &err) == 1) {
			fz_assert(pl_id_valid(ev.network_id), "network id \"%s\"", ev.network_id);
			fz_assert(pl_id_valid(ev.container_id), "container id \"%s\"", ev.container_id);
		}
	} else {
		struct pl_container *v = NULL;
		size_t n = 0;
		if (pl_containers_parse(text, len, &v, &n, &err) == 0) {
			for (size_t i = 0; i < n; i++) {
				fz_assert(pl_id_valid(v[i].id), "container id \"%s\"", v[i].id);
				if (!v[i].labels_bad)
					fz_assert(pl_opts_check(v[i].labels, v[i].n_labels, "labels", &err) == 0,
						  "labels accepted that the driver refuses: %s", err.msg);
			}
			pl_containers_free(v, n);
		}
	}
	return 0;
}
