#!/usr/bin/env python3
"""A tiny HTTP/1.1 server on 127.0.0.1 for scripts/bench.sh (stdlib only).

    python3 scripts/bench_server.py [--port N] [--port-file FILE]

Binds 127.0.0.1 only (port 0 = a free port chosen by the kernel), then prints
the port on the first line of stdout (and writes it to --port-file, if given).
Keep-alive with Content-Length on every answer.

    GET /api/small           200, a small JSON object
    GET /api/big?bytes=N     200, N bytes streamed in 1 MiB chunks from one
                             reused buffer (never N bytes in memory)
    GET /api/slow            sleeps 300 ms, then 200 with a small JSON object;
                             401 without an Authorization header, as a real
                             API answers (cred's check sends one request
                             without the key to make sure a 200 means it)
    GET /api/slow-stats      200, {"max_in_flight": N}: the most /api/slow
                             requests answered at once since the last
                             /api/slow-stats (which starts a new count)
    anything else            404, JSON
"""

import argparse
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CHUNK = 1024 * 1024
CHUNK_BUF = memoryview(b"x" * CHUNK)
SMALL = json.dumps({"ok": True, "items": [{"id": i, "name": f"item {i}"} for i in range(3)]}).encode()
SLOW_DELAY = 0.3
MAX_BIG = 64 * 1024 * 1024 * 1024  # 64 GiB: a sanity cap

# /api/slow requests being answered now, and the most at once.
SLOW_LOCK = threading.Lock()
SLOW = {"now": 0, "max": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cred-bench/1"
    sys_version = ""

    def setup(self):
        super().setup()
        # As API servers do (nginx: tcp_nodelay on): on a kept-alive
        # connection (--paginate's pages, cred proxy's pooled upstream
        # connection) the body, a second write after the headers, would
        # otherwise wait for the client's delayed ACK, 40 ms an answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - quiet: no per-request log
        pass

    def _send(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drain_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            got = self.rfile.read(min(length, CHUNK))
            if not got:
                break
            length -= len(got)

    def do_GET(self):
        self._drain_body()
        url = urlsplit(self.path)
        path = url.path.rstrip("/")
        if path == "/api/small":
            self._send(200, SMALL)
        elif path == "/api/slow":
            if not self.headers.get("Authorization"):
                self._send(401, b'{"error":"no credential"}')
                return
            with SLOW_LOCK:
                SLOW["now"] += 1
                SLOW["max"] = max(SLOW["max"], SLOW["now"])
            try:
                time.sleep(SLOW_DELAY)
            finally:
                with SLOW_LOCK:
                    SLOW["now"] -= 1
            self._send(200, SMALL)
        elif path == "/api/slow-stats":
            with SLOW_LOCK:
                body = json.dumps({"max_in_flight": SLOW["max"]}).encode()
                SLOW["max"] = SLOW["now"]
            self._send(200, body)
        elif path == "/api/items":
            # A list of ITEMS items (default 10,000), PER a page, paginated
            # by RFC 8288 Link rel="next" (cred's generic pagination).
            q = parse_qs(url.query)
            try:
                total = int(q.get("items", ["10000"])[0])
                per = max(1, int(q.get("per_page", ["100"])[0]))
                page = max(1, int(q.get("page", ["1"])[0]))
            except ValueError:
                self._send(400, b'{"error":"items, per_page and page are numbers"}')
                return
            first = (page - 1) * per
            items = [
                '{"id":%d,"name":"item %d","price":%d.%02d,"tags":["a","b"],"active":%s}'
                % (i, i, i // 100, i % 100, "true" if i % 2 else "false")
                for i in range(first, min(first + per, total))
            ]
            body = ("[" + ",".join(items) + "]").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if first + per < total:
                nxt = "/api/items?items=%d&per_page=%d&page=%d" % (total, per, page + 1)
                self.send_header("Link", '<%s>; rel="next"' % nxt)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        elif path == "/api/big":
            try:
                n = int(parse_qs(url.query).get("bytes", ["0"])[0])
            except ValueError:
                n = -1
            if n < 0 or n > MAX_BIG:
                self._send(400, b'{"error":"bytes must be 0..64 GiB"}')
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if self.command == "HEAD":
                return
            left = n
            try:
                while left > 0:
                    k = min(left, CHUNK)
                    self.wfile.write(CHUNK_BUF[:k])
                    left -= k
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        else:
            self._send(404, b'{"error":"not found"}')

    do_HEAD = do_GET
    do_POST = do_GET


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
