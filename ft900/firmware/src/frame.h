/*
 * Serial framing between a board and its host-side bridge. FRAMING.md is the specification;
 * this is the reference implementation.
 *
 *   on the wire:  0x7E  stuff(body)  0x7E
 *   body:         type(1)  length(2, big-endian)  payload(length)  crc(2, big-endian)
 *   crc:          CRC-16/CCITT-FALSE over type, length and payload
 *   stuffing:     0x7E -> 0x7D 0x5E, 0x7D -> 0x7D 0x5D (escape, then the byte XOR 0x20)
 */
#ifndef IOT_FRAME_H
#define IOT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "iotcloud_protocol.h"

#define IOT_FRAME_FLAG 0x7E
#define IOT_FRAME_ESC 0x7D
#define IOT_FRAME_XOR 0x20

/* A REQUEST/RESPONSE payload is topic + '\n' + JSON. */
#define IOT_FRAME_MAX_PAYLOAD (IOT_MAX_TOPIC_LEN + 1 + IOT_MAX_PAYLOAD_BYTES)
#define IOT_FRAME_HEADER_LEN 3 /* type + length */
#define IOT_FRAME_CRC_LEN 2
#define IOT_FRAME_MAX_BODY (IOT_FRAME_HEADER_LEN + IOT_FRAME_MAX_PAYLOAD + IOT_FRAME_CRC_LEN)
/* Worst case on the wire: every body byte escaped, plus the two flags. */
#define IOT_FRAME_MAX_ENCODED (2 + 2 * IOT_FRAME_MAX_BODY)

typedef enum {
  IOT_FRAME_REQUEST = 0x01,  /* host -> board: topic '\n' JSON */
  IOT_FRAME_RESPONSE = 0x02, /* board -> host: topic '\n' JSON */
  IOT_FRAME_PING = 0x03,     /* either way: opaque payload (0..max bytes) */
  IOT_FRAME_PONG = 0x04,     /* answer to PING: the same payload */
  IOT_FRAME_HELLO = 0x05,    /* board -> host after every reset: the device id */
  IOT_FRAME_LOG = 0x06       /* board -> host: UTF-8 text for people */
} iot_frame_type_t;

/* CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR; "123456789" -> 0x29B1. */
#define IOT_CRC16_INIT 0xFFFFu
uint16_t iot_crc16_update(uint16_t crc, const uint8_t *data, size_t len);
uint16_t iot_crc16(const uint8_t *data, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Encoder. Streams the stuffed frame to a sink in small chunks, so a board never needs a buffer
 * of IOT_FRAME_MAX_ENCODED bytes: the payload can be given in several pieces (topic, '\n', JSON). */

/* Write len bytes; return 0 on success, non-zero on failure (which makes the frame fail). */
typedef int (*iot_frame_sink_t)(void *ctx, const uint8_t *data, size_t len);

#define IOT_FRAME_WRITER_CHUNK 64

typedef struct {
  iot_frame_sink_t sink;
  void *ctx;
  uint16_t crc;
  size_t remaining; /* payload bytes still expected */
  int failed;
  size_t used;
  uint8_t chunk[IOT_FRAME_WRITER_CHUNK];
} iot_frame_writer_t;

/* Start a frame whose payload will be exactly payload_len bytes. Returns 0, or -1 when
 * payload_len exceeds IOT_FRAME_MAX_PAYLOAD or the sink fails. */
int iot_frame_begin(iot_frame_writer_t *w, iot_frame_sink_t sink, void *ctx, uint8_t type, size_t payload_len);
/* Add payload bytes. -1 when more than announced or the sink fails. */
int iot_frame_put(iot_frame_writer_t *w, const void *data, size_t len);
/* Finish: CRC and end flag. -1 when fewer payload bytes than announced were put, or on failure. */
int iot_frame_end(iot_frame_writer_t *w);

/* One-shot encode into a buffer. Returns the encoded length, or 0 when it does not fit in cap or
 * len is over IOT_FRAME_MAX_PAYLOAD. */
size_t iot_frame_encode(uint8_t type, const uint8_t *payload, size_t len, uint8_t *out, size_t cap);

/* ---------------------------------------------------------------------------------------------
 * Decoder: a state machine fed one byte at a time. */

typedef enum {
  IOT_FRAME_NONE = 0,   /* nothing yet: keep feeding */
  IOT_FRAME_OK,         /* a complete, valid frame: see type / payload / payload_len */
  IOT_FRAME_CRC_ERROR,  /* a frame ended but its CRC is wrong: discarded */
  IOT_FRAME_OVERLONG,   /* a length field or body beyond the maximum: skipping to the next flag */
  IOT_FRAME_MALFORMED   /* too short, length field disagrees with the body, or aborted (0x7D 0x7E) */
} iot_frame_event_t;

typedef struct {
  uint32_t frames;      /* IOT_FRAME_OK */
  uint32_t crc_errors;  /* IOT_FRAME_CRC_ERROR */
  uint32_t overlong;    /* IOT_FRAME_OVERLONG */
  uint32_t malformed;   /* IOT_FRAME_MALFORMED */
  uint32_t noise_bytes; /* bytes seen before the first flag after init */
} iot_frame_stats_t;

typedef struct {
  int state; /* private */
  size_t len;
  uint8_t buf[IOT_FRAME_MAX_BODY];
  /* After IOT_FRAME_OK, until the next call to iot_frame_feed: */
  uint8_t type;
  const uint8_t *payload;
  size_t payload_len;
  iot_frame_stats_t stats;
} iot_frame_decoder_t;

/* Reset to "hunting for a flag" and clear the statistics. */
void iot_frame_decoder_init(iot_frame_decoder_t *d);
iot_frame_event_t iot_frame_feed(iot_frame_decoder_t *d, uint8_t byte);
const char *iot_frame_event_text(iot_frame_event_t event);

#endif /* IOT_FRAME_H */
