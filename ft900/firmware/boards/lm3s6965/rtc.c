/* RTC from the tick: see rtc.h. */
#include "rtc.h"

#include "board.h"

#define RTC_MAGIC 0x52544331u

static struct {
  uint32_t magic;
  uint32_t base;    /* epoch seconds at base_ms */
  uint32_t base_ms; /* board_millis() when base was taken */
  uint32_t boots;
  uint32_t folded; /* rtc_before_reset ran: base_ms is relative to the next boot's tick */
} rtc __attribute__((section(".noinit")));

void rtc_boot(void) {
  if (rtc.magic != RTC_MAGIC) {
    rtc.magic = RTC_MAGIC;
    rtc.base = 0;
    rtc.boots = 0;
    rtc.base_ms = 0;
  } else {
    rtc.boots++;
    /* A reset that did not go through board_reset (a debugger, QEMU's system_reset) loses the
     * time since the last fold; the base itself is kept. */
    if (!rtc.folded) rtc.base_ms = 0;
  }
  rtc.folded = 0;
}

uint32_t rtc_now(void) { return rtc.base + (board_millis() - rtc.base_ms) / 1000u; }

void rtc_set(uint32_t epoch) {
  rtc.base = epoch;
  rtc.base_ms = board_millis();
}

void rtc_before_reset(void) {
  /* Keep the fraction of a second: only whole seconds move into the base. */
  uint32_t elapsed = board_millis() - rtc.base_ms;
  rtc.base += elapsed / 1000u;
  rtc.base_ms = 0u - elapsed % 1000u; /* the new tick starts at 0, as if it had been running */
  rtc.folded = 1;
}

uint32_t board_boot_count(void) { return rtc.boots; }
