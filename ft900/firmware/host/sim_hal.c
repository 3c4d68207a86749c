/* Simulated board: see sim_hal.h. */
#include "sim_hal.h"

#include <string.h>

#include "identity.h"

static time_t host_clock(void) { return time(NULL); }

static uint32_t rtc_now(const sim_board_t *b) {
  /* Unsigned 32-bit arithmetic: wraps like the hardware counter instead of overflowing. */
  return b->rtc_base + (uint32_t)(b->clock() - b->rtc_set_at);
}

static void power_on_defaults(sim_board_t *b) {
  memset(b->gpio_level, 0, sizeof b->gpio_level);
  memset(b->gpio_output, 0, sizeof b->gpio_output);
  iot_mac_from_device_id(b->device_id, b->mac);
  memcpy(b->ip, "\xC0\xA8\x01\x14", 4);      /* 192.168.1.20 */
  memcpy(b->subnet, "\xFF\xFF\xFF\x00", 4);  /* 255.255.255.0 */
  memcpy(b->gateway, "\xC0\xA8\x01\x01", 4); /* 192.168.1.1 */
  b->uart_start = b->uart_count = 0;
  b->reset_requested = 0;
}

void sim_board_init(sim_board_t *b, const char *device_id) {
  memset(b, 0, sizeof *b);
  strncpy(b->device_id, device_id, sizeof b->device_id - 1);
  b->clock = host_clock;
  b->rtc_set_at = b->clock();
  b->rtc_base = (uint32_t)b->rtc_set_at;
  power_on_defaults(b);
}

void sim_board_reset(sim_board_t *b) {
  power_on_defaults(b);
  b->resets++;
}

static int failing(const sim_board_t *b, unsigned bit) { return (b->fail_mask & bit) != 0; }

static int sim_gpio_get(void *ctx, unsigned pin, int *level) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_GPIO_GET) || pin > IOT_GPIO_MAX) return IOT_HAL_ERROR;
  *level = b->gpio_level[pin];
  return IOT_HAL_OK;
}

static int sim_gpio_set(void *ctx, unsigned pin, int level) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_GPIO_SET) || pin > IOT_GPIO_MAX || (level != 0 && level != 1)) return IOT_HAL_ERROR;
  b->gpio_output[pin] = 1;
  b->gpio_level[pin] = (uint8_t)level;
  return IOT_HAL_OK;
}

static int sim_rtc_get(void *ctx, uint32_t *epoch) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_RTC_GET)) return IOT_HAL_ERROR;
  *epoch = rtc_now(b);
  return IOT_HAL_OK;
}

static int sim_rtc_set(void *ctx, uint32_t epoch) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_RTC_SET)) return IOT_HAL_ERROR;
  b->rtc_base = epoch;
  b->rtc_set_at = b->clock();
  return IOT_HAL_OK;
}

static int sim_get_mac(void *ctx, uint8_t mac[6]) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_GET_MAC)) return IOT_HAL_ERROR;
  memcpy(mac, b->mac, 6);
  return IOT_HAL_OK;
}

static int sim_get_ip(void *ctx, uint8_t ip[4]) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_GET_IP)) return IOT_HAL_ERROR;
  memcpy(ip, b->ip, 4);
  return IOT_HAL_OK;
}

static int sim_get_subnet(void *ctx, uint8_t mask[4]) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_GET_SUBNET)) return IOT_HAL_ERROR;
  memcpy(mask, b->subnet, 4);
  return IOT_HAL_OK;
}

static int sim_get_gateway(void *ctx, uint8_t gateway[4]) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_GET_GATEWAY)) return IOT_HAL_ERROR;
  memcpy(gateway, b->gateway, 4);
  return IOT_HAL_OK;
}

static int sim_request_reset(void *ctx) {
  sim_board_t *b = (sim_board_t *)ctx;
  if (failing(b, SIM_FAIL_RESET)) return IOT_HAL_ERROR;
  b->reset_requested = 1;
  return IOT_HAL_OK;
}

static int sim_uart_write(void *ctx, const uint8_t *data, size_t len) {
  sim_board_t *b = (sim_board_t *)ctx;
  size_t i;
  if (failing(b, SIM_FAIL_UART_WRITE)) return IOT_HAL_ERROR;
  for (i = 0; i < len; i++) {
    b->uart_ring[(b->uart_start + b->uart_count) % SIM_UART_RING] = data[i];
    if (b->uart_count < SIM_UART_RING) b->uart_count++;
    else b->uart_start = (b->uart_start + 1) % SIM_UART_RING; /* full: drop the oldest byte */
  }
  b->uart_total += len;
  return IOT_HAL_OK;
}

void sim_board_hal(sim_board_t *b, iot_hal_t *hal) {
  hal->ctx = b;
  hal->gpio_get = sim_gpio_get;
  hal->gpio_set = sim_gpio_set;
  hal->rtc_get = sim_rtc_get;
  hal->rtc_set = sim_rtc_set;
  hal->get_mac = sim_get_mac;
  hal->get_ip = sim_get_ip;
  hal->get_subnet = sim_get_subnet;
  hal->get_gateway = sim_get_gateway;
  hal->request_reset = sim_request_reset;
  hal->uart_write = sim_uart_write;
}

size_t sim_uart_contents(const sim_board_t *b, uint8_t *out, size_t cap) {
  size_t i, n = b->uart_count < cap ? b->uart_count : cap;
  for (i = 0; i < n; i++) out[i] = b->uart_ring[(b->uart_start + i) % SIM_UART_RING];
  return n;
}
