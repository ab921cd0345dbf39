/* plnetops — call one of the plugin's real network operations (pl_netops)
 * the way the driver does, for the integration tests.
 *
 *   plnetops network-create  NET
 *   plnetops network-delete  NET
 *   plnetops endpoint-create NET EP
 *   plnetops endpoint-delete EP
 *   plnetops rules-apply     NET EP [KEY=VALUE...]
 *   plnetops rules-remove    EP
 *
 *   NET: --net ID --bridge NAME [--pool4 PREFIX --gw4 ADDR]... [--pool6 PREFIX --gw6 ADDR]...
 *        [--internal] [--mtu N]
 *   EP:  --ep ID --host-if NAME --ctr-if NAME [--addr4 ADDR/LEN] [--addr6 ADDR/LEN]
 *        [--mac AA:BB:CC:DD:EE:FF]
 *   KEY=VALUE: alcatraz.network.* settings, resolved over $ALCATRAZ_CONFIG as
 *        the driver resolves labels and driver options.
 *   --resolv-conf FILE: the upstreams of dns=auto, as alcatraz-plugin's
 *        option (default /etc/resolv.conf).
 *
 * A --gwN belongs to the --poolN before it.  Prints "ok" and exits 0, or
 * "error: MESSAGE" on stderr and exits 1; 2 for a usage error.
 */
#include <errno.h>
#include <string.h>

#include "common/common.h"
#include "config/config.h"
#include "plugin/plugin.h"

static int usage(const char *why)
{
	fprintf(stderr, "plnetops: %s\n"
			"usage: plnetops network-create|network-delete NET\n"
			"       plnetops endpoint-create NET EP | endpoint-delete EP\n"
			"       plnetops rules-apply NET EP [KEY=VALUE...] | rules-remove EP\n",
		why);
	return 2;
}

static int copy_name(char *dst, size_t cap, const char *src)
{
	if (strlen(src) >= cap)
		return -1;
	strcpy(dst, src);
	return 0;
}

static int parse_prefix(const char *s, int family, struct az_prefix *out)
{
	char buf[AZ_PREFIXSTRLEN];
	if (copy_name(buf, sizeof(buf), s) < 0)
		return -1;
	char *slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	char *end;
	long len = strtol(slash + 1, &end, 10);
	if (*end || az_addr_parse(buf, &out->addr) < 0 || out->addr.family != family || len < 0 ||
	    len > (family == AF_INET ? 32 : 128))
		return -1;
	out->len = (uint8_t)len;
	return 0;
}

int main(int argc, char **argv)
{
	static struct pl_network n;
	static struct pl_endpoint e;
	struct az_kv kv[32];
	size_t nkv = 0;
	az_error err = { 0 };

	if (argc < 2)
		return usage("no operation");
	const char *op = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strncmp(a, "--", 2) == 0 && strcmp(a, "--internal") != 0;
		if (takes && !v)
			return usage("an option lacks its value");
		if (!strcmp(a, "--net")) {
			if (copy_name(n.id, sizeof(n.id), v) < 0)
				return usage("--net too long");
		} else if (!strcmp(a, "--bridge")) {
			if (copy_name(n.bridge, sizeof(n.bridge), v) < 0)
				return usage("--bridge too long");
		} else if (!strcmp(a, "--pool4") || !strcmp(a, "--pool6")) {
			bool six = a[6] == '6';
			size_t *k = six ? &n.n6 : &n.n4;
			struct az_prefix *pool = six ? n.pool6 : n.pool4, *gw = six ? n.gw6 : n.gw4;
			if (*k >= PL_MAX_POOLS || parse_prefix(v, six ? AF_INET6 : AF_INET, &pool[*k]) < 0)
				return usage("bad pool");
			gw[*k] = pool[*k];	/* until --gwN: the network address */
			(*k)++;
			n.ipv6 |= six;
		} else if (!strcmp(a, "--gw4") || !strcmp(a, "--gw6")) {
			bool six = a[4] == '6';
			size_t k = six ? n.n6 : n.n4;
			struct az_prefix *gw = six ? n.gw6 : n.gw4;
			if (k == 0 || az_addr_parse(v, &gw[k - 1].addr) < 0 ||
			    gw[k - 1].addr.family != (six ? AF_INET6 : AF_INET))
				return usage("bad gateway, or no pool before it");
		} else if (!strcmp(a, "--internal")) {
			n.internal = true;
			continue;
		} else if (!strcmp(a, "--resolv-conf")) {
			pl_resolv_conf = v;
		} else if (!strcmp(a, "--mtu")) {
			n.mtu = atoi(v);
		} else if (!strcmp(a, "--ep")) {
			if (copy_name(e.id, sizeof(e.id), v) < 0)
				return usage("--ep too long");
		} else if (!strcmp(a, "--host-if")) {
			if (copy_name(e.host_if, sizeof(e.host_if), v) < 0)
				return usage("--host-if too long");
		} else if (!strcmp(a, "--ctr-if")) {
			if (copy_name(e.ctr_if, sizeof(e.ctr_if), v) < 0)
				return usage("--ctr-if too long");
		} else if (!strcmp(a, "--addr4")) {
			if (parse_prefix(v, AF_INET, &e.addr4) < 0)
				return usage("bad --addr4");
			e.has4 = true;
		} else if (!strcmp(a, "--addr6")) {
			if (parse_prefix(v, AF_INET6, &e.addr6) < 0)
				return usage("bad --addr6");
			e.has6 = true;
		} else if (!strcmp(a, "--mac")) {
			unsigned m[6];
			char end;
			if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4],
				   &m[5], &end) != 6)
				return usage("bad --mac");
			for (int k = 0; k < 6; k++)
				e.mac[k] = (uint8_t)m[k];
			e.has_mac = true;
		} else if (!takes && strchr(a, '=') && nkv < sizeof(kv) / sizeof(kv[0])) {
			char *eq = strchr(argv[i], '=');
			*eq = '\0';
			kv[nkv].key = argv[i];
			kv[nkv++].value = eq + 1;
			continue;
		} else {
			return usage("unknown argument");
		}
		i++;
	}
	snprintf(e.network_id, sizeof(e.network_id), "%s", n.id);

	const struct pl_ops *ops = &pl_netops;
	int r;
	if (!strcmp(op, "network-create")) {
		r = ops->network_create(&n, &err);
	} else if (!strcmp(op, "network-delete")) {
		r = ops->network_delete(&n, &err);
	} else if (!strcmp(op, "endpoint-create")) {
		r = ops->endpoint_create(&n, &e, &err);
	} else if (!strcmp(op, "endpoint-delete")) {
		r = ops->endpoint_delete(&e, &err);
	} else if (!strcmp(op, "rules-remove")) {
		r = ops->rules_remove(&e, &err);
	} else if (!strcmp(op, "rules-apply")) {
		struct az_settings s;
		struct az_policy p;
		if (az_settings_load(NULL, &s, &err) < 0) {
			r = -1;
		} else {
			r = az_policy_resolve(&s, kv, nkv, &p, &err);
			az_settings_free(&s);
			if (r == 0) {
				r = ops->rules_apply(&n, &e, &p, &err);
				az_policy_free(&p);
			}
		}
	} else {
		return usage("unknown operation");
	}
	if (r < 0) {
		fprintf(stderr, "error: %s\n", err.msg);
		return 1;
	}
	printf("ok\n");
	return 0;
}
