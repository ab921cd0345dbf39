/* The state records of what is applied (rules/state.c az_record_parse):
 * read back by the hook at poststop, by the CLI and by gc.  What parses
 * must format and parse again to the same record. */
#include "tests/fuzz/fuzz.h"
#include "rules/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct az_attachment *a = calloc(2, sizeof(*a));
	az_error err;

	if (!a)
		abort();
	if (az_record_parse((const char *)data, size, &a[0], &err) == 0) {
		char *t1 = az_record_format(&a[0]), *t2;
		fz_assert(t1, "format failed");
		fz_assert(az_id_valid(a[0].target.id), "id");
		fz_assert(az_record_parse(t1, strlen(t1), &a[1], &err) == 0,
			  "a formatted record does not parse: %s\n%s", err.msg, t1);
		t2 = az_record_format(&a[1]);
		fz_assert(t2 && !strcmp(t1, t2), "record not stable:\n%s\n---\n%s", t1, t2);
		az_policy_free(&a[0].policy);
		az_policy_free(&a[1].policy);
		free(t1);
		free(t2);
	}
	free(a);
	return 0;
}
