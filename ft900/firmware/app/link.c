/* The board's side of the serial link: see link.h. */
#include "link.h"

#include <string.h>

static void trace(const iot_link_t *l, const char *kind, const char *a, size_t a_len, const char *b, size_t b_len) {
  if (l->trace) l->trace(l->trace_ctx, kind, a, a_len, b, b_len);
}

/* One frame whose payload is a + sep + b (each may be empty), e.g. topic "\n" JSON. */
static int send_frame(iot_link_t *l, uint8_t type, const char *a, size_t a_len, const char *sep, const char *b, size_t b_len) {
  iot_frame_writer_t w;
  size_t sep_len = sep ? strlen(sep) : 0;
  if (iot_frame_begin(&w, l->sink, l->sink_ctx, type, a_len + sep_len + b_len) != 0) return -1;
  if (iot_frame_put(&w, a, a_len) != 0 || iot_frame_put(&w, sep, sep_len) != 0 || iot_frame_put(&w, b, b_len) != 0)
    return -1;
  return iot_frame_end(&w);
}

/* A LOG frame for the bridge's log; hostile text is cut and made printable. */
static int send_log(iot_link_t *l, const char *what, const char *detail, size_t detail_len) {
  char text[160];
  size_t n = strlen(what), i;
  if (n > sizeof text - 1) n = sizeof text - 1;
  memcpy(text, what, n);
  for (i = 0; i < detail_len && n < sizeof text - 1; i++)
    text[n++] = (detail[i] >= 0x20 && detail[i] < 0x7F) ? detail[i] : '?';
  trace(l, "LOG", text, n, NULL, 0);
  return send_frame(l, IOT_FRAME_LOG, text, n, NULL, NULL, 0);
}

void iot_link_init(iot_link_t *l, iot_frame_sink_t sink, void *sink_ctx, const iot_hal_t *hal, const char *device_id) {
  l->sink = sink;
  l->sink_ctx = sink_ctx;
  l->hal = hal;
  l->device_id = device_id;
  l->trace = NULL;
  l->trace_ctx = NULL;
  iot_frame_decoder_init(&l->dec);
}

void iot_link_restart(iot_link_t *l) {
  iot_frame_stats_t kept = l->dec.stats;
  iot_frame_decoder_init(&l->dec);
  l->dec.stats = kept;
}

int iot_link_hello(iot_link_t *l) {
  size_t n = strlen(l->device_id);
  trace(l, "HELLO", l->device_id, n, NULL, 0);
  return send_frame(l, IOT_FRAME_HELLO, l->device_id, n, NULL, NULL, 0);
}

static iot_link_result_t on_request(iot_link_t *l) {
  /* The payload lives in the decoder's buffer until the next byte is fed: the topic is
   * NUL-terminated in place instead of being copied (a board has no RAM for a second 4 KB). */
  size_t n = l->dec.payload_len, topic_len, json_len;
  char *topic = (char *)l->dec.buf + (l->dec.payload - l->dec.buf);
  const char *nl = n > 0 ? memchr(topic, '\n', n) : NULL;
  int rc;
  if (!nl) return send_log(l, "REQUEST without a topic line", NULL, 0) == 0 ? IOT_LINK_IDLE : IOT_LINK_FAILED;
  topic_len = (size_t)(nl - topic);
  json_len = n - topic_len - 1;
  if (memchr(topic, '\0', topic_len)) return send_log(l, "REQUEST topic contains NUL", NULL, 0) == 0 ? IOT_LINK_IDLE : IOT_LINK_FAILED;
  topic[topic_len] = '\0';
  trace(l, "REQUEST", topic, topic_len, nl + 1, json_len);
  rc = iot_handle_message(l->hal, l->device_id, topic, nl + 1, json_len, l->answer_topic, sizeof l->answer_topic,
                          l->answer, sizeof l->answer);
  if (rc != IOT_ANSWERED)
    return send_log(l, "no answer to ", topic, topic_len) == 0 ? IOT_LINK_IDLE : IOT_LINK_FAILED;
  trace(l, "RESPONSE", l->answer_topic, strlen(l->answer_topic), l->answer, strlen(l->answer));
  if (send_frame(l, IOT_FRAME_RESPONSE, l->answer_topic, strlen(l->answer_topic), "\n", l->answer, strlen(l->answer)) != 0)
    return IOT_LINK_FAILED;
  return IOT_LINK_ANSWERED;
}

iot_link_result_t iot_link_feed(iot_link_t *l, uint8_t byte) {
  iot_frame_event_t ev = iot_frame_feed(&l->dec, byte);
  if (ev != IOT_FRAME_OK) {
    if (ev != IOT_FRAME_NONE) {
      const char *text = iot_frame_event_text(ev);
      trace(l, text, NULL, 0, NULL, 0);
    }
    return IOT_LINK_IDLE;
  }
  switch (l->dec.type) {
  case IOT_FRAME_PING:
    trace(l, "PING", (const char *)l->dec.payload, l->dec.payload_len, NULL, 0);
    return send_frame(l, IOT_FRAME_PONG, (const char *)l->dec.payload, l->dec.payload_len, NULL, NULL, 0) == 0
               ? IOT_LINK_IDLE
               : IOT_LINK_FAILED;
  case IOT_FRAME_REQUEST:
    return on_request(l);
  default: /* RESPONSE, PONG, HELLO, LOG are the board's own kinds: nothing to do */
    return IOT_LINK_IDLE;
  }
}
