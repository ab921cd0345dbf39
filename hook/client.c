/* alcatraz-hook — the OCI hook the runtime calls: `alcatraz-hook STAGE`
 * with the OCI state on stdin.
 *
 * It only carries the state: to the applier (`alcatraz-apply serve`) over
 * <statedir>/applier.sock when one serves, else to alcatraz-apply beside
 * this program, exec'ed with the same arguments and the state on stdin.
 * Either runs the same code; the applier's is warm.  This program links
 * libc and, of ours, only common/common.o: a start costs as little as a
 * process can.
 *
 * Fails closed: a create stage whose state cannot be read or carried exits
 * 1, and the runtime refuses to start the container.
 */
#include "hook/applier.h"
#include "config/config.h"
#include "rules/rules.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

/* Well below the deadline, so that alcatraz-apply still has 12 s. */
#define CALL_TIMEOUT_S 8

static bool create_stage;

static int fail(const char *what)
{
	fprintf(stderr, "alcatraz: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
	return create_stage ? 1 : 0;
}

/* Why the hook applies alone although an applier listens: the journal
 * says it (and ALCATRAZ_TIMING the runtime's log). */
static void alone_because(const char *why)
{
	syslog(LOG_INFO, "the hook applies alone: %s", why);
	if (getenv("ALCATRAZ_TIMING"))
		fprintf(stderr, "alcatraz-hook: applying alone: %s\n", why);
}

/* 0: the applier ran it (*rc set, its messages written).  -1: apply here. */
static int call_applier(const char *stage, const char *text, size_t len, int *rc)
{
	struct sockaddr_un sa;
	const char *dir = az_state_dir(), *cfg = az_settings_path();
	/* the applier compares these as strings: relative ones would name
	 * other files in its working directory than in ours */
	if (len > AZ_APPLIER_MAX_STATE || dir[0] != '/' || cfg[0] != '/' || az_applier_addr(&sa) < 0)
		return -1;
	/* non-blocking connect: a full backlog (a hung applier) is no wait */
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EAGAIN)
			alone_because("the applier's queue is full");
		close(s);
		return -1;
	}
	int fl = fcntl(s, F_GETFL);
	if (fl < 0 || fcntl(s, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		close(s);
		return -1;
	}
	struct timeval tv = { .tv_sec = CALL_TIMEOUT_S };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int r = -1;
	static char req[AZ_APPLIER_MAX_STATE + AZ_APPLIER_HDR_MAX];
	static char ans[AZ_APPLIER_ANSWER_MAX + 1];
	int h = snprintf(req, AZ_APPLIER_HDR_MAX, AZ_APPLIER_MAGIC "%s\n%s\n%s\n%s\n%d\n", AZ_VERSION, stage,
			 cfg, dir, getenv("ALCATRAZ_TIMING") ? 1 : 0);
	if (h < 0 || h >= AZ_APPLIER_HDR_MAX)
		goto out;
	memcpy(req + h, text, len);
	if (send(s, req, (size_t)h + len, MSG_NOSIGNAL) != (ssize_t)((size_t)h + len))
		goto out;
	ssize_t n = recv(s, ans, AZ_APPLIER_ANSWER_MAX, 0);
	if (n <= 0) {
		/* Died, or too slow: apply here.  A request the applier takes up
		 * later is dropped once it holds the state lock (which this
		 * process then takes too) and sees that we are gone. */
		alone_because(n == 0 ? "the applier closed the connection without an answer"
				     : "the applier did not answer in time");
		goto out;
	}
	ans[n] = '\0';
	int code;
	if (strncmp(ans, "served ", 7) || sscanf(ans + 7, "%d", &code) != 1) {
		char *nl = strchr(ans, '\n');	/* "not-here WHY" */
		if (nl)
			*nl = '\0';
		alone_because(ans);
		goto out;
	}
	char *msgs = strchr(ans, '\n');
	if (msgs && msgs[1])
		fputs(msgs + 1, stderr);
	*rc = code;
	r = 0;
out:
	close(s);
	return r;
}

/* exec alcatraz-apply (beside this program) with the state on stdin. */
static int apply_here(char **argv, const char *text, size_t len)
{
	char self[PATH_MAX];
	if (!az_apply_beside("/proc/self/exe", self))
		return fail("cannot find alcatraz-apply beside this program (/proc/self/exe)");
	int fd = memfd_create("oci-state", MFD_CLOEXEC);
	if (fd < 0)
		return fail("memfd_create");
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return fail("writing the OCI state for alcatraz-apply");
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) < 0 || dup2(fd, STDIN_FILENO) < 0)
		return fail("passing the OCI state to alcatraz-apply");
	argv[0] = self;
	execv(self, argv);
	char what[PATH_MAX + 16];
	snprintf(what, sizeof(what), "exec %s", self);
	return fail(what);
}

int main(int argc, char **argv)
{
	/* SIGALRM kills us, the runtime fails closed; the alarm survives exec
	 * and alcatraz-apply keeps it when sooner than its own */
	alarm(AZ_HOOK_DEADLINE_S);
	if (argc != 2) {
		fprintf(stderr, "usage: alcatraz-hook STAGE < state.json\n"
				"  STAGE: createRuntime | prestart (apply), poststop (remove)\n");
		return 2;
	}
	const char *stage = argv[1];
	create_stage = az_stage_creates(stage);
	bool stop_stage = !strcmp(stage, "poststop");
	char *text = NULL;
	size_t len = 0;
	az_error err = { 0 };
	if (az_read_fd(STDIN_FILENO, AZ_HOOK_MAX_STATE, &text, &len, &err) < 0) {
		fprintf(stderr, "alcatraz: reading the OCI state: %s\n", err.msg);
		return create_stage ? 1 : 0;
	}
	int rc;
	if ((create_stage || stop_stage) && call_applier(stage, text, len, &rc) == 0) {
		free(text);
		return rc;
	}
	errno = 0;
	rc = apply_here(argv, text, len);	/* returns only when it could not exec */
	free(text);
	return rc;
}
