/* State records: the container's name survives a round trip; a name that
 * is not printable as is makes the record damaged. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "rules/state.h"

static void record(struct az_attachment *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->key, sizeof(a->key), "4-f00001db");
	snprintf(a->target.id, sizeof(a->target.id), "aaaa1111bbbb2222cccc3333dddd4444");
	snprintf(a->target.name, sizeof(a->target.name), "%s", name);
	a->policy.enabled = true;
	a->n_members = 1;
	snprintf(a->members[0], sizeof(a->members[0]), "%s", a->target.id);
}

Test(state_record, name_round_trips)
{
	struct az_attachment a, b;
	az_error e;
	record(&a, "web-1.example_2");
	char *s = az_record_format(&a);
	cr_assert_not_null(s);
	cr_assert(strstr(s, "\"name\":\t\"web-1.example_2\""), "%s", s);
	cr_assert_eq(az_record_parse(s, strlen(s), &b, &e), 0, "%s", e.msg);
	cr_assert_str_eq(b.target.name, "web-1.example_2");
	az_policy_free(&b.policy);
	free(s);

	record(&a, "");
	s = az_record_format(&a);
	cr_assert_null(strstr(s, "\"name\""), "%s", s);
	cr_assert_eq(az_record_parse(s, strlen(s), &b, &e), 0, "%s", e.msg);
	cr_assert_str_eq(b.target.name, "");
	az_policy_free(&b.policy);
	free(s);
}

Test(state_record, unprintable_name_is_damage)
{
	struct az_attachment a, b;
	az_error e;
	record(&a, "web");
	char *s = az_record_format(&a);
	char *at = strstr(s, "\"web\"");
	cr_assert_not_null(at);
	at[2] = ' ';	/* "w b" */
	cr_assert_lt(az_record_parse(s, strlen(s), &b, &e), 0);
	cr_assert(strstr(e.msg, "name"), "%s", e.msg);
	free(s);
	cr_assert(!az_name_valid(""));
	cr_assert(!az_name_valid("a;b"));
	cr_assert(!az_name_valid("0123456789012345678901234567890123456789012345678901234567890123456789"));
	cr_assert(az_name_valid("a"));
}
