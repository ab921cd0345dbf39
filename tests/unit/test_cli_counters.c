/* Unit tests of the CLI's pure helpers: nft JSON counters in, numbers out;
 * the table printer.
 *
 * The unit-test binary links the project library only, not cli/, so the two
 * CLI sources these helpers live in are compiled into this test directly.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/counters.c"
#include "cli/util.c"

/* As printed by `nft -j list set inet alcatraz refused4` (nft 1.0.6). */
static const char set_json[] =
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}},"
	" {\"set\": {\"family\": \"inet\", \"name\": \"refused4\", \"table\": \"alcatraz\","
	" \"type\": \"ipv4_addr\", \"handle\": 1, \"elem\": ["
	"  {\"elem\": {\"val\": \"10.88.0.5\", \"comment\": \"alcatraz:aaa\","
	"   \"counter\": {\"packets\": 7, \"bytes\": 420}}},"
	"  {\"elem\": {\"val\": \"10.88.0.6\", \"comment\": \"alcatraz:bbb\","
	"   \"counter\": {\"packets\": 1, \"bytes\": 60}}},"
	"  {\"elem\": {\"val\": \"10.88.0.7\", \"comment\": \"alcatraz:aaa\","
	"   \"counter\": {\"packets\": 2, \"bytes\": 100}}},"
	"  \"10.88.0.9\""
	" ], \"stmt\": [{\"counter\": null}]}}]}";

static const char empty_set_json[] =
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\"}},"
	" {\"set\": {\"family\": \"inet\", \"name\": \"refused6\", \"table\": \"alcatraz\","
	" \"type\": \"ipv6_addr\", \"handle\": 2}}]}";

/* As printed by `nft -j list chain inet alcatraz refuse`. */
static const char chain_json[] =
	"{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\"}},"
	" {\"chain\": {\"family\": \"inet\", \"table\": \"alcatraz\", \"name\": \"refuse\"}},"
	" {\"rule\": {\"family\": \"inet\", \"table\": \"alcatraz\", \"chain\": \"refuse\","
	"  \"expr\": [{\"counter\": {\"packets\": 3, \"bytes\": 180}}]}},"
	" {\"rule\": {\"family\": \"inet\", \"table\": \"alcatraz\", \"chain\": \"refuse\","
	"  \"expr\": [{\"match\": {\"op\": \"==\", \"left\": {\"meta\": {\"key\": \"l4proto\"}},"
	"  \"right\": \"tcp\"}}, {\"reject\": {\"type\": \"tcp reset\"}}]}}]}";

Test(cli_counters, refused_sums_per_container)
{
	struct cli_refused r = { .known = true };
	az_error e;

	cr_assert_eq(cli_refused_parse(set_json, &r, &e), 0, "%s", e.msg);
	cr_assert_eq(r.n, 3, "bare values are not ours");
	struct cli_counter a = cli_refused_sum(&r, "aaa");
	cr_assert(a.known);
	cr_assert_eq(a.packets, 9);
	cr_assert_eq(a.bytes, 520);
	cr_assert_eq(cli_refused_sum(&r, "bbb").packets, 1);
	cr_assert_eq(cli_refused_sum(&r, "ccc").packets, 0);
	cr_assert_eq(cli_refused_sum(&r, "aa").packets, 0, "no prefix match");
	cli_refused_free(&r);
}

Test(cli_counters, refused_both_families_append)
{
	struct cli_refused r = { .known = true };
	az_error e;

	cr_assert_eq(cli_refused_parse(set_json, &r, &e), 0);
	cr_assert_eq(cli_refused_parse(empty_set_json, &r, &e), 0);
	cr_assert_eq(r.n, 3);
	cli_refused_free(&r);
}

Test(cli_counters, refused_unknown_when_unread)
{
	struct cli_refused r = { 0 };

	cr_assert_not(cli_refused_sum(&r, "aaa").known);
}

Test(cli_counters, refused_rejects_garbage)
{
	struct cli_refused r = { 0 };
	az_error e;

	cr_assert_lt(cli_refused_parse("not json", &r, &e), 0);
	cr_assert_lt(cli_refused_parse("{\"x\": 1}", &r, &e), 0);
	cr_assert_eq(r.n, 0);
	cli_refused_free(&r);
}

Test(cli_counters, chain_first_counter)
{
	struct cli_counter c;
	az_error e;

	cr_assert_eq(cli_chain_counter_parse(chain_json, &c, &e), 0, "%s", e.msg);
	cr_assert(c.known);
	cr_assert_eq(c.packets, 3);
	cr_assert_eq(c.bytes, 180);
}

Test(cli_counters, chain_without_counter)
{
	struct cli_counter c;
	az_error e;

	cr_assert_lt(cli_chain_counter_parse(empty_set_json, &c, &e), 0);
	cr_assert_not(c.known);
}

Test(cli_table, columns_padded_last_not)
{
	static const char *const head[] = { "A", "BB", "C" };
	const char *row1[] = { "xxx", NULL, "last" };
	const char *row2[] = { "y", "zz", "" };
	struct cli_table t;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cli_table_init(&t, head, 3);
	cr_assert_eq(cli_table_add(&t, row1), 0);
	cr_assert_eq(cli_table_add(&t, row2), 0);
	cli_table_print(&t, f);
	fclose(f);
	cr_assert_str_eq(text, "A    BB  C\n"
			       "xxx  -   last\n"
			       "y    zz  -\n");
	cli_table_free(&t);
	free(text);
}
