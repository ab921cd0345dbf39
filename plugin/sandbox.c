/* sandbox.c — the second layer of a Docker endpoint's rules, in the
 * container's own network namespace (DESIGN.md point 12: a host `nft flush
 * ruleset` cannot reach it).
 *
 * Join names the netns (SandboxKey), but on Docker 20.10-27 a new
 * container's netns is bound there only later, by runc's prestart hook
 * (libnetwork-setkey), after Join has returned: no driver call comes
 * between.  So the endpoint goes in with the host layer alone — it is
 * protected from its first packet — and this thread adds the netns table
 * as soon as the path is a network namespace, typically a few ms after the
 * container's start.  Polling a handful of paths is cheaper and surer than
 * the events stream, which a plugin may not have (--no-labels, a managed
 * plugin without Docker's socket).  An endpoint whose path never becomes a
 * netns within PL_NETNS_WAIT_MS (a managed plugin whose mount namespace
 * does not see Docker's netns bind mounts) keeps the host layer alone, and
 * the log says so once.
 */
#include "plugin/plugin.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PASS_BUSY_MS 20		/* while an endpoint's netns is awaited */
#define PASS_IDLE_MS 250

long pl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool awaited(const struct pl_endpoint *e)
{
	return e->joined && e->sandbox[0] && !e->ns_applied && !e->ns_given_up;
}

size_t pl_netns_pass(struct pl_driver *d)
{
	size_t left = 0;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; d->ops->rules_netns && i < d->n_ep; i++) {
		struct pl_endpoint *e = &d->eps[i];
		az_error err = { 0 };

		if (!awaited(e))
			continue;
		int r = d->ops->rules_netns(e, &err);
		long waited = pl_now_ms() - e->ns_since_ms;
		if (r == 2) {
			e->ns_applied = true;	/* nothing to put there */
		} else if (r > 0) {
			e->ns_applied = true;
			az_log(LOG_INFO, e->id, "rules in the container's network namespace %s applied "
			       "(%ld ms after Join)", e->sandbox, waited);
		} else if (r < 0) {
			e->ns_given_up = true;
			az_log(LOG_ERR, e->id, "rules in the container's network namespace %s: %s; it "
			       "keeps the host layer alone (a host \"nft flush ruleset\" opens it until "
			       "\"alcatraz restore\")", e->sandbox, err.msg);
		} else if (waited > PL_NETNS_WAIT_MS) {
			e->ns_given_up = true;
			az_log(LOG_WARNING, e->id, "%s did not become a network namespace within %d s "
			       "(not visible to this plugin? a managed plugin sees only its own mounts): "
			       "the endpoint keeps the host layer alone", e->sandbox,
			       PL_NETNS_WAIT_MS / 1000);
		} else {
			left++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	return left;
}

struct pl_netns {
	struct pl_driver *d;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
};

static void *netns_main(void *arg)
{
	struct pl_netns *t = arg;
	sigset_t s;

	/* Signals are main's to take. */
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		pthread_mutex_unlock(&t->lock);
		int ms = pl_netns_pass(t->d) ? PASS_BUSY_MS : PASS_IDLE_MS;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += ms * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&t->lock);
		while (!t->stop && pthread_cond_timedwait(&t->cond, &t->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int pl_netns_start(struct pl_driver *d, struct pl_netns **out, az_error *err)
{
	pthread_condattr_t ca;
	struct pl_netns *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return az_err(err, ENOMEM, "out of memory");
	t->d = d;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	int r = pthread_create(&t->thread, NULL, netns_main, t);
	if (r) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		free(t);
		errno = r;
		return az_err_errno(err, "cannot start the netns thread");
	}
	*out = t;
	return 0;
}

void pl_netns_stop(struct pl_netns *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
