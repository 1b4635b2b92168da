package analysis

import "context"

// ReadProgress is told, as a report reads the stored lines of its span
// (ReportStore.EachEvent), how many of their blocks it has read and how
// many there are: first (0, total), then after each block, always on the
// goroutine that called EachEvent.
type ReadProgress func(done, total int64)

type readProgressKey struct{}

// WithReadProgress returns ctx carrying p, for the store's EachEvent.
func WithReadProgress(ctx context.Context, p ReadProgress) context.Context {
	return context.WithValue(ctx, readProgressKey{}, p)
}

// ReadProgressFrom returns the ReadProgress ctx carries, or nil.
func ReadProgressFrom(ctx context.Context) ReadProgress {
	p, _ := ctx.Value(readProgressKey{}).(ReadProgress)
	return p
}
