/* azraw — inject one handmade UDP datagram with a packet socket, the way a
 * container holding CAP_NET_RAW (Docker grants it by default) can: the frame
 * leaves on the interface without passing the IP stack or any netfilter
 * hook of the sender's network namespace, so only rules outside it (the
 * host's bridge and inet layers) can stop it.
 *
 *   azraw IFNAME DSTMAC SRC DST DPORT [--sport N] [--send TEXT] [--count N]
 *
 * SRC and DST are numeric, both IPv4 or both IPv6; SRC may be any address
 * (that is the point).  The kernel writes the Ethernet header (AF_PACKET,
 * SOCK_DGRAM): source MAC of IFNAME, destination DSTMAC.  Prints
 * "sent N" and exits 0, or "error ..." and exits 5; usage errors exit 64.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(void)
{
	fputs("usage: azraw IFNAME DSTMAC SRC DST DPORT [--sport N] [--send TEXT] [--count N]\n",
	      stderr);
	exit(64);
}

static long num(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		usage();
	return v;
}

/* One's complement sum, folded by the caller. */
static uint32_t sum16(const void *data, size_t len, uint32_t acc)
{
	const uint8_t *p = data;
	for (; len > 1; p += 2, len -= 2)
		acc += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		acc += (uint32_t)(p[0] << 8);
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

int main(int argc, char **argv)
{
	if (argc < 6)
		usage();
	const char *ifname = argv[1], *payload = "azraw";
	unsigned sport = 40000, count = 1;
	for (int i = 6; i < argc; i++) {
		if (!strcmp(argv[i], "--sport") && i + 1 < argc)
			sport = (unsigned)num(argv[++i], 1, 65535);
		else if (!strcmp(argv[i], "--send") && i + 1 < argc)
			payload = argv[++i];
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = (unsigned)num(argv[++i], 1, 100);
		else
			usage();
	}
	unsigned dport = (unsigned)num(argv[5], 1, 65535);

	unsigned char mac[6];
	if (sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		   &mac[4], &mac[5]) != 6)
		usage();

	uint8_t pkt[1500];
	size_t plen = strlen(payload);
	if (plen > 1000)
		usage();
	size_t udplen = 8 + plen, total;
	int proto;
	uint8_t *udp;
	struct in_addr s4, d4;
	struct in6_addr s6, d6;

	memset(pkt, 0, sizeof(pkt));
	if (inet_pton(AF_INET, argv[3], &s4) == 1 && inet_pton(AF_INET, argv[4], &d4) == 1) {
		proto = ETH_P_IP;
		total = 20 + udplen;
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(total >> 8);
		pkt[3] = (uint8_t)total;
		pkt[4] = 0x12;	/* id */
		pkt[6] = 0x40;	/* DF */
		pkt[8] = 64;	/* ttl */
		pkt[9] = IPPROTO_UDP;
		memcpy(pkt + 12, &s4, 4);
		memcpy(pkt + 16, &d4, 4);
		uint16_t c = fold(sum16(pkt, 20, 0));
		pkt[10] = (uint8_t)(c >> 8);
		pkt[11] = (uint8_t)c;
		udp = pkt + 20;
	} else if (inet_pton(AF_INET6, argv[3], &s6) == 1 && inet_pton(AF_INET6, argv[4], &d6) == 1) {
		proto = ETH_P_IPV6;
		total = 40 + udplen;
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)(udplen >> 8);
		pkt[5] = (uint8_t)udplen;
		pkt[6] = IPPROTO_UDP;
		pkt[7] = 64;	/* hop limit */
		memcpy(pkt + 8, &s6, 16);
		memcpy(pkt + 24, &d6, 16);
		udp = pkt + 40;
	} else {
		fputs("azraw: SRC and DST must be numeric addresses of one family\n", stderr);
		return 64;
	}
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(udplen >> 8);
	udp[5] = (uint8_t)udplen;
	memcpy(udp + 8, payload, plen);

	/* UDP checksum over the pseudo-header (mandatory for IPv6). */
	uint32_t acc;
	if (proto == ETH_P_IP)
		acc = sum16(pkt + 12, 8, 0);
	else
		acc = sum16(pkt + 8, 32, 0);
	acc += IPPROTO_UDP + (uint32_t)udplen;
	uint16_t c = fold(sum16(udp, udplen, acc));
	if (c == 0)
		c = 0xffff;
	udp[6] = (uint8_t)(c >> 8);
	udp[7] = (uint8_t)c;

	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons((uint16_t)proto));
	if (fd < 0) {
		printf("error socket:%s\n", strerror(errno));
		return 5;
	}
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons((uint16_t)proto);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	sll.sll_halen = 6;
	memcpy(sll.sll_addr, mac, 6);
	if (!sll.sll_ifindex) {
		printf("error no interface %s\n", ifname);
		return 5;
	}
	unsigned sent = 0;
	for (unsigned i = 0; i < count; i++) {
		if (sendto(fd, pkt, total, 0, (struct sockaddr *)&sll, sizeof(sll)) != (ssize_t)total) {
			printf("error sendto:%s\n", strerror(errno));
			return 5;
		}
		sent++;
		if (i + 1 < count)
			usleep(20000);
	}
	close(fd);
	printf("sent %u\n", sent);
	return 0;
}
