// Package exchange parses the transport logs Microsoft Exchange writes: the
// message tracking log (MSGTRK*.LOG), the SMTP Receive and Send protocol logs
// (RECV*.LOG, SEND*.LOG) of Exchange 2007–2019, the IIS SMTP service's W3C
// log used by Exchange 2000/2003 (exYYMMDD.log) and Exchange Online message
// trace CSV exports.
//
// Every file starts with a header that names its columns, and a data row is
// read by those names, never by position (the column list grew between
// versions). A message tracking row:
//
//	#Fields: date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,...
//	2025-02-06T14:37:54.529Z,172.16.4.10,exsrv2.nwtraders.example,172.16.4.10,EXSRV2,08DD435E619ACFAB;2025-02-06T14:37:53.567Z;0,EXSRV2\Default EXSRV2,SMTP,RECEIVE,30817263514542,<1738853872.442@ylmf-pc>,...
//
// and a receive protocol row:
//
//	#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context
//	2025-02-06T14:37:53.593Z,EXSRV2\Relay - Scanners,08DD435E5CD61B5D,8,172.16.4.11:25,203.0.113.66:63356,>,250 2.1.5 Recipient OK,
//
// # Event mapping
//
// Host is the short (NetBIOS) name of the Exchange server, upper-cased, so
// that the tracking log ("EXSRV2", "exsrv2.nwtraders.example") and the
// protocol log (connector-id "EXSRV2\Default Frontend EXSRV2") agree;
// Options.Host overrides it. Daemon names the log: "msgtrk", "msgtrkmd",
// "msgtrkms", "msgtrkma" (from the file name), "smtpreceive", "smtpsend",
// "smtpsvc" (IIS W3C) or "messagetrace" (Exchange Online).
//
// Message tracking: QueueID is internal-message-id (numbered per server and
// per service: the MSGTRKMD id of a message differs from its MSGTRK id, so
// join across services by MessageID), MessageID is message-id without <>,
// From is return-path (the envelope sender; "<>" becomes "") or else
// sender-address, Size total-bytes, NRcpt recipient-count. Every event of a
// row carries these, so no separate KindSender or KindMessageID is emitted.
// A row listing several recipients yields one event per recipient, all with
// the row's Pos.
//
//   - RECEIVE with source SMTP: one KindClient (ClientIP = original-client-ip
//     when set, else client-ip — on a hub behind a Front End client-ip is the
//     proxy; ClientName = custom-data S:ProxiedClientHostname, else
//     client-hostname; Session = the hub receive session from source-context;
//     Proto "SMTP"; Reason "directionality=D;connector=C" plus
//     ";FromEntity=E" when custom-data has it) then one KindRcpt per
//     recipient. RECEIVE from any other source (STOREDRIVER: a mailbox
//     submission from Outlook/OWA/EAS; PICKUP) is KindPickup instead of
//     KindClient, with Proto = the source. directionality is not proof of
//     authentication: the tracking log never names a user, so SASLUser is
//     always empty here.
//   - SEND, SENDEXTERNAL: KindDelivery per recipient, Relay
//     "server-hostname[server-ip]", Status from the recipient's status (2xx
//     or none: sent, 4xx: deferred, 5xx: bounced), DSN and Reason from it.
//   - DELIVER: KindDelivery, Relay "local", Status sent.
//   - FAIL, DELIVERFAIL: KindDelivery, Status bounced, DSN/Reason from the
//     status (the LED= part of "[{LED=550 5.1.1 ...};{MSG=};...]").
//   - DEFER: KindDelivery, Status deferred.
//   - DROP, BADMAIL: KindDelivery, Relay "none", Status StatusDropped
//     ("discarded": accepted, then thrown away by an agent or a transport
//     rule, or a pickup file that could be neither delivered nor returned;
//     not relayed).
//   - REDIRECT, RESOLVE, EXPAND: KindRcpt with Rcpt = recipient-address (the
//     new address), OrigRcpt = related-recipient-address (the mailbox,
//     address or group it came from) and Reason = the event-id. A KindRcpt
//     with OrigRcpt set was added by the server, not by the client. Later
//     deliveries of that recipient in the same file get the same OrigRcpt,
//     as Postfix's orig_to, so mailbox forwarding shows as a delivery of an
//     outside address whose OrigRcpt is local.
//   - DSN: KindBounce. On the NDR's own row (null return-path or the
//     MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e system sender),
//     NextQueueID is the NDR's internal-message-id, QueueID is empty and
//     MessageID is the original message's (from reference); otherwise
//     QueueID and MessageID are the original's and Reason holds
//     "ndr=<reference>".
//   - TRANSFER, RESUBMIT: the row is a forked or resubmitted copy's (its
//     own internal-message-id) and reference names the message it came
//     from; that copy's rows, these included, get the original's QueueID
//     (their own kept in Attrs as internal-message-id), so that its SEND is
//     a delivery of the message the client sent.
//   - Every other event-id (AGENTINFO, SUBMIT, HAREDIRECT, HARECEIVE,
//     HADISCARD, NOTIFYMAPI, PROCESS, DUPLICATEDELIVER, MODERATORREJECT,
//     INITMESSAGECREATED, ... and any this parser does not know): one
//     KindSender with the row's message facts and Reason = the event-id:
//     kept, found by queue id and Message-ID, changing no verdict.
//
// Every event of a row keeps, in Attrs and in the header's order, each
// non-empty column that no field holds: event-id, source, connector-id,
// source-context, directionality, custom-data, message-info, reference,
// network-message-id, message-subject, ...
//
// SMTP Receive protocol log: every event has Session = session-id and
// ClientIP = the host of remote-endpoint (after an accepted XPROXYFROM, the
// proxied client's IP; ClientName then holds "proxy=<endpoint>"), and carries
// what the session said so far: Helo, SASLUser, From.
//
//   - "+" KindConnect (Reason = connector-id); "-" KindDisconnect (Reason =
//     context: Local, Remote(ConnectionReset)...).
//   - "<" EHLO/HELO: KindHelo.
//   - "*" "<user>,authenticated": KindAuth (SASLUser); a 235 reply without
//     such a line gives KindAuth with SASLUser UnknownUser. A 4xx/5xx reply
//     to AUTH or X-EXPS: KindAuthFailed (SASLUser from a "User Name:" line,
//     when logged).
//   - "*" "Set Session Permissions": KindPermit, Reason = the permission list
//     (SMTPAcceptAnyRecipient there is the relay right).
//   - TLS negotiation succeeded: KindTLS.
//   - Replies are paired with the commands waiting for them in order, as
//     Exchange logs pipelined replies after the commands: a 2xx to RCPT TO is
//     KindRcpt, a 4xx/5xx to RCPT is KindReject (Rcpt, DSN "5.7.54", Reason
//     "SMTP; Unable to relay recipient in non-accepted domain"), a 4xx/5xx to
//     MAIL or DATA/BDAT is KindReject without Rcpt.
//   - "250 2.6.0 <message-id> [InternalId=N, Hostname=H] ... Queued" is
//     KindClient: MessageID, QueueID = N (the hub's internal-message-id,
//     valid on host H), ClientIP, SASLUser, From, NRcpt = recipients accepted;
//     this joins the session to the tracking log (by MessageID, or by
//     QueueID on H). Reason holds the reply text after the status code;
//     Attrs the data command (DATA or BDAT, with the number of chunks),
//     STARTTLS or X-ANONYMOUSTLS, an accepted XEXCH50 and XSHADOW. The
//     "250 2.6.0 CHUNK received OK" that answers a BDAT without LAST (RFC
//     3030) is not a queued message.
//   - "-" KindDisconnect keeps the commands the session used, each once
//     (Attrs "commands": "EHLO STARTTLS AUTH MAIL RCPT BDAT QUIT").
//
// SMTP Send protocol log rows are checked and return ErrUnsupported: mail
// leaving is read from the tracking log's SEND rows.
//
// IIS SMTP W3C log (Exchange 2000/2003): no session id is logged, so a
// session is the run of rows from one c-ip, numbered "c-ip#n" and started
// by HELO/EHLO or the first row from that address; cs-username is the HELO
// name (Helo), not a user. RCPT answered 2xx is KindRcpt, 4xx/5xx
// KindReject with Reason "sc-status 550" (the reply text is not logged);
// DATA answered 250 is KindClient with MessageID from cs-uri-query.
// Outbound rows (OutboundConnectionCommand/Response) return ErrUnsupported.
//
// Exchange Online message trace exports (Get-MessageTrace CSV, whose header
// row names the columns: Received, SenderAddress, RecipientAddress, Status,
// FromIP, ToIP, MessageId, ...) give one KindDelivery per row: Status
// Delivered → sent, Failed → bounced, Pending → deferred, else the raw value
// lower-cased; ClientIP = FromIP, Relay = "[ToIP]". UTF-16LE files are
// decoded line by line (see Parser).
//
// # Limitations
//
// A quoted field holding a newline spans two lines and cannot be read line by
// line: both halves are reported as malformed. Get-MessageTrackingLog
// exports (local-time Timestamp, no #Fields) are not read.
package exchange

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/relaysleuth/relaysleuth/parsers"
)

const format = "exchange"

// StatusDropped is the Status of a recipient Exchange accepted and then
// discarded without delivery or NDR (tracking events DROP and BADMAIL): it
// was not relayed.
const StatusDropped = parsers.StatusDiscarded

// UnknownUser is the SASLUser of a session that authenticated (235 reply)
// without the log naming the account.
const UnknownUser = "(unknown)"

var (
	errNoFields    = errors.New("data row before any #Fields: header")
	errFieldCount  = errors.New("row has a different number of fields than the #Fields: header")
	errBadTime     = errors.New("bad date-time")
	errBadCSV      = errors.New("bad CSV row")
	errUnknownLog  = errors.New("#Fields: header of an unknown log type")
	errBadEndpoint = errors.New("bad endpoint")
)

// LogType is the kind of Exchange log a file holds.
type LogType uint8

// The log types. LogUnknown means: learn it from the file's header.
const (
	LogUnknown  LogType = iota
	LogTracking         // message tracking, MSGTRK*.LOG
	LogReceive          // SMTP Receive protocol log, RECV*.LOG
	LogSend             // SMTP Send protocol log, SEND*.LOG
	LogW3C              // IIS SMTP service W3C log, exYYMMDD.log
	LogTrace            // Exchange Online message trace CSV export
)

// Default column lists, used when Options.Log is set and a file has no
// #Fields: header (a copy that lost it, a tail that started mid-file).
var (
	trackingFields = strings.Split("date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,transport-traffic-type,log-id,schema-version", ",")
	protocolFields = strings.Split("date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context", ",")
	w3cFields      = strings.Fields("date time c-ip cs-username s-sitename s-computername s-ip s-port cs-method cs-uri-stem cs-uri-query sc-status sc-win32-status sc-bytes cs-bytes time-taken cs-version cs-host cs(User-Agent) cs(Cookie) cs(Referer)")
)

// LogTypeOf guesses a file's log type from its name, as Exchange names them:
// MSGTRK[MD|MS|MA]yyyymmdd[hh]-n.LOG, RECV…, SEND…, exyymmdd.log. It returns
// LogUnknown for other names.
func LogTypeOf(path string) LogType {
	base := strings.ToUpper(baseName(path))
	switch {
	case strings.HasPrefix(base, "MSGTRK"):
		return LogTracking
	case strings.HasPrefix(base, "RECV"):
		return LogReceive
	case strings.HasPrefix(base, "SEND"):
		return LogSend
	case strings.HasPrefix(base, "EX") && strings.HasSuffix(base, ".LOG") && len(base) == len("EX061009.LOG"):
		return LogW3C
	}
	return LogUnknown
}

// baseName is the last element of a Unix or Windows path.
func baseName(path string) string {
	return path[strings.LastIndexAny(path, `/\`)+1:]
}

// Options configure a Parser.
type Options struct {
	// Log is the file's log type when known (see LogTypeOf). It lets rows
	// be read before or without a #Fields: header, with the newest
	// documented column list; a header always wins.
	Log LogType
	// Host names the Exchange server, overriding the name read from the
	// log. Needed for send protocol logs and trace exports, which do not
	// name it.
	Host string
}

// Parser parses one Exchange log file, or the rotated files of one log in
// order (RECV…-1.LOG then RECV…-2.LOG): a header line replaces the columns
// but keeps open SMTP sessions, so a session continued in the next file
// keeps its sender and authentication. Not safe for concurrent use.
type Parser struct {
	opt    Options
	log    LogType
	fields []string
	col    map[string]int
	c      cols
	attr   []bool // by column: kept in a tracking row's Attrs (see trackingAttrs)
	utf16  bool   // the file is UTF-16LE (trace exports)

	file    string // Pos.File the daemon name was derived from
	tracker string // "msgtrk", "msgtrkmd", ...

	csv  *csv.Reader // reads line, reset to each line in turn (see record)
	line bytes.Reader
	text string   // the line being parsed, as a string sharing Raw's bytes
	rec  []string // the fields of a line split without csv (see record)

	hostIn, hostOut string // the last shortHost asked and its answer

	sessions map[string]*session    // receive protocol log, by session-id
	w3c      map[string]*w3cSession // W3C log, by c-ip
	w3cSeq   int
	redirect map[redirectKey]string // tracking: new recipient → old
	alias    map[string]string      // tracking: a forked copy's internal-message-id → the original's
	attrBuf  []byte                 // tracking: a row's Attrs, built here (see trackingAttrs)
}

// NewParser returns a Parser for one log.
func NewParser(opt Options) *Parser {
	p := &Parser{opt: opt}
	switch opt.Log {
	case LogTracking:
		p.setFields(LogTracking, trackingFields)
	case LogReceive, LogSend:
		p.setFields(opt.Log, protocolFields)
	case LogW3C:
		p.setFields(LogW3C, w3cFields)
	}
	return p
}

func (p *Parser) setFields(log LogType, fields []string) {
	p.log = log
	p.fields = fields
	p.col = make(map[string]int, len(fields))
	for i, f := range fields {
		if _, dup := p.col[f]; !dup {
			p.col[f] = i
		}
	}
	idx := func(name string) int {
		if i, ok := p.col[name]; ok {
			return i
		}
		return -1
	}
	p.c = cols{
		dateTime:                idx("date-time"),
		eventID:                 idx("event-id"),
		source:                  idx("source"),
		serverHostname:          idx("server-hostname"),
		clientHostname:          idx("client-hostname"),
		internalMessageID:       idx("internal-message-id"),
		reference:               idx("reference"),
		messageID:               idx("message-id"),
		returnPath:              idx("return-path"),
		senderAddress:           idx("sender-address"),
		totalBytes:              idx("total-bytes"),
		recipientCount:          idx("recipient-count"),
		recipientAddress:        idx("recipient-address"),
		recipientStatus:         idx("recipient-status"),
		serverIP:                idx("server-ip"),
		relatedRecipientAddress: idx("related-recipient-address"),
		sourceContext:           idx("source-context"),
		customData:              idx("custom-data"),
		clientIP:                idx("client-ip"),
		originalClientIP:        idx("original-client-ip"),
		directionality:          idx("directionality"),
		connectorID:             idx("connector-id"),
		sessionID:               idx("session-id"),
		remoteEndpoint:          idx("remote-endpoint"),
		event:                   idx("event"),
		data:                    idx("data"),
		context:                 idx("context"),
	}
	p.attr = make([]bool, len(fields))
	for i, f := range fields {
		p.attr[i] = !trackingMapped[f]
	}
}

// cols are the positions of the columns tracking and protocol rows are read
// by, -1 when the header has none: found once per header rather than in
// col for each field of each row.
type cols struct {
	dateTime, eventID, source, serverHostname, clientHostname, internalMessageID, reference, messageID, returnPath,
	senderAddress, totalBytes, recipientCount, recipientAddress, recipientStatus, serverIP, relatedRecipientAddress, sourceContext, customData,
	clientIP, originalClientIP, directionality, connectorID, sessionID, remoteEndpoint, event, data, context int
}

// at returns field i of rec, "" when there is none.
func at(rec []string, i int) string {
	if i >= 0 && i < len(rec) {
		return rec[i]
	}
	return ""
}

// get returns the named column of rec, "" when the header has no such
// column.
func (p *Parser) get(rec []string, name string) string {
	if i, ok := p.col[name]; ok && i < len(rec) {
		return rec[i]
	}
	return ""
}

// Parse parses one line. See parsers.Parser. Header lines (#Fields:,
// #Log-type:, ...) update the Parser and return ErrUnsupported.
func (p *Parser) Parse(dst []parsers.Event, line []byte, pos parsers.Pos) ([]parsers.Event, error) {
	raw := string(line)
	line = p.decode(line)
	line = bytes.TrimPrefix(line, []byte("\ufeff"))
	line = bytes.TrimSuffix(line, []byte{'\r'})
	// The same text as a string sharing raw's bytes (see share); a UTF-16
	// line was decoded into other bytes.
	p.text = ""
	if !p.utf16 {
		p.text = strings.TrimSuffix(strings.TrimPrefix(raw, "\ufeff"), "\r")
	}
	if len(line) == 0 {
		return dst, parsers.ErrUnsupported
	}
	if line[0] == '#' {
		if err := p.header(string(line)); err != nil {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: err}
		}
		return dst, parsers.ErrUnsupported
	}
	if p.log == LogUnknown {
		if p.traceHeader(line) {
			return dst, parsers.ErrUnsupported
		}
		if p.log == LogUnknown {
			return dst, &parsers.ParseError{Pos: pos, Format: format, Err: errNoFields}
		}
	}
	if p.fields == nil && p.log != LogTrace {
		return dst, &parsers.ParseError{Pos: pos, Format: format, Err: errNoFields}
	}
	ev := parsers.Event{Pos: pos, Format: format, Host: p.opt.Host, Raw: raw}
	var err error
	n := len(dst)
	switch p.log {
	case LogTracking:
		if pos.File != p.file || p.tracker == "" {
			p.file, p.tracker = pos.File, trackerName(pos.File)
		}
		ev.Daemon = p.tracker
		dst, err = p.tracking(dst, ev, line)
	case LogReceive:
		ev.Daemon = "smtpreceive"
		dst, err = p.protocol(dst, ev, line)
	case LogSend:
		ev.Daemon = "smtpsend"
		dst, err = p.sendRow(dst, line)
	case LogW3C:
		ev.Daemon = "smtpsvc"
		dst, err = p.w3cRow(dst, ev, line)
	case LogTrace:
		ev.Daemon = "messagetrace"
		dst, err = p.trace(dst, ev, line)
	}
	if err != nil {
		return dst[:n], &parsers.ParseError{Pos: pos, Format: format, Err: err}
	}
	if len(dst) == n {
		return dst, parsers.ErrUnsupported
	}
	return dst, nil
}

// header reads a "#Name: value" line. Exchange writes #Software, #Version,
// #Log-type, #Date and #Fields; IIS writes the W3C set (#Software,
// #Version, #Date, #Fields, space-separated).
func (p *Parser) header(s string) error {
	name, value, ok := strings.Cut(s[1:], ":")
	if !ok {
		return nil // a comment, or Export-Csv's "#TYPE ..." line
	}
	value = strings.TrimSpace(value)
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "log-type":
		switch {
		case strings.Contains(value, "Message Tracking"):
			p.log = LogTracking
		case strings.Contains(value, "SMTP Receive"):
			p.log = LogReceive
		case strings.Contains(value, "SMTP Send"):
			p.log = LogSend
		}
	case "fields":
		if strings.Contains(value, ",") {
			fields := strings.Split(value, ",")
			for i := range fields {
				fields[i] = strings.TrimSpace(fields[i])
			}
			set := make(map[string]bool, len(fields))
			for _, f := range fields {
				set[f] = true
			}
			switch {
			case set["event-id"] && set["date-time"]:
				p.setFields(LogTracking, fields)
			case set["session-id"] && set["event"]:
				log := LogReceive
				if p.log == LogSend {
					log = LogSend
				}
				p.setFields(log, fields)
			default:
				return errUnknownLog
			}
			return nil
		}
		fields := strings.Fields(value)
		if !(contains(fields, "cs-method") && contains(fields, "c-ip")) {
			return errUnknownLog
		}
		p.setFields(LogW3C, fields)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Sniff reports whether line, one of a file's first lines, looks like an
// Exchange log: an Exchange or IIS header line, or the header row of a
// message trace export.
func Sniff(line []byte) bool {
	if len(line) >= 2 && (line[0] == 0xff && line[1] == 0xfe || line[1] == 0 && line[0] != 0) {
		line = decodeUTF16(bytes.TrimPrefix(line, []byte{0xff, 0xfe}))
	}
	line = bytes.TrimPrefix(line, []byte("\ufeff"))
	line = bytes.TrimSuffix(line, []byte{'\r'})
	s := string(line)
	switch {
	case strings.HasPrefix(s, "#Software: Microsoft Exchange Server"),
		strings.HasPrefix(s, "#Software: Microsoft Internet Information Services"),
		strings.HasPrefix(s, "#Log-type: Message Tracking Log"),
		strings.HasPrefix(s, "#Log-type: SMTP "):
		return true
	case strings.HasPrefix(s, "#Fields: "):
		return strings.Contains(s, "event-id") || strings.Contains(s, "session-id") ||
			strings.Contains(s, "cs-method")
	}
	if strings.HasPrefix(s, "{") {
		return strings.Contains(s, `"MessageTraceId"`) && strings.Contains(s, `"RecipientAddress"`)
	}
	_, ok := traceColumns(s)
	return ok
}

// decode turns a UTF-16LE line into UTF-8. Scan splits at the byte '\n', so
// each line of a UTF-16LE file arrives as its own code units, the BOM (FF FE)
// on the first, the high byte of the previous '\n' dropped by Scan as a
// leading NUL, and a final "\r\x00". A file is taken as UTF-16LE when its
// first line has the BOM or starts with an ASCII character followed by NUL.
func (p *Parser) decode(line []byte) []byte {
	if len(line) >= 2 && line[0] == 0xff && line[1] == 0xfe {
		p.utf16 = true
		line = line[2:]
	} else if !p.utf16 && p.fields == nil && len(line) >= 2 && line[1] == 0 && line[0] != 0 && line[0] < 0x80 {
		p.utf16 = true
	}
	if !p.utf16 {
		return line
	}
	if len(line) > 0 && line[0] == 0 {
		line = line[1:] // a '\n' high byte the reader left
	}
	return decodeUTF16(line)
}

func decodeUTF16(b []byte) []byte {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return bytes.TrimRight(out, "\r\x00")
}

// splitCSV splits one CSV line into its fields.
func splitCSV(line []byte) ([]string, error) {
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rec, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadCSV, err)
	}
	return rec, nil
}

// record splits a data line and checks it has as many fields as the header:
// a shorter row is a line cut by a crash or a copy. One csv.Reader reads
// every line of the Parser, set in turn as its source: a reader per line
// allocated a 4 KB buffer per line, gigabytes per million lines for the
// garbage collector to keep up with.
func (p *Parser) record(line []byte) ([]string, error) {
	if bytes.IndexByte(line, '\n') >= 0 {
		// Not one line: what the shared reader would leave buffered
		// would start the next.
		rec, err := splitCSV(line)
		if err != nil {
			return nil, err
		}
		return p.checkCount(rec)
	}
	if len(p.text) == len(line) && line[len(line)-1] != '\r' {
		// Read as csv.Reader would, into strings of the line's own text
		// (as share makes them).
		p.rec = splitRow(p.rec[:0], p.text)
		return p.checkCount(p.rec)
	}
	if p.csv == nil {
		p.csv = csv.NewReader(&p.line)
		p.csv.FieldsPerRecord = -1
		p.csv.LazyQuotes = true
	}
	p.line.Reset(line)
	rec, err := p.csv.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadCSV, err)
	}
	p.share(rec)
	return p.checkCount(rec)
}

// splitRow appends to dst the fields of s, one CSV row that is not empty,
// holds no '\n' and does not end in '\r' (csv.Reader drops one there), as a
// csv.Reader with LazyQuotes reads them: a field that starts with a quote
// runs to a quote followed by a comma or the end of the line (to the end of
// the line if there is none), "" in it is one quote and any other quote is
// kept. The fields are strings of s itself but for those that hold "".
func splitRow(dst []string, s string) []string {
	for {
		if s == "" || s[0] != '"' {
			i := strings.IndexByte(s, ',')
			if i < 0 {
				return append(dst, s)
			}
			dst = append(dst, s[:i])
			s = s[i+1:]
			continue
		}
		s = s[1:]
		end, next, last, escaped := len(s), len(s), true, false
	scan:
		for i := 0; ; {
			j := strings.IndexByte(s[i:], '"')
			if j < 0 {
				break // no closing quote
			}
			j += i
			switch {
			case j+1 == len(s):
				end, next = j, j+1
				break scan
			case s[j+1] == ',':
				end, next, last = j, j+2, false
				break scan
			case s[j+1] == '"':
				escaped, i = true, j+2
			default:
				i = j + 1 // a bare quote, kept
			}
		}
		f := s[:end]
		if escaped {
			f = strings.ReplaceAll(f, `""`, `"`)
		}
		dst = append(dst, f)
		if last {
			return dst
		}
		s = s[next:]
	}
}

// share points the fields of rec into the text of the line, where it has
// them as they are (all but quoted fields with a doubled quote), so that an
// event's strings share the one copy of the line its Raw is: csv.Reader
// copies each row into a string of its own, and a batch of events held
// both.
func (p *Parser) share(rec []string) {
	if int64(len(p.text)) != p.line.Size() {
		return
	}
	for i, f := range rec {
		if f == "" {
			continue
		}
		_, col := p.csv.FieldPos(i)
		start := col - 1
		if start < len(p.text) && p.text[start] == '"' {
			start++
		}
		if end := start + len(f); end <= len(p.text) && p.text[start:end] == f {
			rec[i] = p.text[start:end]
		}
	}
}

func (p *Parser) checkCount(rec []string) ([]string, error) {
	if len(rec) != len(p.fields) {
		return nil, fmt.Errorf("%w: %d, want %d", errFieldCount, len(rec), len(p.fields))
	}
	return rec, nil
}

// stamp parses an ISO 8601 date-time; Exchange writes UTC with a Z.
func stamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errBadTime
	}
	return t.UTC(), nil
}

// shortHost turns "exsrv2.nwtraders.example" or "EXSRV2" into "EXSRV2".
// An IP address is kept as it is.
func shortHost(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return s
	}
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	return strings.ToUpper(s)
}

// shortHost is shortHost with the last answer kept: a log names one or two
// servers, each on every row, and telling a name from an IP address
// allocates an error.
func (p *Parser) shortHost(s string) string {
	if s != p.hostIn {
		p.hostIn, p.hostOut = strings.Clone(s), strings.Clone(shortHost(s))
	}
	return p.hostOut
}

// endpoint parses "1.2.3.4:25", "[2001:db8::1]:25" or a bare address.
func endpoint(s string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	host := s
	if i := strings.LastIndexByte(s, ':'); i > 0 && strings.Count(s, ":") == 1 {
		host = s[:i]
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, errBadEndpoint
	}
	return a.Unmap(), nil
}

// addr parses an address field: "" and "<>" are the null address.
func addr(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<") && strings.HasSuffix(s, ">") {
		s = s[1 : len(s)-1]
	}
	return s
}

// reply splits an SMTP reply "550 5.7.54 SMTP; Unable to relay" into its
// code (550), enhanced status code (5.7.54) and text.
func reply(s string) (code int, dsn, text string) {
	if len(s) < 3 || !isDigits(s[:3]) {
		return 0, "", s
	}
	code = int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	rest := s[3:]
	if rest != "" && (rest[0] == ' ' || rest[0] == '-') {
		rest = rest[1:]
	}
	word, after, _ := strings.Cut(rest, " ")
	if isDSN(word) {
		return code, word, after
	}
	if n := dsnPrefix(rest); n > 0 {
		return code, rest[:n], rest[n:] // "250 2.1.5Recipient OK" (seen in a 2016 log)
	}
	return code, "", rest
}

// dsnPrefix returns the length of an enhanced status code "d.ddd.ddd" at the
// start of s, 0 if there is none.
func dsnPrefix(s string) int {
	i := 0
	for part := 0; part < 3; part++ {
		j := i
		for j < len(s) && j-i < 3 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i || part == 0 && j-i != 1 {
			return 0
		}
		i = j
		if part < 2 {
			if i >= len(s) || s[i] != '.' {
				return 0
			}
			i++
		}
	}
	return i
}

func isDSN(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if len(p) > 3 || !isDigits(p) {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
