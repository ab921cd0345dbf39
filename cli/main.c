/* alcatraz — the admin CLI: status, list, explain, gc, restore, watch,
 * uninstall.
 *
 *   alcatraz [GLOBAL OPTIONS] VERB [OPTIONS]
 *
 * Exit codes: 0 ok, 1 error, 2 usage.  Human-readable output by default,
 * --json for scripts.  See alcatraz(8).
 */
#include "cli/cli.h"
#include "cli/watch.h"

#include <getopt.h>
#include <string.h>

static const struct cli_verb verbs[] = {
	{ "status", "show the configuration, the kernel features in use and a summary",
	  "  --json               machine-readable output\n",
	  cli_status },
	{ "list", "list isolated containers: netns, interfaces, settings, refused packets",
	  "  --json               machine-readable output\n",
	  cli_list },
	{ "explain", "print the rules given settings would produce, without applying them",
	  "  -a, --annotation KEY=VALUE\n"
	  "                       a container annotation (repeatable), as the hook sees it;\n"
	  "                       add -a alcatraz.network=on unless \"isolate\" is \"all\"\n"
	  "  --ip ADDR[/LEN]      a container address (repeatable; default 10.88.0.2/16)\n"
	  "  --gateway ADDR       the container's default gateway (default 10.88.0.1)\n"
	  "  --host-if NAME       host-side veth (default vethEXPLAIN); \"none\" for a\n"
	  "                       container without one (rootless, macvlan)\n"
	  "  --bridge NAME        bridge of the host-side veth (default podman0)\n"
	  "  --resolv-conf FILE   where the container's resolvers come from\n"
	  "                       (default /etc/resolv.conf)\n"
	  "  --skeleton           also print the fixed host tables, sets and chains\n"
	  "  --json               machine-readable output\n",
	  cli_explain },
	{ "gc", "remove the rules and records of containers that are gone",
	  "  --json               machine-readable output\n",
	  cli_gc },
	{ "restore", "re-apply the host rules of running containers (after a firewall flush)",
	  "  --watch              keep running; restore whenever the host tables are deleted\n"
	  "  --json               machine-readable output\n",
	  cli_restore },
	{ "watch", "print refused connections as they happen (NFLOG)",
	  "  --json               one JSON object per line: time, container, layer,\n"
	  "                       reason, proto, src, dst, sport, dport\n",
	  cli_watch },
	{ "uninstall", "remove every rule alcatraz applied and its state records",
	  "  -y, --yes            do not ask for confirmation\n"
	  "  --json               machine-readable output\n",
	  cli_uninstall },
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct cli_verb *verb_find(const char *name)
{
	for (size_t i = 0; i < N_VERBS; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

static int usage(FILE *f, int code)
{
	fprintf(f, "Usage: alcatraz [OPTIONS] VERB [VERB OPTIONS]\n"
		   "Per-container network isolation: the admin tool.\n\nVerbs:\n");
	for (size_t i = 0; i < N_VERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "  %-10s %s\n", "help", "show the options of a verb: alcatraz help VERB");
	fprintf(f, "\nOptions:\n"
		   "  -c, --config FILE    settings file (default: $ALCATRAZ_CONFIG, else "
		   AZ_DEFAULT_CONFIG ")\n"
		   "  --state-dir DIR      state directory (default: $ALCATRAZ_STATE_DIR, else "
		   "/run/alcatraz)\n"
		   "  --json               machine-readable output\n"
		   "  -h, --help           this help\n"
		   "  -V, --version        print the version\n"
		   "\nExit status: 0 success, 1 error, 2 usage error.  See alcatraz(8).\n");
	return code;
}

int cli_verb_help(const char *verb, FILE *f, int code)
{
	const struct cli_verb *v = verb_find(verb);

	if (!v)
		return cli_usage_error(NULL, "unknown verb \"%s\"", verb);
	fprintf(f, "Usage: alcatraz %s [OPTIONS]\n%c%s.\n\nOptions:\n%s", v->name,
		v->summary[0] - 'a' + 'A', v->summary + 1, v->usage);
	fprintf(f, "  -h, --help           this help\n");
	return code;
}

bool cli_common_opt(int opt, struct cli_global *g, int *exit_code)
{
	switch (opt) {
	case 'J':
		g->json = true;
		return true;
	case 'h':
		*exit_code = cli_verb_help(g->verb, stdout, CLI_OK);
		return true;
	case '?':
		/* getopt has said what is wrong */
		fprintf(stderr, "Try 'alcatraz help %s'.\n", g->verb);
		*exit_code = CLI_USAGE;
		return true;
	}
	return false;
}

bool cli_simple_opts(int argc, char **argv, struct cli_global *g, int *exit_code)
{
	static const struct option longopts[] = { CLI_COMMON_LONGOPTS, { 0 } };
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		if (cli_common_opt(opt, g, exit_code) && opt != 'J')
			return false;
	if (optind < argc) {
		*exit_code = cli_usage_error(g->verb, "unexpected argument \"%s\"", argv[optind]);
		return false;
	}
	return true;
}

static int help_verb(int argc, char **argv)
{
	if (argc < 2)
		return usage(stdout, CLI_OK);
	if (argc > 2)
		return cli_usage_error(NULL, "help takes one verb");
	return cli_verb_help(argv[1], stdout, CLI_OK);
}

/* Options before the verb.  Returns the index of the verb, or -1 with
 * *code set when done. */
static int global_opts(int argc, char **argv, struct cli_global *g, int *code)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int opt;

	/* "+": stop at the verb, whose options are its own. */
	while ((opt = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			setenv("ALCATRAZ_CONFIG", optarg, 1);
			break;
		case 'S':
			setenv("ALCATRAZ_STATE_DIR", optarg, 1);
			break;
		case 'J':
			g->json = true;
			break;
		case 'h':
			*code = usage(stdout, CLI_OK);
			return -1;
		case 'V':
			printf("alcatraz %s\n", AZ_VERSION);
			*code = CLI_OK;
			return -1;
		default:
			fprintf(stderr, "Try 'alcatraz --help'.\n");
			*code = CLI_USAGE;
			return -1;
		}
	}
	if (optind >= argc) {
		*code = usage(stderr, CLI_USAGE);
		return -1;
	}
	return optind;
}

int main(int argc, char **argv)
{
	struct cli_global g = { 0 };
	int code = CLI_OK;
	int i = global_opts(argc, argv, &g, &code);

	if (i < 0)
		return code;
	if (!strcmp(argv[i], "help"))
		return help_verb(argc - i, argv + i);
	const struct cli_verb *v = verb_find(argv[i]);
	if (!v)
		return cli_usage_error(NULL, "unknown verb \"%s\"", argv[i]);
	/* getopt names argv[0] in its messages */
	char prog[64];
	snprintf(prog, sizeof(prog), "alcatraz %s", v->name);
	argv[i] = prog;
	g.verb = v->name;
	optind = 0;	/* glibc: re-initialise getopt; each verb parses its own argv */
	return v->run(argc - i, argv + i, &g);
}
