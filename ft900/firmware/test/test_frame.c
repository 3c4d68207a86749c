/* Serial framing: CRC, encoder, decoder, resynchronisation. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "frame.h"

static iot_frame_decoder_t dec;
static uint8_t wire[IOT_FRAME_MAX_ENCODED + 64];
static uint8_t payload[IOT_FRAME_MAX_PAYLOAD + 16];

typedef struct {
  unsigned ok, crc, overlong, malformed;
  uint8_t type;
  size_t len;
  uint8_t data[IOT_FRAME_MAX_PAYLOAD];
} seen_t;

static seen_t seen;

/* Feed bytes; remember the last good frame and count every event. */
static void feed(const uint8_t *bytes, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    switch (iot_frame_feed(&dec, bytes[i])) {
    case IOT_FRAME_OK:
      seen.ok++;
      seen.type = dec.type;
      seen.len = dec.payload_len;
      memcpy(seen.data, dec.payload, dec.payload_len);
      break;
    case IOT_FRAME_CRC_ERROR: seen.crc++; break;
    case IOT_FRAME_OVERLONG: seen.overlong++; break;
    case IOT_FRAME_MALFORMED: seen.malformed++; break;
    case IOT_FRAME_NONE: break;
    }
  }
}

static void reset(void) {
  iot_frame_decoder_init(&dec);
  memset(&seen, 0, sizeof seen);
}

static void crc_matches_ccitt_false(void) {
  CHECK_EQ_INT(iot_crc16((const uint8_t *)"123456789", 9), 0x29B1); /* the catalogue check value */
  CHECK_EQ_INT(iot_crc16(NULL, 0), 0xFFFF);
  CHECK_EQ_INT(iot_crc16_update(iot_crc16((const uint8_t *)"1234", 4), (const uint8_t *)"56789", 5), 0x29B1);
}

/* The worked examples of FRAMING.md, byte for byte. */
static void encodes_the_documented_examples(void) {
  static const uint8_t request[] = {
    0x7E, 0x01, 0x00, 0x26, 0x66, 0x74, 0x39, 0x30, 0x30, 0x64, 0x65, 0x76, 0x69, 0x63, 0x65, 0x31,
    0x2F, 0x67, 0x65, 0x74, 0x5F, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x0A, 0x7B, 0x22, 0x63, 0x69,
    0x64, 0x22, 0x3A, 0x22, 0x6B, 0x33, 0x78, 0x39, 0x22, 0x7D, 0x5D, 0x33, 0xD3, 0x7E};
  static const uint8_t ping[] = {0x7E, 0x03, 0x00, 0x03, 0x7D, 0x5E, 0x7D, 0x5D, 0x01, 0xF6, 0x01, 0x7E};
  static const uint8_t hello[] = {0x7E, 0x05, 0x00, 0x04, 0x64, 0x65, 0x76, 0x31, 0x66, 0x5A, 0x7E};
  const char *req = "ft900device1/get_status\n{\"cid\":\"k3x9\"}";
  size_t n;
  n = iot_frame_encode(IOT_FRAME_REQUEST, (const uint8_t *)req, strlen(req), wire, sizeof wire);
  CHECK_EQ_INT(n, sizeof request);
  CHECK(memcmp(wire, request, sizeof request) == 0);
  n = iot_frame_encode(IOT_FRAME_PING, (const uint8_t *)"\x7E\x7D\x01", 3, wire, sizeof wire);
  CHECK_EQ_INT(n, sizeof ping);
  CHECK(memcmp(wire, ping, sizeof ping) == 0);
  n = iot_frame_encode(IOT_FRAME_HELLO, (const uint8_t *)"dev1", 4, wire, sizeof wire);
  CHECK_EQ_INT(n, sizeof hello);
  CHECK(memcmp(wire, hello, sizeof hello) == 0);

  reset();
  feed(request, sizeof request);
  CHECK_EQ_INT(seen.ok, 1);
  CHECK_EQ_INT(seen.type, IOT_FRAME_REQUEST);
  CHECK(seen.len == strlen(req) && memcmp(seen.data, req, seen.len) == 0);
}

static void round_trips_every_type_and_size(void) {
  static const size_t sizes[] = {0, 1, 2, 5, 63, 64, 65, 255, 256, 1000, IOT_FRAME_MAX_PAYLOAD - 1, IOT_FRAME_MAX_PAYLOAD};
  size_t s, i;
  uint8_t type;
  for (type = IOT_FRAME_REQUEST; type <= IOT_FRAME_LOG; type++) {
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      size_t n, len = sizes[s];
      /* Every byte value, the two special ones often. */
      for (i = 0; i < len; i++) payload[i] = (uint8_t)(i % 3 == 0 ? 0x7E : i % 3 == 1 ? 0x7D : i * 7);
      n = iot_frame_encode(type, payload, len, wire, sizeof wire);
      CHECK(n >= len + 7);
      CHECK(wire[0] == IOT_FRAME_FLAG && wire[n - 1] == IOT_FRAME_FLAG);
      CHECK(memchr(wire + 1, IOT_FRAME_FLAG, n - 2) == NULL); /* stuffing hides every flag */
      reset();
      feed(wire, n);
      CHECK_EQ_INT(seen.ok, 1);
      CHECK_EQ_INT(seen.type, type);
      CHECK_EQ_INT(seen.len, len);
      CHECK(memcmp(seen.data, payload, len) == 0);
      CHECK_EQ_INT(dec.stats.frames, 1);
      CHECK_EQ_INT(dec.stats.crc_errors + dec.stats.overlong + dec.stats.malformed + dec.stats.noise_bytes, 0);
    }
  }
  /* Worst case: all bytes need escaping. */
  memset(payload, 0x7E, IOT_FRAME_MAX_PAYLOAD);
  CHECK(iot_frame_encode(IOT_FRAME_RESPONSE, payload, IOT_FRAME_MAX_PAYLOAD, wire, sizeof wire) <= IOT_FRAME_MAX_ENCODED);
}

static void encoder_refuses_what_does_not_fit(void) {
  uint8_t small[8];
  CHECK_EQ_INT(iot_frame_encode(IOT_FRAME_PING, payload, IOT_FRAME_MAX_PAYLOAD + 1, wire, sizeof wire), 0);
  CHECK_EQ_INT(iot_frame_encode(IOT_FRAME_PING, (const uint8_t *)"abc", 3, small, sizeof small), 0);
  CHECK_EQ_INT(iot_frame_encode(IOT_FRAME_PING, NULL, 0, small, 7), 7); /* the smallest frame */
  CHECK_EQ_INT(iot_frame_encode(IOT_FRAME_PING, NULL, 0, small, 6), 0);
}

static size_t sink_used;
static int sink_fail_after;
static int test_sink(void *ctx, const uint8_t *data, size_t len) {
  (void)ctx;
  if (sink_fail_after >= 0 && sink_used + len > (size_t)sink_fail_after) return -1;
  memcpy(wire + sink_used, data, len);
  sink_used += len;
  return 0;
}

static void streaming_writer_checks_lengths_and_sink_errors(void) {
  iot_frame_writer_t w;
  const char *topic = "server/dev1/get_rtc", *json = "{\"value\":1}";
  sink_used = 0;
  sink_fail_after = -1;
  CHECK_EQ_INT(iot_frame_begin(&w, test_sink, NULL, IOT_FRAME_RESPONSE, strlen(topic) + 1 + strlen(json)), 0);
  CHECK_EQ_INT(iot_frame_put(&w, topic, strlen(topic)), 0);
  CHECK_EQ_INT(iot_frame_put(&w, "\n", 1), 0);
  CHECK_EQ_INT(iot_frame_put(&w, json, strlen(json)), 0);
  CHECK_EQ_INT(iot_frame_end(&w), 0);
  reset();
  feed(wire, sink_used);
  CHECK_EQ_INT(seen.ok, 1);
  CHECK(seen.len == strlen(topic) + 1 + strlen(json) && memcmp(seen.data, "server/dev1/get_rtc\n{", 21) == 0);

  sink_used = 0; /* more than announced */
  CHECK_EQ_INT(iot_frame_begin(&w, test_sink, NULL, IOT_FRAME_LOG, 2), 0);
  CHECK_EQ_INT(iot_frame_put(&w, "abc", 3), -1);
  CHECK_EQ_INT(iot_frame_end(&w), -1);
  sink_used = 0; /* fewer than announced */
  CHECK_EQ_INT(iot_frame_begin(&w, test_sink, NULL, IOT_FRAME_LOG, 4), 0);
  CHECK_EQ_INT(iot_frame_put(&w, "abc", 3), 0);
  CHECK_EQ_INT(iot_frame_end(&w), -1);
  sink_used = 0; /* too long to announce */
  CHECK_EQ_INT(iot_frame_begin(&w, test_sink, NULL, IOT_FRAME_LOG, IOT_FRAME_MAX_PAYLOAD + 1), -1);
  sink_used = 0; /* the sink fails midway (after the first 64-byte chunk) */
  sink_fail_after = 70;
  memset(payload, 'x', 200);
  CHECK_EQ_INT(iot_frame_begin(&w, test_sink, NULL, IOT_FRAME_LOG, 200), 0);
  CHECK_EQ_INT(iot_frame_put(&w, payload, 200), -1);
  CHECK_EQ_INT(iot_frame_end(&w), -1);
  sink_fail_after = -1;
}

static size_t encode(uint8_t type, const char *text, uint8_t *out) {
  return iot_frame_encode(type, (const uint8_t *)text, strlen(text), out, IOT_FRAME_MAX_ENCODED);
}

static void skips_noise_before_the_first_frame(void) {
  static const uint8_t noise[] = {0x00, 0xFF, 0x13, 0x7D, 0x5E, 0x41, 0x0A};
  size_t n = encode(IOT_FRAME_HELLO, "dev1", wire);
  reset();
  feed(noise, sizeof noise);
  feed(wire, n);
  CHECK_EQ_INT(seen.ok, 1);
  CHECK_EQ_INT(dec.stats.noise_bytes, sizeof noise);
  CHECK_EQ_INT(seen.crc + seen.malformed + seen.overlong, 0);
}

static void resynchronises_after_garbage_containing_flags(void) {
  /* Garbage with flags and escapes forms bogus frames; each is reported, and the real frame's
   * own opening flag ends them, so it still arrives. */
  static const uint8_t garbage[] = {0x7E, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x7E, 0x7D, 0x7E, 0x55, 0x7D};
  size_t n = encode(IOT_FRAME_REQUEST, "dev1/get_rtc\n{}", wire);
  reset();
  feed(garbage, sizeof garbage);
  feed(wire, n);
  CHECK_EQ_INT(seen.ok, 1);
  CHECK_EQ_INT(seen.type, IOT_FRAME_REQUEST);
  CHECK(seen.crc + seen.malformed >= 2);
  CHECK_EQ_INT(dec.stats.crc_errors + dec.stats.malformed, seen.crc + seen.malformed);
}

static void a_partial_frame_cut_by_a_reset_is_dropped(void) {
  /* The sender restarts mid-frame and sends HELLO: the partial frame is an error, HELLO arrives. */
  size_t n1 = encode(IOT_FRAME_RESPONSE, "server/dev1/get_status\n{\"status\":\"running\"}", wire);
  size_t n2 = encode(IOT_FRAME_HELLO, "dev1", wire + n1);
  reset();
  feed(wire, n1 / 2);
  feed(wire + n1, n2);
  CHECK_EQ_INT(seen.ok, 1);
  CHECK_EQ_INT(seen.type, IOT_FRAME_HELLO);
  CHECK_EQ_INT(seen.crc + seen.malformed, 1);
}

/* FRAMING.md, "Resynchronising". */
static void documented_resync_example(void) {
  static const uint8_t line[] = {0x13, 0x7E, 0x01, 0x02, 0x7D, 0x7E, 0x7E, 0x05, 0x00,
                                 0x04, 0x64, 0x65, 0x76, 0x31, 0x66, 0x5A, 0x7E};
  reset();
  feed(line, sizeof line);
  CHECK_EQ_INT(dec.stats.noise_bytes, 1);
  CHECK_EQ_INT(seen.malformed, 1);
  CHECK_EQ_INT(seen.crc + seen.overlong, 0);
  CHECK_EQ_INT(seen.ok, 1);
  CHECK(seen.type == IOT_FRAME_HELLO && seen.len == 4 && memcmp(seen.data, "dev1", 4) == 0);
}

static void back_to_back_and_shared_flags(void) {
  size_t n1 = encode(IOT_FRAME_PING, "a", wire);
  size_t n2 = encode(IOT_FRAME_PING, "b", wire + n1);
  static const uint8_t idle[] = {0x7E, 0x7E, 0x7E};
  reset();
  feed(idle, sizeof idle); /* idle flags are not errors */
  feed(wire, n1 + n2);
  CHECK_EQ_INT(seen.ok, 2);
  CHECK_EQ_INT(seen.crc + seen.malformed + seen.overlong, 0);
  /* One flag may close a frame and open the next (HDLC style). */
  reset();
  feed(wire, n1);
  feed(wire + n1 + 1, n2 - 1);
  CHECK_EQ_INT(seen.ok, 2);
  CHECK(seen.len == 1 && seen.data[0] == 'b');
}

static void reports_crc_errors(void) {
  size_t n = encode(IOT_FRAME_REQUEST, "dev1/get_rtc\n{}", wire), i;
  for (i = 1; i < n - 1; i++) {
    uint8_t saved = wire[i];
    if (saved == 0x7D || saved == 0x7E) continue;
    wire[i] ^= 0x01; /* every single-bit error in the body is caught */
    if (wire[i] == 0x7D || wire[i] == 0x7E) {
      wire[i] = saved;
      continue;
    }
    reset();
    feed(wire, n);
    CHECK_EQ_INT(seen.ok, 0);
    CHECK_EQ_INT(seen.crc, 1);
    CHECK_EQ_INT(dec.stats.crc_errors, 1);
    wire[i] = saved;
  }
}

static void reports_malformed_frames(void) {
  static const uint8_t runt[] = {0x7E, 0x01, 0x00, 0x00, 0x7E};   /* 3 bytes: no CRC */
  static const uint8_t aborted[] = {0x7E, 0x01, 0x00, 0x7D, 0x7E}; /* 0x7D 0x7E aborts */
  uint8_t body[16];
  uint16_t crc;
  size_t n;
  reset();
  feed(runt, sizeof runt);
  CHECK_EQ_INT(seen.malformed, 1);
  reset();
  feed(aborted, sizeof aborted);
  CHECK_EQ_INT(seen.malformed, 1);
  /* The abort's flag opens the next frame. */
  n = encode(IOT_FRAME_PING, "x", wire);
  feed(wire + 1, n - 1);
  CHECK_EQ_INT(seen.ok, 1);

  /* A good CRC over a length field that disagrees with the body: malformed, not delivered. */
  body[0] = IOT_FRAME_PING;
  body[1] = 0;
  body[2] = 5; /* claims 5, carries 2 */
  body[3] = 'h';
  body[4] = 'i';
  crc = iot_crc16(body, 5);
  body[5] = (uint8_t)(crc >> 8);
  body[6] = (uint8_t)crc;
  reset();
  wire[0] = 0x7E;
  memcpy(wire + 1, body, 7);
  wire[8] = 0x7E;
  for (n = 1; n < 8; n++) CHECK(wire[n] != 0x7E && wire[n] != 0x7D);
  feed(wire, 9);
  CHECK_EQ_INT(seen.ok, 0);
  CHECK_EQ_INT(seen.malformed, 1);
  CHECK_EQ_INT(dec.stats.malformed, 1);
}

static void reports_overlong_frames_early(void) {
  /* A length field beyond the maximum is refused at once, not after 4 KB of waiting. */
  static const uint8_t big[] = {0x7E, 0x01, 0xFF, 0xFF};
  size_t n, i;
  reset();
  feed(big, sizeof big);
  CHECK_EQ_INT(seen.overlong, 1);
  n = encode(IOT_FRAME_PING, "ok", wire);
  feed(wire, n); /* its flag ends the discarding */
  CHECK_EQ_INT(seen.ok, 1);
  CHECK_EQ_INT(dec.stats.overlong, 1);

  /* A plausible length, then far more bytes than any frame can hold. */
  reset();
  wire[0] = 0x7E;
  wire[1] = 0x01;
  wire[2] = 0x00;
  wire[3] = 0x10;
  for (i = 4; i < IOT_FRAME_MAX_BODY + 100; i++) wire[i] = 'a';
  feed(wire, IOT_FRAME_MAX_BODY + 100);
  CHECK_EQ_INT(seen.overlong, 1);
  n = encode(IOT_FRAME_PING, "ok", wire);
  feed(wire, n);
  CHECK_EQ_INT(seen.ok, 1);
  CHECK_EQ_INT(seen.crc + seen.malformed, 0);

  /* Exactly the maximum is fine. */
  reset();
  memset(payload, 'm', IOT_FRAME_MAX_PAYLOAD);
  n = iot_frame_encode(IOT_FRAME_REQUEST, payload, IOT_FRAME_MAX_PAYLOAD, wire, sizeof wire);
  feed(wire, n);
  CHECK_EQ_INT(seen.ok, 1);
  CHECK_EQ_INT(seen.len, IOT_FRAME_MAX_PAYLOAD);
}

static void events_have_names(void) {
  CHECK_EQ_STR(iot_frame_event_text(IOT_FRAME_OK), "frame");
  CHECK_EQ_STR(iot_frame_event_text(IOT_FRAME_CRC_ERROR), "CRC error");
  CHECK_EQ_STR(iot_frame_event_text(IOT_FRAME_OVERLONG), "overlong frame");
  CHECK_EQ_STR(iot_frame_event_text(IOT_FRAME_MALFORMED), "malformed frame");
  CHECK_EQ_STR(iot_frame_event_text(IOT_FRAME_NONE), "none");
}

void frame_tests(void) {
  RUN(crc_matches_ccitt_false);
  RUN(encodes_the_documented_examples);
  RUN(round_trips_every_type_and_size);
  RUN(encoder_refuses_what_does_not_fit);
  RUN(streaming_writer_checks_lengths_and_sink_errors);
  RUN(skips_noise_before_the_first_frame);
  RUN(resynchronises_after_garbage_containing_flags);
  RUN(a_partial_frame_cut_by_a_reset_is_dropped);
  RUN(documented_resync_example);
  RUN(back_to_back_and_shared_flags);
  RUN(reports_crc_errors);
  RUN(reports_malformed_frames);
  RUN(reports_overlong_frames_early);
  RUN(events_have_names);
}
