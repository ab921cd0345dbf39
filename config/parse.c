/* parse.c — the settings grammar: hostile-text checks first, then lan-access,
 * proxy, dns, proxy-udp and enable values into typed values.
 *
 * Every value comes from someone who may be hostile (a pod author, a label on
 * an image), so the text is checked before any grammar looks at it, and only
 * text that passed the check is ever quoted back in a message.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

/* Podman's --annotation splits on commas, so lists accept whitespace too. */
#define SEPARATORS " \t\r\n,"
#define DIGITS "0123456789"
#define TOKEN_HOST_IP "${alca:HOST_IP}"
/* The longest valid entry ("*://[v6 with an IPv4 tail/128]:65535-65535") is
 * under 80 bytes; anything longer is refused without being parsed. */
#define ENTRY_MAX 128
#define QUOTE_MAX 40

static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	uint32_t min;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, min = 0x80, *cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, min = 0x800, *cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, min = 0x10000, *cp = c & 0x07;
	} else {
		return 0;
	}
	/* The NUL terminator fails the continuation test, so this never
	 * reads past the end of the string. */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

int az_setting_check(const char *what, const char *text, az_error *err)
{
	size_t len = strnlen(text, AZ_MAX_SETTING_LEN + 1);

	if (len > AZ_MAX_SETTING_LEN)
		return az_err(err, EINVAL, "%s: value longer than %d bytes", what, AZ_MAX_SETTING_LEN);
	for (size_t i = 0; i < len; i++) {
		const unsigned char c = (unsigned char)text[i];
		uint32_t cp;

		if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c < 0x80)
			return az_err(err, EINVAL,
				      "%s: control character 0x%02x at byte %zu (settings are printable ASCII)",
				      what, c, i);
		if (!utf8_decode((const unsigned char *)text + i, &cp))
			return az_err(err, EINVAL, "%s: invalid UTF-8 at byte %zu", what, i);
		return az_err(err, EINVAL,
			      "%s: non-ASCII character U+%04X at byte %zu (settings are printable ASCII)",
			      what, (unsigned)cp, i);
	}
	return 0;
}

/* Text that passed az_setting_check, fit to quote in a one-line message:
 * tabs and newlines become spaces (a newline would forge a log line), and a
 * long text is cut with "...". */
static const char *quote(const char *text, size_t max, char *buf)
{
	size_t n = 0;

	for (; text[n] && n < max; n++)
		buf[n] = (text[n] == '\t' || text[n] == '\r' || text[n] == '\n') ? ' ' : text[n];
	strcpy(buf + n, text[n] ? "..." : "");
	return buf;
}

/* "<what> entry "<entry>": <reason>".  entry has passed az_setting_check. */
__attribute__((format(printf, 4, 5)))
static int entry_err(az_error *err, const char *what, const char *entry, const char *fmt, ...)
{
	char reason[AZ_ERR_MSG], q[ENTRY_MAX + 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return az_err(err, EINVAL, "%s entry \"%s\": %s", what, quote(entry, ENTRY_MAX, q), reason);
}

/* Copy one entry of a list into buf, refusing one too long to be valid. */
static int copy_entry(const char *what, const char *p, size_t n, char buf[ENTRY_MAX], az_error *err)
{
	char q[QUOTE_MAX + 4];

	if (n >= ENTRY_MAX)
		return az_err(err, EINVAL, "%s entry \"%s\": too long (%zu bytes)", what,
			      quote(p, QUOTE_MAX, q), n);
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

/* Number of entries in a list, without looking at them. */
static size_t count_entries(const char *text)
{
	size_t n = 0;

	for (const char *p = text + strspn(text, SEPARATORS); *p; p += strspn(p, SEPARATORS)) {
		p += strcspn(p, SEPARATORS);
		n++;
	}
	return n;
}

/* Is text, less surrounding separators, the keyword word (any case)?  A
 * stray separator ("none,") is what a list of one looks like. */
static bool is_keyword(const char *text, const char *word)
{
	size_t n = strlen(word);

	text += strspn(text, SEPARATORS);
	return strncasecmp(text, word, n) == 0 && text[n + strspn(text + n, SEPARATORS)] == '\0';
}

static bool all_of(const char *s, const char *set)
{
	return s[strspn(s, set)] == '\0';
}

/* ---- addresses and ports ---- */

static int bad_addr(az_error *err, const char *what, const char *entry, const char *a)
{
	if (!*a)
		return entry_err(err, what, entry, "no address");
	if (strchr(a, '/'))
		return entry_err(err, what, entry, "%s: a prefix is not accepted here, give an address", a);
	if (strchr(a, ':') && strchr(a, '%'))
		return entry_err(err, what, entry,
				 "%s is not an IPv6 address (zone indexes are not accepted)", a);
	if (all_of(a, DIGITS "."))
		return entry_err(err, what, entry, "%s is not an IPv4 address", a);
	if (strchr(a, ':') && all_of(a, DIGITS "abcdefABCDEF:."))
		return entry_err(err, what, entry, "%s is not an IPv6 address", a);
	/* The hook must not depend on DNS, and a name may resolve
	 * differently for the container than for us. */
	return entry_err(err, what, entry,
			 "%s is not an IP address (host names are not accepted: give a literal address)",
			 a);
}

/* An address nobody can be "at": no proxy or resolver lives there. */
static bool addr_is_host(const struct az_addr *a)
{
	static const uint8_t zero[16];

	if (a->family == AF_INET)
		return a->v4.s_addr != htonl(INADDR_ANY) && a->v4.s_addr != htonl(INADDR_BROADCAST) &&
		       (a->b[0] & 0xf0) != 0xe0;
	return memcmp(a->b, zero, 16) != 0 && a->b[0] != 0xff;
}

static int parse_port(const char *what, const char *entry, const char *s, uint16_t *out,
		      az_error *err)
{
	unsigned long v = 0;

	if (!*s)
		return entry_err(err, what, entry, "missing port after \":\"");
	if (!all_of(s, DIGITS))
		return entry_err(err, what, entry, "port \"%s\" is not a number", s);
	for (const char *p = s; *p && v <= 65535; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (v < 1 || v > 65535)
		return entry_err(err, what, entry, "port %s is out of range (1-65535)", s);
	*out = (uint16_t)v;
	return 0;
}

/* "*", "N" or "N-M" (the range is our extension of the anchor's grammar). */
static int parse_port_range(const char *what, const char *entry, char *s, uint16_t *lo,
			    uint16_t *hi, az_error *err)
{
	char *dash;

	if (strcmp(s, "*") == 0) {
		*lo = 0, *hi = 65535;
		return 0;
	}
	dash = strchr(s, '-');
	if (!dash) {
		if (parse_port(what, entry, s, lo, err) < 0)
			return -1;
		*hi = *lo;
		return 0;
	}
	if (dash == s || !dash[1])
		return entry_err(err, what, entry, "port range \"%s\" is incomplete (write LOW-HIGH)", s);
	*dash = '\0';
	if (parse_port(what, entry, s, lo, err) < 0 || parse_port(what, entry, dash + 1, hi, err) < 0)
		return -1;
	if (*lo > *hi)
		return entry_err(err, what, entry, "port range %s-%s is reversed (write %u-%u)", s,
				 dash + 1, *hi, *lo);
	return 0;
}

/* "ADDR" or "ADDR/LEN" (a is modified).  Brackets promise IPv6. */
static int parse_net(const char *what, const char *entry, char *a, bool bracketed,
		     struct az_prefix *out, az_error *err)
{
	char *slash = strchr(a, '/');
	const char *l = slash ? slash + 1 : NULL;
	struct az_prefix m;
	unsigned bits;

	if (slash)
		*slash = '\0';
	if (az_addr_parse(a, &out->addr) < 0)
		return bad_addr(err, what, entry, a);
	if (bracketed && out->addr.family != AF_INET6)
		return entry_err(err, what, entry, "brackets are only for IPv6 addresses: write %s", a);
	bits = out->addr.family == AF_INET ? 32 : 128;
	out->len = (uint8_t)bits;
	if (!l)
		return 0;
	if (!*l || strlen(l) > 3 || !all_of(l, DIGITS))
		return entry_err(err, what, entry, "prefix length /%s is not a number", l);
	if ((unsigned)atoi(l) > bits)
		return entry_err(err, what, entry, "prefix length /%s is too long for %s (at most /%u)",
				 l, bits == 32 ? "IPv4" : "IPv6", bits);
	out->len = (uint8_t)atoi(l);
	m = *out;
	az_prefix_mask(&m);
	if (!az_addr_eq(&m.addr, &out->addr)) {
		char net[AZ_PREFIXSTRLEN];
		return entry_err(err, what, entry, "%s/%s has host bits set (did you mean %s?)", a, l,
				 az_prefix_str(&m, net));
	}
	return 0;
}

/* Split s (modified) into host and port; *port is NULL when none is given.
 * A plain host with two colons or more is an IPv6 address without a port. */
static int split_host_port(const char *what, const char *entry, char *s, char **host,
			   char **port, bool *bracketed, az_error *err)
{
	char *close = NULL, *colon;

	*host = s, *port = NULL, *bracketed = false;
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (!close)
			return entry_err(err, what, entry, "missing \"]\" after the IPv6 address");
		*host = s + 1, *bracketed = true;
	} else if (strncmp(s, "${", 2) == 0) {
		close = strchr(s, '}');
		if (!close)
			return entry_err(err, what, entry,
					 "unterminated token %s (the only token is " TOKEN_HOST_IP ")", s);
	}
	if (close) {
		char *after = close + 1;

		if (*after == '/' && !*bracketed)
			return entry_err(err, what, entry, "a prefix length cannot follow a token");
		if (*after && *after != ':')
			return entry_err(err, what, entry, "unexpected \"%s\" after \"%c\"", after,
					 *close);
		if (*after == ':')
			*port = after + 1;
		/* Cut the host after "}", or drop the "]". */
		*(*bracketed ? close : after) = '\0';
		return 0;
	}
	colon = strchr(s, ':');
	if (colon && !strchr(colon + 1, ':')) {
		*colon = '\0';
		*port = colon + 1;
	}
	return 0;
}

/* A host with two colons or more was taken for an IPv6 address without a
 * port.  When it is not one, say what was probably meant rather than "not
 * an IPv6 address": an IPv4 address with junk after its port, or an IPv6
 * address given a port without brackets. */
static int refuse_misplaced_port(const char *what, const char *entry, const char *host,
				   az_error *err)
{
	char head[ENTRY_MAX];
	const char *tail = strrchr(host, ':');
	struct az_prefix p;
	struct az_addr v4;

	/* "10.0.0.1:80:90" is not an IPv6 address at all. */
	snprintf(head, sizeof(head), "%.*s", (int)strcspn(host, ":"), host);
	if (az_addr_parse(head, &v4) == 0 && v4.family == AF_INET)
		return entry_err(err, what, entry, "unexpected \"%s\" after the IPv4 address %s",
				 host + strlen(head), head);
	if (!tail || !tail[1] || !all_of(tail + 1, DIGITS "*-") || az_prefix_parse(host, &p, NULL) == 0)
		return 0;
	snprintf(head, sizeof(head), "%.*s", (int)(tail - host), host);
	if (az_prefix_parse(head, &p, NULL) < 0 || p.addr.family != AF_INET6)
		return 0;
	return entry_err(err, what, entry, "a port after an IPv6 address needs brackets: write [%s]:%s",
			 head, tail + 1);
}

/* ---- lan-access ---- */

static int parse_scheme(const char *entry, char **rest, bool *given, unsigned *protos,
			az_error *err)
{
	const char *sep = strstr(*rest, "://");
	size_t n;

	*given = sep != NULL;
	if (!sep)
		return 0;
	n = (size_t)(sep - *rest);
	if (n == 3 && strncasecmp(*rest, "tcp", 3) == 0)
		*protos = AZ_L4_TCP;
	else if (n == 3 && strncasecmp(*rest, "udp", 3) == 0)
		*protos = AZ_L4_UDP;
	else if (n == 1 && **rest == '*')
		*protos = AZ_L4_TCP | AZ_L4_UDP;
	else
		return entry_err(err, "lan-access", entry,
				 "unknown protocol \"%.*s\" (use tcp://, udp:// or *://)", (int)n, *rest);
	*rest += n + 3;
	return 0;
}

static int parse_lan_host(const char *entry, char *host, bool bracketed, struct az_lan_entry *out,
			  az_error *err)
{
	if (strncmp(host, "${", 2) == 0) {
		if (strcmp(host, TOKEN_HOST_IP) != 0)
			return entry_err(err, "lan-access", entry,
					 "unknown token %s (the only token is " TOKEN_HOST_IP ")", host);
		if (bracketed)
			return entry_err(err, "lan-access", entry,
					 "brackets are only for IPv6 addresses: write " TOKEN_HOST_IP);
		out->kind = AZ_HOST_GATEWAY;
		return 0;
	}
	if (strcmp(host, "*") == 0)
		return entry_err(err, "lan-access", entry,
				 "* is not an address (a lone * in the list opens the whole LAN)");
	if (!bracketed && strchr(host, ':') && refuse_misplaced_port("lan-access", entry, host, err) < 0)
		return -1;
	out->kind = AZ_HOST_ADDR;
	return parse_net("lan-access", entry, host, bracketed, &out->net, err);
}

/* entry: one entry, checked, no separators, not "*". */
static int parse_lan_entry(const char *entry, struct az_lan_entry *out, az_error *err)
{
	char buf[ENTRY_MAX], *rest = buf, *host, *port;
	bool scheme, bracketed;
	unsigned protos = 0;

	snprintf(buf, sizeof(buf), "%s", entry);
	if (parse_scheme(entry, &rest, &scheme, &protos, err) < 0)
		return -1;
	if (!*rest)
		return entry_err(err, "lan-access", entry, "no address");
	if (split_host_port("lan-access", entry, rest, &host, &port, &bracketed, err) < 0 ||
	    parse_lan_host(entry, host, bracketed, out, err) < 0)
		return -1;
	/* No scheme and no port (or ":*") means the whole host; a port
	 * without a scheme means TCP, as in the anchor project. */
	if (!scheme && (!port || strcmp(port, "*") == 0)) {
		out->all_proto = true;
		out->protos = AZ_L4_TCP | AZ_L4_UDP;
		out->port_lo = 0, out->port_hi = 65535;
		return 0;
	}
	out->protos = scheme ? protos : AZ_L4_TCP;
	if (!port) {
		out->port_lo = 0, out->port_hi = 65535;
		return 0;
	}
	return parse_port_range("lan-access", entry, port, &out->port_lo, &out->port_hi, err);
}

int az_lan_parse_entry(const char *text, struct az_lan_entry *out, az_error *err)
{
	char q[QUOTE_MAX + 4];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (az_setting_check("lan-access", text, err) < 0)
		return -1;
	n = strlen(text);
	if (n == 0)
		return entry_err(err, "lan-access", text, "empty entry");
	if (n >= ENTRY_MAX)
		return az_err(err, EINVAL, "lan-access entry \"%s\": too long (%zu bytes)",
			      quote(text, QUOTE_MAX, q), n);
	if (text[strcspn(text, SEPARATORS)])
		return entry_err(err, "lan-access", text,
				 "contains a space or comma (give entries one at a time, or as a list)");
	if (strcmp(text, "*") == 0)
		return entry_err(err, "lan-access", text,
				 "a lone * opens the whole LAN: it belongs in a list, not in an entry");
	return parse_lan_entry(text, out, err);
}

static int lan_entry_cmp(const void *pa, const void *pb)
{
	const struct az_lan_entry *a = pa, *b = pb;
	int r;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->kind == AZ_HOST_ADDR) {
		if (a->net.addr.family != b->net.addr.family)
			return a->net.addr.family == AF_INET ? -1 : 1;
		r = memcmp(a->net.addr.b, b->net.addr.b, 16);
		if (r)
			return r;
		if (a->net.len != b->net.len)
			return a->net.len < b->net.len ? -1 : 1;
	}
	if (a->all_proto != b->all_proto)
		return a->all_proto ? -1 : 1;
	if (a->all_proto)
		return 0;
	if (a->protos != b->protos)
		return a->protos < b->protos ? -1 : 1;
	if (a->port_lo != b->port_lo)
		return a->port_lo < b->port_lo ? -1 : 1;
	return a->port_hi < b->port_hi ? -1 : a->port_hi > b->port_hi;
}

/* Sorted and without duplicates, so that the rules rendered from a list do
 * not depend on how the user happened to write it. */
static void lan_normalize(struct az_lan_list *l)
{
	size_t w = 0;

	if (l->all || l->n == 0) {
		/* With "*" the other entries add nothing. */
		free(l->v);
		l->v = NULL, l->n = 0;
		return;
	}
	qsort(l->v, l->n, sizeof(*l->v), lan_entry_cmp);
	for (size_t i = 0; i < l->n; i++)
		if (w == 0 || lan_entry_cmp(&l->v[w - 1], &l->v[i]) != 0)
			l->v[w++] = l->v[i];
	l->n = w;
}

int az_lan_parse_list(const char *text, struct az_lan_list *out, az_error *err)
{
	size_t count;

	memset(out, 0, sizeof(*out));
	if (az_setting_check("lan-access", text, err) < 0)
		return -1;
	count = count_entries(text);
	if (count > AZ_MAX_LAN)
		return az_err(err, EINVAL, "lan-access: %zu entries, at most %d are accepted", count,
			      AZ_MAX_LAN);
	if (count && !(out->v = calloc(count, sizeof(*out->v))))
		return az_err(err, ENOMEM, "lan-access: out of memory");
	for (const char *p = text + strspn(text, SEPARATORS); *p; p += strspn(p, SEPARATORS)) {
		char entry[ENTRY_MAX];
		size_t n = strcspn(p, SEPARATORS);

		if (copy_entry("lan-access", p, n, entry, err) < 0)
			goto fail;
		p += n;
		if (strcmp(entry, "*") == 0)
			out->all = true;
		else if (parse_lan_entry(entry, &out->v[out->n++], err) < 0)
			goto fail;
	}
	lan_normalize(out);
	return 0;
fail:
	free(out->v);
	memset(out, 0, sizeof(*out));
	return -1;
}

/* ---- proxy ---- */

static int parse_endpoint(const char *entry, struct az_endpoint *out, az_error *err)
{
	char buf[ENTRY_MAX], *host, *port;
	bool bracketed;

	memset(out, 0, sizeof(*out));
	snprintf(buf, sizeof(buf), "%s", entry);
	if (strstr(buf, "://"))
		return entry_err(err, "proxy", entry, "a proxy is ADDRESS:PORT, without a scheme");
	if (strcasecmp(buf, "none") == 0)
		return entry_err(err, "proxy", entry, "\"none\" cannot be combined with proxies");
	if (split_host_port("proxy", entry, buf, &host, &port, &bracketed, err) < 0)
		return -1;
	if (!bracketed && strncmp(host, "${", 2) != 0 && strchr(host, ':'))
		return entry_err(err, "proxy", entry, "an IPv6 proxy is written [ADDRESS]:PORT");
	if (strncmp(host, "${", 2) == 0) {
		if (strcmp(host, TOKEN_HOST_IP) != 0)
			return entry_err(err, "proxy", entry,
					 "unknown token %s (the only token is " TOKEN_HOST_IP ")", host);
		if (bracketed)
			return entry_err(err, "proxy", entry,
					 "brackets are only for IPv6 addresses: write " TOKEN_HOST_IP);
		out->kind = AZ_HOST_GATEWAY;
	} else if (az_addr_parse(host, &out->addr) < 0) {
		return bad_addr(err, "proxy", entry, host);
	} else if (bracketed != (out->addr.family == AF_INET6)) {
		return entry_err(err, "proxy", entry, "brackets are only for IPv6 addresses: write %s",
				 host);
	} else if (!addr_is_host(&out->addr)) {
		return entry_err(err, "proxy", entry, "%s cannot be a proxy address", host);
	}
	if (!port)
		return entry_err(err, "proxy", entry, "missing port (write %s%s%s:PORT)",
				 bracketed ? "[" : "", host, bracketed ? "]" : "");
	return parse_port("proxy", entry, port, &out->port, err);
}

static bool endpoint_is_v6(const struct az_endpoint *e)
{
	return e->kind == AZ_HOST_ADDR && e->addr.family == AF_INET6;
}

int az_proxy_parse(const char *text, struct az_proxy *out, az_error *err)
{
	memset(out, 0, sizeof(*out));
	if (az_setting_check("proxy", text, err) < 0)
		return -1;
	if (is_keyword(text, "none"))
		return 0;
	for (const char *p = text + strspn(text, SEPARATORS); *p; p += strspn(p, SEPARATORS)) {
		char entry[ENTRY_MAX];
		struct az_endpoint e;
		size_t n = strcspn(p, SEPARATORS);

		if (copy_entry("proxy", p, n, entry, err) < 0 || parse_endpoint(entry, &e, err) < 0)
			goto fail;
		p += n;
		for (size_t i = 0; i < out->n; i++)
			if (endpoint_is_v6(&out->v[i]) == endpoint_is_v6(&e)) {
				entry_err(err, "proxy", entry,
					  "a second %s proxy (give at most one IPv4 or " TOKEN_HOST_IP
					  " proxy and one IPv6 proxy)",
					  endpoint_is_v6(&e) ? "IPv6" : "IPv4");
				goto fail;
			}
		out->v[out->n++] = e;
	}
	/* IPv4 (or the token) first: a fixed order for the canonical text. */
	if (out->n == 2 && endpoint_is_v6(&out->v[0])) {
		struct az_endpoint t = out->v[0];
		out->v[0] = out->v[1], out->v[1] = t;
	}
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

/* ---- dns ---- */

static int parse_resolver(const char *entry, struct az_addr *out, az_error *err)
{
	char head[ENTRY_MAX];
	const char *colon = strchr(entry, ':');
	struct az_addr a;

	if (is_keyword(entry, "auto") || is_keyword(entry, "none"))
		return entry_err(err, "dns", entry, "auto and none stand alone, not in a list of addresses");
	if (strncmp(entry, "${", 2) == 0)
		return entry_err(err, "dns", entry,
				 "tokens are not accepted here (auto allows the container's own resolvers)");
	if (az_addr_parse(entry, out) == 0) {
		if (!addr_is_host(out))
			return entry_err(err, "dns", entry, "%s cannot be a DNS server", entry);
		return 0;
	}
	snprintf(head, sizeof(head), "%.*s", colon ? (int)(colon - entry) : 0, entry);
	if (entry[0] == '[' || (colon && az_addr_parse(head, &a) == 0 && a.family == AF_INET))
		return entry_err(err, "dns", entry,
				 "give the address alone, without brackets or port (DNS is port 53)");
	return bad_addr(err, "dns", entry, entry);
}

static int addr_cmp(const void *pa, const void *pb)
{
	const struct az_addr *a = pa, *b = pb;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	return memcmp(a->b, b->b, 16);
}

int az_dns_parse(const char *text, struct az_dns *out, az_error *err)
{
	size_t count, w = 0;

	memset(out, 0, sizeof(*out));
	if (az_setting_check("dns", text, err) < 0)
		return -1;
	if (is_keyword(text, "auto"))
		return 0;
	out->mode = AZ_DNS_NONE;
	if (is_keyword(text, "none"))
		return 0;
	count = count_entries(text);
	if (count == 0)
		return az_err(err, EINVAL, "dns: empty value (use auto, none or a list of addresses)");
	if (count > AZ_MAX_DNS)
		return az_err(err, EINVAL, "dns: %zu addresses, at most %d are accepted", count,
			      AZ_MAX_DNS);
	out->mode = AZ_DNS_LIST;
	for (const char *p = text + strspn(text, SEPARATORS); *p; p += strspn(p, SEPARATORS)) {
		char entry[ENTRY_MAX];
		size_t n = strcspn(p, SEPARATORS);

		if (copy_entry("dns", p, n, entry, err) < 0 ||
		    parse_resolver(entry, &out->v[out->n++], err) < 0) {
			memset(out, 0, sizeof(*out));
			return -1;
		}
		p += n;
	}
	qsort(out->v, out->n, sizeof(*out->v), addr_cmp);
	for (size_t i = 0; i < out->n; i++)
		if (w == 0 || !az_addr_eq(&out->v[w - 1], &out->v[i]))
			out->v[w++] = out->v[i];
	out->n = w;
	return 0;
}

/* ---- single words ---- */

static int bad_word(az_error *err, const char *what, const char *text, const char *expected)
{
	char q[QUOTE_MAX + 4];

	return az_err(err, EINVAL, "%s: \"%s\" is not %s", what, quote(text, QUOTE_MAX, q), expected);
}

int az_proxy_udp_parse(const char *text, enum az_proxy_udp *out, az_error *err)
{
	*out = AZ_PROXY_UDP_DIRECT;
	if (az_setting_check("proxy-udp", text, err) < 0)
		return -1;
	if (is_keyword(text, "direct"))
		return 0;
	if (is_keyword(text, "block")) {
		*out = AZ_PROXY_UDP_BLOCK;
		return 0;
	}
	return bad_word(err, "proxy-udp", text, "direct or block");
}

int az_enable_parse(const char *text, bool *out, az_error *err)
{
	static const char *const on[] = { "on", "true", "yes", "1" };
	static const char *const off[] = { "off", "false", "no", "0" };

	*out = false;
	if (az_setting_check(AZ_KEY_ENABLE, text, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (is_keyword(text, on[i])) {
			*out = true;
			return 0;
		}
		if (is_keyword(text, off[i]))
			return 0;
	}
	return bad_word(err, AZ_KEY_ENABLE, text, "on or off (also true/false, yes/no, 1/0)");
}
