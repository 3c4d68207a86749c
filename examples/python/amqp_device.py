#!/usr/bin/env python3
"""An iotcloud device over AMQP 0-9-1 (pika 1.x, Debian 12's python3-pika), for RabbitMQ.

It logs in with its device certificate (mutual TLS, SASL EXTERNAL: the certificate CN is the user),
consumes the queue `mqtt-subscription-<id>qos1` bound to `amq.topic` with `<id>.#` -- the queue
RabbitMQ's MQTT plugin makes for an MQTT device of the same id, so MQTT and AMQP devices are
interchangeable -- hands every request to the simulated board in board.py, and publishes the
board's answer to `amq.topic` with routing key `server.<id>.<command>` (publisher confirms on).
reset_device is answered `restarting`; once the broker has confirmed that answer the device closes
its connection, resets its board and connects again. A lost connection is retried with backoff.

    python3 amqp_device.py --device DEVICE_ID --dir DIR --host HOST --port 5671

DIR is where `client.py register --out DIR` wrote rootca.pem, <id>_cert.pem and <id>_pkey.pem.
`--plain` talks plain AMQP with the guest login to a RabbitMQ on this machine, for local testing.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional

try:
    import pika
    import pika.exceptions
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("amqp_device.py needs pika: apt-get install python3-pika (or pip install pika)")

from board import Backoff, Board, DeviceSettings, device_arguments, settings_from, stop_on_signals

log = logging.getLogger("iotcloud.amqp_device")

TLS_PORT, PLAIN_PORT = 5671, 5672
EXCHANGE = "amq.topic"
HEARTBEAT_SECONDS = 30
PREFETCH = 64
# How long one round of the I/O loop runs at most: also how quickly a stop signal is noticed.
LOOP_SECONDS = 0.2


def device_queue(device_id: str) -> str:
    return f"mqtt-subscription-{device_id}qos1"


class AmqpDevice:
    def __init__(self, settings: DeviceSettings) -> None:
        self.settings = settings
        self.device_id = settings.device_id
        self.board = Board(settings.device_id, separator=".")
        self.stop = stop_on_signals()
        self.backoff = Backoff(settings.max_backoff)
        self.restart = False

    def parameters(self) -> pika.ConnectionParameters:
        host, port = self.settings.host, self.settings.port
        common: dict = dict(
            host=host,
            port=port,
            virtual_host="/",
            heartbeat=HEARTBEAT_SECONDS,
            connection_attempts=1,
            socket_timeout=10,
            blocked_connection_timeout=60,
            client_properties={"connection_name": f"iotcloud device {self.device_id}"},
        )
        if self.settings.tls is None:
            return pika.ConnectionParameters(credentials=pika.PlainCredentials("guest", "guest"), **common)
        return pika.ConnectionParameters(
            credentials=pika.credentials.ExternalCredentials(),  # the certificate CN is the user
            ssl_options=pika.SSLOptions(self.settings.tls, server_hostname=host),
            **common,
        )

    # --- the device loop -----------------------------------------------------------------------

    def run(self) -> int:
        host, port = self.settings.host, self.settings.port
        log.info("device %s (MAC %s) connecting to %s:%d over %s", self.device_id, self.board.mac, host, port, "TLS" if self.settings.tls else "plain TCP")
        while not self.stop.is_set():
            if self.board.status == "restarting":
                self.board.reboot()  # the connection died while the reset answer was on its way
            self.restart = False
            connection: Optional[pika.BlockingConnection] = None
            try:
                connection = pika.BlockingConnection(self.parameters())
                self.serve(connection)
            except pika.exceptions.ProbableAuthenticationError as error:
                self.wait_before_retry(f"the broker refused the login ({error}); is the device registered, and the certificate its own?")
                continue
            except (pika.exceptions.AMQPError, OSError) as error:
                self.wait_before_retry(f"connection to {host}:{port} failed: {type(error).__name__}: {error}")
                continue
            finally:
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except (pika.exceptions.AMQPError, OSError):
                        pass
            if self.restart:
                # The board restarts: power-on state, a short boot, then connect again.
                self.board.reboot()
                self.stop.wait(self.settings.boot_seconds)
        log.info("stopped")
        return 0

    def serve(self, connection: pika.BlockingConnection) -> None:
        """Declare, bind and consume; run until a stop signal or a restart. Raises when the connection fails."""
        queue = device_queue(self.device_id)
        channel = connection.channel()
        channel.confirm_delivery()
        self.ensure_queue(connection, channel, queue)
        channel.queue_bind(queue, EXCHANGE, routing_key=f"{self.device_id}.#")
        channel.basic_qos(prefetch_count=PREFETCH)
        channel.basic_consume(queue, self.on_message, auto_ack=False)
        self.backoff.reset()
        log.info("ready: consuming %s (bound to %s with %s.#)", queue, EXCHANGE, self.device_id)
        while not self.stop.is_set() and not self.restart:
            connection.process_data_events(time_limit=LOOP_SECONDS)
        if self.restart:
            log.info("reset_device: answer confirmed; closing the connection to restart")

    @staticmethod
    def ensure_queue(connection: pika.BlockingConnection, channel: Any, queue: str) -> None:
        """Use the queue as it is when it exists (an MQTT session may have made it with its own
        arguments, and redeclaring with others fails); else declare it durable, so requests wait for
        the device across a reset. A failed passive check closes its channel: use a throwaway one."""
        probe = connection.channel()
        try:
            probe.queue_declare(queue, passive=True)
        except pika.exceptions.ChannelClosedByBroker as error:
            if error.reply_code != 404:
                raise
            channel.queue_declare(queue, durable=True, auto_delete=False)
            return
        probe.close()

    def on_message(self, channel: Any, method: Any, _properties: Any, body: bytes) -> None:
        log.debug("request %s %r", method.routing_key, body[:200])
        answer = self.board.handle(method.routing_key, body)
        if answer is not None:
            # With confirms on, this returns once the broker has the answer (raises if it refused it).
            channel.basic_publish(EXCHANGE, answer.topic, answer.payload, pika.BasicProperties(content_type="application/json"))
            log.debug("answer %s %r", answer.topic, answer.payload[:200])
        channel.basic_ack(method.delivery_tag)  # handed over: from here on the device owns it
        if answer is not None and answer.restart:
            self.restart = True

    def wait_before_retry(self, why: str) -> None:
        delay = self.backoff.next_delay()
        log.warning("%s; retrying in %.1f s", why, delay)
        self.stop.wait(delay)


def main(argv: Optional[list] = None) -> int:
    parser = device_arguments("An iotcloud device over AMQP 0-9-1 (RabbitMQ): a simulated FT900 board (docs/protocol.md).", "AMQP", TLS_PORT, PLAIN_PORT)
    args = parser.parse_args(argv)
    settings = settings_from(parser, args, TLS_PORT, PLAIN_PORT)
    if args.log_level != "DEBUG":
        # pika logs every connection step, and a refused login as a traceback; the device says it in one line.
        logging.getLogger("pika").setLevel(logging.CRITICAL)
    return AmqpDevice(settings).run()


if __name__ == "__main__":
    sys.exit(main())
