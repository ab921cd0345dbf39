/* watch.c — `alcatraz watch`: print refused connections as they happen.
 *
 * Every refusal passes a chain of its reason that sends the packet to NFLOG
 * group AZ_NFLOG_GROUP, under a kernel limit (rules/render.c).  NFLOG
 * instances belong to a network namespace: a message from the table inside
 * a container's netns reaches only a listener bound in that netns.  Almost
 * every refusal happens there (the in-netns table sees the packet first), so
 * listening in the host netns alone would show nearly nothing.  Hence one
 * socket per attachment, opened after entering its netns (a netlink socket
 * stays in the netns it was opened in; setns changes only this thread, and
 * this program has no other), plus one in our own netns for the host layer,
 * where the source address names the container.  The state dir is read
 * again every second to follow attachments that come and go.
 */
#include "cli/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libnetfilter_log/libnetfilter_log.h>
#include <linux/if_ether.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RESCAN_MS 1000
#define COPY_BYTES 128		/* enough for IPv6 + extension headers + ports */
#define RCVBUF (1 << 20)

struct listener {
	char key[64];			/* attachment key; "" for the host netns */
	struct nflog_handle *h;
	struct nflog_g_handle *gh;
	int fd;
	bool seen;			/* still in the state dir at the last scan */
};

struct watcher {
	bool json;
	struct listener *ls;
	size_t n_ls;
	struct az_attachment *att;
	size_t n_att;
	struct listener *current;	/* whose message the callback handles */
	unsigned long shown, lost;
	bool out_failed;
};

static void listener_close(struct listener *l)
{
	if (l->gh)
		nflog_unbind_group(l->gh);
	if (l->h)
		nflog_close(l->h);
	l->gh = NULL;
	l->h = NULL;
	l->fd = -1;
}

static int on_packet(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg, struct nflog_data *nfa,
		     void *arg);

/* Open and bind a listener in the calling thread's netns.  where names the
 * netns in messages. */
static int listener_open(struct watcher *w, struct listener *l, const char *where, az_error *err)
{
	l->fd = -1;
	l->h = nflog_open();
	if (!l->h)
		return az_err_errno(err, "NFLOG socket in %s (nfnetlink_log)", where);
	/* pre-3.x kernels want the log handler per family; later ones ignore it */
	nflog_bind_pf(l->h, AF_INET);
	nflog_bind_pf(l->h, AF_INET6);
	l->gh = nflog_bind_group(l->h, AZ_NFLOG_GROUP);
	if (!l->gh) {
		int e = errno;
		listener_close(l);
		/* the kernel answers EPERM to a second binder of a group (and to a
		 * caller without CAP_NET_ADMIN, checked before we get here) */
		if (e == EPERM || e == EBUSY)
			return az_err(err, EBUSY,
				      "NFLOG group %d in %s is already bound by another process "
				      "(another alcatraz watch, or ulogd?): stop it, then try again",
				      AZ_NFLOG_GROUP, where);
		errno = e;
		return az_err_errno(err, "bind NFLOG group %d in %s", AZ_NFLOG_GROUP, where);
	}
	/* one message per packet, at once: the rate is bounded in the kernel */
	if (nflog_set_mode(l->gh, NFULNL_COPY_PACKET, COPY_BYTES) < 0 ||
	    nflog_set_qthresh(l->gh, 1) < 0 || nflog_set_timeout(l->gh, 0) < 0) {
		int e = errno;
		listener_close(l);
		errno = e;
		return az_err_errno(err, "configure NFLOG group %d in %s", AZ_NFLOG_GROUP, where);
	}
	nflog_callback_register(l->gh, on_packet, w);
	l->fd = nflog_fd(l->h);
	int sz = RCVBUF;
	setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	fcntl(l->fd, F_SETFL, fcntl(l->fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* A listener inside attachment a's netns.  -1 when it cannot be entered
 * (gone meanwhile: the next scan drops it). */
static int listener_open_in(struct watcher *w, struct listener *l, const struct az_attachment *a,
			    az_error *err)
{
	struct stat st;
	int fd = open(a->target.netns_path, O_RDONLY | O_CLOEXEC);
	int saved, r;
	char sid[13], where[96];

	if (fd < 0)
		return az_err_errno(err, "open %s", a->target.netns_path);
	/* the path may name another netns by now (a pid reused) */
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != a->target.netns_dev ||
	    (uint64_t)st.st_ino != a->target.netns_ino) {
		close(fd);
		return az_err(err, ESTALE, "%s is no longer the netns of %s", a->target.netns_path,
			      a->key);
	}
	if (az_netns_enter(fd, &saved, err) < 0) {
		close(fd);
		return -1;
	}
	snprintf(where, sizeof(where), "the netns of %s",
		 a->n_members ? az_short_id(a->members[0], sid) : a->key);
	r = listener_open(w, l, where, err);
	az_netns_leave(saved);
	close(fd);
	snprintf(l->key, sizeof(l->key), "%s", a->key);
	return r;
}

static struct listener *listener_find(struct watcher *w, const char *key)
{
	for (size_t i = 0; i < w->n_ls; i++)
		if (w->ls[i].h && !strcmp(w->ls[i].key, key))
			return &w->ls[i];
	return NULL;
}

static struct listener *listener_slot(struct watcher *w)
{
	for (size_t i = 1; i < w->n_ls; i++)
		if (!w->ls[i].h)
			return &w->ls[i];
	struct listener *v = realloc(w->ls, (w->n_ls + 1) * sizeof(*v));
	if (!v)
		return NULL;
	w->ls = v;
	memset(&v[w->n_ls], 0, sizeof(*v));
	v[w->n_ls].fd = -1;
	return &v[w->n_ls++];
}

/* Read the state dir again: open listeners for new attachments, close
 * those of attachments gone.  A first failure is an error (so a watcher
 * that cannot see a container says so); later ones are logged. */
static int rescan(struct watcher *w, bool first, az_error *err)
{
	struct az_attachment *v = NULL;
	size_t n = 0;

	if (az_attachments_read(&v, &n, err) < 0) {
		if (first)
			return -1;
		fprintf(stderr, "alcatraz watch: %s\n", err->msg);
		return 0;
	}
	az_attachments_free(w->att, w->n_att);
	w->att = v;
	w->n_att = n;
	for (size_t i = 1; i < w->n_ls; i++)
		w->ls[i].seen = false;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].alive || !v[i].target.netns_path[0])
			continue;
		struct listener *l = listener_find(w, v[i].key);
		if (l) {
			l->seen = true;
			continue;
		}
		l = listener_slot(w);
		if (!l)
			return az_err(err, ENOMEM, "out of memory");
		az_error e = { 0 };
		if (listener_open_in(w, l, &v[i], &e) < 0) {
			if (e.code == EBUSY || first) {
				*err = e;
				return -1;
			}
			fprintf(stderr, "alcatraz watch: %s\n", e.msg);
			continue;
		}
		l->seen = true;
	}
	for (size_t i = 1; i < w->n_ls; i++)
		if (w->ls[i].h && !w->ls[i].seen)
			listener_close(&w->ls[i]);
	return 0;
}

static const struct az_attachment *attachment_by_key(const struct watcher *w, const char *key)
{
	for (size_t i = 0; i < w->n_att; i++)
		if (!strcmp(w->att[i].key, key))
			return &w->att[i];
	return NULL;
}

static int on_packet(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg, struct nflog_data *nfa,
		     void *arg)
{
	struct watcher *w = arg;
	struct cli_refusal r = { 0 };
	char *payload = NULL;
	int len = nflog_get_payload(nfa, &payload);
	(void)gh;
	(void)nfmsg;

	if (cli_refusal_reason(nflog_get_prefix(nfa), &r) < 0 || len <= 0 ||
	    cli_refusal_from_packet((const uint8_t *)payload, (size_t)len, &r) < 0)
		return 0;	/* not ours: another user of the group's number */
	if (nflog_get_timestamp(nfa, &r.time) < 0)
		gettimeofday(&r.time, NULL);
	r.host_layer = !w->current->key[0];
	if (r.host_layer)
		cli_refusal_set_container(&r, cli_attachment_by_addr(w->att, w->n_att, &r.src));
	else
		cli_refusal_set_container(&r, attachment_by_key(w, w->current->key));

	struct az_buf b;
	az_buf_init(&b);
	cli_refusal_format(&r, w->json, &b);
	if (b.data && fwrite(b.data, 1, b.len, stdout) != b.len)
		w->out_failed = true;
	az_buf_free(&b);
	w->shown++;
	return 0;
}

static void drain(struct watcher *w, struct listener *l)
{
	char buf[65536];

	w->current = l;
	for (;;) {
		ssize_t n = recv(l->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			nflog_handle_packet(l->h, buf, (int)n);
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			/* the socket overflowed: messages were dropped */
			w->lost++;
			continue;
		}
		break;
	}
	if (fflush(stdout) != 0)
		w->out_failed = true;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int watch_loop(struct watcher *w, int sfd)
{
	struct pollfd *pf = NULL;
	long next = now_ms() + RESCAN_MS;
	int code = CLI_OK;

	for (;;) {
		struct pollfd *np = realloc(pf, (w->n_ls + 1) * sizeof(*np));
		if (!np) {
			fprintf(stderr, "alcatraz watch: out of memory\n");
			code = CLI_ERROR;
			break;
		}
		pf = np;
		size_t n = 0;
		pf[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (size_t i = 0; i < w->n_ls; i++)
			pf[n++] = (struct pollfd){ .fd = w->ls[i].h ? w->ls[i].fd : -1,
						   .events = POLLIN };
		long wait = next - now_ms();
		int r = poll(pf, n, wait < 0 ? 0 : (int)wait);
		if (r < 0 && errno != EINTR) {
			perror("alcatraz watch: poll");
			code = CLI_ERROR;
			break;
		}
		if (r > 0 && pf[0].revents)
			break;	/* SIGINT or SIGTERM */
		for (size_t i = 1; r > 0 && i < n; i++)
			if (pf[i].revents && w->ls[i - 1].h)
				drain(w, &w->ls[i - 1]);
		if (w->out_failed) {
			/* stdout closed (a pipe reader gone): nothing left to do */
			code = CLI_ERROR;
			break;
		}
		if (now_ms() >= next) {
			az_error err = { 0 };
			if (rescan(w, false, &err) < 0) {
				fprintf(stderr, "alcatraz watch: %s\n", err.msg);
				code = CLI_ERROR;
				break;
			}
			next = now_ms() + RESCAN_MS;
		}
	}
	free(pf);
	return code;
}

int cli_watch(int argc, char **argv, const struct cli_global *gl)
{
	static const struct option longopts[] = { CLI_COMMON_LONGOPTS, { 0 } };
	struct cli_global g = *gl;
	int opt, code = CLI_OK;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1)
		if (cli_common_opt(opt, &g, &code) && opt != 'J')
			return code;
	if (optind < argc)
		return cli_usage_error(g.verb, "unexpected argument \"%s\"", argv[optind]);

	/* Signals arrive as a readable fd, between two messages, never in the
	 * middle of a line. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		perror("alcatraz watch: signalfd");
		return CLI_ERROR;
	}

	struct watcher w = { .json = g.json };
	az_error err = { 0 };
	struct listener *host = listener_slot(&w);
	if (!host || listener_open(&w, host, "the host netns", &err) < 0 ||
	    rescan(&w, true, &err) < 0) {
		code = cli_fail(&err);
	} else {
		fprintf(stderr, "alcatraz watch: listening (NFLOG group %d) in the host netns "
					"and %zu container netns; Ctrl-C to stop\n",
				AZ_NFLOG_GROUP, w.n_ls - 1);
		code = watch_loop(&w, sfd);
	}
	for (size_t i = 0; i < w.n_ls; i++)
		if (w.ls[i].h)
			listener_close(&w.ls[i]);
	free(w.ls);
	az_attachments_free(w.att, w.n_att);
	close(sfd);
	fflush(stdout);
	if (w.lost)
		fprintf(stderr, "alcatraz watch: %lu socket overflows: some refusals were not shown\n",
			w.lost);
	if (code == CLI_OK)
		fprintf(stderr, "alcatraz watch: stopped, %lu refusals shown\n", w.shown);
	return code;
}
