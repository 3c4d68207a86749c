/*
 * A simulated FT900 board for the PC: the HAL of src/hal.h over plain memory.
 *   GPIO    pins IOT_GPIO_MIN..IOT_GPIO_MAX; inputs read 0, outputs read back what was set
 *   RTC     ticks with the host clock (time()); set_rtc moves it, it keeps ticking
 *   network fixed: a locally administered MAC derived from the device id, 192.168.1.20/24, gw .1
 *   UART    writes land in a bounded ring buffer (the newest SIM_UART_RING bytes are kept)
 *   reset   request_reset only raises a flag; the program answers, then calls sim_board_reset
 */
#ifndef IOT_SIM_HAL_H
#define IOT_SIM_HAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "hal.h"
#include "iotcloud_protocol.h"

#define SIM_UART_RING 1024

/* Test hook: set a bit to make that HAL function fail. */
enum {
  SIM_FAIL_GPIO_GET = 1 << 0,
  SIM_FAIL_GPIO_SET = 1 << 1,
  SIM_FAIL_RTC_GET = 1 << 2,
  SIM_FAIL_RTC_SET = 1 << 3,
  SIM_FAIL_GET_MAC = 1 << 4,
  SIM_FAIL_GET_IP = 1 << 5,
  SIM_FAIL_GET_SUBNET = 1 << 6,
  SIM_FAIL_GET_GATEWAY = 1 << 7,
  SIM_FAIL_RESET = 1 << 8,
  SIM_FAIL_UART_WRITE = 1 << 9
};

typedef struct {
  char device_id[IOT_MAX_DEVICE_ID_LEN + 1];
  uint8_t gpio_level[IOT_GPIO_MAX + 1];
  uint8_t gpio_output[IOT_GPIO_MAX + 1];
  uint32_t rtc_base;   /* RTC value at rtc_set_at */
  time_t rtc_set_at;   /* host time when the RTC was last set */
  uint8_t mac[6];
  uint8_t ip[4], subnet[4], gateway[4];
  uint8_t uart_ring[SIM_UART_RING];
  size_t uart_start, uart_count;
  unsigned long uart_total;  /* bytes ever written, including those the ring dropped */
  int reset_requested;
  unsigned resets;           /* how many times sim_board_reset ran */
  unsigned fail_mask;        /* SIM_FAIL_* */
  time_t (*clock)(void);     /* time source; tests replace it */
} sim_board_t;

/* Power on: everything at defaults, the RTC at the host's current time. device_id is copied
 * (truncated to IOT_MAX_DEVICE_ID_LEN). */
void sim_board_init(sim_board_t *b, const char *device_id);
/* What reset_device does: GPIO, UART and network state back to power-on defaults. The RTC is
 * battery-backed and keeps its time, as on the real board. Clears reset_requested. */
void sim_board_reset(sim_board_t *b);
/* Fill a HAL whose ctx is b. */
void sim_board_hal(sim_board_t *b, iot_hal_t *hal);
/* Copy the UART ring, oldest byte first; returns the number of bytes copied (<= cap). */
size_t sim_uart_contents(const sim_board_t *b, uint8_t *out, size_t cap);

#endif /* IOT_SIM_HAL_H */
