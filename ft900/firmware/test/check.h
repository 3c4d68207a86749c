/* A tiny assert-style test runner: CHECK records a failure and carries on, so one run reports
 * every broken expectation; main() prints one SUMMARY line and exits non-zero on any failure. */
#ifndef IOT_CHECK_H
#define IOT_CHECK_H

#include <stdio.h>
#include <string.h>

extern unsigned long check_count, check_failures;
extern const char *check_current_test;

void check_fail(const char *file, int line, const char *what);
void check_run(const char *name, void (*fn)(void));

#define CHECK(cond)                                                  \
  do {                                                               \
    check_count++;                                                   \
    if (!(cond)) check_fail(__FILE__, __LINE__, #cond);              \
  } while (0)

#define CHECK_EQ_INT(actual, expected)                                                          \
  do {                                                                                         \
    long long a_ = (long long)(actual), e_ = (long long)(expected);                            \
    check_count++;                                                                             \
    if (a_ != e_) {                                                                            \
      char m_[200];                                                                            \
      snprintf(m_, sizeof m_, "%s == %lld, expected %lld", #actual, a_, e_);                   \
      check_fail(__FILE__, __LINE__, m_);                                                      \
    }                                                                                          \
  } while (0)

#define CHECK_EQ_STR(actual, expected)                                                          \
  do {                                                                                         \
    const char *a_ = (actual), *e_ = (expected);                                               \
    check_count++;                                                                             \
    if (a_ == NULL || strcmp(a_, e_) != 0) {                                                   \
      char m_[600];                                                                            \
      snprintf(m_, sizeof m_, "%s == \"%.250s\", expected \"%.250s\"", #actual, a_ ? a_ : "(null)", e_); \
      check_fail(__FILE__, __LINE__, m_);                                                      \
    }                                                                                          \
  } while (0)

#define RUN(fn) check_run(#fn, fn)

/* Suites (one per module). */
void json_tests(void);
void frame_tests(void);
void protocol_tests(void);
void utc_tests(void);

#endif /* IOT_CHECK_H */
