/* explain.c — `alcatraz explain`: the rules given settings would produce for
 * a synthetic container, rendered exactly as the hook renders them (same
 * settings file, same annotation policy, same renderer), never applied.
 */
#include "cli/cli.h"
#include "hook/discover.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#define MAX_ANNOTATIONS 64
#define EXPLAIN_ID "explain"

struct explain_opts {
	struct cli_global g;
	bool skeleton;
	size_t n_kv;
	struct az_kv kv[MAX_ANNOTATIONS];
	size_t n_ip;
	struct az_prefix ip[2 * AZ_MAX_ADDRS];
	bool has_gw4, has_gw6;
	struct az_addr gw4, gw6;
	const char *host_if;
	const char *bridge;
	const char *resolv_conf;
};

static bool ifname_ok(const char *n)
{
	size_t l = strlen(n);

	if (l == 0 || l >= IFNAMSIZ)
		return false;
	return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@") == l;
}

/* "ADDR" or "ADDR/LEN"; an interface address may have host bits set. */
static int parse_if_addr(const char *s, struct az_prefix *out)
{
	char a[AZ_PREFIXSTRLEN + 8];
	char *slash, *end;

	if (snprintf(a, sizeof(a), "%s", s) >= (int)sizeof(a))
		return -1;
	slash = strchr(a, '/');
	if (slash)
		*slash = '\0';
	if (az_addr_parse(a, &out->addr) < 0)
		return -1;
	unsigned max = out->addr.family == AF_INET ? 32 : 128;
	out->len = (uint8_t)max;
	if (!slash)
		return 0;
	errno = 0;
	unsigned long len = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || len > max)
		return -1;
	out->len = (uint8_t)len;
	return 0;
}

static int add_annotation(struct explain_opts *o, char *arg)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg)
		return cli_usage_error("explain", "annotation \"%s\" is not KEY=VALUE", arg);
	if (o->n_kv >= MAX_ANNOTATIONS)
		return cli_usage_error("explain", "more than %d annotations", MAX_ANNOTATIONS);
	*eq = '\0';
	o->kv[o->n_kv++] = (struct az_kv){ .key = arg, .value = eq + 1 };
	return CLI_OK;
}

static int add_ip(struct explain_opts *o, const char *arg)
{
	if (o->n_ip >= sizeof(o->ip) / sizeof(o->ip[0]))
		return cli_usage_error("explain", "too many --ip");
	if (parse_if_addr(arg, &o->ip[o->n_ip]) < 0)
		return cli_usage_error("explain", "--ip \"%s\" is not ADDR or ADDR/LEN", arg);
	o->n_ip++;
	return CLI_OK;
}

static int set_gateway(struct explain_opts *o, const char *arg)
{
	struct az_addr a;

	if (az_addr_parse(arg, &a) < 0)
		return cli_usage_error("explain", "--gateway \"%s\" is not an IP address", arg);
	if (a.family == AF_INET) {
		o->has_gw4 = true;
		o->gw4 = a;
	} else {
		o->has_gw6 = true;
		o->gw6 = a;
	}
	return CLI_OK;
}

static int set_ifname(const char *what, const char *arg, const char **dst)
{
	if (!ifname_ok(arg))
		return cli_usage_error("explain", "%s \"%s\" is not an interface name", what, arg);
	*dst = arg;
	return CLI_OK;
}

enum { OPT_IP = 256, OPT_GATEWAY, OPT_HOST_IF, OPT_BRIDGE, OPT_RESOLV, OPT_SKELETON };

static int one_opt(struct explain_opts *o, int opt, char *arg)
{
	switch (opt) {
	case 'a':
		return add_annotation(o, arg);
	case OPT_IP:
		return add_ip(o, arg);
	case OPT_GATEWAY:
		return set_gateway(o, arg);
	case OPT_HOST_IF:
		if (!strcmp(arg, "none")) {
			o->host_if = "";
			return CLI_OK;
		}
		return set_ifname("--host-if", arg, &o->host_if);
	case OPT_BRIDGE:
		return set_ifname("--bridge", arg, &o->bridge);
	case OPT_RESOLV:
		o->resolv_conf = arg;
		return CLI_OK;
	case OPT_SKELETON:
		o->skeleton = true;
		return CLI_OK;
	}
	return CLI_USAGE;
}

/* true to go on; false to exit with *code. */
static bool parse_opts(int argc, char **argv, struct explain_opts *o, int *code)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{ "annotation", required_argument, NULL, 'a' },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "gateway", required_argument, NULL, OPT_GATEWAY },
		{ "host-if", required_argument, NULL, OPT_HOST_IF },
		{ "bridge", required_argument, NULL, OPT_BRIDGE },
		{ "resolv-conf", required_argument, NULL, OPT_RESOLV },
		{ "skeleton", no_argument, NULL, OPT_SKELETON },
		{ 0 },
	};
	int opt;

	o->host_if = "vethEXPLAIN";
	o->bridge = "podman0";
	o->resolv_conf = "/etc/resolv.conf";
	while ((opt = getopt_long(argc, argv, "ha:", longopts, NULL)) != -1) {
		if (cli_common_opt(opt, &o->g, code)) {
			if (opt != 'J')
				return false;
			continue;
		}
		*code = one_opt(o, opt, optarg);
		if (*code != CLI_OK)
			return false;
	}
	if (optind < argc) {
		*code = cli_usage_error("explain", "unexpected argument \"%s\"", argv[optind]);
		return false;
	}
	return true;
}

/* ---- the synthetic target ---- */

static void target_addrs(const struct explain_opts *o, struct az_iface *f)
{
	if (o->n_ip == 0) {
		az_addr_parse("10.88.0.2", &f->addr4[0].addr);
		f->addr4[0].len = 16;
		f->n4 = 1;
		return;
	}
	for (size_t i = 0; i < o->n_ip; i++) {
		if (o->ip[i].addr.family == AF_INET && f->n4 < AZ_MAX_ADDRS)
			f->addr4[f->n4++] = o->ip[i];
		else if (o->ip[i].addr.family == AF_INET6 && f->n6 < AZ_MAX_ADDRS)
			f->addr6[f->n6++] = o->ip[i];
	}
}

static void target_resolvers(const struct explain_opts *o, struct az_target *t)
{
	cleanup_free char *text = NULL;
	size_t len;
	az_error e;

	if (az_read_file(o->resolv_conf, 1u << 20, &text, &len, &e) == 0)
		az_parse_resolv_conf(text, t->resolvers, AZ_MAX_RESOLVERS, &t->n_resolvers);
}

static void build_target(const struct explain_opts *o, struct az_target *t)
{
	struct az_iface *f = &t->ifs[0];

	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", EXPLAIN_ID);
	t->n_if = 1;
	snprintf(f->ctr_ifname, sizeof(f->ctr_ifname), "eth0");
	snprintf(f->host_ifname, sizeof(f->host_ifname), "%s", o->host_if);
	if (o->host_if[0])
		snprintf(f->bridge, sizeof(f->bridge), "%s", o->bridge);
	target_addrs(o, f);
	if (o->has_gw4 || o->has_gw6) {
		t->has_gw4 = o->has_gw4, t->gw4 = o->gw4;
		t->has_gw6 = o->has_gw6, t->gw6 = o->gw6;
	} else if (f->n4) {
		t->has_gw4 = true;
		az_addr_parse("10.88.0.1", &t->gw4);
	}
	target_resolvers(o, t);
}

/* ---- rendering ---- */

struct explanation {
	struct az_policy policy;
	char *settings;
	char *netns, *host, *skeleton;	/* NULL when not rendered */
	bool host_peer;
	bool bridge_reject;
};

static void explanation_free(struct explanation *x)
{
	az_policy_free(&x->policy);
	free(x->settings);
	free(x->netns);
	free(x->host);
	free(x->skeleton);
}

static int resolve_policy(const struct explain_opts *o, struct explanation *x, az_error *err)
{
	struct az_settings s;
	struct az_buf b;

	if (az_settings_load(NULL, &s, err) < 0)
		return -1;
	int r = az_policy_resolve(&s, o->kv, o->n_kv, &x->policy, err);
	az_settings_free(&s);
	if (r < 0)
		return -1;
	az_buf_init(&b);
	if (az_policy_format(&x->policy, &b) < 0) {
		az_buf_free(&b);
		return az_err(err, ENOMEM, "out of memory");
	}
	x->settings = az_buf_steal(&b);
	return 0;
}

/* The same refusals as the hook's, so that explain never shows rules for a
 * container the hook would refuse. */
static int hook_checks(const struct explanation *x, az_error *err)
{
	if (x->policy.proxy.n && !x->host_peer)
		return az_err(err, EINVAL,
			      "a proxy is set but the container has no host-side interface on a "
			      "bridge, where the redirect to the proxy is made (the hook refuses it)");
	return 0;
}

static int render(const struct explain_opts *o, const struct az_target *t,
		  const struct az_hostnet *h, struct explanation *x, az_error *err)
{
	struct az_buf b;

	az_buf_init(&b);
	if (az_render_netns(&x->policy, t, h, AZ_NETNS_REPLACE, &b, err) < 0)
		goto fail;
	x->netns = az_buf_steal(&b);
	if (x->host_peer) {
		if (az_render_host_elements(&x->policy, t, AZ_ELEM_ADD, &b, err) < 0)
			goto fail;
		x->host = az_buf_steal(&b);
	}
	if (o->skeleton) {
		struct az_features f = { 0 };
		az_error ignored;
		/* a dry run: the kernel validates and aborts, nothing changes */
		az_features_detect(&f, &ignored);
		x->bridge_reject = f.bridge_reject;
		if (az_render_host_skeleton(&f, &b) < 0 || az_render_host_hostnet(h, &b) < 0) {
			az_err(err, ENOMEM, "out of memory");
			goto fail;
		}
		x->skeleton = az_buf_steal(&b);
	}
	return 0;
fail:
	az_buf_free(&b);
	return -1;
}

static int explain(const struct explain_opts *o, struct az_target *t, struct az_hostnet *h,
		   struct explanation *x, az_error *err)
{
	if (resolve_policy(o, x, err) < 0)
		return -1;
	if (!x->policy.enabled)
		return 0;
	build_target(o, t);
	x->host_peer = az_target_has_host_peer(t);
	if (hook_checks(x, err) < 0)
		return -1;
	if (az_discover_hostnet(h, err) < 0)
		return az_err_prefix(err, "the host's addresses");
	return render(o, t, h, x, err);
}

/* ---- output ---- */

static void print_human(const struct explanation *x)
{
	printf("# settings: %s\n", x->settings);
	if (!x->policy.enabled) {
		printf("# isolation is off for these settings: the hook applies nothing.\n"
		       "# (Add -a " AZ_KEY_ENABLE "=on, or set \"isolate\": \"all\" in %s.)\n",
		       az_settings_path());
		return;
	}
	printf("\n# In the container's network namespace (one transaction):\n%s", x->netns);
	if (x->host)
		printf("\n# In the host network namespace, this container's elements:\n%s", x->host);
	else
		printf("\n# No host-side interface on a bridge: no host elements; the table above "
		       "is the whole protection.\n");
	if (x->skeleton)
		printf("\n# The host skeleton (shared by every container; bridge refusals %s):\n%s",
		       x->bridge_reject ? "reject" : "drop (no bridge reject in this kernel)",
		       x->skeleton);
}

static cJSON *string_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static int print_json(const struct explanation *x)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return cli_json_print(NULL);
	cJSON_AddStringToObject(o, "id", EXPLAIN_ID);
	cJSON_AddStringToObject(o, "settings", x->settings);
	cJSON_AddBoolToObject(o, "enabled", x->policy.enabled);
	cJSON_AddItemToObject(o, "netns", string_or_null(x->netns));
	cJSON_AddItemToObject(o, "host", string_or_null(x->host));
	if (x->skeleton)
		cJSON_AddStringToObject(o, "skeleton", x->skeleton);
	return cli_json_print(o);
}

int cli_explain(int argc, char **argv, const struct cli_global *g)
{
	cleanup_free struct explain_opts *o = calloc(1, sizeof(*o));
	cleanup_free struct az_target *t = calloc(1, sizeof(*t));
	cleanup_free struct az_hostnet *h = calloc(1, sizeof(*h));
	struct explanation x = { 0 };
	az_error err = { 0 };
	int code = CLI_OK;

	if (!o || !t || !h) {
		fprintf(stderr, "alcatraz: out of memory\n");
		return CLI_ERROR;
	}
	o->g = *g;
	if (!parse_opts(argc, argv, o, &code))
		return code;
	if (explain(o, t, h, &x, &err) < 0)
		code = cli_fail(&err);
	else if (o->g.json)
		code = print_json(&x);
	else
		print_human(&x);
	explanation_free(&x);
	return code;
}
