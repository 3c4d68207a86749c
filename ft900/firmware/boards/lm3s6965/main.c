/*
 * The reference firmware on the LM3S6965 (QEMU lm3s6965evb): boot, say HELLO on the framed
 * link (UART0), then feed received bytes to app/link until reset_device restarts the chip.
 */
#include <stdint.h>

#include "board.h"
#include "identity.h"
#include "link.h"
#include "rtc.h"

#ifndef BOARD_DEVICE_ID
#define BOARD_DEVICE_ID "ft900device1" /* used when no identity record is provisioned */
#endif

extern const iot_identity_t _identity;

static iot_link_t link;
static iot_hal_t hal;

/* For bench/firmware.ts, read through the QEMU monitor: system clock cycles spent in the link
 * (decoding, handling, answering) for the last answered request, and the number answered. */
volatile uint32_t board_command_cycles;
volatile uint32_t board_commands;

static void console_number(uint32_t n) {
  char text[11];
  int i = 10;
  text[10] = '\0';
  do {
    text[--i] = (char)('0' + n % 10u);
    n /= 10u;
  } while (n && i > 0);
  console_puts(text + i);
}

int main(void) {
  const char *device_id = iot_identity_device_id(&_identity, BOARD_DEVICE_ID);
  uint32_t spent = 0;
  board_clock_init();
  rtc_boot();
  console_init();
  link_uart_init();
  board_hal_init(&hal, device_id);
  console_puts("\r\niotcloud firmware (lm3s6965) device ");
  console_puts(device_id);
  console_puts(" boot ");
  console_number(board_boot_count());
  console_puts(", stack high-water ");
  console_number(board_stack_high_water());
  console_puts(" bytes\r\n");

  iot_link_init(&link, link_uart_write, NULL, &hal, device_id);
  (void)iot_link_hello(&link);
  for (;;) {
    uint32_t start;
    int c = link_uart_getc();
    if (c < 0) {
      /* Sleep until an interrupt; with interrupts masked, so one arriving between the check and
       * the WFI still wakes it. */
      __asm__ volatile("cpsid i" ::: "memory");
      c = link_uart_getc();
      if (c < 0) __asm__ volatile("wfi" ::: "memory");
      __asm__ volatile("cpsie i" ::: "memory");
      if (c < 0) continue;
    }
    /* Everything waiting in the ring in one go, timed as a whole: timing each byte would add
     * more instructions than some of the work it measures. */
    start = board_cycles();
    do {
      iot_link_result_t r = iot_link_feed(&link, (uint8_t)c);
      if (r == IOT_LINK_ANSWERED) {
        board_command_cycles = spent + (board_cycles() - start);
        board_commands++;
        spent = 0;
        if (board_reset_requested()) board_reset();
        start = board_cycles();
      }
    } while ((c = link_uart_getc()) >= 0);
    spent += board_cycles() - start;
  }
}
