#!/usr/bin/env python3
"""An iotcloud device over MQTT (paho-mqtt 1.6, Debian 12's python3-paho-mqtt; 2.x works too).

It connects with mutual TLS using the certificate from device registration (client id = device id =
certificate CN), subscribes `<id>/#` at QoS 1, hands every request to the simulated board in
board.py and publishes the board's answer on `server/<id>/<command>` at QoS 1. reset_device is
answered `restarting`; once the broker has acknowledged that answer the device disconnects, resets
its board and connects again. A lost connection is retried with backoff, with a clean session each
time, as the original firmware does.

    python3 mqtt_device.py --device DEVICE_ID --dir DIR --host HOST --port 8883

DIR is where `client.py register --out DIR` wrote rootca.pem, <id>_cert.pem and <id>_pkey.pem.
`--plain` talks plain MQTT (no TLS, no login) to a broker on this machine, for a local Mosquitto.
"""

from __future__ import annotations

import logging
import socket
import sys
import time
from typing import Any, Optional

try:
    import paho.mqtt.client as mqtt
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("mqtt_device.py needs paho-mqtt: apt-get install python3-paho-mqtt (or pip install paho-mqtt)")

from board import Backoff, Board, DeviceSettings, device_arguments, settings_from, stop_on_signals

log = logging.getLogger("iotcloud.mqtt_device")

TLS_PORT, PLAIN_PORT = 8883, 1883
KEEPALIVE_SECONDS = 30
# How long the network loop waits in select() at most: also how quickly a stop signal is noticed.
LOOP_SECONDS = 0.2
# A clean DISCONNECT gets this long before the socket is just closed.
DISCONNECT_GRACE_SECONDS = 2.0


def new_client(device_id: str) -> mqtt.Client:
    """An MQTT 3.1.1 client with paho's own reconnection off: the device loop below reconnects."""
    options: dict = dict(client_id=device_id, clean_session=True, protocol=mqtt.MQTTv311, reconnect_on_failure=False)
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x: keep the 1.x callback signatures
        options["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION1
    return mqtt.Client(**options)


class MqttDevice:
    def __init__(self, settings: DeviceSettings) -> None:
        self.settings = settings
        self.device_id = settings.device_id
        self.board = Board(settings.device_id, separator="/")
        self.stop = stop_on_signals()
        self.backoff = Backoff(settings.max_backoff)
        self.client = new_client(settings.device_id)
        if settings.tls is not None:
            self.client.tls_set_context(settings.tls)
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = self.on_subscribe
        self.client.on_message = self.on_message
        self.client.on_publish = self.on_publish
        self.client.on_disconnect = self.on_disconnect
        self.subscribe_mid: Optional[int] = None
        self.reset_mid: Optional[int] = None
        self.restart = False

    # --- one connection ------------------------------------------------------------------------

    def on_connect(self, client: mqtt.Client, _userdata: Any, _flags: dict, rc: int) -> None:
        if rc != 0:
            log.error("the broker refused the connection: %s (is the device registered, and the certificate its own?)", mqtt.connack_string(rc))
            return
        sock = client.socket()
        if sock is not None:
            # Answers are tiny: without this, Nagle's algorithm holds each back ~40 ms for an ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.backoff.reset()
        topic = f"{self.device_id}/#"
        _, self.subscribe_mid = client.subscribe(topic, qos=1)
        log.info("connected to %s:%d as %s; subscribing %s", self.settings.host, self.settings.port, self.device_id, topic)

    def on_subscribe(self, client: mqtt.Client, _userdata: Any, mid: int, granted_qos: Any) -> None:
        if mid != self.subscribe_mid:
            return
        if 128 in tuple(granted_qos):
            log.error("the broker refused the subscription %s/#; disconnecting", self.device_id)
            client.disconnect()
            return
        log.info("ready: listening for requests on %s/#", self.device_id)

    def on_message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:  # brokers refuse such topics; never crash on one anyway
            log.warning("ignored a request whose topic is not UTF-8")
            return
        log.debug("request %s %r", topic, message.payload[:200])
        answer = self.board.handle(topic, message.payload)  # never raises
        if answer is None:
            return
        try:
            info = client.publish(answer.topic, answer.payload, qos=1)
        except (ValueError, OSError) as error:
            log.error("could not publish the answer on %s: %s", answer.topic, error)
            return
        log.debug("answer %s %r", answer.topic, answer.payload[:200])
        if answer.restart:
            log.info("reset_device: answered restarting; restarting once the broker has the answer")
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self.reset_mid = info.mid  # on_publish (PUBACK) disconnects
            else:
                self.begin_restart(client)

    def on_publish(self, client: mqtt.Client, _userdata: Any, mid: int) -> None:
        if mid == self.reset_mid:
            self.begin_restart(client)

    def begin_restart(self, client: mqtt.Client) -> None:
        self.reset_mid = None
        self.restart = True
        client.disconnect()

    def on_disconnect(self, _client: mqtt.Client, _userdata: Any, rc: int) -> None:
        if rc == 0:
            log.info("disconnected")
        else:
            log.warning("connection lost: %s", mqtt.error_string(rc))

    # --- the device loop -----------------------------------------------------------------------

    def run(self) -> int:
        host, port = self.settings.host, self.settings.port
        log.info("device %s (MAC %s) connecting to %s:%d over %s", self.device_id, self.board.mac, host, port, "TLS" if self.settings.tls else "plain TCP")
        while not self.stop.is_set():
            self.restart = False
            try:
                self.client.connect(host, port, keepalive=KEEPALIVE_SECONDS)
            except (OSError, ValueError) as error:  # refused, unreachable, TLS handshake failed
                self.wait_before_retry(f"cannot connect to {host}:{port}: {error}")
                continue
            self.serve()
            if self.restart or self.board.status == "restarting":
                # The board restarts: power-on state, a short boot, then connect again. (Also when
                # the connection died before the reset answer was acknowledged: it was restarting.)
                self.board.reboot()
                self.stop.wait(self.settings.boot_seconds)
            elif not self.stop.is_set():
                self.wait_before_retry("disconnected")
        log.info("stopped")
        return 0

    def serve(self) -> None:
        """Run the network loop until the connection ends (lost, restart, or a stop signal)."""
        stopping_since: Optional[float] = None
        while True:
            rc = self.client.loop(timeout=LOOP_SECONDS)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                return
            if self.stop.is_set():
                if stopping_since is None:
                    stopping_since = time.monotonic()
                    self.client.disconnect()
                elif time.monotonic() - stopping_since > DISCONNECT_GRACE_SECONDS:
                    return  # the broker is not answering; exiting closes the socket

    def wait_before_retry(self, why: str) -> None:
        delay = self.backoff.next_delay()
        log.warning("%s; retrying in %.1f s", why, delay)
        self.stop.wait(delay)


def main(argv: Optional[list] = None) -> int:
    parser = device_arguments("An iotcloud device over MQTT: a simulated FT900 board (docs/protocol.md).", "MQTT", TLS_PORT, PLAIN_PORT)
    args = parser.parse_args(argv)
    settings = settings_from(parser, args, TLS_PORT, PLAIN_PORT)
    return MqttDevice(settings).run()


if __name__ == "__main__":
    sys.exit(main())
