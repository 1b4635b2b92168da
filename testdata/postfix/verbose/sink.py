#!/usr/bin/env python3
"""A small SMTP sink for make.sh: the "internet" and the internal mail store.

Listens on 127.0.0.1:PORT, offers STARTTLS (with the cert and key given),
accepts every recipient except those whose local part starts with "nosuch"
(550 5.1.1, a bounce) or "later" (451 4.3.0, a deferral). Messages are
thrown away. Runs until killed.
"""
import socket
import socketserver
import ssl
import sys

PORT, CERT, KEY = int(sys.argv[1]), sys.argv[2], sys.argv[3]
CTX = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
CTX.load_cert_chain(CERT, KEY)


class Handler(socketserver.StreamRequestHandler):
    def send(self, s):
        self.wfile.write(s.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.send("220 sink.outside.test ESMTP")
        n = 0
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.decode("latin-1").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-sink.outside.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
                self.wfile.flush()
            elif verb == "STARTTLS":
                self.send("220 2.0.0 go ahead")
                conn = CTX.wrap_socket(self.connection, server_side=True)
                self.connection = conn
                self.rfile = conn.makefile("rb")
                self.wfile = conn.makefile("wb")
            elif verb == "MAIL":
                self.send("250 2.1.0 ok")
            elif verb == "RCPT":
                local = cmd.split("<", 1)[-1].lower()
                if local.startswith("nosuch"):
                    self.send("550 5.1.1 no such user here")
                elif local.startswith("later"):
                    self.send("451 4.3.0 try again later")
                else:
                    self.send("250 2.1.5 ok")
            elif verb == "DATA":
                self.send("354 go on")
                while True:
                    l = self.rfile.readline()
                    if not l or l in (b".\r\n", b".\n"):
                        break
                n += 1
                self.send("250 2.0.0 Ok: queued as SINK%04d" % n)
            elif verb == "QUIT":
                self.send("221 2.0.0 bye")
                return
            else:
                self.send("250 ok")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
