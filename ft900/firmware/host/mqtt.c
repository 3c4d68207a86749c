/*
 * ft900-host --mqtt: the board on MQTTS, with libmosquitto standing in for lwIP's MQTT client and
 * mbedTLS on a real FT900 (README.md, "MQTT over lwIP").
 *
 * One connection is one "session": a fresh libmosquitto client with the device id as client id,
 * mutual TLS with the device certificate, a clean session, MQTT 3.1.1. Once the broker accepts
 * it, the session subscribes to <id>/# at QoS 1 and hands every message to board_answer(), the
 * same protocol core and simulated board as the serial mode, then publishes the answer at QoS 1.
 *
 *  - The broker goes away (or never answers): wait, then connect again; the wait doubles after
 *    every failed attempt (1 s, 2 s, 4 s ... up to --backoff-max) and starts over once connected.
 *  - reset_device: the answer is published, and once the broker has acknowledged it (PUBACK) the
 *    session ends with DISCONNECT, the board goes back to power-on state and connects again at
 *    once, as a board does when it reboots.
 *  - The broker refuses the identity (CONNACK "not authorised", a refused subscription): that
 *    does not heal by retrying, so the program says why and exits (status 3).
 *  - SIGINT, SIGTERM, SIGHUP: DISCONNECT, exit 0.
 *
 * The event loop is ours (pselect on the client's socket, then mosquitto_loop_read/write/misc, as
 * libmosquitto's own mosquitto_loop does): signals are delivered only inside pselect, so a stop
 * request is never lost between checking for it and blocking.
 */
#define _XOPEN_SOURCE 700

#include "mqtt.h"

#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

/* How long a connection attempt may take from TCP connect to SUBACK. */
#define CONNECT_TIMEOUT_MS 10000
/* How long to wait for the PUBACK of a reset_device answer before restarting anyway. */
#define RESET_PUBACK_TIMEOUT_MS 5000
/* The longest a pselect may sleep: libmosquitto's keepalive needs mosquitto_loop_misc calls. */
#define LOOP_TICK_MS 1000

typedef enum {
  SESSION_STOPPED, /* a signal: the program ends */
  SESSION_RESET,   /* reset_device: restart the board and connect again at once */
  SESSION_LOST,    /* was connected, the connection went away: retry after the first backoff */
  SESSION_FAILED,  /* never got as far as the subscription: retry with backoff */
  SESSION_CONFIG,  /* the TLS files cannot be used: exit */
  SESSION_REFUSED  /* the broker refused the identity: exit */
} session_end_t;

typedef struct {
  const mqtt_options_t *opt;
  board_t *board;
  struct mosquitto *mosq;
  int connack;         /* CONNACK return code of this session, -1 before it arrives */
  int ready;           /* the subscription was granted */
  int sub_refused;
  int reset_mid;       /* mid of the reset_device answer waiting for its PUBACK, or -1 */
  int reset_acked;
  long long reset_deadline;
  unsigned long answers;
  char errors[512];    /* libmosquitto's error log lines (OpenSSL's reasons) of this session */
} session_t;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mqtt_parse_url(const char *url, mqtt_options_t *o, char *err, size_t err_cap) {
  static const char scheme[] = "mqtts://";
  const char *host = url + sizeof scheme - 1, *end, *port_text = NULL;
  size_t host_len;

  if (strncmp(url, scheme, sizeof scheme - 1) != 0) {
    if (strncmp(url, "mqtt://", 7) == 0)
      snprintf(err, err_cap, "--mqtt %s: devices connect with TLS only; use mqtts://host:port", url);
    else
      snprintf(err, err_cap, "--mqtt %s: expected mqtts://host[:port]", url);
    return -1;
  }
  if (*host == '[') { /* [IPv6 literal] */
    end = strchr(host, ']');
    if (!end) {
      snprintf(err, err_cap, "--mqtt %s: missing ']' after the IPv6 address", url);
      return -1;
    }
    host++;
    host_len = (size_t)(end - host);
    end++;
  } else {
    end = host + strcspn(host, ":/");
    host_len = (size_t)(end - host);
  }
  if (host_len == 0 || host_len > MQTT_HOST_MAX) {
    snprintf(err, err_cap, "--mqtt %s: %s host name", url, host_len == 0 ? "missing" : "overlong");
    return -1;
  }
  memcpy(o->host, host, host_len);
  o->host[host_len] = '\0';
  o->port = IOT_MQTTS_PORT;
  if (*end == ':') {
    char *stop;
    long port;
    port_text = end + 1;
    errno = 0;
    port = strtol(port_text, &stop, 10);
    if (stop == port_text || errno != 0 || port < 1 || port > 65535 || (*stop != '\0' && strcmp(stop, "/") != 0)) {
      snprintf(err, err_cap, "--mqtt %s: the port must be 1..65535", url);
      return -1;
    }
    o->port = (int)port;
  } else if (*end != '\0' && strcmp(end, "/") != 0) {
    snprintf(err, err_cap, "--mqtt %s: expected mqtts://host[:port], nothing after the port", url);
    return -1;
  }
  snprintf(o->where, sizeof o->where, strchr(o->host, ':') ? "[%s]:%d" : "%s:%d", o->host, o->port);
  o->url = url;
  return 0;
}

/* ---------------------------------------------------------------------------------------------
 * libmosquitto callbacks: they run inside mosquitto_loop_read/write, on this thread. */

static void on_log(struct mosquitto *mosq, void *ud, int level, const char *text) {
  session_t *s = (session_t *)ud;
  size_t used, n;
  (void)mosq;
  if (host_verbose && level != MOSQ_LOG_DEBUG) host_log("mosquitto: %s", text);
  if (level != MOSQ_LOG_ERR) return;
  used = strlen(s->errors);
  if (strstr(s->errors, text)) return; /* libmosquitto prints OpenSSL's queue twice */
  n = strlen(text);
  if (used > 0 && used + 2 < sizeof s->errors) {
    memcpy(s->errors + used, "; ", 2);
    used += 2;
  }
  if (n > sizeof s->errors - 1 - used) n = sizeof s->errors - 1 - used;
  memcpy(s->errors + used, text, n);
  s->errors[used + n] = '\0';
}

static void on_connect(struct mosquitto *mosq, void *ud, int rc) {
  session_t *s = (session_t *)ud;
  char topic[IOT_MAX_DEVICE_ID_LEN + 3];
  int sub_rc;
  s->connack = rc;
  if (rc != 0) return; /* reported when the loop returns MOSQ_ERR_CONN_REFUSED */
  host_log("connected to %s as %s", s->opt->where, s->board->sim.device_id);
  snprintf(topic, sizeof topic, IOT_MQTT_SUBSCRIBE_FMT, s->board->sim.device_id);
  sub_rc = mosquitto_subscribe(mosq, NULL, topic, 1);
  if (sub_rc != MOSQ_ERR_SUCCESS) host_log("cannot subscribe to %s: %s", topic, mosquitto_strerror(sub_rc));
}

static void on_subscribe(struct mosquitto *mosq, void *ud, int mid, int count, const int *granted) {
  session_t *s = (session_t *)ud;
  (void)mosq;
  (void)mid;
  if (count < 1 || granted[0] > 2) { /* 0x80: refused */
    s->sub_refused = 1;
    return;
  }
  s->ready = 1;
  host_log("subscribed to %s/# (QoS %d); ready", s->board->sim.device_id, granted[0]);
}

static void on_message(struct mosquitto *mosq, void *ud, const struct mosquitto_message *msg) {
  session_t *s = (session_t *)ud;
  board_t *b = s->board;
  size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
  int mid = 0, rc;

  if (host_verbose)
    host_log("REQUEST %s %.*s%s", msg->topic, (int)(len > 200 ? 200 : len), len ? (const char *)msg->payload : "",
             len > 200 ? "..." : "");
  if (!board_answer(b, msg->topic, len ? (const char *)msg->payload : NULL, len)) {
    if (host_verbose) host_log("no answer to %s", msg->topic);
    return;
  }
  if (host_verbose) host_log("RESPONSE %s %s", b->answer_topic, b->answer_payload);
  rc = mosquitto_publish(mosq, &mid, b->answer_topic, (int)strlen(b->answer_payload), b->answer_payload, 1, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    host_log("cannot publish the answer on %s: %s", b->answer_topic, mosquitto_strerror(rc));
    return;
  }
  s->answers++;
  if (b->sim.reset_requested && s->reset_mid < 0) {
    /* Restart once the broker has the answer (its PUBACK), as the board would. */
    s->reset_mid = mid;
    s->reset_deadline = now_ms() + RESET_PUBACK_TIMEOUT_MS;
  }
}

static void on_publish(struct mosquitto *mosq, void *ud, int mid) {
  session_t *s = (session_t *)ud;
  (void)mosq;
  if (s->reset_mid >= 0 && mid == s->reset_mid) s->reset_acked = 1;
}

/* ---------------------------------------------------------------------------------------------*/

#define HANGUP_HINT "most likely it does not accept --cert (issued by another CA?)"

/* What the OpenSSL reasons of a failed handshake most likely mean. */
static const char *tls_hint(const char *errors) {
  if (strstr(errors, "certificate verify failed"))
    return "the broker's certificate is not trusted: is --ca the root CA of this server, and is this host name "
           "in its certificate?";
  if (strstr(errors, "unknown ca") || strstr(errors, "bad certificate") || strstr(errors, "certificate required") ||
      strstr(errors, "certificate unknown") || strstr(errors, "decrypt error"))
    return "the broker refused the device certificate: was --cert issued by this server's CA, with --key its key?";
  if (strstr(errors, "unexpected eof")) return "the broker hung up during the handshake: " HANGUP_HINT;
  if (strstr(errors, "key values mismatch")) return "--key is not the private key of --cert";
  if (strstr(errors, "wrong version number") || strstr(errors, "packet length too long"))
    return "the port does not speak TLS: is it the MQTTS port?";
  return NULL;
}

/* Why the connection ended, for the log: libmosquitto's reason (rc, and err for
 * MOSQ_ERR_ERRNO) plus OpenSSL's. */
static void report_failure(const session_t *s, const char *what, int rc, int err) {
  const char *hint = s->errors[0] ? tls_hint(s->errors) : NULL;
  const char *reason = rc == MOSQ_ERR_ERRNO ? strerror(err) : mosquitto_strerror(rc);
  if (rc == MOSQ_ERR_TLS || (s->errors[0] && s->connack < 0))
    host_log("%s: TLS failure: %s%s%s", what, s->errors[0] ? s->errors : reason, hint ? " -- " : "", hint ? hint : "");
  else if (s->connack < 0 && (rc == MOSQ_ERR_CONN_LOST || (rc == MOSQ_ERR_ERRNO && (err == EPIPE || err == ECONNRESET))))
    /* TLS 1.3: the broker checks the client certificate after the client has finished its
     * handshake, so a refusal shows up as the connection closing. */
    host_log("%s: the broker closed the connection before its CONNACK (%s) -- %s", what, reason, HANGUP_HINT);
  else
    host_log("%s: %s", what, reason);
}

/* The session's end after the connection broke with rc (err: errno at that moment). */
static session_end_t connection_ended(session_t *s, int rc, int err) {
  char what[MQTT_HOST_MAX + 64];
  if (s->connack > 0) {
    host_log("the broker at %s refused device %s: %s (CONNACK %d)", s->opt->where,
             s->board->sim.device_id, mosquitto_connack_string(s->connack), s->connack);
    if (s->connack == 3) return SESSION_FAILED; /* server unavailable: worth retrying */
    host_log("the client id must be the CN of --cert, and the device must be registered: check --device, --cert "
             "and --key");
    return SESSION_REFUSED;
  }
  if (s->reset_mid >= 0) return SESSION_RESET; /* the answer went out; the restart comes anyway */
  if (s->ready) {
    snprintf(what, sizeof what, "connection to %s lost", s->opt->where);
    report_failure(s, what, rc, err);
    return SESSION_LOST;
  }
  snprintf(what, sizeof what, "connection to %s failed", s->opt->where);
  report_failure(s, what, rc, err);
  return SESSION_FAILED;
}

/* Send DISCONNECT and let it reach the socket. */
static void say_goodbye(session_t *s) {
  if (s->connack == 0 && mosquitto_disconnect(s->mosq) == MOSQ_ERR_SUCCESS) {
    int i;
    for (i = 0; i < 10 && mosquitto_want_write(s->mosq); i++)
      if (mosquitto_loop_write(s->mosq, 1) != MOSQ_ERR_SUCCESS) break;
  }
}

static session_end_t run_session(session_t *s, const sigset_t *orig) {
  const mqtt_options_t *o = s->opt;
  long long deadline;
  int rc, err;

  rc = mosquitto_int_option(s->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  /* Small packets (PUBACK, then the answer) must not wait for Nagle and a delayed ACK (40 ms). */
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_int_option(s->mosq, MOSQ_OPT_TCP_NODELAY, 1);
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_set(s->mosq, o->ca, NULL, o->cert, o->key, NULL);
  if (rc != MOSQ_ERR_SUCCESS) {
    host_log("cannot use --ca %s / --cert %s / --key %s: %s", o->ca, o->cert, o->key, mosquitto_strerror(rc));
    return SESSION_CONFIG;
  }

  /* Blocking connect (what libmosquitto asks of a mosquitto_loop caller); a signal ends it. The
   * socket is non-blocking once TCP is up, so the TLS handshake and CONNECT usually go on in the
   * loop below; with a quick broker the handshake may already end (or fail) in here. */
  if (host_verbose) host_log("connecting to %s", o->where);
  sigprocmask(SIG_SETMASK, orig, NULL);
  rc = mosquitto_connect(s->mosq, o->host, o->port, o->keepalive);
  err = errno;
  {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, NULL);
  }
  if (host_stop_signal) return SESSION_STOPPED;
  if (rc != MOSQ_ERR_SUCCESS) {
    char what[MQTT_HOST_MAX + 64];
    /* libmosquitto loads the CA, certificate and key here; it may also get through the whole
     * handshake when the broker answers quickly, so only its "cannot load" errors are ours. */
    if (rc == MOSQ_ERR_TLS && (strstr(s->errors, "Unable to load") || strstr(s->errors, "key values mismatch") ||
                               strstr(s->errors, "Unable to create TLS context"))) {
      const char *hint = tls_hint(s->errors);
      host_log("cannot load the TLS files (--ca %s, --cert %s, --key %s): %s%s%s", o->ca, o->cert, o->key,
               s->errors[0] ? s->errors : "TLS setup failed", hint ? " -- " : "", hint ? hint : "");
      return SESSION_CONFIG;
    }
    snprintf(what, sizeof what, "connection to %s failed", o->where);
    if (rc == MOSQ_ERR_EAI) host_log("%s: cannot resolve the host name", what);
    else report_failure(s, what, rc, err);
    return SESSION_FAILED;
  }

  deadline = now_ms() + CONNECT_TIMEOUT_MS;
  for (;;) {
    fd_set rfds, wfds;
    struct timespec tv;
    long long now = now_ms(), wait_ms = LOOP_TICK_MS;
    int sock = mosquitto_socket(s->mosq), n;

    if (host_stop_signal) {
      say_goodbye(s);
      return SESSION_STOPPED;
    }
    if (s->sub_refused) {
      host_log("the broker refused the subscription to %s/#: check --device", s->board->sim.device_id);
      return SESSION_REFUSED;
    }
    if (s->reset_mid >= 0 && (s->reset_acked || now >= s->reset_deadline)) {
      if (!s->reset_acked) host_log("no PUBACK for the reset_device answer; restarting anyway");
      say_goodbye(s);
      return SESSION_RESET;
    }
    if (!s->ready && now >= deadline) {
      host_log("connection to %s failed: no %s within %d s", o->where,
               s->connack < 0 ? "CONNACK" : "SUBACK", CONNECT_TIMEOUT_MS / 1000);
      return SESSION_FAILED;
    }
    if (sock < 0) return connection_ended(s, MOSQ_ERR_NO_CONN, 0);
    if (!s->ready && deadline - now < wait_ms) wait_ms = deadline - now;
    if (s->reset_mid >= 0 && s->reset_deadline - now < wait_ms) wait_ms = s->reset_deadline - now;
    if (wait_ms < 0) wait_ms = 0;
    tv.tv_sec = (time_t)(wait_ms / 1000);
    tv.tv_nsec = (long)(wait_ms % 1000) * 1000000L;

    FD_ZERO(&rfds);
    FD_ZERO(&wfds);
    FD_SET(sock, &rfds);
    if (mosquitto_want_write(s->mosq)) FD_SET(sock, &wfds);
    n = pselect(sock + 1, &rfds, &wfds, NULL, &tv, orig);
    if (n < 0) {
      if (errno == EINTR) continue;
      host_log("pselect: %s", strerror(errno));
      return SESSION_FAILED;
    }
    if (n > 0 && FD_ISSET(sock, &rfds)) {
      rc = mosquitto_loop_read(s->mosq, 1);
      if (rc != MOSQ_ERR_SUCCESS) return connection_ended(s, rc, errno);
    }
    if (n > 0 && FD_ISSET(sock, &wfds) && mosquitto_socket(s->mosq) >= 0) {
      rc = mosquitto_loop_write(s->mosq, 1);
      if (rc != MOSQ_ERR_SUCCESS) return connection_ended(s, rc, errno);
    }
    /* Answers published from on_message are queued: write them now, not a tick later. */
    if (mosquitto_socket(s->mosq) >= 0 && mosquitto_want_write(s->mosq)) {
      rc = mosquitto_loop_write(s->mosq, 1);
      if (rc != MOSQ_ERR_SUCCESS) return connection_ended(s, rc, errno);
    }
    if (mosquitto_socket(s->mosq) < 0) return connection_ended(s, MOSQ_ERR_CONN_LOST, 0);
    rc = mosquitto_loop_misc(s->mosq);
    if (rc != MOSQ_ERR_SUCCESS) return connection_ended(s, rc, errno);
  }
}

/* Wait ms milliseconds, or until a signal asks to stop. Returns 1 when stopped. */
static int backoff_wait(long long ms, const sigset_t *orig) {
  long long until = now_ms() + ms;
  while (!host_stop_signal) {
    long long left = until - now_ms();
    struct timespec tv;
    if (left <= 0) return 0;
    tv.tv_sec = (time_t)(left / 1000);
    tv.tv_nsec = (long)(left % 1000) * 1000000L;
    pselect(0, NULL, NULL, NULL, &tv, orig);
  }
  return 1;
}

int run_mqtts(const mqtt_options_t *o, board_t *b) {
  static session_t s; /* static, as on the board */
  sigset_t block, orig;
  struct sigaction ign;
  long failures = 0;
  unsigned delay = 1;
  int status = MQTT_EXIT_STOPPED, major, minor, revision;

  /* A broker that drops the TCP connection must not kill us with SIGPIPE from OpenSSL's write. */
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, NULL);

  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, &orig);

  mosquitto_lib_init();
  mosquitto_lib_version(&major, &minor, &revision);
  host_log("device %s on mqtts://%s (libmosquitto %d.%d.%d)", b->sim.device_id, o->where, major, minor,
           revision);

  while (!host_stop_signal) {
    session_end_t end;
    memset(&s, 0, sizeof s);
    s.opt = o;
    s.board = b;
    s.connack = -1;
    s.reset_mid = -1;
    s.mosq = mosquitto_new(b->sim.device_id, true, &s);
    if (!s.mosq) {
      host_log("mosquitto_new: %s", strerror(errno));
      status = MQTT_EXIT_GAVE_UP;
      break;
    }
    mosquitto_log_callback_set(s.mosq, on_log);
    mosquitto_connect_callback_set(s.mosq, on_connect);
    mosquitto_subscribe_callback_set(s.mosq, on_subscribe);
    mosquitto_message_callback_set(s.mosq, on_message);
    mosquitto_publish_callback_set(s.mosq, on_publish);
    end = run_session(&s, &orig);
    mosquitto_destroy(s.mosq);
    s.mosq = NULL;

    if (end == SESSION_STOPPED) break;
    if (end == SESSION_CONFIG) {
      status = MQTT_EXIT_CONFIG;
      break;
    }
    if (end == SESSION_REFUSED) {
      status = MQTT_EXIT_REFUSED;
      break;
    }
    if (end == SESSION_RESET) {
      sim_board_reset(&b->sim);
      host_log("reset #%u: board back to power-on state, reconnecting", b->sim.resets);
      failures = 0;
      delay = 1;
      continue;
    }
    if (end == SESSION_LOST) {
      failures = 0;
      delay = 1;
    } else if (o->retries >= 0 && ++failures > o->retries) {
      host_log("giving up after %ld failed attempt%s in a row", failures, failures == 1 ? "" : "s");
      status = MQTT_EXIT_GAVE_UP;
      break;
    }
    host_log("reconnecting in %u s", delay);
    if (backoff_wait((long long)delay * 1000, &orig)) break;
    delay = delay >= o->backoff_max / 2 ? o->backoff_max : delay * 2;
  }
  if (host_stop_signal) host_log("stopping on signal %d", (int)host_stop_signal);
  mosquitto_lib_cleanup();
  sigprocmask(SIG_SETMASK, &orig, NULL);
  return status;
}
