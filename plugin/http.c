/* http.c — the plugin's HTTP side: libmicrohttpd on a listening Unix socket.
 *
 * Docker speaks HTTP/1.1 with keep-alive, several connections at once, and
 * gives legacy plugins no request timeout: a reply that never comes hangs
 * `docker run`.  So every request gets a reply, bodies are bounded
 * (PL_MAX_BODY), and idle or stalled connections are closed after
 * CONN_TIMEOUT_S.  Each connection has its own thread, so a slow call for
 * one container never holds up the reading of another's request; the calls
 * themselves are serialized by pl_driver_call.
 */
#include "plugin/plugin.h"

#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <string.h>
#include <syslog.h>

#define CONTENT_TYPE "application/vnd.docker.plugins.v1.2+json"
#define CONN_TIMEOUT_S 60u	/* idle keep-alive or a stalled client */
#define CONN_LIMIT 128u
/* Past the limit the body is read and dropped, so that the client sees the
 * reply rather than a reset; past this much it is cut off. */
#define DISCARD_MAX (16u * PL_MAX_BODY)
#define STOP_POLL_MS 200

struct request {
	struct az_buf body;
	size_t seen;		/* bytes received, kept or not */
	bool too_big;
};

static enum MHD_Result send_reply(struct MHD_Connection *c, unsigned status, char *text,
				  bool close)
{
	static const char oom[] = "{\"Err\":\"alcatraz: out of memory\"}";
	struct MHD_Response *r;

	if (text)
		r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	else
		r = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(c, text ? status : MHD_HTTP_INTERNAL_SERVER_ERROR, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg,
				  bool close)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o && cJSON_AddStringToObject(o, "Err", msg))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return send_reply(c, status, text, close);
}

static enum MHD_Result too_big(struct MHD_Connection *c)
{
	az_log(LOG_WARNING, NULL, "refused a request body larger than %u bytes", PL_MAX_BODY);
	return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "alcatraz: request body larger than 1 MiB",
			  true);
}

static bool declared_too_big(struct MHD_Connection *c)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;

	if (!cl)
		return false;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	if (end == cl || *end)
		return false;	/* malformed: MHD's to refuse */
	return errno == ERANGE || n > PL_MAX_BODY;
}

/* Called with the headers (first call), with each piece of the body, and
 * once more when the request is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct pl_driver *d = cls;
	struct request *r = *con_cls;
	(void)version, (void)upload;

	if (!r) {
		if (strcmp(method, MHD_HTTP_METHOD_POST))
			return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "alcatraz: only POST is served (the Docker plugin protocol)",
					  true);
		/* Refused before the body is read: MHD drops the rest and
		 * closes the connection after the reply. */
		if (declared_too_big(c))
			return too_big(c);
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		az_buf_init(&r->body);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		r->seen += *upload_size;
		if (r->seen > DISCARD_MAX)
			return MHD_NO;	/* an endless body: drop the connection */
		if (!r->too_big && r->seen > PL_MAX_BODY) {
			r->too_big = true;
			az_buf_free(&r->body);
		}
		if (!r->too_big && az_buf_append(&r->body, upload, *upload_size) < 0)
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return too_big(c);
	int status = 200;
	char *reply = pl_driver_call(d, url, r->body.data ? r->body.data : "", r->body.len, &status);
	return send_reply(c, (unsigned)status, reply, false);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;
	(void)cls, (void)c, (void)toe;

	if (r) {
		az_buf_free(&r->body);
		free(r);
		*con_cls = NULL;
	}
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	az_log(LOG_INFO, NULL, "http: %s", msg);
}

int pl_http_serve(struct pl_driver *d, int listen_fd, volatile int *stop, az_error *err)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *mhd;

	mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d,
			       MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
			       MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
			       MHD_OPTION_CONNECTION_LIMIT, CONN_LIMIT,
			       MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			       MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
			       MHD_OPTION_END);
	if (!mhd)
		return az_err(err, 0, "cannot start the HTTP server on the plugin socket");
	/* The signal handler only sets *stop; polling it keeps this loop free
	 * of races with signal delivery to other threads. */
	while (!*stop)
		poll(NULL, 0, STOP_POLL_MS);
	/* Hand the socket back to the caller instead of letting MHD close it
	 * (it may be systemd's). */
	MHD_quiesce_daemon(mhd);
	MHD_stop_daemon(mhd);
	return 0;
}
