/* The system file: JSON parsing, strictness, loading. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"

#define expect_err_has(err, s) \
	cr_expect(strstr((err).msg, (s)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, (s))

static int parse(const char *json, struct az_settings *s, az_error *err)
{
	return az_settings_parse_json(json, strlen(json), s, err);
}

static char *policy_text(const struct az_policy *p)
{
	struct az_buf b;
	az_buf_init(&b);
	cr_assert_eq(az_policy_format(p, &b), 0);
	return az_buf_steal(&b);
}

static void expect_defaults(const struct az_settings *s)
{
	cr_expect_eq(s->isolate, AZ_ISOLATE_ANNOTATED);
	cr_expect_eq(s->annotations, AZ_ANN_ANY);
	cr_expect(!s->defaults.enabled);
	cr_expect(!s->defaults.lan.all);
	cr_expect_eq(s->defaults.lan.n, 0);
	cr_expect_null(s->defaults.lan.v);
	cr_expect_eq(s->defaults.proxy.n, 0);
	cr_expect_eq(s->defaults.dns.mode, AZ_DNS_AUTO);
	cr_expect_eq(s->defaults.proxy_udp, AZ_PROXY_UDP_DIRECT);
}

Test(config_settings, builtin_defaults)
{
	struct az_settings s;
	az_settings_default(&s);
	expect_defaults(&s);
	cr_expect_null(s.path);
	char *t = policy_text(&s.defaults);
	cr_expect_str_eq(t, "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	free(t);
	az_settings_free(&s);
}

Test(config_settings, empty_object_is_defaults)
{
	struct az_settings s;
	az_error err = { 0 };
	cr_assert_eq(parse(" {\n} \n", &s, &err), 0, "%s", err.msg);
	expect_defaults(&s);
	az_settings_free(&s);
}

Test(config_settings, every_key)
{
	struct az_settings s;
	az_error err = { 0 };

	cr_assert_eq(parse("{\"isolate\": \"all\", \"annotations\": \"narrow\",\n"
			   " \"lan-access\": [\"192.168.1.0/24:8080\", \"*://[fd00::1]:53\", "
			   "\"${alca:HOST_IP}:8080\"],\n"
			   " \"proxy\": \"10.0.0.1:3128\", \"dns\": [\"198.51.100.53\", \"192.0.2.53\"],\n"
			   " \"proxy-udp\": \"block\"}",
			   &s, &err),
		     0, "%s", err.msg);
	cr_expect_eq(s.isolate, AZ_ISOLATE_ALL);
	cr_expect_eq(s.annotations, AZ_ANN_NARROW);
	cr_expect(s.defaults.enabled);
	cr_expect_eq(s.defaults.lan.n, 3);
	cr_expect_eq(s.defaults.proxy.n, 1);
	cr_expect_eq(s.defaults.dns.mode, AZ_DNS_LIST);
	cr_expect_eq(s.defaults.dns.n, 2);
	cr_expect_eq(s.defaults.proxy_udp, AZ_PROXY_UDP_BLOCK);
	char *t = policy_text(&s.defaults);
	cr_expect_str_eq(t, "enabled=on lan-access=${alca:HOST_IP}:8080,*://[fd00::1]:53,"
			    "192.168.1.0/24:8080 proxy=10.0.0.1:3128 dns=192.0.2.53,198.51.100.53 "
			    "proxy-udp=block");
	free(t);
	az_settings_free(&s);
}

Test(config_settings, value_variants)
{
	static const struct {
		const char *json;
		const char *text;
	} v[] = {
		{ "{\"isolate\":\"annotated\"}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
		{ "{\"annotations\":\"ignore\"}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
		{ "{\"annotations\":\"any\"}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
		{ "{\"lan-access\":[]}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
		{ "{\"lan-access\":[\"10.0.0.1\",\"*\"]}", "enabled=off lan-access=* proxy=none dns=auto proxy-udp=direct" },
		{ "{\"proxy\":\"none\"}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
		{ "{\"proxy\":\"\"}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
		{ "{\"proxy\":[]}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
		{ "{\"proxy\":[\"[fd00::1]:3128\",\"10.0.0.1:3128\"]}",
		  "enabled=off lan-access= proxy=10.0.0.1:3128,[fd00::1]:3128 dns=auto proxy-udp=direct" },
		{ "{\"proxy\":\"${alca:HOST_IP}:3128\"}",
		  "enabled=off lan-access= proxy=${alca:HOST_IP}:3128 dns=auto proxy-udp=direct" },
		{ "{\"dns\":\"none\"}", "enabled=off lan-access= proxy=none dns=none proxy-udp=direct" },
		{ "{\"dns\":\"auto\"}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
		{ "{\"dns\":\"203.0.113.53\"}", "enabled=off lan-access= proxy=none dns=203.0.113.53 proxy-udp=direct" },
		{ "{\"dns\":[\"fd00::53\"]}", "enabled=off lan-access= proxy=none dns=fd00::53 proxy-udp=direct" },
		{ "{\"proxy-udp\":\"direct\"}", "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct" },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct az_settings s;
		az_error err = { 0 };
		cr_assert_eq(parse(v[i].json, &s, &err), 0, "%s: %s", v[i].json, err.msg);
		char *t = policy_text(&s.defaults);
		cr_expect_str_eq(t, v[i].text, "%s", v[i].json);
		free(t);
		az_settings_free(&s);
	}
}

static const struct {
	const char *json;
	const char *reason;
} bad_files[] = {
	/* unknown keys: a typo must not silently drop a restriction */
	{ "{\"lan_access\": []}", "unknown key \"lan_access\" (known: isolate, annotations, lan-access, proxy, dns, proxy-udp)" },
	{ "{\"Isolate\": \"all\"}", "unknown key \"Isolate\"" },
	{ "{\"isolate\": \"all\", \"comment\": \"x\"}", "unknown key \"comment\"" },
	{ "{\"\\u0001\": 1}", "unknown key \"...\"" },
	/* wrong types */
	{ "{\"isolate\": 1}", "\"isolate\" must be a string: \"annotated\" or \"all\"" },
	{ "{\"isolate\": null}", "\"isolate\" must be a string" },
	{ "{\"isolate\": \"everything\"}", "\"isolate\": \"everything\" is not \"annotated\" or \"all\"" },
	{ "{\"isolate\": \"ALL\"}", "\"isolate\": \"ALL\" is not" },
	{ "{\"isolate\": \"a\\u0000ll\"}", "NUL byte, raw or as \\u0000" },
	{ "{\"isolate\": \"\\u001b[2J\"}", "\"isolate\": \"...\" is not" },
	{ "{\"annotations\": true}", "\"annotations\" must be a string: \"any\", \"narrow\" or \"ignore\"" },
	{ "{\"annotations\": \"some\"}", "\"annotations\": \"some\" is not \"any\", \"narrow\" or \"ignore\"" },
	{ "{\"lan-access\": \"10.0.0.1\"}", "\"lan-access\" must be an array of strings" },
	{ "{\"lan-access\": {}}", "\"lan-access\" must be an array of strings" },
	{ "{\"lan-access\": [1]}", "\"lan-access\": element 0 is not a string" },
	{ "{\"lan-access\": [\"10.0.0.1\", null]}", "\"lan-access\": element 1 is not a string" },
	{ "{\"lan-access\": [\"\"]}", "\"lan-access\": element 0 is empty" },
	{ "{\"lan-access\": [\"10.0.0.1, 10.0.0.2\"]}", "element 0 holds a space or comma (give one entry per string)" },
	{ "{\"lan-access\": [\"10.0.0.1\", \"tcp://192.168.1.300:80\"]}", "lan-access entry \"tcp://192.168.1.300:80\": 192.168.1.300 is not an IPv4 address" },
	{ "{\"lan-access\": [\"10.0.0.1\\u0007\"]}", "lan-access: control character 0x07" },
	{ "{\"proxy\": 3128}", "\"proxy\" must be a string or an array of strings" },
	{ "{\"proxy\": [3128]}", "\"proxy\": element 0 is not a string" },
	{ "{\"proxy\": [\"none\"]}", "\"proxy\": write \"none\" as a string" },
	{ "{\"proxy\": \"proxy.lan:3128\"}", "proxy.lan is not an IP address" },
	{ "{\"proxy\": [\"10.0.0.1:1\", \"10.0.0.2:2\"]}", "a second IPv4 proxy" },
	{ "{\"dns\": 53}", "\"dns\" must be \"auto\", \"none\" or an array of address strings" },
	{ "{\"dns\": []}", "\"dns\": empty array (write \"none\" for no DNS)" },
	{ "{\"dns\": [\"auto\"]}", "\"dns\": an array lists addresses" },
	{ "{\"dns\": [\"none\"]}", "\"dns\": an array lists addresses" },
	{ "{\"dns\": [\"192.0.2.53\", \"auto\"]}", "auto and none stand alone" },
	{ "{\"dns\": \"resolver\"}", "resolver is not an IP address" },
	{ "{\"proxy-udp\": true}", "\"proxy-udp\" must be a string: \"direct\" or \"block\"" },
	{ "{\"proxy-udp\": \"drop\"}", "proxy-udp: \"drop\" is not direct or block" },
	/* duplicates */
	{ "{\"isolate\": \"all\", \"isolate\": \"annotated\"}", "key \"isolate\" appears twice" },
	{ "{\"lan-access\": [], \"lan-access\": [\"*\"]}", "key \"lan-access\" appears twice" },
	/* not JSON, or not an object */
	{ "", "not valid JSON" },
	{ "{", "not valid JSON" },
	{ "{\"isolate\": \"all\",}", "not valid JSON" },
	{ "{\"isolate\" \"all\"}", "not valid JSON (error near byte" },
	{ "{} {}", "unexpected text after the JSON object at byte 3" },
	{ "{} x", "unexpected text after the JSON object" },
	{ "[]", "the top level must be a JSON object" },
	{ "\"all\"", "the top level must be a JSON object" },
	{ "null", "the top level must be a JSON object" },
};

Test(config_settings, errors_leave_defaults_and_no_leak)
{
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		struct az_settings s;
		az_error err = { 0 };

		cr_expect_lt(parse(bad_files[i].json, &s, &err), 0, "%s accepted", bad_files[i].json);
		expect_err_has(err, bad_files[i].reason);
		cr_expect_eq(err.code, EINVAL, "%s", bad_files[i].json);
		expect_defaults(&s);
		az_settings_free(&s);
	}
}

Test(config_settings, error_after_lan_access_frees_it)
{
	struct az_settings s;
	az_error err = { 0 };

	cr_expect_lt(parse("{\"lan-access\": [\"10.0.0.1\", \"10.0.0.2\"], \"isolate\": 3}", &s, &err), 0);
	cr_expect_null(s.defaults.lan.v);
	az_settings_free(&s);
}

Test(config_settings, nul_byte_inside)
{
	struct az_settings s;
	az_error err = { 0 };
	static const char json[] = "{\"isolate\": \"all\"}\0{\"isolate\": 1}";

	cr_expect_lt(az_settings_parse_json(json, sizeof(json) - 1, &s, &err), 0);
	expect_err_has(err, "NUL byte");
	/* The length given is what is parsed, not up to the first NUL. */
	cr_expect_eq(az_settings_parse_json(json, 18, &s, &err), 0, "%s", err.msg);
	cr_expect_eq(s.isolate, AZ_ISOLATE_ALL);
	az_settings_free(&s);
}

Test(config_settings, too_many_lan_entries)
{
	struct az_buf b;
	struct az_settings s;
	az_error err = { 0 };

	az_buf_init(&b);
	az_buf_printf(&b, "{\"lan-access\": [");
	for (int i = 0; i <= AZ_MAX_LAN; i++)
		az_buf_printf(&b, "%s\"10.1.%d.%d\"", i ? "," : "", i / 200, i % 200 + 1);
	az_buf_printf(&b, "]}");
	cr_expect_lt(parse(b.data, &s, &err), 0);
	expect_err_has(err, "\"lan-access\": 257 entries, at most 256 are accepted");
	az_settings_free(&s);
	az_buf_free(&b);
}

Test(config_settings, deep_nesting_is_refused)
{
	struct az_buf b;
	struct az_settings s;
	az_error err = { 0 };

	az_buf_init(&b);
	az_buf_printf(&b, "{\"proxy\": ");
	for (int i = 0; i < 5000; i++)
		az_buf_printf(&b, "[");
	cr_expect_lt(parse(b.data, &s, &err), 0);
	az_settings_free(&s);
	az_buf_free(&b);
}

/* ---- loading from a path ---- */

static char dir[64];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/az-config-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static char *write_file(const char *name, const char *text)
{
	char *path;
	FILE *f;

	cr_assert_gt(asprintf(&path, "%s/%s", dir, name), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

TestSuite(config_load, .init = make_dir, .fini = remove_dir);

Test(config_load, valid_file_records_its_path)
{
	char *path = write_file("alcatraz.json", "{\"isolate\": \"all\", \"annotations\": \"narrow\"}\n");
	struct az_settings s;
	az_error err = { 0 };

	cr_assert_eq(az_settings_load(path, &s, &err), 0, "%s", err.msg);
	cr_expect_eq(s.isolate, AZ_ISOLATE_ALL);
	cr_expect(s.defaults.enabled);
	cr_assert_not_null(s.path);
	cr_expect_str_eq(s.path, path);
	az_settings_free(&s);
	cr_expect_null(s.path);
	free(path);
}

Test(config_load, missing_file_means_defaults)
{
	char path[128];
	struct az_settings s;
	az_error err = { 0 };

	snprintf(path, sizeof(path), "%s/absent.json", dir);
	cr_assert_eq(az_settings_load(path, &s, &err), 0, "%s", err.msg);
	expect_defaults(&s);
	cr_expect_null(s.path);
	az_settings_free(&s);
}

Test(config_load, missing_file_with_null_err)
{
	char path[128];
	struct az_settings s;

	snprintf(path, sizeof(path), "%s/absent.json", dir);
	cr_assert_eq(az_settings_load(path, &s, NULL), 0);
	az_settings_free(&s);
}

Test(config_load, null_path_uses_environment)
{
	char *path = write_file("env.json", "{\"proxy-udp\": \"block\"}");
	struct az_settings s;
	az_error err = { 0 };

	cr_assert_eq(setenv("ALCATRAZ_CONFIG", path, 1), 0);
	cr_assert_eq(az_settings_load(NULL, &s, &err), 0, "%s", err.msg);
	cr_expect_eq(s.defaults.proxy_udp, AZ_PROXY_UDP_BLOCK);
	cr_expect_str_eq(s.path, path);
	az_settings_free(&s);
	free(path);
}

Test(config_load, null_path_environment_names_missing_file)
{
	char path[128];
	struct az_settings s;
	az_error err = { 0 };

	snprintf(path, sizeof(path), "%s/nothing-here.json", dir);
	cr_assert_eq(setenv("ALCATRAZ_CONFIG", path, 1), 0);
	cr_assert_eq(az_settings_load(NULL, &s, &err), 0, "%s", err.msg);
	expect_defaults(&s);
	az_settings_free(&s);
}

Test(config_load, errors_are_prefixed_with_the_path)
{
	char *path = write_file("bad.json", "{\"lan_access\": []}");
	struct az_settings s;
	az_error err = { 0 };
	char want[256];

	cr_expect_lt(az_settings_load(path, &s, &err), 0);
	snprintf(want, sizeof(want), "%s: unknown key \"lan_access\"", path);
	expect_err_has(err, want);
	expect_defaults(&s);
	cr_expect_null(s.path);
	az_settings_free(&s);
	free(path);
}

Test(config_load, too_big_is_refused)
{
	char *path, *big = malloc(1024 * 1024 + 2);
	struct az_settings s;
	az_error err = { 0 };

	memset(big, ' ', 1024 * 1024 + 1);
	big[0] = '{';
	big[1024 * 1024 - 1] = '}';
	big[1024 * 1024 + 1] = '\0';
	path = write_file("big.json", big);
	cr_expect_lt(az_settings_load(path, &s, &err), 0);
	expect_err_has(err, path);
	expect_err_has(err, "larger than 1048576 bytes");
	az_settings_free(&s);
	free(path);

	/* One MiB exactly is fine. */
	big[1024 * 1024] = '\0';
	path = write_file("edge.json", big);
	cr_expect_eq(az_settings_load(path, &s, &err), 0, "%s", err.msg);
	az_settings_free(&s);
	free(path);
	free(big);
}

Test(config_load, unreadable_is_an_error_not_defaults)
{
	struct az_settings s;
	az_error err = { 0 };

	/* A directory cannot be read as a file: fail closed. */
	cr_expect_lt(az_settings_load(dir, &s, &err), 0);
	expect_err_has(err, dir);
	expect_defaults(&s);
	az_settings_free(&s);
}

Test(config_load, not_a_directory_is_an_error)
{
	char *file = write_file("plain", "{}"), path[256];
	struct az_settings s;
	az_error err = { 0 };

	snprintf(path, sizeof(path), "%s/alcatraz.json", file);
	cr_expect_lt(az_settings_load(path, &s, &err), 0);
	cr_expect_eq(err.code, ENOTDIR);
	az_settings_free(&s);
	free(file);
}

/* A settings file anybody can write is nobody's decision: refused. */
Test(config_settings, world_writable_file_is_refused)
{
	char path[] = "/tmp/az-config-ww.XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "{}", 2), 2);
	close(fd);
	struct az_settings s;
	az_error e = { 0 };
	chmod(path, 0644);
	cr_assert_eq(az_settings_load(path, &s, &e), 0, "%s", e.msg);
	az_settings_free(&s);
	chmod(path, 0666);
	cr_assert_lt(az_settings_load(path, &s, &e), 0);
	cr_assert(strstr(e.msg, "writable by other users"), "%s", e.msg);
	unlink(path);
}
