package analysis

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadComplaintFile(t *testing.T) {
	msg := "Message-ID: <abc@spam.example>\r\nSubject: hi\r\n\r\nbody\r\n"
	c, err := ReadComplaintFile("-", strings.NewReader(msg))
	if err != nil || c.MessageID != "abc@spam.example" {
		t.Errorf("ReadComplaintFile(-) = %+v, %v; want the Message-ID read from stdin", c, err)
	}
	missing := filepath.Join(t.TempDir(), "none.eml")
	if _, err := ReadComplaintFile(missing, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadComplaintFile(missing) = %v, want not exist", err)
	}
}

func TestQueryEmpty(t *testing.T) {
	if !(Query{Window: time.Hour}).Empty() {
		t.Error("a query of a window only is not empty")
	}
	for _, q := range []Query{{Complaint: &Complaint{}}, {Sender: "a@b.example"}, {Until: time.Now()}} {
		if q.Empty() {
			t.Errorf("%+v is empty", q)
		}
	}
}
