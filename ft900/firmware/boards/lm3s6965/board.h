/*
 * The LM3S6965 board layer (QEMU's lm3s6965evb): clock, tick, UART0 link driver, the HAL and
 * reset. Everything above it (app/, src/) is board-independent.
 */
#ifndef LM3S6965_BOARD_H
#define LM3S6965_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "hal.h"

#define BOARD_SYSCLK_HZ 50000000u /* PLL 200 MHz / 4 */

/* Clock (PLL, 50 MHz) and SysTick, free-running. */
void board_clock_init(void);
/* Milliseconds since boot (wraps after 49 days). */
uint32_t board_millis(void);
/* System clock cycles since boot, modulo 2^32 (86 s): for measuring short intervals. */
uint32_t board_cycles(void);

/* UART0, the framed link to the bridge: 115200 8N1, receive interrupt into a ring buffer. */
void link_uart_init(void);
/* Next received byte (0..255), or -1 when none is waiting. */
int link_uart_getc(void);
/* Blocking write; the iot_frame_sink_t of app/link. Always 0. */
int link_uart_write(void *ctx, const uint8_t *data, size_t len);
/* Wait until the last byte has left the shift register. */
void link_uart_drain(void);

/* UART1: the board's console (boot banner, write_uart data). */
void console_init(void);
void console_write(const char *data, size_t len);
void console_puts(const char *text);

/* The HAL of src/hal.h for this board, for `device_id`; power-on state of pins and RTC. */
void board_hal_init(iot_hal_t *hal, const char *device_id);
/* Set by the HAL's request_reset. */
int board_reset_requested(void);

/* Restart the chip (SYSRESETREQ) once the link's output has drained; the RTC keeps its time. */
void board_reset(void) __attribute__((noreturn));
/* Bytes of stack ever used since the cold start (stack painting; see startup.c). */
uint32_t board_stack_high_water(void);
/* Restarts since the cold start. */
uint32_t board_boot_count(void);

#endif /* LM3S6965_BOARD_H */
