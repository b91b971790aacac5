package storetest

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

var measurementTests = []test{
	{"duplicates", testMeasurementsDuplicates},
	{"stores fields", testMeasurementsStoreFields},
	{"rejects batch", testMeasurementsRejectBatch},
	{"batch order", testMeasurementsBatchOrder},
}

func measurement(msgID, series string, ts time.Time, value float64) store.Measurement {
	return store.Measurement{Series: series, Timestamp: ts, Value: value, Source: "test", MessageID: msgID}
}

func insertMeasurements(t *testing.T, s Store, measurements ...store.Measurement) store.InsertResult {
	t.Helper()
	res, err := s.InsertMeasurements(context.Background(), measurements)
	if err != nil {
		t.Fatalf("InsertMeasurements: %v", err)
	}
	return res
}

func testMeasurementsDuplicates(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	batch := []store.Measurement{
		measurement("d1", "ad_spend", at(1, 0, 0, 0), 120),
		measurement("d2", "ad_spend", at(2, 0, 0, 0), 80.5),
	}

	first := insertMeasurements(t, db, batch...)
	second := insertMeasurements(t, db, batch...)

	if first != (store.InsertResult{Inserted: 2}) {
		t.Errorf("first insert = %+v, want 2 inserted", first)
	}
	if second != (store.InsertResult{Duplicates: 2}) {
		t.Errorf("second insert = %+v, want 2 duplicates", second)
	}

	// Another source may reuse a message id; a repeat in one batch is a duplicate.
	other := measurement("d1", "ad_spend", at(1, 0, 0, 0), 120)
	other.Source = "sheets"
	third := insertMeasurements(t, db, other, measurement("d3", "ad_spend", at(3, 0, 0, 0), 95), measurement("d3", "ad_spend", at(3, 0, 0, 0), 95))
	if third != (store.InsertResult{Inserted: 2, Duplicates: 1}) {
		t.Errorf("mixed insert = %+v, want 2 inserted, 1 duplicate", third)
	}
	if n := countRows(t, db, "SELECT count(*) FROM measurements"); n != 4 {
		t.Errorf("measurements table has %d rows, want 4", n)
	}
	// Duplicates are left out, not counted twice: 120 + 80.5 + 120 + 95.
	var sum float64
	queryRow(t, db, "SELECT sum(value) FROM measurements", &sum)
	if sum != 415.5 {
		t.Errorf("sum of values = %v, want 415.5", sum)
	}
}

func testMeasurementsStoreFields(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatalf("load Asia/Tokyo: %v (install tzdata)", err)
	}
	// 09:00:00.000250 in Tokyo (+09:00) is 00:00:00.000250 UTC.
	m := measurement("d1", "ad_spend", time.Date(2026, time.March, 2, 9, 0, 0, 250000, tokyo), -12.75)
	m.Dimensions = map[string]string{"channel": "search", "country": "JP"}

	insertMeasurements(t, db, m)

	var (
		series, dims, source, msgID string
		micros                      int64
		value                       float64
	)
	queryRow(t, db, "SELECT series, ts, value, dimensions, source, message_id FROM measurements",
		&series, &micros, &value, &dims, &source, &msgID)
	if series != "ad_spend" || source != "test" || msgID != "d1" {
		t.Errorf("stored series %q, source %q, message_id %q", series, source, msgID)
	}
	if want := time.Date(2026, time.March, 2, 0, 0, 0, 250000, time.UTC).UnixMicro(); micros != want {
		t.Errorf("ts = %d, want %d", micros, want)
	}
	if value != -12.75 {
		t.Errorf("value = %v, want -12.75", value)
	}
	assertJSON(t, "dimensions", dims, map[string]any{"channel": "search", "country": "JP"})
}

func testMeasurementsRejectBatch(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		bad  store.Measurement
		want string
	}{
		{"no series", measurement("d2", "", at(1, 0, 0, 0), 1), "series is empty"},
		{"no timestamp", measurement("d2", "ad_spend", time.Time{}, 1), "no timestamp"},
		{"no message id", measurement("", "ad_spend", at(1, 0, 0, 0), 1), "no source or message id"},
		{"NaN", measurement("d2", "ad_spend", at(1, 0, 0, 0), math.NaN()), "finite number"},
		{"infinite", measurement("d2", "ad_spend", at(1, 0, 0, 0), math.Inf(-1)), "finite number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			good := measurement("d1", "ad_spend", at(1, 0, 0, 0), 10)

			_, err := db.InsertMeasurements(context.Background(), []store.Measurement{good, tt.bad})

			if code := kpi.ErrorCode(err); code != kpi.EINVALID {
				t.Fatalf("error code = %q, want %q (%v)", code, kpi.EINVALID, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if n := countRows(t, db, "SELECT count(*) FROM measurements"); n != 0 {
				t.Errorf("measurements table has %d rows after a rejected batch, want 0", n)
			}
		})
	}
}

// Measurement ids follow the order of the batch, because of two values at
// the same time the one stored last is the latest.
func testMeasurementsBatchOrder(t *testing.T, open func(t *testing.T) Store) {
	db := open(t)
	ts := at(1, 0, 0, 0)

	insertMeasurements(t, db,
		measurement("d10", "ad_spend", ts, 1),
		measurement("d9", "ad_spend", ts, 2),
		measurement("d1", "ad_spend", ts, 3),
	)

	first := countRows(t, db, "SELECT id FROM measurements WHERE message_id = 'd10'")
	second := countRows(t, db, "SELECT id FROM measurements WHERE message_id = 'd9'")
	third := countRows(t, db, "SELECT id FROM measurements WHERE message_id = 'd1'")
	if !(first < second && second < third) {
		t.Errorf("ids d10 %d, d9 %d, d1 %d; want them increasing in that order", first, second, third)
	}
}
