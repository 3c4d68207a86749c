/* Epoch <-> UTC calendar helper for calendar RTCs. */
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "utc.h"

static void check_utc(uint32_t epoch, unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s, unsigned wd) {
  iot_utc_t t;
  uint32_t back = 0;
  iot_epoch_to_utc(epoch, &t);
  CHECK_EQ_INT(t.year, y);
  CHECK_EQ_INT(t.month, mo);
  CHECK_EQ_INT(t.day, d);
  CHECK_EQ_INT(t.hour, h);
  CHECK_EQ_INT(t.minute, mi);
  CHECK_EQ_INT(t.second, s);
  CHECK_EQ_INT(t.weekday, wd);
  CHECK_EQ_INT(iot_utc_to_epoch(&t, &back), 0);
  CHECK_EQ_INT(back, epoch);
}

static void known_dates(void) {
  check_utc(0, 1970, 1, 1, 0, 0, 0, 4);
  check_utc(1764144000u, 2025, 11, 26, 8, 0, 0, 3);
  check_utc(951782400u, 2000, 2, 29, 0, 0, 0, 2);  /* leap day of a year divisible by 400 */
  check_utc(4107542400u, 2100, 3, 1, 0, 0, 0, 1);  /* 2100 is not a leap year */
  check_utc(4294967295u, 2106, 2, 7, 6, 28, 15, 0); /* the last second of the RTC range */
}

static void rejects_what_cannot_be_an_epoch(void) {
  iot_utc_t t = {2100, 2, 29, 0, 0, 0, 0};
  uint32_t e;
  CHECK_EQ_INT(iot_utc_to_epoch(&t, &e), -1); /* no 29 Feb 2100 */
  t.year = 1969; t.month = 12; t.day = 31;
  CHECK_EQ_INT(iot_utc_to_epoch(&t, &e), -1);
  t.year = 2106; t.month = 2; t.day = 7; t.hour = 6; t.minute = 28; t.second = 16;
  CHECK_EQ_INT(iot_utc_to_epoch(&t, &e), -1);
  t.year = 2024; t.month = 13; t.day = 1; t.hour = 0; t.minute = 0; t.second = 0;
  CHECK_EQ_INT(iot_utc_to_epoch(&t, &e), -1);
  t.month = 4; t.day = 31;
  CHECK_EQ_INT(iot_utc_to_epoch(&t, &e), -1);
  t.day = 30; t.hour = 24;
  CHECK_EQ_INT(iot_utc_to_epoch(&t, &e), -1);
  t.hour = 23; t.second = 60; /* leap seconds are not representable in epoch seconds */
  CHECK_EQ_INT(iot_utc_to_epoch(&t, &e), -1);
}

static void agrees_with_gmtime_across_the_range(void) {
  uint64_t e;
  for (e = 0; e <= 0xFFFFFFFFu; e += 86400u * 3u + 7919u) { /* ~ every 3 days, all times of day */
    time_t tt = (time_t)e;
    const struct tm *ref = gmtime(&tt);
    iot_utc_t t;
    iot_epoch_to_utc((uint32_t)e, &t);
    if (!ref) continue;
    CHECK(t.year == ref->tm_year + 1900 && t.month == ref->tm_mon + 1 && t.day == ref->tm_mday &&
          t.hour == ref->tm_hour && t.minute == ref->tm_min && t.second == ref->tm_sec && t.weekday == ref->tm_wday);
  }
}

void utc_tests(void) {
  RUN(known_dates);
  RUN(rejects_what_cannot_be_an_epoch);
  RUN(agrees_with_gmtime_across_the_range);
}
