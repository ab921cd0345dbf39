/* store.c — networks and endpoints persisted under the state dir.
 *
 *   <state>/networks/<id>.json    one per network (CreateNetwork .. DeleteNetwork)
 *   <state>/endpoints/<id>.json   one per endpoint (CreateEndpoint .. DeleteEndpoint)
 *
 * Docker never re-sends CreateNetwork (not after a dockerd restart, not after
 * a plugin restart), so these files are the only memory of what exists.  Each
 * is written whole with az_write_file_atomic: a crash leaves the old record or
 * the new one.  Reading them back is parsing untrusted input like any
 * request: every field is checked, and a record that fails is skipped with
 * a log line rather than trusted or allowed to stop the plugin.
 */
#include "plugin/plugin.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define STORE_VERSION 1
#define RECORD_MAX (2u * PL_MAX_BODY)	/* options come from one request body */

static void cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}
#define cleanup_cjson _cleanup_(cjson_deletep)

static int record_path(const struct pl_driver *d, const char *kind, const char *id,
		       char path[PATH_MAX], az_error *err)
{
	if (!pl_id_valid(id))
		return az_err(err, EINVAL, "%s id is not 64 lowercase hexadecimal characters", kind);
	if (snprintf(path, PATH_MAX, "%s/%ss/%s.json", d->state_dir, kind, id) >= PATH_MAX)
		return az_err(err, ENAMETOOLONG, "state dir path too long");
	return 0;
}

/* ---- writing ---- */

static int add_opts(cJSON *o, const struct az_kv *kv, size_t n)
{
	cJSON *opts = cJSON_AddObjectToObject(o, "Options");

	if (!opts)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!cJSON_AddStringToObject(opts, kv[i].key, kv[i].value))
			return -1;
	return 0;
}

static int add_prefix(cJSON *o, const char *name, const struct az_prefix *p)
{
	char s[AZ_PREFIXSTRLEN];
	return cJSON_AddStringToObject(o, name, az_prefix_str(p, s)) ? 0 : -1;
}

static int add_pools(cJSON *o, const char *name, const struct az_prefix *pool,
		     const struct az_prefix *gw, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, name);

	if (!a)
		return -1;
	for (size_t i = 0; i < n; i++) {
		cJSON *x = cJSON_CreateObject();
		if (!x || !cJSON_AddItemToArray(a, x)) {
			cJSON_Delete(x);
			return -1;
		}
		/* The gateway keeps the pool's length: "10.99.0.1/24", as
		 * Docker writes it. */
		if (add_prefix(x, "Pool", &pool[i]) < 0 || add_prefix(x, "Gateway", &gw[i]) < 0)
			return -1;
	}
	return 0;
}

static cJSON *network_json(const struct pl_network *n)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddNumberToObject(o, "Version", STORE_VERSION) ||
	    !cJSON_AddStringToObject(o, "NetworkID", n->id) ||
	    !cJSON_AddStringToObject(o, "Bridge", n->bridge) ||
	    add_pools(o, "IPv4", n->pool4, n->gw4, n->n4) < 0 ||
	    add_pools(o, "IPv6", n->pool6, n->gw6, n->n6) < 0 ||
	    !cJSON_AddBoolToObject(o, "EnableIPv6", n->ipv6) ||
	    !cJSON_AddBoolToObject(o, "Internal", n->internal) ||
	    !cJSON_AddNumberToObject(o, "MTU", n->mtu) || add_opts(o, n->opts, n->n_opts) < 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int add_mac(cJSON *o, const struct pl_endpoint *e)
{
	char mac[18] = "";

	if (e->has_mac)
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e->mac[0], e->mac[1],
			 e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
	return cJSON_AddStringToObject(o, "MacAddress", mac) ? 0 : -1;
}

static cJSON *endpoint_json(const struct pl_endpoint *e)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddNumberToObject(o, "Version", STORE_VERSION) ||
	    !cJSON_AddStringToObject(o, "EndpointID", e->id) ||
	    !cJSON_AddStringToObject(o, "NetworkID", e->network_id) ||
	    !cJSON_AddStringToObject(o, "HostInterface", e->host_if) ||
	    !cJSON_AddStringToObject(o, "ContainerInterface", e->ctr_if) ||
	    (e->has4 && add_prefix(o, "Address", &e->addr4) < 0) ||
	    (e->has6 && add_prefix(o, "AddressIPv6", &e->addr6) < 0) || add_mac(o, e) < 0 ||
	    add_opts(o, e->opts, e->n_opts) < 0 ||
	    !cJSON_AddStringToObject(o, "ContainerID", e->container_id) ||
	    !cJSON_AddBoolToObject(o, "Joined", e->joined) ||
	    !cJSON_AddStringToObject(o, "SandboxKey", e->sandbox)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int write_record(const char *path, cJSON *o, az_error *err)
{
	cleanup_cjson cJSON *j = o;
	cleanup_free char *text = j ? cJSON_Print(j) : NULL;

	if (!text)
		return az_err(err, ENOMEM, "out of memory");
	if (az_write_file_atomic(path, text, strlen(text), 0600, err) < 0)
		return az_err_prefix(err, "saving the plugin's state");
	return 0;
}

int pl_store_save_network(const struct pl_driver *d, const struct pl_network *n, az_error *err)
{
	char path[PATH_MAX];

	if (record_path(d, "network", n->id, path, err) < 0)
		return -1;
	return write_record(path, network_json(n), err);
}

int pl_store_save_endpoint(const struct pl_driver *d, const struct pl_endpoint *e, az_error *err)
{
	char path[PATH_MAX];

	if (record_path(d, "endpoint", e->id, path, err) < 0)
		return -1;
	return write_record(path, endpoint_json(e), err);
}

static int delete_record(const struct pl_driver *d, const char *kind, const char *id, az_error *err)
{
	char path[PATH_MAX];

	if (record_path(d, kind, id, path, err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return az_err_errno(err, "removing %s", path);
	return 0;
}

int pl_store_delete_network(const struct pl_driver *d, const char *id, az_error *err)
{
	return delete_record(d, "network", id, err);
}

int pl_store_delete_endpoint(const struct pl_driver *d, const char *id, az_error *err)
{
	return delete_record(d, "endpoint", id, err);
}

/* ---- reading: strict, like the system file ---- */

static bool only_keys(const cJSON *o, const char *const *keys, size_t n, const char **bad)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, o) {
		size_t i = 0;
		while (i < n && strcmp(x->string, keys[i]))
			i++;
		if (i == n) {
			*bad = x->string;
			return false;
		}
	}
	return true;
}

static int need_string(const cJSON *o, const char *name, bool required, const char **out,
		       az_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	*out = NULL;
	if (!v && !required)
		return 0;
	if (!cJSON_IsString(v))
		return az_err(err, EINVAL, "\"%s\" is %s", name, v ? "not a string" : "missing");
	*out = v->valuestring;
	return 0;
}

static int need_bool(const cJSON *o, const char *name, bool *out, az_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsBool(v))
		return az_err(err, EINVAL, "\"%s\" is %s", name, v ? "not true or false" : "missing");
	*out = cJSON_IsTrue(v);
	return 0;
}

static int need_version(const cJSON *o, az_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "Version");

	if (!cJSON_IsNumber(v) || v->valuedouble != STORE_VERSION)
		return az_err(err, EINVAL, "not a version %d record", STORE_VERSION);
	return 0;
}

static int need_id(const cJSON *o, const char *name, char out[PL_ID_LEN + 1], az_error *err)
{
	const char *s;

	if (need_string(o, name, true, &s, err) < 0)
		return -1;
	if (!pl_id_valid(s))
		return az_err(err, EINVAL, "\"%s\" is not 64 lowercase hexadecimal characters", name);
	memcpy(out, s, PL_ID_LEN + 1);
	return 0;
}

static int need_ifname(const cJSON *o, const char *name, char out[IFNAMSIZ], az_error *err)
{
	const char *s;

	if (need_string(o, name, true, &s, err) < 0)
		return -1;
	if (strlen(s) >= IFNAMSIZ)
		return az_err(err, EINVAL, "\"%s\" is longer than an interface name", name);
	strcpy(out, s);
	return 0;
}

static int read_opts(const cJSON *o, struct az_kv **kv, size_t *n, az_error *err)
{
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(o, "Options"), *x;
	cleanup_free struct az_kv *tmp = NULL;
	size_t k = 0;

	if (!cJSON_IsObject(opts))
		return az_err(err, EINVAL, "\"Options\" is %s", opts ? "not an object" : "missing");
	tmp = calloc((size_t)cJSON_GetArraySize(opts) + 1, sizeof(*tmp));
	if (!tmp)
		return az_err(err, ENOMEM, "out of memory");
	cJSON_ArrayForEach(x, opts) {
		if (!cJSON_IsString(x))
			return az_err(err, EINVAL, "\"Options\" holds a value that is not a string");
		tmp[k].key = x->string;
		tmp[k].value = x->valuestring;
		k++;
	}
	/* Checked again before they are kept (pl_*_check); here so that a
	 * wrong record is refused before anything is copied. */
	if (pl_opts_check(tmp, k, "Options", err) < 0)
		return -1;
	return pl_opts_dup(tmp, k, kv, n, err);
}

static int read_pools(const cJSON *o, const char *name, int family, struct az_prefix *pool,
		      struct az_prefix *gw, size_t *n, az_error *err)
{
	static const char *const keys[] = { "Pool", "Gateway" };
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, name), *x;
	const char *bad, *p, *g;

	*n = 0;
	if (!cJSON_IsArray(a))
		return az_err(err, EINVAL, "\"%s\" is %s", name, a ? "not an array" : "missing");
	cJSON_ArrayForEach(x, a) {
		if (*n == PL_MAX_POOLS)
			return az_err(err, EINVAL, "\"%s\" has more than %d pools", name, PL_MAX_POOLS);
		if (!cJSON_IsObject(x) || !only_keys(x, keys, 2, &bad))
			return az_err(err, EINVAL, "\"%s\" holds something other than pools", name);
		if (need_string(x, "Pool", true, &p, err) < 0 || need_string(x, "Gateway", true, &g, err) < 0 ||
		    pl_ifaddr_parse(p, family, &pool[*n], err) < 0 ||
		    pl_ifaddr_parse(g, family, &gw[*n], err) < 0)
			return az_err_prefix(err, "\"%s\"", name);
		(*n)++;
	}
	return 0;
}

static int parse_network_record(const cJSON *o, struct pl_network *n, az_error *err)
{
	static const char *const keys[] = { "Version",	  "NetworkID", "Bridge", "IPv4", "IPv6",
					    "EnableIPv6", "Internal",  "MTU",	 "Options" };
	const cJSON *mtu = cJSON_GetObjectItemCaseSensitive(o, "MTU");
	const char *bad;

	memset(n, 0, sizeof(*n));
	if (!only_keys(o, keys, sizeof(keys) / sizeof(keys[0]), &bad))
		return az_err(err, EINVAL, "unknown field (not written by this version)");
	if (need_version(o, err) < 0 || need_id(o, "NetworkID", n->id, err) < 0 ||
	    need_ifname(o, "Bridge", n->bridge, err) < 0 ||
	    read_pools(o, "IPv4", AF_INET, n->pool4, n->gw4, &n->n4, err) < 0 ||
	    read_pools(o, "IPv6", AF_INET6, n->pool6, n->gw6, &n->n6, err) < 0 ||
	    need_bool(o, "EnableIPv6", &n->ipv6, err) < 0 ||
	    need_bool(o, "Internal", &n->internal, err) < 0)
		return -1;
	if (!cJSON_IsNumber(mtu) || mtu->valuedouble != (double)(int)mtu->valuedouble)
		return az_err(err, EINVAL, "\"MTU\" is not a whole number");
	n->mtu = (int)mtu->valuedouble;
	if (read_opts(o, &n->opts, &n->n_opts, err) < 0)
		return -1;
	/* Everything a request is checked for: pools, gateways, the bridge
	 * name derived from the id, MTU, settings. */
	return pl_network_check(n, err);
}

static int read_mac(const cJSON *o, struct pl_endpoint *e, az_error *err)
{
	const char *s;
	unsigned m[6];
	char end;

	if (need_string(o, "MacAddress", true, &s, err) < 0)
		return -1;
	if (!*s)
		return 0;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3],
				      &m[4], &m[5], &end) != 6 || (m[0] & 1))
		return az_err(err, EINVAL, "\"MacAddress\" is not a unicast MAC address");
	for (int i = 0; i < 6; i++)
		e->mac[i] = (uint8_t)m[i];
	e->has_mac = true;
	return 0;
}

static int parse_endpoint_record(struct pl_driver *d, const cJSON *o, struct pl_endpoint *e,
				 az_error *err)
{
	static const char *const keys[] = { "Version",	   "EndpointID",	 "NetworkID",
					    "HostInterface", "ContainerInterface", "Address",
					    "AddressIPv6",   "MacAddress",	 "Options",
					    "ContainerID",   "Joined",		 "SandboxKey" };
	const char *bad, *a4, *a6, *cid, *sandbox;

	memset(e, 0, sizeof(*e));
	if (!only_keys(o, keys, sizeof(keys) / sizeof(keys[0]), &bad))
		return az_err(err, EINVAL, "unknown field (not written by this version)");
	if (need_version(o, err) < 0 || need_id(o, "EndpointID", e->id, err) < 0 ||
	    need_id(o, "NetworkID", e->network_id, err) < 0 ||
	    need_ifname(o, "HostInterface", e->host_if, err) < 0 ||
	    need_ifname(o, "ContainerInterface", e->ctr_if, err) < 0 ||
	    need_string(o, "Address", false, &a4, err) < 0 ||
	    need_string(o, "AddressIPv6", false, &a6, err) < 0 || read_mac(o, e, err) < 0 ||
	    need_string(o, "ContainerID", true, &cid, err) < 0 ||
	    need_bool(o, "Joined", &e->joined, err) < 0)
		return -1;
	if (a4 && pl_ifaddr_parse(a4, AF_INET, &e->addr4, err) < 0)
		return az_err_prefix(err, "\"Address\"");
	if (a6 && pl_ifaddr_parse(a6, AF_INET6, &e->addr6, err) < 0)
		return az_err_prefix(err, "\"AddressIPv6\"");
	e->has4 = a4 != NULL;
	e->has6 = a6 != NULL;
	if (strlen(cid) > PL_ID_LEN)
		return az_err(err, EINVAL, "\"ContainerID\" is too long");
	strcpy(e->container_id, cid);
	/* Absent in records of earlier versions: the host layer alone. */
	if (need_string(o, "SandboxKey", false, &sandbox, err) < 0)
		return -1;
	if (sandbox && *sandbox && !pl_sandbox_valid(sandbox))
		return az_err(err, EINVAL, "\"SandboxKey\" is not a plain absolute path");
	snprintf(e->sandbox, sizeof(e->sandbox), "%s", sandbox ? sandbox : "");
	/* Applied again (a repair if a flush or a crash came between). */
	e->ns_since_ms = pl_now_ms();
	if (read_opts(o, &e->opts, &e->n_opts, err) < 0)
		return -1;
	const struct pl_network *n = pl_driver_network(d, e->network_id);
	if (!n)
		return az_err(err, ENOENT, "its network %.12s has no record", e->network_id);
	return pl_endpoint_check(n, e, err);
}

/* ---- loading ---- */

/* "<64 hex>.json" → the id; anything else is not a record. */
static bool record_name(const char *name, char id[PL_ID_LEN + 1])
{
	if (strlen(name) != PL_ID_LEN + 5 || strcmp(name + PL_ID_LEN, ".json"))
		return false;
	memcpy(id, name, PL_ID_LEN);
	id[PL_ID_LEN] = '\0';
	return pl_id_valid(id);
}

/* A temp file of az_write_file_atomic ("<id>.json.tmp.<pid>") is what a
 * crash during a write leaves; the record it was replacing is intact. */
static bool temp_name(const char *name)
{
	char id[PL_ID_LEN + 1];
	const char *t = strstr(name, ".json.tmp.");

	if (!t || t - name != PL_ID_LEN)
		return false;
	memcpy(id, name, PL_ID_LEN);
	id[PL_ID_LEN] = '\0';
	return pl_id_valid(id) && t[10] && strspn(t + 10, "0123456789") == strlen(t + 10);
}

static int read_record(const char *path, const char *id, const char *id_field, cJSON **out,
		       az_error *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	const cJSON *v;

	*out = NULL;
	if (az_read_file(path, RECORD_MAX, &text, &len, err) < 0)
		return -1;
	*out = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(*out))
		return az_err(err, EINVAL, "not a JSON object");
	v = cJSON_GetObjectItemCaseSensitive(*out, id_field);
	/* A record copied under another name must not pose as that id. */
	if (!cJSON_IsString(v) || strcmp(v->valuestring, id))
		return az_err(err, EINVAL, "\"%s\" does not match the file name", id_field);
	return 0;
}

static int load_one(struct pl_driver *d, bool network, const char *path, const char *id,
		    az_error *err)
{
	cleanup_cjson cJSON *o = NULL;

	if (read_record(path, id, network ? "NetworkID" : "EndpointID", &o, err) < 0)
		return -1;
	if (network) {
		struct pl_network n;
		if (parse_network_record(o, &n, err) < 0 || pl_driver_add_network(d, &n, err) < 0) {
			pl_network_free(&n);
			return -1;
		}
		return 0;
	}
	struct pl_endpoint e;
	if (parse_endpoint_record(d, o, &e, err) < 0 || pl_driver_add_endpoint(d, &e, err) < 0) {
		pl_endpoint_free(&e);
		return -1;
	}
	return 0;
}

static int load_dir(struct pl_driver *d, bool network, size_t *skipped, az_error *err)
{
	const char *kind = network ? "network" : "endpoint";
	char dir[PATH_MAX], path[PATH_MAX], id[PL_ID_LEN + 1];
	struct dirent *de;

	if (snprintf(dir, sizeof(dir), "%s/%ss", d->state_dir, kind) >= (int)sizeof(dir))
		return az_err(err, ENAMETOOLONG, "state dir path too long");
	DIR *dh = opendir(dir);
	if (!dh)
		return errno == ENOENT ? 0 : az_err_errno(err, "reading %s", dir);
	while ((de = readdir(dh))) {
		az_error e;

		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (temp_name(de->d_name)) {
			unlink(path);
			continue;
		}
		if (!record_name(de->d_name, id)) {
			az_log(LOG_WARNING, NULL, "state: ignoring %s (not a %s record)", path, kind);
			continue;
		}
		if (load_one(d, network, path, id, &e) < 0) {
			/* Kept for a human to look at; never trusted. */
			az_log(LOG_ERR, id, "state: ignoring %s: %s", path, e.msg);
			(*skipped)++;
		}
	}
	closedir(dh);
	return 0;
}

int pl_store_load(struct pl_driver *d, az_error *err)
{
	size_t skipped = 0;

	/* Networks first: an endpoint is checked against its network. */
	if (load_dir(d, true, &skipped, err) < 0 || load_dir(d, false, &skipped, err) < 0)
		return -1;
	if (skipped)
		az_log(LOG_WARNING, NULL, "state: %zu record%s in %s could not be used", skipped,
		       skipped == 1 ? "" : "s", d->state_dir);
	return 0;
}
