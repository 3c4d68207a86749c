/* Serial framing: see frame.h and FRAMING.md. */
#include "frame.h"

#include <string.h>

uint16_t iot_crc16_update(uint16_t crc, const uint8_t *data, size_t len) {
  /* Bitwise rather than a 512-byte table: flash is scarce on the board and frames are short. */
  unsigned int c = crc;
  size_t i;
  int bit;
  for (i = 0; i < len; i++) {
    c ^= (unsigned int)data[i] << 8;
    for (bit = 0; bit < 8; bit++) c = ((c & 0x8000u) ? ((c << 1) ^ 0x1021u) : (c << 1)) & 0xFFFFu;
  }
  return (uint16_t)c;
}

uint16_t iot_crc16(const uint8_t *data, size_t len) { return iot_crc16_update(IOT_CRC16_INIT, data, len); }

/* ---------------------------------------------------------------------------------------------
 * Encoder */

static void flush(iot_frame_writer_t *w) {
  if (!w->failed && w->used > 0 && w->sink(w->ctx, w->chunk, w->used) != 0) w->failed = 1;
  w->used = 0;
}

static void emit(iot_frame_writer_t *w, uint8_t b) {
  if (w->used == sizeof w->chunk) flush(w);
  w->chunk[w->used++] = b;
}

static void emit_stuffed(iot_frame_writer_t *w, uint8_t b) {
  if (b == IOT_FRAME_FLAG || b == IOT_FRAME_ESC) {
    emit(w, IOT_FRAME_ESC);
    emit(w, (uint8_t)(b ^ IOT_FRAME_XOR));
  } else {
    emit(w, b);
  }
}

/* A body byte: counted in the CRC, then stuffed. */
static void emit_body(iot_frame_writer_t *w, uint8_t b) {
  w->crc = iot_crc16_update(w->crc, &b, 1);
  emit_stuffed(w, b);
}

int iot_frame_begin(iot_frame_writer_t *w, iot_frame_sink_t sink, void *ctx, uint8_t type, size_t payload_len) {
  w->sink = sink;
  w->ctx = ctx;
  w->crc = IOT_CRC16_INIT;
  w->used = 0;
  w->failed = payload_len > IOT_FRAME_MAX_PAYLOAD;
  w->remaining = payload_len;
  if (w->failed) return -1;
  emit(w, IOT_FRAME_FLAG);
  emit_body(w, type);
  emit_body(w, (uint8_t)(payload_len >> 8));
  emit_body(w, (uint8_t)(payload_len & 0xFF));
  return w->failed ? -1 : 0;
}

int iot_frame_put(iot_frame_writer_t *w, const void *data, size_t len) {
  const uint8_t *p = (const uint8_t *)data;
  size_t i;
  if (len > w->remaining) w->failed = 1;
  if (w->failed) return -1;
  w->remaining -= len;
  for (i = 0; i < len; i++) emit_body(w, p[i]);
  return w->failed ? -1 : 0;
}

int iot_frame_end(iot_frame_writer_t *w) {
  uint16_t crc = w->crc;
  if (w->remaining != 0) w->failed = 1;
  if (w->failed) return -1;
  emit_stuffed(w, (uint8_t)(crc >> 8));
  emit_stuffed(w, (uint8_t)(crc & 0xFF));
  emit(w, IOT_FRAME_FLAG);
  flush(w);
  return w->failed ? -1 : 0;
}

typedef struct {
  uint8_t *out;
  size_t cap;
  size_t len;
} mem_sink_t;

static int mem_sink(void *ctx, const uint8_t *data, size_t len) {
  mem_sink_t *m = (mem_sink_t *)ctx;
  if (len > m->cap - m->len) return -1;
  memcpy(m->out + m->len, data, len);
  m->len += len;
  return 0;
}

size_t iot_frame_encode(uint8_t type, const uint8_t *payload, size_t len, uint8_t *out, size_t cap) {
  iot_frame_writer_t w;
  mem_sink_t m;
  m.out = out;
  m.cap = cap;
  m.len = 0;
  if (iot_frame_begin(&w, mem_sink, &m, type, len) != 0) return 0;
  if (iot_frame_put(&w, payload, len) != 0) return 0;
  if (iot_frame_end(&w) != 0) return 0;
  return m.len;
}

/* ---------------------------------------------------------------------------------------------
 * Decoder */

enum {
  ST_HUNT,    /* before the first flag: everything is noise */
  ST_BODY,    /* inside a frame (or between frames, with len == 0) */
  ST_ESCAPE,  /* the previous byte was 0x7D */
  ST_DISCARD  /* the frame is overlong: drop bytes until the next flag */
};

void iot_frame_decoder_init(iot_frame_decoder_t *d) {
  memset(&d->stats, 0, sizeof d->stats);
  d->state = ST_HUNT;
  d->len = 0;
  d->type = 0;
  d->payload = d->buf + IOT_FRAME_HEADER_LEN;
  d->payload_len = 0;
}

static iot_frame_event_t overlong(iot_frame_decoder_t *d) {
  d->stats.overlong++;
  d->state = ST_DISCARD;
  d->len = 0;
  return IOT_FRAME_OVERLONG;
}

static iot_frame_event_t append(iot_frame_decoder_t *d, uint8_t b) {
  if (d->len >= sizeof d->buf) return overlong(d);
  d->buf[d->len++] = b;
  /* Judge the length field as soon as it is complete: a corrupt one must not make the decoder
   * swallow up to IOT_FRAME_MAX_BODY bytes of the frames that follow. */
  if (d->len == IOT_FRAME_HEADER_LEN && (((size_t)d->buf[1] << 8) | d->buf[2]) > IOT_FRAME_MAX_PAYLOAD)
    return overlong(d);
  return IOT_FRAME_NONE;
}

/* A flag ended the bytes collected so far. The flag also opens the next frame, so a frame cut
 * short by noise or a reset never hides the one after it. */
static iot_frame_event_t finish(iot_frame_decoder_t *d) {
  size_t len = d->len, declared;
  uint16_t crc;
  d->len = 0;
  if (len == 0) return IOT_FRAME_NONE; /* back-to-back flags: idle fill, not an error */
  if (len < IOT_FRAME_HEADER_LEN + IOT_FRAME_CRC_LEN) {
    d->stats.malformed++;
    return IOT_FRAME_MALFORMED;
  }
  crc = (uint16_t)((d->buf[len - 2] << 8) | d->buf[len - 1]);
  if (iot_crc16(d->buf, len - IOT_FRAME_CRC_LEN) != crc) {
    d->stats.crc_errors++;
    return IOT_FRAME_CRC_ERROR;
  }
  declared = ((size_t)d->buf[1] << 8) | d->buf[2];
  if (declared != len - IOT_FRAME_HEADER_LEN - IOT_FRAME_CRC_LEN) {
    d->stats.malformed++;
    return IOT_FRAME_MALFORMED;
  }
  d->type = d->buf[0];
  d->payload = d->buf + IOT_FRAME_HEADER_LEN;
  d->payload_len = declared;
  d->stats.frames++;
  return IOT_FRAME_OK;
}

iot_frame_event_t iot_frame_feed(iot_frame_decoder_t *d, uint8_t b) {
  switch (d->state) {
  case ST_HUNT:
    if (b == IOT_FRAME_FLAG) {
      d->state = ST_BODY;
      d->len = 0;
    } else {
      d->stats.noise_bytes++;
    }
    return IOT_FRAME_NONE;
  case ST_DISCARD:
    if (b == IOT_FRAME_FLAG) {
      d->state = ST_BODY;
      d->len = 0;
    }
    return IOT_FRAME_NONE;
  case ST_ESCAPE:
    if (b == IOT_FRAME_FLAG) { /* 0x7D 0x7E: the sender aborted the frame; the flag opens the next */
      d->state = ST_BODY;
      d->len = 0;
      d->stats.malformed++;
      return IOT_FRAME_MALFORMED;
    }
    d->state = ST_BODY;
    return append(d, (uint8_t)(b ^ IOT_FRAME_XOR));
  default: /* ST_BODY */
    if (b == IOT_FRAME_FLAG) return finish(d);
    if (b == IOT_FRAME_ESC) {
      d->state = ST_ESCAPE;
      return IOT_FRAME_NONE;
    }
    return append(d, b);
  }
}

const char *iot_frame_event_text(iot_frame_event_t event) {
  switch (event) {
  case IOT_FRAME_NONE: return "none";
  case IOT_FRAME_OK: return "frame";
  case IOT_FRAME_CRC_ERROR: return "CRC error";
  case IOT_FRAME_OVERLONG: return "overlong frame";
  case IOT_FRAME_MALFORMED: return "malformed frame";
  }
  return "unknown";
}
