/* driver.c — the libnetwork remote-driver calls: request JSON in, reply JSON
 * out.
 *
 * Every field Docker sends is untrusted text until it has been parsed here
 * into ids, prefixes and validated settings; the effects (struct pl_ops) and
 * the store see only those values.  A call either succeeds completely — the
 * effect made, the store written, the tables updated, in that order — or
 * fails with {"Err": ...} and leaves nothing behind, so that Docker, which
 * rolls back on its side, and the plugin never disagree about what exists.
 */
#include "plugin/plugin.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>

#define GENERIC "com.docker.network.generic"
#define OPT_IPV6 "com.docker.network.enable_ipv6"
#define OPT_INTERNAL "com.docker.network.internal"
#define OPT_MTU "com.docker.network.driver.mtu"
#define OUR_PREFIX "alcatraz."
#define KEY_QUOTE_MAX 100

static void cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}
#define cleanup_cjson _cleanup_(cjson_deletep)

/* ---- values shared with store.c ---- */

bool pl_id_valid(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == PL_ID_LEN;
}

bool pl_sandbox_valid(const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n >= PL_SANDBOX_MAX || path[0] != '/' || strstr(path, "/../") ||
	    (n >= 3 && !strcmp(path + n - 3, "/..")))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-", path[i]))
			return false;
	return true;
}

void pl_network_names(struct pl_network *n)
{
	snprintf(n->bridge, sizeof(n->bridge), "az%.12s", n->id);
}

void pl_endpoint_names(struct pl_endpoint *e)
{
	snprintf(e->host_if, sizeof(e->host_if), "azh%.11s", e->id);
	snprintf(e->ctr_if, sizeof(e->ctr_if), "azc%.11s", e->id);
}

static bool addr_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF.:", s[i]))
			return false;
	return n > 0;
}

int pl_ifaddr_parse(const char *s, int family, struct az_prefix *out, az_error *err)
{
	char a[AZ_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	/* Checked before any message quotes it: the text comes from a request. */
	if (n >= sizeof(a) || !addr_chars(s, n))
		return az_err(err, EINVAL, "not an IP address with a prefix length");
	memcpy(a, s, n);
	a[n] = '\0';
	if (az_addr_parse(a, &out->addr) < 0)
		return az_err(err, EINVAL, "%s is not an IP address", a);
	if (family && out->addr.family != family)
		return az_err(err, EINVAL, "%s is not an %s address", a,
			      family == AF_INET ? "IPv4" : "IPv6");
	unsigned bits = out->addr.family == AF_INET ? 32 : 128, len = bits;
	if (slash) {
		const char *l = slash + 1;
		size_t digits = strspn(l, "0123456789");

		if (digits == 0 || digits > 3 || l[digits])
			return az_err(err, EINVAL, "%s: the prefix length is not a number", a);
		len = (unsigned)atoi(l);
		if (len > bits)
			return az_err(err, EINVAL, "%s: prefix length %u is longer than %u", a, len, bits);
	}
	out->len = (uint8_t)len;
	return 0;
}

static const char *const known_keys[] = { AZ_KEY_ENABLE, AZ_KEY_LAN, AZ_KEY_PROXY, AZ_KEY_DNS,
					  AZ_KEY_PROXY_UDP };

static bool key_known(const char *key)
{
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (!strcmp(key, known_keys[i]))
			return true;
	return false;
}

/* A key fit to quote in a message, or a stand-in. */
static const char *safe_key(const char *key)
{
	size_t n = 0;

	for (; key[n] && n <= KEY_QUOTE_MAX; n++)
		if (key[n] <= 0x20 || key[n] >= 0x7f || key[n] == '"' || key[n] == '\\')
			return "alcatraz.... (an unprintable or overlong name)";
	return n <= KEY_QUOTE_MAX ? key : "alcatraz.... (an unprintable or overlong name)";
}

/* The grammar of each setting, whatever the administrator allows (that is
 * az_policy_resolve's to judge, with the system file of the moment). */
static int value_check(const char *key, const char *value, az_error *err)
{
	struct az_lan_list l;
	struct az_proxy p;
	struct az_dns d;
	enum az_proxy_udp u;
	bool on;

	if (!strcmp(key, AZ_KEY_ENABLE))
		return az_enable_parse(value, &on, err);
	if (!strcmp(key, AZ_KEY_LAN)) {
		if (az_lan_parse_list(value, &l, err) < 0)
			return -1;
		free(l.v);
		return 0;
	}
	if (!strcmp(key, AZ_KEY_PROXY))
		return az_proxy_parse(value, &p, err);
	if (!strcmp(key, AZ_KEY_DNS))
		return az_dns_parse(value, &d, err);
	return az_proxy_udp_parse(value, &u, err);
}

int pl_opts_check(const struct az_kv *kv, size_t n, const char *what, az_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!key_known(kv[i].key))
			/* A typo must not silently drop a restriction. */
			return az_err(err, EINVAL, "%s: unknown setting \"%s\" (known: %s, %s, %s, %s, %s)",
				      what, safe_key(kv[i].key), AZ_KEY_ENABLE, AZ_KEY_LAN, AZ_KEY_PROXY,
				      AZ_KEY_DNS, AZ_KEY_PROXY_UDP);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(kv[i].key, kv[j].key))
				return az_err(err, EINVAL, "%s: %s is given twice", what, kv[i].key);
		if (value_check(kv[i].key, kv[i].value, err) < 0)
			return az_err_prefix(err, "%s %s", what, kv[i].key);
	}
	return 0;
}

void pl_opts_free(struct az_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((char *)kv[i].key);
		free((char *)kv[i].value);
	}
	free(kv);
}

int pl_opts_dup(const struct az_kv *kv, size_t n, struct az_kv **out, size_t *n_out, az_error *err)
{
	struct az_kv *v = calloc(n ? n : 1, sizeof(*v));

	*out = NULL;
	*n_out = 0;
	if (!v)
		return az_err(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		v[i].key = strdup(kv[i].key);
		v[i].value = strdup(kv[i].value);
		if (!v[i].key || !v[i].value) {
			pl_opts_free(v, i + 1);
			return az_err(err, ENOMEM, "out of memory");
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

void pl_network_free(struct pl_network *n)
{
	pl_opts_free(n->opts, n->n_opts);
	n->opts = NULL;
	n->n_opts = 0;
}

void pl_endpoint_free(struct pl_endpoint *e)
{
	pl_opts_free(e->opts, e->n_opts);
	e->opts = NULL;
	e->n_opts = 0;
}

static bool prefix_eq(const struct az_prefix *a, const struct az_prefix *b)
{
	return a->len == b->len && az_addr_eq(&a->addr, &b->addr);
}

static int check_pools(const struct az_prefix *pool, const struct az_prefix *gw, size_t n,
		       int family, const char *what, az_error *err)
{
	char p[AZ_PREFIXSTRLEN], g[AZ_PREFIXSTRLEN];

	if (n > PL_MAX_POOLS)
		return az_err(err, EINVAL, "%s: %zu pools, at most %d are accepted", what, n,
			      PL_MAX_POOLS);
	for (size_t i = 0; i < n; i++) {
		struct az_prefix m = pool[i], host = gw[i];

		az_prefix_str(&pool[i], p);
		az_prefix_str(&gw[i], g);
		az_prefix_mask(&m);
		if (pool[i].addr.family != family || gw[i].addr.family != family)
			return az_err(err, EINVAL, "%s: %s is of the wrong address family", what, p);
		if (!prefix_eq(&m, &pool[i]))
			return az_err(err, EINVAL, "%s: pool %s has host bits set", what, p);
		host.len = host.addr.family == AF_INET ? 32 : 128;
		if (gw[i].len != pool[i].len || !az_prefix_contains(&pool[i], &host))
			return az_err(err, EINVAL, "%s: gateway %s is not in pool %s", what, g, p);
		if (az_addr_eq(&gw[i].addr, &pool[i].addr))
			return az_err(err, EINVAL, "%s: gateway %s is the pool's network address", what, g);
	}
	return 0;
}

int pl_network_check(const struct pl_network *n, az_error *err)
{
	char bridge[IFNAMSIZ];

	if (!pl_id_valid(n->id))
		return az_err(err, EINVAL, "network id is not 64 lowercase hexadecimal characters");
	snprintf(bridge, sizeof(bridge), "az%.12s", n->id);
	if (strcmp(bridge, n->bridge))
		return az_err(err, EINVAL, "network %.12s: bridge is not %s", n->id, bridge);
	if (n->n4 + n->n6 == 0)
		return az_err(err, EINVAL, "network %.12s has no address pool", n->id);
	if (check_pools(n->pool4, n->gw4, n->n4, AF_INET, "IPv4", err) < 0 ||
	    check_pools(n->pool6, n->gw6, n->n6, AF_INET6, "IPv6", err) < 0)
		return -1;
	if (n->ipv6 != (n->n6 > 0))
		return az_err(err, EINVAL, "network %.12s: IPv6 is %s but it has %zu IPv6 pools",
			      n->id, n->ipv6 ? "enabled" : "disabled", n->n6);
	if (n->mtu && (n->mtu < 68 || n->mtu > 65535))
		return az_err(err, EINVAL, "MTU %d is not between 68 and 65535", n->mtu);
	if (n->mtu && n->ipv6 && n->mtu < 1280)
		return az_err(err, EINVAL, "MTU %d is below 1280, the minimum for IPv6", n->mtu);
	return pl_opts_check(n->opts, n->n_opts, "network option", err);
}

/* The pool of n the interface address a lies in, with the same length. */
static int pool_of(const struct az_prefix *pool, const struct az_prefix *gw, size_t n,
		   const struct az_prefix *a, const char *what, az_error *err)
{
	char s[AZ_PREFIXSTRLEN];
	struct az_prefix host = *a;

	host.len = a->addr.family == AF_INET ? 32 : 128;
	az_prefix_str(a, s);
	for (size_t i = 0; i < n; i++) {
		if (pool[i].len != a->len || !az_prefix_contains(&pool[i], &host))
			continue;
		if (az_addr_eq(&gw[i].addr, &a->addr))
			return az_err(err, EINVAL, "%s %s is the network's gateway", what, s);
		return (int)i;
	}
	return az_err(err, EINVAL, "%s %s is in none of the network's pools", what, s);
}

int pl_endpoint_check(const struct pl_network *n, const struct pl_endpoint *e, az_error *err)
{
	struct pl_endpoint names = { 0 };

	if (!pl_id_valid(e->id))
		return az_err(err, EINVAL, "endpoint id is not 64 lowercase hexadecimal characters");
	if (strcmp(e->network_id, n->id))
		return az_err(err, EINVAL, "endpoint %.12s is not on network %.12s", e->id, n->id);
	memcpy(names.id, e->id, sizeof(names.id));
	pl_endpoint_names(&names);
	if (strcmp(names.host_if, e->host_if) || strcmp(names.ctr_if, e->ctr_if))
		return az_err(err, EINVAL, "endpoint %.12s: interfaces are not %s and %s", e->id,
			      names.host_if, names.ctr_if);
	if (e->container_id[0] && !pl_id_valid(e->container_id))
		return az_err(err, EINVAL, "endpoint %.12s: container id is not 64 lowercase hex", e->id);
	if (e->has4 != (n->n4 > 0))
		return az_err(err, EINVAL, "an IPv4 address (Interface.Address) is %s on this network",
			      n->n4 ? "required" : "not possible");
	if (e->has6 != n->ipv6)
		return az_err(err, EINVAL, "an IPv6 address (Interface.AddressIPv6) is %s on this network",
			      n->ipv6 ? "required" : "not possible (IPv6 is not enabled)");
	if (e->has4 && pool_of(n->pool4, n->gw4, n->n4, &e->addr4, "Interface.Address", err) < 0)
		return -1;
	if (e->has6 && pool_of(n->pool6, n->gw6, n->n6, &e->addr6, "Interface.AddressIPv6", err) < 0)
		return -1;
	return pl_opts_check(e->opts, e->n_opts, "endpoint option", err);
}

/* ---- tables ---- */

struct pl_network *pl_driver_network(struct pl_driver *d, const char *id)
{
	for (size_t i = 0; i < d->n_net; i++)
		if (!strcmp(d->nets[i].id, id))
			return &d->nets[i];
	return NULL;
}

struct pl_endpoint *pl_driver_endpoint(struct pl_driver *d, const char *id)
{
	for (size_t i = 0; i < d->n_ep; i++)
		if (!strcmp(d->eps[i].id, id))
			return &d->eps[i];
	return NULL;
}

static int grow(void **v, size_t *cap, size_t n, size_t size, az_error *err)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 8;
	void *p = realloc(*v, c * size);
	if (!p)
		return az_err(err, ENOMEM, "out of memory");
	*v = p;
	*cap = c;
	return 0;
}

/* Would n fit in the tables?  Asked before any effect: a bridge name that is
 * already another network's must never reach ops (network_create is
 * idempotent and would adopt it; the rollback would then delete it). */
static int network_room(struct pl_driver *d, const struct pl_network *n, az_error *err)
{
	if (pl_driver_network(d, n->id))
		return az_err(err, EEXIST, "network %.12s exists", n->id);
	for (size_t i = 0; i < d->n_net; i++)
		if (!strcmp(d->nets[i].bridge, n->bridge))
			/* Two ids with the same first 12 hex digits: never seen, but
			 * two networks on one bridge would be worse than a refusal. */
			return az_err(err, EEXIST, "bridge %s is already used by network %.12s",
				      n->bridge, d->nets[i].id);
	return grow((void **)&d->nets, &d->cap_net, d->n_net, sizeof(*n), err);
}

static int endpoint_room(struct pl_driver *d, const struct pl_endpoint *e, az_error *err)
{
	if (pl_driver_endpoint(d, e->id))
		return az_err(err, EEXIST, "endpoint %.12s exists", e->id);
	if (!pl_driver_network(d, e->network_id))
		return az_err(err, ENOENT, "network %.12s does not exist", e->network_id);
	for (size_t i = 0; i < d->n_ep; i++)
		if (!strcmp(d->eps[i].host_if, e->host_if))
			return az_err(err, EEXIST, "interface %s is already used by endpoint %.12s",
				      e->host_if, d->eps[i].id);
	return grow((void **)&d->eps, &d->cap_ep, d->n_ep, sizeof(*e), err);
}

int pl_driver_add_network(struct pl_driver *d, const struct pl_network *n, az_error *err)
{
	if (network_room(d, n, err) < 0)
		return -1;
	d->nets[d->n_net++] = *n;
	return 0;
}

int pl_driver_add_endpoint(struct pl_driver *d, const struct pl_endpoint *e, az_error *err)
{
	if (endpoint_room(d, e, err) < 0)
		return -1;
	d->eps[d->n_ep++] = *e;
	return 0;
}

static void remove_network(struct pl_driver *d, struct pl_network *n)
{
	pl_network_free(n);
	*n = d->nets[--d->n_net];
}

static void remove_endpoint(struct pl_driver *d, struct pl_endpoint *e)
{
	pl_endpoint_free(e);
	*e = d->eps[--d->n_ep];
}

/* ---- request fields ---- */

static const cJSON *field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNull(v) ? NULL : v;
}

static int get_id(const cJSON *o, const char *name, char out[PL_ID_LEN + 1], az_error *err)
{
	const cJSON *v = field(o, name);

	if (!v)
		return az_err(err, EINVAL, "%s is missing", name);
	if (!cJSON_IsString(v))
		return az_err(err, EINVAL, "%s must be a string", name);
	if (!pl_id_valid(v->valuestring))
		return az_err(err, EINVAL, "%s is not 64 lowercase hexadecimal characters", name);
	memcpy(out, v->valuestring, PL_ID_LEN + 1);
	return 0;
}

static int get_bool(const cJSON *o, const char *name, bool *out, az_error *err)
{
	const cJSON *v = field(o, name);

	*out = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return az_err(err, EINVAL, "%s must be true or false", name);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* An optional string; *out is NULL when absent or null. */
static int get_string(const cJSON *o, const char *name, const char **out, az_error *err)
{
	const cJSON *v = field(o, name);

	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsString(v))
		return az_err(err, EINVAL, "%s must be a string", name);
	*out = v->valuestring;
	return 0;
}

static int get_object(const cJSON *o, const char *name, const cJSON **out, az_error *err)
{
	const cJSON *v = field(o, name);

	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return az_err(err, EINVAL, "%s must be an object", name);
	*out = v;
	return 0;
}

/* Our keys of an options object: every key starting with "alcatraz." (a
 * misspelt alcatraz.network.* must fail, not pass unnoticed); other keys are
 * Docker's or another tool's and are left alone.  The kv point into o. */
static int collect_opts(const cJSON *o, const char *what, struct az_kv **kv, size_t *n,
			az_error *err)
{
	const cJSON *x;

	*kv = calloc((size_t)cJSON_GetArraySize(o) + 1, sizeof(**kv));
	*n = 0;
	if (!*kv)
		return az_err(err, ENOMEM, "out of memory");
	cJSON_ArrayForEach(x, o) {
		if (strncmp(x->string, OUR_PREFIX, strlen(OUR_PREFIX)))
			continue;
		if (!cJSON_IsString(x))
			return az_err(err, EINVAL, "%s %s must be a string", what, safe_key(x->string));
		(*kv)[*n].key = x->string;
		(*kv)[*n].value = x->valuestring;
		(*n)++;
	}
	return pl_opts_check(*kv, *n, what, err);
}

/* ---- policy: file < network options < labels < endpoint options ----
 *
 * Container labels sit below driver options: a label is about the container
 * on every network it joins, a driver option about this one endpoint — the
 * narrower statement wins, as a -o of the network beats the file.  The
 * administrator's annotation policy judges every layer alike. */

static int check_each(const struct az_settings *s, const struct az_kv *kv, size_t n,
		      const char *what, az_error *err)
{
	/* Alone first, so that the message names the key that is wrong. */
	for (size_t i = 0; i < n; i++) {
		struct az_policy p;

		if (az_policy_resolve(s, &kv[i], 1, &p, err) < 0)
			return az_err_prefix(err, "%s %s", what, kv[i].key);
		az_policy_free(&p);
	}
	return 0;
}

static void put(struct az_kv *kv, size_t *n, const char *key, const char *value)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(kv[i].key, key)) {
			kv[i].value = value;
			return;
		}
	kv[*n].key = key;
	kv[*n].value = value;
	(*n)++;
}

int pl_policy_resolve(const struct az_settings *s, const struct pl_network *n,
		      const struct az_kv *labels, size_t nl, const struct az_kv *eo, size_t ne,
		      struct az_policy *out, az_error *err)
{
	cleanup_free struct az_kv *kv = calloc(1 + n->n_opts + nl + ne, sizeof(*kv));
	size_t m = 0;

	memset(out, 0, sizeof(*out));
	if (!kv)
		return az_err(err, ENOMEM, "out of memory");
	if (check_each(s, n->opts, n->n_opts, "network option", err) < 0 ||
	    check_each(s, labels, nl, "label", err) < 0 ||
	    check_each(s, eo, ne, "endpoint option (driver-opt)", err) < 0)
		return -1;
	/* Choosing this driver is asking for isolation: "on" unless a
	 * network or endpoint option says otherwise (and the administrator
	 * lets it). */
	put(kv, &m, AZ_KEY_ENABLE, "on");
	for (size_t i = 0; i < n->n_opts; i++)
		put(kv, &m, n->opts[i].key, n->opts[i].value);
	for (size_t i = 0; i < nl; i++)
		put(kv, &m, labels[i].key, labels[i].value);
	for (size_t i = 0; i < ne; i++)
		put(kv, &m, eo[i].key, eo[i].value);
	if (az_policy_resolve(s, kv, m, out, err) < 0)
		return -1;
	if (s->annotations == AZ_ANN_IGNORE)
		out->enabled = true;
	return 0;
}

/* The system file is read at every call, as the hook does: an edit applies
 * to the next container without a restart. */
static int resolve_policy(const struct pl_network *n, const struct az_kv *eo, size_t ne,
			  struct az_policy *out, az_error *err)
{
	struct az_settings s;

	memset(out, 0, sizeof(*out));
	if (az_settings_load(NULL, &s, err) < 0)
		return -1;
	int r = pl_policy_resolve(&s, n, NULL, 0, eo, ne, out, err);
	az_settings_free(&s);
	return r;
}

/* ---- replies ---- */

static int reply_string(cJSON *reply, const char *name, const char *value, az_error *err)
{
	if (!cJSON_AddStringToObject(reply, name, value))
		return az_err(err, ENOMEM, "out of memory");
	return 0;
}

static int reply_object(cJSON *reply, const char *name, cJSON **out, az_error *err)
{
	cJSON *o = cJSON_AddObjectToObject(reply, name);
	if (!o)
		return az_err(err, ENOMEM, "out of memory");
	if (out)
		*out = o;
	return 0;
}

/* ---- the calls ---- */

static int h_activate(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	(void)d, (void)req;
	cJSON *a = cJSON_AddArrayToObject(reply, "Implements");
	cJSON *s = cJSON_CreateString("NetworkDriver");

	if (!a || !s || !cJSON_AddItemToArray(a, s)) {
		cJSON_Delete(s);
		return az_err(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int h_capabilities(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	(void)d, (void)req;
	if (reply_string(reply, "Scope", "local", err) < 0 ||
	    reply_string(reply, "ConnectivityScope", "local", err) < 0)
		return -1;
	return 0;
}

static int h_nothing(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	(void)d, (void)req, (void)reply, (void)err;
	return 0;
}

/* First host of the pool: the gateway Docker would have chosen. */
static int first_host(const struct az_prefix *pool, struct az_prefix *gw, az_error *err)
{
	unsigned bits = pool->addr.family == AF_INET ? 32 : 128;
	char p[AZ_PREFIXSTRLEN];

	if (pool->len >= bits - 1)
		return az_err(err, EINVAL, "pool %s has no room for a gateway", az_prefix_str(pool, p));
	*gw = *pool;
	for (int i = (int)bits / 8 - 1; i >= 0 && ++gw->addr.b[i] == 0; i--)
		;
	return 0;
}

static int parse_pool(const cJSON *o, int family, struct az_prefix *pool, struct az_prefix *gw,
		      az_error *err)
{
	const char *p, *g;

	if (!cJSON_IsObject(o))
		return az_err(err, EINVAL, "must be an object");
	if (get_string(o, "Pool", &p, err) < 0 || get_string(o, "Gateway", &g, err) < 0)
		return -1;
	if (!p)
		return az_err(err, EINVAL, "Pool is missing");
	if (az_setting_check("Pool", p, err) < 0 || az_prefix_parse(p, pool, err) < 0)
		return az_err_prefix(err, "Pool");
	if (pool->addr.family != family)
		return az_err(err, EINVAL, "Pool %s is not %s", p, family == AF_INET ? "IPv4" : "IPv6");
	if (g && *g) {
		if (pl_ifaddr_parse(g, family, gw, err) < 0)
			return az_err_prefix(err, "Gateway");
		/* "10.99.0.1" alone means the pool's length. */
		if (!strchr(g, '/'))
			gw->len = pool->len;
		return 0;
	}
	return first_host(pool, gw, err);
}

static int parse_pools(const cJSON *req, const char *name, int family, struct az_prefix *pool,
		       struct az_prefix *gw, size_t *n, az_error *err)
{
	const cJSON *a = field(req, name), *x;

	*n = 0;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return az_err(err, EINVAL, "%s must be an array", name);
	cJSON_ArrayForEach(x, a) {
		if (*n == PL_MAX_POOLS)
			return az_err(err, EINVAL, "%s: more than %d pools", name, PL_MAX_POOLS);
		if (parse_pool(x, family, &pool[*n], &gw[*n], err) < 0)
			return az_err_prefix(err, "%s[%zu]", name, *n);
		(*n)++;
	}
	return 0;
}

static int parse_mtu(const cJSON *v, int *mtu, az_error *err)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
	size_t digits = s ? strspn(s, "0123456789") : 0;

	if (!s || digits == 0 || digits > 5 || s[digits])
		return az_err(err, EINVAL, "%s must be a number of bytes, e.g. \"1450\"", OPT_MTU);
	*mtu = atoi(s);
	return 0;
}

/* Options["com.docker.network.generic"]: -o key=value of network create. */
static int parse_generic(const cJSON *g, struct pl_network *n, az_error *err)
{
	const cJSON *mtu;
	cleanup_free struct az_kv *kv = NULL;
	size_t k;

	if (collect_opts(g, "network option", &kv, &k, err) < 0)
		return -1;
	mtu = field(g, OPT_MTU);
	if (mtu && parse_mtu(mtu, &n->mtu, err) < 0)
		return -1;
	return pl_opts_dup(kv, k, &n->opts, &n->n_opts, err);
}

static int parse_network(const cJSON *req, struct pl_network *n, az_error *err)
{
	const cJSON *opts, *generic = NULL;
	size_t n6;

	memset(n, 0, sizeof(*n));
	if (get_id(req, "NetworkID", n->id, err) < 0)
		return -1;
	pl_network_names(n);
	if (get_object(req, "Options", &opts, err) < 0 ||
	    (opts && get_object(opts, GENERIC, &generic, err) < 0) ||
	    get_bool(opts, OPT_IPV6, &n->ipv6, err) < 0 ||
	    get_bool(opts, OPT_INTERNAL, &n->internal, err) < 0)
		return az_err_prefix(err, "Options");
	if (parse_pools(req, "IPv4Data", AF_INET, n->pool4, n->gw4, &n->n4, err) < 0 ||
	    parse_pools(req, "IPv6Data", AF_INET6, n->pool6, n->gw6, &n6, err) < 0)
		return -1;
	/* Docker sends no IPv6 pool unless IPv6 is enabled; ignore one that
	 * comes anyway rather than half-enable IPv6. */
	n->n6 = n->ipv6 ? n6 : 0;
	if (n->ipv6 && !n->n6)
		return az_err(err, EINVAL, "IPv6 is enabled but IPv6Data has no pool");
	if (generic && parse_generic(generic, n, err) < 0)
		return -1;
	return pl_network_check(n, err);
}

static bool opts_equal(const struct az_kv *a, size_t na, const struct az_kv *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i].key, b[i].key) || strcmp(a[i].value, b[i].value))
			return false;
	return true;
}

static bool pools_equal(const struct az_prefix *a, const struct az_prefix *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!prefix_eq(&a[i], &b[i]))
			return false;
	return true;
}

static bool network_same(const struct pl_network *a, const struct pl_network *b)
{
	return a->n4 == b->n4 && a->n6 == b->n6 && pools_equal(a->pool4, b->pool4, a->n4) &&
	       pools_equal(a->gw4, b->gw4, a->n4) && pools_equal(a->pool6, b->pool6, a->n6) &&
	       pools_equal(a->gw6, b->gw6, a->n6) && a->ipv6 == b->ipv6 &&
	       a->internal == b->internal && a->mtu == b->mtu &&
	       opts_equal(a->opts, a->n_opts, b->opts, b->n_opts);
}

static int h_create_network(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	struct pl_network n;
	struct az_policy p;
	(void)reply;

	if (parse_network(req, &n, err) < 0)
		goto fail;
	const struct pl_network *old = pl_driver_network(d, n.id);
	if (old) {
		/* A retry of a call whose reply was lost. */
		if (network_same(old, &n)) {
			pl_network_free(&n);
			return 0;
		}
		az_err(err, EEXIST, "network %.12s exists with other settings", n.id);
		goto fail;
	}
	/* Refused here, a bad setting fails `docker network create` with its
	 * reason instead of every container start later. */
	if (resolve_policy(&n, NULL, 0, &p, err) < 0)
		goto fail;
	az_policy_free(&p);
	if (network_room(d, &n, err) < 0)
		goto fail;
	if (d->ops->network_create(&n, err) < 0) {
		az_err_prefix(err, "creating bridge %s", n.bridge);
		goto fail;
	}
	if (pl_store_save_network(d, &n, err) < 0) {
		az_error e2;
		if (d->ops->network_delete(&n, &e2) < 0)
			az_log(LOG_ERR, n.id, "rolling back network: %s", e2.msg);
		goto fail;
	}
	d->nets[d->n_net++] = n;	/* room was made above */
	az_log(LOG_INFO, n.id, "network created: bridge %s%s%s", n.bridge,
	       n.ipv6 ? ", IPv6" : "", n.internal ? ", internal" : "");
	return 0;
fail:
	pl_network_free(&n);
	return -1;
}

/* Rules, veth, record and table entry of e; each step idempotent. */
/* e's netns table is out: another endpoint of ours in the same container
 * (two alcatraz networks) puts its own there again (sandbox.c). */
static void sandbox_released(struct pl_driver *d, struct pl_endpoint *e)
{
	if (!e->sandbox[0])
		return;
	for (size_t i = 0; i < d->n_ep; i++)
		if (&d->eps[i] != e && d->eps[i].joined && !strcmp(d->eps[i].sandbox, e->sandbox))
			d->eps[i].ns_applied = d->eps[i].ns_given_up = false;
	e->ns_applied = false;
}

static int remove_endpoint_fully(struct pl_driver *d, struct pl_endpoint *e, az_error *err)
{
	/* Leave may have failed or never come (dockerd shutting down). */
	if (e->joined && d->ops->rules_remove(e, err) < 0)
		return az_err_prefix(err, "removing the rules of endpoint %.12s", e->id);
	if (e->joined)
		sandbox_released(d, e);
	if (d->ops->endpoint_delete(e, err) < 0)
		return az_err_prefix(err, "removing veth %s", e->host_if);
	if (pl_store_delete_endpoint(d, e->id, err) < 0)
		return -1;
	az_log(LOG_INFO, e->id, "endpoint removed (%s)", e->host_if);
	remove_endpoint(d, e);
	return 0;
}

int pl_driver_collect_orphans(struct pl_driver *d, bool (*host_if_exists)(const char *name),
			      size_t *removed)
{
	az_error err;
	*removed = 0;
	pthread_mutex_lock(&d->lock);
	for (size_t i = d->n_ep; i-- > 0;) {
		struct pl_endpoint *e = &d->eps[i];
		/* Never joined: this plugin died in its Join (or just before).
		 * Docker's retries of that call, and of the DeleteEndpoint after
		 * it, met a dead socket; Docker has forgotten the endpoint, and
		 * nothing else would ever remove it. */
		if (e->joined && host_if_exists(e->host_if))
			continue;
		az_log(LOG_WARNING, e->id, "endpoint %s %s: removing its rules and record", e->host_if,
		       !e->joined ? "was never joined (the plugin stopped in its Join?)"
				  : "is gone (dockerd killed or the host rebooted)");
		if (remove_endpoint_fully(d, e, &err) < 0)
			az_log(LOG_ERR, NULL, "%s", err.msg);
		else
			(*removed)++;
	}
	/* Re-make what a stored network needs (bridge, NAT, forwarding): after
	 * a reboot none of it exists; otherwise this changes nothing. */
	for (size_t i = 0; i < d->n_net; i++)
		if (d->ops->network_create(&d->nets[i], &err) < 0)
			az_log(LOG_ERR, d->nets[i].id, "repairing network %s: %s", d->nets[i].bridge, err.msg);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int h_delete_network(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	char id[PL_ID_LEN + 1];
	(void)reply;

	if (get_id(req, "NetworkID", id, err) < 0)
		return -1;
	struct pl_network *n = pl_driver_network(d, id);
	if (!n)
		return 0;	/* already gone: deletes are idempotent */
	/* Docker itself refuses to remove a network with endpoints, so any
	 * left here are orphans (dockerd was killed and dropped them without a
	 * call): remove them, or their bridge, NAT and rules would stay. */
	for (size_t i = d->n_ep; i-- > 0;) {
		struct pl_endpoint *e = &d->eps[i];
		if (strcmp(e->network_id, id))
			continue;
		az_log(LOG_WARNING, e->id, "removing orphaned endpoint %s with its network", e->host_if);
		if (remove_endpoint_fully(d, e, err) < 0)
			return az_err_prefix(err, "network %.12s", id);
	}
	if (d->ops->network_delete(n, err) < 0)
		return az_err_prefix(err, "removing bridge %s", n->bridge);
	if (pl_store_delete_network(d, id, err) < 0)
		return -1;
	az_log(LOG_INFO, id, "network removed (bridge %s)", n->bridge);
	remove_network(d, n);
	return 0;
}

static int parse_mac(const char *s, struct pl_endpoint *e, az_error *err)
{
	unsigned m[6];
	char end;

	if (!*s)
		return 0;
	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		   &end) != 6)
		return az_err(err, EINVAL, "Interface.MacAddress is not a MAC address (aa:bb:cc:dd:ee:ff)");
	if (m[0] & 1)
		return az_err(err, EINVAL, "Interface.MacAddress is a multicast address");
	for (int i = 0; i < 6; i++)
		e->mac[i] = (uint8_t)m[i];
	e->has_mac = true;
	return 0;
}

static int parse_interface(const cJSON *req, struct pl_endpoint *e, az_error *err)
{
	const cJSON *iface;
	const char *a4, *a6, *mac;

	if (get_object(req, "Interface", &iface, err) < 0)
		return -1;
	if (get_string(iface, "Address", &a4, err) < 0 ||
	    get_string(iface, "AddressIPv6", &a6, err) < 0 ||
	    get_string(iface, "MacAddress", &mac, err) < 0)
		return az_err_prefix(err, "Interface");
	if (a4 && *a4) {
		if (pl_ifaddr_parse(a4, AF_INET, &e->addr4, err) < 0)
			return az_err_prefix(err, "Interface.Address");
		e->has4 = true;
	}
	if (a6 && *a6) {
		if (pl_ifaddr_parse(a6, AF_INET6, &e->addr6, err) < 0)
			return az_err_prefix(err, "Interface.AddressIPv6");
		e->has6 = true;
	}
	return mac ? parse_mac(mac, e, err) : 0;
}

static bool endpoint_same(const struct pl_endpoint *a, const struct pl_endpoint *b)
{
	return !strcmp(a->network_id, b->network_id) && a->has4 == b->has4 && a->has6 == b->has6 &&
	       (!a->has4 || prefix_eq(&a->addr4, &b->addr4)) &&
	       (!a->has6 || prefix_eq(&a->addr6, &b->addr6)) && a->has_mac == b->has_mac &&
	       !memcmp(a->mac, b->mac, sizeof(a->mac)) &&
	       opts_equal(a->opts, a->n_opts, b->opts, b->n_opts);
}

/* Parse and validate a CreateEndpoint request against its network. */
static int parse_endpoint(struct pl_driver *d, const cJSON *req, struct pl_endpoint *e,
			  const struct pl_network **net, az_error *err)
{
	const cJSON *opts;
	cleanup_free struct az_kv *kv = NULL;
	size_t k = 0;

	memset(e, 0, sizeof(*e));
	if (get_id(req, "NetworkID", e->network_id, err) < 0 || get_id(req, "EndpointID", e->id, err) < 0)
		return -1;
	pl_endpoint_names(e);
	*net = pl_driver_network(d, e->network_id);
	if (!*net)
		return az_err(err, ENOENT, "network %.12s is not an alcatraz network this plugin knows",
			      e->network_id);
	if (parse_interface(req, e, err) < 0 || get_object(req, "Options", &opts, err) < 0)
		return -1;
	/* --driver-opt k=v: top-level keys of Options, beside Docker's own. */
	if (opts && collect_opts(opts, "endpoint option (driver-opt)", &kv, &k, err) < 0)
		return -1;
	if (pl_opts_dup(kv, k, &e->opts, &e->n_opts, err) < 0)
		return -1;
	return pl_endpoint_check(*net, e, err);
}

static int h_create_endpoint(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	struct pl_endpoint e;
	const struct pl_network *n;
	struct az_policy p;

	if (parse_endpoint(d, req, &e, &n, err) < 0)
		goto fail;
	const struct pl_endpoint *old = pl_driver_endpoint(d, e.id);
	if (old) {
		if (endpoint_same(old, &e)) {
			pl_endpoint_free(&e);
			return reply_object(reply, "Interface", NULL, err);
		}
		az_err(err, EEXIST, "endpoint %.12s exists with other settings", e.id);
		goto fail;
	}
	if (resolve_policy(n, e.opts, e.n_opts, &p, err) < 0)
		goto fail;
	az_policy_free(&p);
	if (endpoint_room(d, &e, err) < 0)
		goto fail;
	if (d->ops->endpoint_create(n, &e, err) < 0) {
		az_err_prefix(err, "creating veth %s/%s", e.host_if, e.ctr_if);
		goto fail;
	}
	if (pl_store_save_endpoint(d, &e, err) < 0) {
		az_error e2;
		if (d->ops->endpoint_delete(&e, &e2) < 0)
			az_log(LOG_ERR, e.id, "rolling back endpoint: %s", e2.msg);
		goto fail;
	}
	d->eps[d->n_ep++] = e;	/* room was made above */
	az_log(LOG_INFO, e.id, "endpoint created on network %.12s: %s (container side %s)",
	       e.network_id, e.host_if, e.ctr_if);
	/* Empty: Docker set every field it cares about, and echoing one back
	 * is an error on its side. */
	return reply_object(reply, "Interface", NULL, err);
fail:
	pl_endpoint_free(&e);
	return -1;
}

/* The endpoint a call names, which must be on the network it names. */
static int find_endpoint(struct pl_driver *d, const cJSON *req, bool must_exist,
			 struct pl_endpoint **out, az_error *err)
{
	char nid[PL_ID_LEN + 1], eid[PL_ID_LEN + 1];

	*out = NULL;
	if (get_id(req, "NetworkID", nid, err) < 0 || get_id(req, "EndpointID", eid, err) < 0)
		return -1;
	struct pl_endpoint *e = pl_driver_endpoint(d, eid);
	if (!e)
		return must_exist ? az_err(err, ENOENT, "endpoint %.12s does not exist", eid) : 0;
	if (strcmp(e->network_id, nid))
		return az_err(err, EINVAL, "endpoint %.12s is on network %.12s, not %.12s", eid,
			      e->network_id, nid);
	*out = e;
	return 0;
}

static int h_endpoint_info(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	struct pl_endpoint *e;

	if (find_endpoint(d, req, true, &e, err) < 0)
		return -1;
	return reply_object(reply, "Value", NULL, err);
}

static int h_delete_endpoint(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	struct pl_endpoint *e;
	(void)reply;

	if (find_endpoint(d, req, false, &e, err) < 0)
		return -1;
	if (!e)
		return 0;
	return remove_endpoint_fully(d, e, err);
}

static int join_reply(const struct pl_network *n, const struct pl_endpoint *e, cJSON *reply,
		      az_error *err)
{
	char a[AZ_ADDRSTRLEN];
	cJSON *name = NULL;

	if (reply_object(reply, "InterfaceName", &name, err) < 0 ||
	    reply_string(name, "SrcName", e->ctr_if, err) < 0 ||
	    reply_string(name, "DstPrefix", "eth", err) < 0)
		return -1;
	if (n->internal) {
		/* No gateway, and no docker_gwbridge either: an internal
		 * network has no way out. */
		if (!cJSON_AddTrueToObject(reply, "DisableGatewayService"))
			return az_err(err, ENOMEM, "out of memory");
		return 0;
	}
	if (e->has4) {
		int i = pool_of(n->pool4, n->gw4, n->n4, &e->addr4, "Interface.Address", err);
		if (i < 0 || reply_string(reply, "Gateway", az_addr_str(&n->gw4[i].addr, a), err) < 0)
			return -1;
	}
	if (e->has6) {
		int i = pool_of(n->pool6, n->gw6, n->n6, &e->addr6, "Interface.AddressIPv6", err);
		if (i < 0 || reply_string(reply, "GatewayIPv6", az_addr_str(&n->gw6[i].addr, a), err) < 0)
			return -1;
	}
	return 0;
}

static int h_join(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	struct pl_endpoint *e;
	const char *sandbox;
	struct az_policy p;
	az_error e2;

	if (find_endpoint(d, req, true, &e, err) < 0 || get_string(req, "SandboxKey", &sandbox, err) < 0)
		return -1;
	/* Opened as the container's netns later: a path of plain characters
	 * or nothing (then the host layer alone protects it). */
	if (sandbox && *sandbox && !pl_sandbox_valid(sandbox))
		return az_err(err, EINVAL, "SandboxKey is not an absolute path of at most %d plain "
			      "characters", PL_SANDBOX_MAX - 1);
	const struct pl_network *n = pl_driver_network(d, e->network_id);
	if (!n)
		return az_err(err, ENOENT, "network %.12s does not exist", e->network_id);
	if (resolve_policy(n, e->opts, e->n_opts, &p, err) < 0)
		return -1;
	int r = -1;
	/* The label route: the container's labels are not known yet (and
	 * must not be asked for from here), so nothing but DNS passes until
	 * events.c has applied them — whatever this policy says, "off" too. */
	char was_ctr[PL_ID_LEN + 1];
	memcpy(was_ctr, e->container_id, sizeof(was_ctr));
	e->hold = d->labels;
	if (e->hold)
		e->container_id[0] = '\0';
	/* Also when the policy says "off": then the effect is to make sure no
	 * rules are there (ops decides how). */
	if (!p.enabled && !e->hold)
		az_log(LOG_NOTICE, e->id, "not isolated: %s is off for this endpoint", AZ_KEY_ENABLE);
	snprintf(e->sandbox, sizeof(e->sandbox), "%s", sandbox ? sandbox : "");
	e->ns_applied = e->ns_given_up = false;
	e->ns_since_ms = pl_now_ms();
	int applied = d->ops->rules_apply(n, e, &p, err);
	if (applied < 0) {
		az_err_prefix(err, "applying the rules of endpoint %.12s", e->id);
		/* Whatever part of them went in must not outlive the failure. */
		if (d->ops->rules_remove(e, &e2) < 0)
			az_log(LOG_ERR, e->id, "removing partial rules: %s", e2.msg);
		memcpy(e->container_id, was_ctr, sizeof(was_ctr));
		goto out;
	}
	bool was = e->joined;
	e->joined = true;
	e->ns_applied = applied > 0;
	if (join_reply(n, e, reply, err) < 0 || pl_store_save_endpoint(d, e, err) < 0) {
		e->joined = was;
		memcpy(e->container_id, was_ctr, sizeof(was_ctr));
		if (d->ops->rules_remove(e, &e2) < 0)
			az_log(LOG_ERR, e->id, "rolling back rules: %s", e2.msg);
		goto out;
	}
	az_log(LOG_INFO, e->id, "joined%s%s", e->hold ? ", held (only DNS passes) until its container's "
	       "labels are read" : p.enabled ? ", rules applied" : " without isolation",
	       !p.enabled && !e->hold ? "" : e->ns_applied ? " (both layers)" :
	       " (host layer; the netns layer once the container's netns exists)");
	r = 0;
out:
	az_policy_free(&p);
	return r;
}

static int h_leave(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	struct pl_endpoint *e;
	(void)reply;

	if (find_endpoint(d, req, false, &e, err) < 0)
		return -1;
	if (!e)
		return 0;
	if (d->ops->rules_remove(e, err) < 0)
		return az_err_prefix(err, "removing the rules of endpoint %.12s", e->id);
	sandbox_released(d, e);
	if (e->joined) {
		e->joined = false;
		if (pl_store_save_endpoint(d, e, err) < 0) {
			/* The record says joined: DeleteEndpoint removes the
			 * rules again, which is harmless. */
			e->joined = true;
			return -1;
		}
	}
	az_log(LOG_INFO, e->id, "left, rules removed");
	return 0;
}

/* RevokeExternalConnectivity: nothing to undo, but the request is still
 * checked like any other. */
static int h_connectivity(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	char id[PL_ID_LEN + 1];
	(void)d, (void)reply;

	if (get_id(req, "NetworkID", id, err) < 0 || get_id(req, "EndpointID", id, err) < 0)
		return -1;
	return 0;
}

/* ProgramExternalConnectivity comes to the container's gateway endpoint
 * only, and with it the port map (docker run -p / -P) Docker expects that
 * network's driver to publish: Docker itself maps nothing for a remote
 * driver.  This driver does not publish ports (yet), and accepting would
 * leave the user believing a port is open: refused, so `docker run -p`
 * fails with the reason.  A container that publishes on a bridge network
 * of Docker's and joins an alcatraz network later (network connect) gets
 * no Program call here: its ports stay Docker's. */
static int h_program(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err)
{
	const cJSON *opts, *pm;

	if (h_connectivity(d, req, reply, err) < 0 || get_object(req, "Options", &opts, err) < 0)
		return -1;
	pm = opts ? field(opts, "com.docker.network.portmap") : NULL;
	if (pm && !cJSON_IsArray(pm))
		return az_err(err, EINVAL, "Options.com.docker.network.portmap must be an array");
	if (pm && cJSON_GetArraySize(pm) > 0)
		return az_err(err, ENOTSUP,
			      "publishing ports (-p/--publish, -P) is not supported on an alcatraz "
			      "network: Docker leaves it to the network's driver and this one does not "
			      "map ports; nothing was published.  Run the container without -p");
	return 0;
}

/* ---- dispatch ---- */

struct call {
	const char *path;
	int (*fn)(struct pl_driver *d, const cJSON *req, cJSON *reply, az_error *err);
	bool parse;	/* the body must be a JSON object */
};

static const struct call calls[] = {
	{ "/Plugin.Activate", h_activate, false },
	{ "/NetworkDriver.GetCapabilities", h_capabilities, false },
	{ "/NetworkDriver.CreateNetwork", h_create_network, true },
	{ "/NetworkDriver.DeleteNetwork", h_delete_network, true },
	{ "/NetworkDriver.CreateEndpoint", h_create_endpoint, true },
	{ "/NetworkDriver.EndpointOperInfo", h_endpoint_info, true },
	{ "/NetworkDriver.DeleteEndpoint", h_delete_endpoint, true },
	{ "/NetworkDriver.Join", h_join, true },
	{ "/NetworkDriver.Leave", h_leave, true },
	{ "/NetworkDriver.ProgramExternalConnectivity", h_program, true },
	{ "/NetworkDriver.RevokeExternalConnectivity", h_connectivity, true },
	/* swarm-scope notifications: a local driver has nothing to do */
	{ "/NetworkDriver.DiscoverNew", h_nothing, false },
	{ "/NetworkDriver.DiscoverDelete", h_nothing, false },
	{ "/NetworkDriver.AllocateNetwork", h_nothing, false },
	{ "/NetworkDriver.FreeNetwork", h_nothing, false },
};

static const struct call *find_call(const char *path)
{
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (!strcmp(calls[i].path, path))
			return &calls[i];
	return NULL;
}

static int parse_body(const char *body, size_t len, cJSON **out, az_error *err)
{
	const char *end = NULL;

	*out = NULL;
	if (len > PL_MAX_BODY)
		return az_err(err, EFBIG, "request body larger than %u bytes", PL_MAX_BODY);
	if (len == 0)
		return az_err(err, EINVAL, "the request has no body (a JSON object was expected)");
	if (az_json_has_nul(body, len))
		return az_err(err, EINVAL, "the request body holds a NUL byte (raw or as \\u0000)");
	*out = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!*out)
		return az_err(err, EINVAL, "the request body is not valid JSON (at byte %zu)",
			      end && end >= body ? (size_t)(end - body) : 0);
	while (end && end < body + len && strchr(" \t\r\n", *end))
		end++;
	if (end != body + len)
		return az_err(err, EINVAL, "the request body has data after its JSON value");
	if (!cJSON_IsObject(*out))
		return az_err(err, EINVAL, "the request body is not a JSON object");
	return 0;
}

/* A path fit to quote in a message. */
static const char *safe_path(const char *path)
{
	size_t n = 0;

	for (; path[n] && n <= 80; n++)
		if (path[n] <= 0x20 || path[n] >= 0x7f || path[n] == '"' || path[n] == '\\')
			return "(unprintable)";
	return n <= 80 ? path : "(too long)";
}

static char *print_reply(cJSON *reply)
{
	char *s = reply ? cJSON_PrintUnformatted(reply) : NULL;
	return s ? s : strdup("{\"Err\":\"alcatraz: out of memory\"}");
}

static char *error_reply(const char *path, const char *msg)
{
	cleanup_cjson cJSON *r = cJSON_CreateObject();
	char text[AZ_ERR_MSG + 16];

	snprintf(text, sizeof(text), "alcatraz: %s", msg);
	if (r && !cJSON_AddStringToObject(r, "Err", text)) {
		cJSON_Delete(r);
		r = NULL;
	}
	az_log(LOG_WARNING, NULL, "%s: %s", safe_path(path), msg);
	return print_reply(r);
}

static char *call_locked(struct pl_driver *d, const struct call *c, const char *body, size_t len)
{
	cleanup_cjson cJSON *req = NULL;
	cleanup_cjson cJSON *reply = cJSON_CreateObject();
	az_error err = { 0 };

	if (!reply)
		return print_reply(NULL);
	if (c->parse && parse_body(body, len, &req, &err) < 0)
		return error_reply(c->path, err.msg);
	if (c->fn(d, req, reply, &err) < 0)
		return error_reply(c->path, err.msg);
	return print_reply(reply);
}

char *pl_driver_call(struct pl_driver *d, const char *path, const char *body, size_t len,
		     int *status)
{
	char msg[160];
	const struct call *c = find_call(path ? path : "");

	*status = 200;
	if (!c) {
		/* Docker tolerates 404 for calls a driver does not implement. */
		*status = 404;
		snprintf(msg, sizeof(msg), "%s is not a call this driver implements",
			 safe_path(path ? path : ""));
		return error_reply(path ? path : "", msg);
	}
	pthread_mutex_lock(&d->lock);
	char *r = call_locked(d, c, body ? body : "", body ? len : 0);
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* ---- life ---- */

int pl_driver_init(struct pl_driver *d, const struct pl_ops *ops, const char *state_dir,
		   az_error *err)
{
	char path[PATH_MAX + 16];

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->ops = ops;
	if (snprintf(d->state_dir, sizeof(d->state_dir), "%s", state_dir) >= (int)sizeof(d->state_dir))
		return az_err(err, ENAMETOOLONG, "state dir path too long: %s", state_dir);
	/* Records hold the settings of containers: root's only. */
	snprintf(path, sizeof(path), "%s/networks", state_dir);
	if (az_mkdir_p(path, 0700, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/endpoints", state_dir);
	if (az_mkdir_p(path, 0700, err) < 0)
		return -1;
	return 0;
}

void pl_driver_free(struct pl_driver *d)
{
	for (size_t i = 0; i < d->n_net; i++)
		pl_network_free(&d->nets[i]);
	for (size_t i = 0; i < d->n_ep; i++)
		pl_endpoint_free(&d->eps[i]);
	free(d->nets);
	free(d->eps);
	d->nets = NULL;
	d->eps = NULL;
	d->n_net = d->n_ep = d->cap_net = d->cap_ep = 0;
	pthread_mutex_destroy(&d->lock);
}
