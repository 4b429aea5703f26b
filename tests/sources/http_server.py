#!/usr/bin/python3
"""A test HTTP server for imgtool's http(s) sources (stdlib only).

Serves the files of --root on 127.0.0.1 at a free port (printed as the first
line of stdout, and written to --port-file when given), with Range requests
(206 + Content-Range), HEAD, ETag and Last-Modified, and fault paths chosen by
the first path segment:

  /NAME                 the file
  /drop-once/NAME       the first GET of NAME closes the connection after half
                        the body; later requests (Range included) are served
  /cut/NAME             always sends the Content-Length of what was asked for
                        but closes after half of it
  /no-range/NAME        drops once like drop-once, then ignores Range (200 with
                        the whole file)
  /etag-change/NAME     drops once; every later answer carries another ETag
  /stall/NAME           headers and the first 1 KiB, then nothing for 60 s
  /redirect/NAME        302 to /NAME
  /redirect-loop/X      302 to itself, for ever
  /redirect-ftp/NAME    302 to ftp://127.0.0.1:PORT/NAME
  /echo-headers         the request's headers as the body
  /_requests            one line per request so far: "METHOD PATH RANGE"
  http://ANYHOST/PATH   (a proxy request) served as PATH: tests of http_proxy
  anything missing      404

Thread per request (ThreadingHTTPServer); tests/support/http_fixture.cpp
starts and stops it.
"""
import argparse
import email.utils
import http.server
import os
import re
import sys
import threading
import time

LOG = []
LOG_LOCK = threading.Lock()
DROPPED = set()  # (mode, name) that already dropped once
DROPPED_LOCK = threading.Lock()
CHUNK = 1 << 20


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "imgtool-test-http/1"

    def log_message(self, fmt, *args):  # quiet: the tests read /_requests instead
        pass

    def do_HEAD(self):
        self.handle_any(head=True)

    def do_GET(self):
        self.handle_any(head=False)

    def first_drop(self, mode, name):
        with DROPPED_LOCK:
            if (mode, name) in DROPPED:
                return False
            DROPPED.add((mode, name))
            return True

    def simple(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self, head):
        rng = self.headers.get("Range", "")
        with LOG_LOCK:
            LOG.append("%s %s %s" % (self.command, self.path, rng or "-"))
        path = self.path.split("?", 1)[0]
        # As a forward proxy (http_proxy=this server): "GET http://host/NAME".
        m = re.match(r"http://[^/]*(/.*)?$", path)
        if m:
            path = m.group(1) or "/"
        parts = path.lstrip("/").split("/", 1)
        mode = parts[0] if len(parts) == 2 else ""
        name = parts[1] if len(parts) == 2 else parts[0]
        if path == "/_requests":
            with LOG_LOCK:
                body = ("\n".join(LOG) + "\n").encode()
            return self.simple(200, body, [("Content-Type", "text/plain")])
        if path == "/echo-headers":
            body = "".join("%s: %s\n" % (k, v) for k, v in self.headers.items()).encode()
            return self.simple(200, body, [("Content-Type", "text/plain")])
        if mode == "redirect":
            return self.simple(302, b"", [("Location", "/" + name)])
        if mode == "redirect-loop":
            return self.simple(302, b"", [("Location", path)])
        if mode == "redirect-ftp":
            port = self.server.server_address[1]
            return self.simple(302, b"", [("Location", "ftp://127.0.0.1:%d/%s" % (port, name))])
        if mode not in ("", "drop-once", "cut", "no-range", "etag-change", "stall"):
            return self.simple(404, b"no such fault path\n")
        fpath = os.path.join(self.server.root, name)
        if "/" in name or name in ("", ".", "..") or not os.path.isfile(fpath):
            return self.simple(404, b"not found\n")
        self.serve_file(fpath, name, mode, rng, head)

    def serve_file(self, fpath, name, mode, rng, head):
        st = os.stat(fpath)
        size = st.st_size
        etag = '"%x-%x"' % (size, int(st.st_mtime))
        if mode == "etag-change" and (mode, name) in DROPPED:
            etag = '"changed-%x"' % size
        drop = False
        if mode in ("drop-once", "no-range", "etag-change") and not head and not rng:
            drop = self.first_drop(mode, name)
        start, end = 0, size  # [start, end)
        partial = False
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng)
        if m and mode != "no-range":
            start = int(m.group(1))
            if m.group(2):
                end = min(size, int(m.group(2)) + 1)
            if start >= size:
                return self.simple(416, b"", [("Content-Range", "bytes */%d" % size)])
            partial = True
        length = end - start
        self.send_response(206 if partial else 200)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
        self.send_header("Content-Type", "application/octet-stream")
        if partial:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, size))
        self.end_headers()
        if head:
            return
        send = length
        if drop or mode == "cut":
            send = length // 2
        if mode == "stall":
            send = min(1024, length)
        with open(fpath, "rb") as f:
            f.seek(start)
            left = send
            while left > 0:
                data = f.read(min(CHUNK, left))
                if not data:
                    break
                try:
                    self.wfile.write(data)
                except OSError:
                    return
                left -= len(data)
        if mode == "stall":
            self.wfile.flush()
            time.sleep(60)
        if send < length:
            self.wfile.flush()
            self.close_connection = True
            # An abrupt close: the client sees a body shorter than promised.
            try:
                self.connection.shutdown(2)
            except OSError:
                pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.root = args.root
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
