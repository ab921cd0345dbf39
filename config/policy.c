/* policy.c — per-container settings (annotations, labels, driver options)
 * merged over the system file under the administrator's annotation policy.
 *
 * In a multi-tenant cluster pod authors are not administrators: with
 * "annotations": "narrow" a setting may only take access away, never add it,
 * so every check below asks "does this value let the container reach
 * something the administrator's settings do not?".
 */
#include "config/config.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>

enum { K_ENABLE, K_LAN, K_PROXY, K_DNS, K_PROXY_UDP, K_N };

static const char *const key_names[K_N] = {
	[K_ENABLE] = AZ_KEY_ENABLE, [K_LAN] = AZ_KEY_LAN,		[K_PROXY] = AZ_KEY_PROXY,
	[K_DNS] = AZ_KEY_DNS,	    [K_PROXY_UDP] = AZ_KEY_PROXY_UDP,
};

/* The raw value of each of our keys, NULL when not given. */
struct given {
	const char *v[K_N];
};

void az_policy_free(struct az_policy *p)
{
	free(p->lan.v);
	memset(p, 0, sizeof(*p));
}

int az_policy_copy(struct az_policy *dst, const struct az_policy *src, az_error *err)
{
	struct az_lan_entry *v = NULL;

	if (src->lan.n) {
		v = malloc(src->lan.n * sizeof(*v));
		if (!v) {
			memset(dst, 0, sizeof(*dst));
			return az_err(err, ENOMEM, "out of memory");
		}
		memcpy(v, src->lan.v, src->lan.n * sizeof(*v));
	}
	*dst = *src;
	dst->lan.v = v;
	return 0;
}

/* ---- collecting our keys ---- */

static bool is_ours(const char *key)
{
	return strncmp(key, AZ_KEY_ENABLE, strlen(AZ_KEY_ENABLE)) == 0;
}

static bool key_quotable(const char *key)
{
	size_t n = 0;

	for (; key[n] && n <= 100; n++)
		if (key[n] <= 0x20 || key[n] >= 0x7f)
			return false;
	return n <= 100;
}

static int unknown_key(const char *key, az_error *err)
{
	if (!key_quotable(key))
		return az_err(err, EINVAL,
			      "unknown setting %s... (its name is too long or not printable ASCII)",
			      AZ_KEY_ENABLE);
	/* A typo must not silently drop a restriction. */
	return az_err(err, EINVAL, "unknown setting \"%s\" (known: %s, %s, %s, %s, %s)", key,
		      AZ_KEY_ENABLE, AZ_KEY_LAN, AZ_KEY_PROXY, AZ_KEY_DNS, AZ_KEY_PROXY_UDP);
}

static int collect(const struct az_kv *kv, size_t n, struct given *g, az_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *key = kv[i].key;
		size_t k = 0;

		if (!key || !is_ours(key))
			continue;
		while (k < K_N && strcmp(key, key_names[k]) != 0)
			k++;
		if (k == K_N)
			return unknown_key(key, err);
		if (g->v[k])
			return az_err(err, EINVAL, "%s is given twice", key);
		g->v[k] = kv[i].value ? kv[i].value : "";
	}
	return 0;
}

/* ---- narrow: refuse anything that widens ---- */

__attribute__((format(printf, 4, 5)))
static int refuse(const struct az_settings *s, const char *key, az_error *err, const char *fmt, ...)
{
	char what[AZ_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return az_err(err, EPERM,
		      "%s: %s widens the administrator's settings (annotations are \"narrow\" in %s)",
		      key, what, s->path ? s->path : "the system settings");
}

static bool host_covers(const struct az_lan_entry *f, const struct az_lan_entry *a)
{
	if (f->kind != a->kind)
		return false;
	/* The gateway is only known per container: only a gateway entry of
	 * the administrator's can cover one. */
	return f->kind == AZ_HOST_GATEWAY || az_prefix_contains(&f->net, &a->net);
}

/* Each protocol of a may be covered by a different entry: "*://h:80" is
 * within "tcp://h:80 udp://h:80". */
static bool lan_covered(const struct az_lan_list *def, const struct az_lan_entry *a)
{
	unsigned need = a->protos;

	if (def->all)
		return true;
	for (size_t i = 0; i < def->n; i++) {
		const struct az_lan_entry *f = &def->v[i];

		if (!host_covers(f, a))
			continue;
		if (f->all_proto)
			return true;
		if (a->all_proto || f->port_lo > a->port_lo || a->port_hi > f->port_hi)
			continue;
		need &= ~f->protos;
	}
	return !a->all_proto && need == 0;
}

static int lan_narrow(const struct az_settings *s, const struct az_lan_list *l, az_error *err)
{
	if (s->defaults.lan.all)
		return 0;
	if (l->all)
		return refuse(s, AZ_KEY_LAN, err, "\"*\"");
	for (size_t i = 0; i < l->n; i++) {
		cleanup_buf struct az_buf e = { 0 };

		if (lan_covered(&s->defaults.lan, &l->v[i]))
			continue;
		if (az_lan_entry_format(&l->v[i], &e) < 0)
			return az_err(err, ENOMEM, "out of memory");
		return refuse(s, AZ_KEY_LAN, err, "entry \"%s\"", e.data);
	}
	return 0;
}

static int proxy_narrow(const struct az_settings *s, const struct az_proxy *p, az_error *err)
{
	cleanup_buf struct az_buf mine = { 0 };
	cleanup_buf struct az_buf theirs = { 0 };

	/* A proxy sees every connection and is itself reachable, so only the
	 * administrator's own proxy may be named. */
	if (az_proxy_format(p, &mine) < 0 || az_proxy_format(&s->defaults.proxy, &theirs) < 0)
		return az_err(err, ENOMEM, "out of memory");
	if (strcmp(mine.data, theirs.data) == 0)
		return 0;
	return refuse(s, AZ_KEY_PROXY, err, "\"%s\" (the proxy must stay \"%s\")", mine.data,
		      theirs.data);
}

static bool dns_listed(const struct az_dns *d, const struct az_addr *a)
{
	for (size_t i = 0; d->mode == AZ_DNS_LIST && i < d->n; i++)
		if (az_addr_eq(&d->v[i], a))
			return true;
	return false;
}

static int dns_narrow(const struct az_settings *s, const struct az_dns *d, az_error *err)
{
	char a[AZ_ADDRSTRLEN];

	switch (d->mode) {
	case AZ_DNS_NONE:
		return 0;
	case AZ_DNS_AUTO:
		if (s->defaults.dns.mode == AZ_DNS_AUTO)
			return 0;
		return refuse(s, AZ_KEY_DNS, err, "\"auto\"");
	case AZ_DNS_LIST:
		break;
	}
	for (size_t i = 0; i < d->n; i++)
		if (!dns_listed(&s->defaults.dns, &d->v[i]))
			return refuse(s, AZ_KEY_DNS, err, "%s", az_addr_str(&d->v[i], a));
	return 0;
}

/* ---- applying given values ---- */

static bool narrow(const struct az_settings *s)
{
	return s->annotations == AZ_ANN_NARROW;
}

static int apply_enable(const struct az_settings *s, const char *text, bool *on, az_error *err)
{
	if (az_enable_parse(text, on, err) < 0)
		return -1;
	if (narrow(s) && !*on && s->isolate == AZ_ISOLATE_ALL)
		return refuse(s, AZ_KEY_ENABLE, err, "\"off\" (isolate is \"all\")");
	return 0;
}

static int apply_lan(const struct az_settings *s, const char *text, struct az_policy *out,
		     az_error *err)
{
	struct az_lan_list l;

	if (az_lan_parse_list(text, &l, err) < 0)
		return -1;
	if (narrow(s) && lan_narrow(s, &l, err) < 0) {
		free(l.v);
		return -1;
	}
	free(out->lan.v);
	out->lan = l;
	return 0;
}

static int apply_proxy(const struct az_settings *s, const char *text, struct az_policy *out,
		       az_error *err)
{
	struct az_proxy p;

	if (az_proxy_parse(text, &p, err) < 0 || (narrow(s) && proxy_narrow(s, &p, err) < 0))
		return -1;
	out->proxy = p;
	return 0;
}

static int apply_dns(const struct az_settings *s, const char *text, struct az_policy *out,
		     az_error *err)
{
	struct az_dns d;

	if (az_dns_parse(text, &d, err) < 0 || (narrow(s) && dns_narrow(s, &d, err) < 0))
		return -1;
	out->dns = d;
	return 0;
}

static int apply_proxy_udp(const struct az_settings *s, const char *text, struct az_policy *out,
			   az_error *err)
{
	enum az_proxy_udp u;

	if (az_proxy_udp_parse(text, &u, err) < 0)
		return -1;
	/* "direct" lets UDP (QUIC) go around the proxy. */
	if (narrow(s) && u == AZ_PROXY_UDP_DIRECT && s->defaults.proxy_udp == AZ_PROXY_UDP_BLOCK)
		return refuse(s, AZ_KEY_PROXY_UDP, err, "\"direct\"");
	out->proxy_udp = u;
	return 0;
}

static int apply(const struct az_settings *s, const struct given *g, struct az_policy *out,
		 bool *on, az_error *err)
{
	if (g->v[K_ENABLE] && apply_enable(s, g->v[K_ENABLE], on, err) < 0)
		return -1;
	if (g->v[K_LAN] && apply_lan(s, g->v[K_LAN], out, err) < 0)
		return -1;
	if (g->v[K_PROXY] && apply_proxy(s, g->v[K_PROXY], out, err) < 0)
		return -1;
	if (g->v[K_DNS] && apply_dns(s, g->v[K_DNS], out, err) < 0)
		return -1;
	if (g->v[K_PROXY_UDP] && apply_proxy_udp(s, g->v[K_PROXY_UDP], out, err) < 0)
		return -1;
	return 0;
}

static bool decide_enabled(const struct az_settings *s, const struct given *g, bool on)
{
	/* An explicit alcatraz.network wins (narrow mode refused "off"
	 * already when the administrator isolates all). */
	if (g->v[K_ENABLE])
		return on;
	if (s->isolate == AZ_ISOLATE_ALL)
		return true;
	/* Under "annotated", giving any setting means wanting isolation: who
	 * writes lan-access=192.168.1.50:5432 expects the rest of the LAN to
	 * be closed, not an open container because "on" was forgotten. */
	for (size_t k = 0; k < K_N; k++)
		if (g->v[k])
			return true;
	return false;
}

static void log_ignored(const struct az_settings *s, const struct az_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kv[i].key && is_ours(kv[i].key)) {
			az_log(LOG_DEBUG, NULL, "%s settings ignored (annotations are \"ignore\" in %s)",
			       AZ_KEY_ENABLE, s->path ? s->path : "the system settings");
			return;
		}
}

int az_policy_resolve(const struct az_settings *s, const struct az_kv *kv, size_t n,
		      struct az_policy *out, az_error *err)
{
	struct given g = { 0 };
	bool on = false;

	memset(out, 0, sizeof(*out));
	if (s->annotations == AZ_ANN_IGNORE)
		log_ignored(s, kv, n);
	else if (collect(kv, n, &g, err) < 0)
		return -1;
	if (az_policy_copy(out, &s->defaults, err) < 0)
		return -1;
	if (apply(s, &g, out, &on, err) < 0) {
		az_policy_free(out);
		return -1;
	}
	out->enabled = decide_enabled(s, &g, on);
	return 0;
}
