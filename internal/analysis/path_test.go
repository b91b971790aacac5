package analysis

import (
	"testing"
	"time"
)

func TestPathValueThrough(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2027, 1, d, 0, 0, 0, 0, time.UTC) }
	// 100 on the 1st, 200 on the 11th (a milestone), 150 on the 21st.
	points := []PathPoint{{day(1), 100}, {day(11), 200}, {day(21), 150}}
	tests := []struct {
		at   time.Time
		want float64
	}{
		{day(1).Add(-time.Hour), 100},
		{day(1), 100},
		{day(6), 150},  // halfway to the milestone
		{day(11), 200}, // on the milestone
		{day(13), 190}, // a fifth of the way from 200 to 150
		{day(21), 150},
		{day(30), 150},
	}
	for _, tt := range tests {
		if got := PathValueThrough(points, tt.at); got != tt.want {
			t.Errorf("PathValueThrough(%s) = %g, want %g", tt.at.Format(time.DateOnly), got, tt.want)
		}
	}
	if got := PathValueThrough(nil, day(1)); got != 0 {
		t.Errorf("PathValueThrough(no points) = %g, want 0", got)
	}
}
