/* watch.h — internal to cli/: `alcatraz watch`, refused connections as they
 * happen, from the NFLOG messages of the refuse chains (AZ_NFLOG_GROUP).
 */
#ifndef ALCATRAZ_CLI_WATCH_H
#define ALCATRAZ_CLI_WATCH_H

#include <sys/time.h>

#include "cli/cli.h"

/* One refused packet. */
struct cli_refusal {
	struct timeval time;
	char container[AZ_ID_MAX + 1];	/* "" when no attachment holds the source */
	char name[AZ_NAME_MAX + 1];	/* its name, "" when the runtime gave none */
	size_t members;			/* containers sharing that netns */
	bool host_layer;		/* refused in the host netns, else in the container's */
	const char *reason;		/* az_reasons() name; NULL unknown */
	uint8_t proto;			/* IPPROTO_* */
	struct az_addr src, dst;
	bool has_ports;
	uint16_t sport, dport;
};

/* The reason named by an NFLOG prefix ("alcatraz:lan"); -1 when the prefix
 * is not one of ours. */
int cli_refusal_reason(const char *prefix, struct cli_refusal *r);
/* Addresses, protocol and ports from a packet starting at its IPv4 or IPv6
 * header (as NFLOG hands it); -1 when it is not one. */
int cli_refusal_from_packet(const uint8_t *pkt, size_t len, struct cli_refusal *r);
/* The attachment one of whose container addresses is a (live ones first),
 * or NULL: what the host layer knows of a packet is its source. */
const struct az_attachment *cli_attachment_by_addr(const struct az_attachment *v, size_t n,
						   const struct az_addr *a);
/* r's container: a's first member (NULL: unknown). */
void cli_refusal_set_container(struct cli_refusal *r, const struct az_attachment *a);
const char *cli_proto_name(uint8_t proto, char buf[8]);
/* One line: text, or one JSON object (keys time, container, layer, reason,
 * proto, src, dst, sport, dport). */
int cli_refusal_format(const struct cli_refusal *r, bool json, struct az_buf *out);

int cli_watch(int argc, char **argv, const struct cli_global *g);

#endif
