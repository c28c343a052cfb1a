#!/usr/bin/env python3
"""Fake Microsoft Entra ID authority for the Entra ID tests (HTTPS on 127.0.0.1).

Serves POST /{tenant}/oauth2/v2.0/token (client credentials: client secret or client
assertion) like login.microsoftonline.com, with the certificate and key given, and appends
every request to a JSON-lines record file. Prints `listening on PORT` once ready.

  authority.py --cert leaf.pem --key leaf.key --record requests.jsonl
               [--secret S] [--assertion A] [--expires-in N] [--token-prefix P]

Tokens are P-1, P-2, ... (default prefix aad-token). A wrong client secret gets Entra's
401 invalid_client / AADSTS7000215 body; a wrong assertion gets AADSTS700213.
"""

import argparse
import json
import ssl
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNT = [0]


def aad_error(error, code, description):
    trace = "00000000-0000-0000-0000-00000000f001"
    return {
        "error": error,
        "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
        f"Correlation ID: 00000000-0000-0000-0000-00000000f002\r\nTimestamp: 2025-01-01 00:00:00Z",
        "error_codes": [code],
        "timestamp": "2025-01-01 00:00:00Z",
        "trace_id": trace,
        "correlation_id": "00000000-0000-0000-0000-00000000f002",
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(404, {"error": "not_found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        with LOCK:
            with open(ARGS.record, "a", encoding="utf-8") as f:
                f.write(json.dumps({"path": self.path, "form": form,
                                    "content_type": self.headers.get("Content-Type")}) + "\n")
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "token"]:
            self.reply(404, aad_error("invalid_request", 900023,
                                      "Specified tenant identifier is neither a valid DNS name, nor a valid external domain."))
            return
        if form.get("grant_type") != "client_credentials":
            self.reply(400, aad_error("unsupported_grant_type", 70003,
                                      "The app requested an unsupported grant type."))
            return
        if "client_secret" in form:
            if ARGS.secret is not None and form["client_secret"] != ARGS.secret:
                self.reply(401, aad_error(
                    "invalid_client", 7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the "
                    "client secret value, not the client secret ID, for a secret added to app "
                    f"'{form.get('client_id', '')}'."))
                return
        elif "client_assertion" in form:
            if ARGS.assertion is not None and form["client_assertion"] != ARGS.assertion:
                self.reply(401, aad_error(
                    "invalid_client", 700213,
                    "No matching federated identity record found for presented assertion subject."))
                return
        else:
            self.reply(401, aad_error("invalid_client", 7000218,
                                      "The request body must contain the following parameter: "
                                      "'client_assertion' or 'client_secret'."))
            return
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
        self.reply(200, {"token_type": "Bearer", "expires_in": ARGS.expires_in,
                         "ext_expires_in": ARGS.expires_in,
                         "access_token": f"{ARGS.token_prefix}-{n}"})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--secret")
    p.add_argument("--assertion")
    p.add_argument("--expires-in", type=int, default=3600)
    p.add_argument("--token-prefix", default="aad-token")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(ARGS.cert, ARGS.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
