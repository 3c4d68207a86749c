/* Unit test runner: json, frame, protocol and utc suites. */
#include <stdio.h>
#include <time.h>

#include "check.h"

#ifndef TEST_BUILD
#define TEST_BUILD "unit"
#endif

unsigned long check_count = 0, check_failures = 0;
const char *check_current_test = "";
static unsigned long tests_run = 0;

void check_fail(const char *file, int line, const char *what) {
  check_failures++;
  fprintf(stderr, "FAIL %s (%s:%d): %s\n", check_current_test, file, line, what);
}

void check_run(const char *name, void (*fn)(void)) {
  unsigned long before = check_failures;
  check_current_test = name;
  tests_run++;
  fn();
  if (check_failures != before) fprintf(stderr, "  ^ %s failed\n", name);
}

int main(void) {
  clock_t start = clock();
  json_tests();
  frame_tests();
  protocol_tests();
  utc_tests();
  printf("SUMMARY %s: %lu tests, %lu checks, %lu failed (%.2f s CPU)\n", TEST_BUILD, tests_run, check_count,
         check_failures, (double)(clock() - start) / CLOCKS_PER_SEC);
  return check_failures == 0 ? 0 : 1;
}
