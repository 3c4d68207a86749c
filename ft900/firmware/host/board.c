/* The simulated board and the log shared by both transports of ft900-host: see board.h. */
#define _XOPEN_SOURCE 700

#include "board.h"

#include <stdarg.h>
#include <stdio.h>

int host_verbose = 0;
volatile sig_atomic_t host_stop_signal = 0;

void host_log(const char *fmt, ...) {
  va_list ap;
  fputs("ft900-host: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void board_power_on(board_t *b, const char *device_id) {
  sim_board_init(&b->sim, device_id);
  sim_board_hal(&b->sim, &b->hal);
}

int board_answer(board_t *b, const char *topic, const char *payload, size_t len) {
  int rc = iot_handle_message(&b->hal, b->sim.device_id, topic, payload, len, b->answer_topic,
                              sizeof b->answer_topic, b->answer_payload, sizeof b->answer_payload);
  if (rc < 0) host_log("iot_handle_message failed (%d)", rc); /* a bug in this program, not in the input */
  return rc == IOT_ANSWERED;
}
