/* Linked into every alcatraz program (not into the library): this
 * definition of getaddrinfo() takes the place of libc's for the whole
 * process, libnftables included, and lets through numeric addresses only.
 *
 * libnftables 1.0.6 parses every address with getaddrinfo(), so a value that
 * is not a literal address becomes a DNS query.  None of ours ever is (we
 * only write parsed addresses), but a set of another type under our table
 * name — an old version's, a foreign one — would make it take an interface
 * name for a host name and send a DNS query from inside a runtime hook, which
 * must do no network I/O and may be killed by its timeout while waiting.
 * libnftables has no switch to forbid that (NFT_CTX_INPUT_NO_DNS came in a
 * later release), so the resolver is cut off here: AI_NUMERICHOST always.
 */
#include <dlfcn.h>
#include <netdb.h>
#include <stddef.h>

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
			      struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static getaddrinfo_fn real;
	struct addrinfo h = { 0 };

	if (!real)
		real = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
	*res = NULL;
	if (!real)
		return EAI_FAIL;
	if (hints)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST;
	if (service)
		h.ai_flags |= AI_NUMERICSERV;
	return real(node, service, &h, res);
}
