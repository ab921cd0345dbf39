/* events.c — the label route: a container's alcatraz.network.* labels reach
 * its endpoint after Join, from a thread of its own.
 *
 * Docker sends a driver neither labels nor container names, and the Engine
 * API must not be asked from inside a driver call (the starting container
 * is locked: an inspect from Join deadlocks `docker run`).  So Join holds
 * the endpoint — nothing but DNS passes, the proxy cannot be bypassed — and
 * this thread:
 *
 *   1. streams GET /events filtered to network "connect" events (Docker
 *      emits one once the endpoint is joined, with Actor.ID the network and
 *      Attributes.container the container);
 *   2. for one of our networks, reads the container with GET
 *      /containers/json?all=1&filters={"id":[...]} (answers while the
 *      container starts, unlike inspect), its labels and, in
 *      NetworkSettings.Networks, its EndpointID on that network;
 *   3. releases that endpoint of ours with the merged settings (file < -o <
 *      labels < driver-opt, see driver.c) in one rules transaction.
 *
 * On every (re)connection of the stream it reconciles: endpoints still
 * held (joined, no container id recorded) are looked up in one list, which
 * covers events missed while dockerd or the plugin was down.  The stream
 * also asks for the last seconds of events again (since=), because dockerd
 * answers the request a moment before it subscribes.
 *
 * A label that is wrong cannot fail `docker run` any more: the endpoint
 * stays held, and the error names the container, the label and the reason.
 * The driver lock is taken only to read or change the tables and apply
 * rules, never across an Engine API call.
 */
#include "plugin/plugin.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define QUEUE_MAX 1024		/* events waiting; past it, a reconcile instead */
/* Docker lists a container's EndpointID only once its start has finished,
 * some 200-400 ms after the connect event here, seconds under load: look
 * again every RETRY_MIN_MS for RETRY_FAST tries, then less often, for at
 * most RETRY_FOR_MS in all. */
#define RETRY_MIN_MS 50
#define RETRY_FAST 10
#define RETRY_MAX_MS 1000
#define RETRY_FOR_MS 30000
#define BACKOFF_MIN_MS 100	/* reconnecting to dockerd */
#define BACKOFF_MAX_MS 5000
#define IDLE_MS 1000
#define ANSWER_MS 10000		/* a dockerd that takes longer to answer /events is asked again */
#define SINCE_S 2		/* events asked again at each connection */
#define ONE_MAX (4u << 20)	/* reply about one container */
#define LIST_MAX (64u << 20)	/* reply listing containers */
#define FILTER_NETS_MAX 32	/* more networks: list every container */
#define BAD_LINES_LOGGED 3

static void cjson_deletep(cJSON **j)
{
	cJSON_Delete(*j);
}
#define cleanup_cjson _cleanup_(cjson_deletep)

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- parsing (pure) ---- */

static const char *str_field(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *parse_json(const char *text, size_t len, const char *what, az_error *err)
{
	const char *end = NULL;
	cJSON *j;

	if (az_json_has_nul(text, len)) {
		az_err(err, EINVAL, "%s holds a NUL byte (raw or as \\u0000)", what);
		return NULL;
	}
	j = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!j)
		az_err(err, EINVAL, "%s is not valid JSON (at byte %zu)", what,
		       end && end >= text ? (size_t)(end - text) : 0);
	return j;
}

int pl_event_parse(const char *line, size_t len, struct pl_event *ev, az_error *err)
{
	memset(ev, 0, sizeof(*ev));
	size_t i = 0;
	while (i < len && strchr(" \t\r\n", line[i]))
		i++;
	if (i == len)
		return 0;
	cleanup_cjson cJSON *j = parse_json(line, len, "an event", err);
	if (!j)
		return -1;
	if (!cJSON_IsObject(j))
		return az_err(err, EINVAL, "an event is not a JSON object");
	const char *type = str_field(j, "Type"), *action = str_field(j, "Action");
	if (!type || !action)
		return az_err(err, EINVAL, "an event without Type or Action");
	if (strcmp(type, "network") || strcmp(action, "connect"))
		return 0;
	const cJSON *actor = cJSON_GetObjectItemCaseSensitive(j, "Actor");
	const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(actor, "Attributes");
	const char *nid = str_field(actor, "ID"), *cid = str_field(attrs, "container");
	if (!nid || !pl_id_valid(nid))
		return az_err(err, EINVAL, "a network connect event whose Actor.ID is not a network id");
	if (!cid || !pl_id_valid(cid))
		return az_err(err, EINVAL, "a network connect event whose Actor.Attributes.container "
			      "is not a container id");
	memcpy(ev->network_id, nid, PL_ID_LEN + 1);
	memcpy(ev->container_id, cid, PL_ID_LEN + 1);
	return 1;
}

static bool label_ours(const char *key)
{
	return !strncmp(key, AZ_KEY_ENABLE, strlen(AZ_KEY_ENABLE));
}

/* A label name fit to quote, or a stand-in. */
static const char *quotable(const char *key)
{
	size_t n = 0;
	for (; key[n] && n <= 100; n++)
		if (key[n] <= 0x20 || key[n] >= 0x7f || key[n] == '"' || key[n] == '\\')
			return AZ_KEY_ENABLE "... (an unprintable or overlong name)";
	return n <= 100 ? key : AZ_KEY_ENABLE "... (an unprintable or overlong name)";
}

static void set_name(struct pl_container *c, const cJSON *names)
{
	const cJSON *first = cJSON_IsArray(names) ? cJSON_GetArrayItem(names, 0) : NULL;
	const char *s = cJSON_IsString(first) ? first->valuestring : "";
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n;

	if (*s == '/')
		s++;
	n = strlen(s);
	if (n == 0 || n >= sizeof(c->name) || strspn(s, ok) != n)
		return;
	memcpy(c->name, s, n + 1);
}

static int set_labels(struct pl_container *c, const cJSON *labels, az_error *err)
{
	const cJSON *x;
	size_t k = 0;

	if (!labels || cJSON_IsNull(labels))
		return 0;
	if (!cJSON_IsObject(labels)) {
		c->labels_bad = true;
		az_err(&c->labels_err, EINVAL, "its Labels are not an object");
		return 0;
	}
	cJSON_ArrayForEach(x, labels)
		k += label_ours(x->string);
	if (!k)
		return 0;
	c->labels = calloc(k, sizeof(*c->labels));
	if (!c->labels)
		return az_err(err, ENOMEM, "out of memory");
	cJSON_ArrayForEach(x, labels) {
		if (!label_ours(x->string))
			continue;
		if (!cJSON_IsString(x)) {
			c->labels_bad = true;
			az_err(&c->labels_err, EINVAL, "label %s is not a string", quotable(x->string));
			return 0;
		}
		struct az_kv *kv = &c->labels[c->n_labels];
		kv->key = strdup(x->string);
		kv->value = strdup(x->valuestring);
		c->n_labels++;
		if (!kv->key || !kv->value)
			return az_err(err, ENOMEM, "out of memory");
	}
	/* The grammar now, the administrator's policy when applied. */
	if (pl_opts_check(c->labels, c->n_labels, "label", &c->labels_err) < 0)
		c->labels_bad = true;
	return 0;
}

static int set_nets(struct pl_container *c, const cJSON *settings, az_error *err)
{
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(settings, "Networks"), *x;
	size_t k = (size_t)cJSON_GetArraySize(nets);

	if (!cJSON_IsObject(nets) || !k)
		return 0;
	c->nets = calloc(k, sizeof(*c->nets));
	if (!c->nets)
		return az_err(err, ENOMEM, "out of memory");
	cJSON_ArrayForEach(x, nets) {
		const char *nid = str_field(x, "NetworkID"), *eid = str_field(x, "EndpointID");
		struct pl_ctr_net *n = &c->nets[c->n_nets];

		/* The network's name is no use: the driver never learns it. */
		if (!nid || !pl_id_valid(nid))
			continue;
		memcpy(n->network_id, nid, PL_ID_LEN + 1);
		if (eid && pl_id_valid(eid))
			memcpy(n->endpoint_id, eid, PL_ID_LEN + 1);
		c->n_nets++;
	}
	return 0;
}

void pl_containers_free(struct pl_container *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		pl_opts_free(v[i].labels, v[i].n_labels);
		free(v[i].nets);
	}
	free(v);
}

int pl_containers_parse(const char *body, size_t len, struct pl_container **out, size_t *n,
			az_error *err)
{
	const cJSON *x;

	*out = NULL;
	*n = 0;
	cleanup_cjson cJSON *j = parse_json(body, len, "the container list", err);
	if (!j)
		return -1;
	if (!cJSON_IsArray(j))
		return az_err(err, EINVAL, "the container list is not a JSON array");
	size_t k = (size_t)cJSON_GetArraySize(j);
	struct pl_container *v = calloc(k ? k : 1, sizeof(*v));
	if (!v)
		return az_err(err, ENOMEM, "out of memory");
	size_t m = 0;
	cJSON_ArrayForEach(x, j) {
		const char *id = str_field(x, "Id");
		if (!id || !pl_id_valid(id))
			continue;
		struct pl_container *c = &v[m++];
		memcpy(c->id, id, PL_ID_LEN + 1);
		set_name(c, cJSON_GetObjectItemCaseSensitive(x, "Names"));
		const char *state = str_field(x, "State");
		c->stopped = state && (!strcmp(state, "exited") || !strcmp(state, "dead") ||
				       !strcmp(state, "removing"));
		if (set_nets(c, cJSON_GetObjectItemCaseSensitive(x, "NetworkSettings"), err) < 0 ||
		    set_labels(c, cJSON_GetObjectItemCaseSensitive(x, "Labels"), err) < 0) {
			pl_containers_free(v, m);
			return -1;
		}
	}
	*out = v;
	*n = m;
	return 0;
}

/* ---- releasing an endpoint ---- */

static void describe(const struct pl_container *c, char *buf, size_t cap)
{
	if (c->name[0])
		snprintf(buf, cap, "container %.12s (\"%s\")", c->id, c->name);
	else
		snprintf(buf, cap, "container %.12s", c->id);
}

static int apply_locked(struct pl_driver *d, const char *network_id, const char *endpoint_id,
			const struct pl_container *c, az_error *err)
{
	char who[128];
	struct az_settings s;
	struct az_policy p;
	az_error e2;

	describe(c, who, sizeof(who));
	struct pl_endpoint *e = pl_driver_endpoint(d, endpoint_id);
	/* Gone, left, on another network, or released already (the event
	 * and a reconcile may both name it). */
	if (!e || !e->joined || strcmp(e->network_id, network_id) || e->container_id[0])
		return 0;
	const struct pl_network *n = pl_driver_network(d, network_id);
	if (!n)
		return 0;
	if (c->labels_bad)
		return az_err(err, EINVAL, "%s: %s", who, c->labels_err.msg);
	if (az_settings_load(NULL, &s, err) < 0)
		return az_err_prefix(err, "%s", who);
	int r = pl_policy_resolve(&s, n, c->labels, c->n_labels, e->opts, e->n_opts, &p, err);
	az_settings_free(&s);
	if (r < 0)
		return az_err_prefix(err, "%s", who);
	e->hold = false;
	memcpy(e->container_name, c->name, sizeof(e->container_name));
	int applied = d->ops->rules_apply(n, e, &p, err);
	if (applied < 0) {
		/* The swap is one transaction: the held rules are still there. */
		e->hold = true;
		az_policy_free(&p);
		return az_err_prefix(err, "%s: applying its settings", who);
	}
	/* Not a netns yet: sandbox.c puts these settings there once it is. */
	e->ns_applied = applied > 0;
	memcpy(e->container_id, c->id, sizeof(e->container_id));
	if (pl_store_save_endpoint(d, e, &e2) < 0)
		/* Harmless: a restarted plugin reads the labels again. */
		az_log(LOG_WARNING, e->id, "%s", e2.msg);
	struct az_buf b;
	az_buf_init(&b);
	az_policy_format(&p, &b);
	az_log(LOG_INFO, e->id, "%s: released with its settings (%zu label%s): %s", who, c->n_labels,
	       c->n_labels == 1 ? "" : "s", b.data ? b.data : "");
	az_buf_free(&b);
	az_policy_free(&p);
	return 1;
}

int pl_labels_apply(struct pl_driver *d, const char *network_id, const char *endpoint_id,
		    const struct pl_container *c, az_error *err)
{
	pthread_mutex_lock(&d->lock);
	int r = apply_locked(d, network_id, endpoint_id, c, err);
	pthread_mutex_unlock(&d->lock);
	return r;
}

static void apply_and_report(struct pl_driver *d, const char *network_id, const char *endpoint_id,
			     const struct pl_container *c)
{
	az_error err = { 0 };

	if (pl_labels_apply(d, network_id, endpoint_id, c, &err) < 0)
		az_log(LOG_ERR, endpoint_id, "%s; its endpoint %.12s on network %.12s stays held: "
		       "nothing but DNS passes until the container is made again with valid labels "
		       "(or the administrator's settings allow them)", err.msg, endpoint_id, network_id);
}

void pl_labels_release_held(struct pl_driver *d)
{
	struct az_attachment *v = NULL;
	size_t k = 0, released = 0;
	az_error err;

	if (az_attachments_read(&v, &k, &err) < 0) {
		az_log(LOG_WARNING, NULL, "cannot read the rules' state to release held endpoints: %s",
		       err.msg);
		return;
	}
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < k; i++) {
		if (!v[i].target.hold)
			continue;
		for (size_t j = 0; j < v[i].n_members; j++) {
			struct pl_endpoint *e = pl_driver_endpoint(d, v[i].members[j]);
			const struct pl_network *n = e ? pl_driver_network(d, e->network_id) : NULL;
			struct az_settings s;
			struct az_policy p;
			if (!n || !e->joined)
				continue;
			if (az_settings_load(NULL, &s, &err) < 0) {
				az_log(LOG_ERR, e->id, "stays held: %s", err.msg);
				continue;
			}
			int r = pl_policy_resolve(&s, n, NULL, 0, e->opts, e->n_opts, &p, &err);
			az_settings_free(&s);
			e->hold = false;
			if (r < 0 || (r = d->ops->rules_apply(n, e, &p, &err)) < 0) {
				e->hold = true;
				az_log(LOG_ERR, e->id, "stays held: %s", err.msg);
			} else {
				e->ns_applied = r > 0;
				released++;
			}
			az_policy_free(&p);
		}
	}
	pthread_mutex_unlock(&d->lock);
	az_attachments_free(v, k);
	if (released)
		az_log(LOG_NOTICE, NULL, "labels are off (--no-labels): released %zu endpoint%s a previous "
		       "run held", released, released == 1 ? "" : "s");
}

/* ---- the thread ---- */

struct pending {
	struct pl_event ev;
	int tries;
	long first, due;	/* ms: first lookup, next one */
};

struct pl_events {
	struct pl_driver *d;
	struct pl_engine *api;
	pthread_t thread;
	struct pending q[QUEUE_MAX];
	size_t n;
	bool overflow;
	unsigned bad_lines;
};

static void on_line(const char *line, size_t len, void *arg)
{
	struct pl_events *ev = arg;
	struct pl_event e;
	az_error err;

	int r = pl_event_parse(line, len, &e, &err);
	if (r < 0) {
		if (ev->bad_lines++ < BAD_LINES_LOGGED)
			az_log(LOG_WARNING, NULL, "%s: %s (ignored)", pl_engine_host(ev->api), err.msg);
		return;
	}
	if (r == 0)
		return;
	if (ev->n == QUEUE_MAX) {
		ev->overflow = true;
		return;
	}
	ev->q[ev->n++] = (struct pending){ .ev = e, .due = 0 };
}

static char *containers_path(const char *filter_json)
{
	char *f = filter_json ? pl_url_escape(filter_json) : NULL;
	struct az_buf b;

	if (filter_json && !f)
		return NULL;
	az_buf_init(&b);
	az_buf_printf(&b, "/containers/json?all=1%s%s", f ? "&filters=" : "", f ? f : "");
	free(f);
	return b.data ? az_buf_steal(&b) : NULL;
}

static int list_containers(struct pl_events *ev, const char *filter_json, size_t max,
			   struct pl_container **v, size_t *n, az_error *err)
{
	cleanup_free char *path = containers_path(filter_json);
	cleanup_free char *body = NULL;
	size_t len;

	*v = NULL;
	*n = 0;
	if (!path)
		return az_err(err, ENOMEM, "out of memory");
	if (pl_engine_get(ev->api, path, max, &body, &len, err) < 0)
		return -1;
	return pl_containers_parse(body, len, v, n, err);
}

enum { KEEP, DONE };

static int retry(struct pending *p, const char *why)
{
	long now = now_ms(), wait = RETRY_MIN_MS;

	if (!p->first)
		p->first = now;
	if (now - p->first < RETRY_FOR_MS) {
		if (++p->tries > RETRY_FAST) {
			int k = p->tries - RETRY_FAST;
			wait = k >= 5 ? RETRY_MAX_MS : RETRY_MIN_MS << k;
			wait = wait < RETRY_MAX_MS ? wait : RETRY_MAX_MS;
		}
		p->due = now + wait;
		return KEEP;
	}
	az_log(LOG_WARNING, NULL, "container %.12s on network %.12s: %s after %d s; its endpoint "
	       "stays held until the next reconcile (when the event stream reconnects)",
	       p->ev.container_id, p->ev.network_id, why, RETRY_FOR_MS / 1000);
	return DONE;
}

static int handle(struct pl_events *ev, struct pending *p)
{
	char filter[128];
	struct pl_container *v;
	size_t n;
	az_error err;

	pthread_mutex_lock(&ev->d->lock);
	bool ours = pl_driver_network(ev->d, p->ev.network_id) != NULL;
	pthread_mutex_unlock(&ev->d->lock);
	if (!ours)
		return DONE;
	snprintf(filter, sizeof(filter), "{\"id\":[\"%s\"]}", p->ev.container_id);
	if (list_containers(ev, filter, ONE_MAX, &v, &n, &err) < 0)
		return pl_engine_interrupted(ev->api) ? DONE : retry(p, err.msg);
	int r = DONE;
	const struct pl_container *c = NULL;
	for (size_t i = 0; i < n && !c; i++)
		if (!strcmp(v[i].id, p->ev.container_id))
			c = &v[i];
	const struct pl_ctr_net *net = NULL;
	for (size_t i = 0; c && i < c->n_nets && !net; i++)
		if (!strcmp(c->nets[i].network_id, p->ev.network_id))
			net = &c->nets[i];
	if (!c || (c->stopped && (!net || !net->endpoint_id[0])))
		az_log(LOG_INFO, NULL, "container %.12s %s before its labels were read",
		       p->ev.container_id, c ? "stopped" : "is gone");
	else if (!net || !net->endpoint_id[0])
		r = retry(p, "Docker lists no endpoint for it");
	else
		apply_and_report(ev->d, net->network_id, net->endpoint_id, c);
	pl_containers_free(v, n);
	return r;
}

/* Work through what is due; returns ms until the next retry is due. */
static int process_queue(struct pl_events *ev)
{
	long next = IDLE_MS, now;

	for (size_t i = 0; i < ev->n && !pl_engine_interrupted(ev->api);) {
		if (ev->q[i].due <= now_ms() && handle(ev, &ev->q[i]) == DONE) {
			memmove(&ev->q[i], &ev->q[i + 1], (ev->n - i - 1) * sizeof(ev->q[0]));
			ev->n--;
		} else {
			i++;
		}
	}
	now = now_ms();
	for (size_t i = 0; i < ev->n; i++)
		if (ev->q[i].due - now < next)
			next = ev->q[i].due - now;
	return (int)(next > 0 ? next : 0);
}

struct held {
	char endpoint_id[PL_ID_LEN + 1];
	char network_id[PL_ID_LEN + 1];
};

/* Endpoints still held, each looked up: those whose event was missed. */
static void reconcile(struct pl_events *ev)
{
	struct pl_driver *d = ev->d;
	cleanup_free struct held *h = NULL;
	size_t nh = 0, found = 0;

	pthread_mutex_lock(&d->lock);
	h = calloc(d->n_ep ? d->n_ep : 1, sizeof(*h));
	for (size_t i = 0; h && i < d->n_ep; i++)
		if (d->eps[i].joined && !d->eps[i].container_id[0]) {
			memcpy(h[nh].endpoint_id, d->eps[i].id, sizeof(h[nh].endpoint_id));
			memcpy(h[nh].network_id, d->eps[i].network_id, sizeof(h[nh].network_id));
			nh++;
		}
	pthread_mutex_unlock(&d->lock);
	if (!h) {
		az_log(LOG_ERR, NULL, "reconcile: out of memory");
		return;
	}
	if (!nh)
		return;

	/* Only the containers on those networks, when they are few. */
	cleanup_cjson cJSON *f = cJSON_CreateObject();
	cJSON *a = f ? cJSON_AddArrayToObject(f, "network") : NULL;
	size_t nets = 0;
	for (size_t i = 0; a && i < nh; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(h[i].network_id, h[j].network_id);
		if (!seen) {
			cJSON_AddItemToArray(a, cJSON_CreateString(h[i].network_id));
			nets++;
		}
	}
	cleanup_free char *filter = a && nets <= FILTER_NETS_MAX ? cJSON_PrintUnformatted(f) : NULL;

	struct pl_container *v;
	size_t n;
	az_error err;
	if (list_containers(ev, filter, LIST_MAX, &v, &n, &err) < 0) {
		if (!pl_engine_interrupted(ev->api))
			az_log(LOG_WARNING, NULL, "reconcile: %s; %zu held endpoint%s stay%s held", err.msg,
			       nh, nh == 1 ? "" : "s", nh == 1 ? "s" : "");
		return;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < v[i].n_nets; j++)
			for (size_t k = 0; k < nh; k++) {
				if (strcmp(v[i].nets[j].endpoint_id, h[k].endpoint_id) ||
				    strcmp(v[i].nets[j].network_id, h[k].network_id))
					continue;
				apply_and_report(d, h[k].network_id, h[k].endpoint_id, &v[i]);
				found++;
			}
	pl_containers_free(v, n);
	az_log(LOG_INFO, NULL, "reconcile: %zu held endpoint%s, %zu found in Docker's container list",
	       nh, nh == 1 ? "" : "s", found);
}

static char *events_path(void)
{
	cleanup_free char *f = pl_url_escape("{\"type\":[\"network\"],\"event\":[\"connect\"]}");
	struct az_buf b;

	if (!f)
		return NULL;
	az_buf_init(&b);
	az_buf_printf(&b, "/events?since=%lld&filters=%s", (long long)time(NULL) - SINCE_S, f);
	return b.data ? az_buf_steal(&b) : NULL;
}

/* One connection: until the stream ends or we stop.  Tells whether Docker
 * answered. */
static bool watch(struct pl_events *ev, az_error *err)
{
	cleanup_free char *path = events_path();
	bool up = false, was_up = false;
	int wait = 0;
	long start = now_ms();

	if (!path) {
		az_err(err, ENOMEM, "out of memory");
		return false;
	}
	if (pl_engine_stream_open(ev->api, path, on_line, ev, err) < 0)
		return false;
	while (!pl_engine_interrupted(ev->api)) {
		int r = pl_engine_stream_run(ev->api, wait, &up, err);
		if (up && !was_up) {
			was_up = true;
			az_log(LOG_INFO, NULL, "watching Docker's network connect events on %s",
			       pl_engine_host(ev->api));
			reconcile(ev);
		}
		if (ev->overflow) {
			ev->overflow = false;
			az_log(LOG_WARNING, NULL, "more than %d events waiting: reconciling instead",
			       QUEUE_MAX);
			reconcile(ev);
		}
		wait = process_queue(ev);
		if (r == 0)
			break;
		if (!up && now_ms() - start > ANSWER_MS) {
			az_err(err, ETIMEDOUT, "the event stream on %s: no answer within %d s",
			       pl_engine_host(ev->api), ANSWER_MS / 1000);
			break;
		}
	}
	pl_engine_stream_close(ev->api);
	return was_up;
}

static void *events_main(void *arg)
{
	struct pl_events *ev = arg;
	int backoff = BACKOFF_MIN_MS;
	bool said = false;
	sigset_t s;

	/* Signals are main's to take. */
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	while (!pl_engine_interrupted(ev->api)) {
		az_error err = { 0 };
		bool was_up = watch(ev, &err);
		/* What was waiting is looked up again by the next reconcile. */
		ev->n = 0;
		ev->overflow = false;
		ev->bad_lines = 0;
		if (pl_engine_interrupted(ev->api))
			break;
		if (was_up) {
			backoff = BACKOFF_MIN_MS;
			said = false;
			az_log(LOG_NOTICE, NULL, "%s; reconnecting", err.msg);
		} else if (!said) {
			said = true;
			az_log(LOG_WARNING, NULL, "cannot watch Docker's events: %s; endpoints joined "
			       "meanwhile stay held (only DNS passes) until it answers; retrying every "
			       "%d s at most", err.msg, BACKOFF_MAX_MS / 1000);
		}
		pl_engine_sleep(ev->api, backoff);
		backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
	}
	return NULL;
}

int pl_events_start(struct pl_driver *d, const char *host, struct pl_events **out, az_error *err)
{
	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return az_err(err, EIO, "libcurl cannot be initialized");
	struct pl_events *ev = calloc(1, sizeof(*ev));
	if (!ev) {
		curl_global_cleanup();
		return az_err(err, ENOMEM, "out of memory");
	}
	ev->d = d;
	if (pl_engine_new(host, &ev->api, err) < 0)
		goto fail;
	int r = pthread_create(&ev->thread, NULL, events_main, ev);
	if (r) {
		errno = r;
		az_err_errno(err, "cannot start the events thread");
		goto fail;
	}
	*out = ev;
	return 0;
fail:
	pl_engine_free(ev->api);
	free(ev);
	curl_global_cleanup();
	return -1;
}

void pl_events_stop(struct pl_events *ev)
{
	if (!ev)
		return;
	pl_engine_interrupt(ev->api);
	pthread_join(ev->thread, NULL);
	pl_engine_free(ev->api);
	free(ev);
	curl_global_cleanup();
}
