"""A simulated FT900 board behind the iotcloud device protocol, shared by the Python example devices.

`Board.handle(topic, payload)` takes one raw request as it came off the broker and returns the one
answer to publish (or None when the request must not be answered), exactly as docs/protocol.md asks
of firmware: every check, error and limit of the protocol is here, and nothing about MQTT or AMQP.
`mqtt_device.py` and `amqp_device.py` only move bytes between a broker and this board.

The second half of the file holds what both device programs share: their command line, the TLS
files, the reconnect backoff and the stop signals.

Standard library only; Python 3.9 or later.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import logging
import os
import random
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from protocol_table import FIELD_KINDS, REQUEST_FIELDS

log = logging.getLogger("iotcloud.board")

# ---------------------------------------------------------------------------------------------
# The protocol: limits, errors, commands (docs/protocol.md sections 2, 4, 5 and 6)

MAX_PAYLOAD_BYTES = 4096
GPIO_MIN, GPIO_MAX = 0, 66
RTC_MAX = 4294967295
UART_MAX_BYTES = 256
# Error messages are for people; the protocol asks to keep them under 128 bytes.
MAX_ERROR_MESSAGE_BYTES = 127
# The error body's `field` is a JSON pointer of at most 64 characters.
MAX_FIELD_LENGTH = 64

DEVICE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
CID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
# A command level that can be answered on: one topic level / routing-key word.
COMMAND_WORD_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

ERROR_CODES = {
    "UNKNOWN_COMMAND": 1,
    "INVALID_PARAMS": 2,
    "DEVICE_BUSY": 3,
    "TIMEOUT": 4,  # raised by the server, never sent by a device
    "MALFORMED": 5,
    "PAYLOAD_TOO_LARGE": 6,
    "INVALID_TOPIC": 7,
    "INTERNAL": 8,
}

RESPONSE_PREFIX = "server"


def is_valid_device_id(device_id: object) -> bool:
    return isinstance(device_id, str) and DEVICE_ID_PATTERN.fullmatch(device_id) is not None


class ProtocolError(Exception):
    """An error answer: `name` from the error table, a message for people, the field at fault."""

    def __init__(self, name: str, message: str, field: Optional[str] = None) -> None:
        super().__init__(message)
        self.name = name
        self.code = ERROR_CODES[name]
        self.message = message
        self.field = field


# --- request fields ----------------------------------------------------------------------------
# Each check returns the value to use (JSON numbers like 18.0 are integers, as in JavaScript) or
# raises ValueError with what is wrong, in words for the error message.


def _integer(value: Any, minimum: int, maximum: int, what: str) -> int:
    # bool is an int in Python but never a JSON number.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be an integer {minimum}..{maximum} ({what}), got {_json_type(value)}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"must be an integer {minimum}..{maximum} ({what}), got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"must be {minimum}..{maximum} ({what}), got {int(value)}")
    return int(value)


def gpio_number(value: Any) -> int:
    return _integer(value, GPIO_MIN, GPIO_MAX, "GPIO pin")


def gpio_level(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value not in (0, 1):
        raise ValueError(f"must be 0 or 1, got {_short_json(value)}")
    return int(value)


def epoch_seconds(value: Any) -> int:
    return _integer(value, 0, RTC_MAX, "epoch seconds, unsigned 32-bit")


def uart_data(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string of 1..{UART_MAX_BYTES} UTF-8 bytes, got {_json_type(value)}")
    if value == "":
        raise ValueError("must not be empty")
    size = utf8_length(value)
    if size > UART_MAX_BYTES:
        raise ValueError(f"is {size} UTF-8 bytes, the limit is {UART_MAX_BYTES}")
    return value


def restart_word(value: Any) -> str:
    if value != "restart":
        raise ValueError(f'must be "restart", got {_short_json(value)}')
    return value


# Request fields of every command, in the order the spec lists them: generated from
# firmware-protocol/ into protocol_table.py, each field named by its kind; here each kind gets its
# check. Every field is required and no other field is allowed (besides `cid`).
FIELD_CHECKS: Dict[str, Callable[[Any], Any]] = {
    "gpio_number": gpio_number,
    "gpio_level": gpio_level,
    "epoch_seconds": epoch_seconds,
    "uart_data": uart_data,
    "restart_word": restart_word,
}
COMMANDS: Dict[str, Tuple[Tuple[str, Callable[[Any], Any]], ...]] = {
    command: tuple((name, FIELD_CHECKS[kind]) for name, kind in fields) for command, fields in REQUEST_FIELDS.items()
}
if set(FIELD_CHECKS) != set(FIELD_KINDS):
    raise ImportError(f"protocol_table.py has field kinds board.py cannot check: {sorted(set(FIELD_KINDS) - set(FIELD_CHECKS))}")

# Commands after whose answer the device restarts (set_status is the original devices' restart).
RESTARTING_COMMANDS = ("reset_device", "set_status")


def check_params(command: str, params: Dict[str, Any]) -> Dict[str, Any]:
    """Validate a known command's parameters; the cleaned values, or ProtocolError(INVALID_PARAMS).

    The first problem wins, in the order the server's validator reports them: a missing field,
    then an unknown one, then a field with a bad value.
    """
    fields = COMMANDS[command]
    names = [name for name, _ in fields]
    for name in names:
        if name not in params:
            raise ProtocolError("INVALID_PARAMS", f"{name} is required", pointer(name))
    for key in js_key_order(params):
        if key not in names:
            raise ProtocolError("INVALID_PARAMS", f"unexpected field {_quote(key, 40)}; {command} takes {_field_list(names)}", pointer(key))
    cleaned = {}
    for name, check in fields:
        try:
            cleaned[name] = check(params[name])
        except ValueError as problem:
            raise ProtocolError("INVALID_PARAMS", f"{name} {problem}", pointer(name)) from None
    return cleaned


def _field_list(names: List[str]) -> str:
    return "no fields" if not names else ", ".join(names)


def pointer(key: str) -> str:
    """The JSON pointer of a top-level field (RFC 6901 escaping)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def js_key_order(obj: Dict[str, Any]) -> List[str]:
    """Keys in JavaScript's property order (array indexes first, ascending), as the server sees them."""
    indexes = sorted((key for key in obj if _is_array_index(key)), key=int)
    return indexes + [key for key in obj if not _is_array_index(key)]


def _is_array_index(key: str) -> bool:
    return re.fullmatch(r"0|[1-9][0-9]*", key) is not None and int(key) < 2**32 - 1


def utf8_length(text: str) -> int:
    # A lone surrogate (valid in JSON, "\ud800") counts 3 bytes, as the server counts it.
    return len(text.encode("utf-8", "surrogatepass"))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _short_json(value: Any) -> str:
    try:
        return _cut(json.dumps(value, ensure_ascii=True), 24)
    except ValueError:
        return _json_type(value)


def _quote(text: str, limit: int) -> str:
    return json.dumps(_cut(text, limit), ensure_ascii=True)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# What JavaScript's String.prototype.trim removes: the server takes a payload of only these as {}.
JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


# The server parses with JavaScript's JSON.parse: NaN and Infinity are not JSON there either.
def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# A payload of nested objects or arrays (4096 bytes can nest 4096 deep) must be read, not crash the
# parser: JavaScript parses it, so must we.
if sys.getrecursionlimit() < 10000:
    sys.setrecursionlimit(10000)


# ---------------------------------------------------------------------------------------------
# The board


@dataclass
class Answer:
    """One answer to publish: on `topic` (MQTT or AMQP syntax), `payload` as UTF-8 JSON."""

    topic: str
    payload: bytes
    command: str
    cid: Optional[str] = None
    error: Optional[str] = None
    # reset_device or set_status was accepted: publish this answer, then drop the connection, reboot() and
    # connect again.
    restart: bool = False


class Board:
    """GPIO 0..66, a ticking RTC, a MAC and an IPv4 configuration derived from the device id, a UART.

    `separator` is the topic syntax of the transport the board is reached over: "/" for MQTT
    (`<id>/<command>`), "." for AMQP routing keys (`<id>.<command>`).
    """

    UART_KEEP_BYTES = 64 * 1024

    def __init__(self, device_id: str, separator: str = "/", wall_clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if not is_valid_device_id(device_id):
            raise ValueError(f"invalid device id {device_id!r}: use 1-64 letters, digits, '_' or '-', starting with a letter or digit")
        if separator not in ("/", "."):
            raise ValueError("separator must be '/' (MQTT) or '.' (AMQP)")
        self.device_id = device_id
        self.separator = separator
        self._monotonic = monotonic
        # The same derivation as the TypeScript simulator (simulators/board.ts), so a device keeps
        # its MAC and address whichever simulator runs it.
        identity = hashlib.sha256(f"iotcloud-board:{device_id}".encode("utf-8")).digest()
        octets = bytearray(identity[:6])
        octets[0] = (octets[0] | 0x02) & 0xFE  # locally administered, unicast
        self.mac = ":".join(f"{octet:02x}" for octet in octets)
        self._power_on_network = {"ip": f"192.168.1.{2 + identity[6] % 253}", "subnet": "255.255.255.0", "gateway": "192.168.1.1"}
        self.network = dict(self._power_on_network)
        self.gpio = bytearray(GPIO_MAX + 1)
        self.uart = bytearray()
        self.uart_bytes_written = 0
        # The RTC is (seconds, monotonic time when they were true): it ticks on from the value set.
        self._rtc_base = int(wall_clock())
        self._rtc_set_at = monotonic()
        self.status = "running"
        self.counters = {"requests": 0, "answered": 0, "errors": 0, "ignored": 0, "unanswerable": 0}

    # --- the hardware ------------------------------------------------------------------------

    def rtc_seconds(self) -> int:
        elapsed = int(self._monotonic() - self._rtc_set_at)
        return (self._rtc_base + elapsed) % (RTC_MAX + 1)  # an unsigned 32-bit counter wraps

    def set_rtc(self, seconds: int) -> None:
        self._rtc_base = seconds
        self._rtc_set_at = self._monotonic()

    def set_pin(self, number: int, value: int) -> None:
        self.gpio[number] = value
        log.info("gpio %d -> %d", number, value)

    def write_uart(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self.uart += data
        del self.uart[: max(0, len(self.uart) - self.UART_KEEP_BYTES)]
        self.uart_bytes_written += len(data)
        log.info("uart <- %s", _quote(text, 80))

    def reboot(self) -> None:
        """Power on again: GPIO low, UART empty, network back to its defaults, status running.

        The RTC is battery-backed on the FT900 boards, so it keeps its time.
        """
        self.gpio = bytearray(GPIO_MAX + 1)
        self.uart = bytearray()
        self.network = dict(self._power_on_network)
        self.status = "running"
        log.info("board rebooted: GPIO, UART and network back to power-on state")

    def _run(self, command: str, params: Dict[str, Any]) -> Dict[str, Any]:
        if command == "get_gpio":
            return {"number": params["number"], "value": self.gpio[params["number"]]}
        if command == "set_gpio":
            self.set_pin(params["number"], params["value"])
            return {"number": params["number"], "value": self.gpio[params["number"]]}
        if command == "get_rtc":
            return {"value": self.rtc_seconds()}
        if command == "set_rtc":
            self.set_rtc(params["value"])
            return {"value": params["value"]}
        if command == "get_mac":
            return {"value": self.mac}
        if command == "get_ip":
            return {"value": self.network["ip"]}
        if command == "get_subnet":
            return {"value": self.network["subnet"]}
        if command == "get_gateway":
            return {"value": self.network["gateway"]}
        if command == "get_status":
            return {"status": self.status}
        if command in RESTARTING_COMMANDS:
            return {"status": "restarting"}
        if command == "write_uart":
            self.write_uart(params["data"])
            return {"data": params["data"]}
        raise AssertionError(f"no handler for {command}")  # COMMANDS and _run disagree

    # --- the protocol ------------------------------------------------------------------------

    def response_topic(self, command: str) -> str:
        return self.separator.join((RESPONSE_PREFIX, self.device_id, command))

    def handle(self, topic: str, payload: bytes) -> Optional[Answer]:
        """Handle one raw request; the answer to publish, or None (not ours, or nowhere to answer).

        Never raises: a fault while running a command is answered with INTERNAL.
        """
        self.counters["requests"] += 1
        levels = topic.split(self.separator)
        if levels[0] != self.device_id:
            self.counters["ignored"] += 1  # another device's request is not ours to answer
            return None
        command = levels[-1] if len(levels) >= 2 else ""
        if COMMAND_WORD_PATTERN.fullmatch(command) is None:
            # `<id>`, `<id>/` or a command no answer topic can carry: there is nowhere to answer.
            self.counters["unanswerable"] += 1
            log.warning("not answerable: request on %s", _quote(topic, 100))
            return None
        cid: Optional[str] = None
        try:
            if len(levels) != 2:
                cid = _readable_cid(payload)
                sep = self.separator
                raise ProtocolError("INVALID_TOPIC", f"request topic must be <deviceId>{sep}<command>, got {_quote(topic, 60)}")
            body = parse_body(payload)
            cid = body.pop("cid", None)
            if command not in COMMANDS:
                raise ProtocolError("UNKNOWN_COMMAND", f"unknown command {_quote(command, 64)}")
            params = check_params(command, body)
            if self.status == "restarting" and command != "get_status":
                raise ProtocolError("DEVICE_BUSY", "the device is restarting; retry when it is back")
            result = self._run(command, params)
        except ProtocolError as error:
            return self._error(command, error, cid)
        except Exception as error:  # a fault in the "hardware" must not take the device down
            log.exception("command %s failed", command)
            return self._error(command, ProtocolError("INTERNAL", f"device fault: {type(error).__name__}: {error}"), cid)
        restart = command in RESTARTING_COMMANDS
        if restart:
            self.status = "restarting"
        self.counters["answered"] += 1
        return Answer(self.response_topic(command), encode_json(_with_cid(cid, result)), command, cid, None, restart)

    def _error(self, command: str, error: ProtocolError, cid: Optional[str]) -> Answer:
        body: Dict[str, Any] = {"code": error.code, "name": error.name, "message": shorten(error.message)}
        if error.field is not None and len(error.field) <= MAX_FIELD_LENGTH:
            body["field"] = error.field  # (a pointer too long for the error body is left out)
        self.counters["answered"] += 1
        self.counters["errors"] += 1
        log.info("%s answered with %s: %s", command, error.name, error.message)
        return Answer(self.response_topic(command), encode_json(_with_cid(cid, {"error": body})), command, cid, error.name, False)


def parse_body(payload: bytes) -> Dict[str, Any]:
    """The request object, `cid` included and checked; ProtocolError when it cannot be read."""
    size = len(payload)
    if size > MAX_PAYLOAD_BYTES:
        raise ProtocolError("PAYLOAD_TOO_LARGE", f"payload is {size} bytes, the limit is {MAX_PAYLOAD_BYTES}")
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("MALFORMED", "payload is not valid UTF-8") from None
    if text.strip(JS_WHITESPACE) == "":
        return {}  # an empty payload means "no parameters"
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ProtocolError("MALFORMED", f"payload is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ProtocolError("MALFORMED", f"payload must be a JSON object, got {_json_type(value)}")
    if "cid" in value:
        cid = value["cid"]
        if not isinstance(cid, str) or CID_PATTERN.fullmatch(cid) is None:
            raise ProtocolError("INVALID_PARAMS", "cid must be a string matching ^[A-Za-z0-9_-]{1,32}$", "/cid")
    return value


def _readable_cid(payload: bytes) -> Optional[str]:
    """The cid of a request refused before it was read (bad topic), when one can be read."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return None
    try:
        value = json.loads(bytes(payload).decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None
    cid = value.get("cid") if isinstance(value, dict) else None
    return cid if isinstance(cid, str) and CID_PATTERN.fullmatch(cid) else None


def _with_cid(cid: Optional[str], fields: Dict[str, Any]) -> Dict[str, Any]:
    return fields if cid is None else {"cid": cid, **fields}


def encode_json(value: Dict[str, Any]) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate from the request ("\ud800") has no UTF-8 form: send it escaped.
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def shorten(message: str) -> str:
    if len(message.encode("utf-8", "replace")) <= MAX_ERROR_MESSAGE_BYTES:
        return message
    cut = message[: MAX_ERROR_MESSAGE_BYTES - 3]
    while len(cut.encode("utf-8", "replace")) > MAX_ERROR_MESSAGE_BYTES - 3:
        cut = cut[:-1]
    return cut + "..."


# ---------------------------------------------------------------------------------------------
# What both device programs share: command line, TLS files, reconnect backoff, stop signals


def device_arguments(description: str, transport: str, tls_port: int, plain_port: int) -> argparse.ArgumentParser:
    """The options of mqtt_device.py and amqp_device.py (`transport` is "MQTT" or "AMQP").

    Defaults follow `iotcloud register --out DIR` (and `client.py register --out DIR`): DIR holds
    rootca.pem, <id>_cert.pem and <id>_pkey.pem. `iotcloud harness --embedded --spawn` passes the
    device id, the broker URL and the files in IOTCLOUD_DEVICE_ID, IOTCLOUD_MQTT_URL, IOTCLOUD_CA,
    IOTCLOUD_CERT and IOTCLOUD_KEY.
    """
    env = os.environ.get
    scheme = transport.lower()
    parser = argparse.ArgumentParser(description=description)
    parser.set_defaults(scheme=scheme)
    parser.add_argument("--device", default=env("IOTCLOUD_DEVICE_ID"), help="device id (= certificate CN = client id); env IOTCLOUD_DEVICE_ID")
    parser.add_argument("--url", default=env(f"IOTCLOUD_{transport}_URL"), help=f"broker as {scheme}s://HOST:PORT (or {scheme}://HOST:PORT, which implies --plain); env IOTCLOUD_{transport}_URL; --host and --port override it")
    parser.add_argument("--host", help="broker host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help=f"broker port (default {tls_port} with TLS, {plain_port} with --plain)")
    parser.add_argument("--dir", default=".", help="folder with rootca.pem, <id>_cert.pem and <id>_pkey.pem (default: the current folder)")
    parser.add_argument("--ca", default=env("IOTCLOUD_CA"), help="root CA file (default DIR/rootca.pem)")
    parser.add_argument("--cert", default=env("IOTCLOUD_CERT"), help="device certificate (default DIR/<id>_cert.pem)")
    parser.add_argument("--key", default=env("IOTCLOUD_KEY"), help="device private key (default DIR/<id>_pkey.pem)")
    parser.add_argument("--plain", action="store_true", help=f"plain {transport} without TLS, for a local test broker: loopback hosts only")
    parser.add_argument("--boot-seconds", type=float, default=0.1, help="how long a reset_device takes before reconnecting (default %(default)s)")
    parser.add_argument("--max-backoff", type=float, default=30.0, help="longest wait between reconnection attempts, seconds (default %(default)s)")
    parser.add_argument("--log-level", default=env("IOTCLOUD_LOG_LEVEL", "INFO"), choices=["DEBUG", "INFO", "WARNING", "ERROR"], type=str.upper)
    return parser


@dataclass
class DeviceSettings:
    device_id: str
    host: str
    port: int
    tls: Optional[ssl.SSLContext]
    boot_seconds: float
    max_backoff: float


def settings_from(parser: argparse.ArgumentParser, args: argparse.Namespace, tls_port: int, plain_port: int) -> DeviceSettings:
    """Check the options and load the TLS files; exits with a message (status 2) when they are wrong."""
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    if not args.device:
        parser.error("give the device id with --device (or IOTCLOUD_DEVICE_ID)")
    if not is_valid_device_id(args.device):
        parser.error(f"--device {args.device!r} is not a device id: 1-64 letters, digits, '_' or '-', starting with a letter or digit")
    host, port, plain = "127.0.0.1", None, args.plain
    if args.url:
        try:
            url = urllib.parse.urlsplit(args.url)
            tls_scheme = args.scheme + "s"  # mqtts / amqps
            if url.scheme not in (tls_scheme, tls_scheme[:-1]) or not url.hostname:
                raise ValueError(f"use {tls_scheme}://HOST:PORT")
            host, port = url.hostname, url.port
            plain = plain or url.scheme == tls_scheme[:-1]
        except ValueError as problem:
            parser.error(f"--url {args.url!r}: {problem}")
    host = args.host or host
    port = args.port if args.port is not None else (port if port is not None else (plain_port if plain else tls_port))
    if plain:
        if not is_loopback(host):
            parser.error(f"--plain sends everything unencrypted and unauthenticated: only allowed for a broker on this machine, not {host}")
        context = None
    else:
        files = {
            "CA": args.ca or os.path.join(args.dir, "rootca.pem"),
            "certificate": args.cert or os.path.join(args.dir, f"{args.device}_cert.pem"),
            "key": args.key or os.path.join(args.dir, f"{args.device}_pkey.pem"),
        }
        for what, path in files.items():
            if not os.path.isfile(path):
                parser.error(f"the {what} file {path} does not exist (register the device with `client.py register --out DIR` and pass --dir DIR)")
        try:
            context = tls_context(files["CA"], files["certificate"], files["key"])
        except (ssl.SSLError, OSError) as error:
            parser.error(f"cannot load the TLS files: {error}")
    return DeviceSettings(args.device, host, port, context, max(0.0, args.boot_seconds), max(1.0, args.max_backoff))


def tls_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    """Mutual TLS: trust only the platform CA, present the device certificate, check the host name."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def is_loopback(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses)


class Backoff:
    """Exponential backoff with jitter between reconnection attempts: 0.5 s, 1 s, 2 s ... max."""

    def __init__(self, maximum: float, initial: float = 0.5) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0

    def reset(self) -> None:
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * 2 ** min(self.attempt, 16))
        self.attempt += 1
        return delay * random.uniform(0.5, 1.0)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM: the device disconnects cleanly and exits."""
    stop = threading.Event()

    def handler(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop
