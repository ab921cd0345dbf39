/* alcatraz-apply — the work of the OCI hook.  `alcatraz-apply STAGE` with
 * the OCI state on stdin: createRuntime/prestart apply, poststop removes,
 * other stages log and succeed.  Fails closed at create: any error exits
 * non-zero and the runtime refuses to start the container.
 *
 * The runtime calls alcatraz-hook (hook/client.c), which hands the state to
 * the applier (`alcatraz-apply serve`, this program long-lived: hook/
 * applier.c) or, when none serves, execs this program with the same
 * arguments and the state on stdin.
 */
#include "config/config.h"
#include "hook/applier.h"
#include "hook/discover.h"
#include "rules/rules.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONFIG (16u << 20)

/* Everything the hook needs from the runtime, parsed. */
struct oci_in {
	char id[AZ_ID_MAX + 1];
	long pid;		/* 0 when absent (poststop) */
	char bundle[PATH_MAX];
	size_t n_ann;
	struct az_kv *ann;	/* points into the cJSON tree */
	cJSON *tree;
};

/* What config.json says. */
struct oci_config {
	bool has_netns_entry;	/* linux.namespaces has type network */
	char netns_path[PATH_MAX];	/* "" when the runtime creates it */
	bool net_admin;		/* CAP_NET_ADMIN in any capability set */
	bool net_raw;		/* CAP_NET_RAW in any capability set */
	char resolv_conf[PATH_MAX];	/* host path bind-mounted on /etc/resolv.conf */
};

static void drop_capabilities(void)
{
	/* setns needs CAP_SYS_ADMIN; nftables CAP_NET_ADMIN; /proc/PID/ns of
	 * the container's init needs CAP_SYS_PTRACE; the bundle and the
	 * state dir may need the DAC ones.  Nothing else. */
	static const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE,
					    CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH };
	cap_t c = cap_init();
	if (!c)
		return;
	size_t n = sizeof(keep) / sizeof(keep[0]);
	cap_set_flag(c, CAP_PERMITTED, (int)n, keep, CAP_SET);
	cap_set_flag(c, CAP_EFFECTIVE, (int)n, keep, CAP_SET);
	if (cap_set_proc(c) < 0)
		az_log(LOG_DEBUG, NULL, "cannot drop capabilities: %s", strerror(errno));
	cap_free(c);
}

static int parse_state(const char *text, size_t len, struct oci_in *in, az_error *err)
{
	memset(in, 0, sizeof(*in));
	if (az_json_has_nul(text, len))
		return az_err(err, EINVAL, "the OCI state on stdin holds a NUL byte (raw or as \\u0000)");
	in->tree = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(in->tree))
		return az_err(err, EINVAL, "the OCI state on stdin is not a JSON object");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(in->tree, "id");
	if (!cJSON_IsString(id) || !az_id_valid(id->valuestring))
		return az_err(err, EINVAL, "the OCI state has no valid container id");
	snprintf(in->id, sizeof(in->id), "%s", id->valuestring);
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(in->tree, "pid");
	if (cJSON_IsNumber(pid) && pid->valuedouble > 0 && pid->valuedouble < 1e9)
		in->pid = (long)pid->valuedouble;
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(in->tree, "bundle");
	if (cJSON_IsString(b)) {
		if (strlen(b->valuestring) >= sizeof(in->bundle) || b->valuestring[0] != '/')
			return az_err(err, EINVAL, "the OCI state's bundle is not an absolute path");
		strcpy(in->bundle, b->valuestring);
	}
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(in->tree, "annotations"), *x;
	if (ann && !cJSON_IsObject(ann))
		return az_err(err, EINVAL, "the OCI state's annotations are not an object");
	size_t n = (size_t)cJSON_GetArraySize(ann);
	in->ann = calloc(n ? n : 1, sizeof(*in->ann));
	if (!in->ann)
		return az_err(err, ENOMEM, "out of memory");
	cJSON_ArrayForEach(x, ann) {
		if (!cJSON_IsString(x))
			continue;
		in->ann[in->n_ann].key = x->string;
		in->ann[in->n_ann].value = x->valuestring;
		in->n_ann++;
	}
	return 0;
}

static bool caps_have(const cJSON *caps, const char *name)
{
	const cJSON *set, *c;
	cJSON_ArrayForEach(set, caps) {
		cJSON_ArrayForEach(c, set) {
			if (cJSON_IsString(c) && !strcmp(c->valuestring, name))
				return true;
		}
	}
	return false;
}

/* The text of config.json (path names it in messages); no effect, so that
 * tests/fuzz can feed it. */
static int parse_config_json(const char *text, size_t len, const char *path, struct oci_config *cfg,
			     az_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	if (az_json_has_nul(text, len))
		return az_err(err, EINVAL, "%s holds a NUL byte (raw or as \\u0000)", path);
	cJSON *o = cJSON_ParseWithLength(text, len);
	int r = -1;
	if (!cJSON_IsObject(o)) {
		az_err(err, EINVAL, "%s is not a JSON object", path);
		goto out;
	}
	const cJSON *linux_ = cJSON_GetObjectItemCaseSensitive(o, "linux");
	const cJSON *nss = cJSON_GetObjectItemCaseSensitive(linux_, "namespaces"), *ns;
	cJSON_ArrayForEach(ns, nss) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(ns, "type");
		if (!cJSON_IsString(t) || strcmp(t->valuestring, "network"))
			continue;
		cfg->has_netns_entry = true;
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(ns, "path");
		if (cJSON_IsString(p)) {
			if (strlen(p->valuestring) >= sizeof(cfg->netns_path)) {
				az_err(err, ENAMETOOLONG, "network namespace path too long");
				goto out;
			}
			strcpy(cfg->netns_path, p->valuestring);
		}
	}
	const cJSON *proc = cJSON_GetObjectItemCaseSensitive(o, "process");
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(proc, "capabilities");
	cfg->net_admin = caps_have(caps, "CAP_NET_ADMIN");
	cfg->net_raw = caps_have(caps, "CAP_NET_RAW");
	const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(o, "mounts"), *m;
	cJSON_ArrayForEach(m, mounts) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "destination");
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "source");
		if (cJSON_IsString(d) && cJSON_IsString(s) && !strcmp(d->valuestring, "/etc/resolv.conf") &&
		    strlen(s->valuestring) < sizeof(cfg->resolv_conf))
			strcpy(cfg->resolv_conf, s->valuestring);
	}
	r = 0;
out:
	cJSON_Delete(o);
	return r;
}

static int parse_config(const char *bundle, struct oci_config *cfg, az_error *err)
{
	char path[PATH_MAX];
	char *text = NULL;
	size_t len;
	memset(cfg, 0, sizeof(*cfg));
	if (snprintf(path, sizeof(path), "%s/config.json", bundle) >= (int)sizeof(path))
		return az_err(err, ENAMETOOLONG, "bundle path too long");
	if (az_read_file(path, MAX_CONFIG, &text, &len, err) < 0)
		return az_err_prefix(err, "the container's config.json");
	int r = parse_config_json(text, len, path, cfg, err);
	free(text);
	return r;
}

static int stat_ns(const char *path, struct stat *st, az_error *err)
{
	if (stat(path, st) < 0)
		return az_err_errno(err, "network namespace %s", path);
	return 0;
}

/* Open the container's netns and refuse one that is the runtime's own or
 * pid 1's: rules applied there would hit the host. */
static int open_netns(const struct oci_in *in, const struct oci_config *cfg, struct az_target *t,
		      az_error *err)
{
	char procpath[64];
	struct stat st, viapid;
	const char *path = cfg->netns_path;

	if (in->pid > 0)
		snprintf(procpath, sizeof(procpath), "/proc/%ld/ns/net", in->pid);
	if (!path[0]) {
		if (in->pid <= 0)
			return az_err(err, EINVAL,
				      "the runtime gave no pid and config.json no network namespace path");
		path = procpath;
	}
	if (stat_ns(path, &st, err) < 0)
		return -1;
	if (in->pid > 0 && cfg->netns_path[0]) {
		if (stat_ns(procpath, &viapid, err) < 0)
			return -1;
		if (viapid.st_ino != st.st_ino || viapid.st_dev != st.st_dev)
			return az_err(err, EINVAL,
				      "the state's pid %ld is not in the network namespace config.json names (%s)",
				      in->pid, cfg->netns_path);
	}
	if (az_stat_matches("/proc/self/ns/net", &st))
		return az_err(err, EINVAL,
			      "the container's network namespace is the runtime's own (host network?)");
	if (az_stat_matches("/proc/1/ns/net", &st))
		return az_err(err, EINVAL, "the container's network namespace is the host's (pid 1's)");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return az_err_errno(err, "open %s", path);
	snprintf(t->netns_path, sizeof(t->netns_path), "%s", path);
	t->netns_dev = (uint64_t)st.st_dev;
	t->netns_ino = (uint64_t)st.st_ino;
	return fd;
}

static void read_resolvers(const struct oci_config *cfg, struct az_target *t)
{
	char *text = NULL;
	size_t len;
	az_error e;
	if (!cfg->resolv_conf[0] || az_read_file(cfg->resolv_conf, 1u << 20, &text, &len, &e) < 0)
		return;
	az_parse_resolv_conf(text, t->resolvers, AZ_MAX_RESOLVERS, &t->n_resolvers);
	free(text);
}

/* The container's name, for alcatraz list and watch, from the annotation a
 * runtime puts it in (CRI-O and Podman's CRI-O compatible key, containerd's
 * CRI plugin, nerdctl); none, or one unfit to print, is no error. */
static void container_name(const struct oci_in *in, struct az_target *t)
{
	static const char *const keys[] = { "io.kubernetes.cri-o.ContainerName",
					    "io.kubernetes.container.name", "nerdctl/name" };
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (size_t i = 0; i < in->n_ann; i++)
			if (!strcmp(in->ann[i].key, keys[k]) && az_name_valid(in->ann[i].value)) {
				snprintf(t->name, sizeof(t->name), "%s", in->ann[i].value);
				return;
			}
}

static int create(const struct oci_in *in, az_error *err)
{
	struct az_settings s;
	struct az_policy p;
	struct oci_config cfg;
	int r = -1, fd = -1;

	az_phase("start");
	if (az_settings_load(NULL, &s, err) < 0)
		return -1;
	if (az_policy_resolve(&s, in->ann, in->n_ann, &p, err) < 0) {
		az_settings_free(&s);
		return -1;
	}
	az_settings_free(&s);
	if (!p.enabled) {
		az_policy_free(&p);
		return 0;
	}
	struct az_target *t = calloc(1, sizeof(*t));
	struct az_hostnet *h = calloc(1, sizeof(*h));
	if (!t || !h) {
		az_err(err, ENOMEM, "out of memory");
		goto out;
	}
	snprintf(t->id, sizeof(t->id), "%s", in->id);
	container_name(in, t);
	if (!in->bundle[0]) {
		az_err(err, EINVAL, "the OCI state has no bundle");
		goto out;
	}
	if (parse_config(in->bundle, &cfg, err) < 0)
		goto out;
	if (!cfg.has_netns_entry) {
		az_err(err, EINVAL,
		       "isolation was requested but the container uses the host's network "
		       "(--network host): there is nothing of its own to isolate");
		goto out;
	}
	fd = open_netns(in, &cfg, t, err);
	if (fd < 0)
		goto out;
	az_phase("config");
	if (az_discover_netns(fd, t, err) < 0)
		goto out;
	az_phase("discover");
	read_resolvers(&cfg, t);
	bool host_peer = az_target_has_host_peer(t);
	if (cfg.net_raw && !cfg.net_admin && !host_peer) {
		/* Frames sent on a packet socket skip the netns' own output
		 * hook; only a host-side port (the bridge binding) sees them. */
		az_err(err, EPERM,
		       "the container has CAP_NET_RAW and could send raw frames past the rules in "
		       "its own network namespace; it has no host-side interface where they would "
		       "be filtered (drop it with --cap-drop NET_RAW, or use a bridge network)");
		goto out;
	}
	if (cfg.net_admin && !host_peer) {
		az_err(err, EPERM,
		       "the container has CAP_NET_ADMIN and could remove the rules in its own "
		       "network namespace; it has no host-side interface where rules would be out "
		       "of its reach (drop CAP_NET_ADMIN, or use a bridge network)");
		goto out;
	}
	if (p.proxy.n && !host_peer) {
		az_err(err, EINVAL,
		       "a proxy is set but the container has no host-side interface on a bridge, "
		       "where the redirect to the proxy is made (rootless, macvlan and "
		       "user-namespaced containers, whose network is set up after this hook, "
		       "cannot be proxied)");
		goto out;
	}
	if (az_discover_hostnet(h, err) < 0)
		goto out;
	az_phase("hostnet");
	struct az_features f;
	az_features_detect(&f, err);
	az_phase("features");
	r = az_attach(&p, t, fd, h, &f, err);
	az_phase("attach");
out:
	if (fd >= 0)
		close(fd);
	free(t);
	free(h);
	az_policy_free(&p);
	return r;
}

/* One hook run's work, in this process or in the applier: the exit code. */
static int handle(const char *stage, const char *text, size_t len)
{
	az_error err = { 0 };
	struct oci_in in = { 0 };
	bool create_stage = az_stage_creates(stage);
	bool stop_stage = !strcmp(stage, "poststop");

	if (parse_state(text, len, &in, &err) < 0) {
		az_log(LOG_ERR, NULL, "%s", err.msg);
		cJSON_Delete(in.tree);
		free(in.ann);
		return create_stage ? 1 : 0;
	}
	int rc = 0;
	if (create_stage) {
		if (create(&in, &err) < 0) {
			az_log(LOG_ERR, in.id, "refusing to start the container: %s", err.msg);
			rc = 1;
		}
	} else if (stop_stage) {
		bool removed;
		if (az_detach(in.id, &removed, &err) < 0)
			az_log(LOG_WARNING, in.id, "poststop: %s", err.msg);
		else if (removed)
			az_log(LOG_INFO, in.id, "rules removed");
	} else {
		az_log(LOG_DEBUG, in.id, "stage %s: nothing to do", stage);
	}
	cJSON_Delete(in.tree);
	free(in.ann);
	return rc;
}

int main(int argc, char **argv)
{
	az_error err = { 0 };
	char *text = NULL;
	size_t len = 0;

	if (argc == 2 && !strcmp(argv[1], "serve")) {
		/* the applier: no deadline, it outlives many runs */
		drop_capabilities();
		if (az_applier_serve(handle, &err) < 0) {
			az_log(LOG_ERR, NULL, "applier: %s", err.msg);
			return 1;
		}
		return 0;
	}
	/* Bounded: SIGALRM kills us, the runtime fails closed.  An alarm
	 * survives exec: alcatraz-hook's, when it waited for an applier before
	 * exec'ing this, is kept if sooner. */
	unsigned left = alarm(0);
	alarm(left && left < AZ_HOOK_DEADLINE_S ? left : AZ_HOOK_DEADLINE_S);
	az_timing_init();
	drop_capabilities();
	if (argc != 2) {
		fprintf(stderr, "usage: alcatraz-apply STAGE < state.json\n"
				"  STAGE: createRuntime | prestart (apply), poststop (remove)\n"
				"       alcatraz-apply serve   (the applier, see alcatraz-hook(8))\n");
		return 2;
	}
	const char *stage = argv[1];
	bool create_stage = az_stage_creates(stage);

	/* Read the state to EOF before anything else: the runtime writes it all
	 * at once and may block otherwise. */
	if (az_read_fd(STDIN_FILENO, AZ_HOOK_MAX_STATE, &text, &len, &err) < 0) {
		az_log(LOG_ERR, NULL, "reading the OCI state: %s", err.msg);
		return create_stage ? 1 : 0;
	}
	int rc = handle(stage, text, len);
	free(text);
	return rc;
}
