/* fuzz.h — shared by the libFuzzer targets in tests/fuzz/ (make fuzz).
 *
 * Each target feeds one parser of untrusted input and, where the parser has
 * a canonical output, checks the round trip: the canonical text must parse
 * again to the same canonical text.  A broken property aborts, which
 * libFuzzer reports as a crash with the input that caused it.
 */
#ifndef AZ_FUZZ_H
#define AZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Every parse error is logged by some callers: millions of executions
 * must not reach the system log.  These replace libc's for the target. */
void openlog(const char *ident, int option, int facility);
void syslog(int priority, const char *format, ...);
void openlog(const char *ident, int option, int facility)
{
	(void)ident, (void)option, (void)facility;
}
void syslog(int priority, const char *format, ...)
{
	(void)priority, (void)format;
}

/* The input as a C string (the parsers take NUL-terminated text; a NUL
 * inside ends it, as it would in an annotation). */
static inline char *fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#define fz_assert(cond, ...)                                                          \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                 \
			fputc('\n', stderr);                                          \
			abort();                                                      \
		}                                                                     \
	} while (0)

#endif
