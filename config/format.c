/* format.c — the canonical text of settings.
 *
 * Each text is re-parseable by the matching parser in parse.c and does not
 * depend on how the struct was built: lists are printed sorted and without
 * duplicates.  Two policies are the same iff their canonical texts are equal,
 * which is how containers sharing a network namespace are compared.
 */
#include "config/config.h"

#include <errno.h>
#include <string.h>

#define TOKEN_HOST_IP "${alca:HOST_IP}"

/* The host part; IPv6 gets brackets only when a port follows, as the
 * grammar requires them only then. */
static const char *entry_host(const struct az_lan_entry *e, bool port_follows,
			      char buf[AZ_PREFIXSTRLEN + 2])
{
	char p[AZ_PREFIXSTRLEN];

	if (e->kind == AZ_HOST_GATEWAY)
		return TOKEN_HOST_IP;
	az_prefix_str(&e->net, p);
	if (port_follows && e->net.addr.family == AF_INET6)
		snprintf(buf, AZ_PREFIXSTRLEN + 2, "[%s]", p);
	else
		snprintf(buf, AZ_PREFIXSTRLEN + 2, "%s", p);
	return buf;
}

int az_lan_entry_format(const struct az_lan_entry *e, struct az_buf *out)
{
	char h[AZ_PREFIXSTRLEN + 2];
	const char *scheme;

	if (e->all_proto)
		return az_buf_printf(out, "%s", entry_host(e, false, h));
	switch (e->protos) {
	case AZ_L4_TCP:
		scheme = "tcp://";
		break;
	case AZ_L4_UDP:
		scheme = "udp://";
		break;
	case AZ_L4_TCP | AZ_L4_UDP:
		scheme = "*://";
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (e->port_lo == 0 && e->port_hi == 65535)
		return az_buf_printf(out, "%s%s", scheme, entry_host(e, false, h));
	/* A port without a scheme means TCP: the shortest form. */
	if (e->protos == AZ_L4_TCP)
		scheme = "";
	if (e->port_lo == e->port_hi)
		return az_buf_printf(out, "%s%s:%u", scheme, entry_host(e, true, h), e->port_lo);
	return az_buf_printf(out, "%s%s:%u-%u", scheme, entry_host(e, true, h), e->port_lo,
			     e->port_hi);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_strs(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Sorting the texts rather than the structs keeps the order independent of
 * whoever built the list. */
int az_lan_format(const struct az_lan_list *l, struct az_buf *out)
{
	char **v;
	size_t n = 0;
	int r = 0;

	if (l->all)
		return az_buf_printf(out, "*");
	if (l->n == 0)
		return 0;
	v = calloc(l->n, sizeof(*v));
	if (!v)
		return -1;
	for (; n < l->n; n++) {
		struct az_buf b;

		az_buf_init(&b);
		if (az_lan_entry_format(&l->v[n], &b) < 0) {
			az_buf_free(&b);
			free_strs(v, n);
			return -1;
		}
		v[n] = az_buf_steal(&b);
	}
	qsort(v, n, sizeof(*v), str_cmp);
	for (size_t i = 0; i < n && r == 0; i++)
		if (i == 0 || strcmp(v[i - 1], v[i]) != 0)
			r = az_buf_printf(out, "%s%s", i ? " " : "", v[i]);
	free_strs(v, n);
	return r;
}

static int endpoint_format(const struct az_endpoint *e, struct az_buf *out)
{
	char a[AZ_ADDRSTRLEN];

	if (e->kind == AZ_HOST_GATEWAY)
		return az_buf_printf(out, TOKEN_HOST_IP ":%u", e->port);
	az_addr_str(&e->addr, a);
	if (e->addr.family == AF_INET6)
		return az_buf_printf(out, "[%s]:%u", a, e->port);
	return az_buf_printf(out, "%s:%u", a, e->port);
}

static bool endpoint_is_v6(const struct az_endpoint *e)
{
	return e->kind == AZ_HOST_ADDR && e->addr.family == AF_INET6;
}

int az_proxy_format(const struct az_proxy *p, struct az_buf *out)
{
	bool first = true;

	if (p->n == 0)
		return az_buf_printf(out, "none");
	/* IPv4 (or the token) first, then IPv6. */
	for (int v6 = 0; v6 < 2; v6++)
		for (size_t i = 0; i < p->n && i < 2; i++) {
			if (endpoint_is_v6(&p->v[i]) != (bool)v6)
				continue;
			if ((!first && az_buf_printf(out, " ") < 0) || endpoint_format(&p->v[i], out) < 0)
				return -1;
			first = false;
		}
	return 0;
}

static int addr_cmp(const void *pa, const void *pb)
{
	const struct az_addr *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16);
}

int az_dns_format(const struct az_dns *d, struct az_buf *out)
{
	struct az_addr v[AZ_MAX_DNS];
	size_t n = d->n < AZ_MAX_DNS ? d->n : AZ_MAX_DNS;
	char a[AZ_ADDRSTRLEN];

	switch (d->mode) {
	case AZ_DNS_AUTO:
		return az_buf_printf(out, "auto");
	case AZ_DNS_NONE:
		return az_buf_printf(out, "none");
	case AZ_DNS_LIST:
		break;
	}
	if (n == 0)
		return az_buf_printf(out, "none");
	memcpy(v, d->v, n * sizeof(*v));
	qsort(v, n, sizeof(*v), addr_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i && addr_cmp(&v[i - 1], &v[i]) == 0)
			continue;
		if (az_buf_printf(out, "%s%s", i ? " " : "", az_addr_str(&v[i], a)) < 0)
			return -1;
	}
	return 0;
}

const char *az_proxy_udp_str(enum az_proxy_udp u)
{
	return u == AZ_PROXY_UDP_BLOCK ? "block" : "direct";
}

/* "key=value" with the list's spaces turned into commas: in the one-line
 * form spaces separate settings, and the parsers accept either separator. */
static int append_setting(struct az_buf *out, const char *key, const char *list)
{
	size_t start = out->len;

	if (az_buf_printf(out, " %s=%s", key, list) < 0)
		return -1;
	for (size_t i = start + 1; i < out->len; i++)
		if (out->data[i] == ' ')
			out->data[i] = ',';
	return 0;
}

int az_policy_format(const struct az_policy *p, struct az_buf *out)
{
	struct az_buf lan, proxy, dns;
	int r = -1;

	az_buf_init(&lan), az_buf_init(&proxy), az_buf_init(&dns);
	if (az_lan_format(&p->lan, &lan) < 0 || az_proxy_format(&p->proxy, &proxy) < 0 ||
	    az_dns_format(&p->dns, &dns) < 0)
		goto out;
	if (az_buf_printf(out, "enabled=%s", p->enabled ? "on" : "off") < 0 ||
	    append_setting(out, "lan-access", lan.data ? lan.data : "") < 0 ||
	    append_setting(out, "proxy", proxy.data) < 0 || append_setting(out, "dns", dns.data) < 0 ||
	    az_buf_printf(out, " proxy-udp=%s", az_proxy_udp_str(p->proxy_udp)) < 0)
		goto out;
	r = 0;
out:
	az_buf_free(&lan), az_buf_free(&proxy), az_buf_free(&dns);
	return r;
}

bool az_policy_equal(const struct az_policy *a, const struct az_policy *b)
{
	cleanup_buf struct az_buf ta = { 0 };
	cleanup_buf struct az_buf tb = { 0 };

	if (az_policy_format(a, &ta) < 0 || az_policy_format(b, &tb) < 0)
		return false;
	return strcmp(ta.data, tb.data) == 0;
}
