#!/usr/bin/env python3
"""A command-line client for the iotcloud REST API, standard library only (what the original
libpyiotcloud client.py did): sign up, log in, register and unregister devices, list them, and run
device commands.

    python3 client.py --server https://127.0.0.1:8443 --ca var/iotcloud/ca/ca.crt signup alice --password ...
    python3 client.py login alice --password ...              # token saved (mode 0600)
    python3 client.py register "lab board" --out certs/       # rootca.pem, <id>_cert.pem, <id>_pkey.pem
    python3 client.py devices
    python3 client.py cmd <id> set_gpio '{"number":18,"value":1}'
    python3 client.py unregister <id>

Options may come before or after the subcommand. Defaults come from the environment: IOTCLOUD_SERVER,
IOTCLOUD_CA, IOTCLOUD_TOKEN, IOTCLOUD_TOKEN_FILE, IOTCLOUD_PASSWORD.

Exit codes: 0 success; 1 the operation failed (the server refused it, the device answered an error or
did not answer, the server cannot be reached); 2 the command was called wrongly.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional

DEFAULT_SERVER = "https://127.0.0.1:8443"
DEFAULT_CA = os.path.join("var", "iotcloud", "ca", "ca.crt")  # where `iotcloud up` keeps its root CA
DEFAULT_TOKEN_FILE = os.path.join(os.path.expanduser("~"), ".iotcloud", "python-client-token.json")
# Seconds to wait for the server beyond a command's own deadline.
HTTP_GRACE_SECONDS = 10


class Failure(Exception):
    """The operation failed: printed as `error: ...`, exit code 1."""


class Usage(Exception):
    """The command was called wrongly: printed with a hint, exit code 2."""


# ---------------------------------------------------------------------------------------------
# HTTP


class Api:
    def __init__(self, server: str, ca: Optional[str], token: Optional[str]) -> None:
        parsed = urllib.parse.urlparse(server)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise Usage(f"--server must be an http:// or https:// URL, e.g. {DEFAULT_SERVER}; got {server!r}")
        self.server = server.rstrip("/")
        self.token = token
        self.context: Optional[ssl.SSLContext] = None
        if parsed.scheme == "https":
            try:
                self.context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
            except (OSError, ssl.SSLError) as error:
                raise Usage(f"cannot read the CA file {ca}: {error}") from None

    def call(self, method: str, path: str, body: Any = None, timeout: float = 30.0) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"accept": "application/json"}
        if data is not None:
            headers["content-type"] = "application/json"
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.context) as response:
                text = response.read().decode("utf-8")
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            raise Failure(describe_http_error(error)) from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise Failure(f"the server's certificate is not trusted ({reason.verify_message}); pass the platform root CA with --ca FILE") from None
            raise Failure(f"cannot reach {self.server}: {reason}") from None
        except (TimeoutError, OSError) as error:
            raise Failure(f"no answer from {self.server}: {error}") from None


def describe_http_error(error: urllib.error.HTTPError) -> str:
    """`HTTP 400 INVALID_PARAMS: number must be ... (field /number)`, and who produced it."""
    raw = error.read().decode("utf-8", "replace")
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    details = body.get("error") if isinstance(body, dict) else None
    if not isinstance(details, dict):
        return f"HTTP {error.code} {error.reason}" + (f": {raw[:200]}" if raw else "")
    text = f"HTTP {error.code} {details.get('name', 'ERROR')}: {details.get('message', '(no message)')}"
    if details.get("field"):
        text += f" (field {details['field']})"
    if body.get("source") == "device":
        text += " [answered by the device]"
    if error.code == 401:
        text += "; log in again with `client.py login <username>`"
    return text


# ---------------------------------------------------------------------------------------------
# Files


def write_private(path: str, text: str) -> None:
    """Write a file only its owner may read (mode 0600), also when it already exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def write_public(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def load_token(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except (OSError, ValueError):
        return None
    return saved.get("token") if isinstance(saved, dict) and isinstance(saved.get("token"), str) else None


# ---------------------------------------------------------------------------------------------
# Subcommands


def show(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def password_of(args: argparse.Namespace) -> str:
    value = args.password or os.environ.get("IOTCLOUD_PASSWORD")
    if value:
        return value
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    raise Usage("give the password with --password or the IOTCLOUD_PASSWORD environment variable")


def cmd_signup(api: Api, args: argparse.Namespace) -> None:
    show(api.call("POST", "/api/v1/auth/signup", {"username": args.username, "password": password_of(args)}))


def cmd_login(api: Api, args: argparse.Namespace) -> None:
    session = api.call("POST", "/api/v1/auth/login", {"username": args.username, "password": password_of(args)})
    folder = os.path.dirname(args.token_file)
    if folder:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    write_private(args.token_file, json.dumps({"server": api.server, "token": session["token"], "expiresAt": session.get("expiresAt")}, indent=2) + "\n")
    print(f"logged in as {args.username}; token saved to {args.token_file} (mode 0600), valid until {session.get('expiresAt')}")


def cmd_register(api: Api, args: argparse.Namespace) -> None:
    body: Dict[str, Any] = {"name": args.name, "keyAlgorithm": "rsa-2048" if args.rsa else "ecdsa-p256"}
    if args.device_id:
        body["deviceId"] = args.device_id
    registration = api.call("POST", "/api/v1/devices", body)
    device_id = registration["deviceId"]
    os.makedirs(args.out, exist_ok=True)
    files = {
        "ca": os.path.join(args.out, "rootca.pem"),
        "certificate": os.path.join(args.out, f"{device_id}_cert.pem"),
        "key": os.path.join(args.out, f"{device_id}_pkey.pem"),
    }
    write_public(files["ca"], registration["rootCa"])
    write_public(files["certificate"], registration["certificate"])
    write_private(files["key"], registration["privateKey"])
    show({"deviceId": device_id, "name": registration.get("name"), "mqttUrl": registration.get("mqttUrl"), "files": files})


def cmd_devices(api: Api, _args: argparse.Namespace) -> None:
    show(api.call("GET", "/api/v1/devices")["devices"])


def cmd_unregister(api: Api, args: argparse.Namespace) -> None:
    api.call("DELETE", f"/api/v1/devices/{urllib.parse.quote(args.device_id, safe='')}")
    print(f"unregistered {args.device_id}: it is disconnected and its certificate refused from now on")


def cmd_command(api: Api, args: argparse.Namespace) -> None:
    try:
        params = json.loads(args.params) if args.params is not None else {}
    except ValueError as error:
        raise Usage(f"parameters must be JSON, e.g. '{{\"number\":18,\"value\":1}}'; {error}: {args.params}") from None
    query = "" if args.timeout is None else f"?timeoutMs={args.timeout}"
    device = urllib.parse.quote(args.device_id, safe="")
    command = urllib.parse.quote(args.command, safe="")
    wait = (args.timeout or 5000) / 1000 + HTTP_GRACE_SECONDS
    show(api.call("POST", f"/api/v1/devices/{device}/commands/{command}{query}", params, timeout=wait))


# ---------------------------------------------------------------------------------------------
# Command line


def parser() -> argparse.ArgumentParser:
    # The common options are accepted before and after the subcommand; SUPPRESS keeps a subcommand
    # from overwriting a value given before it with its default.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", default=argparse.SUPPRESS, help=f"REST API base URL (env IOTCLOUD_SERVER, default {DEFAULT_SERVER})")
    common.add_argument("--ca", default=argparse.SUPPRESS, help=f"PEM file of the platform root CA (env IOTCLOUD_CA, default {DEFAULT_CA} when present)")
    common.add_argument("--token", default=argparse.SUPPRESS, help="bearer token (env IOTCLOUD_TOKEN; default: the one saved by login)")
    common.add_argument("--token-file", default=argparse.SUPPRESS, help=f"where login saves the token (env IOTCLOUD_TOKEN_FILE, default {DEFAULT_TOKEN_FILE})")

    main = argparse.ArgumentParser(description="iotcloud REST client (standard library only).", parents=[common])
    commands = main.add_subparsers(dest="subcommand", metavar="COMMAND")
    commands.required = True

    def add(name: str, handler: Any, help_text: str, **extra: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help_text, description=help_text, **extra)
        sub.set_defaults(handler=handler)
        return sub

    for name, handler, text in (("signup", cmd_signup, "create a user"), ("login", cmd_login, "log in and save the token (mode 0600)")):
        sub = add(name, handler, text)
        sub.add_argument("username")
        sub.add_argument("--password", help="the password (env IOTCLOUD_PASSWORD; asked for on a terminal)")

    sub = add("register", cmd_register, "register a device; writes rootca.pem, <id>_cert.pem and <id>_pkey.pem (0600)")
    sub.add_argument("name", help="a name for people")
    sub.add_argument("--device-id", help="choose the device id (default: the server generates one)")
    sub.add_argument("--rsa", action="store_true", help="RSA-2048 key for legacy firmware (default ECDSA P-256)")
    sub.add_argument("--out", default=".", help="folder for the three PEM files (default: the current folder)")

    add("devices", cmd_devices, "list your devices (online state, fingerprint)", aliases=["list"])

    sub = add("unregister", cmd_unregister, "unregister a device: it is disconnected and refused from then on")
    sub.add_argument("device_id")

    sub = add("cmd", cmd_command, "run a device command, e.g. cmd <id> set_gpio '{\"number\":18,\"value\":1}'")
    sub.add_argument("device_id")
    sub.add_argument("command", help="get_gpio, set_gpio, get_rtc, set_rtc, get_mac, get_ip, get_subnet, get_gateway, get_status, reset_device, write_uart, set_status")
    sub.add_argument("params", nargs="?", help="parameters as a JSON object (default {})")
    sub.add_argument("--timeout", type=int, help="milliseconds the server waits for the device (server default 5000)")
    return main


NEEDS_TOKEN = {cmd_register, cmd_devices, cmd_unregister, cmd_command}


def main(argv: Optional[list] = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    env = os.environ.get
    server = getattr(args, "server", None) or env("IOTCLOUD_SERVER") or DEFAULT_SERVER
    ca = getattr(args, "ca", None) or env("IOTCLOUD_CA") or (DEFAULT_CA if os.path.isfile(DEFAULT_CA) else None)
    args.token_file = getattr(args, "token_file", None) or env("IOTCLOUD_TOKEN_FILE") or DEFAULT_TOKEN_FILE
    token = getattr(args, "token", None) or env("IOTCLOUD_TOKEN") or load_token(args.token_file)
    try:
        if ca and not os.path.isfile(ca):
            raise Usage(f"--ca {ca}: no such file")
        if args.handler in NEEDS_TOKEN and not token:
            raise Usage(f"not logged in: run `client.py login <username>` first (no token in {args.token_file}), or pass --token")
        args.handler(Api(server, ca, token), args)
        return 0
    except Usage as problem:
        print(f"{arguments.prog}: {problem}", file=sys.stderr)
        return 2
    except Failure as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
