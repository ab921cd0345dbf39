/* admin.c — the verbs that change things: gc, restore, uninstall. */
#include "cli/cli.h"
#include "hook/discover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static void state_lock_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/* ---- gc ---- */

int cli_gc(int argc, char **argv, const struct cli_global *g)
{
	struct cli_global o = *g;
	size_t removed = 0;
	az_error err;
	int code = CLI_OK;

	if (!cli_simple_opts(argc, argv, &o, &code))
		return code;
	if (az_gc(&removed, &err) < 0)
		return cli_fail(&err);
	if (!o.json) {
		printf("removed %zu attachment(s)\n", removed);
		return CLI_OK;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "removed", (double)removed);
	return cli_json_print(j);
}

/* ---- restore ---- */

int cli_restore(int argc, char **argv, const struct cli_global *g)
{
	struct cli_global o = *g;
	cleanup_free struct az_hostnet *h = calloc(1, sizeof(*h));
	struct az_features f;
	size_t removed = 0, restored = 0;
	az_error err;
	int code = CLI_OK;

	static const struct option longopts[] = { CLI_COMMON_LONGOPTS,
						  { "watch", no_argument, NULL, 'w' },
						  { NULL, 0, NULL, 0 } };
	bool watch = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'w')
			watch = true;
		else if (!cli_common_opt(opt, &o, &code) || opt != 'J')
			return code;
	}
	if (optind < argc)
		return cli_usage_error(o.verb, "unexpected argument \"%s\"", argv[optind]);
	if (watch)
		return cli_restore_watch();
	if (!h)
		return cli_fail(&(az_error){ ENOMEM, "out of memory" });
	bool was_present = az_host_layer_present();
	/* gc first, for the count: restore collects the gone ones anyway */
	if (az_gc(&removed, &err) < 0 || az_discover_hostnet(h, &err) < 0 ||
	    az_features_detect(&f, &err) < 0 || az_restore(h, &f, &restored, &err) < 0)
		return cli_fail(&err);
	if (!o.json) {
		printf("re-applied the host rules of %zu attachment(s)%s; removed %zu gone "
		       "attachment(s)\n",
		       restored, was_present ? "" : " (the host layer was missing)", removed);
		return CLI_OK;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "restored", (double)restored);
	cJSON_AddNumberToObject(j, "removed", (double)removed);
	cJSON_AddBoolToObject(j, "host_layer_was_present", was_present);
	return cli_json_print(j);
}

/* ---- uninstall ----
 *
 * Removes, in this order: each attachment's host elements and, where its
 * netns still exists, the table inside it; then table inet alcatraz and
 * table bridge alcatraz of the host netns; then the state records.  Nothing
 * else: no other table, no file outside the state dir.
 */

struct uninstall_report {
	size_t attachments;
	size_t netns_tables;
	size_t errors;
};

/* Delete a container's host elements; one line at a time when the batch
 * fails (some are already gone after a flush). */
static void host_elements_remove(const struct az_attachment *a, struct uninstall_report *rep)
{
	cleanup_buf struct az_buf b = { 0 };
	az_error e;

	if (!az_target_has_host_peer(&a->target) || !az_host_layer_present())
		return;
	if (az_render_host_elements(&a->policy, &a->target, AZ_ELEM_DELETE, &b, &e) < 0) {
		az_log(LOG_WARNING, a->target.id, "uninstall: %s", e.msg);
		rep->errors++;
		return;
	}
	if (az_nft_run(-1, b.data, &e) == 0)
		return;
	for (char *save = NULL, *line = strtok_r(b.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		az_nft_run(-1, line, &e);
}

/* The in-netns table, if the netns the record describes is still there. */
static void netns_table_remove(const struct az_attachment *a, struct uninstall_report *rep)
{
	struct stat st;
	az_error e;

	if (!a->alive)
		return;
	cleanup_close int fd = open(a->target.netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t)st.st_dev != a->target.netns_dev ||
	    (uint64_t)st.st_ino != a->target.netns_ino)
		return;
	/* "table …" first makes the delete succeed when it is already gone */
	if (az_nft_run(fd, "table inet " AZ_TABLE "\ndelete table inet " AZ_TABLE "\n", &e) < 0) {
		az_log(LOG_WARNING, a->target.id, "uninstall: %s", e.msg);
		rep->errors++;
		return;
	}
	rep->netns_tables++;
}

static int host_tables_remove(az_error *err)
{
	return az_nft_run(-1,
			  "table inet " AZ_TABLE "\ndelete table inet " AZ_TABLE "\n"
			  "table bridge " AZ_TABLE "\ndelete table bridge " AZ_TABLE "\n",
			  err);
}

/* Remove the *.json records (and leftover temp files) of one state subdir,
 * then the subdir itself. */
static void records_remove(const char *sub)
{
	char dir[PATH_MAX];
	cleanup_close int dfd = -1;

	snprintf(dir, sizeof(dir), "%s/%s", az_state_dir(), sub);
	DIR *d = opendir(dir);
	if (!d)
		return;
	dfd = dup(dirfd(d));
	for (struct dirent *de; (de = readdir(d));)
		if (strstr(de->d_name, ".json"))
			unlinkat(dfd, de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static int uninstall_locked(struct uninstall_report *rep, az_error *err)
{
	struct az_attachment *v = NULL;
	size_t n = 0;

	if (az_attachments_read(&v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		host_elements_remove(&v[i], rep);
		netns_table_remove(&v[i], rep);
	}
	rep->attachments = n;
	az_attachments_free(v, n);
	if (host_tables_remove(err) < 0)
		return az_err_prefix(err, "deleting the host tables");
	records_remove("containers");
	records_remove("netns");
	return 0;
}

static bool confirm(void)
{
	char line[16];

	if (!isatty(STDIN_FILENO))
		return false;
	fprintf(stderr, "Remove every rule alcatraz applied (containers running now lose their "
			"isolation) and its state records? [y/N] ");
	return fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
}

static bool uninstall_opts(int argc, char **argv, struct cli_global *g, bool *yes, int *code)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS, { "yes", no_argument, NULL, 'y' }, { 0 }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "hy", longopts, NULL)) != -1) {
		if (opt == 'y')
			*yes = true;
		else if (cli_common_opt(opt, g, code) && opt != 'J')
			return false;
	}
	if (optind < argc) {
		*code = cli_usage_error("uninstall", "unexpected argument \"%s\"", argv[optind]);
		return false;
	}
	return true;
}

int cli_uninstall(int argc, char **argv, const struct cli_global *g)
{
	struct cli_global o = *g;
	struct uninstall_report rep = { 0 };
	bool yes = false;
	az_error err;
	int code = CLI_OK;

	if (!uninstall_opts(argc, argv, &o, &yes, &code))
		return code;
	if (!yes && !confirm()) {
		fprintf(stderr, "alcatraz: uninstall: not confirmed (give --yes to run without a "
				"question)\n");
		return CLI_ERROR;
	}
	/* No state dir: nothing was recorded; do not create one to lock it. */
	bool has_state = access(az_state_dir(), F_OK) == 0;
	_cleanup_(state_lock_closep) int lock = has_state ? az_state_lock(az_state_dir(), &err) : -1;
	if (has_state && lock < 0)
		return cli_fail(&err);
	if (uninstall_locked(&rep, &err) < 0)
		return cli_fail(&err);
	if (o.json) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "attachments", (double)rep.attachments);
		cJSON_AddNumberToObject(j, "netns_tables", (double)rep.netns_tables);
		cJSON_AddNumberToObject(j, "errors", (double)rep.errors);
		code = cli_json_print(j);
	} else {
		printf("removed %zu attachment(s) (%zu table(s) inside live network namespaces), "
		       "the host tables and the state records\n",
		       rep.attachments, rep.netns_tables);
	}
	return rep.errors ? CLI_ERROR : code;
}
