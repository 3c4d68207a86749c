/*
 * Epoch seconds <-> UTC calendar, for boards whose RTC counts in calendar fields (the FT900 rev C
 * and FT930 RTC drivers read and write a struct tm) while the protocol speaks unsigned 32-bit
 * epoch seconds. Pure arithmetic: no time zone, no libc time functions (mktime() would apply the
 * local zone, and timegm() is not standard C).
 */
#ifndef IOT_UTC_H
#define IOT_UTC_H

#include <stdint.h>

typedef struct {
  uint16_t year;   /* 1970..2106 */
  uint8_t month;   /* 1..12 */
  uint8_t day;     /* 1..31 */
  uint8_t hour;    /* 0..23 */
  uint8_t minute;  /* 0..59 */
  uint8_t second;  /* 0..59 */
  uint8_t weekday; /* 0 = Sunday .. 6 = Saturday (as struct tm's tm_wday) */
} iot_utc_t;

void iot_epoch_to_utc(uint32_t epoch, iot_utc_t *out);
/* Returns 0, or -1 when a field is out of range (weekday is ignored) or the time is outside
 * 1970-01-01T00:00:00Z .. 2106-02-07T06:28:15Z. */
int iot_utc_to_epoch(const iot_utc_t *t, uint32_t *epoch);

#endif /* IOT_UTC_H */
