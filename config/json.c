/* json.c — what cJSON cannot tell its caller.
 *
 * A JSON string may spell a NUL byte as \u0000; cJSON decodes it into the C
 * string, which then ends there: "10.0.0.1\u0000 *" would reach the setting
 * parsers as "10.0.0.1", and a value would be judged on a part of itself.
 * Every JSON text from outside is checked with this before it is parsed.
 */
#include "config/config.h"

#include <string.h>

bool az_json_has_nul(const char *text, size_t len)
{
	bool in_string = false;

	if (memchr(text, '\0', len))
		return true;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '"') {
			in_string = !in_string;
		} else if (in_string && text[i] == '\\') {
			if (len - i > 5 && text[i + 1] == 'u' && !memcmp(text + i + 2, "0000", 4))
				return true;
			i++;	/* the escaped character, \" included */
		}
	}
	return false;
}
