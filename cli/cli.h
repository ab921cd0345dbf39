/* cli.h — internal to cli/: the verbs of the admin CLI and the few helpers
 * they share (output tables, JSON, nft counters).  Nothing here is part of
 * the project library.
 */
#ifndef ALCATRAZ_CLI_H
#define ALCATRAZ_CLI_H

#include <cjson/cJSON.h>

#include "common/common.h"
#include "config/config.h"
#include "rules/rules.h"

#ifndef AZ_VERSION
#define AZ_VERSION "0.1.0"
#endif

/* Exit codes of every verb. */
enum { CLI_OK = 0, CLI_ERROR = 1, CLI_USAGE = 2 };

/* Options every verb understands. */
struct cli_global {
	const char *verb;	/* for messages */
	bool json;
};

/* One verb: parses its own options from argv (argv[0] is "alcatraz VERB",
 * which getopt names in its messages). */
struct cli_verb {
	const char *name;
	const char *summary;
	const char *usage;	/* option lines, printed by `alcatraz help VERB` */
	int (*run)(int argc, char **argv, const struct cli_global *g);
};

int cli_status(int argc, char **argv, const struct cli_global *g);
int cli_list(int argc, char **argv, const struct cli_global *g);
int cli_explain(int argc, char **argv, const struct cli_global *g);
int cli_gc(int argc, char **argv, const struct cli_global *g);
int cli_restore(int argc, char **argv, const struct cli_global *g);
int cli_uninstall(int argc, char **argv, const struct cli_global *g);
/* restore --watch: never returns while the monitor runs. */
int cli_restore_watch(void);

/* Print the help of a verb (to f) and return code. */
int cli_verb_help(const char *verb, FILE *f, int code);
/* The options every verb takes, as getopt_long returned them: --json sets
 * g->json; --help prints the verb's help and a bad option the hint, both
 * setting *exit_code.  True when opt was handled here; then the verb goes on
 * for 'J' and exits with *exit_code otherwise. */
bool cli_common_opt(int opt, struct cli_global *g, int *exit_code);
/* For verbs with no options of their own: true to go on, false to exit
 * with *exit_code (help printed, or a usage error). */
bool cli_simple_opts(int argc, char **argv, struct cli_global *g, int *exit_code);
#define CLI_COMMON_LONGOPTS { "json", no_argument, NULL, 'J' }, { "help", no_argument, NULL, 'h' }

/* Print "alcatraz: MSG" on stderr and return CLI_ERROR. */
int cli_fail(const az_error *err);
/* Print "alcatraz VERB: MSG" plus a hint on stderr and return CLI_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print a cJSON tree (consumed) on stdout, followed by a newline. */
int cli_json_print(cJSON *root);
void cli_json_deletep(cJSON **j);
#define cleanup_json _cleanup_(cli_json_deletep)

/* ---- human-readable tables ---- */

struct cli_table {
	size_t ncols, nrows, cap;
	const char *const *head;
	char **cells;		/* nrows * ncols, owned */
};
void cli_table_init(struct cli_table *t, const char *const *head, size_t ncols);
/* Add a row of ncols cells (copied; NULL prints "-").  0 or -1 (ENOMEM). */
int cli_table_add(struct cli_table *t, const char *const *row);
/* Columns padded to the widest cell; the last column is not padded. */
void cli_table_print(const struct cli_table *t, FILE *f);
void cli_table_free(struct cli_table *t);

/* ---- refused-packet counters ---- */

struct cli_counter {
	bool known;		/* false: could not be read */
	uint64_t packets, bytes;
};

/* Per-element counters of the host's refused4/refused6 sets. */
struct cli_refused_elem {
	char comment[AZ_ID_MAX + 16];
	uint64_t packets, bytes;
};
struct cli_refused {
	bool known;		/* the sets could be read */
	size_t n;
	struct cli_refused_elem *v;
};

/* Parse the JSON of `list set inet alcatraz refusedN` and append its
 * elements to r.  Pure. */
int cli_refused_parse(const char *json, struct cli_refused *r, az_error *err);
/* Read both host sets; r->known false when the host layer is absent. */
void cli_refused_read(struct cli_refused *r);
void cli_refused_free(struct cli_refused *r);
/* Sum of the elements commented "alcatraz:<id>". */
struct cli_counter cli_refused_sum(const struct cli_refused *r, const char *id);

/* Parse the JSON of `list chain inet alcatraz refuse`: the chain's first
 * counter.  Pure. */
int cli_chain_counter_parse(const char *json, struct cli_counter *c, az_error *err);
/* The refuse-chain counter of the table inside a live attachment's netns. */
struct cli_counter cli_netns_refused(const struct az_attachment *a);

#endif
