package parsers

import "testing"

// TestAttrs: items added come back in order, by key, whatever bytes they
// hold; a hand-made malformed Attrs ends the walk instead of panicking.
func TestAttrs(t *testing.T) {
	var ev Event
	if _, ok := ev.Attr("X"); ok {
		t.Fatal("empty Attrs has X")
	}
	ev.AddAttr("X", "TLS1.3:TLS_AES_256_GCM_SHA384:256")
	ev.AddAttr("12:", "")
	ev.AddAttr("DKIM", "a\x00b 3:x")
	var keys []string
	ev.EachAttr(func(k, v string) bool { keys = append(keys, k+"="+v); return true })
	if len(keys) != 3 || keys[0] != "X=TLS1.3:TLS_AES_256_GCM_SHA384:256" || keys[1] != "12:=" || keys[2] != "DKIM=a\x00b 3:x" {
		t.Errorf("EachAttr = %q", keys)
	}
	if v, ok := ev.Attr("DKIM"); !ok || v != "a\x00b 3:x" {
		t.Errorf("Attr(DKIM) = %q, %v", v, ok)
	}
	for _, bad := range []string{"x", "99:ab", "-1:", "2:ab5:", ":"} {
		ev := Event{Attrs: bad}
		n := 0
		ev.EachAttr(func(k, v string) bool { n++; return true })
		if n != 0 {
			t.Errorf("malformed %q gave %d items", bad, n)
		}
	}
}
