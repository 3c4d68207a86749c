/*
 * Device side of the iotcloud protocol: topic parsing, validation, dispatch to the HAL, answers.
 *
 * Validation follows the reference codec (firmware-protocol/codec.ts) check for check, so a
 * device built on this core gives the same verdict, and the same `field`, as the server would:
 *   1. payload over IOT_MAX_PAYLOAD_BYTES        -> PAYLOAD_TOO_LARGE (not read, so no cid)
 *   2. not UTF-8, not JSON, not a JSON object    -> MALFORMED
 *      (a payload of only whitespace means {})
 *   3. cid present but not a valid correlation id -> INVALID_PARAMS /cid
 *   4. command unknown                            -> UNKNOWN_COMMAND
 *   5. fields, in the order JSON Schema reports them: a missing field (schema order), then an
 *      extra field (JavaScript property order), then a mistyped or out-of-range field (schema
 *      order)                                     -> INVALID_PARAMS /<field>
 *   6. the HAL fails                              -> INTERNAL
 * A topic with extra levels is INVALID_TOPIC before all of these.
 */
#include "protocol.h"

#include <string.h>

#include "json.h"

/* The enum built from IOT_COMMAND_LIST must have IOT_COMMAND_COUNT entries. */
typedef char iot_command_count_check[(IOT_CMD__COUNT == IOT_COMMAND_COUNT) ? 1 : -1];

#define IOT_X_COMMAND_NAME(id, wire) wire,
static const char *const command_names[IOT_CMD__COUNT] = {IOT_COMMAND_LIST(IOT_X_COMMAND_NAME)};
#undef IOT_X_COMMAND_NAME

const char *iot_command_name(iot_command_t command) {
  return (unsigned)command < IOT_CMD__COUNT ? command_names[command] : NULL;
}

const char *iot_error_name(int code) {
#define IOT_X_ERROR_CASE(id, num, name) \
  case num: return name;
  switch (code) { IOT_ERROR_LIST(IOT_X_ERROR_CASE) }
#undef IOT_X_ERROR_CASE
  return NULL;
}

static int is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* [A-Za-z0-9_-]{min,max} over s[0..n) */
static int is_id_chars(const char *s, size_t n, size_t min, size_t max) {
  size_t i;
  if (n < min || n > max) return 0;
  for (i = 0; i < n; i++)
    if (!is_id_char(s[i])) return 0;
  return 1;
}

int iot_valid_device_id(const char *id) {
  size_t n = strlen(id);
  return n > 0 && id[0] != '_' && id[0] != '-' && is_id_chars(id, n, 1, IOT_MAX_DEVICE_ID_LEN);
}

/* ---------------------------------------------------------------------------------------------
 * Command table */

/* The kinds of request field (generated from firmware-protocol/): check_fields has one check each
 * (-Wswitch -Werror stops the build when a new kind has none). */
#define IOT_X_FIELD_KIND(id, name) id,
typedef enum { IOT_FIELD_KIND_LIST(IOT_X_FIELD_KIND) } field_kind_t;
#undef IOT_X_FIELD_KIND

typedef struct {
  const char *name;
  field_kind_t kind;
} field_spec_t;

#define MAX_FIELDS IOT_MAX_REQUEST_FIELDS

/* Validated request parameters. */
typedef struct {
  uint32_t number; /* GPIO pin */
  uint32_t value;  /* GPIO level or RTC epoch */
  const char *data;
  size_t data_len;
} params_t;

#define FIELD_CAP 65 /* a JSON pointer of at most 64 bytes: the error schema's limit */

typedef struct {
  iot_error_t code;
  char message[IOT_MAX_ERROR_MESSAGE_LEN];
  char field[FIELD_CAP]; /* "" when no single field is at fault */
  size_t field_len;      /* the pointer may contain NUL (from a key with \u0000) */
} failure_t;

/* A handler runs one valid command: it calls the HAL and, only if every call succeeded, writes
 * its result fields. On failure it fills *f and writes nothing. */
typedef int (*handler_t)(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f);

typedef struct {
  field_spec_t fields[MAX_FIELDS];
  size_t field_count;
  handler_t handler;
} command_spec_t;

/* ---------------------------------------------------------------------------------------------
 * Failures and their messages */

static void msg_append(failure_t *f, const char *s) {
  size_t used = strlen(f->message), n = strlen(s);
  if (n > sizeof f->message - 1 - used) n = sizeof f->message - 1 - used;
  memcpy(f->message + used, s, n);
  f->message[used + n] = '\0';
}

static void msg_append_uint(failure_t *f, unsigned long v) {
  char digits[24];
  size_t n = sizeof digits - 1;
  digits[n] = '\0';
  do {
    digits[--n] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  msg_append(f, digits + n);
}

static void fail(failure_t *f, iot_error_t code, const char *message) {
  f->code = code;
  f->message[0] = '\0';
  f->field[0] = '\0';
  f->field_len = 0;
  msg_append(f, message);
}

/* INVALID_PARAMS at /<name>, with the message "<name><text>". */
static void fail_field(failure_t *f, const char *name, const char *text) {
  fail(f, IOT_ERR_INVALID_PARAMS, name);
  msg_append(f, text);
  f->field[0] = '/';
  strncpy(f->field + 1, name, sizeof f->field - 2);
  f->field[sizeof f->field - 1] = '\0';
  f->field_len = strlen(f->field);
}

static int hal_failed(failure_t *f, const char *function) {
  fail(f, IOT_ERR_INTERNAL, "HAL ");
  msg_append(f, function);
  msg_append(f, " failed");
  return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Handlers: one per command */

static void write_hex_byte(char *out, uint8_t b) {
  static const char hex[] = "0123456789abcdef";
  out[0] = hex[b >> 4];
  out[1] = hex[b & 0xF];
}

static void write_mac(json_writer_t *w, const char *key, const uint8_t mac[6]) {
  char text[17];
  size_t i;
  for (i = 0; i < 6; i++) {
    write_hex_byte(text + 3 * i, mac[i]);
    if (i < 5) text[3 * i + 2] = ':';
  }
  json_write_key(w, key);
  json_write_string(w, text, sizeof text);
}

static void write_ipv4(json_writer_t *w, const char *key, const uint8_t ip[4]) {
  char text[16];
  size_t n = 0, i;
  for (i = 0; i < 4; i++) {
    uint8_t v = ip[i];
    if (i > 0) text[n++] = '.';
    if (v >= 100) text[n++] = (char)('0' + v / 100);
    if (v >= 10) text[n++] = (char)('0' + v / 10 % 10);
    text[n++] = (char)('0' + v % 10);
  }
  json_write_key(w, key);
  json_write_string(w, text, n);
}

static int handle_get_gpio(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  int level = -1;
  if (!hal->gpio_get || hal->gpio_get(hal->ctx, p->number, &level) != IOT_HAL_OK) return hal_failed(f, "gpio_get");
  if (level != 0 && level != 1) return hal_failed(f, "gpio_get level"); /* never answer a level outside 0|1 */
  json_write_key(w, "number");
  json_write_uint(w, p->number);
  json_write_key(w, "value");
  json_write_uint(w, (uint32_t)level);
  return 0;
}

static int handle_set_gpio(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  if (!hal->gpio_set || hal->gpio_set(hal->ctx, p->number, (int)p->value) != IOT_HAL_OK) return hal_failed(f, "gpio_set");
  json_write_key(w, "number");
  json_write_uint(w, p->number);
  json_write_key(w, "value");
  json_write_uint(w, p->value);
  return 0;
}

static int handle_get_rtc(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  uint32_t now = 0;
  (void)p;
  if (!hal->rtc_get || hal->rtc_get(hal->ctx, &now) != IOT_HAL_OK) return hal_failed(f, "rtc_get");
  json_write_key(w, "value");
  json_write_uint(w, now);
  return 0;
}

static int handle_set_rtc(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  if (!hal->rtc_set || hal->rtc_set(hal->ctx, p->value) != IOT_HAL_OK) return hal_failed(f, "rtc_set");
  json_write_key(w, "value");
  json_write_uint(w, p->value);
  return 0;
}

static int handle_get_mac(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  uint8_t mac[6] = {0};
  (void)p;
  if (!hal->get_mac || hal->get_mac(hal->ctx, mac) != IOT_HAL_OK) return hal_failed(f, "get_mac");
  write_mac(w, "value", mac);
  return 0;
}

/* get_ip, get_subnet and get_gateway differ only in the HAL call they make. */
typedef int (*ipv4_getter_t)(void *ctx, uint8_t address[4]);

static int answer_ipv4(const iot_hal_t *hal, ipv4_getter_t get, const char *what, json_writer_t *w, failure_t *f) {
  uint8_t address[4] = {0};
  if (!get || get(hal->ctx, address) != IOT_HAL_OK) return hal_failed(f, what);
  write_ipv4(w, "value", address);
  return 0;
}

static int handle_get_ip(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  (void)p;
  return answer_ipv4(hal, hal->get_ip, "get_ip", w, f);
}

static int handle_get_subnet(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  (void)p;
  return answer_ipv4(hal, hal->get_subnet, "get_subnet", w, f);
}

static int handle_get_gateway(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  (void)p;
  return answer_ipv4(hal, hal->get_gateway, "get_gateway", w, f);
}

static int handle_get_status(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  /* Answering at all proves the device accepts commands. */
  (void)hal;
  (void)p;
  (void)f;
  json_write_key(w, "status");
  json_write_cstring(w, "running");
  return 0;
}

static int handle_reset_device(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  (void)p;
  if (!hal->request_reset || hal->request_reset(hal->ctx) != IOT_HAL_OK) return hal_failed(f, "request_reset");
  json_write_key(w, "status");
  json_write_cstring(w, "restarting");
  return 0;
}

/* The original libpyiotcloud firmware's restart: set_status {"status":"restart"} does what
 * reset_device does (the only status a request may carry is checked in check_fields). */
static int handle_set_status(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  return handle_reset_device(hal, p, w, f);
}

static int handle_write_uart(const iot_hal_t *hal, const params_t *p, json_writer_t *w, failure_t *f) {
  if (!hal->uart_write || hal->uart_write(hal->ctx, (const uint8_t *)p->data, p->data_len) != IOT_HAL_OK)
    return hal_failed(f, "uart_write");
  json_write_key(w, "data");
  json_write_string(w, p->data, p->data_len);
  return 0;
}

/* Request fields in schema order (the order JSON Schema reports missing and wrong fields in),
 * generated from firmware-protocol/ into iotcloud_protocol.h; the handlers are this file's. */
#define IOT_X_FIELD(cmd, index, field_name, field_kind) [cmd].fields[index] = {field_name, field_kind},
#define IOT_X_FIELD_COUNT(cmd, count) [cmd].field_count = count,
static const command_spec_t commands[IOT_CMD__COUNT] = {
  IOT_REQUEST_FIELD_LIST(IOT_X_FIELD)
  IOT_REQUEST_FIELD_COUNT_LIST(IOT_X_FIELD_COUNT)
  [IOT_CMD_GET_GPIO].handler = handle_get_gpio,
  [IOT_CMD_SET_GPIO].handler = handle_set_gpio,
  [IOT_CMD_GET_RTC].handler = handle_get_rtc,
  [IOT_CMD_SET_RTC].handler = handle_set_rtc,
  [IOT_CMD_GET_MAC].handler = handle_get_mac,
  [IOT_CMD_GET_IP].handler = handle_get_ip,
  [IOT_CMD_GET_SUBNET].handler = handle_get_subnet,
  [IOT_CMD_GET_GATEWAY].handler = handle_get_gateway,
  [IOT_CMD_GET_STATUS].handler = handle_get_status,
  [IOT_CMD_RESET_DEVICE].handler = handle_reset_device,
  [IOT_CMD_WRITE_UART].handler = handle_write_uart,
  [IOT_CMD_SET_STATUS].handler = handle_set_status,
};
#undef IOT_X_FIELD
#undef IOT_X_FIELD_COUNT

/* ---------------------------------------------------------------------------------------------
 * Reading the request body */

typedef struct {
  /* cid: seen = a "cid" key was read; valid = its value is a correlation id (then echoed) */
  int cid_seen, cid_valid;
  json_token_t cid_token;
  char cid[IOT_MAX_CID_LEN + 1];
  /* command fields, last occurrence wins (as with JSON.parse) */
  int present[MAX_FIELDS];
  json_token_t values[MAX_FIELDS];
  /* The extra key JSON Schema would name first: JavaScript lists integer-like keys ("0", "42")
   * first in numeric order, then the others in insertion order. */
  int has_index_extra, has_name_extra;
  uint32_t index_extra_value;
  json_token_t index_extra, name_extra;
  char data[IOT_UART_MAX_BYTES + 1];
} request_t;

/* What String.prototype.trim() removes: the codec treats a payload that trims to "" as {}. */
static int js_blank(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    size_t left = n - i;
    if ((c >= 0x09 && c <= 0x0D) || c == 0x20) i += 1;
    else if (left >= 2 && c == 0xC2 && p[i + 1] == 0xA0) i += 2; /* U+00A0 */
    else if (left >= 3 && c == 0xE1 && p[i + 1] == 0x9A && p[i + 2] == 0x80) i += 3; /* U+1680 */
    else if (left >= 3 && c == 0xE2 && p[i + 1] == 0x80 &&
             ((p[i + 2] >= 0x80 && p[i + 2] <= 0x8A) || p[i + 2] == 0xA8 || p[i + 2] == 0xA9 || p[i + 2] == 0xAF))
      i += 3; /* U+2000..U+200A, U+2028, U+2029, U+202F */
    else if (left >= 3 && c == 0xE2 && p[i + 1] == 0x81 && p[i + 2] == 0x9F) i += 3; /* U+205F */
    else if (left >= 3 && c == 0xE3 && p[i + 1] == 0x80 && p[i + 2] == 0x80) i += 3; /* U+3000 */
    else if (left >= 3 && c == 0xEF && p[i + 1] == 0xBB && p[i + 2] == 0xBF) i += 3; /* U+FEFF */
    else return 0;
  }
  return 1;
}

/* A canonical array index "0".."4294967294", as JavaScript orders property keys. */
static int array_index(const char *key, size_t n, uint32_t *out) {
  uint32_t v = 0;
  size_t i;
  if (n == 0 || n > 10 || (n > 1 && key[0] == '0')) return 0;
  for (i = 0; i < n; i++) {
    unsigned d;
    if (key[i] < '0' || key[i] > '9') return 0;
    d = (unsigned)(key[i] - '0');
    if (v > (0xFFFFFFFEu - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

static int cid_ok(request_t *req) {
  size_t n;
  if (req->cid_token.type != JSON_STRING) return 0;
  n = json_string_decode(req->cid_token.ptr, req->cid_token.len, req->cid, sizeof req->cid);
  return n < sizeof req->cid && is_id_chars(req->cid, n, 1, IOT_MAX_CID_LEN);
}

static void note_pair(const command_spec_t *spec, request_t *req, const json_token_t *key, const json_token_t *value) {
  char name[16]; /* longer than any known key: a longer key is an extra one */
  size_t n = json_string_decode(key->ptr, key->len, name, sizeof name), i;
  uint32_t index;
  if (n == 3 && memcmp(name, IOT_FIELD_CID, 3) == 0) {
    req->cid_seen = 1;
    req->cid_token = *value;
    return;
  }
  if (!spec) return; /* unknown command: only the cid matters */
  for (i = 0; i < spec->field_count; i++) {
    if (n == strlen(spec->fields[i].name) && memcmp(name, spec->fields[i].name, n) == 0) {
      req->present[i] = 1;
      req->values[i] = *value;
      return;
    }
  }
  if (n < sizeof name && array_index(name, n, &index)) {
    if (!req->has_index_extra || index < req->index_extra_value) {
      req->has_index_extra = 1;
      req->index_extra_value = index;
      req->index_extra = *key;
    }
  } else if (!req->has_name_extra) {
    req->has_name_extra = 1;
    req->name_extra = *key;
  }
}

/* Steps 1-3 of the file comment. Fills *f (or leaves f->code 0) and the request's cid. */
static void read_body(const char *payload, size_t len, const command_spec_t *spec, request_t *req, failure_t *f) {
  json_reader_t reader;
  json_token_t key, value;
  json_error_t err;
  int rc;

  if (len > IOT_MAX_PAYLOAD_BYTES) {
    fail(f, IOT_ERR_PAYLOAD_TOO_LARGE, "payload is ");
    msg_append_uint(f, (unsigned long)len);
    msg_append(f, " bytes, the limit is ");
    msg_append_uint(f, IOT_MAX_PAYLOAD_BYTES);
    return;
  }
  if (!json_utf8_valid(payload, len)) {
    fail(f, IOT_ERR_MALFORMED, "payload is not valid UTF-8");
    return;
  }
  if (js_blank(payload, len)) return; /* an empty payload means {} */

  err = json_reader_begin(&reader, payload, len);
  if (err == JSON_ERR_NOT_OBJECT) {
    fail(f, IOT_ERR_MALFORMED, "payload must be a JSON object");
    return;
  }
  rc = err == JSON_OK ? 1 : -1;
  while (rc == 1 && (rc = json_reader_next(&reader, &key, &value)) == 1) note_pair(spec, req, &key, &value);
  if (rc < 0) {
    /* Echo a cid read before the error: the server can then match this answer exactly. */
    req->cid_valid = req->cid_seen && cid_ok(req);
    fail(f, IOT_ERR_MALFORMED, "payload is not JSON: ");
    msg_append(f, json_error_text(reader.error));
    msg_append(f, " at byte ");
    msg_append_uint(f, (unsigned long)reader.error_pos);
    return;
  }
  if (req->cid_seen) {
    req->cid_valid = cid_ok(req);
    if (!req->cid_valid) fail_field(f, IOT_FIELD_CID, " must be a string of 1..32 letters, digits, '_' or '-'");
  }
}

/* JSON pointer "/<key>" of an extra key: '~' -> "~0", '/' -> "~1" (RFC 6901), cut to the error
 * schema's 64 bytes at a character boundary. */
static void set_key_field(failure_t *f, const json_token_t *key) {
  char name[FIELD_CAP];
  size_t n = json_string_decode_prefix(key->ptr, key->len, name, sizeof name), i, out = 1;
  f->field[0] = '/';
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    size_t k = (c == '~' || c == '/') ? 2 : c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c != '~' && c != '/' && k > n - i) k = n - i; /* never past the decoded bytes */
    if (out + k > sizeof f->field - 1) break;
    if (c == '~' || c == '/') {
      f->field[out++] = '~';
      f->field[out++] = c == '~' ? '0' : '1';
    } else {
      memcpy(f->field + out, name + i, k);
      out += k;
      i += k - 1;
    }
  }
  f->field[out] = '\0';
  f->field_len = out;
}

static int int_in_range(const json_token_t *t, int64_t min, int64_t max, int64_t *out) {
  return t->type == JSON_NUMBER && json_number_int(t->ptr, t->len, out) == JSON_INT_OK && *out >= min && *out <= max;
}

/* Step 5 of the file comment. */
static int check_fields(const command_spec_t *spec, request_t *req, params_t *p, failure_t *f) {
  size_t i;
  for (i = 0; i < spec->field_count; i++)
    if (!req->present[i]) return fail_field(f, spec->fields[i].name, " is required"), -1;
  if (req->has_index_extra || req->has_name_extra) {
    fail(f, IOT_ERR_INVALID_PARAMS, "unknown field");
    set_key_field(f, req->has_index_extra ? &req->index_extra : &req->name_extra);
    return -1;
  }
  for (i = 0; i < spec->field_count; i++) {
    const json_token_t *t = &req->values[i];
    const char *name = spec->fields[i].name;
    int64_t v;
    size_t n;
    switch (spec->fields[i].kind) {
    case IOT_FIELD_GPIO_NUMBER:
      if (!int_in_range(t, IOT_GPIO_MIN, IOT_GPIO_MAX, &v))
        return fail_field(f, name, " must be an integer 0..66"), -1;
      p->number = (uint32_t)v;
      break;
    case IOT_FIELD_GPIO_LEVEL:
      if (!int_in_range(t, 0, 1, &v)) return fail_field(f, name, " must be 0 or 1"), -1;
      p->value = (uint32_t)v;
      break;
    case IOT_FIELD_EPOCH_SECONDS:
      if (!int_in_range(t, 0, (int64_t)IOT_RTC_MAX, &v))
        return fail_field(f, name, " must be an integer 0..4294967295"), -1;
      p->value = (uint32_t)v;
      break;
    case IOT_FIELD_UART_DATA:
      n = t->type == JSON_STRING ? json_string_decode(t->ptr, t->len, req->data, sizeof req->data) : 0;
      if (n < 1 || n > IOT_UART_MAX_BYTES) return fail_field(f, name, " must be a string of 1..256 UTF-8 bytes"), -1;
      p->data = req->data;
      p->data_len = n;
      break;
    case IOT_FIELD_RESTART_WORD:
      n = t->type == JSON_STRING ? json_string_decode(t->ptr, t->len, req->data, sizeof req->data) : 0;
      if (n != 7 || memcmp(req->data, "restart", 7) != 0) return fail_field(f, name, " must be \"restart\""), -1;
      break;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Answers */

static long write_error(char *out, size_t cap, const request_t *req, const failure_t *f) {
  json_writer_t w;
  json_writer_init(&w, out, cap);
  json_write_object_begin(&w);
  if (req->cid_valid) {
    json_write_key(&w, IOT_FIELD_CID);
    json_write_cstring(&w, req->cid);
  }
  json_write_key(&w, IOT_FIELD_ERROR);
  json_write_object_begin(&w);
  json_write_key(&w, "code");
  json_write_uint(&w, (uint32_t)f->code);
  json_write_key(&w, "name");
  json_write_cstring(&w, iot_error_name((int)f->code));
  json_write_key(&w, "message");
  json_write_cstring(&w, f->message);
  if (f->field_len > 0) {
    json_write_key(&w, "field");
    json_write_string(&w, f->field, f->field_len);
  }
  json_write_object_end(&w);
  json_write_object_end(&w);
  return json_writer_finish(&w);
}

static long run_command(const iot_hal_t *hal, const command_spec_t *spec, const params_t *p, char *out, size_t cap,
                        const request_t *req, failure_t *f) {
  json_writer_t w;
  json_writer_init(&w, out, cap);
  json_write_object_begin(&w);
  if (req->cid_valid) {
    json_write_key(&w, IOT_FIELD_CID);
    json_write_cstring(&w, req->cid);
  }
  if (spec->handler(hal, p, &w, f) != 0) return -1;
  json_write_object_end(&w);
  return json_writer_finish(&w);
}

int iot_handle_message(const iot_hal_t *hal, const char *device_id, const char *topic, const char *payload,
                       size_t len, char *out_topic, size_t out_topic_cap, char *out_payload, size_t out_cap) {
  size_t id_len, cmd_len;
  const char *rest, *command, *slash;
  int extra_levels, cmd = -1, i;
  const command_spec_t *spec = NULL;
  request_t req;
  failure_t f;
  params_t params;
  long written;

  /* An oversized payload is refused unread, so a transport need not store it: NULL is fine then. */
  if (!hal || !device_id || !topic || !out_topic || !out_payload || (!payload && len > 0 && len <= IOT_MAX_PAYLOAD_BYTES))
    return IOT_EINVAL;
  if (!iot_valid_device_id(device_id)) return IOT_EINVAL;
  if (out_topic_cap < IOT_ANSWER_TOPIC_CAP || out_cap < IOT_ANSWER_PAYLOAD_CAP) return IOT_ENOSPC;
  if (!payload) payload = "";

  /* Topic: <device_id>/<command>, or more levels (INVALID_TOPIC, answered on the last one). */
  id_len = strlen(device_id);
  if (strncmp(topic, device_id, id_len) != 0 || topic[id_len] != '/') return IOT_IGNORED;
  rest = topic + id_len + 1;
  slash = strrchr(rest, '/');
  extra_levels = slash != NULL;
  command = extra_levels ? slash + 1 : rest;
  cmd_len = strlen(command);
  if (!is_id_chars(command, cmd_len, 1, IOT_MAX_ANSWER_COMMAND_LEN)) return IOT_IGNORED;

  memcpy(out_topic, "server/", 7);
  memcpy(out_topic + 7, device_id, id_len);
  out_topic[7 + id_len] = '/';
  memcpy(out_topic + 8 + id_len, command, cmd_len + 1);

  for (i = 0; !extra_levels && i < IOT_CMD__COUNT; i++) {
    if (strcmp(command, command_names[i]) == 0 && commands[i].handler) {
      cmd = i;
      spec = &commands[i];
    }
  }

  memset(&req, 0, sizeof req);
  memset(&params, 0, sizeof params);
  f.code = IOT_ERR__NONE;
  f.message[0] = f.field[0] = '\0';
  f.field_len = 0;
  read_body(payload, len, spec, &req, &f);

  if (extra_levels) {
    fail(&f, IOT_ERR_INVALID_TOPIC, "request topic must be <deviceId>/<command>");
  } else if (f.code == IOT_ERR__NONE && cmd < 0) {
    fail(&f, IOT_ERR_UNKNOWN_COMMAND, "unknown command");
  }
  if (f.code == IOT_ERR__NONE && check_fields(spec, &req, &params, &f) == 0) {
    written = run_command(hal, spec, &params, out_payload, out_cap, &req, &f);
    if (written >= 0) return IOT_ANSWERED;
    if (f.code == IOT_ERR__NONE) fail(&f, IOT_ERR_INTERNAL, "answer does not fit"); /* cannot happen with out_cap checked */
  }
  written = write_error(out_payload, out_cap, &req, &f);
  return written >= 0 ? IOT_ANSWERED : IOT_ENOSPC;
}
