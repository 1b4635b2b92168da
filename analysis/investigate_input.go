package analysis

import (
	"fmt"
	"io"
	"os"
)

// ReadComplaintFile reads the complaint in path, or in stdin for "-".
func ReadComplaintFile(path string, stdin io.Reader) (*Complaint, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	c, err := ReadComplaint(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Empty reports whether q has nothing to search for: no complaint, no key
// and no time.
func (q Query) Empty() bool {
	return q.Complaint == nil && q.MessageID == "" && q.QueueID == "" && q.Recipient == "" && q.Sender == "" &&
		q.ClientIP == "" && q.AuthUser == "" && q.Since.IsZero() && q.Until.IsZero()
}
