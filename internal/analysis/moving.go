package analysis

import "fmt"

// MovingAverage returns, for each point, the mean of the values among that
// point and the window−1 points before it. The window counts periods, not
// values: periods without a value inside it are skipped, not read as zero,
// so the mean covers fewer values. A result is nil when its window holds no
// value. It returns an error when window is less than 1.
func MovingAverage(points []Point, window int) ([]*float64, error) {
	if window < 1 {
		return nil, fmt.Errorf("moving average window %d is invalid (want 1 or more periods)", window)
	}
	out := make([]*float64, len(points))
	for i := range points {
		sum, count := 0.0, 0
		for _, p := range points[max(0, i-window+1) : i+1] {
			if p.Value != nil {
				sum += *p.Value
				count++
			}
		}
		if count > 0 {
			mean := sum / float64(count)
			out[i] = &mean
		}
	}
	return out, nil
}
