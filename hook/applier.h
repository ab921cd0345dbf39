/* applier.h — the long-lived applier: `alcatraz-apply serve`.
 *
 * Every hook run pays for a process start (12 shared libraries) and cold
 * libnftables code, about half of an apply.  With the applier running, the
 * hook hands the OCI state to it over <statedir>/applier.sock and prints
 * what it answers; the applier runs the very same code, warm.  Without it
 * (no socket, refused, died mid-request), the hook applies itself: the
 * applier only makes a start faster, never decides anything.
 *
 * The applier serves only a root peer in its own network, mount and pid
 * namespaces (checked through /proc/PID/ns of the peer, not taken from the
 * request), with the same settings file and state dir and the same version;
 * anything else is answered "not here" and the hook applies itself.
 */
#ifndef ALCATRAZ_APPLIER_H
#define ALCATRAZ_APPLIER_H

#include "common/common.h"
#include "rules/rules.h"

#include <limits.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* The largest OCI state a hook run takes (CRI-O adds big annotations), and
 * its deadline (below the hooks.d timeout): alcatraz-hook and
 * alcatraz-apply alike. */
#define AZ_HOOK_MAX_STATE (16u << 20)
#define AZ_HOOK_DEADLINE_S 20
/* The largest OCI state sent to the applier; a bigger one is applied by the
 * hook itself. */
#define AZ_APPLIER_MAX_STATE (60u * 1024)
/* The protocol (hook/client.c speaks it without linking anything of ours):
 * request, one datagram: AZ_APPLIER_MAGIC, then the lines VERSION, STAGE,
 * CONFIG, STATEDIR, TIMING (0|1), then the OCI state.  Answer, one
 * datagram: "served RC\n" and the hook's messages, or "not-here WHY\n". */
#define AZ_APPLIER_MAGIC "alcatraz-applier 1\n"
#define AZ_APPLIER_HDR_MAX 8192
#define AZ_APPLIER_ANSWER_MAX (256u * 1024)
/* The program that does the work, beside alcatraz-hook: the hook execs it
 * when no applier serves, and `alcatraz-apply serve` is the applier. */
#define AZ_APPLY_NAME "alcatraz-apply"
#ifndef AZ_VERSION
#define AZ_VERSION "0.1.0"
#endif

/* What the applier runs for a request: the hook's own handler.  Returns the
 * hook's exit code; its messages go through az_log/az_phase, which the
 * applier captures and sends back. */
typedef int (*az_applier_handler)(const char *stage, const char *text, size_t len);

/* The helpers below are inline: alcatraz-hook links only common/common.o
 * of ours (and libc). */

/* The stages that apply (the others remove or do nothing). */
static inline bool az_stage_creates(const char *stage)
{
	return !strcmp(stage, "createRuntime") || !strcmp(stage, "prestart");
}

/* The socket's address, <statedir>/applier.sock; -1 when too long. */
static inline int az_applier_addr(struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/applier.sock", az_state_dir());
	return n > 0 && (size_t)n < sizeof(sa->sun_path) ? 0 : -1;
}

/* The alcatraz-apply beside the program exe_link (a /proc/PID/exe) runs. */
static inline bool az_apply_beside(const char *exe_link, char out[PATH_MAX])
{
	ssize_t l = readlink(exe_link, out, PATH_MAX - 1);
	if (l <= 0)
		return false;
	out[l] = '\0';
	char *slash = strrchr(out, '/');
	if (!slash || (size_t)(slash + 1 - out) + sizeof(AZ_APPLY_NAME) > PATH_MAX)
		return false;
	strcpy(slash + 1, AZ_APPLY_NAME);
	return true;
}

/* Whether an applier listens on the socket (nothing is asked of it: a
 * connection closed at once is no request). */
bool az_applier_listening(void);

/* Serve until SIGTERM/SIGINT; removes the socket at exit.  Fails if another
 * applier already answers on the socket. */
int az_applier_serve(az_applier_handler handle, az_error *err);


#endif
