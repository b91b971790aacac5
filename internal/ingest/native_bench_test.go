package ingest

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkDecodeNativeEvents decodes an NDJSON body of 500 events shaped
// like those of `northstar gen events --format ndjson`, with the fastjson
// path and with encoding/json alone, and reports events per second.
func BenchmarkDecodeNativeEvents(b *testing.B) {
	var body bytes.Buffer
	for i := range 500 {
		fmt.Fprintf(&body, `{"event":"page_view","distinct_id":"u%d","timestamp":"2025-03-01T10:%02d:%02dZ","properties":{"plan":"pro","country":"DE","amount":%d.5},"message_id":"gen-1-%d"}`+"\n",
			i*37%5000, i/60%60, i%60, i%90, i)
	}
	opts := testOptions()

	for _, path := range []struct {
		name string
		fast bool
	}{{"fastjson", true}, {"encoding_json", false}} {
		b.Run(path.name, func(b *testing.B) {
			for range b.N {
				batch, err := decodeNative(body.Bytes(), true, opts, nativeEvent, path.fast)
				if err != nil {
					b.Fatal(err)
				}
				if len(batch.Events) != 500 {
					b.Fatalf("decoded %d events, want 500: %v", len(batch.Events), batch.Errors)
				}
			}
			b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
