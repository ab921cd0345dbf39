/* test_plugin_http.c — pl_http_serve on a real Unix socket, spoken to with
 * raw HTTP the way dockerd does (keep-alive, Content-Length, no
 * Content-Type), and the way it must never hurt: oversized and chunked
 * bodies, other methods, garbage, a stalled client, many clients at once. */
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "test_plugin.h"

#define IO_TIMEOUT_S 5

static struct pl_driver drv;
static char sock_path[160];
static int listen_fd = -1;
static volatile int stop_flag;
static pthread_t server;
static int serve_rc = -2;

static void *serve(void *arg)
{
	az_error err = { 0 };
	(void)arg;
	serve_rc = pl_http_serve(&drv, listen_fd, &stop_flag, &err);
	return NULL;
}

static void setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	tmp_setup();
	driver_up(&drv);
	snprintf(sock_path, sizeof(sock_path), "%s/t.sock", tmp_dir);
	strcpy(sa.sun_path, sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(listen_fd, 0);
	cr_assert_eq(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(listen_fd, 16), 0);
	stop_flag = 0;
	cr_assert_eq(pthread_create(&server, NULL, serve, NULL), 0);
}

static void stop_server(void)
{
	stop_flag = 1;
	pthread_join(server, NULL);
}

static void teardown(void)
{
	if (!stop_flag)
		stop_server();
	close(listen_fd);
	pl_driver_free(&drv);
	tmp_teardown();
}

TestSuite(plugin_http, .init = setup, .fini = teardown, .timeout = 30);

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	strcpy(sa.sun_path, sock_path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Bytes sent before the peer stopped taking them. */
static size_t send_all(int fd, const char *s, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t k = send(fd, s + off, n - off, MSG_NOSIGNAL);
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	return off;
}

struct http_reply {
	int status;
	char head[4096];
	char *body;
};

/* One reply; false on timeout or when the connection ends first. */
static bool read_reply(int fd, struct http_reply *r)
{
	size_t have = 0;
	char *end = NULL;

	memset(r, 0, sizeof(*r));
	while (!end) {
		if (have + 1 >= sizeof(r->head))
			return false;
		ssize_t k = recv(fd, r->head + have, 1, 0);	/* byte by byte: the body stays queued */
		if (k <= 0)
			return false;
		have++;
		r->head[have] = '\0';
		end = strstr(r->head, "\r\n\r\n");
	}
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return false;
	const char *cl = strcasestr(r->head, "\r\nContent-Length:");
	size_t len = cl ? strtoul(cl + 17, NULL, 10) : 0;
	r->body = keep(calloc(1, len + 1));
	for (size_t got = 0; got < len;) {
		ssize_t k = recv(fd, r->body + got, len - got, 0);
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

/* The peer closed the connection (EOF or reset), within the timeout. */
static bool closed(int fd)
{
	char c;
	ssize_t k = recv(fd, &c, 1, 0);
	return k == 0 || (k < 0 && errno == ECONNRESET);
}

static char *request(const char *method, const char *path, const char *body, const char *extra)
{
	cr_assert(method && path && body);
	return fmt("%s %s HTTP/1.1\r\nHost: \r\nUser-Agent: Go-http-client/1.1\r\n"
		   "Content-Length: %zu\r\nAccept: application/vnd.docker.plugins.v1.2+json\r\n%s\r\n%s",
		   method, path, strlen(body), extra ? extra : "", body);
}

static void expect_json(const struct http_reply *r, const char *want)
{
	cJSON *a = cJSON_Parse(r->body), *w = cJSON_Parse(want);
	cr_expect(cJSON_Compare(a, w, true), "reply %s, expected %s", r->body, want);
	cJSON_Delete(a);
	cJSON_Delete(w);
}

static void expect_err_reply(const struct http_reply *r, const char *has)
{
	cJSON *a = cJSON_Parse(r->body);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(a, "Err");
	cr_expect(cJSON_IsString(e) && strstr(e->valuestring, has), "reply %s lacks Err \"%s\"", r->body,
		  has);
	cJSON_Delete(a);
}

Test(plugin_http, activate_without_body)
{
	struct http_reply r;
	int fd = client();
	char *req = request("POST", "/Plugin.Activate", "", NULL);

	cr_assert_eq(send_all(fd, req, strlen(req)), strlen(req));
	cr_assert(read_reply(fd, &r));
	cr_expect_eq(r.status, 200);
	cr_expect(strcasestr(r.head, "\r\nContent-Type: application/vnd.docker.plugins.v1.2+json\r\n"),
		  "%s", r.head);
	cr_expect_null(strcasestr(r.head, "Content-Encoding"), "%s", r.head);
	expect_json(&r, "{\"Implements\":[\"NetworkDriver\"]}");
	close(fd);
}

Test(plugin_http, keep_alive_serves_several_requests_on_one_connection)
{
	struct http_reply r;
	int fd = client();
	char *a = request("POST", "/Plugin.Activate", "", NULL);
	char *b = request("POST", "/NetworkDriver.GetCapabilities", "", NULL);
	char *c = request("POST", "/NetworkDriver.CreateNetwork", CREATE_NET1, NULL);
	char *both = fmt("%s%s", b, c);

	send_all(fd, a, strlen(a));
	cr_assert(read_reply(fd, &r));
	expect_json(&r, "{\"Implements\":[\"NetworkDriver\"]}");
	cr_expect_null(strcasestr(r.head, "Connection: close"), "%s", r.head);
	/* Two at once (pipelined) on the same connection. */
	send_all(fd, both, strlen(both));
	cr_assert(read_reply(fd, &r));
	expect_json(&r, "{\"Scope\":\"local\",\"ConnectivityScope\":\"local\"}");
	cr_assert(read_reply(fd, &r));
	cr_expect_eq(r.status, 200);
	expect_json(&r, "{}");
	expect_calls("network_create az1db3e1737f66");
	close(fd);
}

Test(plugin_http, unknown_path_is_404)
{
	struct http_reply r;
	int fd = client();
	char *req = request("POST", "/VolumeDriver.Create", "{}", NULL);

	send_all(fd, req, strlen(req));
	cr_assert(read_reply(fd, &r));
	cr_expect_eq(r.status, 404);
	expect_err_reply(&r, "not a call this driver implements");
	close(fd);
}

Test(plugin_http, errors_are_200_with_err)
{
	struct http_reply r;
	int fd = client();
	char *req = request("POST", "/NetworkDriver.CreateNetwork", "{\"NetworkID\":", NULL);

	send_all(fd, req, strlen(req));
	cr_assert(read_reply(fd, &r));
	cr_expect_eq(r.status, 200);
	expect_err_reply(&r, "not valid JSON");
	close(fd);
}

Test(plugin_http, declared_oversized_body_is_refused_without_a_hang)
{
	struct http_reply r;
	size_t big = 2u << 20;
	char *body = malloc(big + 1);
	int fd = client();

	memset(body, 'x', big);
	body[big] = '\0';
	char *req = request("POST", "/NetworkDriver.CreateNetwork", body, NULL);
	/* The server may stop reading: what was not taken does not matter. */
	send_all(fd, req, strlen(req));
	cr_assert(read_reply(fd, &r), "no reply to a 2 MiB body");
	cr_expect_eq(r.status, 413);
	expect_err_reply(&r, "request body larger than 1 MiB");
	cr_expect(closed(fd));
	close(fd);
	expect_no_calls();
	free(body);

	/* And the server still serves. */
	fd = client();
	char *a = request("POST", "/Plugin.Activate", "", NULL);
	send_all(fd, a, strlen(a));
	cr_assert(read_reply(fd, &r));
	cr_expect_eq(r.status, 200);
	close(fd);
}

Test(plugin_http, chunked_oversized_body_is_refused)
{
	struct http_reply r;
	size_t chunk = 64u << 10;
	char *data = malloc(chunk);
	int fd = client();
	const char *head = "POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: \r\n"
			   "Transfer-Encoding: chunked\r\n\r\n";

	memset(data, ' ', chunk);
	send_all(fd, head, strlen(head));
	for (size_t sent = 0; sent < (2u << 20); sent += chunk) {
		char *h = fmt("%zx\r\n", chunk);
		send_all(fd, h, strlen(h));
		send_all(fd, data, chunk);
		send_all(fd, "\r\n", 2);
	}
	send_all(fd, "0\r\n\r\n", 5);
	cr_assert(read_reply(fd, &r), "no reply to a 2 MiB chunked body");
	cr_expect_eq(r.status, 413);
	expect_err_reply(&r, "request body larger than 1 MiB");
	cr_expect(strcasestr(r.head, "Connection: close") != NULL, "%s", r.head);
	close(fd);
	free(data);
	expect_no_calls();
}

Test(plugin_http, only_post_is_served)
{
	struct http_reply r;
	int fd = client();
	const char *req = "GET /Plugin.Activate HTTP/1.1\r\nHost: \r\n\r\n";

	send_all(fd, req, strlen(req));
	cr_assert(read_reply(fd, &r));
	cr_expect_eq(r.status, 405);
	expect_err_reply(&r, "only POST");
	close(fd);
}

Test(plugin_http, garbage_gets_an_answer_or_a_close)
{
#define JUNK(s) { s, sizeof(s) - 1 }
	static const struct {
		const char *data;
		size_t len;
	} junk[] = {
		JUNK("BLAH\r\n\r\n"),
		JUNK("POST /Plugin.Activate HTTP/9.9\r\n\r\n"),
		JUNK("POST /Plugin.Activate HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
		JUNK("POST /Plugin.Activate HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
		JUNK("POST /Plugin.Activate HTTP/1.1\r\nContent-Length: 2097152\r\n\r\n"),
		JUNK("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),	/* a TLS hello */
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct http_reply r;
		int fd = client();

		send_all(fd, junk[i].data, junk[i].len);
		if (read_reply(fd, &r))
			cr_expect_geq(r.status, 400, "case %zu: %d", i, r.status);
		else
			cr_expect(closed(fd), "case %zu: neither a reply nor a close", i);
		close(fd);
	}
	struct http_reply r;
	int fd = client();
	char *a = request("POST", "/Plugin.Activate", "", NULL);
	send_all(fd, a, strlen(a));
	cr_assert(read_reply(fd, &r));
	cr_expect_eq(r.status, 200);
	close(fd);
}

Test(plugin_http, a_stalled_client_does_not_block_others)
{
	struct http_reply r;
	int stalled = client();
	const char *half = "POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"Net";

	send_all(stalled, half, strlen(half));
	int fd = client();
	char *req = request("POST", "/NetworkDriver.CreateNetwork", CREATE_NET1, NULL);
	send_all(fd, req, strlen(req));
	cr_assert(read_reply(fd, &r));
	expect_json(&r, "{}");
	close(fd);
	close(stalled);
}

struct worker {
	int idx;
	int ok;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char id[PL_ID_LEN + 1];
	struct http_reply r;
	int fd = client();

	/* A distinct endpoint id (and so veth names) and address per worker. */
	snprintf(id, sizeof(id), "%02x%062d", w->idx, 0);
	char *ep = subst(subst(CREATE_EP_RUN, EP_RUN, id), "10.99.0.50/24", fmt("10.99.0.%d/24", 10 + w->idx));
	char *join = fmt("{\"NetworkID\":\"" NET1 "\",\"EndpointID\":\"%s\",\"SandboxKey\":\"\"}", id);
	const char *steps[] = { request("POST", "/NetworkDriver.CreateEndpoint", ep, NULL),
				request("POST", "/NetworkDriver.Join", join, NULL),
				request("POST", "/NetworkDriver.EndpointOperInfo", join, NULL) };
	for (size_t i = 0; i < 3; i++) {
		send_all(fd, steps[i], strlen(steps[i]));
		if (!read_reply(fd, &r) || r.status != 200 || strstr(r.body, "\"Err\""))
			return NULL;
	}
	close(fd);
	w->ok = 1;
	return NULL;
}

Test(plugin_http, calls_for_many_containers_at_once)
{
	enum { N = 16 };
	pthread_t t[N];
	struct worker w[N];
	struct http_reply r;
	int fd = client();
	char *req = request("POST", "/NetworkDriver.CreateNetwork", CREATE_NET1, NULL);

	send_all(fd, req, strlen(req));
	cr_assert(read_reply(fd, &r));
	close(fd);
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker){ .idx = i };
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		cr_expect(w[i].ok, "worker %d failed", i);
	}
	cr_expect_eq(drv.n_ep, N);
	for (size_t i = 0; i < drv.n_ep; i++)
		cr_expect(drv.eps[i].joined);
}

Test(plugin_http, stop_returns_with_idle_connections_open_and_keeps_the_socket)
{
	struct http_reply r;
	struct timespec a, b;
	int fd = client();
	char *req = request("POST", "/Plugin.Activate", "", NULL);

	send_all(fd, req, strlen(req));
	cr_assert(read_reply(fd, &r));
	clock_gettime(CLOCK_MONOTONIC, &a);
	stop_server();
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_expect_eq(serve_rc, 0);
	cr_expect_lt(b.tv_sec - a.tv_sec, 3, "stopping took %ld s", (long)(b.tv_sec - a.tv_sec));
	cr_expect(closed(fd), "the idle connection is closed");
	/* The listening socket is still the caller's (systemd's, maybe). */
	cr_expect_geq(fcntl(listen_fd, F_GETFD), 0);
	close(fd);
}
