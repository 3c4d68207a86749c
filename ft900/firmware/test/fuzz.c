/*
 * Deterministic fuzz / property test (run under ASan+UBSan by `make test` and `make fuzz`).
 *
 *   fuzz-asan [iterations=200000] [seed=1]
 *
 * A fixed-seed PRNG drives four properties, a quarter of the iterations each:
 *   1. random byte streams into the frame decoder: no crash, every reported frame is internally
 *      consistent and survives re-encoding;
 *   2. valid frames round-trip through encoder and decoder, after random noise, after a cut-off
 *      frame, and a single flipped bit is never delivered as a different frame;
 *   3. random and mutated JSON into the reader: it terminates, tokens stay inside the input,
 *      decoded strings are no longer than their source; writer output always reads back equal;
 *   4. random, mutated and valid requests into iot_handle_message: at most one answer, always on
 *      the device's own answer topic, always a JSON object within the protocol limit, and valid
 *      requests always succeed with their cid echoed.
 * The same seed always runs the same inputs; a failure prints the iteration to reproduce it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "frame.h"
#include "json.h"
#include "protocol.h"
#include "sim_hal.h"

unsigned long check_count = 0, check_failures = 0;
const char *check_current_test = "";
static unsigned long iteration;

void check_fail(const char *file, int line, const char *what) {
  if (++check_failures <= 20) fprintf(stderr, "FAIL %s iteration %lu (%s:%d): %s\n", check_current_test, iteration, file, line, what);
}

void check_run(const char *name, void (*fn)(void)) {
  check_current_test = name;
  fn();
}

/* xorshift64*: small, fast, and the same everywhere. */
static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}
static uint32_t below(uint32_t n) { return n == 0 ? 0 : rnd() % n; }
static int chance(uint32_t percent) { return below(100) < percent; }

/* Bytes biased towards the ones framing cares about. */
static uint8_t frame_byte(void) {
  switch (below(8)) {
  case 0: return IOT_FRAME_FLAG;
  case 1: return IOT_FRAME_ESC;
  case 2: return (uint8_t)(chance(50) ? 0x5E : 0x5D);
  default: return (uint8_t)rnd();
  }
}

static iot_frame_decoder_t dec, dec2;
static uint8_t buf[IOT_FRAME_MAX_ENCODED + 256];
static uint8_t enc[IOT_FRAME_MAX_ENCODED];
static uint8_t payload[IOT_FRAME_MAX_PAYLOAD];

/* ---- 1 ---- */
static void frame_random_bytes(void) {
  size_t n = below(chance(5) ? 6000 : 400), i;
  unsigned ok = 0, errors = 0;
  iot_frame_stats_t before;
  if (chance(50)) iot_frame_decoder_init(&dec); /* otherwise continue the previous stream */
  before = dec.stats;
  for (i = 0; i < n; i++) buf[i] = frame_byte();
  for (i = 0; i < n; i++) {
    iot_frame_event_t ev = iot_frame_feed(&dec, buf[i]);
    if (ev == IOT_FRAME_OK) {
      size_t m;
      ok++;
      CHECK(dec.payload_len <= IOT_FRAME_MAX_PAYLOAD);
      /* Whatever was accepted re-encodes to a frame that decodes the same. */
      m = iot_frame_encode(dec.type, dec.payload, dec.payload_len, enc, sizeof enc);
      CHECK(m > 0);
      {
        size_t j;
        int got = 0;
        iot_frame_decoder_init(&dec2);
        for (j = 0; j < m; j++)
          if (iot_frame_feed(&dec2, enc[j]) == IOT_FRAME_OK) got++;
        CHECK(got == 1 && dec2.type == dec.type && dec2.payload_len == dec.payload_len &&
              memcmp(dec2.payload, dec.payload, dec.payload_len) == 0);
      }
    } else if (ev != IOT_FRAME_NONE) {
      errors++;
    }
  }
  CHECK_EQ_INT(dec.stats.frames - before.frames, ok);
  CHECK_EQ_INT((dec.stats.crc_errors - before.crc_errors) + (dec.stats.overlong - before.overlong) +
                   (dec.stats.malformed - before.malformed),
               errors);
}

static size_t random_payload(void) {
  size_t len = chance(3) ? below(IOT_FRAME_MAX_PAYLOAD + 1) : below(300), i;
  for (i = 0; i < len; i++) payload[i] = frame_byte();
  return len;
}

/* Feed; return how many frames equal to (type, payload[0..len)) and how many other frames came out. */
static void feed_count(const uint8_t *bytes, size_t n, uint8_t type, size_t len, unsigned *same, unsigned *other) {
  size_t i;
  for (i = 0; i < n; i++) {
    if (iot_frame_feed(&dec, bytes[i]) != IOT_FRAME_OK) continue;
    if (dec.type == type && dec.payload_len == len && memcmp(dec.payload, payload, len) == 0) (*same)++;
    else (*other)++;
  }
}

/* ---- 2 ---- */
static void frame_round_trip(void) {
  uint8_t type = (uint8_t)(chance(80) ? 1 + below(6) : rnd());
  size_t len = random_payload(), n, i, noise = below(24);
  unsigned same = 0, other = 0;
  n = iot_frame_encode(type, payload, len, enc, sizeof enc);
  CHECK(n >= len + 7 && n <= 2 + 2 * (len + 5));
  CHECK(memchr(enc + 1, IOT_FRAME_FLAG, n - 2) == NULL);
  iot_frame_decoder_init(&dec);

  switch (below(3)) {
  case 0: /* noise, then the frame */
    for (i = 0; i < noise; i++) buf[i] = frame_byte();
    feed_count(buf, noise, type, len, &same, &other);
    other = 0; /* random noise may hold anything; only the frame after it is under test */
    feed_count(enc, n, type, len, &same, &other);
    CHECK_EQ_INT(same, 1);
    CHECK_EQ_INT(other, 0);
    break;
  case 1: { /* one flipped bit: never delivered as a different frame; the next copy arrives */
    size_t at = 1 + below((uint32_t)(n - 2));
    memcpy(buf, enc, n);
    buf[at] ^= (uint8_t)(1u << below(8));
    feed_count(buf, n, type, len, &same, &other);
    CHECK_EQ_INT(other, 0);
    CHECK_EQ_INT(same, 0);
    feed_count(enc, n, type, len, &same, &other);
    CHECK_EQ_INT(same, 1);
    CHECK_EQ_INT(other, 0);
    break;
  }
  default: { /* cut off (a sender reset), then the frame again */
    size_t cut = below((uint32_t)n);
    feed_count(enc, cut, type, len, &same, &other);
    feed_count(enc, n, type, len, &same, &other);
    /* Cut just before its end flag, the frame is complete: the next opening flag closes it. */
    CHECK_EQ_INT(same, cut == n - 1 ? 2 : 1);
    CHECK_EQ_INT(other, 0);
    break;
  }
  }
}

/* ---- 3 ---- */
static json_reader_t reader;

static const char json_alphabet[] = "{}[]:,\"\\/ \t\r\n0123456789-+.eEtrufalsn\x01\x7f";

static void mutate(char *text, size_t *len, size_t cap) {
  size_t times = 1 + below(3), t;
  for (t = 0; t < times; t++) {
    size_t at = below((uint32_t)(*len + 1));
    char c = chance(80) ? json_alphabet[below(sizeof json_alphabet - 1)] : (char)rnd();
    switch (below(3)) {
    case 0: /* insert */
      if (*len + 1 < cap) {
        memmove(text + at + 1, text + at, *len - at);
        text[at] = c;
        (*len)++;
      }
      break;
    case 1: /* delete */
      if (at < *len) {
        memmove(text + at, text + at + 1, *len - at - 1);
        (*len)--;
      }
      break;
    default: /* replace */
      if (at < *len) text[at] = c;
    }
  }
}

/* Read everything and check the reader's invariants. Returns the number of pairs or -1. */
static int read_checked(const char *text, size_t len) {
  json_token_t k, v;
  int pairs = 0, rc;
  char scratch[64];
  if (json_reader_begin(&reader, text, len) != JSON_OK) {
    CHECK(reader.error_pos <= len);
    return -1;
  }
  while ((rc = json_reader_next(&reader, &k, &v)) == 1) {
    pairs++;
    CHECK((size_t)pairs <= len);
    CHECK(k.type == JSON_STRING);
    CHECK(k.ptr >= text && k.ptr + k.len <= text + len);
    CHECK(v.ptr >= text && v.ptr + v.len <= text + len);
    CHECK(json_string_decode(k.ptr, k.len, scratch, sizeof scratch) <= k.len);
    if (v.type == JSON_STRING) CHECK(json_string_decode(v.ptr, v.len, scratch, sizeof scratch) <= v.len);
    if (v.type == JSON_NUMBER) {
      int64_t x;
      CHECK(json_number_int(v.ptr, v.len, &x) != JSON_INT_INVALID);
    }
  }
  CHECK(reader.error_pos <= len);
  CHECK(json_reader_next(&reader, &k, &v) == rc); /* terminal states stick */
  return rc < 0 ? -1 : pairs;
}

/* A random valid UTF-8 string (any code point but surrogates), controls and quotes included. */
static size_t random_utf8(char *out, size_t max_chars) {
  size_t n = 0, chars = below((uint32_t)max_chars + 1), i;
  for (i = 0; i < chars; i++) {
    uint32_t cp;
    switch (below(4)) {
    case 0: cp = below(0x20); break;
    case 1: cp = (uint32_t)"\"\\/~ab"[below(6)]; break;
    case 2: cp = 0x20 + below(0x60); break;
    default:
      do cp = below(0x110000);
      while (cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (cp < 0x80) out[n++] = (char)cp;
    else if (cp < 0x800) {
      out[n++] = (char)(0xC0 | (cp >> 6));
      out[n++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out[n++] = (char)(0xE0 | (cp >> 12));
      out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
      out[n++] = (char)(0x80 | (cp & 0x3F));
    } else {
      out[n++] = (char)(0xF0 | (cp >> 18));
      out[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
      out[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
      out[n++] = (char)(0x80 | (cp & 0x3F));
    }
  }
  return n;
}

static void json_properties(void) {
  static char text[2048], keys[6][64], strs[6][64], decoded[64];
  size_t klen[6], slen[6], len, i, pairs = below(6);
  uint32_t nums[6];
  int kinds[6];
  json_writer_t w;
  long written;

  if (chance(30)) { /* plain random bytes, JSON-ish */
    len = below(200);
    for (i = 0; i < len; i++) text[i] = chance(85) ? json_alphabet[below(sizeof json_alphabet - 1)] : (char)rnd();
    read_checked(text, len);
    return;
  }
  /* Write a random object, read it back equal. */
  json_writer_init(&w, text, sizeof text);
  json_write_object_begin(&w);
  for (i = 0; i < pairs; i++) {
    klen[i] = random_utf8(keys[i], 12);
    keys[i][klen[i]] = '\0';
    kinds[i] = (int)below(4);
    /* json_write_key takes a C string: keep keys NUL-free */
    {
      size_t j;
      for (j = 0; j < klen[i]; j++)
        if (keys[i][j] == '\0') keys[i][j] = 'z';
    }
    json_write_key(&w, keys[i]);
    switch (kinds[i]) {
    case 0:
      nums[i] = rnd();
      json_write_uint(&w, nums[i]);
      break;
    case 1:
      slen[i] = random_utf8(strs[i], 12);
      json_write_string(&w, strs[i], slen[i]);
      break;
    case 2: json_write_bool(&w, (int)(nums[i] = below(2))); break;
    default: json_write_null(&w);
    }
  }
  json_write_object_end(&w);
  written = json_writer_finish(&w);
  CHECK(written > 0);
  if (written <= 0) return;
  len = (size_t)written;
  if (chance(50)) {
    json_token_t k, v;
    CHECK_EQ_INT(json_reader_begin(&reader, text, len), JSON_OK);
    for (i = 0; i < pairs; i++) {
      size_t n;
      CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 1);
      n = json_string_decode(k.ptr, k.len, decoded, sizeof decoded);
      CHECK(n == klen[i] && memcmp(decoded, keys[i], n) == 0);
      switch (kinds[i]) {
      case 0: {
        int64_t x = -1;
        CHECK(v.type == JSON_NUMBER && json_number_int(v.ptr, v.len, &x) == JSON_INT_OK && x == (int64_t)nums[i]);
        break;
      }
      case 1:
        n = json_string_decode(v.ptr, v.len, decoded, sizeof decoded);
        CHECK(v.type == JSON_STRING && n == slen[i] && memcmp(decoded, strs[i], n) == 0);
        break;
      case 2: CHECK(v.type == (nums[i] ? JSON_TRUE : JSON_FALSE)); break;
      default: CHECK(v.type == JSON_NULL);
      }
    }
    CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 0);
  } else {
    mutate(text, &len, sizeof text);
    read_checked(text, len);
  }
}

/* ---- 4 ---- */
static sim_board_t board;
static iot_hal_t hal;
static char answer_topic[IOT_ANSWER_TOPIC_CAP], answer[IOT_ANSWER_PAYLOAD_CAP];

static const char *const commands[] = {"get_gpio", "set_gpio",   "get_rtc",    "set_rtc",      "get_mac",    "get_ip",
                                       "get_subnet", "get_gateway", "get_status", "reset_device", "write_uart", "set_status", "nope"};

/* A valid request body for command c, with a cid when cid != NULL. */
static size_t valid_request(size_t c, const char *cid, char *out, size_t cap) {
  json_writer_t w;
  char data[IOT_UART_MAX_BYTES];
  long n;
  json_writer_init(&w, out, cap);
  json_write_object_begin(&w);
  if (cid) {
    json_write_key(&w, "cid");
    json_write_cstring(&w, cid);
  }
  if (c == 0 || c == 1) {
    json_write_key(&w, "number");
    json_write_uint(&w, below(IOT_GPIO_MAX + 1));
  }
  if (c == 1) {
    json_write_key(&w, "value");
    json_write_uint(&w, below(2));
  }
  if (c == 3) {
    json_write_key(&w, "value");
    json_write_uint(&w, rnd());
  }
  if (c == 10) {
    size_t len;
    do len = random_utf8(data, 60);
    while (len == 0 || len > IOT_UART_MAX_BYTES);
    json_write_key(&w, "data");
    json_write_string(&w, data, len);
  }
  json_write_object_end(&w);
  n = json_writer_finish(&w);
  return n > 0 ? (size_t)n : 0;
}

static void protocol_properties(void) {
  static char text[IOT_MAX_PAYLOAD_BYTES + 64], topic[160];
  size_t c = below(sizeof commands / sizeof commands[0]), len, i;
  char cid[IOT_MAX_CID_LEN + 1];
  int valid = 0, rc, has_cid = chance(70);
  static const char cid_chars[] = "ABCXYZabcxyz0189_-";
  json_token_t k, v;

  for (i = 0, len = 1 + below(IOT_MAX_CID_LEN); i < len; i++) cid[i] = cid_chars[below(sizeof cid_chars - 1)];
  cid[len] = '\0';
  switch (below(10)) {
  case 0: snprintf(topic, sizeof topic, "dev1/x/%s", commands[c]); break;
  case 1: snprintf(topic, sizeof topic, "dev2/%s", commands[c]); break;
  default: snprintf(topic, sizeof topic, "dev1/%s", commands[c]);
  }
  switch (below(4)) {
  case 0: /* random bytes */
    len = below(chance(2) ? IOT_MAX_PAYLOAD_BYTES + 50 : 120);
    for (i = 0; i < len; i++) text[i] = chance(70) ? json_alphabet[below(sizeof json_alphabet - 1)] : (char)rnd();
    break;
  case 1: /* mutated valid request */
    len = valid_request(c, has_cid ? cid : NULL, text, sizeof text);
    mutate(text, &len, sizeof text);
    break;
  default: /* valid request */
    len = valid_request(c, has_cid ? cid : NULL, text, sizeof text);
    valid = topic[4] == '/' && strncmp(topic, "dev1/", 5) == 0 && strchr(topic + 5, '/') == NULL && c < 11;
  }

  sim_board_init(&board, "dev1");
  sim_board_hal(&board, &hal);
  board.fail_mask = chance(5) ? rnd() : 0;
  if (board.fail_mask) valid = 0;
  rc = iot_handle_message(&hal, "dev1", topic, text, len, answer_topic, sizeof answer_topic, answer, sizeof answer);
  if (strncmp(topic, "dev2/", 5) == 0) {
    CHECK_EQ_INT(rc, IOT_IGNORED);
    return;
  }
  CHECK_EQ_INT(rc, IOT_ANSWERED);
  if (rc != IOT_ANSWERED) return;
  CHECK(strncmp(answer_topic, "server/dev1/", 12) == 0 && strcmp(answer_topic + 12, commands[c]) == 0);
  len = strlen(answer);
  CHECK(len <= IOT_MAX_PAYLOAD_BYTES);
  CHECK(json_utf8_valid(answer, len));
  CHECK(read_checked(answer, len) >= 1);
  if (valid) {
    char got_cid[64] = "";
    int error = 0;
    json_reader_begin(&reader, answer, len);
    while (json_reader_next(&reader, &k, &v) == 1) {
      if (k.len == 5 && memcmp(k.ptr, "error", 5) == 0) error = 1;
      if (k.len == 3 && memcmp(k.ptr, "cid", 3) == 0) json_string_decode(v.ptr, v.len, got_cid, sizeof got_cid);
    }
    CHECK(!error);
    if (has_cid) CHECK_EQ_STR(got_cid, cid);
    else CHECK_EQ_STR(got_cid, "");
    if (error) fprintf(stderr, "  request %.*s -> %s\n", (int)len, text, answer);
  }
}

int main(int argc, char **argv) {
  unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
  unsigned long seed = argc > 2 ? strtoul(argv[2], NULL, 10) : 1;
  clock_t start = clock();
  rng_state = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)seed * 0xBF58476D1CE4E5B9ULL);
  if (rng_state == 0) rng_state = 1;
  iot_frame_decoder_init(&dec);
  for (iteration = 0; iteration < iterations; iteration++) {
    switch (iteration % 4) {
    case 0: check_current_test = "frame_random_bytes"; frame_random_bytes(); break;
    case 1: check_current_test = "frame_round_trip"; frame_round_trip(); break;
    case 2: check_current_test = "json_properties"; json_properties(); break;
    default: check_current_test = "protocol_properties"; protocol_properties(); break;
    }
  }
  printf("SUMMARY fuzz: %lu iterations (seed %lu), %lu checks, %lu failed (%.2f s CPU)\n", iterations, seed, check_count,
         check_failures, (double)(clock() - start) / CLOCKS_PER_SEC);
  return check_failures == 0 ? 0 : 1;
}
