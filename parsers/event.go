// Package parsers defines the normalized event stream that every mail log
// format is turned into, and the streaming loop that feeds a Parser.
//
// A format package (parsers/postfix, parsers/exim, parsers/exchange) turns one
// line into zero or more Events. Each Event keeps the evidence needed to find
// the line again: file, line number, byte offset and the raw text.
package parsers

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Pos is where an event was read: enough to open the file at the line.
type Pos struct {
	File   string // path as given by the user
	Line   int    // 1-based; 0 when unknown (a tail that started mid-file)
	Offset int64  // byte offset of the start of the line
}

// String formats p as "file:line", the way editors and grep -n print it.
func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// Kind says what fact an Event records.
type Kind uint8

// The kinds of event. The set is closed: a new kind comes with test lines in
// every parser that emits it.
const (
	KindUnknown Kind = iota
	// KindConnect: an SMTP client connected (ClientIP, ClientName, Session).
	KindConnect
	// KindDisconnect: the SMTP session ended; Reason holds the command counts.
	KindDisconnect
	// KindHelo: the client's HELO/EHLO name (Helo).
	KindHelo
	// KindAuth: the client authenticated as SASLUser.
	KindAuth
	// KindAuthFailed: an authentication attempt failed (SASLUser is the
	// name tried, when logged; Reason the server's words).
	KindAuthFailed
	// KindClient: a message was received into the queue from an SMTP client
	// (QueueID, ClientIP, SASLUser). Postfix "client=", Exim "<=".
	KindClient
	// KindPickup: a message was submitted locally (sendmail(1), pickup).
	KindPickup
	// KindMessageID: the Message-ID header of the queued message.
	KindMessageID
	// KindSender: the envelope sender of a queued message (From, Size, NRcpt).
	KindSender
	// KindRcpt: a recipient was accepted (Rcpt), where the log says so.
	KindRcpt
	// KindReject: the server refused a recipient or a message (Rcpt, DSN,
	// Reason); QueueID is empty when no queue file existed (NOQUEUE).
	KindReject
	// KindRejectWarning: a restriction would have refused (warn_if_reject).
	KindRejectWarning
	// KindPermit: a restriction explicitly permitted a command.
	KindPermit
	// KindDelivery: one delivery attempt for one recipient: Rcpt is the final
	// address, OrigRcpt the address before rewriting (if any), Relay, DSN,
	// Status and Reason; NextQueueID is set when the mail went on as another
	// queue file on this server (content filter, local(8) forward).
	KindDelivery
	// KindBounce: the server generated a delivery status notification for
	// QueueID; NextQueueID is the notification's own queue id.
	KindBounce
	// KindRemoved: the queue file was removed: the message is complete.
	KindRemoved
	// KindExpired: the message was returned after its maximal queue lifetime.
	KindExpired
	// KindTLS: a TLS session was established (Reason holds the details).
	KindTLS
	// KindLost: the connection was lost or timed out (Reason says where).
	KindLost
	// KindServer: the MTA itself started, stopped, reloaded its
	// configuration, named its configuration file, warned or failed: Status
	// is one of the Server* values, Reason the MTA's own words. The
	// "since when" of a misconfiguration is the reload before it.
	KindServer
)

var kindNames = [...]string{
	KindUnknown:       "unknown",
	KindConnect:       "connect",
	KindDisconnect:    "disconnect",
	KindHelo:          "helo",
	KindAuth:          "auth",
	KindAuthFailed:    "auth_failed",
	KindClient:        "client",
	KindPickup:        "pickup",
	KindMessageID:     "message_id",
	KindSender:        "sender",
	KindRcpt:          "rcpt",
	KindReject:        "reject",
	KindRejectWarning: "reject_warning",
	KindPermit:        "permit",
	KindDelivery:      "delivery",
	KindBounce:        "bounce",
	KindRemoved:       "removed",
	KindExpired:       "expired",
	KindTLS:           "tls",
	KindLost:          "lost",
	KindServer:        "server",
}

// String returns the kind's stable name, as stored in the database.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind returns the Kind named s, or KindUnknown.
func ParseKind(s string) Kind {
	for k, n := range kindNames {
		if n == s {
			return Kind(k)
		}
	}
	return KindUnknown
}

// Delivery statuses, as Postfix names them; other formats map onto these.
const (
	StatusSent     = "sent"
	StatusDeferred = "deferred"
	StatusBounced  = "bounced"
	StatusExpired  = "expired"
	// StatusHeld and StatusDiscarded: the server accepted the recipient and
	// then held the message (Postfix HOLD: the hold queue, until an
	// administrator releases or deletes it) or threw it away (DISCARD,
	// discard(8), Exchange DROP): it was not relayed.
	StatusHeld      = "held"
	StatusDiscarded = "discarded"
)

// What a KindServer event says happened, in its Status.
const (
	ServerStart   = "start"   // the MTA (or its transport service) started
	ServerStop    = "stop"    // it was stopped
	ServerReload  = "reload"  // it read its configuration again
	ServerConfig  = "config"  // it named the configuration it runs with
	ServerWarning = "warning" // a warning: line of the MTA's own
	ServerError   = "error"   // error:, fatal: or panic: a service failed
)

// Event is one fact from one log line. Time is always UTC.
type Event struct {
	Pos    Pos
	Time   time.Time
	Format string // "postfix", "exim", "exchange"
	Host   string // the MTA that wrote the line
	Daemon string // the program that wrote it: "smtpd", "qmgr", ...
	Kind   Kind

	// Session identifies one SMTP connection within Host: a Postfix smtpd
	// PID, an Exchange session-id. Empty when the line is not about one.
	Session string

	QueueID     string // Postfix queue id, Exim message id, Exchange internal-message-id
	NextQueueID string // the queue id this message continued as (see KindDelivery, KindBounce)
	PrevQueueID string // the queue id this message came from, when the line says (XFORWARD orig_queue_id)
	MessageID   string // without angle brackets

	ClientIP   netip.Addr
	ClientName string
	// OrigClientIP and OrigClientName are the client a content filter
	// received the message from, as forwarded to the re-injection server
	// (Postfix XFORWARD orig_client=, Exchange original-client-ip).
	OrigClientIP   netip.Addr
	OrigClientName string
	Helo           string
	Proto          string // SMTP, ESMTP, Exim's P= value
	SASLMethod     string
	SASLUser       string // empty when the client did not authenticate

	From     string // envelope sender ("" is <>)
	Rcpt     string // one recipient
	OrigRcpt string // the recipient before alias/virtual rewriting, if logged
	Relay    string // next hop of a delivery: "local", "host[ip]:port", "none"
	Status   string // StatusSent, StatusDeferred, ...
	DSN      string // "5.7.1"; Reason holds the text after it
	Reason   string
	Size     int64
	NRcpt    int

	// Attrs holds what the line says that has no field above, in the order
	// logged: Exim's log_selector items (X=, CV=, SNI=, DKIM=, QT=, ...),
	// Postfix's optional attributes (TLS details, milter and access-map
	// actions), Exchange's event source and custom data. Unknown items are
	// kept here, never fatal. Set with AddAttr, read with Attr and EachAttr;
	// a string (each key and value its length in decimal, ':', its bytes)
	// keeps an Event comparable and costs nothing when empty.
	Attrs string

	Raw string // the line as read
}

// AddAttr appends the item key=value to e.Attrs.
func (e *Event) AddAttr(key, value string) {
	e.Attrs += strconv.Itoa(len(key)) + ":" + key + strconv.Itoa(len(value)) + ":" + value
}

// EachAttr calls f with each item of e.Attrs in order, until f returns
// false. A malformed Attrs (not written by AddAttr) ends the walk.
func (e *Event) EachAttr(f func(key, value string) bool) {
	for s := e.Attrs; s != ""; {
		var k, v string
		var ok bool
		if k, s, ok = cutField(s); !ok {
			return
		}
		if v, s, ok = cutField(s); !ok {
			return
		}
		if !f(k, v) {
			return
		}
	}
}

// Attr returns the value of the first item named key in e.Attrs.
func (e *Event) Attr(key string) (value string, ok bool) {
	e.EachAttr(func(k, v string) bool {
		if k == key {
			value, ok = v, true
			return false
		}
		return true
	})
	return value, ok
}

// cutField splits s into its first length-prefixed field and the rest.
func cutField(s string) (field, rest string, ok bool) {
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || colon > 10 {
		return "", "", false
	}
	n, err := strconv.Atoi(s[:colon])
	if err != nil || n < 0 || n > len(s)-colon-1 {
		return "", "", false
	}
	return s[colon+1 : colon+1+n], s[colon+1+n:], true
}

// ErrUnsupported reports a well-formed line of no interest. It is counted,
// never fatal.
var ErrUnsupported = errors.New("unsupported line")

// A ParseError reports a line that could not be parsed.
type ParseError struct {
	Pos    Pos
	Format string
	Err    error
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s: %s: %v", e.Pos, e.Format, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// A Parser turns one line into zero or more events appended to dst.
// A well-formed line of no interest returns dst unchanged and ErrUnsupported.
// The line excludes its terminating newline.
type Parser interface {
	Parse(dst []Event, line []byte, pos Pos) ([]Event, error)
}
