/*
 * The hardware the protocol core needs, as a table of function pointers plus a context pointer.
 * The core never touches hardware itself: on an FT900 these map to the FT9xx driver and LWIP
 * calls (see README.md); on a PC, host/sim_hal.c simulates a board.
 *
 * Every function returns IOT_HAL_OK (0) on success and anything else on failure; the core then
 * answers the command with an INTERNAL error. A NULL function counts as a failure ("not
 * supported on this board").
 */
#ifndef IOT_HAL_H
#define IOT_HAL_H

#include <stddef.h>
#include <stdint.h>

#define IOT_HAL_OK 0
#define IOT_HAL_ERROR (-1)

typedef struct iot_hal {
  void *ctx; /* passed back to every function */

  /* Level (0 or 1) of GPIO pin `pin` (IOT_GPIO_MIN..IOT_GPIO_MAX). An output pin reads back the
   * level last set. */
  int (*gpio_get)(void *ctx, unsigned pin, int *level);
  /* Make `pin` an output at `level` (0 or 1). */
  int (*gpio_set)(void *ctx, unsigned pin, int level);

  /* RTC as seconds since 1970-01-01T00:00:00Z, unsigned 32-bit; it keeps ticking after rtc_set. */
  int (*rtc_get)(void *ctx, uint32_t *epoch);
  int (*rtc_set)(void *ctx, uint32_t epoch);

  /* Network interface: the MAC address and the IPv4 configuration, in network byte order
   * (ip[0] is the first octet of the dotted quad). */
  int (*get_mac)(void *ctx, uint8_t mac[6]);
  int (*get_ip)(void *ctx, uint8_t ip[4]);
  int (*get_subnet)(void *ctx, uint8_t mask[4]);
  int (*get_gateway)(void *ctx, uint8_t gateway[4]);

  /* Schedule a restart. It must NOT restart before returning: the core still has to produce the
   * `restarting` answer and the application to send it. The application restarts afterwards
   * (drop the broker connection, GPIO/UART/network to power-on defaults, connect again). */
  int (*request_reset)(void *ctx);

  /* Write all `len` bytes to the UART (they may contain any byte, including NUL). */
  int (*uart_write)(void *ctx, const uint8_t *data, size_t len);
} iot_hal_t;

#endif /* IOT_HAL_H */
