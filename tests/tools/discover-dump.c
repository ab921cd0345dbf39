/* discover-dump — print what hook/discover.c finds, one fact a line, for the
 * integration tests.
 *
 *   discover-dump NETNS_PATH     the container netns (run it in the "host" netns)
 *   discover-dump --hostnet      the caller's netns as a host
 *   discover-dump --resolv FILE  the nameservers of a resolv.conf
 *
 * Output (netns):  iface CTR_IFNAME host=HOST_IFNAME|- bridge=BRIDGE|-
 *                  addr CTR_IFNAME ADDR/LEN
 *                  gw4 ADDR / gw6 ADDR
 *                  n_if N
 * On failure: "error: MESSAGE" on stderr, exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "hook/discover.h"

static int fail(const az_error *err)
{
	fprintf(stderr, "error: %s\n", err->msg);
	return 1;
}

static void print_prefix(const char *what, const char *ifname, const struct az_prefix *p)
{
	char a[AZ_ADDRSTRLEN];
	/* Always with the length, so a test can tell 10.0.0.2/24 from a host. */
	printf("%s %s %s/%u\n", what, ifname, az_addr_str(&p->addr, a), p->len);
}

static int dump_netns(const char *path)
{
	static struct az_target t;
	az_error err = {0};
	char a[AZ_ADDRSTRLEN];

	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		az_err_errno(&err, "open %s", path);
		return fail(&err);
	}
	snprintf(t.id, sizeof(t.id), "untouched");
	if (az_discover_netns(fd, &t, &err) < 0)
		return fail(&err);
	if (strcmp(t.id, "untouched") != 0) {
		fprintf(stderr, "error: discovery changed the target's id\n");
		return 1;
	}
	for (size_t i = 0; i < t.n_if; i++) {
		const struct az_iface *f = &t.ifs[i];
		printf("iface %s host=%s bridge=%s\n", f->ctr_ifname,
		       *f->host_ifname ? f->host_ifname : "-", *f->bridge ? f->bridge : "-");
		for (size_t j = 0; j < f->n4; j++)
			print_prefix("addr", f->ctr_ifname, &f->addr4[j]);
		for (size_t j = 0; j < f->n6; j++)
			print_prefix("addr", f->ctr_ifname, &f->addr6[j]);
	}
	if (t.has_gw4)
		printf("gw4 %s\n", az_addr_str(&t.gw4, a));
	if (t.has_gw6)
		printf("gw6 %s\n", az_addr_str(&t.gw6, a));
	printf("n_if %zu\n", t.n_if);
	return 0;
}

static int dump_hostnet(void)
{
	static struct az_hostnet h;
	az_error err = {0};
	char a[AZ_ADDRSTRLEN];

	if (az_discover_hostnet(&h, &err) < 0)
		return fail(&err);
	for (size_t i = 0; i < h.n; i++)
		printf("hostnet %s/%u\n", az_addr_str(&h.v[i].addr, a), h.v[i].len);
	return 0;
}

static int dump_resolv(const char *path)
{
	cleanup_free char *text = NULL;
	struct az_addr ns[AZ_MAX_RESOLVERS];
	az_error err = {0};
	size_t len, n;
	char a[AZ_ADDRSTRLEN];

	if (az_read_file(path, 65536, &text, &len, &err) < 0)
		return fail(&err);
	if (az_parse_resolv_conf(text, ns, AZ_MAX_RESOLVERS, &n) < 0) {
		fprintf(stderr, "error: %s: cannot parse\n", path);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		printf("nameserver %s\n", az_addr_str(&ns[i], a));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "--hostnet") == 0)
		return dump_hostnet();
	if (argc == 3 && strcmp(argv[1], "--resolv") == 0)
		return dump_resolv(argv[2]);
	if (argc == 2 && argv[1][0] != '-')
		return dump_netns(argv[1]);
	fprintf(stderr, "usage: %s NETNS_PATH | --hostnet | --resolv FILE\n", argv[0]);
	return 2;
}
