#!/usr/bin/env python3
"""A libpyiotcloud client application written only from the original project's API description
(the seed README): HTTPS with http.client, JSON parameters in the body, GET for queries and POST
for changes, as the original client did. It knows nothing of iotcloud.

    original_client.py --host H --port P --ca rootca.pem <api> '<json parameters>'

prints the server's JSON answer on one line. register_device also writes the device's files
(rootca.pem, <deviceid>_cert.pem, <deviceid>_pkey.pem) to --out when given.
"""
import argparse
import http.client
import json
import os
import ssl
import sys

# The original client's methods: queries are GET (with a JSON body), changes are POST.
GET_APIS = ("get_device_list", "get_gpio", "get_rtc", "get_mac", "get_ip", "get_subnet", "get_gateway", "get_status")


def call(host, port, ca, api, params):
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=30)
    headers = {"Content-type": "application/json"}
    method = "GET" if api in GET_APIS else "POST"
    conn.request(method, "/" + api, json.dumps(params), headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data.decode("utf-8"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--out")
    parser.add_argument("api")
    parser.add_argument("params", nargs="?", default="{}")
    args = parser.parse_args()
    status, answer = call(args.host, args.port, args.ca, args.api, json.loads(args.params))
    if args.api == "register_device" and args.out and answer.get("status") == "OK":
        os.makedirs(args.out, exist_ok=True)
        files = {"rootca.pem": answer["ca"], answer["deviceid"] + "_cert.pem": answer["cert"], answer["deviceid"] + "_pkey.pem": answer["pkey"]}
        for name, text in files.items():
            with open(os.path.join(args.out, name), "w") as f:
                f.write(text)
    print(json.dumps({"http": status, "answer": answer}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
