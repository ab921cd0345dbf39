/* The annotation set (also labels and driver options) merged over the
 * settings file under the administrator's annotation policy:
 * az_policy_resolve.  Beyond not crashing, what the administrator decided
 * must hold: "ignore" changes nothing, "narrow" never widens.
 *
 * Input: either a settings JSON text ending at the first NUL (when it starts
 * with '{'), or one byte choosing built-in settings; then key NUL value NUL
 * pairs.
 */
#include "tests/fuzz/fuzz.h"
#include "config/config.h"

static const char *const presets[] = {
	"{}",
	"{\"isolate\":\"all\",\"annotations\":\"narrow\",\"lan-access\":[\"192.168.1.0/24:5432\","
	"\"udp://192.168.1.53:53\",\"fd00::/8\",\"${alca:HOST_IP}:8080\"],"
	"\"proxy\":\"192.0.2.1:3128\",\"dns\":\"192.0.2.53 2001:db8::53\",\"proxy-udp\":\"block\"}",
	"{\"isolate\":\"annotated\",\"annotations\":\"narrow\",\"lan-access\":[\"tcp://10.0.0.0/8:1000-2000\","
	"\"*://10.1.2.3:80\"],\"dns\":\"auto\"}",
	"{\"isolate\":\"all\",\"annotations\":\"narrow\",\"lan-access\":[\"*\"],\"dns\":\"none\"}",
	"{\"isolate\":\"all\",\"annotations\":\"ignore\",\"lan-access\":[\"192.168.1.50\"],"
	"\"proxy\":\"192.0.2.1:3128 [2001:db8::1]:3128\"}",
	"{\"isolate\":\"annotated\",\"annotations\":\"ignore\"}",
	"{\"isolate\":\"all\",\"annotations\":\"any\",\"lan-access\":[\"192.168.1.50:22\"],"
	"\"proxy-udp\":\"block\"}",
};
#define N_PRESETS (sizeof(presets) / sizeof(presets[0]))
#define MAX_KV 16

/* Written apart from config/policy.c on purpose: is every protocol and port
 * of a within the administrator's entries? */
static bool covered(const struct az_lan_list *def, const struct az_lan_entry *a)
{
	if (def->all)
		return true;
	for (unsigned proto = AZ_L4_TCP; proto <= AZ_L4_UDP; proto <<= 1) {
		bool ok = false;

		if (!a->all_proto && !(a->protos & proto))
			continue;
		for (size_t i = 0; i < def->n && !ok; i++) {
			const struct az_lan_entry *f = &def->v[i];

			if (f->kind != a->kind ||
			    (a->kind == AZ_HOST_ADDR && !az_prefix_contains(&f->net, &a->net)))
				continue;
			if (f->all_proto)
				ok = true;
			else if (!a->all_proto && (f->protos & proto) && f->port_lo <= a->port_lo &&
				 a->port_hi <= f->port_hi)
				ok = true;
		}
		if (!ok)
			return false;
	}
	if (a->all_proto) {
		/* every protocol, ICMP too: only an entry as wide covers it */
		for (size_t i = 0; i < def->n; i++) {
			const struct az_lan_entry *f = &def->v[i];
			if (f->kind == a->kind && f->all_proto &&
			    (a->kind == AZ_HOST_GATEWAY || az_prefix_contains(&f->net, &a->net)))
				return true;
		}
		return false;
	}
	return true;
}

static bool dns_within(const struct az_dns *def, const struct az_dns *d)
{
	if (d->mode == AZ_DNS_NONE)
		return true;
	if (d->mode == AZ_DNS_AUTO)
		return def->mode == AZ_DNS_AUTO;
	if (def->mode != AZ_DNS_LIST)
		return false;
	for (size_t i = 0; i < d->n; i++) {
		bool found = false;
		for (size_t j = 0; j < def->n; j++)
			found = found || az_addr_eq(&d->v[i], &def->v[j]);
		if (!found)
			return false;
	}
	return true;
}

static void check(const struct az_settings *s, const struct az_policy *p, const char *text)
{
	if (s->annotations == AZ_ANN_IGNORE) {
		struct az_policy d = s->defaults;
		d.enabled = p->enabled;
		fz_assert(az_policy_equal(&d, p), "ignore changed the settings: %s", text);
		fz_assert(p->enabled == (s->isolate == AZ_ISOLATE_ALL), "ignore changed enable: %s", text);
		return;
	}
	if (s->annotations != AZ_ANN_NARROW)
		return;
	struct az_buf mine, theirs;
	az_buf_init(&mine);
	az_buf_init(&theirs);
	fz_assert(!(s->isolate == AZ_ISOLATE_ALL && !p->enabled), "narrow turned isolation off: %s", text);
	fz_assert(s->defaults.lan.all || !p->lan.all, "narrow opened the LAN: %s", text);
	for (size_t i = 0; i < p->lan.n; i++)
		fz_assert(covered(&s->defaults.lan, &p->lan.v[i]), "narrow widened lan-access: %s", text);
	az_proxy_format(&p->proxy, &mine);
	az_proxy_format(&s->defaults.proxy, &theirs);
	fz_assert(!strcmp(mine.data ? mine.data : "", theirs.data ? theirs.data : ""),
		  "narrow changed the proxy: %s", text);
	fz_assert(dns_within(&s->defaults.dns, &p->dns), "narrow widened dns: %s", text);
	fz_assert(!(s->defaults.proxy_udp == AZ_PROXY_UDP_BLOCK && p->proxy_udp != AZ_PROXY_UDP_BLOCK),
		  "narrow let UDP around the proxy: %s", text);
	az_buf_free(&mine);
	az_buf_free(&theirs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = fz_cstr(data, size), *p = buf, *end = buf + size;
	struct az_settings s;
	struct az_kv kv[MAX_KV];
	struct az_policy out;
	size_t n = 0;
	az_error err;

	if (size == 0)
		goto done;
	if (*p == '{') {
		size_t l = strlen(p);
		if (az_settings_parse_json(p, l, &s, &err) < 0)
			goto done;
		p += l + 1;
	} else {
		const char *t = presets[(unsigned char)*p % N_PRESETS];
		fz_assert(az_settings_parse_json(t, strlen(t), &s, &err) == 0, "preset: %s", err.msg);
		p++;
	}
	while (p < end && n < MAX_KV) {
		kv[n].key = p;
		p += strlen(p) + 1;
		kv[n].value = p < end ? p : NULL;
		if (p < end)
			p += strlen(p) + 1;
		n++;
	}
	if (az_policy_resolve(&s, kv, n, &out, &err) == 0) {
		struct az_buf t;
		az_buf_init(&t);
		az_policy_format(&out, &t);
		check(&s, &out, t.data ? t.data : "");
		az_buf_free(&t);
		az_policy_free(&out);
	}
	az_settings_free(&s);
done:
	free(buf);
	return 0;
}
