/* JSON reader and writer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

static json_reader_t reader; /* 300 bytes: keep it off the test's stack frame */

/* Read every pair of `text`; returns the number of pairs, or -1 (then err and pos are set). */
static int read_all(const char *text, size_t len, json_error_t *err, size_t *pos) {
  json_token_t k, v;
  int n = 0, rc;
  *err = json_reader_begin(&reader, text, len);
  *pos = reader.error_pos;
  if (*err != JSON_OK) return -1;
  while ((rc = json_reader_next(&reader, &k, &v)) == 1) n++;
  *err = reader.error;
  *pos = reader.error_pos;
  return rc < 0 ? -1 : n;
}

static void reads_pairs_of_every_type(void) {
  const char *text = " {\"s\" : \"a\\\"b\" ,\"n\":-12.5e3, \"t\":true,\"f\":false,\"z\":null,\"o\":{\"x\":[1,{}]},\"a\":[]}\n";
  json_token_t k, v;
  CHECK_EQ_INT(json_reader_begin(&reader, text, strlen(text)), JSON_OK);
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 1);
  CHECK(k.type == JSON_STRING && k.len == 1 && k.ptr[0] == 's');
  CHECK(v.type == JSON_STRING && v.len == 4 && memcmp(v.ptr, "a\\\"b", 4) == 0);
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 1);
  CHECK(v.type == JSON_NUMBER && v.len == 7 && memcmp(v.ptr, "-12.5e3", 7) == 0);
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 1);
  CHECK(v.type == JSON_TRUE);
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 1);
  CHECK(v.type == JSON_FALSE);
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 1);
  CHECK(v.type == JSON_NULL);
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 1);
  CHECK(v.type == JSON_OBJECT && v.len == strlen("{\"x\":[1,{}]}"));
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 1);
  CHECK(v.type == JSON_ARRAY && v.len == 2);
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 0);
  CHECK_EQ_INT(json_reader_next(&reader, &k, &v), 0); /* stays done */
}

static void empty_object_and_whitespace(void) {
  json_error_t e;
  size_t pos;
  CHECK_EQ_INT(read_all("{}", 2, &e, &pos), 0);
  CHECK_EQ_INT(read_all(" \t\r\n{ \t\r\n} \t\r\n", 13, &e, &pos), 0);
  CHECK_EQ_INT(read_all("", 0, &e, &pos), -1);
  CHECK_EQ_INT(e, JSON_ERR_EMPTY);
  CHECK_EQ_INT(read_all("   ", 3, &e, &pos), -1);
  CHECK_EQ_INT(e, JSON_ERR_EMPTY);
}

static void not_nul_terminated_input(void) {
  /* The reader must stop at len, never at a NUL or beyond. */
  char buf[8] = {'{', '"', 'a', '"', ':', '1', '}', 'X'};
  json_error_t e;
  size_t pos;
  CHECK_EQ_INT(read_all(buf, 7, &e, &pos), 1);
  CHECK_EQ_INT(read_all(buf, 8, &e, &pos), -1);
  CHECK_EQ_INT(e, JSON_ERR_TRAILING);
  CHECK_EQ_INT(read_all(buf, 6, &e, &pos), -1);
  CHECK_EQ_INT(e, JSON_ERR_END);
  CHECK_EQ_INT(read_all("{\"a\":1}\0", 8, &e, &pos), -1); /* a NUL after the object is not whitespace */
  CHECK_EQ_INT(e, JSON_ERR_TRAILING);
}

static void syntax_errors_with_positions(void) {
  static const struct {
    const char *text;
    json_error_t error;
    size_t pos;
  } cases[] = {
    {"[1,2]", JSON_ERR_NOT_OBJECT, 0},
    {"  42", JSON_ERR_NOT_OBJECT, 2},
    {"null", JSON_ERR_NOT_OBJECT, 0},
    {"\"x\"", JSON_ERR_NOT_OBJECT, 0},
    {"{number:1}", JSON_ERR_EXPECTED_KEY, 1},
    {"{\"number\":1", JSON_ERR_END, 11},
    {"{\"a\" 1}", JSON_ERR_EXPECTED_COLON, 5},
    {"{\"a\":1 \"b\":2}", JSON_ERR_EXPECTED_COMMA, 7},
    {"{\"a\":1,}", JSON_ERR_EXPECTED_KEY, 7},
    {"{,}", JSON_ERR_EXPECTED_KEY, 1},
    {"{\"a\":}", JSON_ERR_EXPECTED_VALUE, 5},
    {"{\"a\":'x'}", JSON_ERR_EXPECTED_VALUE, 5},
    {"{\"a\":tru}", JSON_ERR_BAD_LITERAL, 5},
    {"{\"a\":truex}", JSON_ERR_EXPECTED_COMMA, 9},
    {"{\"a\":nul}", JSON_ERR_BAD_LITERAL, 5},
    {"{\"a\":True}", JSON_ERR_EXPECTED_VALUE, 5},
    {"{\"a\":01}", JSON_ERR_EXPECTED_COMMA, 6},
    {"{\"a\":1.}", JSON_ERR_BAD_NUMBER, 7},
    {"{\"a\":.5}", JSON_ERR_EXPECTED_VALUE, 5},
    {"{\"a\":-}", JSON_ERR_BAD_NUMBER, 6},
    {"{\"a\":+1}", JSON_ERR_EXPECTED_VALUE, 5},
    {"{\"a\":1e}", JSON_ERR_BAD_NUMBER, 7},
    {"{\"a\":1e+}", JSON_ERR_BAD_NUMBER, 8},
    {"{\"a\":0x10}", JSON_ERR_EXPECTED_COMMA, 6},
    {"{\"a\":NaN}", JSON_ERR_EXPECTED_VALUE, 5},
    {"{\"a\":\"x\\q\"}", JSON_ERR_BAD_ESCAPE, 7},
    {"{\"a\":\"\\u12G4\"}", JSON_ERR_BAD_ESCAPE, 6},
    {"{\"a\":\"\\u12\"}", JSON_ERR_BAD_ESCAPE, 6},
    {"{\"a\":\"tab\there\"}", JSON_ERR_CONTROL_CHAR, 9},
    {"{\"a\":\"x", JSON_ERR_END, 7},
    {"{\"a\":\"x\\", JSON_ERR_END, 7},
    {"{\"a\":1}}", JSON_ERR_TRAILING, 7},
    {"{} {}", JSON_ERR_TRAILING, 3},
    {"{\"a\":[1,]}", JSON_ERR_EXPECTED_VALUE, 8},
    {"{\"a\":[1 2]}", JSON_ERR_EXPECTED_COMMA, 8},
    {"{\"a\":[}", JSON_ERR_EXPECTED_VALUE, 6},
    {"{\"a\":{1:2}}", JSON_ERR_EXPECTED_KEY, 6},
    {"{\"a\":{\"k\" 2}}", JSON_ERR_EXPECTED_COLON, 10},
    {"{\"a\":{\"k\":2]}", JSON_ERR_EXPECTED_COMMA, 11},
    {"{\"a\":[1}", JSON_ERR_EXPECTED_COMMA, 7},
    {"{\"a\":[[[", JSON_ERR_END, 8},
    {"{\"a\":{\"b\":{}}", JSON_ERR_END, 13},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_error_t e;
    size_t pos;
    int n = read_all(cases[i].text, strlen(cases[i].text), &e, &pos);
    check_current_test = cases[i].text;
    CHECK_EQ_INT(n, -1);
    CHECK_EQ_INT(e, cases[i].error);
    CHECK_EQ_INT(pos, cases[i].pos);
    CHECK(strlen(json_error_text(e)) > 0);
  }
  check_current_test = "syntax_errors_with_positions";
  {
    json_token_t k, v;
    CHECK_EQ_INT(json_reader_begin(&reader, "{\"a\":,}", 7), JSON_OK);
    CHECK_EQ_INT(json_reader_next(&reader, &k, &v), -1);
    CHECK_EQ_INT(json_reader_next(&reader, &k, &v), -1); /* stays failed */
  }
}

static void strings_must_be_valid_utf8(void) {
  static const char *bad[] = {
    "{\"a\":\"\xC0\x80\"}",         /* overlong NUL */
    "{\"a\":\"\xE0\x80\xAF\"}",     /* overlong '/' */
    "{\"a\":\"\xED\xA0\x80\"}",     /* UTF-16 surrogate D800 */
    "{\"a\":\"\xF4\x90\x80\x80\"}", /* above U+10FFFF */
    "{\"a\":\"\xF5\x80\x80\x80\"}",
    "{\"a\":\"\xFF\"}",
    "{\"a\":\"\x80\"}",             /* lone continuation byte */
    "{\"a\":\"\xC3\"}",             /* truncated sequence */
    "{\"\xC3\":1}",
  };
  static const char *good[] = {
    "{\"a\":\"\xC3\xA9\"}", "{\"a\":\"\xE2\x82\xAC\"}", "{\"a\":\"\xF0\x9F\x98\x80\"}", "{\"a\":\"\xF4\x8F\xBF\xBF\"}",
    "{\"a\":\"\xEF\xBB\xBF\"}",
  };
  size_t i;
  json_error_t e;
  size_t pos;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ_INT(read_all(bad[i], strlen(bad[i]), &e, &pos), -1);
    CHECK_EQ_INT(e, JSON_ERR_BAD_UTF8);
    CHECK(!json_utf8_valid(bad[i], strlen(bad[i])));
  }
  for (i = 0; i < sizeof good / sizeof good[0]; i++) {
    CHECK_EQ_INT(read_all(good[i], strlen(good[i]), &e, &pos), 1);
    CHECK(json_utf8_valid(good[i], strlen(good[i])));
  }
  CHECK(json_utf8_valid("", 0));
  CHECK(json_utf8_valid("a\0b", 3)); /* NUL is valid UTF-8 */
}

static void nesting_is_skipped_iteratively_up_to_the_limit(void) {
  static char text[2 * JSON_MAX_DEPTH + 64];
  size_t n, d;
  json_error_t e;
  size_t pos;
  for (d = JSON_MAX_DEPTH; d <= JSON_MAX_DEPTH + 1; d++) {
    n = 0;
    memcpy(text, "{\"a\":", 5);
    n = 5;
    memset(text + n, '[', d);
    n += d;
    memset(text + n, ']', d);
    n += d;
    text[n++] = '}';
    if (d == JSON_MAX_DEPTH) {
      CHECK_EQ_INT(read_all(text, n, &e, &pos), 1);
    } else {
      CHECK_EQ_INT(read_all(text, n, &e, &pos), -1);
      CHECK_EQ_INT(e, JSON_ERR_TOO_DEEP);
      CHECK_EQ_INT(pos, 5 + JSON_MAX_DEPTH);
    }
  }
  /* Mixed objects and arrays: the bit stack must remember which closer each level needs. */
  {
    const char *mixed = "{\"a\":[{\"b\":[{\"c\":[]},{}]},[[],{}]], \"d\":1}";
    const char *wrong = "{\"a\":[{\"b\":[{\"c\":[]},{}}]},[[],{}]]}";
    CHECK_EQ_INT(read_all(mixed, strlen(mixed), &e, &pos), 2);
    CHECK_EQ_INT(read_all(wrong, strlen(wrong), &e, &pos), -1);
    CHECK_EQ_INT(e, JSON_ERR_EXPECTED_COMMA);
  }
}

static void decodes_strings(void) {
  char out[64];
  size_t n;
#define DECODE(raw) json_string_decode(raw, strlen(raw), out, sizeof out)
  n = DECODE("plain");
  CHECK_EQ_INT(n, 5);
  CHECK_EQ_STR(out, "plain");
  n = DECODE("\\\"\\\\\\/\\b\\f\\n\\r\\t");
  CHECK_EQ_INT(n, 8);
  CHECK(memcmp(out, "\"\\/\b\f\n\r\t", 8) == 0);
  n = DECODE("\\u0041\\u00e9\\u20AC");
  CHECK_EQ_INT(n, 6);
  CHECK_EQ_STR(out, "A\xC3\xA9\xE2\x82\xAC");
  n = DECODE("\\ud83d\\ude00"); /* surrogate pair -> U+1F600 */
  CHECK_EQ_INT(n, 4);
  CHECK_EQ_STR(out, "\xF0\x9F\x98\x80");
  n = DECODE("\\ud800x"); /* lone high surrogate -> U+FFFD, like JS to UTF-8 */
  CHECK_EQ_INT(n, 4);
  CHECK_EQ_STR(out, "\xEF\xBF\xBDx");
  n = DECODE("\\udc00"); /* lone low */
  CHECK_EQ_STR(out, "\xEF\xBF\xBD");
  n = DECODE("\\ud800\\ud800\\udc00"); /* high, then a proper pair */
  CHECK_EQ_INT(n, 7);
  CHECK_EQ_STR(out, "\xEF\xBF\xBD\xF0\x90\x80\x80");
  n = DECODE("a\\u0000b");
  CHECK_EQ_INT(n, 3);
  CHECK(memcmp(out, "a\0b", 3) == 0);
  n = DECODE("\xC3\xA9");
  CHECK_EQ_INT(n, 2);
#undef DECODE
  /* Truncation: whole code points only, always NUL-terminated, full length returned. */
  n = json_string_decode("ab\xE2\x82\xAC", 5, out, 4);
  CHECK_EQ_INT(n, 5);
  CHECK_EQ_STR(out, "ab");
  n = json_string_decode("abc", 3, out, 3);
  CHECK_EQ_INT(n, 3);
  CHECK_EQ_STR(out, "ab");
  n = json_string_decode("abc", 3, out, 4);
  CHECK_EQ_STR(out, "abc");
  n = json_string_decode("\\u00e9z", 7, out, 2); /* é does not fit in 1 byte: stop, don't skip to z */
  CHECK_EQ_STR(out, "");
  CHECK_EQ_INT(json_string_decode("abc", 3, NULL, 0), 3);
  CHECK_EQ_INT(json_string_decode_prefix("ab\xE2\x82\xAC", 5, out, 4), 2);
  CHECK_EQ_INT(json_string_decode_prefix("a\\u0000b", 8, out, 3), 2); /* NUL counted, not a stop */
  CHECK(out[0] == 'a' && out[1] == '\0');
  CHECK_EQ_INT(json_string_decode_prefix("abc", 3, out, 64), 3);
}

static void numbers_as_exact_integers(void) {
  static const struct {
    const char *text;
    json_int_status_t status;
    int64_t value;
  } cases[] = {
    {"0", JSON_INT_OK, 0},
    {"-0", JSON_INT_OK, 0},
    {"18", JSON_INT_OK, 18},
    {"-18", JSON_INT_OK, -18},
    {"18.0", JSON_INT_OK, 18},
    {"18.000", JSON_INT_OK, 18},
    {"1.8e1", JSON_INT_OK, 18},
    {"1800e-2", JSON_INT_OK, 18},
    {"0.18E+2", JSON_INT_OK, 18},
    {"0e99999999999", JSON_INT_OK, 0},
    {"0.0", JSON_INT_OK, 0},
    {"4294967295", JSON_INT_OK, 4294967295LL},
    {"4294967296", JSON_INT_OK, 4294967296LL},
    {"9223372036854775807", JSON_INT_OK, INT64_MAX},
    {"-9223372036854775807", JSON_INT_OK, -INT64_MAX},
    {"9223372036854775808", JSON_INT_OVERFLOW, 0},
    {"99999999999999999999", JSON_INT_OVERFLOW, 0},
    {"5e3", JSON_INT_OK, 5000},
    {"-25E+2", JSON_INT_OK, -2500},
    {"9e18", JSON_INT_OK, 9000000000000000000LL},
    {"9.3e18", JSON_INT_OVERFLOW, 0},
    {"1e19", JSON_INT_OVERFLOW, 0},
    {"1e400", JSON_INT_OVERFLOW, 0},
    {"1e99999999999", JSON_INT_OVERFLOW, 0},
    {"1.5", JSON_INT_FRACTION, 0},
    {"18.5", JSON_INT_FRACTION, 0},
    {"1e-1", JSON_INT_FRACTION, 0},
    {"1e-99999999999", JSON_INT_FRACTION, 0},
    {"0.1", JSON_INT_FRACTION, 0},
    {"1.00000000000000000001", JSON_INT_FRACTION, 0},
    {"", JSON_INT_INVALID, 0},
    {"-", JSON_INT_INVALID, 0},
    {"01", JSON_INT_INVALID, 0},
    {"1.", JSON_INT_INVALID, 0},
    {"1..2", JSON_INT_INVALID, 0},
    {"1.2.3", JSON_INT_INVALID, 0},
    {"1e", JSON_INT_INVALID, 0},
    {"1e+", JSON_INT_INVALID, 0},
    {"1x", JSON_INT_INVALID, 0},
    {"+1", JSON_INT_INVALID, 0},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t v = 12345;
    json_int_status_t s = json_number_int(cases[i].text, strlen(cases[i].text), &v);
    check_current_test = cases[i].text;
    CHECK_EQ_INT(s, cases[i].status);
    if (s == JSON_INT_OK) CHECK_EQ_INT(v, cases[i].value);
  }
  check_current_test = "numbers_as_exact_integers";
}

static void writer_builds_and_escapes(void) {
  char buf[256];
  json_writer_t w;
  long n;
  json_writer_init(&w, buf, sizeof buf);
  json_write_object_begin(&w);
  json_write_key(&w, "cid");
  json_write_cstring(&w, "k3x9");
  json_write_key(&w, "error");
  json_write_object_begin(&w);
  json_write_key(&w, "code");
  json_write_uint(&w, 2);
  json_write_key(&w, "max");
  json_write_uint(&w, 4294967295u);
  json_write_key(&w, "t");
  json_write_bool(&w, 1);
  json_write_key(&w, "f");
  json_write_bool(&w, 0);
  json_write_key(&w, "n");
  json_write_null(&w);
  json_write_object_end(&w);
  json_write_key(&w, "s");
  json_write_string(&w, "q\"b\\\n\r\t\b\f\x01\x1f\0\x7f\xC3\xA9", 15);
  json_write_object_end(&w);
  n = json_writer_finish(&w);
  CHECK_EQ_STR(buf, "{\"cid\":\"k3x9\",\"error\":{\"code\":2,\"max\":4294967295,\"t\":true,\"f\":false,\"n\":null},"
                    "\"s\":\"q\\\"b\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\\u0000\x7f\xC3\xA9\"}");
  CHECK_EQ_INT(n, (long)strlen(buf));
  /* What the writer escapes, the reader decodes back. */
  {
    json_error_t e;
    size_t pos;
    CHECK_EQ_INT(read_all(buf, (size_t)n, &e, &pos), 3);
  }
}

static void writer_reports_overflow_at_every_size(void) {
  char full[128], buf[128];
  json_writer_t w;
  long need, n;
  size_t cap;
#define BUILD(b, c)                         \
  json_writer_init(&w, b, c);               \
  json_write_object_begin(&w);              \
  json_write_key(&w, "data");               \
  json_write_string(&w, "a\"\x01z", 4);     \
  json_write_key(&w, "value");              \
  json_write_uint(&w, 1764144000u);         \
  json_write_object_end(&w);
  BUILD(full, sizeof full);
  need = json_writer_finish(&w);
  CHECK(need > 0);
  for (cap = 0; cap <= (size_t)need + 1; cap++) {
    memset(buf, 'X', sizeof buf);
    BUILD(buf, cap);
    n = json_writer_finish(&w);
    if (cap <= (size_t)need) {
      CHECK_EQ_INT(n, -1);
    } else {
      CHECK_EQ_INT(n, need);
      CHECK_EQ_STR(buf, full);
    }
    CHECK(buf[cap] == 'X'); /* never a byte past cap */
    if (cap > 0) CHECK(memchr(buf, '\0', cap) != NULL);
  }
#undef BUILD
  /* Unbalanced use is an error too, never silent bad JSON. */
  json_writer_init(&w, buf, sizeof buf);
  json_write_object_begin(&w);
  CHECK_EQ_INT(json_writer_finish(&w), -1);
  json_writer_init(&w, buf, sizeof buf);
  json_write_object_end(&w);
  CHECK_EQ_INT(json_writer_finish(&w), -1);
  json_writer_init(&w, buf, sizeof buf);
  json_write_object_begin(&w);
  json_write_key(&w, "k");
  json_write_object_end(&w);
  CHECK_EQ_INT(json_writer_finish(&w), -1);
  json_writer_init(&w, buf, sizeof buf);
  json_write_key(&w, "k"); /* a key outside any object */
  CHECK_EQ_INT(json_writer_finish(&w), -1);
  {
    int i; /* deeper than JSON_WRITER_MAX_DEPTH */
    json_writer_init(&w, buf, sizeof buf);
    json_write_object_begin(&w);
    for (i = 0; i < JSON_WRITER_MAX_DEPTH; i++) {
      json_write_key(&w, "k");
      json_write_object_begin(&w);
    }
    CHECK_EQ_INT(json_writer_finish(&w), -1);
  }
  CHECK_EQ_STR(json_error_text(JSON_ERR_TOO_DEEP), "nesting too deep");
}

void json_tests(void) {
  RUN(reads_pairs_of_every_type);
  RUN(empty_object_and_whitespace);
  RUN(not_nul_terminated_input);
  RUN(syntax_errors_with_positions);
  RUN(strings_must_be_valid_utf8);
  RUN(nesting_is_skipped_iteratively_up_to_the_limit);
  RUN(decodes_strings);
  RUN(numbers_as_exact_integers);
  RUN(writer_builds_and_escapes);
  RUN(writer_reports_overflow_at_every_size);
}
