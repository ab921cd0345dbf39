/* plugin.h — internal interfaces of alcatraz-plugin, the Docker libnetwork
 * remote driver.  The plugin is an adapter like hook/: it shares config/ and
 * rules/, and adds the network plumbing Docker expects a driver to do.
 *
 *   http.c     libmicrohttpd on a Unix socket (or a systemd-activated fd):
 *              bounded bodies, one JSON reply per call, {"Err": ...} on error
 *   driver.c   the remote-driver calls: request JSON in, reply JSON out;
 *              validation of every field; network/endpoint bookkeeping;
 *              effects only through struct pl_ops (unit-tested with fakes)
 *   store.c    networks and endpoints persisted under the state dir
 *              (atomic writes), loaded at start
 *   netops.c   the real pl_ops: bridge + veth with libnl-route-3, NAT and
 *              forwarding, rules via rules/ (az_attach / az_detach)
 *   main.c     options, socket activation, capabilities, signals
 *   engine.c   a client of the Docker Engine API on its Unix socket (libcurl)
 *   events.c   the label route: a thread watching Docker's network connect
 *              events reads each container's alcatraz.network.* labels and
 *              releases its endpoint, held since Join, with its own settings
 *
 * Locking: one mutex (struct pl_driver.lock) around every call that changes
 * state; calls for different containers are served concurrently by the HTTP
 * layer but serialized here, each one short (no Engine API call, no DNS).
 * The events thread takes it the same way: never across an Engine API call.
 */
#ifndef ALCATRAZ_PLUGIN_H
#define ALCATRAZ_PLUGIN_H

#include <pthread.h>
#include <cjson/cJSON.h>

#include "common/common.h"
#include "config/config.h"
#include "rules/rules.h"

#define PL_MAX_BODY (1u << 20)		/* larger request bodies are refused */
#define PL_ID_LEN 64			/* Docker ids: 64 lowercase hex */
#define PL_MAX_POOLS 4
#define PL_SANDBOX_MAX 256		/* Join's SandboxKey, a path */

/* A network the driver made (CreateNetwork). */
struct pl_network {
	char id[PL_ID_LEN + 1];
	char bridge[IFNAMSIZ];		/* "az" + first 12 hex of the id */
	size_t n4, n6;
	struct az_prefix pool4[PL_MAX_POOLS], gw4[PL_MAX_POOLS];	/* gw: address + pool length */
	struct az_prefix pool6[PL_MAX_POOLS], gw6[PL_MAX_POOLS];
	bool ipv6, internal;
	int mtu;
	/* alcatraz.network.* from -o, validated at CreateNetwork; merged with
	 * the system file at each endpoint (file < network < endpoint). */
	size_t n_opts;
	struct az_kv *opts;		/* owned strings */
};

/* An endpoint (CreateEndpoint .. DeleteEndpoint). */
struct pl_endpoint {
	char id[PL_ID_LEN + 1];
	char network_id[PL_ID_LEN + 1];
	char host_if[IFNAMSIZ];		/* "azh" + 11 hex: on the bridge */
	char ctr_if[IFNAMSIZ];		/* "azc" + 11 hex: moved into the container */
	bool has4, has6;
	struct az_prefix addr4, addr6;
	size_t n_opts;			/* alcatraz.network.* from --driver-opt */
	struct az_kv *opts;
	char container_id[PL_ID_LEN + 1];	/* learnt from the Engine API, "" until then */
	char container_name[65];	/* likewise, for alcatraz list/watch; not stored */
	bool joined;
	/* Not stored: the rules go in held (target.hold: nothing but DNS)
	 * until events.c has applied the container's labels. */
	bool hold;
	bool has_mac;			/* Docker asked for this MAC (docker run --mac-address) */
	uint8_t mac[6];			/* for the container end */
	/* Join's SandboxKey: where Docker binds the container's netns.  On
	 * Docker 20.10-27 it is not there yet at Join for a new container
	 * (runc's prestart hook binds it a moment later), so the netns layer
	 * of the rules follows from sandbox.c once it is; "" before Join. */
	char sandbox[PL_SANDBOX_MAX];
	/* Not stored (a restarted plugin applies it again): the netns layer
	 * is in place; since when it is awaited; given up on (the path never
	 * became a netns: a managed plugin that cannot see it). */
	bool ns_applied, ns_given_up;
	long ns_since_ms;
};

/* The effects the driver needs; netops.c has the real ones, the unit tests
 * fakes.  Each returns 0 or -1 with *err set, and is idempotent: "already
 * exists" (create) and "not found" (delete) are success. */
struct pl_ops {
	int (*network_create)(const struct pl_network *n, az_error *err);
	int (*network_delete)(const struct pl_network *n, az_error *err);
	/* veth pair, host end on the bridge and up; the container end stays in
	 * the host netns until Docker moves it */
	int (*endpoint_create)(const struct pl_network *n, const struct pl_endpoint *e, az_error *err);
	int (*endpoint_delete)(const struct pl_endpoint *e, az_error *err);
	/* isolation rules for the endpoint (rules/: az_attach, az_reattach
	 * once attached): the host layer, and the table in the container's
	 * netns when e->sandbox is one already.  1: both layers; 0: the host
	 * layer only (the netns is not there yet; rules_netns adds it) */
	int (*rules_apply)(const struct pl_network *n, const struct pl_endpoint *e,
			   const struct az_policy *p, az_error *err);
	/* the netns layer of an attached endpoint, with the settings it is
	 * attached with, once e->sandbox is a network namespace.  1: in place;
	 * 2: nothing attached (isolation off); 0: not a netns yet.  May be
	 * NULL. */
	int (*rules_netns)(const struct pl_endpoint *e, az_error *err);
	/* both layers out (the netns table only when it is this endpoint's) */
	int (*rules_remove)(const struct pl_endpoint *e, az_error *err);
	void *ctx;
};

struct pl_driver {
	pthread_mutex_t lock;
	const struct pl_ops *ops;
	char state_dir[PATH_MAX];
	size_t n_net, cap_net;
	struct pl_network *nets;
	size_t n_ep, cap_ep;
	struct pl_endpoint *eps;
	/* The label route is on: Join holds each endpoint (and forgets the
	 * container id) until events.c applies its container's labels. */
	bool labels;
};

/* driver.c */
int pl_driver_init(struct pl_driver *d, const struct pl_ops *ops, const char *state_dir, az_error *err);
void pl_driver_free(struct pl_driver *d);
/* At start: remove endpoints whose host veth is gone (dockerd was killed,
 * which drops endpoints without telling the driver; or a reboot) and those
 * never joined (the plugin died in their Join: Docker gave up on them),
 * then repair every stored network (bridge, NAT, forwarding). */
int pl_driver_collect_orphans(struct pl_driver *d, bool (*host_if_exists)(const char *name),
			      size_t *removed);
/* Handle one call: path is "/NetworkDriver.CreateNetwork" etc., body the raw
 * request (may be empty).  Returns the reply text (malloc'ed JSON, "{}" at
 * least) and sets *status (200, or 404 for an unknown path). Never fails. */
char *pl_driver_call(struct pl_driver *d, const char *path, const char *body, size_t len,
		     int *status);

/* driver.c, shared with store.c: every network and endpoint passes the same
 * checks, whether it came from Docker or from the state dir. */
bool pl_id_valid(const char *id);	/* 64 lowercase hex */
/* An absolute path of [A-Za-z0-9._/-], no "..", shorter than PL_SANDBOX_MAX. */
bool pl_sandbox_valid(const char *path);
/* "ADDR/LEN" whose address may have host bits (an interface address, a
 * gateway), or a bare "ADDR" (a host prefix).  family AF_INET, AF_INET6 or
 * 0 for either. */
int pl_ifaddr_parse(const char *s, int family, struct az_prefix *out, az_error *err);
/* alcatraz.network.* key/values: known keys, each once, values that parse
 * (config/'s grammar; what the administrator allows is az_policy_resolve's
 * to judge).  what names their origin in messages. */
int pl_opts_check(const struct az_kv *kv, size_t n, const char *what, az_error *err);
/* Deep copy (owned strings) into *out / *n_out; pl_opts_free releases. */
int pl_opts_dup(const struct az_kv *kv, size_t n, struct az_kv **out, size_t *n_out, az_error *err);
void pl_opts_free(struct az_kv *kv, size_t n);
void pl_network_names(struct pl_network *n);	/* bridge from id */
void pl_endpoint_names(struct pl_endpoint *e);	/* host_if, ctr_if from id */
int pl_network_check(const struct pl_network *n, az_error *err);
int pl_endpoint_check(const struct pl_network *n, const struct pl_endpoint *e, az_error *err);
void pl_network_free(struct pl_network *n);	/* its options, not n */
void pl_endpoint_free(struct pl_endpoint *e);
struct pl_network *pl_driver_network(struct pl_driver *d, const char *id);
struct pl_endpoint *pl_driver_endpoint(struct pl_driver *d, const char *id);
/* Add to the tables (no effect, no store); the tables own the options from
 * then on, and *n / *e must not be freed by the caller on success. */
int pl_driver_add_network(struct pl_driver *d, const struct pl_network *n, az_error *err);
int pl_driver_add_endpoint(struct pl_driver *d, const struct pl_endpoint *e, az_error *err);
/* The settings of an endpoint, pure: file defaults (s) < network options <
 * container labels < endpoint driver options, under s->annotations (each
 * key is also judged alone, so that a refusal names it).  labels may be
 * NULL. */
int pl_policy_resolve(const struct az_settings *s, const struct pl_network *n,
		      const struct az_kv *labels, size_t nl, const struct az_kv *eo, size_t ne,
		      struct az_policy *out, az_error *err);

/* store.c */
int pl_store_load(struct pl_driver *d, az_error *err);
int pl_store_save_network(const struct pl_driver *d, const struct pl_network *n, az_error *err);
int pl_store_delete_network(const struct pl_driver *d, const char *id, az_error *err);
int pl_store_save_endpoint(const struct pl_driver *d, const struct pl_endpoint *e, az_error *err);
int pl_store_delete_endpoint(const struct pl_driver *d, const char *id, az_error *err);

/* netops.c */
extern const struct pl_ops pl_netops;
/* The file dockerd (20.10) takes the embedded DNS's upstreams from, which
 * dns=auto allows: /etc/resolv.conf unless --resolv-conf says otherwise. */
extern const char *pl_resolv_conf;

/* engine.c: the Docker Engine API on a Unix socket.  One client per thread;
 * every transfer is bounded in time and size, and ends early once
 * pl_engine_interrupt is called (from any thread). */
#define PL_DEFAULT_DOCKER_HOST "unix:///var/run/docker.sock"
struct pl_engine;
typedef void pl_line_fn(const char *line, size_t len, void *arg);
/* host: "unix:///PATH" (the only kind: the API is root's, never on TCP). */
int pl_engine_new(const char *host, struct pl_engine **out, az_error *err);
void pl_engine_free(struct pl_engine *e);
const char *pl_engine_host(const struct pl_engine *e);
void pl_engine_interrupt(struct pl_engine *e);
bool pl_engine_interrupted(const struct pl_engine *e);
/* GET path (query already escaped): the body of a 200 reply, at most max
 * bytes, NUL-terminated, in *body (free it). */
int pl_engine_get(struct pl_engine *e, const char *path, size_t max, char **body, size_t *len,
		  az_error *err);
/* A long GET whose reply is JSON lines (/events): one at a time.  run waits
 * up to timeout_ms for data, then hands each complete line to fn; it
 * returns 1 while the stream is open, 0 once it ended (err says how); *up
 * becomes true when Docker has answered 200. */
int pl_engine_stream_open(struct pl_engine *e, const char *path, pl_line_fn *fn, void *arg,
			  az_error *err);
int pl_engine_stream_run(struct pl_engine *e, int timeout_ms, bool *up, az_error *err);
void pl_engine_stream_close(struct pl_engine *e);
/* Sleep up to ms, or until interrupted. */
void pl_engine_sleep(struct pl_engine *e, int ms);
/* "%XX" for every byte but RFC 3986's unreserved ones; NULL: out of memory. */
char *pl_url_escape(const char *s);

/* events.c: the label route.  Docker never sends labels to a driver, and
 * asking the Engine API from inside a driver call deadlocks (the container
 * is locked while it starts): a thread of its own watches the "connect"
 * events of networks, reads the container's labels with GET
 * /containers/json (never inspect), and releases the endpoint held since
 * Join with the container's own settings. */
struct pl_event {
	char network_id[PL_ID_LEN + 1];		/* Actor.ID */
	char container_id[PL_ID_LEN + 1];	/* Actor.Attributes.container */
};
/* One line of GET /events: 1 and *ev for a network "connect", 0 for any
 * other event (or a blank line), -1 with *err when it is not an event. */
int pl_event_parse(const char *line, size_t len, struct pl_event *ev, az_error *err);

struct pl_ctr_net {
	char network_id[PL_ID_LEN + 1];
	char endpoint_id[PL_ID_LEN + 1];	/* "" until Docker has recorded it */
};
/* One container of GET /containers/json. */
struct pl_container {
	char id[PL_ID_LEN + 1];
	char name[65];			/* without the "/"; "" when unfit to print */
	bool stopped;			/* State exited, dead or removing: no endpoint to come */
	size_t n_nets;
	struct pl_ctr_net *nets;
	size_t n_labels;		/* its alcatraz.network* labels, owned */
	struct az_kv *labels;
	bool labels_bad;		/* a label is wrong: labels_err says which and why */
	az_error labels_err;
};
/* A /containers/json reply.  A container without a valid Id is skipped;
 * wrong label types or values are recorded in the container (labels_bad),
 * not an error of the whole reply. */
int pl_containers_parse(const char *body, size_t len, struct pl_container **out, size_t *n,
			az_error *err);
void pl_containers_free(struct pl_container *v, size_t n);
/* Release endpoint endpoint_id (on network_id) of container c with c's
 * labels: resolve, then rules_apply with hold off (a swap in one
 * transaction).  Takes d->lock.  1: applied; 0: nothing to do (unknown, not
 * joined, another network, or done already); -1: refused, the endpoint
 * stays held, *err names the container, the label and the reason. */
int pl_labels_apply(struct pl_driver *d, const char *network_id, const char *endpoint_id,
		    const struct pl_container *c, az_error *err);
/* --no-labels: release endpoints a previous run left held, with the
 * settings they would get at Join. */
void pl_labels_release_held(struct pl_driver *d);
struct pl_events;
/* Start the thread (d->labels must be set); it retries Docker forever. */
int pl_events_start(struct pl_driver *d, const char *host, struct pl_events **out, az_error *err);
void pl_events_stop(struct pl_events *ev);

/* sandbox.c: the netns layer of joined endpoints whose SandboxKey was not a
 * network namespace yet at Join.  One pass: rules_netns for each that is
 * awaited; returns how many are still awaited.  Takes d->lock. */
#define PL_NETNS_WAIT_MS 60000	/* then the endpoint keeps the host layer alone */
size_t pl_netns_pass(struct pl_driver *d);
long pl_now_ms(void);		/* CLOCK_MONOTONIC */
struct pl_netns;
/* A thread running pl_netns_pass every few ms while something is awaited. */
int pl_netns_start(struct pl_driver *d, struct pl_netns **out, az_error *err);
void pl_netns_stop(struct pl_netns *t);

/* http.c: serve until *stop; listen_fd is a bound, listening Unix socket. */
int pl_http_serve(struct pl_driver *d, int listen_fd, volatile int *stop, az_error *err);

#endif
