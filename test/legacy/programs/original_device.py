#!/usr/bin/env python3
"""A libpyiotcloud device as the original project describes it (the seed README, "Device MQTT/AMQP
Connectivity"): paho MQTT over TLS 1.2, client id = device id, username/password guest/guest,
subscribe <deviceid>/#, answer on server/<deviceid>/<api> with plain JSON (no correlation id).
Restart is set_status {"status":"restart"}: it answers {"status":"restarting"}, disconnects,
forgets its state and connects again. It knows nothing of iotcloud.

    original_device.py --host H --port P --deviceid ID --ca rootca.pem --cert C --key K [--mqtt 3.1|3.1.1]

prints "connected" each time it is connected and subscribed, and "<api> <payload>" per request.
"""
import argparse
import json
import ssl
import sys
import time

import paho.mqtt.client as mqtt


class Device:
    def __init__(self):
        self.power_on()
        self.rtc_offset = 0
        self.restart_pending = False
        self.restart_mid = None

    def power_on(self):
        self.gpio = {}
        self.uart = ""

    def handle(self, api, payload):
        if api == "get_gpio":
            return {"number": payload["number"], "value": self.gpio.get(payload["number"], 0)}
        if api == "set_gpio":
            self.gpio[payload["number"]] = payload["value"]
            return {"number": payload["number"], "value": payload["value"]}
        if api == "get_rtc":
            return {"value": int(time.time()) + self.rtc_offset}
        if api == "set_rtc":
            self.rtc_offset = payload["value"] - int(time.time())
            return {"value": payload["value"]}
        if api == "get_mac":
            return {"value": "00:0a:35:00:01:22"}
        if api == "get_ip":
            return {"value": "192.168.100.12"}
        if api == "get_subnet":
            return {"value": "255.255.255.0"}
        if api == "get_gateway":
            return {"value": "192.168.100.1"}
        if api == "get_status":
            return {"status": "running"}
        if api == "set_status" and payload.get("status") == "restart":
            self.restart_pending = True
            return {"status": "restarting"}
        if api == "write_uart":
            self.uart += payload["data"]
            return {"data": payload["data"]}
        return None  # the original devices ignore what they do not know


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=8883)
    parser.add_argument("--deviceid", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mqtt", choices=("3.1", "3.1.1"), default="3.1.1")
    args = parser.parse_args()

    device = Device()
    protocol = mqtt.MQTTv31 if args.mqtt == "3.1" else mqtt.MQTTv311
    client = mqtt.Client(client_id=args.deviceid, protocol=protocol)
    client.username_pw_set("guest", "guest")
    client.tls_set(ca_certs=args.ca, certfile=args.cert, keyfile=args.key, cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLSv1_2)

    def on_connect(client, userdata, flags, rc):
        if rc != 0:
            print("refused", rc)
            sys.stdout.flush()
            return
        client.subscribe(args.deviceid + "/#", qos=1)

    def on_subscribe(client, userdata, mid, granted_qos):
        print("connected")
        sys.stdout.flush()

    def on_message(client, userdata, msg):
        api = msg.topic.split("/")[-1]
        try:
            payload = json.loads(msg.payload.decode("utf-8")) if msg.payload else {}
        except ValueError:
            return
        print(api, json.dumps(payload))
        sys.stdout.flush()
        answer = device.handle(api, payload)
        if answer is None:
            return
        info = client.publish("server/" + args.deviceid + "/" + api, json.dumps(answer), qos=1)
        if device.restart_pending:
            device.restart_mid = info.mid  # restart once the broker has the answer

    def on_publish(client, userdata, mid):
        if device.restart_pending and mid == device.restart_mid:
            # Restart: the answer went out first; now the connection drops and the state resets.
            device.restart_pending = False
            print("restarting")
            sys.stdout.flush()
            client.disconnect()

    def on_disconnect(client, userdata, rc):
        device.power_on()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.on_publish = on_publish
    client.on_disconnect = on_disconnect
    client.connect(args.host, args.port, keepalive=60)
    while True:
        client.loop_forever(retry_first_connection=True)
        # loop_forever returns after disconnect(): that was a restart; connect again.
        time.sleep(0.2)
        client.reconnect()


if __name__ == "__main__":
    main()
