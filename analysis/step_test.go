package analysis

import (
	"testing"

	"github.com/relaysleuth/relaysleuth/parsers"
)

// TestStepShowsExchangeEventID: an Exchange tracking row kept for the
// record (AGENTINFO, SUBMIT, ...) shows its event id in an investigation's
// trail; a Postfix sender line shows the sender alone.
func TestStepShowsExchangeEventID(t *testing.T) {
	ev := parsers.Event{Format: "exchange", Kind: parsers.KindSender, From: "a@example.org", Reason: "AGENTINFO"}
	if got, want := step(ev).Detail, "from=<a@example.org> event=AGENTINFO"; got != want {
		t.Errorf("exchange: %q, want %q", got, want)
	}
	ev.Format, ev.Reason = "postfix", ""
	if got, want := step(ev).Detail, "from=<a@example.org>"; got != want {
		t.Errorf("postfix: %q, want %q", got, want)
	}
}
