/* test_plugin.h — shared by the test_plugin_*.c suites: the request bodies
 * recorded from dockerd 20.10 (docs/docker-notes.md, verbatim), fake
 * effects that record what they were asked to do, and a temp state dir.
 *
 * Criterion runs each test in a process of its own, so the globals here are
 * per test.
 */
#ifndef TEST_PLUGIN_H
#define TEST_PLUGIN_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin/plugin.h"

/* Each suite uses a part of what is here. */
#define MAYBE_UNUSED __attribute__((unused))

/* ---- fixtures: verbatim from docs/docker-notes.md ---- */

#define NET1 "1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc"
#define NET_V6_INTERNAL "c1acfcca2831b2352367a333d2ddb932734385a76784c43b5d4d17a439e3b47e"
#define NET_DEFAULT "b7306fc5d6465792c33994888330f815a4143e9ba8a29bda56efca13eb7637fe"
#define NET_V6 "6a020463e74d5e180a3ecab9a18a6678793da8b18e6b58323269fbd3d8e821ae"
#define NET_INTERNAL "0dfafc8297f9fc764df7fc03307ed56b1c8cea7d28bbff94b8d92f84ffe31368"
#define EP_RUN "680454bb4b2758b0bac1f6bf0876ef00090211759a55669d17dd7d07d9bc6575"
#define EP_CONNECT "91d8f8d6c1ab8f003729b788a558a2517c9204d095e44839255fea2d76fe8706"
#define EP_V6 "3837f05bf3022820400afba3907059b62ae2e2216f330e33fd08eea5547b7200"
#define EP_INTERNAL "545634e187ad63f3eaba23cec0a596a0a6df5197a4c1d07bddd4e2ce39bfc1dc"
#define EP_JOIN "72c84cac0272322f9c04008fd59921280a0c7a1193d03dbd062971067b6cf0c0"

/* network create -d N -o foo=bar -o az.x=1 --subnet 10.99.0.0/24 --gateway 10.99.0.1 --label l=v */
static const char MAYBE_UNUSED CREATE_NET1[] =
	"{\"NetworkID\":\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc\",\"Options\":{\"com.docker.network.enable_ipv6\":false,\"com.docker.network.generic\":{\"az.x\":\"1\",\"foo\":\"bar\"}},\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"10.99.0.1/24\",\"Pool\":\"10.99.0.0/24\"}],\"IPv6Data\":[]}";
/* network create -d N --ipv6 --subnet 10.98.0.0/24 --subnet fd00:98::/64 --internal */
static const char MAYBE_UNUSED CREATE_NET_V6_INTERNAL[] =
	"{\"NetworkID\":\"c1acfcca2831b2352367a333d2ddb932734385a76784c43b5d4d17a439e3b47e\",\"Options\":{\"com.docker.network.enable_ipv6\":true,\"com.docker.network.generic\":{},\"com.docker.network.internal\":true},\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"10.98.0.1/24\",\"Pool\":\"10.98.0.0/24\"}],\"IPv6Data\":[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"fd00:98::1/64\",\"Pool\":\"fd00:98::/64\"}]}";
/* network create -d N (default pool) */
static const char MAYBE_UNUSED CREATE_NET_DEFAULT[] =
	"{\"NetworkID\":\"b7306fc5d6465792c33994888330f815a4143e9ba8a29bda56efca13eb7637fe\",\"Options\":{\"com.docker.network.enable_ipv6\":false,\"com.docker.network.generic\":{}},\"IPv4Data\":[{\"AddressSpace\":\"LocalDefault\",\"Gateway\":\"172.18.0.1/16\",\"Pool\":\"172.18.0.0/16\"}],\"IPv6Data\":[]}";
/* run -d --ip 10.99.0.50 -p 8080:80 --network N */
static const char MAYBE_UNUSED CREATE_EP_RUN[] =
	"{\"NetworkID\":\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc\",\"EndpointID\":\"680454bb4b2758b0bac1f6bf0876ef00090211759a55669d17dd7d07d9bc6575\",\"Interface\":{\"Address\":\"10.99.0.50/24\",\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{\"com.docker.network.endpoint.exposedports\":[{\"Proto\":6,\"Port\":80}],\"com.docker.network.portmap\":[{\"Proto\":6,\"IP\":\"\",\"Port\":80,\"HostIP\":\"\",\"HostPort\":8080,\"HostPortEnd\":8080}]}}";
/* network connect --driver-opt k1=v1 N2 C */
static const char MAYBE_UNUSED CREATE_EP_CONNECT[] =
	"{\"NetworkID\":\"b7306fc5d6465792c33994888330f815a4143e9ba8a29bda56efca13eb7637fe\",\"EndpointID\":\"91d8f8d6c1ab8f003729b788a558a2517c9204d095e44839255fea2d76fe8706\",\"Interface\":{\"Address\":\"172.18.0.2/16\",\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{\"com.docker.network.endpoint.exposedports\":[{\"Proto\":6,\"Port\":80}],\"com.docker.network.portmap\":[{\"Proto\":6,\"IP\":\"\",\"Port\":80,\"HostIP\":\"\",\"HostPort\":8080,\"HostPortEnd\":8080}],\"k1\":\"v1\"}}";
/* CreateEndpoint on an IPv6 network, and on an --internal one */
static const char MAYBE_UNUSED CREATE_EP_V6[] =
	"{\"NetworkID\":\"6a020463e74d5e180a3ecab9a18a6678793da8b18e6b58323269fbd3d8e821ae\",\"EndpointID\":\"3837f05bf3022820400afba3907059b62ae2e2216f330e33fd08eea5547b7200\",\"Interface\":{\"Address\":\"10.97.0.2/24\",\"AddressIPv6\":\"fd00:97::2/64\",\"MacAddress\":\"\"},\"Options\":{\"com.docker.network.endpoint.exposedports\":[],\"com.docker.network.portmap\":[]}}";
static const char MAYBE_UNUSED CREATE_EP_INTERNAL[] =
	"{\"NetworkID\":\"0dfafc8297f9fc764df7fc03307ed56b1c8cea7d28bbff94b8d92f84ffe31368\",\"EndpointID\":\"545634e187ad63f3eaba23cec0a596a0a6df5197a4c1d07bddd4e2ce39bfc1dc\",\"Interface\":{\"Address\":\"10.96.0.2/24\",\"AddressIPv6\":\"\",\"MacAddress\":\"\"},\"Options\":{}}";
/* Join of a new container (SandboxKey did not exist yet) */
static const char MAYBE_UNUSED JOIN[] =
	"{\"NetworkID\":\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc\",\"EndpointID\":\"72c84cac0272322f9c04008fd59921280a0c7a1193d03dbd062971067b6cf0c0\",\"SandboxKey\":\"/run/azc29bed/x/netns/13f41fca566d\",\"Options\":{\"com.docker.network.endpoint.exposedports\":[],\"com.docker.network.portmap\":[]}}";
/* ProgramExternalConnectivity (same Options as Join) */
static const char MAYBE_UNUSED PROGRAM[] =
	"{\"NetworkID\":\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc\",\"EndpointID\":\"680454bb4b2758b0bac1f6bf0876ef00090211759a55669d17dd7d07d9bc6575\",\"Options\":{\"com.docker.network.endpoint.exposedports\":[{\"Proto\":6,\"Port\":80}],\"com.docker.network.portmap\":[{\"Proto\":6,\"IP\":\"\",\"Port\":80,\"HostIP\":\"\",\"HostPort\":8080,\"HostPortEnd\":8080}]}}";
/* the same without published ports (docker run without -p) */
static const char MAYBE_UNUSED PROGRAM_NO_PORTS[] =
	"{\"NetworkID\":\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc\",\"EndpointID\":\"680454bb4b2758b0bac1f6bf0876ef00090211759a55669d17dd7d07d9bc6575\",\"Options\":{\"com.docker.network.endpoint.exposedports\":[],\"com.docker.network.portmap\":[]}}";
/* EndpointOperInfo / Revoke / Leave / DeleteEndpoint (ids only) */
static const char MAYBE_UNUSED EP_IDS[] =
	"{\"NetworkID\":\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc\",\"EndpointID\":\"72c84cac0272322f9c04008fd59921280a0c7a1193d03dbd062971067b6cf0c0\"}";
/* DeleteNetwork */
static const char MAYBE_UNUSED NET_IDS[] = "{\"NetworkID\":\"1db3e1737f660270b69f73296dbd4f24f5d5b2cea112a21d39abeb4f99b37edc\"}";

/* ---- text helpers ---- */

/* What the helpers below return lives until the test ends (tmp_teardown),
 * so that the sanitizer build reports only the code under test. */
#define ARENA_MAX 8192
static void *arena[ARENA_MAX] MAYBE_UNUSED;
static size_t n_arena MAYBE_UNUSED;
static pthread_mutex_t arena_lock MAYBE_UNUSED = PTHREAD_MUTEX_INITIALIZER;

static inline void *keep(void *p)
{
	pthread_mutex_lock(&arena_lock);
	if (n_arena < ARENA_MAX)
		arena[n_arena++] = p;
	pthread_mutex_unlock(&arena_lock);
	return p;
}

static inline void arena_free(void)
{
	while (n_arena)
		free(arena[--n_arena]);
}

/* A copy of s with every "from" replaced by "to" (leaked: tests are short). */
static inline char *subst(const char *s, const char *from, const char *to)
{
	struct az_buf b;
	size_t lf = strlen(from);
	const char *p;

	az_buf_init(&b);
	while ((p = strstr(s, from))) {
		az_buf_append(&b, s, (size_t)(p - s));
		az_buf_append(&b, to, strlen(to));
		s = p + lf;
	}
	az_buf_append(&b, s, strlen(s));
	return keep(az_buf_steal(&b));
}

static inline char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static inline char *fmt(const char *f, ...)
{
	struct az_buf b;
	va_list ap;

	az_buf_init(&b);
	va_start(ap, f);
	az_buf_vprintf(&b, f, ap);
	va_end(ap);
	return keep(az_buf_steal(&b));
}

/* ---- fake effects ---- */

#define FAKE_MAX_CALLS 64

struct fake {
	size_t n;
	char calls[FAKE_MAX_CALLS][256];	/* "network_create az1db3e1737f66" */
	char policy[FAKE_MAX_CALLS][512];	/* rules_apply: canonical policy text */
	const char *fail;			/* the op that fails, or NULL */
};
static struct fake fake MAYBE_UNUSED;

static inline void fake_record(const char *line, const struct az_policy *p)
{
	cr_assert_lt(fake.n, FAKE_MAX_CALLS, "too many calls");
	snprintf(fake.calls[fake.n], sizeof(fake.calls[0]), "%s", line);
	fake.policy[fake.n][0] = '\0';
	if (p) {
		struct az_buf b;
		az_buf_init(&b);
		cr_assert_eq(az_policy_format(p, &b), 0);
		snprintf(fake.policy[fake.n], sizeof(fake.policy[0]), "%s", b.data);
		az_buf_free(&b);
	}
	fake.n++;
}

static inline int fake_result(const char *op, az_error *err)
{
	if (fake.fail && !strcmp(fake.fail, op))
		return az_err(err, EIO, "%s failed on purpose", op);
	return 0;
}

static inline int fake_network_create(const struct pl_network *n, az_error *err)
{
	char line[256];
	snprintf(line, sizeof(line), "network_create %s", n->bridge);
	fake_record(line, NULL);
	return fake_result("network_create", err);
}

static inline int fake_network_delete(const struct pl_network *n, az_error *err)
{
	char line[256];
	snprintf(line, sizeof(line), "network_delete %s", n->bridge);
	fake_record(line, NULL);
	return fake_result("network_delete", err);
}

static inline int fake_endpoint_create(const struct pl_network *n, const struct pl_endpoint *e,
				       az_error *err)
{
	char line[256];
	snprintf(line, sizeof(line), "endpoint_create %s %s %s", n->bridge, e->host_if, e->ctr_if);
	fake_record(line, NULL);
	return fake_result("endpoint_create", err);
}

static inline int fake_endpoint_delete(const struct pl_endpoint *e, az_error *err)
{
	char line[256];
	snprintf(line, sizeof(line), "endpoint_delete %s", e->host_if);
	fake_record(line, NULL);
	return fake_result("endpoint_delete", err);
}

static inline int fake_rules_apply(const struct pl_network *n, const struct pl_endpoint *e,
				   const struct az_policy *p, az_error *err)
{
	char line[256];
	snprintf(line, sizeof(line), "rules_apply %s %s", n->bridge, e->host_if);
	fake_record(line, p);
	return fake_result("rules_apply", err);
}

static inline int fake_rules_remove(const struct pl_endpoint *e, az_error *err)
{
	char line[256];
	snprintf(line, sizeof(line), "rules_remove %s", e->host_if);
	fake_record(line, NULL);
	return fake_result("rules_remove", err);
}

static const struct pl_ops fake_ops MAYBE_UNUSED = {
	.network_create = fake_network_create,
	.network_delete = fake_network_delete,
	.endpoint_create = fake_endpoint_create,
	.endpoint_delete = fake_endpoint_delete,
	.rules_apply = fake_rules_apply,
	.rules_remove = fake_rules_remove,
};

/* The calls so far, one per line, for messages. */
static inline const char *fake_calls(void)
{
	static char all[FAKE_MAX_CALLS * 260];
	all[0] = '\0';
	for (size_t i = 0; i < fake.n; i++) {
		strcat(all, fake.calls[i]);
		strcat(all, "\n");
	}
	return all;
}

#define expect_calls(...)                                                                   \
	do {                                                                                \
		const char *const want_[] = { __VA_ARGS__ };                          \
		size_t nw_ = sizeof(want_) / sizeof(want_[0]);                              \
		cr_expect_eq(fake.n, nw_, "calls:\n%s", fake_calls());                      \
		for (size_t i_ = 0; i_ < nw_ && i_ < fake.n; i_++)                          \
			cr_expect_str_eq(fake.calls[i_], want_[i_], "call %zu", i_);         \
	} while (0)

#define expect_no_calls() cr_expect_eq(fake.n, 0, "calls:\n%s", fake_calls())

/* ---- a driver in a temp state dir ---- */

static char tmp_dir[64] MAYBE_UNUSED;
static char state_dir[128] MAYBE_UNUSED;
static char config_path[128] MAYBE_UNUSED;

static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static inline void tmp_setup(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/azplugin.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp_dir));
	snprintf(state_dir, sizeof(state_dir), "%s/state", tmp_dir);
	snprintf(config_path, sizeof(config_path), "%s/alcatraz.json", tmp_dir);
	/* No file: built-in defaults, like a fresh install. */
	setenv("ALCATRAZ_CONFIG", config_path, 1);
	az_log_stderr = false;
	memset(&fake, 0, sizeof(fake));
}

static inline void tmp_teardown(void)
{
	nftw(tmp_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	arena_free();
}

static inline void write_config(const char *json)
{
	az_error err = { 0 };
	cr_assert_eq(az_write_file_atomic(config_path, json, strlen(json), 0644, &err), 0, "%s",
		     err.msg);
}

static inline void driver_up(struct pl_driver *d)
{
	az_error err = { 0 };
	cr_assert_eq(pl_driver_init(d, &fake_ops, state_dir, &err), 0, "%s", err.msg);
}

static inline bool record_exists(const char *kind, const char *id)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%ss/%s.json", state_dir, kind, id);
	return access(p, F_OK) == 0;
}

/* ---- calls and replies ---- */

struct reply {
	int status;
	char *text;
	cJSON *json;
};

static inline struct reply call(struct pl_driver *d, const char *method, const char *body)
{
	struct reply r = { 0 };
	char path[128];

	snprintf(path, sizeof(path), "/%s", method);
	r.text = pl_driver_call(d, path, body, body ? strlen(body) : 0, &r.status);
	cr_assert_not_null(r.text);
	r.json = cJSON_Parse(r.text);
	cr_assert(cJSON_IsObject(r.json), "%s: reply is not a JSON object: %s", method, r.text);
	return r;
}

static inline const char *reply_err(const struct reply *r)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "Err");
	return cJSON_IsString(e) ? e->valuestring : NULL;
}

/* The call succeeds with exactly this reply (compared as JSON). */
static inline void expect_ok(struct pl_driver *d, const char *method, const char *body,
			     const char *want)
{
	struct reply r = call(d, method, body);
	cJSON *w = cJSON_Parse(want);

	cr_assert_not_null(w, "bad expected JSON %s", want);
	cr_expect_eq(r.status, 200, "%s: status %d", method, r.status);
	cr_expect(cJSON_Compare(r.json, w, true), "%s: reply %s, expected %s", method, r.text, want);
	cJSON_Delete(w);
	cJSON_Delete(r.json);
	free(r.text);
}

/* The call fails with status 200 and an Err holding each of the texts. */
#define expect_err(d, method, body, ...)                                                   \
	do {                                                                               \
		struct reply r_ = call((d), (method), (body));                             \
		const char *e_ = reply_err(&r_);                                            \
		const char *const has_[] = { __VA_ARGS__ };                          \
		cr_expect_eq(r_.status, 200, "%s: status %d", (method), r_.status);        \
		cr_expect_not_null(e_, "%s: no Err in %s", (method), r_.text);              \
		cr_expect_eq(cJSON_GetArraySize(r_.json), 1, "%s: more than Err: %s", (method), \
			     r_.text);                                                      \
		for (size_t k_ = 0; e_ && k_ < sizeof(has_) / sizeof(has_[0]); k_++)        \
			cr_expect(strstr(e_, has_[k_]) != NULL, "%s: Err \"%s\" lacks \"%s\"", \
				  (method), e_, has_[k_]);                                  \
		cJSON_Delete(r_.json);                                                      \
		free(r_.text);                                                              \
	} while (0)

#endif
