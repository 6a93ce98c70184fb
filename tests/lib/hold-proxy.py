#!/usr/bin/python3
# A TCP forwarder on 127.0.0.1 that can HOLD the client->server bytes on command, as a network
# partition holds packets: while held, what clients send is kept in the proxy, not forwarded
# (server->client bytes still pass). On release the proxy forwards what it holds for connections
# that are still open, and a held FIN after them; the held bytes of a connection the client
# reset (RST) are dropped, as a network drops them.
#   hold-proxy.py LISTEN_PORT UPSTREAM_PORT CONTROL_FILE   (runs until killed)
# CONTROL_FILE holds "hold" or "pass" (polled every 50 ms). Events go to stdout, one a line:
#   "state hold" / "state pass", "held conn=N bytes=B" (the first held bytes of a connection),
#   "dropped conn=N bytes=B (client reset)", "released conn=N bytes=B".
# Lock rule: one lock guards every connection's buffer and flags and the hold state.
import socket
import struct
import sys
import threading
import time

lock = threading.Lock()
holding = False
conns = []  # Conn objects, guarded by lock


def say(msg):
    print(msg, flush=True)


class Conn:
    def __init__(self, n, client, upstream):
        self.n, self.c, self.u = n, client, upstream
        self.buf = bytearray()  # held client->server bytes
        self.client_eof = False  # the client sent FIN (forwarded after the held bytes)
        self.dead = False
        self.reported = False

    def forward_held(self):  # with lock held
        if self.dead:
            return
        if self.buf:
            say(f"released conn={self.n} bytes={len(self.buf)}")
            try:
                self.u.sendall(bytes(self.buf))
            except OSError:
                pass
            self.buf.clear()
        if self.client_eof:
            try:
                self.u.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def kill(self, why):  # with lock held
        if self.buf:
            say(f"dropped conn={self.n} bytes={len(self.buf)} ({why})")
        self.buf.clear()
        self.dead = True
        for s in (self.c, self.u):
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            except OSError:
                pass


def client_to_server(conn):
    while True:
        try:
            data = conn.c.recv(65536)
        except ConnectionResetError:
            with lock:
                conn.kill("client reset")
            return
        except OSError:
            with lock:
                conn.kill("client error")
            return
        with lock:
            if conn.dead:
                return
            if not data:
                conn.client_eof = True
                if not holding:
                    conn.forward_held()
                return
            if holding or conn.buf:
                if not conn.reported:
                    say(f"held conn={conn.n} bytes={len(data)}")
                    conn.reported = True
                conn.buf += data
                continue
        try:
            conn.u.sendall(data)
        except OSError:
            with lock:
                conn.kill("server error")
            return


def server_to_client(conn):
    try:
        while True:
            data = conn.u.recv(65536)
            if not data:
                break
            conn.c.sendall(data)
    except OSError:
        pass
    try:
        conn.c.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def control(path):
    global holding
    last = None
    while True:
        try:
            with open(path) as f:
                want = f.read().strip()
        except OSError:
            want = "pass"
        if want != last:
            with lock:
                holding = want == "hold"
                if not holding:
                    for conn in conns:
                        conn.forward_held()
                        conn.reported = False
                say("state " + ("hold" if holding else "pass"))
            last = want
        time.sleep(0.05)


def main():
    listen, upstream, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen))
    srv.listen(128)
    threading.Thread(target=control, args=(ctl,), daemon=True).start()
    say("listening")
    n = 0
    while True:
        c, _ = srv.accept()
        try:
            u = socket.create_connection(("127.0.0.1", upstream), timeout=10)
            u.settimeout(None)
        except OSError:
            c.close()
            continue
        n += 1
        conn = Conn(n, c, u)
        with lock:
            conns.append(conn)
        threading.Thread(target=client_to_server, args=(conn,), daemon=True).start()
        threading.Thread(target=server_to_client, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
