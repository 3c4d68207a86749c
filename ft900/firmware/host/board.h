/*
 * What both transports of ft900-host share: the simulated board running the protocol core, and
 * the program's log.
 */
#ifndef IOT_HOST_BOARD_H
#define IOT_HOST_BOARD_H

#include <signal.h>
#include <stddef.h>

#include "protocol.h"
#include "sim_hal.h"

typedef struct {
  sim_board_t sim;
  iot_hal_t hal;
  char answer_topic[IOT_ANSWER_TOPIC_CAP];
  char answer_payload[IOT_ANSWER_PAYLOAD_CAP];
} board_t;

/* Power on: the simulated board at its defaults, its HAL ready. */
void board_power_on(board_t *b, const char *device_id);

/* Run one received message through the protocol core. Returns 1 with the answer in
 * b->answer_topic / b->answer_payload (both NUL-terminated), or 0 when there is nothing to send.
 * After a reset_device answer b->sim.reset_requested is set: send the answer, then restart with
 * sim_board_reset(). */
int board_answer(board_t *b, const char *topic, const char *payload, size_t len);

/* "ft900-host: " + the message + newline, on stderr. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void host_log(const char *fmt, ...);

/* Set by --verbose. */
extern int host_verbose;
/* The signal that asked the program to stop (SIGINT, SIGTERM, SIGHUP), or 0. */
extern volatile sig_atomic_t host_stop_signal;

#endif /* IOT_HOST_BOARD_H */
