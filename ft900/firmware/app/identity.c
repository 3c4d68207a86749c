/* Board identity: see identity.h. */
#include "identity.h"

#include <string.h>

#include "protocol.h"

const char *iot_identity_device_id(const iot_identity_t *record, const char *fallback) {
  if (!record || record->magic != IOT_IDENTITY_MAGIC) return fallback;
  if (!memchr(record->device_id, '\0', sizeof record->device_id)) return fallback;
  return iot_valid_device_id(record->device_id) ? record->device_id : fallback;
}

void iot_mac_from_device_id(const char *device_id, uint8_t mac[6]) {
  uint32_t h = 2166136261u;
  const unsigned char *p;
  for (p = (const unsigned char *)device_id; *p; p++) h = (h ^ *p) * 16777619u;
  mac[0] = 0x02; /* locally administered, unicast */
  mac[1] = 0x00;
  mac[2] = (uint8_t)(h >> 24);
  mac[3] = (uint8_t)(h >> 16);
  mac[4] = (uint8_t)(h >> 8);
  mac[5] = (uint8_t)h;
}
