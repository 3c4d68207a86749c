/*
 * Who the board is: its device id and what is derived from it. Board-independent, shared by
 * ft900-host and the MCU images.
 *
 * A board keeps its identity in a small record (provisioned into flash at the factory, or by the
 * emulator launcher with QEMU's -device loader): a magic word, then the device id, NUL-terminated.
 */
#ifndef IOT_APP_IDENTITY_H
#define IOT_APP_IDENTITY_H

#include <stdint.h>

#include "iotcloud_protocol.h"

#define IOT_IDENTITY_MAGIC 0x49445431u /* "IDT1", little-endian in the record */

typedef struct {
  uint32_t magic;
  char device_id[IOT_MAX_DEVICE_ID_LEN + 1];
} iot_identity_t;

/* The record's device id when the record is valid (magic, NUL-terminated, a valid device id),
 * otherwise `fallback`. */
const char *iot_identity_device_id(const iot_identity_t *record, const char *fallback);

/* A locally administered unicast MAC derived from the device id (FNV-1a): the same id always
 * gets the same MAC, and it cannot collide with a vendor's address. */
void iot_mac_from_device_id(const char *device_id, uint8_t mac[6]);

#endif /* IOT_APP_IDENTITY_H */
