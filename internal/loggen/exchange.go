package loggen

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// exchange logs the scenarios as an Exchange Server 2019 Mailbox server,
// EXCH01, in the shapes of testdata/exchange/dev (notes/exchange-formats.md):
// the Front End Transport service takes every SMTP session and writes the
// receive protocol log; it proxies each message to the Transport service,
// which writes message tracking (MSGTRK); mailbox deliveries are tracked by
// Mailbox Transport Delivery (MSGTRKMD), Outlook submissions by Mailbox
// Transport Submission (MSGTRKMS). The two sides join in the Front End's
// "250 2.6.0 <message-id> [InternalId=N, Hostname=H]" reply: N is the
// internal-message-id of the hub's rows.
//
//	2026-03-02T06:01:33.090Z,EXCH01\Relay - Apps,08DE5A3C7B31010F,7,10.20.0.6:25,81.48.159.232:44507,<,RCPT TO:<john.kim@news.example>,
//	2026-03-02T06:01:33.114Z,EXCH01\Relay - Apps,08DE5A3C7B31010F,10,10.20.0.6:25,81.48.159.232:44507,>,250 2.1.5 Recipient OK,
//	2026-03-02T06:01:33.807Z,EXCH01\Relay - Apps,08DE5A3C7B31010F,15,10.20.0.6:25,81.48.159.232:44507,>,"250 2.6.0 <20260302060133.268a19a9ba.381@gmail.example> [InternalId=30818263506288, Hostname=exch01.corp.example] 13534 bytes in 0.074, 178.605 KB/sec Queued mail for delivery",
//	2026-03-02T06:01:33.667Z,10.20.0.5,exch01.corp.example,10.20.0.5,EXCH01,08DE5A3C80B4011F;2026-03-02T06:01:33.092Z;0,EXCH01\Default EXCH01,SMTP,RECEIVE,30818263506288,<20260302060133.268a19a9ba.381@gmail.example>,...,0cA: ,Incoming,,81.48.159.232,10.20.0.5,...
//	2026-03-02T06:01:35.730Z,10.20.0.5,EXCH01,198.51.18.149,mx.news.example,;250 2.0.0 OK  1772388966 4470644efb6abf32 - gsmtp;ClientSubmitTime:,To Internet,SMTP,SEND,30818263506288,...
//
// Receive connectors: "Default Frontend EXCH01" (port 25, anonymous
// Internet mail: inbound, forwarding, refused relay attempts), "Client
// Frontend EXCH01" (port 587, STARTTLS and AUTH LOGIN: authenticated
// submission, password guessing) and "Relay - Apps" (a second address, port
// 25, anonymous with Ms-Exch-SMTP-Accept-Any-Recipient, meant for the
// application hosts in 10.20.0.0/16 but reachable from the Internet: the
// open relay the abusers find). The Internet send connector is "To
// Internet". Outlook users' messages (the scenarios' local submissions)
// arrive by MAPI: MSGTRKMS rows, then the hub's.
type exchange struct {
	g        *gen
	files    *exFiles
	sessions map[*sess]*exSession

	deflt, client, relay exConnector

	feSID, hubSID, mdSID uint64 // session ids of the Front End, the hub, the delivery service
	hubID, mdID, msID    uint64 // internal-message-ids of the Transport, Delivery and Submission services

	buf []byte
}

const (
	exHost   = "EXCH01"
	exFQDN   = "exch01.corp.example"
	exIP     = "10.20.0.5"
	exRelay  = "10.20.0.6" // the second address the relay connector listens on
	exDomain = "corp.example"
	exSchema = "15.02.1544.004"
	// exSystem is the sender of the NDRs Exchange generates
	// (message-tracking.md, DSN).
	exSystem  = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@" + exDomain
	exForest  = ";S:DeliveryPriority=Normal;S:AccountForest=" + exDomain
	exCert    = " CN=exch01.corp.example CN=R11, O=Let's Encrypt, C=US 04A1B2C3D4E5F60718293A4B5C6D7E8F 5B7E151628AED2A6ABF7158809CF4F3C762E7160 2026-01-20T06:12:44.000Z 2026-04-20T06:12:43.000Z exch01.corp.example;autodiscover.corp.example"
	exTLS     = "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits"
	exLatency = "|SMR=0.121(SMRDE=0.003|SMRC=0.118(SMRCL=0.102|X-SMRCR=0.118))|CAT=0.176(CATRESL=0.004|CATORES=0.140(CATRS=0.139(CATRS-Transport Rule Agent=0.002(X-ETREX=0.002)|CATRS-Index Routing Agent=0.131)))|QDE=0.015|SMSC=0.010|SMS=0.950"
	// The permissions a session gets (receive-connectors.md; printed in
	// flag order): an authenticated user's, and the anonymous ones plus
	// Ms-Exch-SMTP-Accept-Any-Recipient of the relay connector.
	exAuthPerms  = "SMTPSubmit SMTPAcceptAnyRecipient BypassAntiSpam AcceptRoutingHeaders"
	exRelayPerms = "SMTPSubmit SMTPAcceptAnyRecipient SMTPAcceptAnySender SMTPAcceptAuthoritativeDomainSender AcceptRoutingHeaders"
)

// exZone is the server's local time, seen only in the 220 banner.
var exZone = time.FixedZone("EST", -5*3600)

var exSubjects = []string{
	"Invoice 10-2291", "Re: Invoice 10-2291", "Meeting notes, Q1 review", `Your order "ACME-4471" has shipped`,
	"Réunion jeudi – ordre du jour", "Fw: contract draft", "Scanned document", "Lunch?", "Quarterly report",
	"Rechnung Nr. 4711", "You have won a gift card", "Password expiry notice", "",
}

// exConnector is a Front End receive connector.
type exConnector struct {
	id      string // connector-id
	local   string // local-endpoint
	ehlo    string // EHLO keywords before STARTTLS
	ehloTLS string // and after
	hub     string // the hub receive connector its messages arrive on
	perms   string // Set Session Permissions of an anonymous session, if logged
}

// exSession is what the Front End log needs to know of a session.
type exSession struct {
	id     string
	conn   *exConnector // nil until the first line
	remote string
	seq    int
	hubSID string // the session the Front End proxies its messages through
	from   string // MAIL FROM of the open transaction
	inTxn  bool
	txns   int   // transactions so far, for "receiving message"
	mailMs int64 // time of the open transaction's MAIL FROM
	perms  bool
}

// exMsg is a message the hub queued.
type exMsg struct {
	id         uint64
	mid        string // with <>
	netID      string
	subject    string
	size       int
	sender     string // envelope sender, "" for <>
	header     string // sender-address
	direction  string
	fromNet    bool   // from the Internet: custom-data S:FromEntity=Internet
	origClient string // original-client-ip of the hub's RECEIVE
	recvMs     int64
}

func newExchange(g *gen) *exchange {
	e := &exchange{g: g, files: newExFiles(g, g.opt.Dir), sessions: map[*sess]*exSession{}}
	e.deflt = exConnector{
		id: exHost + `\Default Frontend ` + exHost, local: exIP + ":25",
		ehlo:    "SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS AUTH NTLM X-EXPS GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING SMTPUTF8 XRDST",
		ehloTLS: "SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES AUTH NTLM LOGIN X-EXPS GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING SMTPUTF8 XRDST",
		hub:     exHost + `\Default ` + exHost,
	}
	e.client = exConnector{
		id: exHost + `\Client Frontend ` + exHost, local: exIP + ":587",
		ehlo:    "SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS AUTH GSSAPI NTLM 8BITMIME BINARYMIME CHUNKING SMTPUTF8",
		ehloTLS: "SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES AUTH GSSAPI NTLM LOGIN 8BITMIME BINARYMIME CHUNKING SMTPUTF8",
		hub:     exHost + `\Client Proxy ` + exHost,
	}
	e.relay = exConnector{
		id: exHost + `\Relay - Apps`, local: exRelay + ":25",
		ehlo:    "SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES STARTTLS X-ANONYMOUSTLS 8BITMIME BINARYMIME CHUNKING SMTPUTF8",
		ehloTLS: "SIZE 37748736 PIPELINING DSN ENHANCEDSTATUSCODES 8BITMIME BINARYMIME CHUNKING SMTPUTF8",
		hub:     exHost + `\Default ` + exHost,
		perms:   exRelayPerms,
	}
	// Session ids are .NET tick counts of about the service's start, one
	// more per session (notes b); internal ids grow per service.
	seed := g.opt.Seed & 0xffff
	e.feSID = 0x08DE5A3C7B210000 + seed<<20
	e.hubSID = 0x08DE5A3C80A40000 + seed<<20
	e.mdSID = 0x08DE5A3C8F130000 + seed<<20
	e.hubID = 30817263500000 + seed*1000000000
	e.mdID = 30817263900000 + seed*1000000000
	e.msID = 30817264300000 + seed*1000000000
	return e
}

func (e *exchange) start(atMs int64) {}

// noise writes a row no parser maps: a mailbox assistant's notification
// (MSGTRKMS NOTIFYMAPI of a system message).
func (e *exchange) noise(atMs int64) {
	g := e.g
	created := stampMs(atMs - g.between(5, 40))
	e.track(exTrkMS, atMs, &trk{
		clientIP: exIP, clientHost: exHost,
		sourceContext: "MDB:" + e.guid() + ", Mailbox:" + e.guid() + ", Event:" + itoa(190000000+uint64(g.rng.IntN(9000000))) +
			", MessageClass:IPM.Note.StorageQuotaWarning.Warning, CreationTime:" + created + ", ClientType:System",
		source: "STOREDRIVER", event: "NOTIFYMAPI", noSize: true,
		sender: pick(g, mailboxes) + "@" + exDomain,
		info:   created + ";LSRV=" + exFQDN + ":TOTAL-SUB=0.013|SA=0.013|MTSS-PEN=0.000",
		custom: "S:ItemEntryId=00-00-00-00-" + strings.ToUpper(e.hex(16)),
	})
}

// fill writes n lines of noise after the last line, straight to the
// files: in the hour of the first, so that at most one more file (and
// header) is needed, which n has room for (exReserve).
func (e *exchange) fill(n int) error {
	f := e.files
	t := f.lastMs
	var hourEnd int64
	for n > 0 {
		t += e.g.between(0, 2000)
		if hourEnd != 0 {
			t = min(t, hourEnd)
		}
		e.g.reset()
		e.noise(t)
		l := e.g.cur.lines[0]
		e.g.reset()
		before := e.g.stats.Lines
		if err := f.write(l); err != nil {
			return err
		}
		n -= e.g.stats.Lines - before
		if hourEnd == 0 {
			hourEnd = (t/3600000+1)*3600000 - 1
			f.filling = true
		}
	}
	return nil
}

// Sessions. The connector is chosen at the session's first command: the
// scenario says what the client does, and that decides where it connected.

func (e *exchange) open(atMs int64, c client, tls bool) *sess {
	s := &sess{c: c, tls: tls, atMs: atMs}
	e.feSID++
	e.hubSID++
	e.sessions[s] = &exSession{
		id:     fmt.Sprintf("%016X", e.feSID),
		hubSID: fmt.Sprintf("%016X", e.hubSID),
		remote: c.ip + ":" + strconv.Itoa(1024+e.g.rng.IntN(64511)),
	}
	return s
}

// recv writes a receive protocol log row of s at s.atMs.
func (e *exchange) recv(s *sess, x *exSession, event, data, context string) {
	b := e.buf[:0]
	b = append(b, ',')
	b = appendField(b, x.conn.id)
	b = append(b, ',')
	b = append(b, x.id...)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(x.seq), 10)
	b = append(b, ',')
	b = append(b, x.conn.local...)
	b = append(b, ',')
	b = append(b, x.remote...)
	b = append(b, ',')
	b = append(b, event...)
	b = append(b, ',')
	b = appendField(b, data)
	b = append(b, ',')
	b = appendField(b, context)
	e.buf = b
	e.g.addTo(exRecv, s.atMs, string(b))
	x.seq++
}

// begin writes the start of s on connector conn, unless it has started:
// connect, banner, EHLO and, with tls, STARTTLS and EHLO again.
func (e *exchange) begin(s *sess, conn *exConnector, tls bool) *exSession {
	g := e.g
	x := e.sessions[s]
	if x.conn != nil {
		return x
	}
	x.conn = conn
	e.recv(s, x, "+", "", "")
	s.atMs += g.between(0, 3)
	e.recv(s, x, ">", "220 "+exFQDN+" Microsoft ESMTP MAIL Service ready at "+
		time.UnixMilli(s.atMs).In(exZone).Format("Mon, 02 Jan 2006 15:04:05 -0700"), "")
	s.atMs += g.between(80, 900)
	e.recv(s, x, "<", "EHLO "+s.c.helo, "")
	s.atMs += g.between(0, 3)
	e.recv(s, x, ">", "250  "+exFQDN+" Hello ["+s.c.ip+"] "+conn.ehlo, "")
	if !tls {
		return x
	}
	s.atMs += g.between(20, 150)
	e.recv(s, x, "<", "STARTTLS", "")
	e.recv(s, x, ">", "220 2.0.0 SMTP server ready", "")
	e.recv(s, x, "*", exCert, "Sending certificate Subject Issuer name Serial number Thumbprint Not before Not after Subject alternate names")
	s.atMs += g.between(40, 250)
	e.recv(s, x, "*", "", exTLS)
	s.atMs += g.between(40, 200)
	e.recv(s, x, "<", "EHLO "+s.c.helo, "")
	s.atMs++
	e.recv(s, x, "*", "", "Client certificate chain validation status: 'EmptyCertificate'")
	e.recv(s, x, "*", "", "TlsDomainCapabilities='None'; Status='NoRemoteCertificate'")
	e.recv(s, x, ">", "250  "+exFQDN+" Hello ["+s.c.ip+"] "+conn.ehloTLS, "")
	return x
}

func (e *exchange) close(s *sess) {
	g := e.g
	x := e.begin(s, &e.deflt, s.tls)
	delete(e.sessions, s)
	s.atMs += g.between(5, 200)
	if x.conn == &e.deflt && x.txns > 0 && x.inTxn && g.chance(0.3) {
		// A bot refused everything it tried and hangs up.
		e.recv(s, x, "-", "", "Remote(ConnectionReset)")
		return
	}
	e.recv(s, x, "<", "QUIT", "")
	e.recv(s, x, ">", "221 2.0.0 Service closing transmission channel", "")
	e.recv(s, x, "-", "", "Local")
}

// authFail writes one failed AUTH LOGIN on the Client Frontend connector,
// in the shape of a 2016 log (notes b): the reason and the user name share
// a sequence number. Exchange offers LOGIN, not PLAIN, so method is moot.
func (e *exchange) authFail(s *sess, method, user string) {
	g := e.g
	x := e.begin(s, &e.client, true)
	s.atMs += g.between(500, 4000)
	e.recv(s, x, "<", "AUTH LOGIN", "")
	x.seq++ // the challenge exchange takes a number
	s.atMs++
	e.recv(s, x, ">", "334 <authentication response>", "")
	s.atMs += g.between(200, 1500)
	e.recv(s, x, "*", "", "Inbound AUTH LOGIN failed because of LogonDenied")
	x.seq--
	e.recv(s, x, "*", "", "User Name: "+user)
	s.atMs += g.between(0, 5)
	e.recv(s, x, ">", "535 5.7.3 Authentication unsuccessful", "")
}

// auth writes a successful AUTH LOGIN (dev set, Veritas sample).
func (e *exchange) auth(s *sess, x *exSession, user string) {
	g := e.g
	s.atMs += g.between(20, 300)
	e.recv(s, x, "<", "AUTH LOGIN", "")
	x.seq++
	s.atMs++
	e.recv(s, x, ">", "334 <authentication response>", "")
	s.atMs += g.between(300, 1500)
	e.recv(s, x, "*", exAuthPerms, "Set Session Permissions")
	e.recv(s, x, "*", `CORP\`+user, "authenticated")
	e.recv(s, x, ">", "235 2.7.0 Authentication successful", "")
	s.authed = true
}

// mailFrom starts a transaction; with pipelined, the reply is left to the
// caller.
func (e *exchange) mailFrom(s *sess, x *exSession, sender string, size int, pipelined bool) {
	g := e.g
	s.atMs += g.between(30, 300)
	cmd := "MAIL FROM:<" + sender + ">"
	if size > 0 {
		cmd += " SIZE=" + strconv.Itoa(size)
	}
	e.recv(s, x, "<", cmd, "")
	if x.conn.perms != "" && !x.perms {
		x.perms = true
		e.recv(s, x, "*", x.conn.perms, "Set Session Permissions")
	}
	x.txns++
	x.inTxn, x.from, x.mailMs = true, sender, s.atMs
	e.recv(s, x, "*", x.id+";"+stampMs(s.atMs)+";"+strconv.Itoa(x.txns), "receiving message")
	if !pipelined {
		s.atMs += g.between(0, 2)
		e.recv(s, x, ">", "250 2.1.0 Sender OK", "")
	}
}

// reject writes a refused RCPT on the Default Frontend connector: relay
// (after a tarpit) or an unknown local recipient (recipient filtering).
// Exchange 2016/2019 answer relay with 5.7.54; a quarter of the refusals
// use the older "550 5.7.1 Unable to relay" (2013 SP1, Q&A 179653) so that
// both shapes are read.
func (e *exchange) reject(s *sess, sender, rcpt string, relay bool) {
	g := e.g
	x := e.begin(s, &e.deflt, s.tls)
	if !x.inTxn || x.from != sender {
		e.mailFrom(s, x, sender, 0, false)
	}
	s.atMs += g.between(30, 400)
	e.recv(s, x, "<", "RCPT TO:<"+rcpt+">", "")
	label := LabelInbound
	if relay {
		label = LabelRelayRejected
		e.recv(s, x, "*", "Tarpit for '0.00:00:05'", "")
		s.atMs += 5000 + g.between(0, 20)
		why := "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain"
		if g.chance(0.25) {
			why = "550 5.7.1 Unable to relay"
		}
		e.recv(s, x, ">", why, "")
	} else {
		s.atMs += g.between(1, 20)
		e.recv(s, x, ">", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "")
	}
	g.label(truthRow{queueID: x.id, clientIP: s.c.ip, sender: sender, rcpt: rcpt, label: label, auth: s.authed, notes: "rejected"})
}

// connectorFor is where a session whose first act is to send m connected.
func (e *exchange) connectorFor(m *message) *exConnector {
	if m.authUser != "" {
		return &e.client
	}
	for _, r := range m.rcpts {
		if r.how == toRemote {
			return &e.relay
		}
	}
	return &e.deflt
}

func (e *exchange) accept(s *sess, m *message) {
	g := e.g
	g.cur.msgs++
	conn := e.connectorFor(m)
	x := e.begin(s, conn, s.tls || conn == &e.client)
	if m.authUser != "" && !s.authed {
		e.auth(s, x, m.authUser)
	}
	size := 600 + g.rng.IntN(40000)
	pipelined := x.conn != &e.client && g.chance(0.6)
	mail := !x.inTxn || x.from != m.sender
	if mail {
		e.mailFrom(s, x, m.sender, size, pipelined)
	}
	for _, r := range m.rcpts {
		if !pipelined {
			s.atMs += g.between(20, 200)
		}
		e.recv(s, x, "<", "RCPT TO:<"+r.addr+">", "")
		if !pipelined {
			s.atMs += g.between(0, 3)
			e.recv(s, x, ">", "250 2.1.5 Recipient OK", "")
		}
	}
	if pipelined {
		s.atMs += g.between(20, 200)
		if mail {
			e.recv(s, x, ">", "250 2.1.0 Sender OK", "")
		}
		for range m.rcpts {
			e.recv(s, x, ">", "250 2.1.5 Recipient OK", "")
		}
	}
	s.atMs += g.between(20, 200)
	bdat := x.conn == &e.deflt && g.chance(0.3)
	if bdat {
		e.recv(s, x, "<", "BDAT "+strconv.Itoa(size)+" LAST", "")
	} else {
		e.recv(s, x, "<", "DATA", "")
		e.recv(s, x, ">", "354 Start mail input; end with <CRLF>.<CRLF>", "")
	}
	dataMs := s.atMs
	s.atMs += g.between(150, 900)
	e.recv(s, x, "*", "", "Proxy destination(s) obtained from OnProxyInboundMessage event. Correlation Id:"+e.guid())

	// The hub receives the message just before the Front End answers.
	mm := &exMsg{
		mid: "<" + g.messageID(dataMs, senderDomain(m.sender)) + ">", size: size, sender: m.sender, header: m.sender,
		subject: pick(g, exSubjects), direction: "Incoming", fromNet: true, origClient: s.c.ip,
	}
	if m.sender == "" {
		mm.header = "MAILER-DAEMON@" + senderDomain(s.c.name)
	}
	info := "0cA: "
	if m.authUser != "" {
		mm.direction, mm.fromNet, info = "Originating", false, ""
	}
	s.atMs += g.between(100, 400)
	e.receive(s.atMs-g.between(90, 160), mm, x.conn.hub, x.hubSID+";"+stampMs(x.mailMs+g.between(1, 5))+";0", info, m.rcpts,
		"S:ProxyHop1="+exFQDN+"("+exIP+");S:MessageValue=MediumHigh;S:Replication=Failed;S:FirstForestHop="+exFQDN+
			fromEntity(mm.fromNet)+";S:ProxiedClientIPAddress="+s.c.ip+";S:ProxiedClientHostname="+s.c.helo+exForest)
	secs := float64(g.between(60, 900)) / 1000
	e.recv(s, x, ">", fmt.Sprintf("250 2.6.0 %s [InternalId=%d, Hostname=%s] %d bytes in %.3f, %.3f KB/sec Queued mail for delivery",
		mm.mid, mm.id, exFQDN, size, secs, float64(size)/1024/secs), "")
	x.inTxn, x.from = false, ""

	row := truthRow{messageID: mm.mid, queueID: strconv.FormatUint(mm.id, 10), clientIP: s.c.ip, auth: m.authUser != "", sender: m.sender}
	e.route(mm, m, row)
}

func fromEntity(internet bool) string {
	if internet {
		return ";S:FromEntity=Internet"
	}
	return ""
}

// submit is a message an Outlook user sent: the Mailbox Transport
// Submission service picks it up from the mailbox (MSGTRKMS NOTIFYMAPI,
// RECEIVE and SUBMIT, source STOREDRIVER) and hands it to the hub, which
// receives it by SMTP from this server (message-tracking.md's
// mailbox-to-mailbox example).
func (e *exchange) submit(atMs int64, m *message) {
	g := e.g
	g.cur.msgs++
	ws := pick(g, g.insiders).ip
	mm := &exMsg{
		mid: "<" + strings.ToUpper(e.hex(32)) + "@" + exHost + "." + exDomain + ">", size: 500 + g.rng.IntN(60000),
		sender: m.sender, header: m.sender, subject: pick(g, exSubjects), direction: "Originating",
	}
	mdb, mbx := e.guid(), e.guid()
	created := stampMs(atMs - g.between(5, 200))
	ctx := "MDB:" + mdb + ", Mailbox:" + mbx + ", Event:" + itoa(190000000+uint64(g.rng.IntN(9000000))) +
		", MessageClass:IPM.Note, CreationTime:" + created + ", ClientType:" + pick(g, []string{"MOMT", "MOMT", "OWA", "AirSync"})
	e.track(exTrkMS, atMs, &trk{clientIP: ws, clientHost: exHost, sourceContext: ctx, source: "STOREDRIVER", event: "NOTIFYMAPI",
		noSize: true, sender: m.sender, info: created + ";LSRV=" + exFQDN + ":TOTAL-SUB=0.013|SA=0.013|MTSS-PEN=0.000",
		custom: "S:ItemEntryId=00-00-00-00-" + strings.ToUpper(e.hex(16))})
	e.msID += 1 + uint64(g.rng.IntN(30))
	mm.netID = e.guid()
	rcpts := make([]string, len(m.rcpts))
	to := make([]string, len(m.rcpts))
	for i, r := range m.rcpts {
		rcpts[i], to[i] = r.addr, "To"
	}
	t := atMs + g.between(5, 40)
	e.track(exTrkMS, t, &trk{clientIP: ws, clientHost: exHost, serverHost: exFQDN, sourceContext: ctx, source: "STOREDRIVER", event: "RECEIVE",
		id: e.msID, msgID: mm.mid, netID: mm.netID, rcpts: rcpts, statuses: to, bytes: mm.size, subject: mm.subject,
		sender: mm.sender, returnPath: mm.sender, info: "04I: ", direction: "Originating", origClient: ws, origServer: exIP,
		custom: "S:MailboxDatabaseGuid=" + mdb + exForest})
	t += g.between(2, 20)
	e.track(exTrkMS, t, &trk{clientIP: ws, clientHost: exHost, serverIP: exIP, serverHost: exFQDN, sourceContext: ctx, source: "STOREDRIVER", event: "SUBMIT",
		id: e.msID, msgID: mm.mid, netID: mm.netID, rcpts: rcpts, bytes: mm.size, subject: mm.subject,
		sender: mm.sender, returnPath: mm.sender, info: created, direction: "Originating", origClient: ws, origServer: exIP,
		custom: "S:ItemEntryId=00-00-00-00-" + strings.ToUpper(e.hex(16)) + exForest})
	e.hubSID++
	t += g.between(30, 300)
	e.receive(t, mm, exHost+`\Default `+exHost, fmt.Sprintf("%016X", e.hubSID)+";"+stampMs(t-g.between(5, 40))+";0", "04I: ", m.rcpts,
		"S:FirstForestHop="+exFQDN+exForest)
	e.route(mm, m, truthRow{messageID: mm.mid, queueID: strconv.FormatUint(mm.id, 10), clientIP: ws, sender: m.sender, notes: "mailbox_submission"})
}

// receive writes the hub's HAREDIRECTFAIL and RECEIVE rows of a new
// message at atMs and numbers it.
func (e *exchange) receive(atMs int64, mm *exMsg, connector, sourceContext, info string, rs []rcpt, custom string) {
	g := e.g
	e.hubID += 1 + uint64(g.rng.IntN(40))
	mm.id, mm.recvMs = e.hubID, atMs
	if mm.netID == "" {
		mm.netID = e.guid()
	}
	rcpts := make([]string, len(rs))
	for i, r := range rs {
		rcpts[i] = r.addr
	}
	e.track(exTrk, atMs-2, &trk{serverHost: exHost, sourceContext: "No suitable shadow servers", source: "SMTP", event: "HAREDIRECTFAIL",
		msg: mm, rcpts: rcpts, custom: "S:DeliveryPriority=Normal;S:OriginalFromAddress=" + mm.header + ";S:AccountForest=" + exDomain})
	e.track(exTrk, atMs, &trk{clientIP: exIP, clientHost: exFQDN, serverIP: exIP, serverHost: exHost, sourceContext: sourceContext,
		connector: connector, source: "SMTP", event: "RECEIVE", msg: mm, rcpts: rcpts, info: info,
		origClient: mm.origClient, origServer: exIP, custom: custom})
}

// route writes what the hub does with each recipient of m, queued as mm,
// and their truth rows (row has the message's fields).
func (e *exchange) route(mm *exMsg, m *message, row truthRow) {
	g := e.g
	t := mm.recvMs
	if mm.fromNet && g.chance(0.5) {
		t += g.between(10, 80)
		e.track(exTrk, t, &trk{serverHost: exHost, source: "AGENT", event: "AGENTINFO", msg: mm, rcpts: addrs(m.rcpts),
			custom: "S:AMA=SUM|v=0|action=|error=|atch=0;S:TRA=ETR|ruleId=|st=" + stampMs(t-40) + "|action=|sev=|mode=;S:CompCost=|ETR=0" + exForest})
	}
	var local []string // mailbox addresses to deliver to
	seen := map[string]bool{}
	outside := map[string][]rcpt{} // sent at the first try, by domain
	var domains []string
	var bounces []rcpt
	notes := row.notes
	for _, r := range m.rcpts {
		row.rcpt, row.label, row.notes = r.addr, r.label, notes
		switch r.how {
		case toMailbox:
			// An address that is not the mailbox's primary one (another
			// accepted domain, a proxy address) is resolved to it.
			addr := r.to + "@" + exDomain
			if addr != r.addr && !seen[addr] {
				t += g.between(2, 20)
				e.track(exTrk, t, &trk{serverHost: exHost, source: "ROUTING", event: "RESOLVE", msg: mm, rcpts: []string{addr}, related: r.addr})
			} else {
				addr = r.addr
			}
			if !seen[addr] {
				seen[addr] = true
				local = append(local, addr)
			}
		case toVirtualFwd, toDotForward:
			// Mailbox forwarding to an outside address: the categorizer
			// redirects the recipient (ForwardingSmtpAddress).
			t += g.between(2, 20)
			e.track(exTrk, t, &trk{serverHost: exHost, source: "ROUTING", event: "REDIRECT", msg: mm, rcpts: []string{r.to}, related: r.addr})
			d := domainOf(r.to)
			if outside[d] == nil {
				domains = append(domains, d)
			}
			outside[d] = append(outside[d], rcpt{addr: r.to, to: r.to})
			row.notes = joinNotes(notes, "redirect="+r.to)
		case toRemote:
			switch r.fate {
			case deferred:
				e.deferred(mm, r.to, t)
			case bounced:
				bounces = append(bounces, r)
			default:
				d := domainOf(r.to)
				if outside[d] == nil {
					domains = append(domains, d)
				}
				outside[d] = append(outside[d], r)
			}
		}
		g.label(row)
	}
	if len(local) > 0 {
		e.deliverLocal(mm, local, t)
	}
	for _, d := range domains {
		e.sendOut(mm, outside[d], t+g.between(300, 3000))
	}
	for _, r := range bounces {
		e.bounce(mm, r, t+g.between(300, 3000), row)
	}
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + ";" + b
}

func addrs(rs []rcpt) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.addr
	}
	return out
}

// deliverLocal writes the hub's SEND to the mailbox service and its
// DELIVER (MSGTRKMD).
func (e *exchange) deliverLocal(mm *exMsg, rcpts []string, atMs int64) {
	g := e.g
	t := atMs + g.between(100, 800)
	ok := make([]string, len(rcpts))
	for i := range ok {
		ok[i] = "250 2.1.5 Recipient OK"
	}
	total := float64(t-mm.recvMs) / 1000
	e.track(exTrk, t, &trk{clientIP: exIP, clientHost: exHost, serverIP: exIP, serverHost: exFQDN, sourceContext: ";250 2.0.0 OK;ClientSubmitTime:",
		connector: "Intra-Organization SMTP Send Connector", source: "SMTP", event: "SEND", msg: mm, rcpts: rcpts, statuses: ok,
		info:   fmt.Sprintf("%s;LSRV=%s:TOTAL-HUB=%.3f%s", stampMs(mm.recvMs), exFQDN, total, exLatency),
		custom: fmt.Sprintf("S:E2ELatency=%.3f;S:MsgRecipCount=%d;S:IncludeInSla=True;S:IsSmtpResponseFromExternalServer=False%s", total, len(rcpts), exForest)})
	e.mdSID++
	e.mdID += 1 + uint64(g.rng.IntN(30))
	d := t + g.between(150, 700)
	lat := float64(d-t) / 1000
	e.track(exTrkMD, d, &trk{clientIP: exIP, clientHost: exFQDN, serverHost: exFQDN,
		sourceContext: fmt.Sprintf("%016X;%s;ClientSubmitTime:", e.mdSID, stampMs(t+g.between(5, 30))), source: "STOREDRIVER", event: "DELIVER",
		id: e.mdID, msgID: mm.mid, netID: mm.netID, rcpts: rcpts, bytes: mm.size, subject: mm.subject, sender: mm.header, returnPath: returnPath(mm.sender),
		info:      fmt.Sprintf("%s;SRV=%s:TOTAL-DEL=%.3f|HSDR=0.041|SDD=0.170(SDDR=0.152)", stampMs(mm.recvMs), exFQDN, lat),
		direction: mm.direction, origClient: mm.origClient, origServer: exIP,
		custom: fmt.Sprintf("S:IncludeInSla=True;S:MailboxDatabaseGuid=%s;S:Mailboxes=%s;S:DeliveryLatency=%.3f;S:E2ELatency=%.3f%s",
			e.guid(), e.guid(), lat, float64(d-mm.recvMs)/1000, exForest)})
}

// sendOut writes a SEND through the Internet send connector of rs, all at
// one domain (one next hop), at atMs.
func (e *exchange) sendOut(mm *exMsg, rs []rcpt, atMs int64) {
	g := e.g
	to := make([]string, len(rs))
	ok := make([]string, len(rs))
	for i, r := range rs {
		to[i], ok[i] = r.to, pick(g, []string{"250 2.1.5 Ok", "250 2.1.5 Recipient OK", "250 2.1.5 OK"})
	}
	host, ip := mx(domainOf(to[0]))
	total := float64(atMs-mm.recvMs) / 1000
	e.track(exTrk, atMs, &trk{clientIP: exIP, clientHost: exHost, serverIP: ip, serverHost: host,
		sourceContext: ";" + e.g.remoteReply("250 2.0.0 Message accepted for delivery") + ";ClientSubmitTime:", connector: "To Internet", source: "SMTP", event: "SEND",
		msg: mm, rcpts: to, statuses: ok,
		info: fmt.Sprintf("%s;LSRV=%s:TOTAL-HUB=%.3f%s", stampMs(mm.recvMs), exFQDN, total, exLatency),
		custom: fmt.Sprintf("S:E2ELatency=%.3f;S:ExternalSendLatency=0.402;S:ToEntity=Internet%s;S:MsgRecipCount=%d;S:IncludeInSla=True;"+
			"S:Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel=Opportunistic;S:IsSmtpResponseFromExternalServer=True%s",
			total, fromEntity(mm.fromNet), len(to), exForest)})
}

// deferred writes a DEFER (the remote host did not answer) and the SEND
// of a later retry.
func (e *exchange) deferred(mm *exMsg, to string, atMs int64) {
	g := e.g
	host, ip := mx(domainOf(to))
	t := atMs + 21000 + g.between(0, 3000)
	led := `441 4.4.1 Error encountered while communicating with primary target IP address: "Failed to connect. Winsock error code: 10060, Win32 error code: 10060." ` +
		"Attempted failover to alternate host, but that did not succeed. Either there are no alternate hosts, or delivery failed to all alternate hosts. The last endpoint attempted was " + ip + ":25"
	e.track(exTrk, t, &trk{clientIP: exIP, clientHost: exHost, serverIP: ip, serverHost: host, connector: "To Internet", source: "SMTP", event: "DEFER",
		msg: mm, rcpts: []string{to}, statuses: []string{"[{LED=" + led + "};{MSG=};{FQDN=" + host + "};{IP=" + ip + "};{LRT=" + stampMs(t) + "}]"},
		info: stampMs(mm.recvMs), custom: "S:ToEntity=Internet" + exForest})
	e.sendOut(mm, []rcpt{{addr: to, to: to}}, t+g.between(60000, 600000))
}

// bounce writes a remote refusal of r (FAIL), the NDR Exchange generates
// for the sender (DSN) and the NDR's delivery, and the NDR's truth row.
func (e *exchange) bounce(mm *exMsg, r rcpt, atMs int64, row truthRow) {
	g := e.g
	host, ip := mx(domainOf(r.to))
	led := "550 5.1.1 <" + r.to + ">: Recipient address rejected: User unknown in virtual mailbox table"
	e.track(exTrk, atMs, &trk{clientIP: exIP, clientHost: exHost, serverIP: ip, serverHost: host, connector: "To Internet", source: "SMTP", event: "FAIL",
		msg: mm, rcpts: []string{r.to}, statuses: []string{"[{LED=" + led + "};{MSG=};{FQDN=" + host + "};{IP=" + ip + "};{LRT=}]"},
		info: stampMs(mm.recvMs), custom: "S:ToEntity=Internet;S:IsSmtpResponseFromExternalServer=True" + exForest})
	if mm.sender == "" {
		return // no notification about a notification
	}
	g.cur.msgs++
	ndr := &exMsg{mid: "<" + strings.ToLower(e.hex(32)) + "@" + exFQDN + ">", size: 4000 + g.rng.IntN(3000), header: exSystem,
		subject: "Undeliverable: " + mm.subject, direction: "Originating"}
	e.hubID += 1 + uint64(g.rng.IntN(40))
	ndr.id, ndr.netID, ndr.recvMs = e.hubID, e.guid(), atMs+g.between(5, 60)
	e.track(exTrk, ndr.recvMs, &trk{serverHost: exHost, source: "DSN", event: "DSN", msg: ndr, rcpts: []string{mm.sender},
		reference: mm.mid, custom: "S:DsnType=Failure" + exForest})
	if isLocal(mm.sender) {
		e.deliverLocal(ndr, []string{mm.sender}, ndr.recvMs)
	} else {
		e.sendOut(ndr, []rcpt{{addr: mm.sender, to: mm.sender}}, ndr.recvMs+g.between(300, 3000))
	}
	g.label(truthRow{messageID: ndr.mid, queueID: strconv.FormatUint(ndr.id, 10), rcpt: mm.sender, label: LabelSystemBounce,
		notes: "dsn_for=" + row.queueID + ";bounced=" + r.addr})
}

func returnPath(sender string) string {
	if sender == "" {
		return "<>"
	}
	return sender
}

// trk is one message tracking row, date-time aside. msg, when set, fills
// internal-message-id, message-id, network-message-id, total-bytes,
// subject, sender-address, return-path and directionality.
type trk struct {
	clientIP, clientHost, serverIP, serverHost, sourceContext, connector, source, event string

	msg                                             *exMsg
	id                                              uint64 // without msg; 0 is empty
	msgID, netID                                    string
	rcpts, statuses                                 []string
	bytes                                           int
	noSize                                          bool // total-bytes and recipient-count empty
	related, reference, subject, sender, returnPath string
	info, direction, origClient, origServer, custom string
}

// track writes a tracking row to stream at atMs.
func (e *exchange) track(stream uint8, atMs int64, r *trk) {
	if m := r.msg; m != nil {
		r.id, r.msgID, r.netID, r.bytes, r.subject = m.id, m.mid, m.netID, m.size, m.subject
		r.sender, r.returnPath, r.direction = m.header, returnPath(m.sender), m.direction
	}
	b := e.buf[:0]
	for _, f := range [...]string{r.clientIP, r.clientHost, r.serverIP, r.serverHost, r.sourceContext, r.connector, r.source, r.event} {
		b = append(b, ',')
		b = appendField(b, f)
	}
	b = append(b, ',')
	if r.id != 0 {
		b = strconv.AppendUint(b, r.id, 10)
	}
	b = append(b, ',')
	b = appendField(b, r.msgID)
	b = append(b, ',')
	b = append(b, r.netID...)
	b = append(b, ',')
	b = appendField(b, strings.Join(r.rcpts, ";"))
	b = append(b, ',')
	b = appendField(b, strings.Join(r.statuses, ";"))
	b = append(b, ',')
	if !r.noSize {
		b = strconv.AppendInt(b, int64(r.bytes), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(len(r.rcpts)), 10)
	} else {
		b = append(b, ',')
	}
	for _, f := range [...]string{r.related, r.reference, r.subject, r.sender, r.returnPath, r.info, r.direction, "", r.origClient, r.origServer, r.custom} {
		b = append(b, ',')
		b = appendField(b, f)
	}
	b = append(b, ",Email,"...)
	b = append(b, e.guid()...)
	b = append(b, ',')
	b = append(b, exSchema...)
	e.buf = b
	e.g.addTo(stream, atMs, string(b))
}

// guid returns a random GUID in Exchange's lower-case form.
func (e *exchange) guid() string {
	h := e.hex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// hex returns n random lower-case hex digits (n <= 32).
func (e *exchange) hex(n int) string {
	const digits = "0123456789abcdef"
	var b [32]byte
	a, c := e.g.rng.Uint64(), e.g.rng.Uint64()
	for i := range 16 {
		b[i], b[16+i] = digits[a>>(4*i)&15], digits[c>>(4*i)&15]
	}
	return string(b[:n])
}
