/* settings.c — the system file, /etc/alcatraz/alcatraz.json.
 *
 * The file is the administrator's word, but it is still parsed strictly: an
 * unknown key or a value of the wrong type is an error rather than a default,
 * because a typo ("lan_access", "isolate": "al") must not silently weaken or
 * drop isolation.  Values go through the same parsers as annotations.
 */
#include "config/config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <strings.h>

#define SETTINGS_MAX_SIZE (1024 * 1024)
#define SEPARATORS " \t\r\n,"
#define QUOTE_MAX 40

static void cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}
#define cleanup_cjson _cleanup_(cjson_deletep)

void az_settings_default(struct az_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->isolate = AZ_ISOLATE_ANNOTATED;
	s->annotations = AZ_ANN_ANY;
	s->defaults.enabled = false;
	s->defaults.dns.mode = AZ_DNS_AUTO;
	s->defaults.proxy_udp = AZ_PROXY_UDP_DIRECT;
}

void az_settings_free(struct az_settings *s)
{
	az_policy_free(&s->defaults);
	free(s->path);
	s->path = NULL;
}

/* A JSON string may hold anything (\u0000 and newlines included): quote it
 * only when it is short printable ASCII. */
static const char *quotable(const char *s)
{
	size_t n = 0;

	for (; s[n] && n <= QUOTE_MAX; n++)
		if (s[n] < 0x20 || s[n] > 0x7e)
			return "...";
	return n <= QUOTE_MAX ? s : "...";
}

static int json_word(const cJSON *v, const char *key, const char *const *words, size_t n,
		     const char *expected, int *out, az_error *err)
{
	if (!cJSON_IsString(v))
		return az_err(err, EINVAL, "\"%s\" must be a string: %s", key, expected);
	for (size_t i = 0; i < n; i++)
		if (strcmp(v->valuestring, words[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	return az_err(err, EINVAL, "\"%s\": \"%s\" is not %s", key, quotable(v->valuestring),
		      expected);
}

static int set_isolate(const cJSON *v, struct az_settings *s, az_error *err)
{
	static const char *const words[] = { [AZ_ISOLATE_ANNOTATED] = "annotated",
					     [AZ_ISOLATE_ALL] = "all" };
	int w = 0;

	if (json_word(v, "isolate", words, 2, "\"annotated\" or \"all\"", &w, err) < 0)
		return -1;
	s->isolate = (enum az_isolate)w;
	return 0;
}

static int set_annotations(const cJSON *v, struct az_settings *s, az_error *err)
{
	static const char *const words[] = { [AZ_ANN_ANY] = "any", [AZ_ANN_NARROW] = "narrow",
					     [AZ_ANN_IGNORE] = "ignore" };
	int w = 0;

	if (json_word(v, "annotations", words, 3, "\"any\", \"narrow\" or \"ignore\"", &w, err) < 0)
		return -1;
	s->annotations = (enum az_ann_policy)w;
	return 0;
}

/* Join a JSON array of strings into one list for the text parsers.  Each
 * string must be exactly one entry: a separator inside one would make two
 * entries of what the administrator wrote as one. */
static int join_array(const cJSON *v, const char *key, struct az_buf *out, az_error *err)
{
	const cJSON *item;
	size_t i = 0;

	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item))
			return az_err(err, EINVAL, "\"%s\": element %zu is not a string", key, i);
		if (!item->valuestring[0])
			return az_err(err, EINVAL, "\"%s\": element %zu is empty", key, i);
		if (item->valuestring[strcspn(item->valuestring, SEPARATORS)])
			return az_err(err, EINVAL,
				      "\"%s\": element %zu holds a space or comma (give one entry per string)",
				      key, i);
		if (az_buf_printf(out, "%s%s", i ? " " : "", item->valuestring) < 0)
			return az_err(err, ENOMEM, "out of memory");
		i++;
	}
	if (!out->data && az_buf_printf(out, "%s", "") < 0)
		return az_err(err, ENOMEM, "out of memory");
	return 0;
}

static int set_lan(const cJSON *v, struct az_settings *s, az_error *err)
{
	cleanup_buf struct az_buf text = { 0 };

	if (!cJSON_IsArray(v))
		return az_err(err, EINVAL, "\"lan-access\" must be an array of strings");
	if (cJSON_GetArraySize(v) > AZ_MAX_LAN)
		return az_err(err, EINVAL, "\"lan-access\": %d entries, at most %d are accepted",
			      cJSON_GetArraySize(v), AZ_MAX_LAN);
	if (join_array(v, "lan-access", &text, err) < 0)
		return -1;
	free(s->defaults.lan.v);
	return az_lan_parse_list(text.data, &s->defaults.lan, err);
}

static int set_proxy(const cJSON *v, struct az_settings *s, az_error *err)
{
	cleanup_buf struct az_buf text = { 0 };

	if (cJSON_IsString(v))
		return az_proxy_parse(v->valuestring, &s->defaults.proxy, err);
	if (!cJSON_IsArray(v))
		return az_err(err, EINVAL, "\"proxy\" must be a string or an array of strings");
	if (join_array(v, "proxy", &text, err) < 0)
		return -1;
	if (cJSON_GetArraySize(v) > 0 && strcasecmp(text.data, "none") == 0)
		return az_err(err, EINVAL, "\"proxy\": write \"none\" as a string, not in an array");
	return az_proxy_parse(text.data, &s->defaults.proxy, err);
}

static int set_dns(const cJSON *v, struct az_settings *s, az_error *err)
{
	cleanup_buf struct az_buf text = { 0 };

	if (cJSON_IsString(v))
		return az_dns_parse(v->valuestring, &s->defaults.dns, err);
	if (!cJSON_IsArray(v))
		return az_err(err, EINVAL,
			      "\"dns\" must be \"auto\", \"none\" or an array of address strings");
	if (cJSON_GetArraySize(v) == 0)
		return az_err(err, EINVAL, "\"dns\": empty array (write \"none\" for no DNS)");
	if (join_array(v, "dns", &text, err) < 0 || az_dns_parse(text.data, &s->defaults.dns, err) < 0)
		return -1;
	if (s->defaults.dns.mode != AZ_DNS_LIST)
		return az_err(err, EINVAL,
			      "\"dns\": an array lists addresses; write \"auto\" or \"none\" as a string");
	return 0;
}

static int set_proxy_udp(const cJSON *v, struct az_settings *s, az_error *err)
{
	if (!cJSON_IsString(v))
		return az_err(err, EINVAL, "\"proxy-udp\" must be a string: \"direct\" or \"block\"");
	return az_proxy_udp_parse(v->valuestring, &s->defaults.proxy_udp, err);
}

static const struct {
	const char *key;
	int (*set)(const cJSON *v, struct az_settings *s, az_error *err);
} keys[] = {
	{ "isolate", set_isolate },	{ "annotations", set_annotations },
	{ "lan-access", set_lan },	{ "proxy", set_proxy },
	{ "dns", set_dns },		{ "proxy-udp", set_proxy_udp },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static int set_key(const cJSON *item, struct az_settings *s, unsigned *seen, az_error *err)
{
	for (size_t k = 0; k < N_KEYS; k++) {
		if (strcmp(item->string, keys[k].key) != 0)
			continue;
		/* cJSON keeps both copies; refuse to guess which one was meant. */
		if (*seen & (1u << k))
			return az_err(err, EINVAL, "key \"%s\" appears twice", keys[k].key);
		*seen |= 1u << k;
		return keys[k].set(item, s, err);
	}
	return az_err(err, EINVAL,
		      "unknown key \"%s\" (known: isolate, annotations, lan-access, proxy, dns, proxy-udp)",
		      quotable(item->string));
}

static int parse_object(const char *json, size_t len, struct az_settings *out, az_error *err)
{
	const char *end = NULL;
	cleanup_cjson cJSON *root = NULL;
	const cJSON *item;
	unsigned seen = 0;

	if (az_json_has_nul(json, len))
		return az_err(err, EINVAL, "not a JSON text (it holds a NUL byte, raw or as \\u0000)");
	root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!root)
		return az_err(err, EINVAL, "not valid JSON (error near byte %zu)",
			      end ? (size_t)(end - json) : 0);
	while ((size_t)(end - json) < len && *end && strchr(" \t\r\n", *end))
		end++;
	if ((size_t)(end - json) < len)
		return az_err(err, EINVAL, "unexpected text after the JSON object at byte %zu",
			      (size_t)(end - json));
	if (!cJSON_IsObject(root))
		return az_err(err, EINVAL, "the top level must be a JSON object");
	cJSON_ArrayForEach(item, root)
		if (set_key(item, out, &seen, err) < 0)
			return -1;
	return 0;
}

int az_settings_parse_json(const char *json, size_t len, struct az_settings *out, az_error *err)
{
	az_settings_default(out);
	if (parse_object(json, len, out, err) < 0) {
		az_settings_free(out);
		az_settings_default(out);
		return -1;
	}
	out->defaults.enabled = out->isolate == AZ_ISOLATE_ALL;
	return 0;
}

int az_settings_load(const char *path, struct az_settings *out, az_error *err)
{
	cleanup_free char *text = NULL;
	az_error rerr = { 0 };
	size_t len = 0;

	az_settings_default(out);
	if (!path)
		path = az_settings_path();
	if (az_read_file(path, SETTINGS_MAX_SIZE, &text, &len, &rerr) < 0) {
		/* No file is the documented way to say "built-in defaults";
		 * any other failure (unreadable, too big) is refused. */
		if (rerr.code == ENOENT)
			return 0;
		if (err)
			*err = rerr;
		return -1;
	}
	/* The file decides what annotations may do: one that anybody could
	 * have written is no administrator's decision. */
	struct stat st;
	if (stat(path, &st) == 0 && ((st.st_mode & S_IWOTH) ||
				     (st.st_uid != 0 && st.st_uid != geteuid()))) {
		return az_err(err, EPERM,
			      "%s is writable by other users or owned by another user; "
			      "refusing it (chown root and chmod o-w it)", path);
	}
	if (az_settings_parse_json(text, len, out, err) < 0)
		return az_err_prefix(err, "%s", path);
	out->path = strdup(path);
	if (!out->path) {
		az_settings_free(out);
		return az_err(err, ENOMEM, "%s: out of memory", path);
	}
	return 0;
}
