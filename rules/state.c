/* State records: JSON in, typed values out (and back).
 *
 * A record is input like any other: it is parsed with the same parsers as
 * annotations (config/) and checked (ids, interface names) before use.
 */
#include "rules/state.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RECORD (1u << 20)

bool (*az_state_lock_gate)(void);

int az_state_lock(const char *dir, az_error *err)
{
	char path[PATH_MAX];
	if (az_mkdir_p(dir, 0700, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return az_err_errno(err, "open %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			az_err_errno(err, "lock %s", path);
			close(fd);
			return -1;
		}
	}
	if (az_state_lock_gate && !az_state_lock_gate()) {
		close(fd);
		return az_err(err, ECANCELED, "the hook that asked for this is gone (it gave up waiting)");
	}
	return fd;
}

/* ---- target ---- */

static cJSON *prefixes_json(const struct az_prefix *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	char b[AZ_PREFIXSTRLEN + 8], ad[AZ_ADDRSTRLEN];
	for (size_t i = 0; i < n; i++) {
		snprintf(b, sizeof(b), "%s/%u", az_addr_str(&v[i].addr, ad), v[i].len);
		cJSON_AddItemToArray(a, cJSON_CreateString(b));
	}
	return a;
}

static cJSON *target_json(const struct az_target *t)
{
	cJSON *o = cJSON_CreateObject();
	char a[AZ_ADDRSTRLEN];
	cJSON_AddStringToObject(o, "netns", t->netns_path);
	cJSON_AddNumberToObject(o, "netns_dev", (double)t->netns_dev);
	cJSON_AddNumberToObject(o, "netns_ino", (double)t->netns_ino);
	cJSON *ifs = cJSON_AddArrayToObject(o, "interfaces");
	for (size_t i = 0; i < t->n_if; i++) {
		const struct az_iface *f = &t->ifs[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", f->ctr_ifname);
		cJSON_AddStringToObject(x, "host", f->host_ifname);
		cJSON_AddStringToObject(x, "bridge", f->bridge);
		cJSON_AddItemToObject(x, "ipv4", prefixes_json(f->addr4, f->n4));
		cJSON_AddItemToObject(x, "ipv6", prefixes_json(f->addr6, f->n6));
		cJSON_AddItemToArray(ifs, x);
	}
	if (t->has_gw4)
		cJSON_AddStringToObject(o, "gateway4", az_addr_str(&t->gw4, a));
	if (t->has_gw6)
		cJSON_AddStringToObject(o, "gateway6", az_addr_str(&t->gw6, a));
	if (t->hold)
		cJSON_AddBoolToObject(o, "hold", true);
	if (t->name[0])
		cJSON_AddStringToObject(o, "name", t->name);
	cJSON *r = cJSON_AddArrayToObject(o, "resolvers");
	for (size_t i = 0; i < t->n_resolvers; i++)
		cJSON_AddItemToArray(r, cJSON_CreateString(az_addr_str(&t->resolvers[i], a)));
	return o;
}

static int str_field(const cJSON *o, const char *k, char *dst, size_t cap, bool required,
		     az_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v) {
		if (required)
			return az_err(err, EINVAL, "missing \"%s\"", k);
		dst[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
		return az_err(err, EINVAL, "\"%s\" is not a string of at most %zu bytes", k, cap - 1);
	strcpy(dst, v->valuestring);
	return 0;
}

static int prefixes_parse(const cJSON *a, struct az_prefix *v, size_t max, size_t *n, int family,
			  az_error *err)
{
	*n = 0;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return az_err(err, EINVAL, "address list is not an array");
	const cJSON *x;
	cJSON_ArrayForEach(x, a) {
		if (*n >= max || !cJSON_IsString(x))
			return az_err(err, EINVAL, "bad address list");
		char tmp[AZ_PREFIXSTRLEN + 8];
		snprintf(tmp, sizeof(tmp), "%s", x->valuestring);
		char *sl = strchr(tmp, '/');
		unsigned len = 0;
		if (sl) {
			*sl = '\0';
			len = (unsigned)atoi(sl + 1);
		}
		if (az_addr_parse(tmp, &v[*n].addr) < 0 || v[*n].addr.family != family ||
		    len > (family == AF_INET ? 32u : 128u))
			return az_err(err, EINVAL, "bad address \"%s\"", x->valuestring);
		v[*n].len = (uint8_t)len;
		(*n)++;
	}
	return 0;
}

static bool ifname_ok(const char *n)
{
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
		      *n == '-' || *n == '_' || *n == '.' || *n == '@'))
			return false;
	return true;
}

/* A device or inode number; 0 when absent.  A JSON number is a double:
 * converting a negative, fractional or huge one is undefined behaviour
 * (found by tests/fuzz), so those make the record damaged. */
static int u64_field(const cJSON *o, const char *k, uint64_t *out, az_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = 0;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 9007199254740992.0) ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return az_err(err, EINVAL, "%s is not a whole number from 0 to 2^53", k);
	*out = (uint64_t)v->valuedouble;
	return 0;
}

static int target_parse(const cJSON *o, struct az_target *t, az_error *err)
{
	char a[AZ_ADDRSTRLEN + 8];
	if (!cJSON_IsObject(o))
		return az_err(err, EINVAL, "target is not an object");
	if (str_field(o, "netns", t->netns_path, sizeof(t->netns_path), false, err) < 0)
		return -1;
	if (u64_field(o, "netns_dev", &t->netns_dev, err) < 0 ||
	    u64_field(o, "netns_ino", &t->netns_ino, err) < 0)
		return -1;
	const cJSON *ifs = cJSON_GetObjectItemCaseSensitive(o, "interfaces"), *x;
	t->n_if = 0;
	if (ifs && !cJSON_IsArray(ifs))
		return az_err(err, EINVAL, "interfaces is not an array");
	cJSON_ArrayForEach(x, ifs) {
		if (t->n_if >= AZ_MAX_IFACES)
			return az_err(err, EINVAL, "too many interfaces");
		struct az_iface *f = &t->ifs[t->n_if++];
		if (str_field(x, "name", f->ctr_ifname, IFNAMSIZ, false, err) < 0 ||
		    str_field(x, "host", f->host_ifname, IFNAMSIZ, false, err) < 0 ||
		    str_field(x, "bridge", f->bridge, IFNAMSIZ, false, err) < 0)
			return -1;
		if (!ifname_ok(f->ctr_ifname) || !ifname_ok(f->host_ifname) || !ifname_ok(f->bridge))
			return az_err(err, EINVAL, "bad interface name");
		if (prefixes_parse(cJSON_GetObjectItemCaseSensitive(x, "ipv4"), f->addr4,
				   AZ_MAX_ADDRS, &f->n4, AF_INET, err) < 0 ||
		    prefixes_parse(cJSON_GetObjectItemCaseSensitive(x, "ipv6"), f->addr6,
				   AZ_MAX_ADDRS, &f->n6, AF_INET6, err) < 0)
			return -1;
	}
	if (str_field(o, "gateway4", a, sizeof(a), false, err) < 0)
		return -1;
	t->has_gw4 = a[0] && az_addr_parse(a, &t->gw4) == 0 && t->gw4.family == AF_INET;
	if (str_field(o, "gateway6", a, sizeof(a), false, err) < 0)
		return -1;
	t->has_gw6 = a[0] && az_addr_parse(a, &t->gw6) == 0 && t->gw6.family == AF_INET6;
	t->hold = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "hold"));
	if (str_field(o, "name", t->name, sizeof(t->name), false, err) < 0)
		return -1;
	if (t->name[0] && !az_name_valid(t->name))
		return az_err(err, EINVAL, "bad container name");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "resolvers");
	t->n_resolvers = 0;
	cJSON_ArrayForEach(x, r) {
		if (t->n_resolvers >= AZ_MAX_RESOLVERS || !cJSON_IsString(x) ||
		    az_addr_parse(x->valuestring, &t->resolvers[t->n_resolvers]) < 0)
			return az_err(err, EINVAL, "bad resolver list");
		t->n_resolvers++;
	}
	return 0;
}

/* ---- policy: stored as canonical setting strings, parsed back ---- */

static cJSON *policy_json(const struct az_policy *p)
{
	cJSON *o = cJSON_CreateObject();
	struct az_buf b;
	az_buf_init(&b);
	cJSON_AddStringToObject(o, "enable", p->enabled ? "on" : "off");
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

static int policy_parse(const cJSON *o, struct az_policy *p, az_error *err)
{
	char *v;
	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(o))
		return az_err(err, EINVAL, "policy is not an object");
#define FIELD(k)                                                                          \
	({                                                                                \
		const cJSON *_x = cJSON_GetObjectItemCaseSensitive(o, k);                 \
		if (!cJSON_IsString(_x)) {                                                \
			az_err(err, EINVAL, "policy field \"%s\" missing", k);            \
			goto fail;                                                        \
		}                                                                         \
		_x->valuestring;                                                          \
	})
	v = FIELD("enable");
	if (az_enable_parse(v, &p->enabled, err) < 0)
		goto fail;
	v = FIELD("lan-access");
	if (*v && az_lan_parse_list(v, &p->lan, err) < 0)
		goto fail;
	v = FIELD("proxy");
	if (*v && az_proxy_parse(v, &p->proxy, err) < 0)
		goto fail;
	v = FIELD("dns");
	if (az_dns_parse(v, &p->dns, err) < 0)
		goto fail;
	v = FIELD("proxy-udp");
	if (az_proxy_udp_parse(v, &p->proxy_udp, err) < 0)
		goto fail;
#undef FIELD
	return 0;
fail:
	az_policy_free(p);
	return -1;
}

/* ---- records ---- */

char *az_record_format(const struct az_attachment *a)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "version", 1);
	cJSON_AddStringToObject(o, "key", a->key);
	cJSON_AddItemToObject(o, "policy", policy_json(&a->policy));
	cJSON_AddItemToObject(o, "target", target_json(&a->target));
	cJSON_AddStringToObject(o, "id", a->target.id);
	cJSON *m = cJSON_AddArrayToObject(o, "members");
	for (size_t i = 0; i < a->n_members; i++)
		cJSON_AddItemToArray(m, cJSON_CreateString(a->members[i]));
	char *s = cJSON_Print(o);
	cJSON_Delete(o);
	return s;
}

int az_record_parse(const char *text, size_t len, struct az_attachment *a, az_error *err)
{
	memset(a, 0, sizeof(*a));
	cJSON *o = cJSON_ParseWithLength(text, len);
	int r = -1;
	if (!cJSON_IsObject(o)) {
		az_err(err, EINVAL, "not a JSON object");
		goto out;
	}
	if (str_field(o, "key", a->key, sizeof(a->key), true, err) < 0 ||
	    str_field(o, "id", a->target.id, sizeof(a->target.id), true, err) < 0)
		goto out;
	if (!az_id_valid(a->target.id)) {
		az_err(err, EINVAL, "bad container id");
		goto out;
	}
	if (target_parse(cJSON_GetObjectItemCaseSensitive(o, "target"), &a->target, err) < 0)
		goto out;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "members"), *x;
	cJSON_ArrayForEach(x, m) {
		if (a->n_members >= AZ_MAX_MEMBERS || !cJSON_IsString(x) ||
		    !az_id_valid(x->valuestring)) {
			az_err(err, EINVAL, "bad member list");
			goto out;
		}
		snprintf(a->members[a->n_members++], AZ_ID_MAX + 1, "%s", x->valuestring);
	}
	if (policy_parse(cJSON_GetObjectItemCaseSensitive(o, "policy"), &a->policy, err) < 0)
		goto out;
	r = 0;
out:
	cJSON_Delete(o);
	return r;
}

bool az_name_valid(const char *name)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(name);
	return n > 0 && n <= AZ_NAME_MAX && strspn(name, ok) == n;
}
