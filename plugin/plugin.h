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
 *
 * Locking: one mutex (struct pl_driver.lock) around every call that changes
 * state; calls for different containers are served concurrently by the HTTP
 * layer but serialized here, each one short (no Engine API call, no DNS).
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
	bool joined;
	bool has_mac;			/* Docker asked for this MAC (docker run --mac-address) */
	uint8_t mac[6];			/* for the container end */
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
	/* isolation rules for the endpoint (rules/: az_attach with the host
	 * layer only — the container's netns does not exist yet at Join) */
	int (*rules_apply)(const struct pl_network *n, const struct pl_endpoint *e,
			   const struct az_policy *p, az_error *err);
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
};

/* driver.c */
int pl_driver_init(struct pl_driver *d, const struct pl_ops *ops, const char *state_dir, az_error *err);
void pl_driver_free(struct pl_driver *d);
/* Handle one call: path is "/NetworkDriver.CreateNetwork" etc., body the raw
 * request (may be empty).  Returns the reply text (malloc'ed JSON, "{}" at
 * least) and sets *status (200, or 404 for an unknown path). Never fails. */
char *pl_driver_call(struct pl_driver *d, const char *path, const char *body, size_t len,
		     int *status);

/* driver.c, shared with store.c: every network and endpoint passes the same
 * checks, whether it came from Docker or from the state dir. */
bool pl_id_valid(const char *id);	/* 64 lowercase hex */
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

/* store.c */
int pl_store_load(struct pl_driver *d, az_error *err);
int pl_store_save_network(const struct pl_driver *d, const struct pl_network *n, az_error *err);
int pl_store_delete_network(const struct pl_driver *d, const char *id, az_error *err);
int pl_store_save_endpoint(const struct pl_driver *d, const struct pl_endpoint *e, az_error *err);
int pl_store_delete_endpoint(const struct pl_driver *d, const char *id, az_error *err);

/* netops.c */
extern const struct pl_ops pl_netops;

/* http.c: serve until *stop; listen_fd is a bound, listening Unix socket. */
int pl_http_serve(struct pl_driver *d, int listen_fd, volatile int *stop, az_error *err);

#endif
