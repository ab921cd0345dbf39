/* util.c — output helpers shared by the verbs: errors, JSON, tables. */
#include "cli/cli.h"

#include <errno.h>
#include <string.h>

int cli_fail(const az_error *err)
{
	fprintf(stderr, "alcatraz: %s\n", err->msg[0] ? err->msg : "unknown error");
	return CLI_ERROR;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "alcatraz%s%s: ", verb ? " " : "", verb ? verb : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'alcatraz help%s%s'.\n", verb ? " " : "", verb ? verb : "");
	return CLI_USAGE;
}

void cli_json_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}

int cli_json_print(cJSON *root)
{
	cleanup_json cJSON *r = root;
	cleanup_free char *s = r ? cJSON_Print(r) : NULL;

	if (!s) {
		fprintf(stderr, "alcatraz: out of memory\n");
		return CLI_ERROR;
	}
	puts(s);
	return fflush(stdout) == 0 ? CLI_OK : CLI_ERROR;
}

/* ---- tables ---- */

void cli_table_init(struct cli_table *t, const char *const *head, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->head = head;
	t->ncols = ncols;
}

int cli_table_add(struct cli_table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		char **v = realloc(t->cells, cap * t->ncols * sizeof(*v));

		if (!v)
			return -1;
		t->cells = v;
		t->cap = cap;
	}
	char **cell = t->cells + t->nrows * t->ncols;
	for (size_t c = 0; c < t->ncols; c++) {
		cell[c] = strdup(row[c] && *row[c] ? row[c] : "-");
		if (!cell[c]) {
			while (c--)
				free(cell[c]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

static void print_row(const struct cli_table *t, const char *const *cells, const size_t *w, FILE *f)
{
	for (size_t c = 0; c < t->ncols; c++) {
		if (c + 1 == t->ncols)
			fprintf(f, "%s\n", cells[c]);
		else
			fprintf(f, "%-*s  ", (int)w[c], cells[c]);
	}
}

void cli_table_print(const struct cli_table *t, FILE *f)
{
	cleanup_free size_t *w = calloc(t->ncols, sizeof(*w));

	if (!w)
		return;
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	}
	print_row(t, t->head, w, f);
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, (const char *const *)t->cells + r * t->ncols, w, f);
}

void cli_table_free(struct cli_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}
