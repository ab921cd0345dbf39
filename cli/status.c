/* status.c — `alcatraz status`: configuration, kernel features, summary. */
#include "cli/cli.h"

#include "hook/applier.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct status {
	const char *config_path;
	bool config_exists;
	bool config_valid;
	az_error config_err;
	struct az_settings settings;
	char *defaults;			/* az_policy_format of the file's defaults */
	const char *state_dir;
	bool root;
	bool host_layer;
	struct az_features features;
	size_t alive, gone;
	bool state_readable;
	az_error state_err;
	bool applier;			/* something listens on its socket */
};

static const char *const isolate_words[] = { [AZ_ISOLATE_ANNOTATED] = "annotated",
					     [AZ_ISOLATE_ALL] = "all" };
static const char *const annotation_words[] = { [AZ_ANN_ANY] = "any", [AZ_ANN_NARROW] = "narrow",
						[AZ_ANN_IGNORE] = "ignore" };

static void status_free(struct status *s)
{
	az_settings_free(&s->settings);
	free(s->defaults);
}

static void read_config(struct status *s)
{
	struct stat st;
	struct az_buf b;

	s->config_path = az_settings_path();
	s->config_exists = stat(s->config_path, &st) == 0;
	s->config_valid = az_settings_load(s->config_path, &s->settings, &s->config_err) == 0;
	if (!s->config_valid)
		az_settings_default(&s->settings);
	az_buf_init(&b);
	if (az_policy_format(&s->settings.defaults, &b) == 0)
		s->defaults = az_buf_steal(&b);
	az_buf_free(&b);
}

static void read_state(struct status *s)
{
	struct az_attachment *v = NULL;
	size_t n = 0;

	s->state_dir = az_state_dir();
	s->state_readable = az_attachments_read(&v, &n, &s->state_err) == 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].alive)
			s->alive++;
		else
			s->gone++;
	}
	az_attachments_free(v, n);
}

static void status_collect(struct status *s)
{
	az_error e;

	memset(s, 0, sizeof(*s));
	read_config(s);
	read_state(s);
	s->applier = az_applier_listening();
	s->root = geteuid() == 0;
	if (s->root) {
		s->host_layer = az_host_layer_present();
		az_features_detect(&s->features, &e);
	}
}

static const char *bridge_reject_text(const struct status *s)
{
	if (!s->root)
		return "unknown (needs root)";
	return s->features.bridge_reject
		       ? "yes: refused bridged frames are rejected"
		       : "no: refused bridged frames are dropped (no bridge reject in this kernel)";
}

static void print_human(const struct status *s)
{
	printf("%-15s %s\n", "version", AZ_VERSION);
	if (!s->config_exists)
		printf("%-15s %s (not found: built-in defaults)\n", "config", s->config_path);
	else if (!s->config_valid)
		printf("%-15s %s (INVALID: %s)\n", "config", s->config_path, s->config_err.msg);
	else
		printf("%-15s %s\n", "config", s->config_path);
	/* With an invalid file the hook refuses every container: showing
	 * built-in values would suggest they apply. */
	printf("%-15s %s\n", "isolate",
	       s->config_valid ? isolate_words[s->settings.isolate] : "- (invalid config)");
	printf("%-15s %s\n", "annotations",
	       s->config_valid ? annotation_words[s->settings.annotations] : "- (invalid config)");
	printf("%-15s %s\n", "defaults",
	       s->config_valid && s->defaults ? s->defaults : "- (invalid config)");
	printf("%-15s %s\n", "state dir", s->state_dir);
	struct sockaddr_un sa;
	if (s->applier && az_applier_addr(&sa) == 0)
		printf("%-15s running: the hook hands its work to it (%s)\n", "applier", sa.sun_path);
	else
		printf("%-15s not running: the hook applies alone (systemctl enable --now "
		       "alcatraz-applier)\n", "applier");
	printf("%-15s %s\n", "host layer",
	       !s->root ? "unknown (needs root)" : s->host_layer ? "present" : "absent");
	printf("%-15s %s\n", "bridge reject", bridge_reject_text(s));
	printf("%-15s %s\n", "br_netfilter",
	       !s->root ? "unknown (needs root)" : s->features.br_netfilter ? "on" : "off");
	if (s->state_readable)
		printf("%-15s %zu (%zu alive, %zu gone)\n", "attachments", s->alive + s->gone,
		       s->alive, s->gone);
	else
		printf("%-15s unknown (%s)\n", "attachments", s->state_err.msg);
}

static cJSON *bool_or_null(bool known, bool v)
{
	return known ? cJSON_CreateBool(v) : cJSON_CreateNull();
}

static cJSON *status_json(const struct status *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "version", AZ_VERSION);
	cJSON *c = cJSON_AddObjectToObject(o, "config");
	cJSON_AddStringToObject(c, "path", s->config_path);
	cJSON_AddBoolToObject(c, "exists", s->config_exists);
	cJSON_AddBoolToObject(c, "valid", s->config_valid);
	if (!s->config_valid)
		cJSON_AddStringToObject(c, "error", s->config_err.msg);
	if (s->config_valid) {
		cJSON_AddStringToObject(o, "isolate", isolate_words[s->settings.isolate]);
		cJSON_AddStringToObject(o, "annotations", annotation_words[s->settings.annotations]);
		cJSON_AddStringToObject(o, "defaults", s->defaults ? s->defaults : "");
	} else {
		cJSON_AddNullToObject(o, "isolate");
		cJSON_AddNullToObject(o, "annotations");
		cJSON_AddNullToObject(o, "defaults");
	}
	cJSON_AddStringToObject(o, "state_dir", s->state_dir);
	cJSON_AddBoolToObject(o, "applier", s->applier);
	cJSON_AddItemToObject(o, "host_layer", bool_or_null(s->root, s->host_layer));
	cJSON *f = cJSON_AddObjectToObject(o, "features");
	cJSON_AddItemToObject(f, "bridge_reject", bool_or_null(s->root, s->features.bridge_reject));
	cJSON_AddItemToObject(f, "br_netfilter", bool_or_null(s->root, s->features.br_netfilter));
	cJSON_AddStringToObject(f, "bridge_refuse",
				!s->root ? "unknown" : s->features.bridge_reject ? "reject" : "drop");
	cJSON *a = cJSON_AddObjectToObject(o, "attachments");
	if (s->state_readable) {
		cJSON_AddNumberToObject(a, "total", (double)(s->alive + s->gone));
		cJSON_AddNumberToObject(a, "alive", (double)s->alive);
		cJSON_AddNumberToObject(a, "gone", (double)s->gone);
	} else {
		cJSON_AddStringToObject(a, "error", s->state_err.msg);
	}
	return o;
}

int cli_status(int argc, char **argv, const struct cli_global *g)
{
	struct cli_global o = *g;
	struct status s;
	int code = CLI_OK;

	if (!cli_simple_opts(argc, argv, &o, &code))
		return code;
	status_collect(&s);
	if (o.json)
		code = cli_json_print(status_json(&s));
	else
		print_human(&s);
	/* An invalid settings file makes the hook refuse every container:
	 * worth a non-zero exit. */
	if (code == CLI_OK && (!s.config_valid || !s.state_readable))
		code = CLI_ERROR;
	status_free(&s);
	return code;
}
