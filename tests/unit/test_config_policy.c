/* Merging per-container settings over the system file: any / narrow / ignore,
 * enabling, canonical text, copy and equality. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "config/config.h"

#define PATH "/etc/alcatraz/alcatraz.json"
#define TOKEN "${alca:HOST_IP}"

#define expect_err_has(err, s) \
	cr_expect(strstr((err).msg, (s)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg, (s))

static struct az_settings settings(const char *json)
{
	struct az_settings s;
	az_error err = { 0 };

	cr_assert_eq(az_settings_parse_json(json, strlen(json), &s, &err), 0, "%s", err.msg);
	s.path = strdup(PATH);
	return s;
}

static char *policy_text(const struct az_policy *p)
{
	struct az_buf b;
	az_buf_init(&b);
	cr_assert_eq(az_policy_format(p, &b), 0);
	return az_buf_steal(&b);
}

/* Resolve one key (or none when key is NULL) and return the canonical text,
 * or NULL with *err filled. */
static char *resolve1(const struct az_settings *s, const char *key, const char *value,
		      az_error *err)
{
	struct az_kv kv = { key, value };
	struct az_policy p;
	char *t;

	memset(err, 0, sizeof(*err));
	if (az_policy_resolve(s, &kv, key ? 1 : 0, &p, err) < 0) {
		cr_expect_null(p.lan.v, "output not cleared on error");
		cr_expect_eq(p.lan.n, 0);
		return NULL;
	}
	t = policy_text(&p);
	az_policy_free(&p);
	return t;
}

static void expect_resolves(const struct az_settings *s, const char *key, const char *value,
			    const char *want)
{
	az_error err;
	char *t = resolve1(s, key, value, &err);

	cr_expect_not_null(t, "%s=%s refused: %s", key, value, err.msg);
	if (t)
		cr_expect_str_eq(t, want, "%s=%s gave %s", key, value, t);
	free(t);
}

static void expect_refused(const struct az_settings *s, const char *key, const char *value,
			   const char *reason)
{
	az_error err;
	char *t = resolve1(s, key, value, &err);

	cr_expect_null(t, "%s=%s accepted: %s", key, value, t);
	free(t);
	expect_err_has(err, reason);
}

/* ---- enabling ---- */

Test(config_enabled, annotated_needs_a_key)
{
	struct az_settings s = settings("{}");
	az_error err;
	struct az_kv foreign[] = { { "io.kubernetes.cri-o.Foo", "on" },
				   { "alcatraz.other", "x" },
				   { "alcatraz.net", "x" },
				   { NULL, "on" } };
	struct az_policy p;

	expect_resolves(&s, NULL, NULL, "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	cr_assert_eq(az_policy_resolve(&s, foreign, 4, &p, &err), 0, "%s", err.msg);
	cr_expect(!p.enabled, "foreign keys enabled isolation");
	az_policy_free(&p);
	expect_resolves(&s, AZ_KEY_ENABLE, "on",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_ENABLE, "off",
			"enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	az_settings_free(&s);
}

Test(config_enabled, any_other_setting_means_isolation)
{
	struct az_settings s = settings("{}");

	expect_resolves(&s, AZ_KEY_LAN, "192.168.1.50:5432",
			"enabled=on lan-access=192.168.1.50:5432 proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_PROXY, "10.0.0.1:3128",
			"enabled=on lan-access= proxy=10.0.0.1:3128 dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_DNS, "none",
			"enabled=on lan-access= proxy=none dns=none proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_PROXY_UDP, "block",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=block");
	/* Even an empty lan-access: "no exceptions" is a wish for isolation. */
	expect_resolves(&s, AZ_KEY_LAN, "",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	az_settings_free(&s);
}

Test(config_enabled, explicit_off_wins_in_any_mode)
{
	struct az_settings s = settings("{\"isolate\": \"all\"}");
	struct az_kv kv[] = { { AZ_KEY_LAN, "10.0.0.1" }, { AZ_KEY_ENABLE, "off" } };
	struct az_policy p;
	az_error err;

	expect_resolves(&s, NULL, NULL, "enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_ENABLE, "off",
			"enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_ENABLE, "false",
			"enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	cr_assert_eq(az_policy_resolve(&s, kv, 2, &p, &err), 0, "%s", err.msg);
	cr_expect(!p.enabled);
	az_policy_free(&p);
	az_settings_free(&s);

	s = settings("{}");
	cr_assert_eq(az_policy_resolve(&s, kv, 2, &p, &err), 0, "%s", err.msg);
	cr_expect(!p.enabled);
	az_policy_free(&p);
	az_settings_free(&s);
}

/* ---- keys ---- */

Test(config_keys, unknown_alcatraz_network_key_is_an_error)
{
	struct az_settings s = settings("{}");

	expect_refused(&s, "alcatraz.network.lan_access", "10.0.0.1",
		       "unknown setting \"alcatraz.network.lan_access\" (known: alcatraz.network, "
		       "alcatraz.network.lan-access, alcatraz.network.proxy, alcatraz.network.dns, "
		       "alcatraz.network.proxy-udp)");
	expect_refused(&s, "alcatraz.network.enabled", "on", "unknown setting");
	expect_refused(&s, "alcatraz.networks", "on", "unknown setting \"alcatraz.networks\"");
	expect_refused(&s, "alcatraz.network.", "on", "unknown setting \"alcatraz.network.\"");
	expect_refused(&s, "alcatraz.network.\x1b[2J", "on",
		       "unknown setting alcatraz.network... (its name is too long or not printable ASCII)");
	az_settings_free(&s);
}

Test(config_keys, unknown_key_is_an_error_in_narrow_mode_too)
{
	struct az_settings s = settings("{\"annotations\": \"narrow\"}");
	expect_refused(&s, "alcatraz.network.dns-servers", "192.0.2.53", "unknown setting");
	az_settings_free(&s);
}

Test(config_keys, given_twice)
{
	struct az_settings s = settings("{}");
	struct az_kv kv[] = { { AZ_KEY_LAN, "10.0.0.1" }, { AZ_KEY_LAN, "*" } };
	struct az_policy p;
	az_error err = { 0 };

	cr_expect_lt(az_policy_resolve(&s, kv, 2, &p, &err), 0);
	expect_err_has(err, "alcatraz.network.lan-access is given twice");
	az_settings_free(&s);
}

Test(config_keys, null_value_is_empty)
{
	struct az_settings s = settings("{}");
	expect_resolves(&s, AZ_KEY_LAN, NULL,
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_refused(&s, AZ_KEY_ENABLE, NULL, "alcatraz.network: \"\" is not on or off");
	az_settings_free(&s);
}

Test(config_keys, bad_values_are_errors_and_clear_output)
{
	struct az_settings s = settings("{\"lan-access\": [\"10.0.0.0/8\"]}");

	expect_refused(&s, AZ_KEY_ENABLE, "maybe", "alcatraz.network: \"maybe\" is not on or off");
	expect_refused(&s, AZ_KEY_LAN, "tcp://192.168.1.300:80",
		       "lan-access entry \"tcp://192.168.1.300:80\": 192.168.1.300 is not an IPv4 address");
	expect_refused(&s, AZ_KEY_PROXY, "proxy:3128", "proxy entry \"proxy:3128\"");
	expect_refused(&s, AZ_KEY_DNS, "google", "dns entry \"google\"");
	expect_refused(&s, AZ_KEY_PROXY_UDP, "quic", "proxy-udp: \"quic\" is not direct or block");
	expect_refused(&s, AZ_KEY_LAN, "10.0.0.1\xff", "lan-access: invalid UTF-8");
	az_settings_free(&s);
}

Test(config_keys, later_bad_value_frees_earlier_lan)
{
	struct az_settings s = settings("{}");
	struct az_kv kv[] = { { AZ_KEY_LAN, "10.0.0.1 10.0.0.2" }, { AZ_KEY_DNS, "bogus" } };
	struct az_policy p;
	az_error err = { 0 };

	cr_expect_lt(az_policy_resolve(&s, kv, 2, &p, &err), 0);
	cr_expect_null(p.lan.v);
	az_settings_free(&s);
}

/* ---- any ---- */

Test(config_any, a_given_key_replaces_the_default)
{
	struct az_settings s = settings("{\"isolate\": \"all\", \"lan-access\": [\"10.0.0.0/8\"],"
					" \"proxy\": \"10.0.0.1:3128\", \"dns\": [\"192.0.2.53\"],"
					" \"proxy-udp\": \"block\"}");

	expect_resolves(&s, NULL, NULL,
			"enabled=on lan-access=10.0.0.0/8 proxy=10.0.0.1:3128 dns=192.0.2.53 proxy-udp=block");
	expect_resolves(&s, AZ_KEY_LAN, "192.168.1.7:22",
			"enabled=on lan-access=192.168.1.7:22 proxy=10.0.0.1:3128 dns=192.0.2.53 proxy-udp=block");
	expect_resolves(&s, AZ_KEY_LAN, "*",
			"enabled=on lan-access=* proxy=10.0.0.1:3128 dns=192.0.2.53 proxy-udp=block");
	expect_resolves(&s, AZ_KEY_PROXY, "none",
			"enabled=on lan-access=10.0.0.0/8 proxy=none dns=192.0.2.53 proxy-udp=block");
	expect_resolves(&s, AZ_KEY_PROXY, "[fd00::1]:8080, 10.9.9.9:8080",
			"enabled=on lan-access=10.0.0.0/8 proxy=10.9.9.9:8080,[fd00::1]:8080 dns=192.0.2.53 proxy-udp=block");
	expect_resolves(&s, AZ_KEY_DNS, "auto",
			"enabled=on lan-access=10.0.0.0/8 proxy=10.0.0.1:3128 dns=auto proxy-udp=block");
	expect_resolves(&s, AZ_KEY_DNS, "203.0.113.53 198.51.100.53",
			"enabled=on lan-access=10.0.0.0/8 proxy=10.0.0.1:3128 dns=198.51.100.53,203.0.113.53 proxy-udp=block");
	expect_resolves(&s, AZ_KEY_PROXY_UDP, "direct",
			"enabled=on lan-access=10.0.0.0/8 proxy=10.0.0.1:3128 dns=192.0.2.53 proxy-udp=direct");
	az_settings_free(&s);
}

Test(config_any, every_key_at_once)
{
	struct az_settings s = settings("{}");
	struct az_kv kv[] = {
		{ "io.podman.annotations.foo", "bar" },
		{ AZ_KEY_ENABLE, "on" },
		{ AZ_KEY_LAN, "tcp://[fd00::1]:443, 192.168.1.0/24:8080" },
		{ AZ_KEY_PROXY, "10.0.0.1:3128" },
		{ AZ_KEY_DNS, "auto" },
		{ AZ_KEY_PROXY_UDP, "direct" },
	};
	struct az_policy p;
	az_error err = { 0 };

	cr_assert_eq(az_policy_resolve(&s, kv, 6, &p, &err), 0, "%s", err.msg);
	char *t = policy_text(&p);
	cr_expect_str_eq(t, "enabled=on lan-access=192.168.1.0/24:8080,[fd00::1]:443 "
			    "proxy=10.0.0.1:3128 dns=auto proxy-udp=direct");
	free(t);
	az_policy_free(&p);
	az_settings_free(&s);
}

/* ---- narrow ---- */

#define NARROW_FILE                                                                         \
	"{\"isolate\": \"all\", \"annotations\": \"narrow\", \"lan-access\": ["               \
	"\"192.168.1.0/24:8000-9000\", \"udp://10.0.0.0/8:53\", \"tcp://10.1.0.0/16:53\", " \
	"\"" TOKEN ":8080\", \"172.16.5.0/24\", \"udp://[fd00::/8]:5353\"],"                \
	" \"proxy\": \"10.0.0.1:3128\", \"dns\": [\"192.0.2.53\", \"198.51.100.53\"],"                 \
	" \"proxy-udp\": \"direct\"}"

/* NARROW_FILE's lan-access in canonical text. */
#define NARROW_LAN                                                                \
	"${alca:HOST_IP}:8080,10.1.0.0/16:53,172.16.5.0/24,192.168.1.0/24:8000-9000," \
	"udp://10.0.0.0/8:53,udp://[fd00::/8]:5353"

#define WIDENS "widens the administrator's settings (annotations are \"narrow\" in " PATH ")"

Test(config_narrow, lan_entries_covered_are_accepted)
{
	static const char *const ok[] = {
		"192.168.1.7:8080",
		"tcp://192.168.1.7:8000",
		"192.168.1.7:8000-9000",
		"192.168.1.0/25:8100-8200",
		"192.168.1.0/24:9000",
		"udp://10.9.8.7:53",
		"udp://10.0.0.0/9:53",
		"*://10.1.2.3:53",		/* tcp from one entry, udp from another */
		TOKEN ":8080",
		"tcp://" TOKEN ":8080",
		"172.16.5.9",			/* all-protocol entry covers a host */
		"udp://172.16.5.9:1-65535",
		"*://172.16.5.0/24",
		"udp://[fd00::1]:5353",
		"",				/* no exceptions at all */
		"192.168.1.7:8080 udp://10.0.0.1:53",
	};
	struct az_settings s = settings(NARROW_FILE);

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		az_error err;
		char *t = resolve1(&s, AZ_KEY_LAN, ok[i], &err);
		cr_expect_not_null(t, "%s refused: %s", ok[i], err.msg);
		if (t)
			cr_expect(strncmp(t, "enabled=on ", 11) == 0, "%s", t);
		free(t);
	}
	az_settings_free(&s);
}

Test(config_narrow, lan_entries_widening_are_refused)
{
	static const struct {
		const char *value;
		const char *shown;
	} bad[] = {
		{ "192.168.1.7:22", "192.168.1.7:22" },
		{ "tcp://192.168.1.7:22", "192.168.1.7:22" },
		{ "192.168.1.7:8000-9001", "192.168.1.7:8000-9001" },
		{ "192.168.1.7:7999-8100", "192.168.1.7:7999-8100" },
		{ "udp://192.168.1.7:8080", "udp://192.168.1.7:8080" },
		{ "*://192.168.1.7:8080", "*://192.168.1.7:8080" },
		{ "192.168.1.7", "192.168.1.7" },
		{ "tcp://192.168.1.7", "tcp://192.168.1.7" },
		{ "192.168.0.0/16:8080", "192.168.0.0/16:8080" },
		{ "192.168.2.1:8080", "192.168.2.1:8080" },
		{ "10.0.0.1:53", "10.0.0.1:53" },		/* tcp not in 10/8 */
		{ "*://10.2.0.1:53", "*://10.2.0.1:53" },	/* udp yes, tcp no */
		{ "udp://10.0.0.1:54", "udp://10.0.0.1:54" },
		{ "172.16.0.0/16", "172.16.0.0/16" },
		{ TOKEN ":22", TOKEN ":22" },
		{ TOKEN, TOKEN },
		{ "udp://" TOKEN ":8080", "udp://" TOKEN ":8080" },
		/* A literal address is not covered by a gateway entry, nor the
		 * other way round. */
		{ "192.168.1.1:8080 " TOKEN ":9000", TOKEN ":9000" },
		{ "[fd00::1]:5353", "[fd00::1]:5353" },
		{ "udp://[fe80::1]:5353", "udp://[fe80::1]:5353" },
		{ "::ffff:192.168.1.7", "::ffff:192.168.1.7" },
	};
	struct az_settings s = settings(NARROW_FILE);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want), "alcatraz.network.lan-access: entry \"%s\" " WIDENS,
			 bad[i].shown);
		expect_refused(&s, AZ_KEY_LAN, bad[i].value, want);
	}
	az_settings_free(&s);
}

Test(config_narrow, brief_example_message)
{
	struct az_settings s = settings("{\"annotations\": \"narrow\", \"lan-access\": [\"10.0.0.0/8\"]}");
	az_error err;
	char *t = resolve1(&s, AZ_KEY_LAN, "192.168.1.7:22", &err);

	cr_expect_null(t);
	cr_expect_str_eq(err.msg, "alcatraz.network.lan-access: entry \"192.168.1.7:22\" widens the "
				  "administrator's settings (annotations are \"narrow\" in "
				  "/etc/alcatraz/alcatraz.json)");
	cr_expect_eq(err.code, EPERM);
	az_settings_free(&s);
}

Test(config_narrow, star_is_refused_unless_the_file_has_it)
{
	struct az_settings s = settings(NARROW_FILE);
	expect_refused(&s, AZ_KEY_LAN, "*", "alcatraz.network.lan-access: \"*\" " WIDENS);
	expect_refused(&s, AZ_KEY_LAN, "192.168.1.7:8080 *", "\"*\" " WIDENS);
	az_settings_free(&s);

	s = settings("{\"annotations\": \"narrow\", \"lan-access\": [\"*\"]}");
	expect_resolves(&s, AZ_KEY_LAN, "*",
			"enabled=on lan-access=* proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_LAN, "0.0.0.0/0 ::/0 " TOKEN,
			"enabled=on lan-access=${alca:HOST_IP},0.0.0.0/0,::/0 proxy=none dns=auto proxy-udp=direct");
	az_settings_free(&s);
}

Test(config_narrow, empty_file_list_allows_nothing)
{
	struct az_settings s = settings("{\"annotations\": \"narrow\"}");
	expect_refused(&s, AZ_KEY_LAN, "192.168.1.7:22", "entry \"192.168.1.7:22\" " WIDENS);
	expect_resolves(&s, AZ_KEY_LAN, " ",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	az_settings_free(&s);
}

Test(config_narrow, message_without_a_file)
{
	struct az_settings s = settings("{\"annotations\": \"narrow\"}");
	az_error err;

	free(s.path);
	s.path = NULL;
	free(resolve1(&s, AZ_KEY_LAN, "10.0.0.1", &err));
	expect_err_has(err, "(annotations are \"narrow\" in the system settings)");
	az_settings_free(&s);
}

Test(config_narrow, enable)
{
	struct az_settings s = settings(NARROW_FILE);
	expect_refused(&s, AZ_KEY_ENABLE, "off",
		       "alcatraz.network: \"off\" (isolate is \"all\") " WIDENS);
	expect_refused(&s, AZ_KEY_ENABLE, "0", "alcatraz.network: \"off\"");
	expect_resolves(&s, AZ_KEY_ENABLE, "on",
			"enabled=on lan-access=" NARROW_LAN " "
			"proxy=10.0.0.1:3128 dns=192.0.2.53,198.51.100.53 proxy-udp=direct");
	az_settings_free(&s);

	/* Under "annotated", off is where the container already is. */
	s = settings("{\"annotations\": \"narrow\"}");
	expect_resolves(&s, AZ_KEY_ENABLE, "off",
			"enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_ENABLE, "on",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	az_settings_free(&s);
}

Test(config_narrow, proxy_must_stay)
{
	struct az_settings s = settings(NARROW_FILE);

	expect_resolves(&s, AZ_KEY_PROXY, " 10.0.0.1:03128, ",
			"enabled=on lan-access=" NARROW_LAN " "
			"proxy=10.0.0.1:3128 dns=192.0.2.53,198.51.100.53 proxy-udp=direct");
	expect_refused(&s, AZ_KEY_PROXY, "10.0.0.2:3128",
		       "alcatraz.network.proxy: \"10.0.0.2:3128\" (the proxy must stay \"10.0.0.1:3128\") " WIDENS);
	expect_refused(&s, AZ_KEY_PROXY, "10.0.0.1:3129", "the proxy must stay");
	expect_refused(&s, AZ_KEY_PROXY, "none", "alcatraz.network.proxy: \"none\"");
	expect_refused(&s, AZ_KEY_PROXY, "10.0.0.1:3128 [fd00::1]:3128", "the proxy must stay");
	az_settings_free(&s);

	s = settings("{\"annotations\": \"narrow\"}");
	expect_resolves(&s, AZ_KEY_PROXY, "none",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_refused(&s, AZ_KEY_PROXY, "192.168.1.5:3128",
		       "\"192.168.1.5:3128\" (the proxy must stay \"none\")");
	az_settings_free(&s);

	s = settings("{\"annotations\": \"narrow\", \"proxy\": [\"[fd00::1]:1\", \"10.0.0.1:1\"]}");
	expect_resolves(&s, AZ_KEY_PROXY, "[fd00::1]:1 10.0.0.1:1",
			"enabled=on lan-access= proxy=10.0.0.1:1,[fd00::1]:1 dns=auto proxy-udp=direct");
	expect_refused(&s, AZ_KEY_PROXY, "10.0.0.1:1", "the proxy must stay");
	az_settings_free(&s);
}

Test(config_narrow, dns)
{
	struct az_settings s = settings(NARROW_FILE);

	expect_resolves(&s, AZ_KEY_DNS, "none",
			"enabled=on lan-access=" NARROW_LAN " "
			"proxy=10.0.0.1:3128 dns=none proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_DNS, "198.51.100.53",
			"enabled=on lan-access=" NARROW_LAN " "
			"proxy=10.0.0.1:3128 dns=198.51.100.53 proxy-udp=direct");
	az_error err;
	char *t = resolve1(&s, AZ_KEY_DNS, "198.51.100.53 192.0.2.53", &err);
	cr_expect(t && strstr(t, " dns=192.0.2.53,198.51.100.53 "), "%s", t ? t : err.msg);
	free(t);
	expect_refused(&s, AZ_KEY_DNS, "203.0.113.53", "alcatraz.network.dns: 203.0.113.53 " WIDENS);
	expect_refused(&s, AZ_KEY_DNS, "192.0.2.53 203.0.113.53", "alcatraz.network.dns: 203.0.113.53 ");
	expect_refused(&s, AZ_KEY_DNS, "auto", "alcatraz.network.dns: \"auto\" " WIDENS);
	az_settings_free(&s);

	s = settings("{\"annotations\": \"narrow\"}");	/* dns auto */
	expect_resolves(&s, AZ_KEY_DNS, "auto",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_DNS, "none",
			"enabled=on lan-access= proxy=none dns=none proxy-udp=direct");
	expect_refused(&s, AZ_KEY_DNS, "192.0.2.53", "alcatraz.network.dns: 192.0.2.53 " WIDENS);
	az_settings_free(&s);

	s = settings("{\"annotations\": \"narrow\", \"dns\": \"none\"}");
	expect_resolves(&s, AZ_KEY_DNS, "none",
			"enabled=on lan-access= proxy=none dns=none proxy-udp=direct");
	expect_refused(&s, AZ_KEY_DNS, "auto", "\"auto\" " WIDENS);
	expect_refused(&s, AZ_KEY_DNS, "192.0.2.53", "192.0.2.53 " WIDENS);
	az_settings_free(&s);
}

Test(config_narrow, proxy_udp)
{
	struct az_settings s = settings("{\"annotations\": \"narrow\", \"proxy-udp\": \"block\"}");

	expect_resolves(&s, AZ_KEY_PROXY_UDP, "block",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=block");
	expect_refused(&s, AZ_KEY_PROXY_UDP, "direct",
		       "alcatraz.network.proxy-udp: \"direct\" " WIDENS);
	az_settings_free(&s);

	s = settings("{\"annotations\": \"narrow\"}");
	expect_resolves(&s, AZ_KEY_PROXY_UDP, "direct",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_PROXY_UDP, "block",
			"enabled=on lan-access= proxy=none dns=auto proxy-udp=block");
	az_settings_free(&s);
}

Test(config_narrow, bad_values_are_parse_errors_first)
{
	struct az_settings s = settings(NARROW_FILE);
	expect_refused(&s, AZ_KEY_LAN, "192.168.1.300:8080", "192.168.1.300 is not an IPv4 address");
	az_settings_free(&s);
}

/* ---- ignore ---- */

Test(config_ignore, keys_are_ignored_entirely)
{
	struct az_settings s = settings("{\"isolate\": \"all\", \"annotations\": \"ignore\","
					" \"lan-access\": [\"10.0.0.5:80\"]}");
	struct az_kv kv[] = {
		{ AZ_KEY_ENABLE, "off" },
		{ AZ_KEY_LAN, "*" },
		{ AZ_KEY_PROXY, "garbage" },
		{ "alcatraz.network.unknown", "x" },
		{ AZ_KEY_LAN, "twice" },
	};
	struct az_policy p;
	az_error err = { 0 };

	az_log_stderr = false;
	cr_assert_eq(az_policy_resolve(&s, kv, 5, &p, &err), 0, "%s", err.msg);
	char *t = policy_text(&p);
	cr_expect_str_eq(t, "enabled=on lan-access=10.0.0.5:80 proxy=none dns=auto proxy-udp=direct");
	free(t);
	az_policy_free(&p);
	az_settings_free(&s);

	s = settings("{\"annotations\": \"ignore\"}");
	expect_resolves(&s, AZ_KEY_ENABLE, "on",
			"enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	expect_resolves(&s, AZ_KEY_LAN, "10.0.0.1",
			"enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	az_settings_free(&s);
}

/* ---- copy, free, equality, canonical text ---- */

Test(config_policy, copy_is_deep)
{
	struct az_settings s = settings("{\"lan-access\": [\"10.0.0.1\", \"10.0.0.2:80\"]}");
	struct az_policy a, b;
	az_error err = { 0 };

	cr_assert_eq(az_policy_resolve(&s, NULL, 0, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(az_policy_copy(&b, &a, &err), 0);
	cr_assert_eq(b.lan.n, 2);
	cr_expect_neq(b.lan.v, a.lan.v);
	cr_expect(az_policy_equal(&a, &b));
	b.lan.v[0].net.addr.b[3] = 9;
	cr_expect(!az_policy_equal(&a, &b));
	az_policy_free(&a);
	cr_expect_null(a.lan.v);
	cr_expect_eq(a.lan.n, 0);
	az_policy_free(&b);
	az_policy_free(&b);	/* freeing twice is harmless */
	az_settings_free(&s);
	az_settings_free(&s);
}

Test(config_policy, copy_of_empty)
{
	struct az_policy a = { 0 }, b;
	az_error err = { 0 };

	cr_assert_eq(az_policy_copy(&b, &a, &err), 0);
	cr_expect_null(b.lan.v);
	cr_expect(az_policy_equal(&a, &b));
}

Test(config_policy, equal_ignores_spelling_and_order)
{
	struct az_settings s = settings("{}");
	struct az_kv k1[] = { { AZ_KEY_LAN, "tcp://10.0.0.1:80, [fd00::1]:*, udp://10.0.0.0/8:53" },
			      { AZ_KEY_DNS, "198.51.100.53 192.0.2.53" },
			      { AZ_KEY_PROXY, "[fd00::1]:1 10.0.0.1:1" } };
	struct az_kv k2[] = { { AZ_KEY_PROXY, "10.0.0.1:1,[FD00::1]:1" },
			      { AZ_KEY_DNS, "192.0.2.53,198.51.100.53,192.0.2.53" },
			      { AZ_KEY_LAN, "udp://10.0.0.0/8:53 fd00::1 10.0.0.1:80 10.0.0.1:80" },
			      { AZ_KEY_ENABLE, "yes" } };
	struct az_kv k3[] = { { AZ_KEY_LAN, "tcp://10.0.0.1:81" } };
	struct az_policy a, b, c;
	az_error err = { 0 };

	cr_assert_eq(az_policy_resolve(&s, k1, 3, &a, &err), 0, "%s", err.msg);
	cr_assert_eq(az_policy_resolve(&s, k2, 4, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(az_policy_resolve(&s, k3, 1, &c, &err), 0, "%s", err.msg);
	cr_expect(az_policy_equal(&a, &b));
	cr_expect(!az_policy_equal(&a, &c));
	b.enabled = false;
	cr_expect(!az_policy_equal(&a, &b));
	b.enabled = true;
	b.proxy_udp = AZ_PROXY_UDP_BLOCK;
	cr_expect(!az_policy_equal(&a, &b));
	az_policy_free(&a);
	az_policy_free(&b);
	az_policy_free(&c);
	az_settings_free(&s);
}

/* Every value of the one-line text parses back with the single parsers. */
Test(config_policy, format_parts_reparse)
{
	struct az_settings s = settings("{}");
	struct az_kv kv[] = { { AZ_KEY_LAN, TOKEN ":8080 udp://[fd00::/8]:53 10.0.0.0/8 tcp://10.1.1.1" },
			      { AZ_KEY_DNS, "192.0.2.53 fd00::53" },
			      { AZ_KEY_PROXY, TOKEN ":3128 [fd00::1]:3128" },
			      { AZ_KEY_PROXY_UDP, "block" } };
	struct az_policy p, q = { 0 };
	az_error err = { 0 };

	cr_assert_eq(az_policy_resolve(&s, kv, 4, &p, &err), 0, "%s", err.msg);
	char *line = policy_text(&p), *save = NULL;
	cr_expect_str_eq(line, "enabled=on lan-access=${alca:HOST_IP}:8080,10.0.0.0/8,"
			       "tcp://10.1.1.1,udp://[fd00::/8]:53 proxy=${alca:HOST_IP}:3128,"
			       "[fd00::1]:3128 dns=192.0.2.53,fd00::53 proxy-udp=block");
	for (char *f = strtok_r(line, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
		char *v = strchr(f, '=') + 1;
		if (strncmp(f, "enabled=", 8) == 0)
			cr_assert_eq(az_enable_parse(v, &q.enabled, &err), 0);
		else if (strncmp(f, "lan-access=", 11) == 0)
			cr_assert_eq(az_lan_parse_list(v, &q.lan, &err), 0, "%s", err.msg);
		else if (strncmp(f, "proxy=", 6) == 0)
			cr_assert_eq(az_proxy_parse(v, &q.proxy, &err), 0, "%s", err.msg);
		else if (strncmp(f, "dns=", 4) == 0)
			cr_assert_eq(az_dns_parse(v, &q.dns, &err), 0, "%s", err.msg);
		else if (strncmp(f, "proxy-udp=", 10) == 0)
			cr_assert_eq(az_proxy_udp_parse(v, &q.proxy_udp, &err), 0, "%s", err.msg);
		else
			cr_assert_fail("unexpected field %s", f);
	}
	cr_expect(az_policy_equal(&p, &q));
	free(line);
	az_policy_free(&p);
	az_policy_free(&q);
	az_settings_free(&s);
}

Test(config_policy, format_of_lan_all_and_empty)
{
	struct az_policy p = { 0 };
	char *t = policy_text(&p);
	cr_expect_str_eq(t, "enabled=off lan-access= proxy=none dns=auto proxy-udp=direct");
	free(t);
	p.lan.all = true;
	p.enabled = true;
	p.dns.mode = AZ_DNS_NONE;
	t = policy_text(&p);
	cr_expect_str_eq(t, "enabled=on lan-access=* proxy=none dns=none proxy-udp=direct");
	free(t);
}
