/* config.h — settings in: the system file, annotations/labels/driver options,
 * merged under the admin's annotation policy into a struct az_policy.
 *
 * Pure: values in, values out.  No file I/O except az_settings_load().
 * Nothing downstream ever sees a raw setting string: everything is parsed into
 * addresses, prefixes, ports and enums here.
 */
#ifndef ALCATRAZ_CONFIG_H
#define ALCATRAZ_CONFIG_H

#include "common/common.h"

/* Setting names (annotation keys, -o keys, labels). */
#define AZ_KEY_ENABLE "alcatraz.network"
#define AZ_KEY_LAN "alcatraz.network.lan-access"
#define AZ_KEY_PROXY "alcatraz.network.proxy"
#define AZ_KEY_DNS "alcatraz.network.dns"
#define AZ_KEY_PROXY_UDP "alcatraz.network.proxy-udp"

#define AZ_DEFAULT_CONFIG "/etc/alcatraz/alcatraz.json"
#define AZ_MAX_SETTING_LEN 65536	/* longer values are refused */
#define AZ_MAX_LAN 256
#define AZ_MAX_DNS 8

enum { AZ_L4_TCP = 1, AZ_L4_UDP = 2 };

/* Where an entry points: a literal address/prefix, or ${alca:HOST_IP}
 * (the container's gateway, in each family the container has one). */
enum az_host_kind { AZ_HOST_ADDR = 0, AZ_HOST_GATEWAY = 1 };

struct az_lan_entry {
	enum az_host_kind kind;
	struct az_prefix net;		/* kind == AZ_HOST_ADDR */
	bool all_proto;			/* every protocol and port */
	unsigned protos;		/* AZ_L4_* bits, when !all_proto */
	uint16_t port_lo, port_hi;	/* when !all_proto; 0-65535 = any port */
};

struct az_lan_list {
	bool all;			/* "*": LAN isolation off */
	size_t n;
	struct az_lan_entry *v;
};

struct az_endpoint {
	enum az_host_kind kind;
	struct az_addr addr;		/* kind == AZ_HOST_ADDR */
	uint16_t port;
};

/* At most one IPv4 (or token) endpoint and one IPv6 endpoint. */
struct az_proxy {
	size_t n;			/* 0: no proxy */
	struct az_endpoint v[2];
};

enum az_dns_mode { AZ_DNS_AUTO = 0, AZ_DNS_NONE, AZ_DNS_LIST };
struct az_dns {
	enum az_dns_mode mode;
	size_t n;
	struct az_addr v[AZ_MAX_DNS];
};

enum az_proxy_udp { AZ_PROXY_UDP_DIRECT = 0, AZ_PROXY_UDP_BLOCK };
enum az_isolate { AZ_ISOLATE_ANNOTATED = 0, AZ_ISOLATE_ALL };
enum az_ann_policy { AZ_ANN_ANY = 0, AZ_ANN_NARROW, AZ_ANN_IGNORE };

struct az_policy {
	bool enabled;
	struct az_lan_list lan;
	struct az_proxy proxy;
	struct az_dns dns;
	enum az_proxy_udp proxy_udp;
};

/* The system file. */
struct az_settings {
	enum az_isolate isolate;
	enum az_ann_policy annotations;
	struct az_policy defaults;	/* defaults.enabled == (isolate == ALL) */
	char *path;			/* file they came from, for messages; NULL: built in */
};

/* A key/value pair: an annotation, label or driver option. */
struct az_kv {
	const char *key;
	const char *value;
};

/* Refuse hostile text before any grammar sees it: longer than
 * AZ_MAX_SETTING_LEN, invalid UTF-8, control characters (tab, CR and LF are
 * separators and pass) or any other non-ASCII character.  what names the
 * setting in the message; the offending bytes are never echoed. */
int az_setting_check(const char *what, const char *text, az_error *err);
/* Does JSON text hold a NUL byte, raw or escaped (\u0000 in a string)?  cJSON
 * would cut the string there: such text is refused before parsing. */
bool az_json_has_nul(const char *text, size_t len);

/* Single values.  On error *err names the entry and what is wrong, e.g.
 * lan-access entry "tcp://192.168.1.300:80": 192.168.1.300 is not an IPv4 address */
int az_lan_parse_entry(const char *text, struct az_lan_entry *out, az_error *err);
/* A list: entries separated by whitespace or commas. */
int az_lan_parse_list(const char *text, struct az_lan_list *out, az_error *err);
int az_proxy_parse(const char *text, struct az_proxy *out, az_error *err);
int az_dns_parse(const char *text, struct az_dns *out, az_error *err);
int az_proxy_udp_parse(const char *text, enum az_proxy_udp *out, az_error *err);
/* "on"/"off" (also true/false, 1/0, yes/no). */
int az_enable_parse(const char *text, bool *out, az_error *err);

/* Built-in defaults: isolate annotated, annotations any, dns auto,
 * proxy-udp direct, no proxy, empty lan-access. */
void az_settings_default(struct az_settings *s);
/* Parse the JSON system file text. Unknown keys are an error (typos must not
 * silently weaken isolation). */
int az_settings_parse_json(const char *json, size_t len, struct az_settings *out, az_error *err);
/* $ALCATRAZ_CONFIG, else AZ_DEFAULT_CONFIG (inline: alcatraz-hook, which
 * links only common.o of ours, needs it too). */
static inline const char *az_settings_path(void)
{
	const char *env = getenv("ALCATRAZ_CONFIG");
	return env && *env ? env : AZ_DEFAULT_CONFIG;
}
/* Load path; a missing file means built-in defaults.  path NULL means
 * az_settings_path(). */
int az_settings_load(const char *path, struct az_settings *out, az_error *err);
void az_settings_free(struct az_settings *s);

/* Merge per-container key/values (only keys starting with "alcatraz.network"
 * are looked at; an unknown alcatraz.network.* key is an error) over the file
 * defaults, under s->annotations:
 *   any    — a given key replaces the default;
 *   narrow — a given key may only restrict: lan-access entries must each be
 *            covered by a default entry; "off" is refused when isolate=all;
 *            proxy must equal the default proxy (or the default has none and
 *            the annotation sets none); dns may become "none" or a subset of
 *            a default list; proxy-udp may become "block".  A widening value
 *            is an error naming the key and why;
 *   ignore — keys are ignored (a debug log says so), defaults apply.
 * out->enabled tells whether the container is to be isolated. */
int az_policy_resolve(const struct az_settings *s, const struct az_kv *kv, size_t n,
		      struct az_policy *out, az_error *err);
void az_policy_free(struct az_policy *p);
/* Deep copy. */
int az_policy_copy(struct az_policy *dst, const struct az_policy *src, az_error *err);

/* Canonical text of each setting, re-parseable by the parsers above
 * (lan-access entries in a fixed order, comma-free, space-separated).
 * Two policies are the same iff their canonical texts are equal. */
int az_policy_format(const struct az_policy *p, struct az_buf *out);	/* one line, all settings */
int az_lan_format(const struct az_lan_list *l, struct az_buf *out);
int az_lan_entry_format(const struct az_lan_entry *e, struct az_buf *out);
int az_proxy_format(const struct az_proxy *p, struct az_buf *out);
int az_dns_format(const struct az_dns *d, struct az_buf *out);
const char *az_proxy_udp_str(enum az_proxy_udp u);
bool az_policy_equal(const struct az_policy *a, const struct az_policy *b);

#endif
