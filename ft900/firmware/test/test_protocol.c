/* Protocol core: every command, every error path, against the simulated board. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"
#include "protocol.h"
#include "sim_hal.h"

#define DEV "dev1"

static sim_board_t board;
static iot_hal_t hal;
static time_t fake_now;
static time_t fake_clock(void) { return fake_now; }

static void power_on(void) {
  sim_board_init(&board, DEV);
  board.clock = fake_clock;
  fake_now = 1000;
  board.rtc_set_at = fake_now;
  board.rtc_base = 1764144000u;
  sim_board_hal(&board, &hal);
}

/* An answer, taken apart. */
typedef struct {
  int rc;
  char topic[IOT_ANSWER_TOPIC_CAP];
  char json[IOT_ANSWER_PAYLOAD_CAP];
  int has_cid;
  char cid[64];
  int code; /* 0 when the answer is a result */
  char name[40], field[80], message[200];
  int has_field;
} answer_t;

static answer_t ans;
static json_reader_t rd;

static void decode_into(const json_token_t *t, char *out, size_t cap) {
  size_t n = json_string_decode(t->ptr, t->len, out, cap);
  CHECK(n < cap);
}

/* Check everything any answer must satisfy, and extract cid / error. */
static void parse_answer(void) {
  json_token_t k, v, error_tok = {JSON_NULL, NULL, 0};
  int rc, has_error = 0, pairs = 0;
  size_t len = strlen(ans.json);
  char key[32];

  ans.has_cid = ans.code = ans.has_field = 0;
  ans.cid[0] = ans.name[0] = ans.field[0] = ans.message[0] = '\0';
  if (ans.rc != IOT_ANSWERED) return;
  CHECK(len <= IOT_MAX_PAYLOAD_BYTES);
  CHECK(json_utf8_valid(ans.json, len));
  CHECK(strncmp(ans.topic, "server/" DEV "/", strlen("server/" DEV "/")) == 0);
  CHECK_EQ_INT(json_reader_begin(&rd, ans.json, len), JSON_OK);
  while ((rc = json_reader_next(&rd, &k, &v)) == 1) {
    pairs++;
    decode_into(&k, key, sizeof key);
    if (strcmp(key, "cid") == 0) {
      CHECK(v.type == JSON_STRING);
      CHECK_EQ_INT(pairs, 1); /* cid comes first, like the examples */
      decode_into(&v, ans.cid, sizeof ans.cid);
      ans.has_cid = 1;
    } else if (strcmp(key, "error") == 0) {
      CHECK(v.type == JSON_OBJECT);
      error_tok = v;
      has_error = 1;
    }
  }
  CHECK_EQ_INT(rc, 0);
  if (!has_error) return;
  CHECK_EQ_INT(pairs, 1 + ans.has_cid); /* an error answer has nothing else */
  CHECK_EQ_INT(json_reader_begin(&rd, error_tok.ptr, error_tok.len), JSON_OK);
  while ((rc = json_reader_next(&rd, &k, &v)) == 1) {
    decode_into(&k, key, sizeof key);
    if (strcmp(key, "code") == 0) {
      int64_t code;
      CHECK(v.type == JSON_NUMBER && json_number_int(v.ptr, v.len, &code) == JSON_INT_OK);
      ans.code = (int)code;
    } else if (strcmp(key, "name") == 0) {
      decode_into(&v, ans.name, sizeof ans.name);
    } else if (strcmp(key, "message") == 0) {
      decode_into(&v, ans.message, sizeof ans.message);
      CHECK(strlen(ans.message) < IOT_MAX_ERROR_MESSAGE_LEN); /* the protocol's advice */
      CHECK(strlen(ans.message) > 0);
    } else if (strcmp(key, "field") == 0) {
      size_t n = json_string_decode(v.ptr, v.len, ans.field, sizeof ans.field);
      CHECK(n <= 64); /* the error schema's maxLength */
      CHECK(ans.field[0] == '/');
      ans.has_field = 1;
    } else {
      CHECK(!"unexpected key in the error object");
    }
  }
  CHECK_EQ_INT(rc, 0);
  CHECK(ans.code >= 1 && ans.code <= 8 && ans.code != 4); /* TIMEOUT is never sent by a device */
  CHECK_EQ_STR(ans.name, iot_error_name(ans.code));
}

static const answer_t *ask_n(const char *topic, const char *payload, size_t len) {
  memset(ans.topic, 'T', sizeof ans.topic);
  memset(ans.json, 'J', sizeof ans.json);
  ans.rc = iot_handle_message(&hal, DEV, topic, payload, len, ans.topic, sizeof ans.topic, ans.json, sizeof ans.json);
  parse_answer();
  return &ans;
}

static const answer_t *ask(const char *topic, const char *payload) { return ask_n(topic, payload, strlen(payload)); }

/* The exact answer for a request. */
#define CHECK_ANSWER(topic_, payload_, expect_topic, expect_json) \
  do {                                                          \
    ask(topic_, payload_);                                      \
    CHECK_EQ_INT(ans.rc, IOT_ANSWERED);                         \
    CHECK_EQ_STR(ans.topic, expect_topic);                      \
    CHECK_EQ_STR(ans.json, expect_json);                        \
  } while (0)

/* An error answer with code, field ("" for none) and cid ("" for none). */
static void expect_error(const char *topic, const char *payload, size_t len, int code, const char *field,
                         const char *cid) {
  char where[160];
  snprintf(where, sizeof where, "%s %.100s", topic, payload);
  check_current_test = where;
  ask_n(topic, payload, len);
  CHECK_EQ_INT(ans.rc, IOT_ANSWERED);
  CHECK_EQ_INT(ans.code, code);
  if (field[0] != '\0') CHECK_EQ_STR(ans.field, field);
  else CHECK(!ans.has_field);
  if (cid[0] != '\0') CHECK_EQ_STR(ans.cid, cid);
  else CHECK(!ans.has_cid);
}

#define EXPECT_ERROR(topic, payload, code, field, cid) expect_error(topic, payload, strlen(payload), code, field, cid)

/* ------------------------------------------------------------------------------------------- */

static void every_command_has_a_handler(void) {
  int i;
  power_on();
  for (i = 0; i < IOT_CMD__COUNT; i++) {
    char topic[64];
    const char *name = iot_command_name((iot_command_t)i);
    CHECK(name != NULL);
    snprintf(topic, sizeof topic, DEV "/%s", name);
    ask(topic, "{}");
    CHECK_EQ_INT(ans.rc, IOT_ANSWERED);
    CHECK(ans.code != IOT_ERR_UNKNOWN_COMMAND);
  }
  CHECK(iot_command_name(IOT_CMD__COUNT) == NULL);
  CHECK_EQ_STR(iot_error_name(2), "INVALID_PARAMS");
  CHECK(iot_error_name(0) == NULL && iot_error_name(9) == NULL);
}

static void gpio_commands(void) {
  power_on();
  CHECK_ANSWER(DEV "/get_gpio", "{\"cid\":\"k3x9\",\"number\":18}", "server/" DEV "/get_gpio",
               "{\"cid\":\"k3x9\",\"number\":18,\"value\":0}");
  CHECK_ANSWER(DEV "/set_gpio", "{\"cid\":\"k3x9\",\"number\":18,\"value\":1}", "server/" DEV "/set_gpio",
               "{\"cid\":\"k3x9\",\"number\":18,\"value\":1}");
  CHECK(board.gpio_level[18] == 1 && board.gpio_output[18] == 1);
  CHECK_ANSWER(DEV "/get_gpio", "{\"number\":18,\"cid\":\"a\"}", "server/" DEV "/get_gpio",
               "{\"cid\":\"a\",\"number\":18,\"value\":1}");
  CHECK_ANSWER(DEV "/set_gpio", "{\"value\":0,\"number\":66}", "server/" DEV "/set_gpio", "{\"number\":66,\"value\":0}");
  CHECK_ANSWER(DEV "/set_gpio", "{\"number\":0,\"value\":1}", "server/" DEV "/set_gpio", "{\"number\":0,\"value\":1}");
  /* JSON numbers that are integers however they are written (as JSON.parse sees them). */
  CHECK_ANSWER(DEV "/set_gpio", "{\"number\":1.8e1,\"value\":1.0}", "server/" DEV "/set_gpio",
               "{\"number\":18,\"value\":1}");
  CHECK_ANSWER(DEV "/set_gpio", "{\"number\":3,\"value\":-0}", "server/" DEV "/set_gpio", "{\"number\":3,\"value\":0}");
}

static void rtc_commands(void) {
  power_on();
  CHECK_ANSWER(DEV "/get_rtc", "{\"cid\":\"k3x9\"}", "server/" DEV "/get_rtc", "{\"cid\":\"k3x9\",\"value\":1764144000}");
  fake_now += 5; /* the clock ticks */
  CHECK_ANSWER(DEV "/get_rtc", "", "server/" DEV "/get_rtc", "{\"value\":1764144005}");
  CHECK_ANSWER(DEV "/set_rtc", "{\"cid\":\"c\",\"value\":4294967295}", "server/" DEV "/set_rtc",
               "{\"cid\":\"c\",\"value\":4294967295}");
  fake_now += 2; /* and keeps ticking after set_rtc, wrapping like a 32-bit counter */
  CHECK_ANSWER(DEV "/get_rtc", "{}", "server/" DEV "/get_rtc", "{\"value\":1}");
  CHECK_ANSWER(DEV "/set_rtc", "{\"value\":0}", "server/" DEV "/set_rtc", "{\"value\":0}");
  CHECK_ANSWER(DEV "/get_rtc", "{}", "server/" DEV "/get_rtc", "{\"value\":0}");
}

static void network_commands(void) {
  char expect[64];
  power_on();
  snprintf(expect, sizeof expect, "{\"cid\":\"m\",\"value\":\"%02x:%02x:%02x:%02x:%02x:%02x\"}", board.mac[0], board.mac[1],
           board.mac[2], board.mac[3], board.mac[4], board.mac[5]);
  CHECK_ANSWER(DEV "/get_mac", "{\"cid\":\"m\"}", "server/" DEV "/get_mac", expect);
  CHECK(board.mac[0] == 0x02); /* locally administered */
  CHECK_ANSWER(DEV "/get_ip", "{}", "server/" DEV "/get_ip", "{\"value\":\"192.168.1.20\"}");
  CHECK_ANSWER(DEV "/get_subnet", "{}", "server/" DEV "/get_subnet", "{\"value\":\"255.255.255.0\"}");
  CHECK_ANSWER(DEV "/get_gateway", "{}", "server/" DEV "/get_gateway", "{\"value\":\"192.168.1.1\"}");
  /* Formatting of every octet width. */
  memcpy(board.mac, "\x00\x0a\xff\x10\x7e\xa5", 6);
  memcpy(board.ip, "\x00\x09\x0a\x63", 4);
  CHECK_ANSWER(DEV "/get_mac", "{}", "server/" DEV "/get_mac", "{\"value\":\"00:0a:ff:10:7e:a5\"}");
  CHECK_ANSWER(DEV "/get_ip", "{}", "server/" DEV "/get_ip", "{\"value\":\"0.9.10.99\"}");
  memcpy(board.ip, "\x64\xc7\xff\xfe", 4);
  CHECK_ANSWER(DEV "/get_ip", "{}", "server/" DEV "/get_ip", "{\"value\":\"100.199.255.254\"}");
}

static void mac_is_derived_from_the_device_id(void) {
  sim_board_t a, b, c;
  sim_board_init(&a, "ft900device1");
  sim_board_init(&b, "ft900device1");
  sim_board_init(&c, "ft900device2");
  CHECK(memcmp(a.mac, b.mac, 6) == 0);
  CHECK(memcmp(a.mac, c.mac, 6) != 0);
}

static void status_and_reset(void) {
  power_on();
  CHECK_ANSWER(DEV "/get_status", "{\"cid\":\"s\"}", "server/" DEV "/get_status", "{\"cid\":\"s\",\"status\":\"running\"}");
  board.gpio_level[5] = 1;
  board.gpio_output[5] = 1;
  hal.uart_write(hal.ctx, (const uint8_t *)"abc", 3);
  fake_now += 10;
  CHECK(!board.reset_requested);
  CHECK_ANSWER(DEV "/reset_device", "{\"cid\":\"r\"}", "server/" DEV "/reset_device",
               "{\"cid\":\"r\",\"status\":\"restarting\"}");
  CHECK(board.reset_requested); /* requested, not done: the answer goes out first */
  CHECK(board.gpio_level[5] == 1);
  sim_board_reset(&board);
  CHECK(!board.reset_requested);
  CHECK_EQ_INT(board.resets, 1);
  CHECK(board.gpio_level[5] == 0 && board.gpio_output[5] == 0);
  CHECK_EQ_INT(board.uart_count, 0);
  /* The RTC is battery-backed: it survives the reset. */
  CHECK_ANSWER(DEV "/get_rtc", "{}", "server/" DEV "/get_rtc", "{\"value\":1764144010}");
}

/* The original libpyiotcloud firmware's restart: set_status {"status":"restart"}. */
static void set_status_restarts(void) {
  power_on();
  board.gpio_level[5] = 1;
  board.gpio_output[5] = 1;
  CHECK_ANSWER(DEV "/set_status", "{\"status\":\"restart\"}", "server/" DEV "/set_status", "{\"status\":\"restarting\"}");
  CHECK(board.reset_requested);
  sim_board_reset(&board);
  CHECK_EQ_INT(board.resets, 1);
  CHECK(board.gpio_level[5] == 0);
  /* Any other status is refused before anything happens. */
  EXPECT_ERROR(DEV "/set_status", "{\"cid\":\"q\",\"status\":\"running\"}", IOT_ERR_INVALID_PARAMS, "/status", "q");
  CHECK(!board.reset_requested);
}

static void uart_command(void) {
  uint8_t out[SIM_UART_RING];
  size_t n;
  static char big[600];
  power_on();
  CHECK_ANSWER(DEV "/write_uart", "{\"cid\":\"u\",\"data\":\"hello ft900\"}", "server/" DEV "/write_uart",
               "{\"cid\":\"u\",\"data\":\"hello ft900\"}");
  n = sim_uart_contents(&board, out, sizeof out);
  CHECK(n == 11 && memcmp(out, "hello ft900", 11) == 0);
  /* Escapes are decoded for the UART and re-escaped in the answer; NUL is just a byte. */
  CHECK_ANSWER(DEV "/write_uart", "{\"data\":\"a\\u0000b\\n\\u00e9\\ud83d\\ude00\\/\"}", "server/" DEV "/write_uart",
               "{\"data\":\"a\\u0000b\\n\xC3\xA9\xF0\x9F\x98\x80/\"}");
  n = sim_uart_contents(&board, out, sizeof out);
  CHECK(n == 11 + 11 && memcmp(out + 11, "a\0b\n\xC3\xA9\xF0\x9F\x98\x80/", 11) == 0);
  /* Exactly 256 UTF-8 bytes: 128 x "é". */
  strcpy(big, "{\"data\":\"");
  for (n = 0; n < 128; n++) strcat(big, "\xC3\xA9");
  strcat(big, "\"}");
  ask(DEV "/write_uart", big);
  CHECK_EQ_INT(ans.code, 0);
  CHECK_EQ_INT(board.uart_total, 22 + 256);
}

static void uart_ring_keeps_the_newest_bytes(void) {
  uint8_t chunk[100], out[SIM_UART_RING];
  size_t i, n;
  power_on();
  for (i = 0; i < 30; i++) {
    memset(chunk, (int)('A' + i % 26), sizeof chunk);
    hal.uart_write(hal.ctx, chunk, sizeof chunk);
  }
  n = sim_uart_contents(&board, out, sizeof out);
  CHECK_EQ_INT(n, SIM_UART_RING);
  CHECK_EQ_INT(board.uart_total, 3000);
  CHECK(out[SIM_UART_RING - 1] == 'A' + 29 % 26);
  CHECK(out[0] == 'A' + (3000 - SIM_UART_RING) / 100 % 26);
}

static void cid_is_echoed_or_rejected(void) {
  power_on();
  CHECK_ANSWER(DEV "/get_status", "{\"cid\":\"abcdefghijklmnopqrstuvwxyz_-0123\"}", "server/" DEV "/get_status",
               "{\"cid\":\"abcdefghijklmnopqrstuvwxyz_-0123\",\"status\":\"running\"}"); /* 32 chars */
  CHECK_ANSWER(DEV "/get_status", "{\"cid\":\"\\u0041b\"}", "server/" DEV "/get_status",
               "{\"cid\":\"Ab\",\"status\":\"running\"}");
  CHECK_ANSWER(DEV "/get_status", "{\"cid\":\"first\",\"cid\":\"last\"}", "server/" DEV "/get_status",
               "{\"cid\":\"last\",\"status\":\"running\"}"); /* duplicate keys: the last wins, like JSON.parse */
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":\"abcdefghijklmnopqrstuvwxyz_-01234\"}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":\"\"}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":\"a/b\"}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":\"a b\"}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":7}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":null}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":[\"a\"]}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":\"a\\u0000\"}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":\"ok\",\"cid\":5}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  EXPECT_ERROR(DEV "/get_status", "{\"cid\":\"\xC3\xA9\"}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  /* The cid check comes before the command's own fields, as in the reference codec. */
  EXPECT_ERROR(DEV "/get_gpio", "{\"cid\":5,\"number\":99}", IOT_ERR_INVALID_PARAMS, "/cid", "");
}

static void empty_payload_means_no_fields(void) {
  static const char *blank[] = {"", " ", "\t\r\n ", "\xC2\xA0", "\xEF\xBB\xBF", "\xE2\x80\xA8 \xE3\x80\x80"};
  size_t i;
  power_on();
  for (i = 0; i < sizeof blank / sizeof blank[0]; i++)
    CHECK_ANSWER(DEV "/get_status", blank[i], "server/" DEV "/get_status", "{\"status\":\"running\"}");
  ask_n(DEV "/get_status", NULL, 0);
  CHECK_EQ_STR(ans.json, "{\"status\":\"running\"}");
  EXPECT_ERROR(DEV "/get_gpio", "", IOT_ERR_INVALID_PARAMS, "/number", "");
  /* U+0085 is not whitespace to String.prototype.trim, nor to JSON. */
  EXPECT_ERROR(DEV "/get_status", "\xC2\x85", IOT_ERR_MALFORMED, "", "");
}

static void topics_of_others_are_ignored(void) {
  static const char *ignored[] = {
    "dev2/get_status", "dev10/get_status", "dev/get_status", "DEV1/get_status", "+/get_status", "#/get_status",
    "dev1", "dev1/", "dev1/a/", "dev1/get status", "dev1/get.status", "dev1/#", "dev1/+", "server/dev1/get_status",
    "", "/dev1/get_status", "dev1/0123456789012345678901234567890123456789012345678901234567890123x",
  };
  size_t i;
  power_on();
  for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
    check_current_test = ignored[i];
    CHECK_EQ_INT(ask(ignored[i], "{\"cid\":\"c\"}")->rc, IOT_IGNORED);
  }
  check_current_test = "topics_of_others_are_ignored";
}

static void unknown_commands(void) {
  const char *longest = DEV "/c123456789012345678901234567890123456789012345678901234567890123";
  power_on();
  EXPECT_ERROR(DEV "/format_flash", "{\"cid\":\"c1\"}", IOT_ERR_UNKNOWN_COMMAND, "", "c1");
  CHECK_EQ_STR(ans.topic, "server/" DEV "/format_flash");
  EXPECT_ERROR(DEV "/format_flash", "", IOT_ERR_UNKNOWN_COMMAND, "", "");
  EXPECT_ERROR(DEV "/Get_status", "{\"any\":1}", IOT_ERR_UNKNOWN_COMMAND, "", "");
  /* The body is judged first, as in the reference codec. */
  EXPECT_ERROR(DEV "/format_flash", "{\"cid\":\"c2\",", IOT_ERR_MALFORMED, "", "c2");
  EXPECT_ERROR(DEV "/format_flash", "{\"cid\":2}", IOT_ERR_INVALID_PARAMS, "/cid", "");
  /* A 64-byte command level is the longest that can be answered. */
  EXPECT_ERROR(longest, "{\"cid\":\"x\"}", IOT_ERR_UNKNOWN_COMMAND, "", "x");
  CHECK_EQ_STR(ans.topic, "server/" DEV "/c123456789012345678901234567890123456789012345678901234567890123");
}

static void extra_topic_levels_are_invalid_topic(void) {
  power_on();
  EXPECT_ERROR(DEV "/a/get_status", "{\"cid\":\"t1\"}", IOT_ERR_INVALID_TOPIC, "", "t1");
  CHECK_EQ_STR(ans.topic, "server/" DEV "/get_status");
  EXPECT_ERROR(DEV "//get_status", "{}", IOT_ERR_INVALID_TOPIC, "", "");
  EXPECT_ERROR(DEV "/x/y/set_gpio", "{\"cid\":\"t2\",\"number\":999}", IOT_ERR_INVALID_TOPIC, "", "t2");
  EXPECT_ERROR(DEV "/a/get_status", "not json", IOT_ERR_INVALID_TOPIC, "", "");
}

static void payload_size_limit(void) {
  static char big[IOT_MAX_PAYLOAD_BYTES + 2];
  power_on();
  /* Exactly the limit is read... */
  memset(big, ' ', IOT_MAX_PAYLOAD_BYTES);
  memcpy(big, "{\"cid\":\"p\"}", 11);
  expect_error(DEV "/get_status", big, IOT_MAX_PAYLOAD_BYTES, 0, "", "p");
  CHECK_EQ_STR(ans.json, "{\"cid\":\"p\",\"status\":\"running\"}");
  /* ... one byte more is not (so not even the cid). */
  big[IOT_MAX_PAYLOAD_BYTES] = ' ';
  expect_error(DEV "/get_status", big, IOT_MAX_PAYLOAD_BYTES + 1, IOT_ERR_PAYLOAD_TOO_LARGE, "", "");
  CHECK(strstr(ans.message, "4097") != NULL);
  /* Size comes before everything in the body, and before the command check. */
  expect_error(DEV "/nope", big, IOT_MAX_PAYLOAD_BYTES + 1, IOT_ERR_PAYLOAD_TOO_LARGE, "", "");
  expect_error(DEV "/get_status", big, (size_t)10 * 1024 * 1024, IOT_ERR_PAYLOAD_TOO_LARGE, "", ""); /* never read */
}

static void malformed_payloads(void) {
  static const char *bad[] = {
    "{number:1}", "{\"number\":1", "[1,2]", "42", "null", "\"x\"", "true", "{\"number\":1}}", "{}{}",
    "{\"number\":01}", "{\"number\":1,}", "{'number':1}", "{\"a\":\"\t\"}", "{\"a\":\"\\x\"}", "\xEF\xBB\xBF{}",
    "{\"a\":[1,]}",
  };
  size_t i;
  power_on();
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) EXPECT_ERROR(DEV "/get_gpio", bad[i], IOT_ERR_MALFORMED, "", "");
  /* Bad UTF-8 anywhere, even where JSON would not look. */
  expect_error(DEV "/get_gpio", "{\xFF\xFE}", 4, IOT_ERR_MALFORMED, "", "");
  expect_error(DEV "/get_status", "{} \xC3", 4, IOT_ERR_MALFORMED, "", "");
  expect_error(DEV "/get_status", "{\"cid\":\"c\"} \xED\xA0\x80", 15, IOT_ERR_MALFORMED, "", "");
  /* A NUL byte inside the payload is not JSON. */
  expect_error(DEV "/get_status", "{}\0", 3, IOT_ERR_MALFORMED, "", "");
  /* A cid read before the syntax error is echoed, so the server can match the answer. */
  EXPECT_ERROR(DEV "/get_gpio", "{\"cid\":\"m1\",\"number\":1", IOT_ERR_MALFORMED, "", "m1");
  EXPECT_ERROR(DEV "/get_gpio", "{\"cid\":\"m1\",\"number\":}", IOT_ERR_MALFORMED, "", "m1");
  EXPECT_ERROR(DEV "/get_gpio", "{\"number\":} \"cid\":\"m1\"", IOT_ERR_MALFORMED, "", "");
  EXPECT_ERROR(DEV "/get_gpio", "{\"cid\":\"bad cid\",", IOT_ERR_MALFORMED, "", "");
  CHECK(strstr(ans.message, "at byte") != NULL);
}

/* The rejection table of test/protocol/rejection.test.ts, plus more. Same verdicts, same fields. */
static void invalid_params_name_the_field(void) {
  static const struct {
    const char *command, *payload, *field;
  } cases[] = {
    {"set_gpio", "{\"number\":\"3\",\"value\":1}", "/number"},
    {"get_gpio", "{\"number\":1.5}", "/number"},
    {"get_gpio", "{\"number\":67}", "/number"},
    {"get_gpio", "{\"number\":-1}", "/number"},
    {"get_gpio", "{\"number\":1e100}", "/number"},
    {"get_gpio", "{\"number\":null}", "/number"},
    {"get_gpio", "{\"number\":true}", "/number"},
    {"get_gpio", "{\"number\":{}}", "/number"},
    {"get_gpio", "{\"number\":[18]}", "/number"},
    {"set_gpio", "{\"number\":3,\"value\":2}", "/value"},
    {"set_gpio", "{\"number\":3,\"value\":0.5}", "/value"},
    {"set_gpio", "{\"number\":3,\"value\":true}", "/value"},
    {"set_gpio", "{\"number\":3,\"value\":\"1\"}", "/value"},
    {"set_gpio", "{\"number\":3}", "/value"},
    {"set_gpio", "{\"value\":1}", "/number"},
    {"set_gpio", "{}", "/number"},
    {"get_gpio", "{\"number\":3,\"mode\":\"pullup\"}", "/mode"},
    {"set_rtc", "{\"value\":4294967296}", "/value"},
    {"set_rtc", "{\"value\":-1}", "/value"},
    {"set_rtc", "{\"value\":1.5}", "/value"},
    {"set_rtc", "{\"value\":\"2026-11-26T00:00:00Z\"}", "/value"},
    {"set_rtc", "{}", "/value"},
    {"write_uart", "{\"data\":\"\"}", "/data"},
    {"write_uart", "{\"data\":5}", "/data"},
    {"write_uart", "{\"data\":null}", "/data"},
    {"write_uart", "{}", "/data"},
    {"set_status", "{}", "/status"},
    {"set_status", "{\"status\":1}", "/status"},
    {"set_status", "{\"status\":\"restart \"}", "/status"},
    {"set_status", "{\"status\":\"restart\",\"now\":true}", "/now"},
    {"get_rtc", "{\"__proto__\":{\"polluted\":1}}", "/__proto__"},
    {"get_status", "{\"x\":1}", "/x"},
    {"reset_device", "{\"force\":true}", "/force"},
    {"get_mac", "{\"a\":1}", "/a"},
    {"get_ip", "{\"a\":1}", "/a"},
    {"get_subnet", "{\"a\":1}", "/a"},
    {"get_gateway", "{\"a\":1}", "/a"},
    /* JSON Schema's order: missing (schema order), then extra, then wrong (schema order). */
    {"set_gpio", "{\"bogus\":1,\"value\":9}", "/number"},
    {"get_gpio", "{\"number\":\"x\",\"y\":1}", "/y"},
    {"set_gpio", "{\"value\":9,\"number\":99}", "/number"},
    /* JavaScript key order: integer-like keys first, ascending; then insertion order. */
    {"get_gpio", "{\"number\":1,\"zeta\":1,\"5\":1,\"2\":1}", "/2"},
    {"get_gpio", "{\"number\":1,\"b\":1,\"a\":1}", "/b"},
    {"get_gpio", "{\"number\":1,\"b\":1,\"05\":1}", "/b"},
    {"get_gpio", "{\"number\":1,\"b\":1,\"4294967295\":1}", "/b"},
    {"get_gpio", "{\"number\":1,\"b\":1,\"4294967294\":1}", "/4294967294"},
    /* The field is a JSON pointer: '~' and '/' escaped. */
    {"get_gpio", "{\"number\":1,\"a/b~c\":1}", "/a~1b~0c"},
    {"get_gpio", "{\"number\":1,\"\":1}", "/"},
    {"get_gpio", "{\"number\":1,\"\\u00e9\\n\":1}", "/\xC3\xA9\n"},
    /* Duplicates: the last value counts, as with JSON.parse. */
    {"get_gpio", "{\"number\":1,\"number\":99}", "/number"},
  };
  size_t i;
  power_on();
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char topic[64];
    snprintf(topic, sizeof topic, DEV "/%s", cases[i].command);
    EXPECT_ERROR(topic, cases[i].payload, IOT_ERR_INVALID_PARAMS, cases[i].field, "");
  }
  EXPECT_ERROR(DEV "/set_gpio", "{\"cid\":\"v\",\"number\":99,\"value\":1}", IOT_ERR_INVALID_PARAMS, "/number", "v");
  CHECK_EQ_STR(ans.json, "{\"cid\":\"v\",\"error\":{\"code\":2,\"name\":\"INVALID_PARAMS\",\"message\":\"number must be "
                         "an integer 0..66\",\"field\":\"/number\"}}");
  CHECK_ANSWER(DEV "/get_gpio", "{\"number\":99,\"number\":1}", "server/" DEV "/get_gpio", "{\"number\":1,\"value\":0}");
}

static void uart_data_limits(void) {
  static char payload[2000];
  size_t i;
  power_on();
  /* 129 x "é" = 258 UTF-8 bytes but only 129 UTF-16 units: over the byte limit. */
  strcpy(payload, "{\"data\":\"");
  for (i = 0; i < 129; i++) strcat(payload, "\xC3\xA9");
  strcat(payload, "\"}");
  EXPECT_ERROR(DEV "/write_uart", payload, IOT_ERR_INVALID_PARAMS, "/data", "");
  /* 257 ASCII bytes. */
  strcpy(payload, "{\"data\":\"");
  for (i = 0; i < 257; i++) strcat(payload, "x");
  strcat(payload, "\"}");
  EXPECT_ERROR(DEV "/write_uart", payload, IOT_ERR_INVALID_PARAMS, "/data", "");
  /* A lone surrogate is U+FFFD, 3 bytes (Buffer.byteLength): 85 of them = 255 bytes ok, 86 not. */
  strcpy(payload, "{\"data\":\"");
  for (i = 0; i < 85; i++) strcat(payload, "\\ud800");
  strcat(payload, "\"}");
  ask(DEV "/write_uart", payload);
  CHECK_EQ_INT(ans.code, 0);
  strcpy(payload, "{\"data\":\"");
  for (i = 0; i < 86; i++) strcat(payload, "\\ud800");
  strcat(payload, "\"}");
  EXPECT_ERROR(DEV "/write_uart", payload, IOT_ERR_INVALID_PARAMS, "/data", "");
}

static void long_extra_keys_are_cut_to_64_bytes(void) {
  static char payload[600];
  size_t i;
  power_on();
  strcpy(payload, "{\"number\":1,\"");
  for (i = 0; i < 100; i++) strcat(payload, "k");
  strcat(payload, "\":1}");
  ask(DEV "/get_gpio", payload);
  CHECK_EQ_INT(ans.code, IOT_ERR_INVALID_PARAMS);
  CHECK_EQ_INT(strlen(ans.field), 64);
  /* Cut at a character boundary, and never inside a "~1" escape. */
  strcpy(payload, "{\"number\":1,\"");
  for (i = 0; i < 62; i++) strcat(payload, "k");
  strcat(payload, "/\xC3\xA9\":1}");
  ask(DEV "/get_gpio", payload);
  CHECK(strlen(ans.field) == 63 && ans.field[62] == 'k');
  strcpy(payload, "{\"number\":1,\"");
  for (i = 0; i < 62; i++) strcat(payload, "k");
  strcat(payload, "\xE2\x82\xAC\":1}");
  ask(DEV "/get_gpio", payload);
  CHECK_EQ_INT(strlen(ans.field), 63);
  CHECK(json_utf8_valid(ans.field, strlen(ans.field)));
}

static void keys_with_nul_keep_their_full_pointer(void) {
  char field[80];
  size_t n;
  json_token_t k, v;
  power_on();
  ask(DEV "/get_gpio", "{\"number\":1,\"a\\u0000b\":1}");
  CHECK_EQ_INT(ans.code, IOT_ERR_INVALID_PARAMS);
  /* Find "field" in the raw answer and decode it with its NUL. */
  CHECK_EQ_INT(json_reader_begin(&rd, strstr(ans.json, "{\"code\""), strlen(strstr(ans.json, "{\"code\"")) - 1), JSON_OK);
  while (json_reader_next(&rd, &k, &v) == 1) {
    if (k.len == 5 && memcmp(k.ptr, "field", 5) == 0) {
      n = json_string_decode(v.ptr, v.len, field, sizeof field);
      CHECK(n == 4 && memcmp(field, "/a\0b", 4) == 0);
    }
  }
}

static void deep_nesting_within_the_limit(void) {
  /* From the reference codec's tests: 2000 levels inside an extra field. */
  static char payload[IOT_MAX_PAYLOAD_BYTES + 1];
  size_t n = 0;
  power_on();
  memcpy(payload, "{\"number\":1,\"a\":", 16);
  n = 16;
  memset(payload + n, '[', 2000);
  n += 2000;
  memset(payload + n, ']', 2000);
  n += 2000;
  payload[n++] = '}';
  expect_error(DEV "/get_gpio", payload, n, IOT_ERR_INVALID_PARAMS, "/a", "");
  expect_error(DEV "/get_gpio", payload, n - 1, IOT_ERR_MALFORMED, "", "");
}

static void hal_failures_are_internal_errors(void) {
  static const struct {
    unsigned mask;
    const char *command, *payload;
  } cases[] = {
    {SIM_FAIL_GPIO_GET, "get_gpio", "{\"cid\":\"h\",\"number\":1}"},
    {SIM_FAIL_GPIO_SET, "set_gpio", "{\"cid\":\"h\",\"number\":1,\"value\":1}"},
    {SIM_FAIL_RTC_GET, "get_rtc", "{\"cid\":\"h\"}"},
    {SIM_FAIL_RTC_SET, "set_rtc", "{\"cid\":\"h\",\"value\":5}"},
    {SIM_FAIL_GET_MAC, "get_mac", "{\"cid\":\"h\"}"},
    {SIM_FAIL_GET_IP, "get_ip", "{\"cid\":\"h\"}"},
    {SIM_FAIL_GET_SUBNET, "get_subnet", "{\"cid\":\"h\"}"},
    {SIM_FAIL_GET_GATEWAY, "get_gateway", "{\"cid\":\"h\"}"},
    {SIM_FAIL_RESET, "reset_device", "{\"cid\":\"h\"}"},
    {SIM_FAIL_RESET, "set_status", "{\"cid\":\"h\",\"status\":\"restart\"}"},
    {SIM_FAIL_UART_WRITE, "write_uart", "{\"cid\":\"h\",\"data\":\"x\"}"},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char topic[64];
    power_on();
    board.fail_mask = cases[i].mask;
    snprintf(topic, sizeof topic, DEV "/%s", cases[i].command);
    EXPECT_ERROR(topic, cases[i].payload, IOT_ERR_INTERNAL, "", "h");
    CHECK(!board.reset_requested);
    CHECK_EQ_INT(board.uart_total, 0);
    board.fail_mask = 0;
    ask(topic, cases[i].payload); /* and it works again once the HAL does */
    CHECK_EQ_INT(ans.code, 0);
  }
  /* A board without a function: INTERNAL, not a crash. */
  power_on();
  hal.get_mac = NULL;
  hal.uart_write = NULL;
  EXPECT_ERROR(DEV "/get_mac", "{}", IOT_ERR_INTERNAL, "", "");
  EXPECT_ERROR(DEV "/write_uart", "{\"data\":\"x\"}", IOT_ERR_INTERNAL, "", "");
  /* A HAL that returns a level outside 0|1 must not leak it into the answer. */
  power_on();
  board.gpio_level[7] = 2;
  EXPECT_ERROR(DEV "/get_gpio", "{\"number\":7}", IOT_ERR_INTERNAL, "", "");
}

static void validation_happens_before_any_side_effect(void) {
  power_on();
  ask(DEV "/set_gpio", "{\"number\":4,\"value\":1,\"x\":0}");
  CHECK_EQ_INT(ans.code, IOT_ERR_INVALID_PARAMS);
  CHECK(board.gpio_output[4] == 0);
  ask(DEV "/reset_device", "{\"now\":true}");
  CHECK(!board.reset_requested);
  ask(DEV "/write_uart", "{\"data\":\"abc\"");
  CHECK_EQ_INT(board.uart_total, 0);
}

static void arguments_are_checked(void) {
  char t[IOT_ANSWER_TOPIC_CAP], p[IOT_ANSWER_PAYLOAD_CAP];
  power_on();
  CHECK_EQ_INT(iot_handle_message(NULL, DEV, DEV "/get_status", "{}", 2, t, sizeof t, p, sizeof p), IOT_EINVAL);
  CHECK_EQ_INT(iot_handle_message(&hal, NULL, DEV "/get_status", "{}", 2, t, sizeof t, p, sizeof p), IOT_EINVAL);
  CHECK_EQ_INT(iot_handle_message(&hal, DEV, NULL, "{}", 2, t, sizeof t, p, sizeof p), IOT_EINVAL);
  CHECK_EQ_INT(iot_handle_message(&hal, DEV, DEV "/get_status", NULL, 2, t, sizeof t, p, sizeof p), IOT_EINVAL);
  CHECK_EQ_INT(iot_handle_message(&hal, DEV, DEV "/get_status", NULL, IOT_MAX_PAYLOAD_BYTES, t, sizeof t, p, sizeof p),
               IOT_EINVAL);
  /* Oversized and not stored: answered unread. */
  CHECK_EQ_INT(iot_handle_message(&hal, DEV, DEV "/get_status", NULL, 70000, t, sizeof t, p, sizeof p), IOT_ANSWERED);
  CHECK(strstr(p, "PAYLOAD_TOO_LARGE") != NULL && strstr(p, "70000") != NULL);
  CHECK_EQ_INT(iot_handle_message(&hal, DEV, DEV "/get_status", "{}", 2, NULL, sizeof t, p, sizeof p), IOT_EINVAL);
  CHECK_EQ_INT(iot_handle_message(&hal, DEV, DEV "/get_status", "{}", 2, t, sizeof t, NULL, sizeof p), IOT_EINVAL);
  CHECK_EQ_INT(iot_handle_message(&hal, "bad id", "bad id/get_status", "{}", 2, t, sizeof t, p, sizeof p), IOT_EINVAL);
  CHECK_EQ_INT(iot_handle_message(&hal, "", "/get_status", "{}", 2, t, sizeof t, p, sizeof p), IOT_EINVAL);
  CHECK_EQ_INT(iot_handle_message(&hal, DEV, DEV "/get_status", "{}", 2, t, sizeof t - 1, p, sizeof p), IOT_ENOSPC);
  CHECK_EQ_INT(iot_handle_message(&hal, DEV, DEV "/get_status", "{}", 2, t, sizeof t, p, sizeof p - 1), IOT_ENOSPC);
  CHECK(iot_valid_device_id("ft900device1"));
  CHECK(iot_valid_device_id("a"));
  CHECK(iot_valid_device_id("0_-"));
  CHECK(!iot_valid_device_id("-a"));
  CHECK(!iot_valid_device_id("_a"));
  CHECK(!iot_valid_device_id("a.b"));
  CHECK(iot_valid_device_id("a123456789012345678901234567890123456789012345678901234567890123"));
  CHECK(!iot_valid_device_id("a1234567890123456789012345678901234567890123456789012345678901234"));
}

static void longest_answers_fit(void) {
  /* The largest answers possible: 256 bytes that all need \u00XX, and an error naming a 64-byte
   * extra key of control characters, each with the longest cid and device id. */
  static char payload[3000], topic[200];
  const char *id = "a123456789012345678901234567890123456789012345678901234567890123";
  const char *cid = "abcdefghijklmnopqrstuvwxyz012345";
  char t[IOT_ANSWER_TOPIC_CAP], p[IOT_ANSWER_PAYLOAD_CAP];
  size_t i;
  int rc;
  sim_board_init(&board, id);
  sim_board_hal(&board, &hal);
  snprintf(topic, sizeof topic, "%s/write_uart", id);
  snprintf(payload, sizeof payload, "{\"cid\":\"%s\",\"data\":\"", cid);
  for (i = 0; i < 256; i++) strcat(payload, "\\u0001");
  strcat(payload, "\"}");
  rc = iot_handle_message(&hal, id, topic, payload, strlen(payload), t, sizeof t, p, sizeof p);
  CHECK_EQ_INT(rc, IOT_ANSWERED);
  CHECK(strstr(p, "\"error\"") == NULL);
  CHECK(strlen(p) > 256 * 6 && strlen(p) < IOT_ANSWER_PAYLOAD_CAP);
  snprintf(payload, sizeof payload, "{\"cid\":\"%s\",\"data\":\"x\",\"", cid);
  for (i = 0; i < 100; i++) strcat(payload, "\\u0002");
  strcat(payload, "\":1}");
  rc = iot_handle_message(&hal, id, topic, payload, strlen(payload), t, sizeof t, p, sizeof p);
  CHECK_EQ_INT(rc, IOT_ANSWERED);
  CHECK(strstr(p, "INVALID_PARAMS") != NULL);
  snprintf(topic, sizeof topic, "%s/c123456789012345678901234567890123456789012345678901234567890123", id);
  rc = iot_handle_message(&hal, id, topic, "{}", 2, t, sizeof t, p, sizeof p);
  CHECK_EQ_INT(rc, IOT_ANSWERED);
  CHECK_EQ_INT(strlen(t), IOT_ANSWER_TOPIC_CAP - 1);
}

void protocol_tests(void) {
  RUN(every_command_has_a_handler);
  RUN(gpio_commands);
  RUN(rtc_commands);
  RUN(network_commands);
  RUN(mac_is_derived_from_the_device_id);
  RUN(status_and_reset);
  RUN(set_status_restarts);
  RUN(uart_command);
  RUN(uart_ring_keeps_the_newest_bytes);
  RUN(cid_is_echoed_or_rejected);
  RUN(empty_payload_means_no_fields);
  RUN(topics_of_others_are_ignored);
  RUN(unknown_commands);
  RUN(extra_topic_levels_are_invalid_topic);
  RUN(payload_size_limit);
  RUN(malformed_payloads);
  RUN(invalid_params_name_the_field);
  RUN(uart_data_limits);
  RUN(long_extra_keys_are_cut_to_64_bytes);
  RUN(keys_with_nul_keep_their_full_pointer);
  RUN(deep_nesting_within_the_limit);
  RUN(hal_failures_are_internal_errors);
  RUN(validation_happens_before_any_side_effect);
  RUN(arguments_are_checked);
  RUN(longest_answers_fit);
}
