package ingest

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkRowIDsNextEvent derives the message IDs of distinct rows shaped
// like the generated benchmark data (six cells).
func BenchmarkRowIDsNextEvent(b *testing.B) {
	var ids rowIDs
	ids.reset()
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	record := []string{"page_view", "", "2025-01-01T00:04:57Z", "free", "JP", ""}

	b.ReportAllocs()
	for i := range b.N {
		record[1] = fmt.Sprintf("u%d", i)
		ids.nextEvent(wallClockMicros(ts), "page_view", record)
	}
}
