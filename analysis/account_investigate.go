package analysis

import (
	"fmt"
	"time"
)

// takeoverLogin says which login started the take-over c is about: the
// first login in the window from the session's client, and the failed
// logins before it from there, if any.
func takeoverLogin(c *Cause) string {
	for _, l := range c.Logins {
		if l.ClientIP != c.ClientIP {
			continue
		}
		s := fmt.Sprintf("; it started with the login from %s at %s (%s)", l.ClientIP, l.First.UTC().Format(time.RFC3339), l.Evidence)
		failed := 0
		for _, f := range c.FailedLogins {
			if f.ClientIP == c.ClientIP && !f.Time.After(l.First) {
				failed++
			}
		}
		if failed > 0 {
			s += fmt.Sprintf(" after %d failed login(s) from there", failed)
		}
		return s
	}
	return ""
}
