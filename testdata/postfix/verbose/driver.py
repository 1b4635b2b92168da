#!/usr/bin/env python3
"""Drives the Postfix that make.sh started: one SMTP conversation per case.

Usage: driver.py PORT PHASE. Each message carries a Message-ID naming its
case, so labels.csv can be checked against the log. Prints one line per
case: case, client address, sender, recipients, and what the server said.
"""
import smtplib
import socket
import ssl
import sys
import time
from email.message import EmailMessage

PORT, PHASE = int(sys.argv[1]), sys.argv[2]
TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE


def message(case, sender, rcpts, subject):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = ", ".join(rcpts)
    m["Subject"] = subject
    m["Message-ID"] = "<%s.verbose@%s>" % (case, sender.split("@")[1])
    m.set_content("case %s\n" % case)
    return m


def send(case, src, sender, rcpts, subject="hello", helo="client.outside.test", tls=True):
    try:
        s = smtplib.SMTP("127.0.0.1", PORT, local_hostname=helo, source_address=(src, 0), timeout=30)
        s.ehlo()
        if tls and s.has_extn("starttls"):
            s.starttls(context=TLS)
            s.ehlo()
        refused = s.send_message(message(case, sender, rcpts, subject), sender, rcpts)
        s.quit()
        print(case, src, sender, rcpts, "accepted", refused or "")
    except smtplib.SMTPRecipientsRefused as e:
        print(case, src, sender, rcpts, "refused", e.recipients)
    except smtplib.SMTPException as e:
        print(case, src, sender, rcpts, "error", e)


def pregreet(case, src, rcpt):
    """Talks before the banner: postscreen's PREGREET test fails, and with
    postscreen_greet_action = enforce every RCPT is refused."""
    c = socket.create_connection(("127.0.0.1", PORT), source_address=(src, 0), timeout=30)
    c.sendall(b"EHLO bot.outside.test\r\n")
    f = c.makefile("rb")
    out = []
    for cmd in (None, b"MAIL FROM:<bot@outside.test>\r\n", b"RCPT TO:<%s>\r\n" % rcpt.encode(), b"QUIT\r\n"):
        if cmd:
            c.sendall(cmd)
        while True:
            l = f.readline()
            out.append(l.decode().strip())
            if not l or l[3:4] != b"-":
                break
    c.close()
    print(case, src, rcpt, out)


def hangup(case, src):
    """Connects and goes away inside the greet wait: postscreen's HANGUP."""
    c = socket.create_connection(("127.0.0.1", PORT), source_address=(src, 0), timeout=30)
    time.sleep(0.3)
    c.close()
    print(case, src, "hangup")


def denied(case, src):
    """A client on postscreen_access_list's reject list: DENYLISTED."""
    c = socket.create_connection(("127.0.0.1", PORT), source_address=(src, 0), timeout=30)
    try:
        print(case, src, c.recv(512))
    except OSError as e:
        print(case, src, e)
    c.close()


OUT = "127.0.0.9"    # an outside client
OPEN = "127.0.0.5"   # outside, but wrongly in Postfix's mynetworks
INSIDE = "127.0.0.1" # the trusted network

if PHASE == "1":
    send("c01-inbound", OUT, "alice@outside.test", ["bob@corp.test"])
    send("c02-relay-denied", OUT, "spammer@outside.test", ["victim@faraway.test"])
    send("c03-open-relay", OPEN, "spammer@outside.test", ["victim@faraway.test", "victim2@elsewhere.test"])
    send("c04-internal", INSIDE, "carol@corp.test", ["partner@outside.test"], tls=False)
    send("c05-bounce", INSIDE, "carol@corp.test", ["nosuchuser@outside.test"])
    send("c06-deferred", INSIDE, "dan@corp.test", ["later@outside.test"])
    send("c07-header-hold", OUT, "alice@outside.test", ["dave@corp.test"], subject="HOLDME please")
    send("c08-header-discard", OPEN, "spammer@outside.test", ["victim3@faraway.test"], subject="DISCARDME now")
    send("c09-header-warn", OUT, "alice@outside.test", ["bob@corp.test"], subject="WARNME maybe")
    send("c10-header-reject", OUT, "spammer@outside.test", ["eve@corp.test"], subject="REJECTME spam")
    send("c11-access-redirect", OUT, "alice@outside.test", ["redirect@corp.test"])
    send("c12-access-discard", OUT, "alice@outside.test", ["trap@corp.test"])
    send("c13-access-hold", OUT, "alice@outside.test", ["quarantine@corp.test"])
    send("c14-access-filter", OUT, "alice@outside.test", ["filter@corp.test"])
    send("c15-reject-warning", OUT, "alice@outside.test", ["bob@corp.test"], helo="pc")
    send("c16-error-transport", OUT, "alice@outside.test", ["nobody@corp.test"])
    send("c17-discard-transport", OUT, "alice@outside.test", ["x@blackhole.corp.test"])
    pregreet("c18-pregreet", "127.0.0.12", "victim@faraway.test")
    hangup("c19-hangup", "127.0.0.14")
    denied("c20-denylisted", "127.0.0.13")
    send("c21-pass-old", OUT, "alice@outside.test", ["bob@corp.test"], tls=False)
