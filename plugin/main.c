/* alcatraz-plugin — the Docker network plugin (libnetwork remote driver).
 *
 *   alcatraz-plugin [--socket PATH] [--state-dir DIR] [--docker-host URL | --no-labels]
 *
 * Serves the driver on a Unix socket, or on the socket systemd passes
 * (LISTEN_FDS), until SIGTERM or SIGINT.  Stopping leaves every network and
 * endpoint in place: running containers stay isolated, and a restarted
 * plugin picks them up from the state dir, since Docker re-sends nothing.
 */
#include "plugin/plugin.h"

#include <errno.h>
#include <net/if.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/docker/plugins/alcatraz.sock"
#define DEFAULT_STATE "/var/lib/alcatraz/plugin"
#define SD_LISTEN_FDS_START 3
#define BACKLOG 128

static volatile int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	printf(
		"usage: alcatraz-plugin [--socket PATH] [--state-dir DIR] [--docker-host URL | --no-labels]\n"
		"                       [--resolv-conf FILE]\n"
		"\n"
		"Docker network plugin: `docker network create -d NAME` makes a network whose\n"
		"containers are isolated from the LAN, the host and each other.\n"
		"\n"
		"  --socket PATH     Unix socket to serve (default " DEFAULT_SOCKET ");\n"
		"                    NAME is its base name without .sock\n"
		"  --state-dir DIR   where networks and endpoints are recorded\n"
		"                    (default " DEFAULT_STATE ")\n"
		"  --docker-host URL the Engine API, read for containers' alcatraz.network.*\n"
		"                    labels (default " PL_DEFAULT_DOCKER_HOST "); until\n"
		"                    they are read, a new endpoint passes nothing but DNS\n"
		"  --no-labels       no labels: endpoints get their settings at once\n"
		"                    (file, -o of the network, --driver-opt)\n"
		"  --resolv-conf FILE the resolvers dns=auto allows: those dockerd's embedded\n"
		"                    DNS forwards to (default /etc/resolv.conf, as dockerd;\n"
		"                    if dockerd has --dns or daemon.json \"dns\", a file with\n"
		"                    those as nameserver lines)\n"
		"  --help            this text\n"
		"\n"
		"Started by systemd with LISTEN_FDS, it serves the socket passed as fd 3.\n"
		"Settings: /etc/alcatraz/alcatraz.json, or $ALCATRAZ_CONFIG.\n");
}

static void drop_capabilities(void)
{
	/* Links, addresses and nftables need CAP_NET_ADMIN; entering a
	 * container's netns CAP_SYS_ADMIN, finding it through /proc
	 * CAP_SYS_PTRACE; the state dirs and Docker's socket the DAC ones.
	 * Nothing else. */
	static const cap_value_t keep[] = { CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE,
					    CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH };
	cap_t c = cap_init();
	if (!c)
		return;
	int n = (int)(sizeof(keep) / sizeof(keep[0]));
	cap_set_flag(c, CAP_PERMITTED, n, keep, CAP_SET);
	cap_set_flag(c, CAP_EFFECTIVE, n, keep, CAP_SET);
	if (cap_set_proc(c) < 0)
		az_log(LOG_DEBUG, NULL, "cannot drop capabilities: %s", strerror(errno));
	cap_free(c);
}

static int parse_count(const char *s, long *out)
{
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	return errno || *end || *out < 0 ? -1 : 0;
}

/* The socket systemd passed, if these variables are for this process:
 * returns the fd, -1 with *err on error, or -2 when not activated. */
static int activated_socket(az_error *err)
{
	long pid, n;
	int listening = 0, type = 0;
	socklen_t len = sizeof(int);

	if (parse_count(getenv("LISTEN_PID"), &pid) < 0 || pid != (long)getpid())
		return -2;
	if (parse_count(getenv("LISTEN_FDS"), &n) < 0 || n < 1)
		return az_err(err, EINVAL, "LISTEN_FDS is \"%s\": expected the number of sockets passed",
			      getenv("LISTEN_FDS") ? getenv("LISTEN_FDS") : "");
	/* Not for our children (nft, iptables). */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n > 1)
		az_log(LOG_WARNING, NULL, "systemd passed %ld sockets; serving the first only", n);
	int fd = SD_LISTEN_FDS_START;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return az_err_errno(err, "fd %d from systemd", fd);
	if (!listening || type != SOCK_STREAM)
		return az_err(err, EINVAL,
			      "fd %d from systemd is not a listening stream socket (ListenStream= in the .socket unit)",
			      fd);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

/* A socket file left by a plugin that died is removed; one another running
 * plugin still answers on is not taken over. */
static int remove_stale(const char *path, const struct sockaddr_un *sa, az_error *err)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : az_err_errno(err, "%s", path);
	if (!S_ISSOCK(st.st_mode))
		return az_err(err, EEXIST, "%s exists and is not a socket", path);
	cleanup_close int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return az_err_errno(err, "socket");
	if (connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return az_err(err, EADDRINUSE, "%s is served by another running process", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return az_err_errno(err, "removing the stale socket %s", path);
	return 0;
}

static int listen_unix(const char *path, az_error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];

	if (strlen(path) >= sizeof(sa.sun_path))
		return az_err(err, ENAMETOOLONG, "socket path %s is longer than %zu bytes", path,
			      sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	if (az_mkdir_p(dirname(dir), 0755, err) < 0 || remove_stale(path, &sa, err) < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return az_err_errno(err, "socket");
	/* Never world-connectable, not even between bind and chmod: whoever
	 * can connect can make networks. */
	mode_t old = umask(0117);
	int r = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, 0660) < 0 || listen(fd, BACKLOG) < 0) {
		az_err_errno(err, "listening on %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void check_settings(void)
{
	struct az_settings s;
	az_error err;

	/* A broken file fails each network and endpoint creation with its
	 * reason; said once here too, where the operator looks first. */
	if (az_settings_load(NULL, &s, &err) < 0) {
		az_log(LOG_ERR, NULL, "%s (networks and endpoints cannot be created until it is fixed)",
		       err.msg);
		return;
	}
	az_settings_free(&s);
}

static bool host_if_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

static int serve(const char *socket_path, const char *state_dir, const char *docker_host)
{
	static struct pl_driver d;
	struct pl_events *events = NULL;
	struct pl_netns *netns = NULL;
	az_error err = { 0 };
	bool own_socket = false;
	int fd, rc = 1;

	if (pl_driver_init(&d, &pl_netops, state_dir, &err) < 0 || pl_store_load(&d, &err) < 0) {
		az_log(LOG_ERR, NULL, "state dir %s: %s", state_dir, err.msg);
		goto out;
	}
	az_log(LOG_INFO, NULL, "restored %zu network%s and %zu endpoint%s from %s", d.n_net,
	       d.n_net == 1 ? "" : "s", d.n_ep, d.n_ep == 1 ? "" : "s", state_dir);
	size_t orphans;
	pl_driver_collect_orphans(&d, host_if_exists, &orphans);
	if (orphans)
		az_log(LOG_WARNING, NULL, "removed %zu orphaned endpoint%s", orphans,
		       orphans == 1 ? "" : "s");
	check_settings();
	/* Before the first call: Join must know whether to hold. */
	d.labels = docker_host != NULL;
	if (!d.labels)
		pl_labels_release_held(&d);
	else if (pl_events_start(&d, docker_host, &events, &err) < 0) {
		az_log(LOG_ERR, NULL, "%s", err.msg);
		goto out;
	}
	if (pl_netns_start(&d, &netns, &err) < 0) {
		az_log(LOG_ERR, NULL, "%s", err.msg);
		goto out;
	}
	fd = activated_socket(&err);
	if (fd == -2) {
		fd = listen_unix(socket_path, &err);
		own_socket = fd >= 0;
	}
	if (fd < 0) {
		az_log(LOG_ERR, NULL, "%s", err.msg);
		goto out;
	}
	az_log(LOG_INFO, NULL, "serving on %s", own_socket ? socket_path : "the socket from systemd");
	if (pl_http_serve(&d, fd, &stop, &err) < 0)
		az_log(LOG_ERR, NULL, "%s", err.msg);
	else
		rc = 0;
	close(fd);
	if (own_socket)
		unlink(socket_path);
	az_log(LOG_INFO, NULL, "stopped; %zu network%s and %zu endpoint%s stay in place", d.n_net,
	       d.n_net == 1 ? "" : "s", d.n_ep, d.n_ep == 1 ? "" : "s");
out:
	pl_netns_stop(netns);
	pl_events_stop(events);
	pl_driver_free(&d);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "docker-host", required_argument, NULL, 'H' },
		{ "no-labels", no_argument, NULL, 'L' },
		{ "resolv-conf", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = DEFAULT_SOCKET, *state_dir = DEFAULT_STATE;
	const char *docker_host = PL_DEFAULT_DOCKER_HOST;
	bool no_labels = false, host_given = false;
	struct sigaction sa = { .sa_handler = on_signal };
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'd':
			state_dir = optarg;
			break;
		case 'H':
			docker_host = optarg;
			host_given = true;
			break;
		case 'L':
			no_labels = true;
			break;
		case 'R':
			if (optarg[0] != '/') {
				fprintf(stderr, "alcatraz-plugin: --resolv-conf needs an absolute path\n");
				return 2;
			}
			pl_resolv_conf = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			fprintf(stderr, "alcatraz-plugin: see --help\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "alcatraz-plugin: unexpected argument \"%s\" (see --help)\n", argv[optind]);
		return 2;
	}
	if (socket_path[0] != '/' || state_dir[0] != '/') {
		fprintf(stderr, "alcatraz-plugin: --socket and --state-dir need absolute paths\n");
		return 2;
	}
	if (no_labels && host_given) {
		fprintf(stderr, "alcatraz-plugin: --docker-host and --no-labels exclude each other\n");
		return 2;
	}
	if (strncmp(docker_host, "unix:///", 8)) {
		fprintf(stderr, "alcatraz-plugin: --docker-host \"%.200s\": only unix:///PATH is "
			"supported\n", docker_host);
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	drop_capabilities();
	return serve(socket_path, state_dir, no_labels ? NULL : docker_host);
}
