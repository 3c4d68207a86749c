/*
 * A small, strict JSON reader and a bounded JSON writer for the device protocol.
 *
 * Reader: pulls the key/value pairs of ONE top-level JSON object, in order, without copying or
 * allocating. Scalar values (string, number, true, false, null) are returned as tokens pointing
 * into the input. Nested objects and arrays are fully syntax-checked (iteratively, with a bounded
 * bit stack, never by recursion) and returned as one opaque token: the protocol has no nested
 * request fields, so the caller rejects them as a wrong type, and an `error` object that only the
 * server reads is skipped just as cheaply. Any deviation from RFC 8259 is an error with the byte
 * position where it was found.
 *
 * Writer: appends to a caller-owned buffer, escapes strings, never writes past the end and
 * remembers that it overflowed, so a caller checks once at the end.
 */
#ifndef IOT_JSON_H
#define IOT_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Deepest nesting a skipped nested value may have. 2048 covers any payload within the protocol's
 * 4096-byte limit (each level costs at least two bytes). Costs JSON_MAX_DEPTH/8 bytes per reader. */
#ifndef JSON_MAX_DEPTH
#define JSON_MAX_DEPTH 2048
#endif

typedef enum {
  JSON_OK = 0,
  JSON_ERR_EMPTY,          /* nothing but whitespace */
  JSON_ERR_NOT_OBJECT,     /* the top-level value is not an object */
  JSON_ERR_END,            /* the input ended before the object did */
  JSON_ERR_EXPECTED_KEY,   /* an object key (a string) was expected */
  JSON_ERR_EXPECTED_COLON,
  JSON_ERR_EXPECTED_COMMA, /* ',' or the closing bracket was expected */
  JSON_ERR_EXPECTED_VALUE,
  JSON_ERR_CONTROL_CHAR,   /* raw byte < 0x20 inside a string */
  JSON_ERR_BAD_ESCAPE,
  JSON_ERR_BAD_UTF8,
  JSON_ERR_BAD_NUMBER,
  JSON_ERR_BAD_LITERAL,    /* not true, false or null */
  JSON_ERR_TOO_DEEP,       /* nesting deeper than JSON_MAX_DEPTH */
  JSON_ERR_TRAILING        /* something after the closing '}' */
} json_error_t;

typedef enum { JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL, JSON_OBJECT, JSON_ARRAY } json_type_t;

/* A value inside the input text. For JSON_STRING, ptr/len is the raw text between the quotes
 * (escapes not yet decoded: see json_string_decode); for the others it is the value's text. */
typedef struct {
  json_type_t type;
  const char *ptr;
  size_t len;
} json_token_t;

typedef struct {
  const char *text;
  size_t len;
  size_t pos;
  int state;               /* private */
  json_error_t error;      /* why the last call failed */
  size_t error_pos;        /* byte offset of the failure */
  unsigned char nest[(JSON_MAX_DEPTH + 7) / 8]; /* 1 bit per level: object or array */
} json_reader_t;

/* Start reading `text` (len bytes, need not be NUL-terminated): skips whitespace and the opening
 * '{'. Returns JSON_OK or the error (also stored in r->error / r->error_pos). */
json_error_t json_reader_begin(json_reader_t *r, const char *text, size_t len);

/* Next key/value pair of the object. Returns 1 with *key (a JSON_STRING) and *value filled in,
 * 0 at the end of a well-formed object (only whitespace may follow it), -1 on a syntax error.
 * Once it has returned 0 or -1 it keeps returning the same. */
int json_reader_next(json_reader_t *r, json_token_t *key, json_token_t *value);

/* Short English description of an error, for messages. */
const char *json_error_text(json_error_t error);

/* Decode a JSON_STRING token's raw text (escapes, \uXXXX and surrogate pairs) to UTF-8. A lone
 * surrogate becomes U+FFFD, as when a JavaScript string is encoded to UTF-8. Writes whole code
 * points only, at most cap-1 bytes, always NUL-terminates when cap > 0, and returns the full
 * decoded length: a result >= cap means the output was truncated. The decoded text may contain
 * NUL bytes (from \u0000); use the returned length, not strlen. */
size_t json_string_decode(const char *raw, size_t raw_len, char *out, size_t cap);
/* The same, but returns how many bytes were written (whole code points, at most cap-1): the
 * decoded prefix when the string does not fit. */
size_t json_string_decode_prefix(const char *raw, size_t raw_len, char *out, size_t cap);

typedef enum {
  JSON_INT_OK = 0,   /* an exact integer that fits in int64_t */
  JSON_INT_FRACTION, /* a number that is not an integer, e.g. 1.5 or 1e-1 */
  JSON_INT_OVERFLOW, /* an integer beyond int64_t, e.g. 1e30 */
  JSON_INT_INVALID   /* not JSON number syntax */
} json_int_status_t;

/* Exact value of a JSON_NUMBER token as an integer. The text is evaluated as an exact decimal,
 * so 18, 18.0, 1.8e1 and -0 are integers (18, 18, 18, 0) while 18.5 is not. */
json_int_status_t json_number_int(const char *text, size_t len, int64_t *out);

/* 1 when s[0..n) is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). */
int json_utf8_valid(const char *s, size_t n);

/* ---------------------------------------------------------------------------------------------
 * Writer */

#define JSON_WRITER_MAX_DEPTH 8

typedef struct {
  char *buf;
  size_t cap;
  size_t len;
  int overflow;
  unsigned depth;
  unsigned char need_comma[JSON_WRITER_MAX_DEPTH];
  int after_key;
} json_writer_t;

void json_writer_init(json_writer_t *w, char *buf, size_t cap);
void json_write_object_begin(json_writer_t *w);
void json_write_object_end(json_writer_t *w);
void json_write_key(json_writer_t *w, const char *key);
/* s[0..len) is written escaped: '"', '\\' and bytes < 0x20 (as \n, \t... or \u00XX); other bytes,
 * including UTF-8 sequences, are copied as they are. */
void json_write_string(json_writer_t *w, const char *s, size_t len);
void json_write_cstring(json_writer_t *w, const char *s);
void json_write_uint(json_writer_t *w, uint32_t value);
void json_write_bool(json_writer_t *w, int value);
void json_write_null(json_writer_t *w);
/* Returns the length written (NUL-terminated), or -1 if anything did not fit or the objects are
 * not balanced. */
long json_writer_finish(json_writer_t *w);

#endif /* IOT_JSON_H */
