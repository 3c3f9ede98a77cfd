#!/usr/bin/env python3
"""Clicks across a graceful stop that ends at the drain deadline.

Usage: python3 bench/drain_clicks.py PATH/TO/shorty

Starts shorty on a fresh SQLite file, creates one link, opens 60
connections that each send half of a `GET /CODE` head, sends SIGTERM, and
at 7.95 s (the drain deadline is 8 s) completes the heads one every 3 ms,
so some are served just before the deadline and some just after. Then it
reads the link's stored clicks with `shorty get` and prints them next to
the redirects received: the two must be equal.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = sys.argv[1]
work = tempfile.mkdtemp()
db = f"sqlite://{work}/drain.db"
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
env = dict(os.environ, SHORTY_ADMIN_TOKEN="drain-clicks-admin-token")
server = subprocess.Popen(
    [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--database-url", db],
    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(100):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz")
        break
    except OSError:
        time.sleep(0.1)
create = urllib.request.Request(
    f"http://127.0.0.1:{port}/api/v1/links",
    data=json.dumps({"url": "https://example.com/drain"}).encode(),
    headers={"content-type": "application/json"})
code = json.load(urllib.request.urlopen(create))["code"]
conns = []
for _ in range(60):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET /{code} HTTP/1.1\r\nHost: x\r\n".encode())
    conns.append(s)
time.sleep(0.2)
server.send_signal(signal.SIGTERM)
time.sleep(7.95)
received = 0
for s in conns:
    try:
        s.sendall(b"\r\n")
        s.settimeout(0.5)
        if s.recv(100).startswith(b"HTTP/1.1 302"):
            received += 1
    except OSError:
        pass
    time.sleep(0.003)
server.wait(timeout=20)
shown = subprocess.run([BIN, "get", code, "--database-url", db],
                       capture_output=True, text=True, check=True).stdout
print(f"redirects received: {received}, clicks stored: {json.loads(shown)['clicks']}, "
      f"exit status: {server.returncode}")
