/* Strict flat-object JSON reader and bounded writer. See json.h. */
#include "json.h"

#include <string.h>

enum { ST_FIRST, ST_NEXT, ST_DONE, ST_ERROR };

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Four hex digits at p (caller checked there are four bytes) -> value, or -1. */
static long hex4(const unsigned char *p) {
  long v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int h = hex_value(p[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* Length (1..4) of the well-formed UTF-8 sequence at p, or 0 (RFC 3629 table 3-7). */
static size_t utf8_seq(const unsigned char *p, size_t n) {
  unsigned char c = p[0];
  unsigned char lo = 0x80, hi = 0xBF;
  size_t need, i;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) need = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;      /* no overlong forms */
    if (c == 0xED) hi = 0x9F;      /* no UTF-16 surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;      /* no overlong forms */
    if (c == 0xF4) hi = 0x8F;      /* nothing above U+10FFFF */
  } else return 0;
  if (n < need) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (i = 2; i < need; i++)
    if (p[i] < 0x80 || p[i] > 0xBF) return 0;
  return need;
}

int json_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    size_t k = utf8_seq(p + i, n - i);
    if (k == 0) return 0;
    i += k;
  }
  return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Reader */

static int fail(json_reader_t *r, json_error_t e) {
  r->error = e;
  r->error_pos = r->pos;
  r->state = ST_ERROR;
  return -1;
}

static const unsigned char *at(const json_reader_t *r) { return (const unsigned char *)r->text + r->pos; }

static void skip_ws(json_reader_t *r) {
  while (r->pos < r->len && is_ws(*at(r))) r->pos++;
}

/* String starting at the opening quote. On success r->pos is past the closing quote. */
static int scan_string(json_reader_t *r, json_token_t *tok) {
  size_t start;
  r->pos++; /* opening quote */
  start = r->pos;
  for (;;) {
    unsigned char c;
    if (r->pos >= r->len) return fail(r, JSON_ERR_END);
    c = *at(r);
    if (c == '"') break;
    if (c < 0x20) return fail(r, JSON_ERR_CONTROL_CHAR);
    if (c == '\\') {
      unsigned char e;
      if (r->pos + 1 >= r->len) return fail(r, JSON_ERR_END);
      e = at(r)[1];
      if (e == 'u') {
        if (r->pos + 6 > r->len) return fail(r, JSON_ERR_END);
        if (hex4(at(r) + 2) < 0) return fail(r, JSON_ERR_BAD_ESCAPE);
        r->pos += 6;
      } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        r->pos += 2;
      } else {
        return fail(r, JSON_ERR_BAD_ESCAPE);
      }
    } else if (c >= 0x80) {
      size_t k = utf8_seq(at(r), r->len - r->pos);
      if (k == 0) return fail(r, JSON_ERR_BAD_UTF8);
      r->pos += k;
    } else {
      r->pos++;
    }
  }
  tok->type = JSON_STRING;
  tok->ptr = r->text + start;
  tok->len = r->pos - start;
  r->pos++; /* closing quote */
  return 0;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? ; what follows is the caller's concern. */
static int scan_number(json_reader_t *r, json_token_t *tok) {
  size_t start = r->pos;
  if (*at(r) == '-') r->pos++;
  if (r->pos >= r->len || !is_digit(*at(r))) return fail(r, JSON_ERR_BAD_NUMBER);
  if (*at(r) == '0') r->pos++;
  else
    while (r->pos < r->len && is_digit(*at(r))) r->pos++;
  if (r->pos < r->len && *at(r) == '.') {
    r->pos++;
    if (r->pos >= r->len || !is_digit(*at(r))) return fail(r, JSON_ERR_BAD_NUMBER);
    while (r->pos < r->len && is_digit(*at(r))) r->pos++;
  }
  if (r->pos < r->len && (*at(r) == 'e' || *at(r) == 'E')) {
    r->pos++;
    if (r->pos < r->len && (*at(r) == '+' || *at(r) == '-')) r->pos++;
    if (r->pos >= r->len || !is_digit(*at(r))) return fail(r, JSON_ERR_BAD_NUMBER);
    while (r->pos < r->len && is_digit(*at(r))) r->pos++;
  }
  tok->type = JSON_NUMBER;
  tok->ptr = r->text + start;
  tok->len = r->pos - start;
  return 0;
}

static int scan_literal(json_reader_t *r, json_token_t *tok) {
  static const struct { const char *word; json_type_t type; } words[] = {
    {"true", JSON_TRUE}, {"false", JSON_FALSE}, {"null", JSON_NULL}};
  size_t i;
  for (i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t n = strlen(words[i].word);
    if (r->len - r->pos >= n && memcmp(at(r), words[i].word, n) == 0) {
      tok->type = words[i].type;
      tok->ptr = r->text + r->pos;
      tok->len = n;
      r->pos += n;
      return 0;
    }
  }
  return fail(r, JSON_ERR_BAD_LITERAL);
}

static int scan_scalar(json_reader_t *r, json_token_t *tok) {
  unsigned char c;
  if (r->pos >= r->len) return fail(r, JSON_ERR_END);
  c = *at(r);
  if (c == '"') return scan_string(r, tok);
  if (c == '-' || is_digit(c)) return scan_number(r, tok);
  if (c == 't' || c == 'f' || c == 'n') return scan_literal(r, tok);
  return fail(r, JSON_ERR_EXPECTED_VALUE);
}

/* Nested object/array starting at its opening bracket: checked with an explicit stack of
 * object/array bits instead of recursion, so hostile nesting costs no C stack. */
static int scan_nested(json_reader_t *r, json_token_t *tok) {
  enum { EXP_FIRST_OR_CLOSE, EXP_KEY, EXP_VALUE, EXP_COMMA_OR_CLOSE } expect = EXP_VALUE;
  size_t start = r->pos;
  size_t depth = 0;
  json_token_t scratch;

  for (;;) {
    unsigned char c;
    int is_obj = depth > 0 && (r->nest[(depth - 1) / 8] >> ((depth - 1) % 8) & 1);
    skip_ws(r);
    if (r->pos >= r->len) return fail(r, JSON_ERR_END);
    c = *at(r);
    switch (expect) {
    case EXP_COMMA_OR_CLOSE:
      if (c == ',') {
        r->pos++;
        expect = is_obj ? EXP_KEY : EXP_VALUE;
      } else if (c == (is_obj ? '}' : ']')) {
        r->pos++;
        if (--depth == 0) {
          tok->type = *(const unsigned char *)(r->text + start) == '{' ? JSON_OBJECT : JSON_ARRAY;
          tok->ptr = r->text + start;
          tok->len = r->pos - start;
          return 0;
        }
      } else {
        return fail(r, JSON_ERR_EXPECTED_COMMA);
      }
      break;
    case EXP_FIRST_OR_CLOSE:
      if (c == (is_obj ? '}' : ']')) {
        expect = EXP_COMMA_OR_CLOSE; /* re-read the bracket as a close */
      } else {
        expect = is_obj ? EXP_KEY : EXP_VALUE;
      }
      break;
    case EXP_KEY:
      if (c != '"') return fail(r, JSON_ERR_EXPECTED_KEY);
      if (scan_string(r, &scratch) < 0) return -1;
      skip_ws(r);
      if (r->pos >= r->len) return fail(r, JSON_ERR_END);
      if (*at(r) != ':') return fail(r, JSON_ERR_EXPECTED_COLON);
      r->pos++;
      expect = EXP_VALUE;
      break;
    case EXP_VALUE:
      if (c == '{' || c == '[') {
        unsigned char bit = (unsigned char)(1u << (depth % 8));
        if (depth >= JSON_MAX_DEPTH) return fail(r, JSON_ERR_TOO_DEEP);
        if (c == '{') r->nest[depth / 8] = (unsigned char)(r->nest[depth / 8] | bit);
        else r->nest[depth / 8] = (unsigned char)(r->nest[depth / 8] & ~bit);
        depth++;
        r->pos++;
        expect = EXP_FIRST_OR_CLOSE;
      } else {
        if (scan_scalar(r, &scratch) < 0) return -1;
        expect = EXP_COMMA_OR_CLOSE;
      }
      break;
    }
  }
}

static int scan_value(json_reader_t *r, json_token_t *tok) {
  if (r->pos < r->len && (*at(r) == '{' || *at(r) == '[')) return scan_nested(r, tok);
  return scan_scalar(r, tok);
}

json_error_t json_reader_begin(json_reader_t *r, const char *text, size_t len) {
  r->text = text;
  r->len = len;
  r->pos = 0;
  r->state = ST_FIRST;
  r->error = JSON_OK;
  r->error_pos = 0;
  skip_ws(r);
  if (r->pos >= r->len) fail(r, JSON_ERR_EMPTY);
  else if (*at(r) != '{') fail(r, JSON_ERR_NOT_OBJECT);
  else r->pos++;
  return r->error;
}

static int finish_object(json_reader_t *r) {
  r->pos++; /* '}' */
  skip_ws(r);
  if (r->pos != r->len) return fail(r, JSON_ERR_TRAILING);
  r->state = ST_DONE;
  return 0;
}

int json_reader_next(json_reader_t *r, json_token_t *key, json_token_t *value) {
  if (r->state == ST_DONE) return 0;
  if (r->state == ST_ERROR) return -1;
  skip_ws(r);
  if (r->pos >= r->len) return fail(r, JSON_ERR_END);
  if (r->state == ST_FIRST) {
    if (*at(r) == '}') return finish_object(r);
  } else {
    if (*at(r) == '}') return finish_object(r);
    if (*at(r) != ',') return fail(r, JSON_ERR_EXPECTED_COMMA);
    r->pos++;
    skip_ws(r);
    if (r->pos >= r->len) return fail(r, JSON_ERR_END);
  }
  if (*at(r) != '"') return fail(r, JSON_ERR_EXPECTED_KEY);
  if (scan_string(r, key) < 0) return -1;
  skip_ws(r);
  if (r->pos >= r->len) return fail(r, JSON_ERR_END);
  if (*at(r) != ':') return fail(r, JSON_ERR_EXPECTED_COLON);
  r->pos++;
  skip_ws(r);
  if (scan_value(r, value) < 0) return -1;
  r->state = ST_NEXT;
  return 1;
}

const char *json_error_text(json_error_t error) {
  switch (error) {
  case JSON_OK: return "no error";
  case JSON_ERR_EMPTY: return "empty input";
  case JSON_ERR_NOT_OBJECT: return "not a JSON object";
  case JSON_ERR_END: return "unexpected end of input";
  case JSON_ERR_EXPECTED_KEY: return "expected a key string";
  case JSON_ERR_EXPECTED_COLON: return "expected ':'";
  case JSON_ERR_EXPECTED_COMMA: return "expected ',' or a closing bracket";
  case JSON_ERR_EXPECTED_VALUE: return "expected a value";
  case JSON_ERR_CONTROL_CHAR: return "control character in string";
  case JSON_ERR_BAD_ESCAPE: return "bad escape in string";
  case JSON_ERR_BAD_UTF8: return "bad UTF-8 in string";
  case JSON_ERR_BAD_NUMBER: return "bad number";
  case JSON_ERR_BAD_LITERAL: return "bad literal";
  case JSON_ERR_TOO_DEEP: return "nesting too deep";
  case JSON_ERR_TRAILING: return "trailing characters after the object";
  }
  return "unknown error";
}

/* ---------------------------------------------------------------------------------------------
 * Decoding helpers */

/* Decodes into out (see json_string_decode); returns the full decoded length and stores the
 * number of bytes actually written in *written. */
static size_t decode_string(const char *raw, size_t raw_len, char *out, size_t cap, size_t *written) {
  const unsigned char *p = (const unsigned char *)raw;
  size_t i = 0, total = 0, w = 0;
  int stopped = 0;
  while (i < raw_len) {
    unsigned char unit[4];
    size_t k;
    if (p[i] == '\\' && i + 1 < raw_len) {
      unsigned char e = p[i + 1];
      long cp;
      if (e == 'u' && i + 6 <= raw_len && (cp = hex4(p + i + 2)) >= 0) {
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          long low = -1;
          if (i + 6 <= raw_len && p[i] == '\\' && p[i + 1] == 'u') low = hex4(p + i + 2);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        if (cp < 0x80) {
          unit[0] = (unsigned char)cp;
          k = 1;
        } else if (cp < 0x800) {
          unit[0] = (unsigned char)(0xC0 | (cp >> 6));
          unit[1] = (unsigned char)(0x80 | (cp & 0x3F));
          k = 2;
        } else if (cp < 0x10000) {
          unit[0] = (unsigned char)(0xE0 | (cp >> 12));
          unit[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
          unit[2] = (unsigned char)(0x80 | (cp & 0x3F));
          k = 3;
        } else {
          unit[0] = (unsigned char)(0xF0 | (cp >> 18));
          unit[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
          unit[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
          unit[3] = (unsigned char)(0x80 | (cp & 0x3F));
          k = 4;
        }
      } else {
        switch (e) {
        case 'b': unit[0] = '\b'; break;
        case 'f': unit[0] = '\f'; break;
        case 'n': unit[0] = '\n'; break;
        case 'r': unit[0] = '\r'; break;
        case 't': unit[0] = '\t'; break;
        default: unit[0] = e; break; /* '"', '\\', '/' (anything else was refused by the reader) */
        }
        k = 1;
        i += 2;
      }
    } else {
      /* Raw byte(s). The reader validated the UTF-8, so a lead byte tells the sequence length;
       * copying sequences whole keeps truncated output valid UTF-8. */
      size_t j;
      unsigned char c = p[i];
      k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (k > raw_len - i) k = raw_len - i;
      for (j = 0; j < k; j++) unit[j] = p[i + j];
      i += k;
    }
    total += k;
    if (!stopped && cap > 0 && w + k < cap) {
      memcpy(out + w, unit, k);
      w += k;
    } else {
      stopped = 1;
    }
  }
  if (cap > 0) out[w] = '\0';
  *written = w;
  return total;
}

size_t json_string_decode(const char *raw, size_t raw_len, char *out, size_t cap) {
  size_t written;
  return decode_string(raw, raw_len, out, cap, &written);
}

size_t json_string_decode_prefix(const char *raw, size_t raw_len, char *out, size_t cap) {
  size_t written;
  decode_string(raw, raw_len, out, cap, &written);
  return written;
}

json_int_status_t json_number_int(const char *text, size_t len, int64_t *out) {
  const unsigned char *p = (const unsigned char *)text;
  size_t i = 0, mant_end;
  int negative = 0, seen_point = 0;
  long nd = 0, nf = 0, first_nz = -1, last_nz = -1, exp10 = 0, idx;
  uint64_t value = 0;
  const uint64_t limit = (uint64_t)INT64_MAX;

  /* Pass 1: check the syntax and locate the significant digits. */
  if (i < len && p[i] == '-') {
    negative = 1;
    i++;
  }
  if (i >= len || !is_digit(p[i])) return JSON_INT_INVALID;
  if (p[i] == '0' && i + 1 < len && is_digit(p[i + 1])) return JSON_INT_INVALID;
  for (; i < len; i++) {
    if (p[i] == '.') {
      if (seen_point || i + 1 >= len || !is_digit(p[i + 1])) return JSON_INT_INVALID;
      seen_point = 1;
      continue;
    }
    if (!is_digit(p[i])) break;
    if (p[i] != '0') {
      if (first_nz < 0) first_nz = nd;
      last_nz = nd;
    }
    nd++;
    if (seen_point) nf++;
  }
  mant_end = i;
  if (i < len) {
    int eneg = 0;
    if (p[i] != 'e' && p[i] != 'E') return JSON_INT_INVALID;
    i++;
    if (i < len && (p[i] == '+' || p[i] == '-')) eneg = p[i++] == '-';
    if (i >= len) return JSON_INT_INVALID;
    for (; i < len; i++) {
      if (!is_digit(p[i])) return JSON_INT_INVALID;
      if (exp10 < 1000000L) exp10 = exp10 * 10 + (p[i] - '0'); /* saturate: only the sign matters beyond */
    }
    if (eneg) exp10 = -exp10;
  }
  if (first_nz < 0) {
    *out = 0; /* 0, -0, 0.000, 0e99 */
    return JSON_INT_OK;
  }
  /* value = digits[first_nz..last_nz] * 10^scale */
  exp10 += (nd - 1 - last_nz) - nf;
  if (exp10 < 0) return JSON_INT_FRACTION;
  if ((last_nz - first_nz + 1) + exp10 > 19) return JSON_INT_OVERFLOW;

  /* Pass 2: accumulate. 19 digits fit in uint64_t; the limit check below catches > INT64_MAX. */
  for (i = 0, idx = 0; i < mant_end; i++) {
    if (!is_digit(p[i])) continue;
    if (idx >= first_nz && idx <= last_nz) value = value * 10 + (uint64_t)(p[i] - '0');
    idx++;
  }
  for (; exp10 > 0; exp10--) {
    if (value > limit / 10) return JSON_INT_OVERFLOW;
    value *= 10;
  }
  if (value > limit) return JSON_INT_OVERFLOW;
  *out = negative ? -(int64_t)value : (int64_t)value;
  return JSON_INT_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Writer */

void json_writer_init(json_writer_t *w, char *buf, size_t cap) {
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
  w->overflow = cap == 0;
  w->depth = 0;
  w->after_key = 0;
  memset(w->need_comma, 0, sizeof w->need_comma);
  if (cap > 0) buf[0] = '\0';
}

static void put(json_writer_t *w, const char *s, size_t n) {
  if (w->overflow) return;
  if (n >= w->cap - w->len) { /* keep one byte for the NUL */
    w->overflow = 1;
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = '\0';
}

static void put_string_body(json_writer_t *w, const char *s, size_t len);

/* Comma before a value that is not the first in its object (keys carry the comma). */
static void before_value(json_writer_t *w) {
  if (w->after_key) {
    w->after_key = 0;
    return;
  }
  if (w->depth > 0 && w->need_comma[w->depth - 1]) put(w, ",", 1);
  if (w->depth > 0) w->need_comma[w->depth - 1] = 1;
}

void json_write_object_begin(json_writer_t *w) {
  before_value(w);
  if (w->depth >= JSON_WRITER_MAX_DEPTH) {
    w->overflow = 1;
    return;
  }
  put(w, "{", 1);
  w->need_comma[w->depth++] = 0;
}

void json_write_object_end(json_writer_t *w) {
  if (w->depth == 0 || w->after_key) {
    w->overflow = 1; /* unbalanced: report it like an overflow rather than write bad JSON */
    return;
  }
  w->depth--;
  put(w, "}", 1);
}

void json_write_key(json_writer_t *w, const char *key) {
  if (w->depth == 0 || w->after_key) {
    w->overflow = 1;
    return;
  }
  before_value(w);
  put(w, "\"", 1);
  put_string_body(w, key, strlen(key));
  put(w, "\":", 2);
  w->after_key = 1;
}

static void put_string_body(json_writer_t *w, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t i, run = 0;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[6];
    size_t n = 0;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      n = 2;
    } else if (c < 0x20) {
      esc[0] = '\\';
      n = 2;
      switch (c) {
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 0xF];
        n = 6;
      }
    }
    if (n == 0) {
      run++;
      continue;
    }
    put(w, s + i - run, run); /* the unescaped bytes before this one, in one copy */
    run = 0;
    put(w, esc, n);
  }
  put(w, s + len - run, run);
}

void json_write_string(json_writer_t *w, const char *s, size_t len) {
  before_value(w);
  put(w, "\"", 1);
  put_string_body(w, s, len);
  put(w, "\"", 1);
}

void json_write_cstring(json_writer_t *w, const char *s) { json_write_string(w, s, strlen(s)); }

void json_write_uint(json_writer_t *w, uint32_t value) {
  char digits[10];
  size_t n = 0;
  before_value(w);
  do {
    digits[sizeof digits - 1 - n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  put(w, digits + sizeof digits - n, n);
}

void json_write_bool(json_writer_t *w, int value) {
  before_value(w);
  if (value) put(w, "true", 4);
  else put(w, "false", 5);
}

void json_write_null(json_writer_t *w) {
  before_value(w);
  put(w, "null", 4);
}

long json_writer_finish(json_writer_t *w) {
  if (w->overflow || w->depth != 0 || w->after_key) return -1;
  return (long)w->len;
}
