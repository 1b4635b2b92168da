package analysis

import (
	"net/netip"
	"time"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// Verdict is what a recipient was, seen from the relay question.
type Verdict string

// The verdicts, one per recipient the client gave (or the server generated).
const (
	// RelayAbuse: accepted for an external domain from an unauthenticated
	// client outside the trusted networks.
	RelayAbuse Verdict = "relay_abuse"
	// RelayAttemptRejected: the same, but the server refused the recipient
	// (or the whole message).
	RelayAttemptRejected Verdict = "relay_attempt_rejected"
	// Inbound: a local recipient, accepted or refused.
	Inbound Verdict = "inbound"
	// InternalOutbound: from a client in the trusted networks or a local
	// submission, to an external recipient.
	InternalOutbound Verdict = "internal_outbound"
	// AuthenticatedOutbound: from a client that authenticated, to an
	// external recipient.
	AuthenticatedOutbound Verdict = "authenticated_outbound"
	// AccountAbuse: from a client that authenticated with an account taken
	// over by someone else, in a session the account rules judged abusive
	// (see AccountJudge): the spam a stolen password sent.
	AccountAbuse Verdict = "account_abuse"
	// Forwarded: a local recipient the server itself sent on to an external
	// address (alias, .forward, virtual alias).
	Forwarded Verdict = "forwarded"
	// SystemBounce: a delivery status notification the server generated.
	SystemBounce Verdict = "system_bounce"
	// UnknownOrigin: accepted for an external recipient, but how the
	// message arrived is not in the log (it starts after the arrival, the
	// lines are in a file not read): no client to judge, so no claim about
	// one either way.
	UnknownOrigin Verdict = "unknown_origin"
)

// Verdicts lists every verdict in report order.
var Verdicts = []Verdict{RelayAbuse, RelayAttemptRejected, Inbound, InternalOutbound, AuthenticatedOutbound, AccountAbuse, Forwarded, SystemBounce, UnknownOrigin}

// Recipient statuses, as report recipients prints them.
const (
	StatusSent     = "sent"
	StatusDeferred = "deferred"
	StatusBounced  = "bounced"
	StatusRejected = "rejected"
	StatusQueued   = "queued"
	// StatusHeld and StatusDiscarded: accepted, then held (Postfix HOLD)
	// or thrown away (DISCARD, discard(8), Exchange DROP): not relayed.
	StatusHeld      = parsers.StatusHeld
	StatusDiscarded = parsers.StatusDiscarded
)

// How a message entered the queue.
const (
	OriginUnknown = ""       // no line said (the log starts mid-message)
	OriginSMTP    = "smtp"   // from an SMTP client
	OriginLocal   = "local"  // local submission: sendmail(1), pickup
	OriginBounce  = "bounce" // a notification the server generated
)

// How a message continued from another one on the same server.
const (
	ViaContentFilter = "content_filter" // re-injected after a filter
	ViaForward       = "forward"        // local(8) alias or .forward
	ViaBounce        = "bounce"         // notification about the parent
)

// Message is one queue file (Postfix queue id, Exim message id, Exchange
// internal id), with what is known of how it arrived.
type Message struct {
	Key       string // unique: queue id and the time it was first seen
	Format    string
	Host      string
	QueueID   string
	MessageID string
	Time      time.Time
	Session   string

	ClientIP   netip.Addr
	ClientName string
	Helo       string
	Proto      string
	AuthUser   string
	AuthMethod string
	Origin     string // OriginSMTP, OriginLocal, ...
	Sender     string
	SenderSet  bool

	ParentKey string // the message this one continued from, if any
	Via       string // how: ViaContentFilter, ViaForward, ViaBounce
	Removed   bool
	Rejected  string // the reason, when the whole message was refused
	Evidence  []parsers.Pos

	parent   *Message
	rcpts    []*Recipient
	children []*Message
	lastSeen time.Time
	removed  time.Time
	ex       *exInfo // Exchange only: see exchange.go
}

// Delivery is one final address a recipient was delivered (or not) to.
type Delivery struct {
	To     string `json:"to"`
	Relay  string `json:"relay"`
	DSN    string `json:"dsn"`
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// NextQueueID is set when the mail went on as another queue file here.
	NextQueueID string `json:"next_queue_id,omitempty"`
}

// Recipient is one recipient the client gave in RCPT TO (or that the server
// generated), with its verdict and the lines that prove it.
type Recipient struct {
	Key           string        `json:"-"`
	MessageKey    string        `json:"-"`
	Time          time.Time     `json:"time"`
	MTA           string        `json:"mta"`
	Host          string        `json:"host"`
	QueueID       string        `json:"queue_id"`
	MessageID     string        `json:"message_id"`
	ClientIP      string        `json:"client_ip"`
	ClientName    string        `json:"client_name"`
	Helo          string        `json:"helo"`
	Authenticated bool          `json:"authenticated"`
	AuthUser      string        `json:"auth_user"`
	Sender        string        `json:"sender"`
	Recipient     string        `json:"recipient"`
	Status        string        `json:"status"`
	Deliveries    []Delivery    `json:"deliveries"`
	Verdict       Verdict       `json:"verdict"`
	Reason        string        `json:"reason"`
	Hop           int           `json:"hop"`
	OriginQueueID string        `json:"origin_queue_id,omitempty"`
	Evidence      []string      `json:"evidence"`
	Pos           []parsers.Pos `json:"-"` // the recipient's own lines

	rejected     string      // the refusal, "" if accepted
	refusedBy    *refuser    // the client the refusal line names, if any
	forwardedOut string      // an external address it went on to, via a child
	ev           evidenceRef // what Evidence is to be (see Flush)
	dirty        bool
}
