/* Civil-from-days and days-from-civil after Howard Hinnant's public-domain algorithms,
 * restricted to the unsigned 32-bit epoch range so every intermediate fits in 32 bits. */
#include "utc.h"

static int is_leap(uint32_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static uint8_t days_in_month(uint32_t y, uint32_t m) {
  static const uint8_t days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (uint8_t)(m == 2 && is_leap(y) ? 29 : days[m - 1]);
}

void iot_epoch_to_utc(uint32_t epoch, iot_utc_t *out) {
  uint32_t days = epoch / 86400, rem = epoch % 86400;
  /* Shift to an era starting 0000-03-01 so leap days fall at the end of each year. */
  uint32_t z = days + 719468; /* days from 0000-03-01 to 1970-01-01 */
  uint32_t era = z / 146097, doe = z % 146097;
  uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  uint32_t mp = (5 * doy + 2) / 153;
  uint32_t d = doy - (153 * mp + 2) / 5 + 1;
  uint32_t m = mp < 10 ? mp + 3 : mp - 9;
  uint32_t y = yoe + era * 400 + (m <= 2);
  out->year = (uint16_t)y;
  out->month = (uint8_t)m;
  out->day = (uint8_t)d;
  out->hour = (uint8_t)(rem / 3600);
  out->minute = (uint8_t)(rem / 60 % 60);
  out->second = (uint8_t)(rem % 60);
  out->weekday = (uint8_t)((days + 4) % 7); /* 1970-01-01 was a Thursday */
}

int iot_utc_to_epoch(const iot_utc_t *t, uint32_t *epoch) {
  uint32_t y = t->year, m = t->month, d = t->day, era, yoe, doy, doe, days, secs;
  if (y < 1970 || y > 2106 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) || t->hour > 23 ||
      t->minute > 59 || t->second > 59)
    return -1;
  y -= m <= 2;
  era = y / 400;
  yoe = y - era * 400;
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  days = era * 146097 + doe - 719468;
  secs = (uint32_t)t->hour * 3600 + (uint32_t)t->minute * 60 + t->second;
  if (days > 49710 || (days == 49710 && secs > 23295)) return -1; /* past 2106-02-07T06:28:15Z */
  *epoch = days * 86400 + secs;
  return 0;
}
