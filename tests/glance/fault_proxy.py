#!/usr/bin/python3
"""A fault-injecting HTTP proxy in front of Glance, for imgtool's tests.

    fault_proxy.py --target 127.0.0.1:9292 --port-file F [--cut-put-after N]
                   [--rewrite-hash] [--throttle BYTES_PER_S] [--log-tokens FILE]
                   [--put-target HOST:PORT]

Listens on 127.0.0.1 (a free port, written to --port-file once listening) and
forwards every request to --target, one request per connection (it asks
upstream for "Connection: close"). Faults:
  --cut-put-after N   a PUT .../file or .../stage: forward the head and N body
                      bytes, then reset both connections (a network cut).
  --rewrite-hash      GET /v2/images/{id}: replace os_hash_value in the JSON
                      answer with 128 'f' (a server that stored other bytes).
  --throttle R        forward PUT bodies at about R bytes/s (for SIGINT tests).
  --hold-create S     POST /v2/images: forward it, read Glance's whole answer,
                      then hold it S seconds before passing it on (a signal
                      that arrives while the create's answer is on its way).
  --drop-create       POST /v2/images: forward it, read Glance's answer (the
                      image now exists), then reset the client's connection
                      instead of answering (a create cut after the server).
  --stall-put-after N a PUT .../file or .../stage: forward the head and N body
                      bytes, then stop reading (both connections stay open: a
                      stalled transfer, for --timeout).
  --hold-answer S     a PUT .../file: forward the whole body, then hold
                      Glance's answer S seconds (a server still writing to
                      its store after the last byte; no stall).
  --cut-get-after N   the first --cut-get-times (default 1) GET .../file
                      answers: forward the head and N body bytes, then reset
                      the client's connection (a download cut by the network).
  --put-target H:P    send PUT .../file and .../stage to this other Glance
                      process (same database and store), everything else to
                      --target: like a load balancer whose upload worker dies.
Observation:
  --log-tokens FILE   append "METHOD PATH TOKEN-SHA256[:16]" for every request
                      (which token each call carried, not the token itself).
  --log-ranges FILE   append "PATH RANGE" for every GET .../file ("-" when it
                      asked for no Range).
Only the standard library; run with /usr/bin/python3.
"""
import argparse
import hashlib
import json
import re
import socket
import struct
import threading
import time


LOG_LOCK = threading.Lock()
CUTS_LEFT = [0]


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 1 << 20:
            return None, b""
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def read_all(sock):
    """Everything the peer sends until it closes (upstream answers with Connection: close)."""
    data = b""
    while True:
        b = sock.recv(65536)
        if not b:
            return data
        data += b


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def pump(src, dst, stop):
    try:
        while not stop.is_set():
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def handle(client, args):
    upstream = None
    try:
        head, rest = read_head(client)
        if head is None:
            return
        lines = head.split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = [l for l in lines[1:] if not l.lower().startswith(("connection:", "keep-alive:"))]
        headers.append("Connection: close")
        if args.log_tokens:
            tok = next((l.split(":", 1)[1].strip() for l in headers if l.lower().startswith("x-auth-token:")), "")
            digest = hashlib.sha256(tok.encode()).hexdigest()[:16] if tok else "-"
            with LOG_LOCK, open(args.log_tokens, "a") as f:
                f.write("%s %s %s\n" % (method, path, digest))
        is_file_get = method == "GET" and re.search(r"/v2/images/[^/]+/file$", path.split("?")[0])
        if is_file_get and args.log_ranges:
            rng = next((l.split(":", 1)[1].strip() for l in headers if l.lower().startswith("range:")), "-")
            with LOG_LOCK, open(args.log_ranges, "a") as f:
                f.write("%s %s\n" % (path, rng))
        cut_get = False
        if is_file_get and args.cut_get_after is not None:
            with LOG_LOCK:
                cut_get = CUTS_LEFT[0] > 0
                CUTS_LEFT[0] -= 1 if cut_get else 0
        is_put = method == "PUT" and re.search(r"/(file|stage)$", path)
        host, port = (args.put_target if is_put and args.put_target else args.target).split(":")
        upstream = socket.create_connection((host, int(port)))
        upstream.sendall(("\r\n".join([lines[0]] + headers) + "\r\n\r\n").encode("latin-1"))
        is_show = method == "GET" and re.fullmatch(r"/v2/images/[0-9a-fA-F-]{36}", path.split("?")[0])
        is_create = method == "POST" and path.split("?")[0].rstrip("/") == "/v2/images"
        stop = threading.Event()
        if cut_get:
            if rest:
                upstream.sendall(rest)
            rhead, body = read_head(upstream)
            if rhead is None:
                return
            client.sendall((rhead + "\r\n\r\n").encode("latin-1"))
            sent = 0
            while sent < args.cut_get_after:
                if not body:
                    body = upstream.recv(65536)
                    if not body:
                        break
                n = min(len(body), args.cut_get_after - sent)
                client.sendall(body[:n])
                sent += n
                body = body[n:]
            time.sleep(0.2)
            reset(client)
            reset(upstream)
            return
        if is_create and (args.hold_create or args.drop_create):
            length = next((int(l.split(":", 1)[1]) for l in headers if l.lower().startswith("content-length:")), 0)
            body = rest
            while len(body) < length:
                b = client.recv(65536)
                if not b:
                    break
                body += b
            upstream.sendall(body)
            resp = read_all(upstream)
            if args.drop_create:
                reset(client)
                return
            time.sleep(args.hold_create)
            client.sendall(resp)
            return
        if args.rewrite_hash and is_show:
            if rest:
                upstream.sendall(rest)
            resp = read_all(upstream)
            rhead, body = resp.split(b"\r\n\r\n", 1)
            try:
                j = json.loads(body)
                if j.get("os_hash_value"):
                    j["os_hash_value"] = "f" * 128
                body = json.dumps(j).encode()
            except ValueError:
                pass
            rlines = [l for l in rhead.decode("latin-1").split("\r\n") if not l.lower().startswith("content-length:")]
            rlines.append("Content-Length: %d" % len(body))
            client.sendall(("\r\n".join(rlines) + "\r\n\r\n").encode("latin-1") + body)
            return
        if is_put and args.stall_put_after is not None:
            length = args.stall_put_after
            body = rest
            while len(body) < length:
                b = client.recv(65536)
                if not b:
                    break
                body += b
            upstream.sendall(body[:length])
            time.sleep(3600)
            return
        if is_put and args.hold_answer:
            length = next((int(l.split(":", 1)[1]) for l in headers if l.lower().startswith("content-length:")), None)
            got = len(rest)
            tail = rest[-5:]
            if rest:
                upstream.sendall(rest)
            # The body's end: its Content-Length, or the last chunk of a chunked body.
            while (got < length) if length is not None else not tail.endswith(b"0\r\n\r\n"):
                b = client.recv(65536)
                if not b:
                    break
                upstream.sendall(b)
                got += len(b)
                tail = (tail + b)[-5:]
            resp = read_all(upstream)
            time.sleep(args.hold_answer)
            client.sendall(resp)
            return
        back = threading.Thread(target=pump, args=(upstream, client, stop), daemon=True)
        back.start()
        if is_put and (args.cut_put_after is not None or args.throttle):
            sent = 0
            buf = rest
            t0 = time.monotonic()
            while True:
                if not buf:
                    buf = client.recv(65536)
                    if not buf:
                        break
                if args.cut_put_after is not None and sent + len(buf) >= args.cut_put_after:
                    upstream.sendall(buf[: args.cut_put_after - sent])
                    time.sleep(0.2)
                    stop.set()
                    reset(upstream)
                    reset(client)
                    return
                step = buf[:16384] if args.throttle else buf
                upstream.sendall(step)
                sent += len(step)
                buf = buf[len(step):]
                if args.throttle:
                    ahead = sent / args.throttle - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
            try:
                upstream.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        else:
            if rest:
                upstream.sendall(rest)
            pump(client, upstream, stop)
        back.join()
    except OSError:
        pass
    finally:
        for s in (client, upstream):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--cut-put-after", type=int)
    p.add_argument("--rewrite-hash", action="store_true")
    p.add_argument("--throttle", type=int, default=0)
    p.add_argument("--log-tokens")
    p.add_argument("--put-target")
    p.add_argument("--hold-create", type=float, default=0)
    p.add_argument("--drop-create", action="store_true")
    p.add_argument("--stall-put-after", type=int)
    p.add_argument("--hold-answer", type=float, default=0)
    p.add_argument("--cut-get-after", type=int)
    p.add_argument("--cut-get-times", type=int, default=1)
    p.add_argument("--log-ranges")
    args = p.parse_args()
    CUTS_LEFT[0] = args.cut_get_times
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c, args), daemon=True).start()


if __name__ == "__main__":
    main()
