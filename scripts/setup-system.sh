#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing (root only; others are told
# what to install). Safe to run again: it does nothing when everything is present.
set -euo pipefail
need=()
command -v socat >/dev/null || need+=(socat)
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
[ -f /usr/include/mosquitto.h ] || need+=(libmosquitto-dev)  # ft900-host --mqtt (MQTTS mode)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)  # iotcloud broker (RabbitMQ engine)
command -v chromium >/dev/null || need+=(chromium)  # the harness HTML report test opens it headless
[ -x /usr/bin/python3 ] || need+=(python3)  # examples/python
dpkg -s python3-paho-mqtt >/dev/null 2>&1 || need+=(python3-paho-mqtt)  # examples/python/mqtt_device.py
dpkg -s python3-pika >/dev/null 2>&1 || need+=(python3-pika)  # examples/python/amqp_device.py
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)  # plain MQTT broker for the Python example test
dpkg -s libjemalloc2 >/dev/null 2>&1 || need+=(libjemalloc2)  # iotcloud up and iotcloud fleet run under jemalloc (cli/process/runtime.ts)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "iotcloud: missing Debian packages: ${need[*]}. Install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "iotcloud: installing ${need[*]} with apt-get"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
