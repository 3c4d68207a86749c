/*
 * The MQTTS transport of ft900-host: the board talks straight to the broker, as an FT900 with
 * lwIP's MQTT client and mbedTLS would (README.md, "MQTT over lwIP"). Built only when
 * libmosquitto is present (IOT_HOST_MQTT); the protocol core never sees it.
 */
#ifndef IOT_HOST_MQTT_H
#define IOT_HOST_MQTT_H

#include "board.h"

#define MQTT_HOST_MAX 255

typedef struct {
  char host[MQTT_HOST_MAX + 1]; /* from the URL, brackets of an IPv6 literal removed */
  int port;
  char where[MQTT_HOST_MAX + 9]; /* "host:port" or "[v6]:port", for messages */
  const char *url;              /* as given, for messages */
  const char *ca, *cert, *key;  /* PEM files: platform root CA, device certificate, device key */
  int keepalive;                /* seconds */
  long retries;                 /* give up after this many failed attempts in a row; < 0: never */
  unsigned backoff_max;         /* seconds, the longest wait between two attempts */
} mqtt_options_t;

/* Exit statuses of run_mqtts (and of ft900-host). */
#define MQTT_EXIT_STOPPED 0  /* stopped by a signal */
#define MQTT_EXIT_GAVE_UP 1  /* --retries attempts in a row failed, or a system error */
#define MQTT_EXIT_CONFIG 2   /* the TLS files cannot be used */
#define MQTT_EXIT_REFUSED 3  /* the broker refused this identity (CONNACK or SUBACK refusal) */

/* Parse mqtts://host[:port][/] into o->host / o->port. Returns 0, or -1 with a message in err. */
int mqtt_parse_url(const char *url, mqtt_options_t *o, char *err, size_t err_cap);

/* Connect, subscribe <id>/# at QoS 1, answer every message through board_answer() at QoS 1,
 * reconnect with exponential backoff, restart the board on reset_device. Runs until
 * host_stop_signal is set (returns MQTT_EXIT_STOPPED) or a MQTT_EXIT_* failure. */
int run_mqtts(const mqtt_options_t *o, board_t *b);

#endif /* IOT_HOST_MQTT_H */
