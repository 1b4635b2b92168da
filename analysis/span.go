package analysis

import "time"

// ReadSpan is the filter of a report on logs just read, whose lines span
// first to last: that span, last included, or since to until when either
// is given.
func ReadSpan(first, last, since, until time.Time) Filter {
	if !since.IsZero() || !until.IsZero() {
		return Filter{Since: since, Until: until}
	}
	return Filter{Since: first, Until: last.Add(time.Millisecond)}
}

// Holds reports whether f's span holds all that a store holds, all being
// its unfiltered summary. The unfiltered reports then give the same answer
// from the kept counts and indexes, without grouping every recipient of
// the span in memory (5M lines: 186 MB of RSS with the filter, 132 MB
// without).
func (f Filter) Holds(all Summary) bool {
	return !all.First.IsZero() && !all.First.Before(f.Since) && (f.Until.IsZero() || all.Last.Before(f.Until))
}
