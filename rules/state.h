/* state.h — internal to rules/: attachment records to and from JSON. */
#ifndef ALCATRAZ_RULES_STATE_H
#define ALCATRAZ_RULES_STATE_H

#include "rules/rules.h"

/* The record's JSON text (malloc'ed). */
char *az_record_format(const struct az_attachment *a);
/* Parse and check a record; on success the caller frees a->policy. */
int az_record_parse(const char *text, size_t len, struct az_attachment *a, az_error *err);

#endif
