#!/usr/bin/env python3
"""Writes the Exchange verbose sample (issue 19): the logs an Exchange 2019
server EXVB1 would write with protocol logging Verbose on every receive
connector and message tracking on, with every tracking event id of
Exchange 2010-2019 and the receive protocol's whole command set. Written
from Microsoft's documentation (message-tracking.md, protocol-logging.md)
and the shapes of the public samples in ../public; not a real server's
logs. Run it in this folder; it rewrites EXVB1/ and nothing else."""
import os

COLS = ("date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,"
        "internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,recipient-count,"
        "related-recipient-address,reference,message-subject,sender-address,return-path,message-info,directionality,"
        "tenant-id,original-client-ip,original-server-ip,custom-data,transport-traffic-type,log-id,schema-version").split(",")
PCOLS = "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context"
VER = "15.02.1544.004"
SRV, FQDN, IP = "EXVB1", "exvb1.fabrikam.example", "10.1.0.10"
NDR_FROM = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@fabrikam.example"


def csvf(v):
    v = str(v)
    if any(c in v for c in ',"'):
        return '"' + v.replace('"', '""') + '"'
    return v


def write(path, logtype, fields, rows, date):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        f.write("\ufeff#Software: Microsoft Exchange Server\r\n#Version: %s\r\n#Log-type: %s\r\n#Date: %s\r\n#Fields: %s\r\n"
                % (VER if logtype == "Message Tracking Log" else "15.0.0.0", logtype, date, fields))
        for r in rows:
            f.write(r + "\r\n")


trk, md, ms, ma = [], [], [], []
nlog = [0]


def t(dst, time, event, source, iid, mid, rcpts, **kw):
    nlog[0] += 1
    v = {"date-time": "2025-03-10T09:%sZ" % time, "server-hostname": SRV, "event-id": event, "source": source,
         "internal-message-id": iid, "message-id": mid, "recipient-address": rcpts,
         "recipient-count": str(len(rcpts.split(";"))) if rcpts else "", "total-bytes": kw.pop("size", "2100"),
         "transport-traffic-type": "Email", "log-id": "0000%04d-aaaa-bbbb-cccc-08dd5f000000" % nlog[0], "schema-version": VER}
    for k, val in kw.items():
        v[k.replace("_", "-")] = val
    dst.append(",".join(csvf(v.get(c, "")) for c in COLS))


proto, hub = [], []


class Session:
    def __init__(self, dst, connector, sid, local, remote, time):
        self.dst, self.c, self.sid, self.l, self.r, self.n, self.time = dst, connector, sid, local, remote, 0, time

    def __call__(self, event, data="", context="", sec=None):
        if sec:
            self.time = sec
        self.dst.append(",".join([("2025-03-10T09:%sZ" % self.time), csvf(self.c), self.sid, str(self.n), self.l, self.r,
                                  event, csvf(data), csvf(context)]))
        self.n += 1


def banner(s):
    s(">", "220 %s Microsoft ESMTP MAIL Service ready at Mon, 10 Mar 2025 10:%s +0100" % (FQDN, s.time[:5]))


EHLO = "250  %s Hello [%s] SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS AUTH NTLM X-EXPS GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING XRDST"
TLSOK = "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits"
CERT = " CN=%s CN=%s 3F0A1B2C4D5E6F70 0A1B2C3D4E5F60718293A4B5C6D7E8F901234567 2025-01-01T00:00:00.000Z 2027-01-01T00:00:00.000Z %s" % (FQDN, FQDN, FQDN)
CERTCTX = "Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names"


def queued(mid, iid, size):
    return "250 2.6.0 <%s> [InternalId=%s, Hostname=%s] %s bytes in 0.210, 372.024 KB/sec Queued mail for delivery" % (mid, iid, FQDN, size)


FE, CF, RA, HUBC = SRV + r"\Default Frontend " + SRV, SRV + r"\Client Frontend " + SRV, SRV + r"\Relay - Apps", SRV + r"\Default " + SRV
CP = SRV + r"\Client Proxy " + SRV
INTRA, INET = "Intra-Organization SMTP Send Connector", "To Internet"

# 1. Inbound over STARTTLS with BDAT chunks (two chunks), to a mailbox whose
# address the categorizer resolves to its primary address (RESOLVE).
s = Session(proto, FE, "08DD5F0000000001", IP + ":25", "198.51.100.20:50001", "01:00.100")
s("+"); banner(s); s("<", "EHLO mx.contoso-mail.example"); s(">", EHLO % (FQDN, "198.51.100.20"))
s("<", "STARTTLS"); s(">", "220 2.0.0 SMTP server ready"); s("*", CERT, CERTCTX); s("*", "", TLSOK)
s("*", "", "Client certificate chain validation status: 'EmptyCertificate'")
s("<", "EHLO mx.contoso-mail.example"); s(">", EHLO % (FQDN, "198.51.100.20"))
s("<", "MAIL FROM:<news@contoso-mail.example> SIZE=80000 BODY=BINARYMIME")
s("*", "08DD5F0000000001;2025-03-10T09:01:00.300Z;1", "receiving message"); s(">", "250 2.1.0 Sender OK")
s("<", "RCPT TO:<ana@fabrikam.example>"); s(">", "250 2.1.5 Recipient OK")
s("<", "BDAT 65536"); s(">", "250 2.6.0 CHUNK received OK, 65536 octets")
s("<", "BDAT 14464 LAST"); s("*", "", "Proxy destination(s) obtained from OnProxyInboundMessage event. Correlation Id:5b1f0e4c-3c2a-4a43-9d1e-7f7b3d2c1a00")
s(">", queued("m1@contoso-mail.example", "1001", 80000), sec="01:00.600"); s("<", "QUIT"); s(">", "221 2.0.0 Service closing transmission channel"); s("-", "", "Local")
M1 = "<m1@contoso-mail.example>"
t(trk, "01:00.550", "HAREDIRECTFAIL", "SMTP", "1001", M1, "ana@fabrikam.example", source_context="No suitable shadow servers", sender_address="news@contoso-mail.example", return_path="news@contoso-mail.example", directionality="Incoming")
t(trk, "01:00.551", "RECEIVE", "SMTP", "1001", M1, "ana@fabrikam.example", size="80000", client_ip=IP, client_hostname=FQDN, server_ip=IP, server_hostname=SRV,
  source_context="08DD5F00000000A1;2025-03-10T09:01:00.400Z;0", connector_id=HUBC, message_subject="March newsletter", sender_address="news@contoso-mail.example",
  return_path="news@contoso-mail.example", message_info="0cA: ", directionality="Incoming", original_client_ip="198.51.100.20", original_server_ip=IP,
  custom_data="S:ProxyHop1=%s(%s);S:FromEntity=Internet;S:ProxiedClientIPAddress=198.51.100.20;S:ProxiedClientHostname=mx.contoso-mail.example" % (FQDN, IP))
t(trk, "01:00.560", "AGENTINFO", "AGENT", "1001", M1, "ana@fabrikam.example", sender_address="news@contoso-mail.example", return_path="news@contoso-mail.example",
  directionality="Incoming", custom_data="S:CFA=SUM|SID=08DD5F00000000A1|SCL=1|SCORE=-1|LANG=en|DI=SN|SFV=NSPM")
t(trk, "01:00.570", "RESOLVE", "ROUTING", "1001", M1, "ana.ruiz@fabrikam.example", related_recipient_address="ana@fabrikam.example",
  sender_address="news@contoso-mail.example", return_path="news@contoso-mail.example", directionality="Incoming")
t(trk, "01:00.800", "SEND", "SMTP", "1001", M1, "ana.ruiz@fabrikam.example", client_ip=IP, client_hostname=SRV, server_ip=IP, server_hostname=FQDN,
  source_context=";250 2.0.0 OK;ClientSubmitTime:", connector_id=INTRA, recipient_status="250 2.1.5 Recipient OK", sender_address="news@contoso-mail.example",
  return_path="news@contoso-mail.example", directionality="Incoming")
t(md, "01:01.100", "DELIVER", "STOREDRIVER", "2001", M1, "ana.ruiz@fabrikam.example", client_ip=IP, client_hostname=FQDN, server_hostname=FQDN,
  source_context="08DD5F00000000B1;2025-03-10T09:01:00.900Z;ClientSubmitTime:", sender_address="news@contoso-mail.example", return_path="news@contoso-mail.example",
  directionality="Incoming", original_client_ip="198.51.100.20", custom_data="S:IncludeInSla=True;S:Mailboxes=5b1f0e4c-0001")
t(md, "01:01.101", "DUPLICATEDELIVER", "STOREDRIVER", "2001", M1, "ana.ruiz@fabrikam.example", sender_address="news@contoso-mail.example",
  return_path="news@contoso-mail.example", directionality="Incoming")
t(md, "01:01.102", "PROCESS", "STOREDRIVER", "2001", M1, "ana.ruiz@fabrikam.example", sender_address="news@contoso-mail.example", return_path="news@contoso-mail.example")

# 2. A relay attempt from the Internet, refused.
s = Session(proto, FE, "08DD5F0000000002", IP + ":25", "203.0.113.5:40000", "02:00.100")
s("+"); banner(s); s("<", "EHLO ylmf-pc"); s(">", EHLO % (FQDN, "203.0.113.5"))
s("<", "MAIL FROM:<spam@bad.example>"); s("*", "08DD5F0000000002;2025-03-10T09:02:00.200Z;1", "receiving message"); s(">", "250 2.1.0 Sender OK")
s("<", "RCPT TO:<victim@outside.example>"); s("*", "Tarpit for '0.00:00:05'", ""); s(">", "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain")
s("<", "QUIT"); s(">", "221 2.0.0 Service closing transmission channel"); s("-", "", "Local")

# 3. The open relay: an anonymous connector with Ms-Exch-SMTP-Accept-Any-
# Recipient reachable from the Internet. One recipient sent, the other
# dropped by a transport rule (DROP: not relayed).
s = Session(proto, RA, "08DD5F0000000003", "10.1.0.12:25", "203.0.113.77:41000", "03:00.100")
s("+"); s("*", "SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders", "Set Session Permissions")
banner(s); s("<", "HELO WIN-7QK2ABC"); s(">", "250 %s Hello [203.0.113.77]" % FQDN)
s("<", "MAIL FROM:<promo@cheap.example>"); s("*", "08DD5F0000000003;2025-03-10T09:03:00.200Z;1", "receiving message"); s(">", "250 2.1.0 Sender OK")
s("<", "RCPT TO:<x1@outside.example>"); s(">", "250 2.1.5 Recipient OK"); s("<", "RCPT TO:<y1@elsewhere.example>"); s(">", "250 2.1.5 Recipient OK")
s("<", "DATA"); s(">", "354 Start mail input; end with <CRLF>.<CRLF>"); s(">", queued("r1@cheap.example", "1002", 2100), sec="03:00.500")
s("<", "QUIT"); s(">", "221 2.0.0 Service closing transmission channel"); s("-", "", "Local")
R1 = "<r1@cheap.example>"
kw = dict(sender_address="promo@cheap.example", return_path="promo@cheap.example", directionality="Incoming")
t(trk, "03:00.450", "RECEIVE", "SMTP", "1002", R1, "x1@outside.example;y1@elsewhere.example", client_ip=IP, client_hostname=FQDN, server_ip=IP, server_hostname=SRV,
  source_context="08DD5F00000000A3;2025-03-10T09:03:00.300Z;0", connector_id=HUBC, message_subject="Best prices", message_info="0cA: ",
  original_client_ip="203.0.113.77", original_server_ip=IP, custom_data="S:FromEntity=Internet;S:ProxiedClientIPAddress=203.0.113.77;S:ProxiedClientHostname=WIN-7QK2ABC", **kw)
t(trk, "03:00.460", "AGENTINFO", "AGENT", "1002", R1, "x1@outside.example;y1@elsewhere.example", custom_data="S:TRA=ETR|ruleId=4f1c|st=2025-03-01|action=DeleteMessage", **kw)
t(trk, "03:00.470", "DROP", "AGENT", "1002", R1, "y1@elsewhere.example", recipient_status="550 4.3.2 QUEUE.TransportAgent; message deleted by the transport rules agent", **kw)
t(trk, "03:01.200", "SEND", "SMTP", "1002", R1, "x1@outside.example", client_ip=IP, client_hostname=SRV, server_ip="192.0.2.25", server_hostname="mx.outside.example",
  source_context=";250 2.0.0 Ok: queued as 4Zb1;ClientSubmitTime:", connector_id=INET, recipient_status="250 2.1.5 Ok", custom_data="S:ToEntity=Internet", **kw)

# 4. An authenticated client on 587; the categorizer forks the message
# (TRANSFER: the copy 1004 comes from 1003), the copy is sent, a shadow
# copy is made on EXVB2 and discarded once it is delivered.
s = Session(proto, CF, "08DD5F0000000004", IP + ":587", "192.0.2.50:52000", "04:00.100")
s("+"); banner(s); s("<", "EHLO laptop-dora"); s(">", EHLO % (FQDN, "192.0.2.50"))
s("<", "STARTTLS"); s(">", "220 2.0.0 SMTP server ready"); s("*", "", TLSOK)
s("<", "EHLO laptop-dora"); s(">", "250  %s Hello [192.0.2.50] SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES AUTH GSSAPI NTLM LOGIN 8BITMIME BINARYMIME CHUNKING" % FQDN)
s("<", "AUTH LOGIN"); s(">", "334 <authentication response>"); s(">", "334 <authentication response>")
s("*", "SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAuthenticationFlag SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender BypassAntiSpam BypassMessageSizeLimit AcceptRoutingHeaders", "Set Session Permissions")
s("*", r"FABRIKAM\dora", "authenticated"); s(">", "235 2.7.0 Authentication successful")
s("<", "MAIL FROM:<dora@fabrikam.example>"); s("*", "08DD5F0000000004;2025-03-10T09:04:00.400Z;1", "receiving message"); s(">", "250 2.1.0 Sender OK")
s("<", "RCPT TO:<partner@outside.example>"); s(">", "250 2.1.5 Recipient OK")
s("<", "DATA"); s(">", "354 Start mail input; end with <CRLF>.<CRLF>"); s(">", queued("d1@fabrikam.example", "1003", 15320), sec="04:00.700")
s("<", "QUIT"); s(">", "221 2.0.0 Service closing transmission channel"); s("-", "", "Local")
D1 = "<d1@fabrikam.example>"
kw = dict(sender_address="dora@fabrikam.example", return_path="dora@fabrikam.example", directionality="Originating")
t(trk, "04:00.650", "RECEIVE", "SMTP", "1003", D1, "partner@outside.example", client_ip=IP, client_hostname=FQDN, server_ip=IP, server_hostname=SRV,
  source_context="08DD5F00000000A4;2025-03-10T09:04:00.500Z;0", connector_id=CP, message_subject="Offer", original_client_ip="192.0.2.50", original_server_ip=IP, **kw)
t(trk, "04:00.660", "HAREDIRECT", "SMTP", "1003", D1, "partner@outside.example", source_context="exvb2.fabrikam.example", **kw)
t(trk, "04:00.670", "AGENTRECEIVE", "AGENT", "1003", D1, "partner@outside.example", **kw)
t(trk, "04:00.680", "TRANSFER", "ROUTING", "1004", D1, "partner@outside.example", reference="1003", source_context="Content conversion", **kw)
t(trk, "04:00.690", "AGENTSUBMIT", "AGENT", "1004", D1, "partner@outside.example", **kw)
t(trk, "04:01.300", "SEND", "SMTP", "1004", D1, "partner@outside.example", client_ip=IP, client_hostname=SRV, server_ip="192.0.2.26", server_hostname="mx.outside.example",
  source_context=";250 2.0.0 OK;ClientSubmitTime:", connector_id=INET, recipient_status="250 2.1.5 OK", **kw)
t(trk, "04:01.400", "HADISCARD", "REDUNDANCY", "1003", D1, "partner@outside.example", **kw)

# 5. Inbound to a mailbox forwarded to an outside address (REDIRECT), also
# resubmitted from Safety Net after a database switchover (RESUBMIT).
s = Session(proto, FE, "08DD5F0000000005", IP + ":25", "198.51.100.30:50500", "05:00.100")
s("+"); banner(s); s("<", "EHLO mail.partner.example"); s(">", EHLO % (FQDN, "198.51.100.30"))
s("<", "MAIL FROM:<joe@partner.example>"); s("*", "08DD5F0000000005;2025-03-10T09:05:00.200Z;1", "receiving message"); s(">", "250 2.1.0 Sender OK")
s("<", "RCPT TO:<ben@fabrikam.example>"); s(">", "250 2.1.5 Recipient OK")
s("<", "DATA"); s(">", "354 Start mail input; end with <CRLF>.<CRLF>"); s(">", queued("j1@partner.example", "1009", 4000), sec="05:00.500")
s("<", "QUIT"); s(">", "221 2.0.0 Service closing transmission channel"); s("-", "", "Local")
J1 = "<j1@partner.example>"
kw = dict(sender_address="joe@partner.example", return_path="joe@partner.example", directionality="Incoming")
t(trk, "05:00.450", "RECEIVE", "SMTP", "1009", J1, "ben@fabrikam.example", client_ip=IP, client_hostname=FQDN, server_ip=IP, server_hostname=SRV,
  source_context="08DD5F00000000A5;2025-03-10T09:05:00.300Z;0", connector_id=HUBC, message_subject="Lunch", original_client_ip="198.51.100.30", original_server_ip=IP, **kw)
t(trk, "05:00.460", "REDIRECT", "ROUTING", "1009", J1, "ben.private@elsewhere.example", related_recipient_address="ben@fabrikam.example", **kw)
t(trk, "05:00.470", "DUPLICATEREDIRECT", "ROUTING", "1009", J1, "ben.private@elsewhere.example", related_recipient_address="ben@fabrikam.example", **kw)
t(trk, "05:01.000", "SEND", "SMTP", "1009", J1, "ben.private@elsewhere.example", client_ip=IP, client_hostname=SRV, server_ip="192.0.2.27", server_hostname="mx.elsewhere.example",
  source_context=";250 2.0.0 OK;ClientSubmitTime:", connector_id=INET, recipient_status="250 2.1.5 OK", **kw)
t(trk, "20:00.000", "RESUBMIT", "SAFETYNET", "1013", J1, "ben.private@elsewhere.example", reference="1009", **kw)
t(trk, "20:00.010", "RESUBMITDEFER", "SAFETYNET", "1013", J1, "ben.private@elsewhere.example", **kw)
t(trk, "20:01.000", "SUPPRESSED", "ROUTING", "1013", J1, "ben.private@elsewhere.example", source_context="Duplicate of a delivered message", **kw)

# 6. From the other Exchange server (EXVB2, trusted) on the hub's Default
# connector (port 2525): X-ANONYMOUSTLS, X-EXPS, XSHADOW, XEXCH50, BDAT.
# To a distribution group that expands to two mailboxes (EXPAND), one of
# them twice (DUPLICATEEXPAND).
s = Session(hub, HUBC, "08DD5F00000000A6", IP + ":2525", "10.1.0.11:33000", "06:00.100")
s("+"); banner(s); s("<", "EHLO exvb2.fabrikam.example")
s(">", "250  %s Hello [10.1.0.11] SIZE PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS AUTH NTLM X-EXPS EXCHANGEAUTH GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING XEXCH50 XRDST XSHADOWREQUEST XPROXY XPROXYFROM XSESSIONPARAMS" % FQDN)
s("<", "X-ANONYMOUSTLS"); s(">", "220 2.0.0 SMTP server ready"); s("*", "", TLSOK)
s("<", "EHLO exvb2.fabrikam.example"); s(">", "250  %s Hello [10.1.0.11] SIZE PIPELINING X-EXPS EXCHANGEAUTH CHUNKING XEXCH50 XSHADOWREQUEST" % FQDN)
s("<", "X-EXPS EXCHANGEAUTH SHA256")
s("*", "SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAuthenticationFlag SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender BypassAntiSpam BypassMessageSizeLimit SMTPSendEXCH50 SMTPAcceptEXCH50 AcceptRoutingHeaders AcceptForestHeaders AcceptOrganizationHeaders SendRoutingHeaders SendForestHeaders SendOrganizationHeaders SMTPSendXShadow SMTPAcceptXShadow", "Set Session Permissions")
s("*", r"FABRIKAM\EXVB2$", "authenticated"); s(">", "235 <authentication response>")
s("<", "XSHADOW exvb2.fabrikam.example"); s(">", "250 XShadow OK")
s("<", "MAIL FROM:<ceo@partner.example> SIZE=3000 BODY=BINARYMIME"); s("*", "08DD5F00000000A6;2025-03-10T09:06:00.300Z;1", "receiving message"); s(">", "250 2.1.0 Sender OK")
s("<", "RCPT TO:<team@fabrikam.example>"); s(">", "250 2.1.5 Recipient OK")
s("<", "XEXCH50 1024 2"); s(">", "354 Send binary data"); s(">", "250 XEXCH50 OK")
s("<", "BDAT 3000 LAST"); s(">", queued("g1@partner.example", "1010", 3000), sec="06:00.500")
s("<", "QUIT"); s(">", "221 2.0.0 Service closing transmission channel"); s("-", "", "Local")
G1 = "<g1@partner.example>"
kw = dict(sender_address="ceo@partner.example", return_path="ceo@partner.example", directionality="Incoming")
t(trk, "06:00.450", "HARECEIVE", "SMTP", "1010", G1, "team@fabrikam.example", source_context="exvb2.fabrikam.example", **kw)
t(trk, "06:00.460", "RECEIVE", "SMTP", "1010", G1, "team@fabrikam.example", client_ip="10.1.0.11", client_hostname="exvb2.fabrikam.example", server_ip=IP, server_hostname=SRV,
  source_context="08DD5F00000000A6;2025-03-10T09:06:00.300Z;0", connector_id=HUBC, message_subject="All hands", original_client_ip="10.1.0.11", **kw)
t(trk, "06:00.470", "EXPAND", "ROUTING", "1010", G1, "cara@fabrikam.example;dan@fabrikam.example", related_recipient_address="team@fabrikam.example", **kw)
t(trk, "06:00.480", "DUPLICATEEXPAND", "ROUTING", "1010", G1, "dan@fabrikam.example", related_recipient_address="team@fabrikam.example", **kw)
t(trk, "06:00.900", "SEND", "SMTP", "1010", G1, "cara@fabrikam.example;dan@fabrikam.example", client_ip=IP, client_hostname=SRV, server_ip=IP, server_hostname=FQDN,
  source_context=";250 2.0.0 OK;ClientSubmitTime:", connector_id=INTRA, recipient_status="250 2.1.5 Recipient OK;250 2.1.5 Recipient OK", **kw)
t(md, "06:01.100", "DELIVER", "STOREDRIVER", "2002", G1, "cara@fabrikam.example;dan@fabrikam.example", client_ip=IP, client_hostname=FQDN, server_hostname=FQDN, **kw)
t(trk, "06:01.200", "NOTIFYSHADOW", "SMTP", "1010", G1, "team@fabrikam.example", **kw)

# 7. A file in the pickup directory that can be neither delivered nor
# returned (BADMAIL).
kw = dict(sender_address="svc@fabrikam.example", return_path="svc@fabrikam.example", directionality="Originating")
t(trk, "07:00.000", "RECEIVE", "PICKUP", "1005", "<p1@fabrikam.example>", "report@outside.example", source_context="C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Pickup\\job1.eml",
  recipient_status="To", **kw)
t(trk, "07:00.100", "BADMAIL", "PICKUP", "1005", "<p1@fabrikam.example>", "report@outside.example", source_context="Badmail: malformed recipient header", **kw)

# 8. Inbound (tracking only: no receive session) to an unknown mailbox:
# FAIL, then the NDR (DSN) is sent to the outside sender.
kw = dict(sender_address="alerts@monitor.example", return_path="alerts@monitor.example", directionality="Incoming")
N1 = "<n1@monitor.example>"
t(trk, "08:00.000", "RECEIVE", "SMTP", "1006", N1, "nobody@fabrikam.example", client_ip=IP, client_hostname=FQDN, server_ip=IP, server_hostname=SRV,
  source_context="08DD5F00000000A8;2025-03-10T09:08:00.000Z;0", connector_id=HUBC, original_client_ip="198.51.100.40", message_info="0cA: ",
  custom_data="S:FromEntity=Internet", **kw)
t(trk, "08:00.100", "FAIL", "ROUTING", "1006", N1, "nobody@fabrikam.example",
  recipient_status="[{LED=550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup};{MSG=};{FQDN=};{IP=};{LRT=}]", **kw)
t(trk, "08:00.200", "DSN", "DSN", "1007", "<ndr1@%s>" % FQDN, "alerts@monitor.example", reference=N1, sender_address=NDR_FROM, return_path="<>",
  message_subject="Undeliverable: disk alert", directionality="Originating")
t(trk, "08:01.000", "SEND", "SMTP", "1007", "<ndr1@%s>" % FQDN, "alerts@monitor.example", client_ip=IP, client_hostname=SRV, server_ip="192.0.2.28", server_hostname="mx.monitor.example",
  source_context=";250 2.0.0 OK;ClientSubmitTime:", connector_id=INET, recipient_status="250 2.1.5 OK", sender_address=NDR_FROM, return_path="<>", directionality="Originating")

# 9. An internal application (trusted) to an outside domain that is down:
# DEFER, the service restarts (LOAD, and a POISONMESSAGE it survived), the
# queue throttles, then FAIL (QUEUE.Expired) and an NDR to the app's
# mailbox, delivered on this server.
kw = dict(sender_address="app@fabrikam.example", return_path="app@fabrikam.example", directionality="Originating")
A1 = "<a1@fabrikam.example>"
t(trk, "09:00.000", "RECEIVE", "SMTP", "1011", A1, "outage@slow-partner.example", client_ip="10.2.0.5", client_hostname="app01.fabrikam.example", server_ip=IP, server_hostname=SRV,
  source_context="08DD5F00000000A9;2025-03-10T09:09:00.000Z;0", connector_id=HUBC, original_client_ip="10.2.0.5", **kw)
t(trk, "09:01.000", "DEFER", "QUEUE", "1011", A1, "outage@slow-partner.example", recipient_status="451 4.4.316 Connection refused", **kw)
t(trk, "30:00.000", "LOAD", "BOOTLOADER", "1011", A1, "outage@slow-partner.example", **kw)
t(trk, "30:00.001", "POISONMESSAGE", "POISONMESSAGE", "1011", A1, "outage@slow-partner.example", **kw)
t(trk, "30:05.000", "THROTTLE", "QUEUE", "1011", A1, "outage@slow-partner.example", **kw)
t(trk, "59:00.000", "FAIL", "QUEUE", "1011", A1, "outage@slow-partner.example",
  recipient_status="[{LED=550 4.4.7 QUEUE.Expired; message expired};{MSG=};{FQDN=mx.slow-partner.example};{IP=192.0.2.29};{LRT=}]", **kw)
t(trk, "59:00.100", "DSN", "DSN", "1012", "<ndr2@%s>" % FQDN, "app@fabrikam.example", reference=A1, sender_address=NDR_FROM, return_path="<>",
  message_subject="Undeliverable: nightly export", directionality="Originating")
t(trk, "59:01.000", "SEND", "SMTP", "1012", "<ndr2@%s>" % FQDN, "app@fabrikam.example", client_ip=IP, client_hostname=SRV, server_ip=IP, server_hostname=FQDN,
  source_context=";250 2.0.0 OK;ClientSubmitTime:", connector_id=INTRA, recipient_status="250 2.1.5 Recipient OK", sender_address=NDR_FROM, return_path="<>", directionality="Originating")

# 10. Outlook (MAPI): Mailbox Transport Submission (MSGTRKMS) submits to the
# hub, which sends it to Exchange Online (SENDEXTERNAL, hybrid); a second
# submission is deferred then fails in the mailbox (SUBMITDEFER,
# SUBMITFAIL) and never reaches transport.
O1 = "<o1@fabrikam.example>"
mapi = "MDB:7a1b2c3d-0000-4000-8000-000000000001, Mailbox:7a1b2c3d-0000-4000-8000-000000000002, Event:12345, MessageClass:IPM.Note, CreationTime:2025-03-10T09:10:00.000Z, ClientType:MOMT, SubmissionAssistant:MailboxTransportSubmissionEmailAssistant"
t(ms, "10:00.100", "NOTIFYMAPI", "STOREDRIVER", "", "", "", source_context=mapi, sender_address="eve@fabrikam.example")
t(ms, "10:00.200", "RECEIVE", "STOREDRIVER", "3001", O1, "vendor@outside.example", source_context=mapi, recipient_status="To", sender_address="eve@fabrikam.example",
  return_path="eve@fabrikam.example", message_subject="PO 7731", directionality="Originating", original_client_ip="10.3.0.44")
t(ms, "10:00.300", "SUBMIT", "STOREDRIVER", "3001", O1, "vendor@outside.example", source_context=mapi, sender_address="eve@fabrikam.example",
  return_path="eve@fabrikam.example", directionality="Originating")
kw = dict(sender_address="eve@fabrikam.example", return_path="eve@fabrikam.example", directionality="Originating")
t(trk, "10:00.500", "RECEIVE", "SMTP", "1014", O1, "vendor@outside.example", client_ip=IP, client_hostname=FQDN, server_ip=IP, server_hostname=SRV,
  source_context="08DD5F00000000AA;2025-03-10T09:10:00.400Z;0", connector_id=HUBC, original_client_ip="10.3.0.44", **kw)
t(trk, "10:01.000", "SENDEXTERNAL", "SMTP", "1014", O1, "vendor@outside.example", client_ip=IP, client_hostname=SRV, server_ip="40.92.0.10",
  server_hostname="fabrikam-mail.onmicrosoft.example", source_context=";250 2.6.0 Queued mail for delivery;ClientSubmitTime:", connector_id="Outbound to Office 365 - 8f3a",
  recipient_status="250 2.1.5 Recipient OK", custom_data="S:ToEntity=Hosted", **kw)
t(ms, "11:00.100", "SUBMITDEFER", "STOREDRIVER", "3002", "<o2@fabrikam.example>", "vendor@outside.example", source_context=mapi,
  sender_address="eve@fabrikam.example", custom_data="S:DiagnosticInfo=Stage:Submit;Error:MapiExceptionNetworkError")
t(ms, "11:05.100", "SUBMITFAIL", "STOREDRIVER", "3002", "<o2@fabrikam.example>", "vendor@outside.example", source_context=mapi, sender_address="eve@fabrikam.example")
t(ms, "11:06.000", "CLIENTSUBMISSION", "STOREDRIVER", "3003", "<o3@fabrikam.example>", "vendor@outside.example", sender_address="eve@fabrikam.example")
t(ms, "11:07.000", "PROCESSMEETINGMESSAGE", "MEETINGMESSAGEPROCESSOR", "3004", "<o4@fabrikam.example>", "eve@fabrikam.example", sender_address="eve@fabrikam.example")

# 11. Moderation (MSGTRKMA): a message to a moderated group is held for the
# moderator (INITMESSAGECREATED), approved once, rejected once, one expires,
# one gets every moderator's NDR.
for i, ev in enumerate(["INITMESSAGECREATED", "MODERATORAPPROVE", "MODERATORREJECT", "MODERATIONEXPIRE", "MODERATORSALLNDR"]):
    t(ma, "12:0%d.000" % i, ev, "APPROVAL", "4001", "<mod1@partner.example>", "board@fabrikam.example", sender_address="joe@partner.example",
      return_path="joe@partner.example", directionality="Incoming", message_subject="Proposal")

base = "EXVB1/TransportRoles/Logs/"
write(base + "FrontEnd/ProtocolLog/SmtpReceive/RECV2025031009-1.LOG", "SMTP Receive Protocol Log", PCOLS, proto, "2025-03-10T09:00:00.051Z")
write(base + "Hub/ProtocolLog/SmtpReceive/RECV2025031009-1.LOG", "SMTP Receive Protocol Log", PCOLS, hub, "2025-03-10T09:00:00.052Z")
write(base + "MessageTracking/MSGTRK2025031009-1.LOG", "Message Tracking Log", ",".join(COLS), trk, "2025-03-10T09:00:00.053Z")
write(base + "MessageTracking/MSGTRKMD2025031009-1.LOG", "Message Tracking Log", ",".join(COLS), md, "2025-03-10T09:00:00.054Z")
write(base + "MessageTracking/MSGTRKMS2025031009-1.LOG", "Message Tracking Log", ",".join(COLS), ms, "2025-03-10T09:00:00.055Z")
write(base + "MessageTracking/MSGTRKMA2025031009-1.LOG", "Message Tracking Log", ",".join(COLS), ma, "2025-03-10T09:00:00.056Z")
