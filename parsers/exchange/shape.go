package exchange

import (
	"encoding/csv"
	"strings"
	"time"
)

// String returns the name of a log type, as ParseLogType reads it:
// "tracking", "receive", "send", "w3c", "trace", or "" for LogUnknown.
func (l LogType) String() string {
	switch l {
	case LogTracking:
		return "tracking"
	case LogReceive:
		return "receive"
	case LogSend:
		return "send"
	case LogW3C:
		return "w3c"
	case LogTrace:
		return "trace"
	}
	return ""
}

// ParseLogType returns the log type named s (see LogType.String), or
// LogUnknown.
func ParseLogType(s string) LogType {
	for _, l := range [...]LogType{LogTracking, LogReceive, LogSend, LogW3C, LogTrace} {
		if strings.EqualFold(s, l.String()) {
			return l
		}
	}
	return LogUnknown
}

// trackingEvents are the event-id values of the message tracking log
// (Exchange 2013–2019, "Event types in the message tracking log").
var trackingEvents = map[string]bool{
	"AGENTINFO": true, "BADMAIL": true, "CLIENTSUBMISSION": true, "DEFER": true, "DELIVER": true,
	"DELIVERFAIL": true, "DROP": true, "DSN": true, "DUPLICATEDELIVER": true, "DUPLICATEEXPAND": true,
	"DUPLICATEREDIRECT": true, "EXPAND": true, "FAIL": true, "HADISCARD": true, "HARECEIVE": true,
	"HAREDIRECT": true, "HAREDIRECTFAIL": true, "INITMESSAGECREATED": true, "LOAD": true,
	"MODERATIONEXPIRE": true, "MODERATORAPPROVE": true, "MODERATORREJECT": true, "MODERATEDTRANSFER": true,
	"NOTIFYMAPI": true, "NOTIFYSHADOW": true, "POISONMESSAGE": true, "PROCESS": true,
	"PROCESSMEETINGMESSAGE": true, "RECEIVE": true, "REDIRECT": true, "RESOLVE": true, "RESUBMIT": true,
	"RESUBMITDEFER": true, "RESUBMITFAIL": true, "SEND": true, "SENDEXTERNAL": true, "SUBMIT": true,
	"SUBMITDEFER": true, "SUBMITFAIL": true, "SUPPRESSED": true, "THROTTLE": true, "TRANSFER": true,
}

// smtpVerbs are the cs-method values of an IIS SMTP W3C row.
var smtpVerbs = map[string]bool{
	"HELO": true, "EHLO": true, "MAIL": true, "RCPT": true, "DATA": true, "BDAT": true, "QUIT": true,
	"RSET": true, "NOOP": true, "VRFY": true, "EXPN": true, "AUTH": true, "STARTTLS": true, "TURN": true,
	"ETRN": true, "XEXCH50": true, "X-EXPS": true, "X-LINK2STATE": true, "HELP": true, "-": true,
}

// RowLog tells the log a row without its "#" header block comes from, by
// the row's shape (a copy cut from a larger file, a row pasted into a
// ticket, a SIEM export), so that such rows can be read with the
// documented default columns:
//
//   - message tracking: 30 CSV fields, an ISO 8601 UTC date-time first and a
//     known event-id ninth;
//   - SMTP Receive and Send protocol logs: 9 CSV fields, date-time, a
//     16-digit hexadecimal session-id, a sequence number and an event
//     (one of "+-<>*"); a receive connector's name has the server before
//     a backslash ("EXSRV2\Default Frontend EXSRV2"), a send connector's
//     not;
//   - IIS SMTP W3C: 21 space-separated fields, date and time, an IP address,
//     an SMTP verb as cs-method and cs-version SMTP.
//
// It returns LogUnknown for anything else, a header line included.
func RowLog(line []byte) LogType {
	s := strings.TrimSuffix(strings.TrimPrefix(string(line), "\ufeff"), "\r")
	if len(s) < 20 || s[0] < '0' || s[0] > '9' {
		return LogUnknown
	}
	if s[10] == ' ' {
		return w3cRowLog(s)
	}
	if s[10] != 'T' {
		return LogUnknown
	}
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rec, err := r.Read()
	if err != nil {
		return LogUnknown
	}
	if _, err := time.Parse(time.RFC3339Nano, rec[0]); err != nil {
		return LogUnknown
	}
	switch len(rec) {
	case len(trackingFields):
		if trackingEvents[rec[8]] {
			return LogTracking
		}
	case len(protocolFields):
		if len(rec[2]) != 16 || strings.Trim(rec[2], "0123456789ABCDEFabcdef") != "" ||
			rec[3] == "" || strings.Trim(rec[3], "0123456789") != "" ||
			len(rec[6]) != 1 || !strings.Contains("+-<>*", rec[6]) {
			return LogUnknown
		}
		if strings.Contains(rec[1], `\`) {
			return LogReceive
		}
		return LogSend
	}
	return LogUnknown
}

// w3cRowLog is RowLog for a row that starts "2006-10-09 05:00:16 ".
func w3cRowLog(s string) LogType {
	rec := strings.Fields(s)
	if len(rec) != len(w3cFields) || rec[16] != "SMTP" || !smtpVerbs[strings.ToUpper(rec[8])] {
		return LogUnknown
	}
	if _, err := time.Parse("2006-01-02 15:04:05", rec[0]+" "+rec[1]); err != nil {
		return LogUnknown
	}
	if _, err := endpoint(rec[2]); err != nil {
		return LogUnknown
	}
	return LogW3C
}
