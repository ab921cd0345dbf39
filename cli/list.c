/* list.c — `alcatraz list`: one row per attachment (a network namespace and
 * the containers in it), with its interfaces, settings and refused packets.
 */
#include "cli/cli.h"

#include <string.h>

static const char *const head[] = { "CONTAINER", "STATE", "NETNS", "INTERFACES",
				    "REFUSED(HOST)", "REFUSED(NETNS)", "SETTINGS" };
#define NCOLS (sizeof(head) / sizeof(head[0]))

struct listing {
	struct az_attachment *v;
	size_t n;
	struct cli_refused host;
};

static void listing_free(struct listing *l)
{
	az_attachments_free(l->v, l->n);
	cli_refused_free(&l->host);
}

static bool link_local6(const struct az_addr *a)
{
	return a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

/* "eth0->veth1@podman0 10.88.0.5/16 fd00::5/64", interfaces joined by "; ".
 * Link-local IPv6 addresses are left to --json: every interface has one and
 * they make the column twice as wide. */
static void format_ifaces(const struct az_target *t, struct az_buf *b)
{
	char p[AZ_ADDRSTRLEN];

	for (size_t i = 0; i < t->n_if; i++) {
		const struct az_iface *f = &t->ifs[i];
		az_buf_printf(b, "%s%s", i ? "; " : "", f->ctr_ifname);
		if (f->host_ifname[0])
			az_buf_printf(b, "->%s", f->host_ifname);
		if (f->bridge[0])
			az_buf_printf(b, "@%s", f->bridge);
		for (size_t j = 0; j < f->n4; j++)
			az_buf_printf(b, " %s/%u", az_addr_str(&f->addr4[j].addr, p), f->addr4[j].len);
		for (size_t j = 0; j < f->n6; j++)
			if (!link_local6(&f->addr6[j].addr))
				az_buf_printf(b, " %s/%u", az_addr_str(&f->addr6[j].addr, p),
					      f->addr6[j].len);
	}
}

static void format_members(const struct az_attachment *a, struct az_buf *b)
{
	char sid[13];

	for (size_t i = 0; i < a->n_members; i++)
		az_buf_printf(b, "%s%s", i ? "," : "", az_short_id(a->members[i], sid));
	if (az_name_valid(a->target.name))
		az_buf_printf(b, " (%s)", a->target.name);
}

static void format_counter(struct cli_counter c, char buf[32])
{
	if (c.known)
		snprintf(buf, 32, "%llu", (unsigned long long)c.packets);
	else
		snprintf(buf, 32, "-");
}

static int add_row(struct cli_table *t, const struct az_attachment *a, const struct listing *l)
{
	cleanup_buf struct az_buf members = { 0 };
	cleanup_buf struct az_buf ifs = { 0 };
	cleanup_buf struct az_buf settings = { 0 };
	char host[32], ns[32];

	format_members(a, &members);
	format_ifaces(&a->target, &ifs);
	az_policy_format(&a->policy, &settings);
	format_counter(cli_refused_sum(&l->host, a->target.id), host);
	format_counter(cli_netns_refused(a), ns);
	/* held: a Docker endpoint whose container's labels are not applied yet
	 * (only DNS passes) */
	const char *state = !a->alive ? "gone" : a->target.hold ? "held" : "alive";
	const char *row[NCOLS] = { members.data, state, a->target.netns_path,
				   ifs.data, host, ns, settings.data };
	return cli_table_add(t, row);
}

static int print_human(const struct listing *l)
{
	struct cli_table t;
	int code = CLI_OK;

	cli_table_init(&t, head, NCOLS);
	for (size_t i = 0; i < l->n; i++)
		if (add_row(&t, &l->v[i], l) < 0) {
			fprintf(stderr, "alcatraz: out of memory\n");
			code = CLI_ERROR;
			break;
		}
	cli_table_print(&t, stdout);
	if (l->n == 0)
		printf("no containers are isolated\n");
	cli_table_free(&t);
	return code;
}

static cJSON *prefixes_json(const struct az_prefix *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	char p[AZ_ADDRSTRLEN], s[AZ_ADDRSTRLEN + 8];

	for (size_t i = 0; i < n; i++) {
		snprintf(s, sizeof(s), "%s/%u", az_addr_str(&v[i].addr, p), v[i].len);
		cJSON_AddItemToArray(a, cJSON_CreateString(s));
	}
	return a;
}

static cJSON *ifaces_json(const struct az_target *t)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < t->n_if; i++) {
		const struct az_iface *f = &t->ifs[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", f->ctr_ifname);
		cJSON_AddStringToObject(o, "host", f->host_ifname);
		cJSON_AddStringToObject(o, "bridge", f->bridge);
		cJSON_AddItemToObject(o, "ipv4", prefixes_json(f->addr4, f->n4));
		cJSON_AddItemToObject(o, "ipv6", prefixes_json(f->addr6, f->n6));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *counter_json(struct cli_counter c)
{
	if (!c.known)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "packets", (double)c.packets);
	cJSON_AddNumberToObject(o, "bytes", (double)c.bytes);
	return o;
}

static cJSON *policy_json(const struct az_policy *p)
{
	cJSON *o = cJSON_CreateObject();
	struct az_buf b;

	cJSON_AddStringToObject(o, "enable", p->enabled ? "on" : "off");
	az_buf_init(&b);
	az_lan_format(&p->lan, &b);
	cJSON_AddStringToObject(o, "lan-access", b.data ? b.data : "");
	az_buf_free(&b);
	az_proxy_format(&p->proxy, &b);
	cJSON_AddStringToObject(o, "proxy", b.data ? b.data : "");
	az_buf_free(&b);
	az_dns_format(&p->dns, &b);
	cJSON_AddStringToObject(o, "dns", b.data ? b.data : "");
	az_buf_free(&b);
	cJSON_AddStringToObject(o, "proxy-udp", az_proxy_udp_str(p->proxy_udp));
	return o;
}

static cJSON *attachment_json(const struct az_attachment *a, const struct listing *l)
{
	cJSON *o = cJSON_CreateObject();
	cleanup_buf struct az_buf settings = { 0 };
	char s[AZ_ADDRSTRLEN];

	cJSON_AddStringToObject(o, "id", a->target.id);
	if (az_name_valid(a->target.name))
		cJSON_AddStringToObject(o, "name", a->target.name);
	else
		cJSON_AddNullToObject(o, "name");
	cJSON *m = cJSON_AddArrayToObject(o, "members");
	for (size_t i = 0; i < a->n_members; i++)
		cJSON_AddItemToArray(m, cJSON_CreateString(a->members[i]));
	cJSON_AddStringToObject(o, "key", a->key);
	cJSON_AddBoolToObject(o, "alive", a->alive);
	cJSON_AddBoolToObject(o, "held", a->target.hold);
	cJSON_AddStringToObject(o, "netns", a->target.netns_path);
	cJSON_AddItemToObject(o, "interfaces", ifaces_json(&a->target));
	if (a->target.has_gw4)
		cJSON_AddStringToObject(o, "gateway4", az_addr_str(&a->target.gw4, s));
	if (a->target.has_gw6)
		cJSON_AddStringToObject(o, "gateway6", az_addr_str(&a->target.gw6, s));
	cJSON *r = cJSON_AddArrayToObject(o, "resolvers");
	for (size_t i = 0; i < a->target.n_resolvers; i++)
		cJSON_AddItemToArray(r, cJSON_CreateString(az_addr_str(&a->target.resolvers[i], s)));
	az_policy_format(&a->policy, &settings);
	cJSON_AddStringToObject(o, "settings", settings.data ? settings.data : "");
	cJSON_AddItemToObject(o, "policy", policy_json(&a->policy));
	cJSON *c = cJSON_AddObjectToObject(o, "refused");
	cJSON_AddItemToObject(c, "host", counter_json(cli_refused_sum(&l->host, a->target.id)));
	cJSON_AddItemToObject(c, "netns", counter_json(cli_netns_refused(a)));
	return o;
}

static int print_json(const struct listing *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < l->n; i++)
		cJSON_AddItemToArray(a, attachment_json(&l->v[i], l));
	return cli_json_print(a);
}

static int by_id(const void *pa, const void *pb)
{
	const struct az_attachment *a = pa, *b = pb;

	return strcmp(a->target.id, b->target.id);
}

int cli_list(int argc, char **argv, const struct cli_global *g)
{
	struct cli_global o = *g;
	struct listing l = { 0 };
	az_error err;
	int code = CLI_OK;

	if (!cli_simple_opts(argc, argv, &o, &code))
		return code;
	if (az_attachments_read(&l.v, &l.n, &err) < 0)
		return cli_fail(&err);
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), by_id);
	/* Only the sets' counters need the host layer; without it (flushed,
	 * never applied) the column says "-". */
	if (l.n)
		cli_refused_read(&l.host);
	code = o.json ? print_json(&l) : print_human(&l);
	listing_free(&l);
	return code;
}
