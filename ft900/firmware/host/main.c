/*
 * ft900-host: the protocol core on a simulated board, acting as an FT900 on a serial line or
 * straight on the broker over MQTTS.
 *
 *   ft900-host --serial /dev/pts/N --device <id> [--verbose]
 *   ft900-host --mqtt mqtts://host:port --device <id> --ca <pem> --cert <pem> --key <pem> [--verbose]
 *
 * Serial: it opens the tty in raw mode, announces itself with a HELLO frame, answers REQUEST
 * frames with RESPONSE frames and PING with PONG (FRAMING.md). On reset_device it sends the
 * answer, then returns the board to power-on state and sends HELLO again, like a real board
 * restarting.
 *
 * MQTTS (host/mqtt.c, built when libmosquitto is present): what an FT900 running lwIP's MQTT
 * client does: client id = device id, mutual TLS, subscribe IOT_MQTT_SUBSCRIBE_FMT at QoS 1, every
 * message through board_answer(), the answer published at QoS 1, reconnect with backoff.
 *
 * Both: SIGINT/SIGTERM/SIGHUP stop it cleanly (exit status 0).
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

#include "board.h"
#include "link.h"
#ifdef IOT_HOST_MQTT
#include "mqtt.h"
#endif

static void on_signal(int sig) { host_stop_signal = sig; }

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

/* --verbose: what the link does, in the log. */
static void trace_link(void *ctx, const char *kind, const char *a, size_t a_len, const char *b, size_t b_len) {
  (void)ctx;
  if (!host_verbose) return;
  if (strcmp(kind, "PING") == 0) host_log("PING (%lu bytes)", (unsigned long)a_len);
  else if (strcmp(kind, "REQUEST") == 0)
    host_log("REQUEST %.*s %.*s%s", (int)a_len, a, (int)(b_len > 200 ? 200 : b_len), b, b_len > 200 ? "..." : "");
  else host_log("%s %.*s%s%.*s", kind, (int)a_len, a ? a : "", b_len ? " " : "", (int)b_len, b ? b : "");
}

static int open_serial(const char *path, struct termios *saved) {
  struct termios t;
  int fd = open(path, O_RDWR | O_NOCTTY);
  if (fd < 0) {
    host_log("cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  if (tcgetattr(fd, &t) != 0) {
    host_log("%s is not a tty: %s", path, strerror(errno));
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
    host_log("cannot set raw mode on %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static int run_serial(const char *path, board_t *b) {
  static iot_link_t link; /* decoder and answer buffers: static, as on the board */
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

  iot_link_init(&link, fd_sink, &fd, &b->hal, b->sim.device_id);
  link.trace = trace_link;
  host_log("device %s on %s", b->sim.device_id, path);
  if (iot_link_hello(&link) != 0) {
    host_log("cannot write to %s: %s", path, strerror(errno));
    status = 1;
  }
  while (status == 0 && !host_stop_signal) {
    fd_set rfds;
    ssize_t n, i;
    FD_ZERO(&rfds);
    FD_SET(fd, &rfds);
    if (pselect(fd + 1, &rfds, NULL, NULL, NULL, &orig) < 0) {
      if (errno == EINTR) continue;
      host_log("pselect: %s", strerror(errno));
      status = 1;
      break;
    }
    n = read(fd, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno == EIO)) { /* the other end of the line went away */
      host_log("serial line closed");
      status = 1;
      break;
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      host_log("read: %s", strerror(errno));
      status = 1;
      break;
    }
    for (i = 0; i < n && status == 0; i++) {
      iot_link_result_t r = iot_link_feed(&link, buf[i]);
      if (r == IOT_LINK_FAILED) {
        host_log("write: %s", strerror(errno));
        status = 1;
      } else if (r == IOT_LINK_ANSWERED && b->sim.reset_requested) {
        /* The answer is out: now restart, as the board would. Its receiver starts from scratch. */
        if (tcdrain(fd) != 0 && errno != EINTR && host_verbose) host_log("tcdrain: %s", strerror(errno));
        sim_board_reset(&b->sim);
        iot_link_restart(&link);
        if (host_verbose) host_log("reset #%u", b->sim.resets);
        if (iot_link_hello(&link) != 0) status = 1;
      }
    }
  }
  if (host_stop_signal) host_log("stopping on signal %d", (int)host_stop_signal);
  tcsetattr(fd, TCSANOW, &saved);
  close(fd);
  return status;
}

/* ---------------------------------------------------------------------------------------------*/

static void usage(FILE *out) {
  fputs("usage: ft900-host --serial <tty> --device <id> [options]\n"
        "       ft900-host --mqtt mqtts://<host>[:<port>] --device <id> --ca <pem> --cert <pem> --key <pem> [options]\n"
        "  Acts as an FT900 board running the iotcloud protocol core, on a serial line (frames as in\n"
        "  ft900/firmware/FRAMING.md) or straight on the broker over MQTTS with mutual TLS.\n"
        "  --serial <tty>       the board's end of the serial line\n"
        "  --mqtt <url>         the broker, mqtts://host:port (port 8883 when left out)"
#ifndef IOT_HOST_MQTT
        " [not in this build: no libmosquitto]"
#endif
        "\n"
        "  --device <id>        the device id (MQTTS: the CN of --cert)\n"
        "  --ca <pem>           MQTTS: the platform root CA (rootca.pem from registration)\n"
        "  --cert <pem>         MQTTS: the device certificate\n"
        "  --key <pem>          MQTTS: the device private key\n"
        "  --keepalive <s>      MQTTS: MQTT keepalive, 5..3600 seconds (30)\n"
        "  --retries <n>        MQTTS: give up after n failed connection attempts in a row (never)\n"
        "  --backoff-max <s>    MQTTS: the longest wait between attempts, 1..3600 seconds (30)\n"
        "  --sim-fail <f,...>   make these HAL functions fail (their commands answer INTERNAL):\n"
        "                       gpio_get gpio_set rtc_get rtc_set get_mac get_ip get_subnet\n"
        "                       get_gateway request_reset uart_write\n"
        "  --verbose, -v        log every message\n"
        "Exit status: 0 stopped by SIGINT/SIGTERM/SIGHUP; 1 the line closed, or --retries ran out;\n"
        "2 bad arguments or unusable files; 3 the broker refused this identity.\n",
        out);
}

static int bad_usage(const char *fmt, const char *arg) {
  fputs("ft900-host: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs(" (ft900-host --help shows the options)\n", stderr);
  return 2;
}

/* "gpio_set,rtc_get" -> SIM_FAIL_* bits, or -1 naming the bad entry in *bad. */
static long parse_fail_mask(const char *list, char *bad, size_t bad_cap) {
  static const struct { const char *name; unsigned bit; } names[] = {
    {"gpio_get", SIM_FAIL_GPIO_GET}, {"gpio_set", SIM_FAIL_GPIO_SET},     {"rtc_get", SIM_FAIL_RTC_GET},
    {"rtc_set", SIM_FAIL_RTC_SET},   {"get_mac", SIM_FAIL_GET_MAC},       {"get_ip", SIM_FAIL_GET_IP},
    {"get_subnet", SIM_FAIL_GET_SUBNET}, {"get_gateway", SIM_FAIL_GET_GATEWAY}, {"request_reset", SIM_FAIL_RESET},
    {"uart_write", SIM_FAIL_UART_WRITE},
  };
  unsigned long mask = 0;
  const char *p = list;
  for (;;) {
    size_t n = strcspn(p, ","), k;
    for (k = 0; k < sizeof names / sizeof names[0]; k++)
      if (strlen(names[k].name) == n && strncmp(names[k].name, p, n) == 0) break;
    if (k == sizeof names / sizeof names[0]) {
      snprintf(bad, bad_cap, "%.*s", (int)(n > 64 ? 64 : n), p);
      return -1;
    }
    mask |= names[k].bit;
    if (p[n] == '\0') return (long)mask;
    p += n + 1;
  }
}

#ifdef IOT_HOST_MQTT
/* "5" -> 5 within lo..hi, or -1. */
static long parse_long(const char *text, long lo, long hi) {
  char *end;
  long v;
  errno = 0;
  v = strtol(text, &end, 10);
  if (end == text || *end != '\0' || errno != 0 || v < lo || v > hi) return -1;
  return v;
}

/* The file must be readable and hold a PEM block whose BEGIN line ends with `label`-----.
 * libmosquitto would only say "invalid function arguments". Returns 0 or 2. */
static int check_pem(const char *flag, const char *path, const char *label, const char *what) {
  static char text[65536];
  char marker[64];
  size_t n;
  FILE *f = fopen(path, "r");
  if (!f) {
    host_log("cannot read %s %s: %s", flag, path, strerror(errno));
    return 2;
  }
  n = fread(text, 1, sizeof text - 1, f);
  if (ferror(f)) {
    host_log("cannot read %s %s: %s", flag, path, strerror(errno));
    fclose(f);
    return 2;
  }
  fclose(f);
  text[n] = '\0';
  snprintf(marker, sizeof marker, "%s-----", label);
  if (!strstr(text, "-----BEGIN ") || !strstr(text, marker)) {
    host_log("%s %s is not %s in PEM form (no \"-----BEGIN ...%s\" line)", flag, path, what, marker);
    return 2;
  }
  if (strstr(text, "BEGIN ENCRYPTED PRIVATE KEY") || strstr(text, "Proc-Type: 4,ENCRYPTED")) {
    host_log("%s %s is encrypted; a device key must be stored unencrypted", flag, path);
    return 2;
  }
  return 0;
}
#endif

int main(int argc, char **argv) {
  static board_t board;
  const char *serial = NULL, *mqtt = NULL, *device = NULL, *ca = NULL, *cert = NULL, *key = NULL;
  const char *keepalive = NULL, *retries = NULL, *backoff_max = NULL, *sim_fail = NULL;
  long fail_mask = 0;
  struct sigaction sa;
  int i;

  for (i = 1; i < argc; i++) {
    static const char *const valued[] = {"--serial", "--mqtt", "--device", "--ca", "--cert", "--key",
                                         "--keepalive", "--retries", "--backoff-max", "--sim-fail"};
    const char **slots[] = {&serial, &mqtt, &device, &ca, &cert, &key, &keepalive, &retries, &backoff_max, &sim_fail};
    size_t k;
    if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
      host_verbose = 1;
      continue;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    }
    for (k = 0; k < sizeof valued / sizeof valued[0]; k++)
      if (strcmp(argv[i], valued[k]) == 0) break;
    if (k == sizeof valued / sizeof valued[0]) return bad_usage("unknown option \"%s\"", argv[i]);
    if (i + 1 >= argc) return bad_usage("%s needs a value", argv[i]);
    if (*slots[k]) return bad_usage("%s given twice", argv[i]);
    *slots[k] = argv[++i];
  }
  if (!serial == !mqtt) return bad_usage("%s", serial ? "give --serial or --mqtt, not both" : "give --serial <tty> or --mqtt <url>");
  if (!device) return bad_usage("%s", "--device <id> is required");
  if (!iot_valid_device_id(device)) {
    host_log("invalid device id \"%s\": use 1-64 letters, digits, '_' or '-', starting with a letter or digit", device);
    return 2;
  }
  if (serial && (ca || cert || key || keepalive || retries || backoff_max))
    return bad_usage("%s", "--ca, --cert, --key, --keepalive, --retries and --backoff-max go with --mqtt, not --serial");
  if (sim_fail) {
    char bad[80];
    fail_mask = parse_fail_mask(sim_fail, bad, sizeof bad);
    if (fail_mask < 0) return bad_usage("--sim-fail: unknown HAL function \"%s\"", bad);
  }

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: a signal interrupts a blocking connect */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  board_power_on(&board, device);
  board.sim.fail_mask = (unsigned)fail_mask;
  if (serial) return run_serial(serial, &board);

#ifdef IOT_HOST_MQTT
  {
    static mqtt_options_t o;
    char err[512];
    long v;
    if (mqtt_parse_url(mqtt, &o, err, sizeof err) != 0) return bad_usage("%s", err);
    if (!ca || !cert || !key) return bad_usage("%s", "--mqtt needs --ca <rootca.pem>, --cert <device cert> and --key <device key>");
    o.ca = ca;
    o.cert = cert;
    o.key = key;
    o.keepalive = 30;
    o.retries = -1;
    o.backoff_max = 30;
    if (keepalive) {
      if ((v = parse_long(keepalive, 5, 3600)) < 0) return bad_usage("--keepalive %s: expected 5..3600 seconds", keepalive);
      o.keepalive = (int)v;
    }
    if (retries) {
      if ((v = parse_long(retries, 0, 1000000)) < 0) return bad_usage("--retries %s: expected a count, 0..1000000", retries);
      o.retries = v;
    }
    if (backoff_max) {
      if ((v = parse_long(backoff_max, 1, 3600)) < 0) return bad_usage("--backoff-max %s: expected 1..3600 seconds", backoff_max);
      o.backoff_max = (unsigned)v;
    }
    if (check_pem("--ca", ca, "CERTIFICATE", "a certificate") || check_pem("--cert", cert, "CERTIFICATE", "a certificate") ||
        check_pem("--key", key, "PRIVATE KEY", "a private key"))
      return 2;
    return run_mqtts(&o, &board);
  }
#else
  host_log("this ft900-host was built without libmosquitto, so it has no MQTTS mode: install libmosquitto-dev "
           "(scripts/setup-system.sh does) and run make again");
  return 2;
#endif
}
