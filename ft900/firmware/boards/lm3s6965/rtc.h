/*
 * The RTC, kept from the 1 ms tick. Its state lives in RAM that a reset does not clear (.noinit),
 * as a battery-backed RTC keeps its time: set_rtc, reset_device, get_rtc reads on from the value
 * set. A cold start (power on) begins at 0, 1970-01-01T00:00:00Z.
 */
#ifndef LM3S6965_RTC_H
#define LM3S6965_RTC_H

#include <stdint.h>

void rtc_boot(void);
uint32_t rtc_now(void);
void rtc_set(uint32_t epoch);
/* Fold the time elapsed into the base: the tick restarts from 0 after a reset. */
void rtc_before_reset(void);

#endif
