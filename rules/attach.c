/* Attachments: apply + record, remove, collect, restore. */
#include "rules/state.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static void path_of(char *buf, size_t cap, const char *sub, const char *name)
{
	snprintf(buf, cap, "%s/%s/%s.json", az_state_dir(), sub, name);
}

/* An attachment is keyed by its netns; one without a netns (a Docker
 * endpoint, whose netns does not exist yet at Join) by its id. */
static void key_of(const struct az_target *t, char key[64])
{
	if (!t->netns_path[0])
		snprintf(key, 64, "ep-%.40s", t->id);
	else
		snprintf(key, 64, "%llx-%llx", (unsigned long long)t->netns_dev,
			 (unsigned long long)t->netns_ino);
}

static bool netns_alive(const struct az_target *t)
{
	struct stat st;
	if (!t->netns_path[0] || stat(t->netns_path, &st) < 0)
		return false;
	return (uint64_t)st.st_dev == t->netns_dev && (uint64_t)st.st_ino == t->netns_ino;
}

/* Alive: its netns exists, or — without a netns — its host interfaces do
 * (the plugin deletes them with the endpoint). */
static bool target_alive(const struct az_target *t)
{
	if (t->netns_path[0])
		return netns_alive(t);
	bool any = false;
	for (size_t i = 0; i < t->n_if; i++) {
		if (!t->ifs[i].host_ifname[0])
			continue;
		if (!if_nametoindex(t->ifs[i].host_ifname))
			return false;
		any = true;
	}
	return any;
}

static int read_record(const char *key, struct az_attachment *a, az_error *err)
{
	char path[PATH_MAX];
	char *text = NULL;
	size_t len;
	path_of(path, sizeof(path), "netns", key);
	if (az_read_file(path, 1u << 20, &text, &len, err) < 0)
		return -1;
	int r = az_record_parse(text, len, a, err);
	free(text);
	if (r < 0)
		return az_err_prefix(err, "state record %s", path);
	a->alive = target_alive(&a->target);
	return 0;
}

static int write_record(const struct az_attachment *a, az_error *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/netns", az_state_dir());
	if (az_mkdir_p(dir, 0700, err) < 0)
		return -1;
	path_of(path, sizeof(path), "netns", a->key);
	char *s = az_record_format(a);
	if (!s)
		return az_err(err, ENOMEM, "out of memory");
	int r = az_write_file_replace(path, s, strlen(s), 0600, err);
	free(s);
	return r;
}

static int write_member(const char *id, const char *key, az_error *err)
{
	char path[PATH_MAX], dir[PATH_MAX], body[128];
	snprintf(dir, sizeof(dir), "%s/containers", az_state_dir());
	if (az_mkdir_p(dir, 0700, err) < 0)
		return -1;
	path_of(path, sizeof(path), "containers", id);
	int n = snprintf(body, sizeof(body), "{\"netns\": \"%s\"}\n", key);
	return az_write_file_replace(path, body, (size_t)n, 0600, err);
}

/* The attachment key of container id, or -ENOENT. */
static int member_key(const char *id, char key[64], az_error *err)
{
	char path[PATH_MAX];
	char *text = NULL;
	size_t len;
	path_of(path, sizeof(path), "containers", id);
	if (az_read_file(path, 4096, &text, &len, err) < 0)
		return err->code == ENOENT ? -ENOENT : -1;
	cJSON *o = cJSON_ParseWithLength(text, len);
	free(text);
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "netns");
	int r = -1;
	/* "<dev hex>-<ino hex>", or "ep-<id>" (key_of) */
	const char *kv = cJSON_IsString(k) ? k->valuestring : "";
	const char *tail = !strncmp(kv, "ep-", 3) ? kv + 3 : kv;
	bool ok = tail == kv ? strspn(kv, "0123456789abcdef-") == strlen(kv) : az_id_valid(tail);
	if (*kv && strlen(kv) < 64 && ok) {
		strcpy(key, k->valuestring);
		r = 0;
	} else {
		az_err(err, EINVAL, "state record %s is damaged", path);
	}
	cJSON_Delete(o);
	return r;
}

static void unlink_record(const char *sub, const char *name)
{
	char path[PATH_MAX];
	path_of(path, sizeof(path), sub, name);
	unlink(path);
}

/* Both host tables exist.  "list tables" fetches no set elements, so this
 * costs the same with one container or a thousand. */
bool az_host_layer_present(void)
{
	az_error e;
	char *out = NULL;
	if (az_nft_query(-1, "list tables", false, &out, &e) < 0)
		return false;
	bool yes = strstr(out, "table inet " AZ_TABLE "\n") && strstr(out, "table bridge " AZ_TABLE "\n");
	free(out);
	return yes;
}

enum host_state { HOST_ABSENT, HOST_CURRENT, HOST_STALE };

/* Is the host layer in the kernel exactly the one this binary makes?  Its
 * marker chain (az_render_layout_id) answers with one "list chains", which
 * fetches no rules and no set elements. */
static enum host_state host_state(const struct az_features *f)
{
	char id[32], mark[48];
	char *out = NULL;
	az_error e;
	if (az_render_layout_id(f, id) < 0 || az_nft_query(-1, "list chains", false, &out, &e) < 0)
		return HOST_STALE;
	snprintf(mark, sizeof(mark), "\tchain %s {", id);
	bool tbl[2] = { false, false }, marked[2] = { false, false };
	int cur = -1;
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, "table ", 6)) {
			cur = !strcmp(l, "table inet " AZ_TABLE " {")	  ? 0
			      : !strcmp(l, "table bridge " AZ_TABLE " {") ? 1
									    : -1;
			if (cur >= 0)
				tbl[cur] = true;
		} else if (cur >= 0 && !strcmp(l, mark)) {
			marked[cur] = true;
		}
	}
	free(out);
	if (!tbl[0] && !tbl[1])
		return HOST_ABSENT;
	return marked[0] && marked[1] ? HOST_CURRENT : HOST_STALE;
}

/* rebuild: replace both host tables (atomically, in the same transaction)
 * with a fresh skeleton and the elements of v — after a flush, an upgrade,
 * or when a table of another shape holds our name.  Otherwise the fixed
 * chains are left alone: rewriting them on every start would cost a kernel
 * commit of every chain each time. */
static int host_apply(const struct az_attachment *const *v, size_t n, const struct az_hostnet *h,
		      const struct az_features *f, bool rebuild, bool claim_first, az_error *err)
{
	struct az_buf b, hn;
	az_buf_init(&b);
	az_buf_init(&hn);
	char cache[PATH_MAX];
	snprintf(cache, sizeof(cache), "%s/hostnet", az_state_dir());
	int r = -1;
	if (rebuild)
		az_buf_printf(&b, "table inet " AZ_TABLE "\ndelete table inet " AZ_TABLE "\n"
				  "table bridge " AZ_TABLE "\ndelete table bridge " AZ_TABLE "\n");
	if ((rebuild && az_render_host_skeleton(f, &b) < 0) ||
	    (!rebuild && az_render_host_assert(f, &b) < 0) ||
	    (h && az_render_host_hostnet(h, &hn) < 0)) {
		az_err(err, ENOMEM, "out of memory");
		goto out;
	}
	/* The host's networks rarely change, and refilling their sets is a
	 * deletion (see AZ_NETNS_CREATE for what that costs): refill only
	 * when they differ from what the last transaction put there. */
	bool hostnet_new = false;
	if (h) {
		char *old = NULL;
		size_t len = 0;
		az_error ignored;
		hostnet_new = rebuild || az_read_file(cache, 1u << 20, &old, &len, &ignored) < 0 ||
			      len != hn.len || memcmp(old, hn.data, len);
		free(old);
		if (hostnet_new) {
			unlink(cache);
			az_buf_append(&b, hn.data, hn.len);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (az_target_has_host_peer(&v[i]->target) &&
		    az_render_host_elements(&v[i]->policy, &v[i]->target,
					    i == 0 && claim_first ? AZ_ELEM_CREATE : AZ_ELEM_ADD, &b,
					    err) < 0)
			goto out;
	r = b.len ? az_nft_run(-1, b.data, err) : 0;
	if (r < 0) {
		az_err_prefix(err, "host rules");
	} else if (hostnet_new) {
		az_error ignored;
		az_write_file_replace(cache, hn.data, hn.len, 0600, &ignored);
	}
out:
	az_buf_free(&b);
	az_buf_free(&hn);
	return r;
}

/* Remove the host elements of an attachment.  Tolerates a flushed ruleset
 * and elements already gone. */
static void host_remove(const struct az_attachment *a)
{
	if (!az_target_has_host_peer(&a->target))
		return;
	struct az_features f;
	az_error e;
	az_features_detect(&f, &e);
	struct az_buf b;
	az_buf_init(&b);
	/* One transaction that also requires the host layer to be this
	 * version's (az_render_host_assert), nothing asked before. */
	if (az_render_host_assert(&f, &b) < 0 ||
	    az_render_host_elements(&a->policy, &a->target, AZ_ELEM_DELETE, &b, &e) < 0)
		goto out;
	if (az_nft_run(-1, b.data, &e) == 0)
		goto out;
	/* Missing: nothing to remove.  Not ours: the next start rebuilds it
	 * without this container; deleting from it could misparse. */
	if (host_state(&f) != HOST_CURRENT)
		goto out;
	/* Something was already gone: delete line by line. */
	for (char *line = strtok(b.data, "\n"); line; line = strtok(NULL, "\n"))
		az_nft_run(-1, line, &e);
out:
	az_buf_free(&b);
}

static void netns_remove(const struct az_attachment *a)
{
	if (!netns_alive(&a->target))
		return;
	int fd = open(a->target.netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	az_error e;
	az_nft_run(fd, "table inet " AZ_TABLE "\ndelete table inet " AZ_TABLE "\n", &e);
	close(fd);
}

static void remove_attachment(struct az_attachment *a)
{
	host_remove(a);
	netns_remove(a);
	for (size_t i = 0; i < a->n_members; i++)
		unlink_record("containers", a->members[i]);
	unlink_record("netns", a->key);
}

/* A writer killed between creating "<file>.tmp.<pid>" and renaming it over
 * <file> (az_write_file_replace) leaves the temporary behind, and nothing
 * else would ever remove it.  Only a dead writer's: a live one is mid-write. */
static void sweep_tmp(const char *sub)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s%s%s", az_state_dir(), *sub ? "/" : "", sub);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *t = strstr(de->d_name, ".tmp.");
		char *end;
		if (!t || !t[5])
			continue;
		long pid = strtol(t + 5, &end, 10);
		if (!*end && pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int gc_locked(size_t *removed, az_error *err)
{
	char dir[PATH_MAX];
	sweep_tmp("");
	sweep_tmp("netns");
	sweep_tmp("containers");
	snprintf(dir, sizeof(dir), "%s/netns", az_state_dir());
	DIR *d = opendir(dir);
	*removed = 0;
	if (!d)
		return errno == ENOENT ? 0 : az_err_errno(err, "open %s", dir);
	struct dirent *de;
	while ((de = readdir(d))) {
		char key[64];
		size_t l = strlen(de->d_name);
		if (l < 6 || l - 5 >= sizeof(key) || strcmp(de->d_name + l - 5, ".json"))
			continue;
		memcpy(key, de->d_name, l - 5);
		key[l - 5] = '\0';
		struct az_attachment *a = calloc(1, sizeof(*a));
		az_error e;
		if (!a)
			break;
		if (read_record(key, a, &e) < 0) {
			/* unreadable: nothing to undo from it */
			az_log(LOG_WARNING, NULL, "%s; removing it", e.msg);
			unlink_record("netns", key);
		} else if (!a->alive) {
			remove_attachment(a);
			(*removed)++;
		}
		az_policy_free(&a->policy);
		free(a);
	}
	closedir(d);
	return 0;
}

/* Collecting reads every record: with a thousand containers that is most
 * of a hook's time.  The hook needs it only when a dead container's element
 * is in the way of a new one (host_apply_claiming), so it collects then, and
 * otherwise at most every AZ_GC_INTERVAL_S, to keep the state dir tidy. */
#define AZ_GC_INTERVAL_S 300

static void stamp_path(char path[PATH_MAX])
{
	snprintf(path, PATH_MAX, "%s/gc.stamp", az_state_dir());
}

static void stamp_gc(void)
{
	char path[PATH_MAX];
	stamp_path(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
}

static void gc_if_due(az_error *err)
{
	char path[PATH_MAX];
	struct stat st;
	struct timespec now;
	stamp_path(path);
	clock_gettime(CLOCK_REALTIME, &now);
	if (stat(path, &st) == 0 && st.st_mtim.tv_sec <= now.tv_sec &&
	    now.tv_sec - st.st_mtim.tv_sec < AZ_GC_INTERVAL_S)
		return;
	size_t gone;
	gc_locked(&gone, err);
	stamp_gc();
}

int az_gc(size_t *removed, az_error *err)
{
	int lock = az_state_lock(az_state_dir(), err);
	if (lock < 0)
		return -1;
	int r = gc_locked(removed, err);
	if (r == 0)
		stamp_gc();
	close(lock);
	return r;
}

static int detach_locked(const char *id, bool *removed, az_error *err)
{
	char key[64];
	*removed = false;
	int r = member_key(id, key, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		unlink_record("containers", id);
		return -1;
	}
	struct az_attachment *a = calloc(1, sizeof(*a));
	if (!a)
		return az_err(err, ENOMEM, "out of memory");
	if (read_record(key, a, err) < 0) {
		unlink_record("containers", id);
		free(a);
		return err->code == ENOENT ? 0 : -1;
	}
	size_t w = 0;
	for (size_t i = 0; i < a->n_members; i++)
		if (strcmp(a->members[i], id))
			memmove(a->members[w++], a->members[i], AZ_ID_MAX + 1);
	a->n_members = w;
	r = 0;
	if (w == 0) {
		remove_attachment(a);
		*removed = true;
	} else {
		r = write_record(a, err);
	}
	unlink_record("containers", id);
	az_policy_free(&a->policy);
	free(a);
	return r;
}

int az_detach(const char *id, bool *removed, az_error *err)
{
	if (!az_id_valid(id))
		return az_err(err, EINVAL, "invalid container id");
	int lock = az_state_lock(az_state_dir(), err);
	if (lock < 0)
		return -1;
	int r = detach_locked(id, removed, err);
	close(lock);
	return r;
}

static int join_existing(struct az_attachment *a, const struct az_policy *p, const char *id,
			 az_error *err)
{
	if (!az_policy_equal(&a->policy, p)) {
		struct az_buf mine, theirs;
		az_buf_init(&mine);
		az_buf_init(&theirs);
		az_policy_format(p, &mine);
		az_policy_format(&a->policy, &theirs);
		az_err(err, EINVAL,
		       "this container shares its network namespace with container %s, whose "
		       "alcatraz settings differ (%s, here: %s); give both the same settings",
		       a->members[0], theirs.data ? theirs.data : "", mine.data ? mine.data : "");
		az_buf_free(&mine);
		az_buf_free(&theirs);
		return -1;
	}
	for (size_t i = 0; i < a->n_members; i++)
		if (!strcmp(a->members[i], id))
			return 0;
	if (a->n_members >= AZ_MAX_MEMBERS)
		return az_err(err, ENOSPC, "more than %d containers share this network namespace",
			      AZ_MAX_MEMBERS);
	snprintf(a->members[a->n_members++], AZ_ID_MAX + 1, "%s", id);
	if (write_record(a, err) < 0 || write_member(id, a->key, err) < 0)
		return -1;
	return 0;
}

/* Build the host layer anew from the records, with a's elements in it
 * (a need not be recorded yet): after a host "nft flush ruleset", an
 * upgrade, or a foreign table of our name — every hook start repairs them. */
static int host_rebuild_with(const struct az_attachment *a, const struct az_hostnet *h,
			     const struct az_features *f, az_error *err)
{
	struct az_attachment *all = NULL;
	size_t n = 0, k = 0;
	if (az_attachments_read(&all, &n, err) < 0)
		return -1;
	const struct az_attachment **pv = calloc(n + 1, sizeof(*pv));
	if (!pv) {
		az_attachments_free(all, n);
		return az_err(err, ENOMEM, "out of memory");
	}
	pv[k++] = a;
	for (size_t i = 0; i < n; i++)
		if (all[i].alive && strcmp(all[i].key, a->key) && az_target_has_host_peer(&all[i].target))
			pv[k++] = &all[i];
	if (k > 1)
		az_log(LOG_WARNING, a->target.id,
		       "the host rules were missing or not of this version (ruleset flushed? "
		       "upgrade?): rebuilt them, for %zu other container(s) too", k - 1);
	int r = host_apply(pv, k, h, f, true, false, err);
	free(pv);
	az_attachments_free(all, n);
	return r;
}

/* Add a new attachment's host elements, claiming its addresses and host
 * interfaces, in one transaction that also requires the host layer to be
 * this version's (az_render_host_assert): nothing is asked before.  When it
 * fails, find out why:
 *   - the host layer is missing or not ours: rebuild it from the records;
 *   - a claim is refused ("File exists"): a container that died without its
 *     poststop hook still holds the address — collect the dead, try again;
 *     an element that no record explains: rebuild. */
static int host_apply_claiming(const struct az_attachment *a, const struct az_hostnet *h,
			       const struct az_features *f, az_error *err)
{
	const struct az_attachment *one[1] = { a };
	if (host_apply(one, 1, h, f, false, true, err) == 0)
		return 0;
	if (host_state(f) != HOST_CURRENT)
		return host_rebuild_with(a, h, f, err);
	if (!strstr(err->msg, "File exists"))
		return -1;
	size_t gone;
	gc_locked(&gone, err);
	stamp_gc();
	az_log(LOG_INFO, a->target.id, "an address or interface of this container was still held "
	       "by one that had stopped unseen; collected %zu such", gone);
	if (host_apply(one, 1, h, f, false, true, err) == 0)
		return 0;
	if (!strstr(err->msg, "File exists"))
		return -1;
	az_log(LOG_WARNING, a->target.id, "host elements that no state record explains hold an "
	       "address of this container: rebuilding the host rules");
	return host_rebuild_with(a, h, f, err);
}

/* A new attachment's netns normally has no table of ours: create it with a
 * transaction that only adds (see AZ_NETNS_CREATE).  A table left there (a
 * netns reused after a crash) makes that fail; then replace it. */
static int netns_apply_fresh(const struct az_policy *p, const struct az_target *t,
			     const struct az_hostnet *h, int netns_fd, struct az_buf *create,
			     az_error *err)
{
	if (az_nft_run(netns_fd, create->data, err) == 0)
		return 0;
	struct az_buf b;
	az_buf_init(&b);
	int r = az_render_netns(p, t, h, AZ_NETNS_REPLACE, &b, err);
	if (r == 0)
		r = az_nft_run(netns_fd, b.data, err);
	az_buf_free(&b);
	return r;
}

/* Whether the attachment recorded for this netns is whole: attach_locked
 * writes the netns table last.  A live record without it is stale — a hook
 * killed mid-apply in a netns that outlived it (a pod's), or a dead
 * container whose netns path and inode number (the kernel reuses a freed
 * one at once) this container got — and must not be joined: that would
 * start this container with no rules at all. */
static bool netns_complete(int netns_fd)
{
	char *out = NULL;
	az_error e;
	if (netns_fd < 0)
		return true;
	if (az_nft_query(netns_fd, "list tables", false, &out, &e) < 0)
		return false;
	bool yes = strstr(out, "table inet " AZ_TABLE "\n") != NULL;
	free(out);
	return yes;
}

static int attach_locked(const struct az_policy *p, const struct az_target *t, int netns_fd,
			 const struct az_hostnet *h, const struct az_features *f, az_error *err)
{
	char key[64], oldkey[64];
	bool removed;
	gc_if_due(err);
	key_of(t, key);

	int r = member_key(t->id, oldkey, err);
	if (r == 0 && strcmp(oldkey, key))
		detach_locked(t->id, &removed, err);

	struct az_attachment *a = calloc(1, sizeof(*a));
	if (!a)
		return az_err(err, ENOMEM, "out of memory");
	r = read_record(key, a, err);
	if (r == 0 && a->alive && netns_complete(netns_fd)) {
		r = join_existing(a, p, t->id, err);
		az_policy_free(&a->policy);
		free(a);
		return r;
	}
	if (r == 0) {
		remove_attachment(a);
		az_policy_free(&a->policy);
	}
	memset(a, 0, sizeof(*a));
	az_phase("records");

	/* Render everything before touching anything. */
	struct az_buf ns;
	az_buf_init(&ns);
	r = -1;
	if (az_render_netns(p, t, h, AZ_NETNS_CREATE, &ns, err) < 0)
		goto out;
	az_phase("render");
	snprintf(a->key, sizeof(a->key), "%s", key);
	a->target = *t;
	if (az_policy_copy(&a->policy, p, err) < 0)
		goto out;
	a->n_members = 1;
	snprintf(a->members[0], AZ_ID_MAX + 1, "%s", t->id);
	/* Record first: a crash from here on leaves something gc can undo. */
	if (write_record(a, err) < 0 || write_member(t->id, key, err) < 0) {
		az_err_prefix(err, "state");
		goto undo;
	}
	az_phase("write");
	/* The netns table last: it is there only when the whole attachment
	 * is (netns_complete). */
	if (az_target_has_host_peer(t) && host_apply_claiming(a, h, f, err) < 0)
		goto undo;
	az_phase("host_txn");
	if (netns_fd >= 0 && netns_apply_fresh(p, t, h, netns_fd, &ns, err) < 0) {
		az_err_prefix(err, "rules in the container's network namespace");
		goto undo;
	}
	az_phase("netns_txn");
	r = 0;
	goto out;
undo:
	remove_attachment(a);
out:
	az_buf_free(&ns);
	az_policy_free(&a->policy);
	free(a);
	return r;
}

static int reattach_locked(const struct az_policy *p, const struct az_target *t, int netns_fd,
			   const struct az_hostnet *h, const struct az_features *f, az_error *err)
{
	char key[64];
	key_of(t, key);
	struct az_attachment *a = calloc(1, sizeof(*a));
	struct az_attachment *next = calloc(1, sizeof(*next));
	struct az_buf b, ns;
	az_buf_init(&b);
	az_buf_init(&ns);
	int r = -1;
	if (!a || !next) {
		az_err(err, ENOMEM, "out of memory");
		goto out;
	}
	if (read_record(key, a, err) < 0) {
		az_err_prefix(err, "no attachment for %s to update", t->id);
		goto out;
	}
	memcpy(next->key, a->key, sizeof(next->key));
	next->target = *t;
	next->n_members = a->n_members;
	memcpy(next->members, a->members, sizeof(next->members));
	if (az_policy_copy(&next->policy, p, err) < 0)
		goto out;
	if (netns_fd >= 0 && az_render_netns(p, t, h, AZ_NETNS_REPLACE, &ns, err) < 0)
		goto out;
	if (az_target_has_host_peer(t)) {
		if (host_state(f) != HOST_CURRENT) {
			/* rebuilt from the records: the new one must be in place */
			if (write_record(next, err) < 0 || host_rebuild_with(next, h, f, err) < 0)
				goto out;
		} else {
			/* old elements out, new ones in, one transaction */
			if ((az_target_has_host_peer(&a->target) &&
			     az_render_host_elements(&a->policy, &a->target, AZ_ELEM_DELETE, &b, err) < 0) ||
			    az_render_host_elements(p, t, AZ_ELEM_ADD, &b, err) < 0)
				goto out;
			if (az_nft_run(-1, b.data, err) < 0) {
				az_err_prefix(err, "host rules");
				goto out;
			}
			if (write_record(next, err) < 0)
				goto out;
		}
	} else if (write_record(next, err) < 0) {
		goto out;
	}
	if (netns_fd >= 0 && az_nft_run(netns_fd, ns.data, err) < 0) {
		az_err_prefix(err, "rules in the container's network namespace");
		goto out;
	}
	r = 0;
out:
	az_buf_free(&b);
	az_buf_free(&ns);
	if (a)
		az_policy_free(&a->policy);
	if (next)
		az_policy_free(&next->policy);
	free(a);
	free(next);
	return r;
}

int az_reattach(const struct az_policy *p, const struct az_target *t, int netns_fd,
		const struct az_hostnet *h, const struct az_features *f, az_error *err)
{
	if (!az_id_valid(t->id))
		return az_err(err, EINVAL, "invalid container id");
	int lock = az_state_lock(az_state_dir(), err);
	if (lock < 0)
		return az_err_prefix(err, "state");
	int r = reattach_locked(p, t, netns_fd, h, f, err);
	close(lock);
	return r;
}

int az_attach(const struct az_policy *p, const struct az_target *t, int netns_fd,
	      const struct az_hostnet *h, const struct az_features *f, az_error *err)
{
	if (!az_id_valid(t->id))
		return az_err(err, EINVAL, "invalid container id");
	int lock = az_state_lock(az_state_dir(), err);
	if (lock < 0)
		return az_err_prefix(err, "state");
	int r = attach_locked(p, t, netns_fd, h, f, err);
	close(lock);
	return r;
}

int az_attachments_read(struct az_attachment **out, size_t *n, az_error *err)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/netns", az_state_dir());
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : az_err_errno(err, "open %s", dir);
	struct dirent *de;
	size_t cap = 0;
	while ((de = readdir(d))) {
		char key[64];
		size_t l = strlen(de->d_name);
		if (l < 6 || l - 5 >= sizeof(key) || strcmp(de->d_name + l - 5, ".json"))
			continue;
		memcpy(key, de->d_name, l - 5);
		key[l - 5] = '\0';
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct az_attachment *nv = realloc(*out, cap * sizeof(**out));
			if (!nv)
				break;
			*out = nv;
		}
		az_error e;
		if (read_record(key, &(*out)[*n], &e) == 0)
			(*n)++;
	}
	closedir(d);
	return 0;
}

void az_attachments_free(struct az_attachment *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		az_policy_free(&a[i].policy);
	free(a);
}

int az_restore(const struct az_hostnet *h, const struct az_features *f, size_t *restored,
	       az_error *err)
{
	int lock = az_state_lock(az_state_dir(), err);
	if (lock < 0)
		return -1;
	struct az_attachment *v = NULL;
	size_t n = 0, gone;
	int r = gc_locked(&gone, err);
	if (r == 0)
		r = az_attachments_read(&v, &n, err);
	*restored = 0;
	if (r == 0 && n) {
		const struct az_attachment **pv = calloc(n, sizeof(*pv));
		for (size_t i = 0; pv && i < n; i++)
			if (v[i].alive && az_target_has_host_peer(&v[i].target))
				pv[(*restored)++] = &v[i];
		r = pv ? host_apply(pv, *restored, h, f, true, false, err)
		       : az_err(err, ENOMEM, "out of memory");
		free(pv);
	}
	az_attachments_free(v, n);
	close(lock);
	return r;
}
