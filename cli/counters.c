/* counters.c — refused-packet counters, read from nftables' JSON output.
 *
 * Host layer: the sets refused4/refused6 of table inet alcatraz carry one
 * element per container address, with a counter and the comment
 * "alcatraz:<id>"; the refuse chains look the source up there, which counts
 * the packet on that element.  Netns layer: the first statement of chain
 * refuse of the table inside the container's netns is a counter.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t json_u64(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

/* The "nftables" array of a libnftables JSON answer. */
static const cJSON *nft_items(const cJSON *root, az_error *err)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "nftables");

	if (!cJSON_IsArray(items)) {
		az_err(err, EINVAL, "nft: unexpected JSON output (no \"nftables\" array)");
		return NULL;
	}
	return items;
}

static int refused_add(struct cli_refused *r, const cJSON *elem)
{
	const cJSON *comment = cJSON_GetObjectItemCaseSensitive(elem, "comment");
	const cJSON *counter = cJSON_GetObjectItemCaseSensitive(elem, "counter");

	if (!cJSON_IsString(comment) || !cJSON_IsObject(counter))
		return 0;	/* an element without both is not one of ours */
	struct cli_refused_elem *v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	r->v = v;
	struct cli_refused_elem *e = &r->v[r->n++];
	snprintf(e->comment, sizeof(e->comment), "%s", comment->valuestring);
	e->packets = json_u64(counter, "packets");
	e->bytes = json_u64(counter, "bytes");
	return 0;
}

int cli_refused_parse(const char *json, struct cli_refused *r, az_error *err)
{
	cleanup_json cJSON *root = cJSON_Parse(json);
	const cJSON *items = nft_items(root, err), *item, *x;

	if (!items)
		return -1;
	cJSON_ArrayForEach(item, items) {
		const cJSON *set = cJSON_GetObjectItemCaseSensitive(item, "set");
		const cJSON *elems = cJSON_GetObjectItemCaseSensitive(set, "elem");

		cJSON_ArrayForEach(x, elems) {
			/* {"elem": {"val": …, "counter": …, "comment": …}};
			 * a bare value has neither counter nor comment. */
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(x, "elem");
			if (cJSON_IsObject(e) && refused_add(r, e) < 0)
				return az_err(err, ENOMEM, "out of memory");
		}
	}
	return 0;
}

void cli_refused_read(struct cli_refused *r)
{
	static const char *const cmds[] = { "list set inet " AZ_TABLE " refused4",
					    "list set inet " AZ_TABLE " refused6" };

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < 2; i++) {
		cleanup_free char *out = NULL;
		az_error e;

		if (az_nft_query(-1, cmds[i], true, &out, &e) < 0 || cli_refused_parse(out, r, &e) < 0)
			return;
	}
	r->known = true;
}

void cli_refused_free(struct cli_refused *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

struct cli_counter cli_refused_sum(const struct cli_refused *r, const char *id)
{
	struct cli_counter c = { .known = r->known };
	char want[AZ_ID_MAX + 16];

	snprintf(want, sizeof(want), "alcatraz:%s", id);
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->v[i].comment, want)) {
			c.packets += r->v[i].packets;
			c.bytes += r->v[i].bytes;
		}
	return c;
}

int cli_chain_counter_parse(const char *json, struct cli_counter *c, az_error *err)
{
	cleanup_json cJSON *root = cJSON_Parse(json);
	const cJSON *items = nft_items(root, err), *item, *x;

	memset(c, 0, sizeof(*c));
	if (!items)
		return -1;
	cJSON_ArrayForEach(item, items) {
		const cJSON *rule = cJSON_GetObjectItemCaseSensitive(item, "rule");

		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(rule, "expr")) {
			const cJSON *counter = cJSON_GetObjectItemCaseSensitive(x, "counter");
			if (cJSON_IsObject(counter)) {
				c->known = true;
				c->packets = json_u64(counter, "packets");
				c->bytes = json_u64(counter, "bytes");
				return 0;
			}
		}
	}
	return az_err(err, ENOENT, "no counter in chain refuse");
}

struct cli_counter cli_netns_refused(const struct az_attachment *a)
{
	struct cli_counter c = { 0 };
	cleanup_free char *out = NULL;
	az_error e;

	if (!a->alive)
		return c;
	cleanup_close int fd = open(a->target.netns_path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	/* The path may name another netns by now (a /proc/PID path whose pid
	 * was reused): count only in the one the record describes. */
	if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_dev != a->target.netns_dev ||
	    (uint64_t)st.st_ino != a->target.netns_ino ||
	    az_nft_query(fd, "list chain inet " AZ_TABLE " refuse", true, &out, &e) < 0 ||
	    cli_chain_counter_parse(out, &c, &e) < 0)
		memset(&c, 0, sizeof(c));
	return c;
}
