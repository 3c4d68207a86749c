/*
 * ft900-host: the protocol core on a simulated board, acting as an FT900 on a serial line.
 *
 *   ft900-host --serial /dev/pts/N --device <id> [--verbose]
 *
 * It opens the tty in raw mode, announces itself with a HELLO frame, answers REQUEST frames with
 * RESPONSE frames and PING with PONG (FRAMING.md). On reset_device it sends the answer, then
 * returns the board to power-on state and sends HELLO again, like a real board restarting.
 * SIGINT/SIGTERM/SIGHUP stop it cleanly (tty settings restored, exit status 0).
 *
 * Transports: serial only for now. The MQTTS mode (libmosquitto, mutual TLS, client id = device
 * id, subscribe IOT_MQTT_SUBSCRIBE_FMT at QoS 1) belongs in a run_mqtts() next to run_serial():
 * it gets a message, calls board_answer() exactly as the serial loop does, publishes the answer
 * at QoS 1, and reconnects after board_restart(). See the `--mqtt` placeholder in main().
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <termios.h>
#include <unistd.h>

#include "frame.h"
#include "protocol.h"
#include "sim_hal.h"

static volatile sig_atomic_t stop_signal = 0;
static int verbose = 0;

static void on_signal(int sig) { stop_signal = sig; }

static void logf_(const char *fmt, ...) {
  va_list ap;
  fputs("ft900-host: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* ---------------------------------------------------------------------------------------------
 * The board: transport-independent. */

typedef struct {
  sim_board_t sim;
  iot_hal_t hal;
  char answer_topic[IOT_ANSWER_TOPIC_CAP];
  char answer_payload[IOT_ANSWER_PAYLOAD_CAP];
} board_t;

static void board_power_on(board_t *b, const char *device_id) {
  sim_board_init(&b->sim, device_id);
  sim_board_hal(&b->sim, &b->hal);
}

/* Run one received message through the protocol core. Returns 1 with the answer in
 * b->answer_topic / b->answer_payload, or 0 when there is nothing to send. */
static int board_answer(board_t *b, const char *topic, const char *payload, size_t len) {
  int rc = iot_handle_message(&b->hal, b->sim.device_id, topic, payload, len, b->answer_topic,
                              sizeof b->answer_topic, b->answer_payload, sizeof b->answer_payload);
  if (rc < 0) logf_("iot_handle_message failed (%d)", rc); /* a bug in this program, not in the input */
  return rc == IOT_ANSWERED;
}

/* ---------------------------------------------------------------------------------------------
 * Serial transport */

static int write_all(int fd, const uint8_t *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { /* tty output queue full: wait until it drains */
        fd_set wfds;
        FD_ZERO(&wfds);
        FD_SET(fd, &wfds);
        select(fd + 1, NULL, &wfds, NULL, NULL);
        continue;
      }
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static int fd_sink(void *ctx, const uint8_t *data, size_t len) { return write_all(*(int *)ctx, data, len); }

/* One frame whose payload is a + b (b may be empty), e.g. topic + "\n" + JSON. */
static int send_frame(int fd, uint8_t type, const char *a, size_t a_len, const char *sep, const char *b, size_t b_len) {
  iot_frame_writer_t w;
  size_t sep_len = sep ? strlen(sep) : 0;
  if (iot_frame_begin(&w, fd_sink, &fd, type, a_len + sep_len + b_len) != 0) return -1;
  if (iot_frame_put(&w, a, a_len) != 0 || iot_frame_put(&w, sep, sep_len) != 0 || iot_frame_put(&w, b, b_len) != 0)
    return -1;
  return iot_frame_end(&w);
}

static int send_hello(int fd, const board_t *b) {
  if (verbose) logf_("HELLO %s", b->sim.device_id);
  return send_frame(fd, IOT_FRAME_HELLO, b->sim.device_id, strlen(b->sim.device_id), NULL, NULL, 0);
}

/* A LOG frame for the bridge's log; hostile text is cut and made printable. */
static int send_log(int fd, const char *what, const uint8_t *detail, size_t detail_len) {
  char text[160];
  size_t n = strlen(what), i;
  if (n > sizeof text - 1) n = sizeof text - 1;
  memcpy(text, what, n);
  for (i = 0; i < detail_len && n < sizeof text - 1; i++)
    text[n++] = (detail[i] >= 0x20 && detail[i] < 0x7F) ? (char)detail[i] : '?';
  if (verbose) logf_("LOG %.*s", (int)n, text);
  return send_frame(fd, IOT_FRAME_LOG, text, n, NULL, NULL, 0);
}

static int open_serial(const char *path, struct termios *saved) {
  struct termios t;
  int fd = open(path, O_RDWR | O_NOCTTY);
  if (fd < 0) {
    logf_("cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  if (tcgetattr(fd, &t) != 0) {
    logf_("%s is not a tty: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  *saved = t;
  /* Raw 8N1, no echo, no line editing, no flow control, no CR/LF translation: frames are
   * binary. (cfmakeraw is not POSIX, hence by hand.) */
  t.c_iflag &= (tcflag_t) ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON | IXOFF | IXANY);
  t.c_oflag &= (tcflag_t)~OPOST;
  t.c_lflag &= (tcflag_t) ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  t.c_cflag &= (tcflag_t) ~(CSIZE | PARENB | CSTOPB);
  t.c_cflag |= CS8 | CREAD | CLOCAL;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  cfsetispeed(&t, B115200);
  cfsetospeed(&t, B115200);
  if (tcsetattr(fd, TCSANOW, &t) != 0) {
    logf_("cannot set raw mode on %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* Handle one complete frame. Returns 0, or -1 when the line failed. */
static int on_frame(int fd, board_t *b, iot_frame_decoder_t *dec) {
  /* The payload stays valid until the decoder is fed again; copy what outlives that. */
  static char topic[IOT_FRAME_MAX_PAYLOAD + 1];
  const uint8_t *p = dec->payload;
  size_t n = dec->payload_len;
  const uint8_t *nl;

  switch (dec->type) {
  case IOT_FRAME_PING:
    if (verbose) logf_("PING (%lu bytes)", (unsigned long)n);
    return send_frame(fd, IOT_FRAME_PONG, (const char *)p, n, NULL, NULL, 0);
  case IOT_FRAME_REQUEST:
    nl = n > 0 ? memchr(p, '\n', n) : NULL;
    if (!nl) return send_log(fd, "REQUEST without a topic line", NULL, 0);
    memcpy(topic, p, (size_t)(nl - p));
    topic[nl - p] = '\0';
    if (memchr(topic, '\0', (size_t)(nl - p))) return send_log(fd, "REQUEST topic contains NUL", NULL, 0);
    if (verbose) {
      size_t json_len = n - (size_t)(nl + 1 - p);
      logf_("REQUEST %s %.*s%s", topic, (int)(json_len > 200 ? 200 : json_len), (const char *)(nl + 1),
            json_len > 200 ? "..." : "");
    }
    if (!board_answer(b, topic, (const char *)(nl + 1), n - (size_t)(nl + 1 - p)))
      return send_log(fd, "no answer to ", (const uint8_t *)topic, strlen(topic));
    if (verbose) logf_("RESPONSE %s %s", b->answer_topic, b->answer_payload);
    if (send_frame(fd, IOT_FRAME_RESPONSE, b->answer_topic, strlen(b->answer_topic), "\n", b->answer_payload,
                   strlen(b->answer_payload)) != 0)
      return -1;
    if (b->sim.reset_requested) {
      /* The answer is out: now restart, as the board would. Its receiver starts from scratch. */
      if (tcdrain(fd) != 0 && errno != EINTR && verbose) logf_("tcdrain: %s", strerror(errno));
      sim_board_reset(&b->sim);
      iot_frame_decoder_init(dec);
      if (verbose) logf_("reset #%u", b->sim.resets);
      return send_hello(fd, b);
    }
    return 0;
  default:
    if (verbose) logf_("ignoring frame type 0x%02x (%lu bytes)", dec->type, (unsigned long)n);
    return 0;
  }
}

static int run_serial(const char *path, board_t *b) {
  static iot_frame_decoder_t dec; /* 4 KB: static, as on the board */
  struct termios saved;
  sigset_t block, orig;
  uint8_t buf[512];
  int status = 0;
  int fd = open_serial(path, &saved);
  if (fd < 0) return 1;

  /* Signals are only delivered inside pselect, so a stop request can never be lost between
   * checking the flag and blocking. */
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, &orig);

  iot_frame_decoder_init(&dec);
  logf_("device %s on %s", b->sim.device_id, path);
  if (send_hello(fd, b) != 0) {
    logf_("cannot write to %s: %s", path, strerror(errno));
    status = 1;
  }
  while (status == 0 && !stop_signal) {
    fd_set rfds;
    ssize_t n, i;
    FD_ZERO(&rfds);
    FD_SET(fd, &rfds);
    if (pselect(fd + 1, &rfds, NULL, NULL, NULL, &orig) < 0) {
      if (errno == EINTR) continue;
      logf_("pselect: %s", strerror(errno));
      status = 1;
      break;
    }
    n = read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno == EIO)) { /* the other end of the line went away */
      logf_("serial line closed");
      status = 1;
      break;
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      logf_("read: %s", strerror(errno));
      status = 1;
      break;
    }
    for (i = 0; i < n && status == 0; i++) {
      iot_frame_event_t ev = iot_frame_feed(&dec, buf[i]);
      if (ev == IOT_FRAME_OK) {
        if (on_frame(fd, b, &dec) != 0) {
          logf_("write: %s", strerror(errno));
          status = 1;
        }
      } else if (ev != IOT_FRAME_NONE && verbose) {
        logf_("%s (frames %lu, CRC errors %lu, overlong %lu, malformed %lu)", iot_frame_event_text(ev),
              (unsigned long)dec.stats.frames, (unsigned long)dec.stats.crc_errors,
              (unsigned long)dec.stats.overlong, (unsigned long)dec.stats.malformed);
      }
    }
  }
  if (stop_signal) logf_("stopping on signal %d", (int)stop_signal);
  tcsetattr(fd, TCSANOW, &saved);
  close(fd);
  return status;
}

/* ---------------------------------------------------------------------------------------------*/

static void usage(FILE *out) {
  fputs("usage: ft900-host --serial <tty> --device <id> [--verbose]\n"
        "  Acts as an FT900 board running the iotcloud protocol core on a serial line\n"
        "  (frames as in ft900/firmware/FRAMING.md).\n"
        "  --mqtt is reserved for the MQTTS mode (not built yet).\n",
        out);
}

int main(int argc, char **argv) {
  static board_t board;
  const char *serial = NULL, *device = NULL;
  struct sigaction sa;
  int i;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--serial") == 0 && i + 1 < argc) serial = argv[++i];
    else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) device = argv[++i];
    else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) verbose = 1;
    else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(argv[i], "--mqtt") == 0) {
      /* Placeholder for run_mqtts() (see the file comment). */
      logf_("the MQTTS mode is not built yet; use --serial");
      return 2;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (!serial || !device) {
    usage(stderr);
    return 2;
  }
  if (!iot_valid_device_id(device)) {
    logf_("invalid device id \"%s\": use 1-64 letters, digits, '_' or '-', starting with a letter or digit", device);
    return 2;
  }

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  board_power_on(&board, device);
  return run_serial(serial, &board);
}
