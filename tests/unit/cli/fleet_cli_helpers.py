"""Shared by the `botfleet fleet` tests (a module of its own: `conftest` names clash across test
folders). The secrets are long and odd so that a test can say none of them is ever shown: a
short one such as `internal-token` also stands in the name of `--internal-token-file`."""

from __future__ import annotations

from cryptography.fernet import Fernet

BOOT_TOKEN = "bfb_boot-token-that-must-not-show-0123"
CACHE_KEY = Fernet.generate_key().decode()
INTERNAL_TOKEN = "internal-token-that-must-not-show-4567"
#: What the `fleet_secrets` fixture puts in the environment, by variable.
SECRETS = {
    "BOTFLEET_BOOT_TOKEN": BOOT_TOKEN,
    "BOTFLEET_CACHE_KEY": CACHE_KEY,
    "BOTFLEET_INTERNAL_TOKEN": INTERNAL_TOKEN,
}

#: A data plane stand-in: an HTTP server answering /health as its tenant, on the data plane's
#: --host and --port; a tenant whose id starts with `doomed` kills itself with SIGKILL at once,
#: as the OOM killer would.
STAND_IN = """\
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

if os.environ["DP_TENANT_ID"].startswith("doomed"):
    os.kill(os.getpid(), signal.SIGKILL)

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "tenant_id": os.environ["DP_TENANT_ID"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

args = sys.argv
address = (args[args.index("--host") + 1], int(args[args.index("--port") + 1]))
HTTPServer(address, Health).serve_forever()
"""
