package pipeline

import (
	"strings"
	"testing"

	"github.com/relaysleuth/relaysleuth/analysis"
)

func TestHumanAlertEscapes(t *testing.T) {
	a := analysis.Alert{Kind: analysis.AlertRelayAbuse, Client: "192.0.2.1", Text: "relayed: \x1b[31mevil\x1b[0m", Evidence: []string{"mail.log:1"}}
	if s := HumanAlert(a); strings.ContainsRune(s, 0x1b) || !strings.Contains(s, `\x1b[31mevil`) {
		t.Errorf("HumanAlert = %q, control characters not escaped", s)
	}
}
