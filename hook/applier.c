/* The long-lived applier (see applier.h): a Unix seqpacket socket in the
 * state dir, one request per connection.
 *
 * Request: one datagram, "alcatraz-applier 1\n" VERSION "\n" STAGE "\n"
 * CONFIG "\n" STATEDIR "\n" TIMING "\n" then the OCI state.  Answer: one
 * datagram, "served RC\n" then the hook's messages, or "not-here WHY\n".
 * Identity (root, namespaces, binary) is read from the kernel, never from
 * the request.
 */
#include "hook/applier.h"
#include "config/config.h"
#include "rules/rules.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

/* A request still running after this is wedged: SIGALRM ends the applier
 * (its service restarts it); the hooks waiting apply alone. */
#define REQUEST_WATCHDOG_S 60

static unsigned long n_served, n_refused, n_dropped;
/* set by peer_mismatch: this applier's own file was replaced (an upgrade) */
static bool replaced;
/* the connection of the request being served (the lock gate asks it) */
static int current_conn = -1;

bool az_applier_listening(void)
{
	struct sockaddr_un sa;
	if (az_applier_addr(&sa) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool yes = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return yes;
}

/* Why this process must not serve the peer, or NULL. */
static const char *peer_mismatch(int conn)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.pid <= 0)
		return "peer credentials unknown";
	if (cr.uid != 0)
		return "peer is not root";
	static const char *const what[] = { "ns/net", "ns/mnt", "ns/pid" };
	static const char *const why[] = { "peer in another network namespace",
					   "peer in another mount namespace",
					   "peer in another pid namespace" };
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
		char mine[64], theirs[64];
		snprintf(mine, sizeof(mine), "/proc/self/%s", what[i]);
		snprintf(theirs, sizeof(theirs), "/proc/%d/%s", (int)cr.pid, what[i]);
		if (!az_same_file(mine, theirs))
			return why[i];
	}
	/* The hook's own alcatraz-apply must be this very file: after an
	 * upgrade (a new inode) the hook applies with the new one itself. */
	char exe[64], peer_apply[PATH_MAX];
	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)cr.pid);
	if (!az_apply_beside(exe, peer_apply))
		return "peer's program unknown";
	if (!az_same_file(peer_apply, "/proc/self/exe")) {
		/* our file gone or replaced at its path: exit after answering, for
		 * the service manager to start the new one */
		char self[PATH_MAX];
		ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (sl > 0) {
			self[sl] = '\0';
			replaced = strstr(self, " (deleted)") != NULL;
		}
		return "the hook's alcatraz-apply is another file than this applier's";
	}
	return NULL;
}

/* Whether the hook on conn still waits for the answer. */
static bool hook_waits(int conn)
{
	struct pollfd pf = { .fd = conn, .events = POLLRDHUP };
	return !(poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLRDHUP | POLLERR)));
}

/* az_state_lock_gate: the hook of the request being served still waits. */
static bool current_hook_waits(void)
{
	return current_conn < 0 || hook_waits(current_conn);
}

static void answer(int conn, const char *text, size_t len)
{
	if (len > AZ_APPLIER_ANSWER_MAX)
		len = AZ_APPLIER_ANSWER_MAX;
	if (send(conn, text, len, MSG_NOSIGNAL) < 0)
		az_log(LOG_DEBUG, NULL, "applier: answering: %s", strerror(errno));
}

static void not_here(int conn, const char *why)
{
	char m[256];
	int n = snprintf(m, sizeof(m), "not-here %s\n", why);
	az_log(LOG_INFO, NULL, "applier: not serving a request: %s", why);
	n_refused++;
	answer(conn, m, n < 0 ? 0 : (size_t)n < sizeof(m) ? (size_t)n : sizeof(m) - 1);
}

static void serve_one(int conn, az_applier_handler handle, char *buf, size_t cap)
{
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* the request first, so that the hook reads the answer, not a reset */
	ssize_t n = recv(conn, buf, cap - 1, MSG_TRUNC);
	if (n <= 0)
		return;
	if (!hook_waits(conn)) {
		/* it gave up waiting and applied alone (or gave up altogether) */
		az_log(LOG_INFO, NULL, "applier: dropping a request whose hook is gone");
		n_dropped++;
		return;
	}
	const char *why = peer_mismatch(conn);
	if (why) {
		not_here(conn, why);
		return;
	}
	if ((size_t)n >= cap) {
		not_here(conn, "request too large");
		return;
	}
	buf[n] = '\0';
	size_t ml = strlen(AZ_APPLIER_MAGIC);
	if ((size_t)n < ml || memcmp(buf, AZ_APPLIER_MAGIC, ml)) {
		not_here(conn, "not an alcatraz-applier request");
		return;
	}
	/* five header lines after the magic one, then the state */
	char *f[5], *at = buf + ml;
	for (size_t i = 0; i < 5; i++) {
		char *nl = memchr(at, '\n', (size_t)(buf + n - at));
		if (!nl || nl - buf > AZ_APPLIER_HDR_MAX) {
			not_here(conn, "malformed request");
			return;
		}
		*nl = '\0';
		f[i] = at;
		at = nl + 1;
	}
	const char *version = f[0], *stage = f[1], *cfg = f[2], *sdir = f[3], *tf = f[4];
	const char *state = at;
	size_t state_len = (size_t)(buf + n - at);
	if (strcmp(version, AZ_VERSION)) {
		not_here(conn, "another version");
		return;
	}
	if (strcmp(cfg, az_settings_path()) || strcmp(sdir, az_state_dir())) {
		not_here(conn, "another settings file or state dir");
		return;
	}
	/* A hook that gave up waiting (this applier was stopped or slow) has
	 * applied alone; its late request must not redo that or undo what came
	 * since: asked again once the state lock is held (az_state_lock_gate),
	 * which the hook applying alone takes too. */
	struct az_buf msgs, out;
	az_buf_init(&msgs);
	az_buf_init(&out);
	az_log_capture(&msgs);
	bool timing = !strcmp(tf, "1");
	az_timing_set(timing);
	if (timing)	/* tests tell a served run from a fallback by this */
		az_buf_printf(&msgs, "alcatraz-hook: served by the applier (pid %d)\n", (int)getpid());
	az_phase("applier");
	current_conn = conn;
	alarm(REQUEST_WATCHDOG_S);
	int rc = handle(stage, state, state_len);
	alarm(0);
	az_timing_set(false);
	az_log_capture(NULL);
	bool waits = hook_waits(conn);
	current_conn = -1;
	if (!waits) {
		n_dropped++;	/* refused at the lock, or done and unheard */
		az_buf_free(&msgs);
		return;
	}
	n_served++;
	if (az_buf_printf(&out, "served %d\n", rc < 0 || rc > 255 ? 1 : rc) == 0 &&
	    az_buf_append(&out, msgs.data ? msgs.data : "", msgs.len) == 0)
		answer(conn, out.data, out.len);
	az_buf_free(&msgs);
	az_buf_free(&out);
}

static volatile sig_atomic_t stopping;
static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

int az_applier_serve(az_applier_handler handle, az_error *err)
{
	struct sockaddr_un sa;
	if (az_applier_addr(&sa) < 0)
		return az_err(err, ENAMETOOLONG, "the state dir %s is too long for a socket path",
			      az_state_dir());
	const char *path = sa.sun_path;
	if (az_mkdir_p(az_state_dir(), 0700, err) < 0)
		return -1;
	if (az_applier_listening())
		return az_err(err, EADDRINUSE, "an applier already serves %s", path);
	/* a socket file nobody answers on is a dead applier's */
	unlink(path);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return az_err_errno(err, "socket");
	mode_t old = umask(0077);
	int b = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (b < 0 || listen(s, 128) < 0) {
		az_err_errno(err, "listen on %s", path);
		close(s);
		return -1;
	}
	struct stat bound;
	if (stat(path, &bound) < 0) {
		az_err_errno(err, "stat %s", path);
		close(s);
		return -1;
	}
	/* SIGTERM/SIGINT are taken only while waiting for a connection: a
	 * request being served is finished first (libnftables would take an
	 * interrupted wait for a failure). */
	sigset_t stop, during_wait;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, &during_wait);
	sigdelset(&during_wait, SIGTERM);
	sigdelset(&during_wait, SIGINT);
	struct sigaction act = { .sa_handler = on_stop };
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	az_state_lock_gate = current_hook_waits;
	az_nft_keep_host_context(true);
	az_log(LOG_INFO, NULL, "applier: serving %s", path);
	fprintf(stderr, "alcatraz-apply: applier serving %s (pid %d)\n", path, (int)getpid());
	size_t cap = AZ_APPLIER_MAX_STATE + AZ_APPLIER_HDR_MAX + 1;
	char *buf = malloc(cap);
	if (!buf) {
		close(s);
		unlink(path);
		return az_err(err, ENOMEM, "out of memory");
	}
	while (!stopping && !replaced) {
		struct pollfd pf = { .fd = s, .events = POLLIN };
		int p = ppoll(&pf, 1, NULL, &during_wait);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0) {
			az_log(LOG_ERR, NULL, "applier: poll: %s", strerror(errno));
			break;
		}
		int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
				az_log(LOG_WARNING, NULL, "applier: accept: %s", strerror(errno));
				poll(NULL, 0, 100);	/* no hot loop; the hooks apply alone meanwhile */
			}
			continue;
		}
		serve_one(c, handle, buf, cap);
		close(c);
	}
	free(buf);
	close(s);
	/* not a newer applier's socket (one started after ours was removed) */
	if (az_stat_matches(path, &bound))
		unlink(path);
	az_nft_keep_host_context(false);
	char done[256];
	snprintf(done, sizeof(done), "applier stopped after %lu requests served, %lu not served, %lu dropped%s",
		 n_served, n_refused, n_dropped, replaced ? " (its program was replaced: restart it)" : "");
	/* on stderr too: the service's journal, and the tests' evidence */
	az_log(LOG_INFO, NULL, "%s", done);
	fprintf(stderr, "alcatraz-apply: %s\n", done);
	if (replaced)
		return az_err(err, ESTALE, "the applier's program was replaced (an upgrade): exiting for "
					   "the service manager to start the new one");
	return 0;
}
