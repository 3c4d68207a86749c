/*
 * The HAL of src/hal.h on the LM3S6965:
 *   GPIO     pins 0..47 drive PB0..PG7 of the GPIO ports (port A carries UART0, the link, so it
 *            is never handed out); pins 48..66, which this part does not have, are latched in
 *            RAM so the FT900's whole pin range stays addressable. Inputs have pull-downs: an
 *            untouched pin reads 0, an output reads back the level it drives.
 *   RTC      rtc.c, kept from the 1 ms tick
 *   network  no Ethernet driver in this image: a MAC derived from the device id (app/identity)
 *            and a fixed IPv4 configuration, as the simulated board of ft900-host has
 *   UART     write_uart goes to UART1, the console
 *   reset    request_reset only raises a flag; main.c restarts once the answer is out
 *
 * Built with -DBROKEN_GPIO, get_gpio answers the opposite level: the image the tests use to show
 * that the harness catches a wrong HAL.
 */
#include <string.h>

#include "board.h"
#include "identity.h"
#include "iotcloud_protocol.h"
#include "regs.h"
#include "rtc.h"

#define PORT_PINS 48u

static const uint32_t port_base[6] = {0x40005000u, 0x40006000u, 0x40007000u, 0x40024000u, 0x40025000u, 0x40026000u};

static struct {
  const char *device_id;
  uint8_t latched[IOT_GPIO_MAX + 1 - PORT_PINS];
  int reset_requested;
} board;

static void gpio_power_on(void) {
  unsigned i;
  SYSCTL_RCGC2 |= 0x7Eu; /* ports B..G */
  for (i = 0; i < 6; i++) {
    GPIO_DIR(port_base[i]) = 0;
    GPIO_AFSEL(port_base[i]) = 0;
    GPIO_PDR(port_base[i]) = 0xFFu;
    GPIO_DEN(port_base[i]) = 0xFFu;
  }
  memset(board.latched, 0, sizeof board.latched);
}

static int hal_gpio_get(void *ctx, unsigned pin, int *level) {
  int v;
  (void)ctx;
  if (pin > IOT_GPIO_MAX) return IOT_HAL_ERROR;
  if (pin < PORT_PINS) v = GPIO_DATA_PIN(port_base[pin / 8u], pin % 8u) != 0;
  else v = board.latched[pin - PORT_PINS];
#ifdef BROKEN_GPIO
  v = !v;
#endif
  *level = v;
  return IOT_HAL_OK;
}

static int hal_gpio_set(void *ctx, unsigned pin, int level) {
  (void)ctx;
  if (pin > IOT_GPIO_MAX || (level != 0 && level != 1)) return IOT_HAL_ERROR;
  if (pin < PORT_PINS) {
    uint32_t base = port_base[pin / 8u], bit = 1u << (pin % 8u);
    GPIO_DIR(base) |= bit; /* first: writes to an input pin's data bit are ignored */
    GPIO_DATA_PIN(base, pin % 8u) = level ? bit : 0u;
  } else {
    board.latched[pin - PORT_PINS] = (uint8_t)level;
  }
  return IOT_HAL_OK;
}

static int hal_rtc_get(void *ctx, uint32_t *epoch) {
  (void)ctx;
  *epoch = rtc_now();
  return IOT_HAL_OK;
}

static int hal_rtc_set(void *ctx, uint32_t epoch) {
  (void)ctx;
  rtc_set(epoch);
  return IOT_HAL_OK;
}

static int hal_get_mac(void *ctx, uint8_t mac[6]) {
  (void)ctx;
  iot_mac_from_device_id(board.device_id, mac);
  return IOT_HAL_OK;
}

static int copy4(uint8_t out[4], uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  out[0] = a;
  out[1] = b;
  out[2] = c;
  out[3] = d;
  return IOT_HAL_OK;
}

static int hal_get_ip(void *ctx, uint8_t ip[4]) {
  (void)ctx;
  return copy4(ip, 192, 168, 1, 20);
}

static int hal_get_subnet(void *ctx, uint8_t mask[4]) {
  (void)ctx;
  return copy4(mask, 255, 255, 255, 0);
}

static int hal_get_gateway(void *ctx, uint8_t gateway[4]) {
  (void)ctx;
  return copy4(gateway, 192, 168, 1, 1);
}

static int hal_request_reset(void *ctx) {
  (void)ctx;
  board.reset_requested = 1;
  return IOT_HAL_OK;
}

static int hal_uart_write(void *ctx, const uint8_t *data, size_t len) {
  (void)ctx;
  console_write((const char *)data, len);
  return IOT_HAL_OK;
}

void board_hal_init(iot_hal_t *hal, const char *device_id) {
  board.device_id = device_id;
  board.reset_requested = 0;
  gpio_power_on();
  hal->ctx = &board;
  hal->gpio_get = hal_gpio_get;
  hal->gpio_set = hal_gpio_set;
  hal->rtc_get = hal_rtc_get;
  hal->rtc_set = hal_rtc_set;
  hal->get_mac = hal_get_mac;
  hal->get_ip = hal_get_ip;
  hal->get_subnet = hal_get_subnet;
  hal->get_gateway = hal_get_gateway;
  hal->request_reset = hal_request_reset;
  hal->uart_write = hal_uart_write;
}

int board_reset_requested(void) { return board.reset_requested; }
