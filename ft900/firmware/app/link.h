/*
 * The board's side of the serial link (FRAMING.md), board-independent: bytes in, frames decoded,
 * REQUEST answered through the protocol core, PING answered with PONG, HELLO at (re)start, LOG
 * for what cannot be answered. Shared by ft900-host and the MCU images; a board supplies the byte
 * sink, the HAL and its device id, and feeds received bytes from its main loop.
 *
 * Static RAM: one frame decoder (~4.2 KB) and the answer buffers (~4.2 KB), all in the struct.
 */
#ifndef IOT_APP_LINK_H
#define IOT_APP_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "hal.h"
#include "protocol.h"

/* Optional observer (ft900-host --verbose): kind is "HELLO", "PING", "REQUEST", "RESPONSE",
 * "LOG" or a frame error text; a/b are the parts of the message (b may be empty). */
typedef void (*iot_link_trace_t)(void *ctx, const char *kind, const char *a, size_t a_len, const char *b, size_t b_len);

typedef struct {
  iot_frame_sink_t sink;
  void *sink_ctx;
  const iot_hal_t *hal;
  const char *device_id;
  iot_link_trace_t trace; /* may be NULL */
  void *trace_ctx;
  iot_frame_decoder_t dec;
  char answer_topic[IOT_ANSWER_TOPIC_CAP];
  char answer[IOT_ANSWER_PAYLOAD_CAP];
} iot_link_t;

typedef enum {
  IOT_LINK_IDLE = 0,  /* nothing completed, or a frame handled without an answer */
  IOT_LINK_ANSWERED,  /* a RESPONSE went out: a board that was asked to reset restarts now */
  IOT_LINK_FAILED     /* the sink failed: the line is gone */
} iot_link_result_t;

/* Set up the decoder; nothing is sent (call iot_link_hello). */
void iot_link_init(iot_link_t *l, iot_frame_sink_t sink, void *sink_ctx, const iot_hal_t *hal, const char *device_id);
/* After a (simulated) restart: the receiver starts from scratch. Statistics are kept. */
void iot_link_restart(iot_link_t *l);
/* HELLO with the device id. 0 or -1. */
int iot_link_hello(iot_link_t *l);
/* Feed one received byte; a complete frame is handled at once. */
iot_link_result_t iot_link_feed(iot_link_t *l, uint8_t byte);

#endif /* IOT_APP_LINK_H */
