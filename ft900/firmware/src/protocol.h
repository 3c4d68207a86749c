/*
 * The device side of the iotcloud protocol (docs/protocol.md): one function that takes a
 * received message and produces the answer, with all validation, for any transport (MQTT on the
 * board, serial frames through a bridge, or a test).
 */
#ifndef IOT_PROTOCOL_CORE_H
#define IOT_PROTOCOL_CORE_H

#include <stddef.h>

#include "hal.h"
#include "iotcloud_protocol.h"

/* Commands and error codes, from the generated X-macro lists. */
#define IOT_X_COMMAND_ENUM(id, wire) id,
typedef enum { IOT_COMMAND_LIST(IOT_X_COMMAND_ENUM) IOT_CMD__COUNT } iot_command_t;
#undef IOT_X_COMMAND_ENUM

#define IOT_X_ERROR_ENUM(id, code, name) id = code,
typedef enum { IOT_ERROR_LIST(IOT_X_ERROR_ENUM) IOT_ERR__NONE = 0 } iot_error_t;
#undef IOT_X_ERROR_ENUM

/* An unknown command is answered on its own topic, so answer topics allow any one-level command
 * of up to this many bytes (longer ones cannot be answered and are dropped). */
#define IOT_MAX_ANSWER_COMMAND_LEN 64
/* Buffer sizes, NUL included, that iot_handle_message can always fill. */
#define IOT_ANSWER_TOPIC_CAP (7 + IOT_MAX_DEVICE_ID_LEN + 1 + IOT_MAX_ANSWER_COMMAND_LEN + 1)
#define IOT_ANSWER_PAYLOAD_CAP (IOT_MAX_PAYLOAD_BYTES + 1)

/* Return values of iot_handle_message. */
#define IOT_ANSWERED 1   /* out_topic / out_payload hold the answer: publish it */
#define IOT_IGNORED 0    /* no answer: another device's topic, or a topic that cannot be answered */
#define IOT_EINVAL (-1)  /* bad arguments (NULL pointers, device_id not a valid id) */
#define IOT_ENOSPC (-2)  /* the answer does not fit in out_topic_cap / out_cap */

/*
 * Handle one message received on `topic` (NUL-terminated) with `len` payload bytes (need not be
 * NUL-terminated). `payload` may be NULL when len is 0, and when len > IOT_MAX_PAYLOAD_BYTES: an
 * oversized message is answered PAYLOAD_TOO_LARGE unread, so a transport that learns the length
 * first (lwIP's MQTT client does) can drop the bytes. `device_id` is this device's id.
 *
 * - Topics of other devices are ignored (IOT_IGNORED).
 * - `<device_id>/<command>`: validated exactly as docs/protocol.md says; the answer (the result or
 *   an error object, with the request's cid when it could be read) is written as a NUL-terminated
 *   topic `server/<device_id>/<command>` and NUL-terminated JSON, and IOT_ANSWERED is returned.
 * - `<device_id>/<a>/.../<command>` (extra levels): INVALID_TOPIC, answered on the last level.
 * - A topic whose last level is not [A-Za-z0-9_-]{1,64} is ignored: no valid topic can answer it.
 *
 * reset_device calls hal->request_reset and answers `restarting`; the caller must send the
 * answer before restarting. Reentrant: no static state. Uses roughly 1 KB of stack.
 */
int iot_handle_message(const iot_hal_t *hal, const char *device_id, const char *topic, const char *payload,
                       size_t len, char *out_topic, size_t out_topic_cap, char *out_payload, size_t out_cap);

/* Wire name of a command ("get_gpio"), or NULL. */
const char *iot_command_name(iot_command_t command);
/* Error name ("INVALID_PARAMS") of a code, or NULL. */
const char *iot_error_name(int code);
/* 1 when `id` matches ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$. */
int iot_valid_device_id(const char *id);

#endif /* IOT_PROTOCOL_CORE_H */
