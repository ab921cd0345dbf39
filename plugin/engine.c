/* engine.c — a small client of the Docker Engine API on its Unix socket,
 * with libcurl: one-shot GETs bounded in time and size, and the long GET
 * /events whose reply is one JSON object per line.
 *
 * Only events.c's thread uses it.  A driver call must never: while a
 * container starts, dockerd holds it locked and calls the driver, and an
 * inspect of that container from inside the call waits for the lock —
 * docker run hangs for good, as legacy plugins get no timeout.
 *
 * The stream runs on a multi handle kept for the client's life, so that
 * its thread can wait for data, for a retry's due time and for
 * pl_engine_interrupt in one curl_multi_poll.
 */
#include "plugin/plugin.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/un.h>

#define CONNECT_TIMEOUT_MS 2000L
#define GET_TIMEOUT_MS 5000L
#define LINE_MAX_BYTES (1u << 20)	/* one event; Docker's are < 2 KiB */
#define ERR_BODY_MAX 4096u		/* what is kept of a refusal's body */
#define URL_BASE "http://docker"	/* any name: the socket decides */

struct pl_engine {
	char host[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];	/* for messages */
	char socket[sizeof(((struct sockaddr_un *)0)->sun_path)];
	atomic_bool stop;
	CURLM *multi;
	/* the stream, when one is open */
	CURL *stream;
	char stream_errbuf[CURL_ERROR_SIZE];
	pl_line_fn *fn;
	void *arg;
	struct az_buf line;
	bool skipping;			/* the rest of an overlong line */
	long status;			/* 0 until Docker's status line */
	struct az_buf refusal;		/* the body of a non-200 reply */
};

/* ---- the client ---- */

int pl_engine_new(const char *host, struct pl_engine **out, az_error *err)
{
	static const char scheme[] = "unix://";
	*out = NULL;
	if (strncmp(host, scheme, sizeof(scheme) - 1))
		return az_err(err, EINVAL, "Docker host \"%.200s\": only unix:///PATH is supported "
			      "(the Engine API is root's; it is never reached over TCP)", host);
	const char *path = host + sizeof(scheme) - 1;
	struct pl_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return az_err(err, ENOMEM, "out of memory");
	if (path[0] != '/' || strlen(path) >= sizeof(e->socket)) {
		free(e);
		return az_err(err, EINVAL, "Docker host \"%.200s\": expected unix:///PATH, PATH "
			      "absolute and shorter than %zu bytes", host, sizeof(e->socket));
	}
	snprintf(e->socket, sizeof(e->socket), "%s", path);
	snprintf(e->host, sizeof(e->host), "%s%s", scheme, path);
	atomic_init(&e->stop, false);
	az_buf_init(&e->line);
	az_buf_init(&e->refusal);
	e->multi = curl_multi_init();
	if (!e->multi) {
		free(e);
		return az_err(err, ENOMEM, "libcurl: cannot make a multi handle");
	}
	*out = e;
	return 0;
}

void pl_engine_free(struct pl_engine *e)
{
	if (!e)
		return;
	pl_engine_stream_close(e);
	curl_multi_cleanup(e->multi);
	az_buf_free(&e->line);
	az_buf_free(&e->refusal);
	free(e);
}

const char *pl_engine_host(const struct pl_engine *e)
{
	return e->host;
}

void pl_engine_interrupt(struct pl_engine *e)
{
	atomic_store(&e->stop, true);
	curl_multi_wakeup(e->multi);
}

bool pl_engine_interrupted(const struct pl_engine *e)
{
	return atomic_load(&e->stop);
}

void pl_engine_sleep(struct pl_engine *e, int ms)
{
	/* With no transfer, curl_multi_poll waits for the timeout or a
	 * wakeup; with the stream open it may return early on its data,
	 * which callers then read. */
	if (!pl_engine_interrupted(e))
		curl_multi_poll(e->multi, NULL, 0, ms, NULL);
}

char *pl_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct az_buf b;

	az_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char c[4] = { (char)*p, 0, 0, 0 };
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-._~", *p))) {
			c[0] = '%';
			c[1] = hex[*p >> 4];
			c[2] = hex[*p & 15];
		}
		if (az_buf_append(&b, c, strlen(c)) < 0) {
			az_buf_free(&b);
			return NULL;
		}
	}
	return az_buf_steal(&b);
}

/* ---- one handle ---- */

static int xfer_info(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	return pl_engine_interrupted(arg) ? 1 : 0;
}

static CURL *handle_new(struct pl_engine *e, const char *path, char *errbuf, az_error *err)
{
	cleanup_buf struct az_buf url = { 0 };
	CURL *c = curl_easy_init();

	if (!c || az_buf_printf(&url, URL_BASE "%s", path) < 0) {
		if (c)
			curl_easy_cleanup(c);
		az_err(err, ENOMEM, "libcurl: out of memory");
		return NULL;
	}
	errbuf[0] = '\0';
	if (curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_URL, url.data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
	    /* never a proxy from the environment, never a redirect */
	    curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "alcatraz-plugin") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_info) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFODATA, e) != CURLE_OK) {
		curl_easy_cleanup(c);
		az_err(err, EINVAL, "libcurl: cannot set up a request (libcurl too old?)");
		return NULL;
	}
	return c;
}

/* Printable ASCII of a refusal's {"message": ...}, or of the body. */
static void refusal_text(const char *body, size_t len, char *out, size_t cap)
{
	cJSON *j = cJSON_ParseWithLength(body, len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	const char *s = cJSON_IsString(m) ? m->valuestring : body;
	size_t k = 0;

	for (; *s && k + 1 < cap && k < 200; s++)
		out[k++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out[k] = '\0';
	cJSON_Delete(j);
}

static int curl_fail(struct pl_engine *e, CURLcode rc, const char *errbuf, const char *what,
		     az_error *err)
{
	if (rc == CURLE_ABORTED_BY_CALLBACK && pl_engine_interrupted(e))
		return az_err(err, EINTR, "%s: interrupted (stopping)", what);
	return az_err(err, EIO, "%s on %s: %s", what, e->host,
		      errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* ---- one-shot GET ---- */

struct sink {
	struct az_buf b;
	size_t max;
	bool over;
};

static size_t sink_write(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->b.len + len > s->max) {
		s->over = true;
		return 0;	/* ends the transfer */
	}
	return az_buf_append(&s->b, p, len) < 0 ? 0 : len;
}

int pl_engine_get(struct pl_engine *e, const char *path, size_t max, char **body, size_t *len,
		  az_error *err)
{
	char errbuf[CURL_ERROR_SIZE], why[256];
	struct sink s = { .max = max };
	long status = 0;
	int r = -1;

	*body = NULL;
	*len = 0;
	az_buf_init(&s.b);
	CURL *c = handle_new(e, path, errbuf, err);
	if (!c)
		return -1;
	if (curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, GET_TIMEOUT_MS) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK) {
		az_err(err, EINVAL, "libcurl: cannot set up a request");
		goto out;
	}
	CURLcode rc = curl_easy_perform(c);
	if (s.over) {
		az_err(err, EFBIG, "GET %.40s... on %s: the reply is larger than %zu bytes", path,
		       e->host, max);
		goto out;
	}
	if (rc != CURLE_OK) {
		curl_fail(e, rc, errbuf, "GET", err);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		refusal_text(s.b.data ? s.b.data : "", s.b.len, why, sizeof(why));
		az_err(err, EIO, "GET %.40s... on %s: status %ld: %s", path, e->host, status, why);
		goto out;
	}
	*len = s.b.len;
	*body = az_buf_steal(&s.b);
	r = 0;
out:
	az_buf_free(&s.b);
	curl_easy_cleanup(c);
	return r;
}

/* ---- the stream ---- */

static void stream_line(struct pl_engine *e, const char *p, size_t n)
{
	if (e->skipping)
		return;
	if (e->line.len + n > LINE_MAX_BYTES) {
		/* Not an event of Docker's: drop it, keep the stream. */
		e->skipping = true;
		az_buf_free(&e->line);
		return;
	}
	if (az_buf_append(&e->line, p, n) < 0)
		e->skipping = true;
}

static size_t stream_write(char *p, size_t size, size_t n, void *arg)
{
	struct pl_engine *e = arg;
	size_t len = size * n;

	if (!e->status)
		curl_easy_getinfo(e->stream, CURLINFO_RESPONSE_CODE, &e->status);
	if (e->status != 200) {
		size_t room = ERR_BODY_MAX - e->refusal.len;
		az_buf_append(&e->refusal, p, len < room ? len : room);
		return len;
	}
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t k = nl ? (size_t)(nl - (p + i)) : len - i;

		stream_line(e, p + i, k);
		i += k;
		if (!nl)
			break;
		i++;
		if (!e->skipping && e->line.len)
			e->fn(e->line.data, e->line.len, e->arg);
		e->skipping = false;
		e->line.len = 0;
		if (e->line.data)
			e->line.data[0] = '\0';
	}
	return len;
}

int pl_engine_stream_open(struct pl_engine *e, const char *path, pl_line_fn *fn, void *arg,
			  az_error *err)
{
	pl_engine_stream_close(e);
	CURL *c = handle_new(e, path, e->stream_errbuf, err);
	if (!c)
		return -1;
	e->fn = fn;
	e->arg = arg;
	e->status = 0;
	e->skipping = false;
	az_buf_free(&e->line);
	az_buf_free(&e->refusal);
	/* No overall timeout: the stream is meant to last.  A dockerd that
	 * stops closes the socket, which ends it. */
	if (curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, e) != CURLE_OK ||
	    curl_multi_add_handle(e->multi, c) != CURLM_OK) {
		curl_easy_cleanup(c);
		return az_err(err, EINVAL, "libcurl: cannot start the event stream");
	}
	e->stream = c;
	return 0;
}

void pl_engine_stream_close(struct pl_engine *e)
{
	if (!e->stream)
		return;
	curl_multi_remove_handle(e->multi, e->stream);
	curl_easy_cleanup(e->stream);
	e->stream = NULL;
}

int pl_engine_stream_run(struct pl_engine *e, int timeout_ms, bool *up, az_error *err)
{
	int running = 0, left;
	CURLMsg *m;

	if (!e->stream) {
		az_err(err, EINVAL, "no event stream is open");
		return 0;
	}
	/* Wait first, read after: the lines read go to the caller's queue
	 * at once, not after another wait. */
	if (timeout_ms > 0 && !pl_engine_interrupted(e))
		curl_multi_poll(e->multi, NULL, 0, timeout_ms, NULL);
	if (curl_multi_perform(e->multi, &running) != CURLM_OK) {
		az_err(err, EIO, "libcurl: the event stream failed");
		pl_engine_stream_close(e);
		return 0;
	}
	if (!e->status)
		curl_easy_getinfo(e->stream, CURLINFO_RESPONSE_CODE, &e->status);
	if (e->status == 200)
		*up = true;
	while ((m = curl_multi_info_read(e->multi, &left))) {
		if (m->msg != CURLMSG_DONE || m->easy_handle != e->stream)
			continue;
		CURLcode rc = m->data.result;
		char why[256];
		if (rc != CURLE_OK)
			curl_fail(e, rc, e->stream_errbuf, "the event stream", err);
		else if (e->status != 200) {
			refusal_text(e->refusal.data ? e->refusal.data : "", e->refusal.len, why,
				     sizeof(why));
			az_err(err, EIO, "the event stream on %s: status %ld: %s", e->host, e->status, why);
		} else
			az_err(err, 0, "the event stream on %s ended (dockerd stopped?)", e->host);
		pl_engine_stream_close(e);
		return 0;
	}
	if (!running) {
		az_err(err, EIO, "the event stream on %s ended", e->host);
		pl_engine_stream_close(e);
		return 0;
	}
	return 1;
}
