package notify

import (
	"context"
	"log/slog"
	"time"

	"github.com/northstar-kpi/northstar/internal/store"
)

// Delivery statuses recorded per attempt.
const (
	StatusOK     = "ok"     // the attempt succeeded
	StatusRetry  = "retry"  // the attempt failed and another follows
	StatusFailed = "failed" // the last attempt failed, or the error was permanent
)

// Recorder stores delivery records.
type Recorder interface {
	RecordDelivery(ctx context.Context, d store.Delivery) error
}

// Retry bounds the attempts of one delivery. Attempt n waits
// Initial * 2^(n-2) before it starts, at most Max.
type Retry struct {
	Attempts int           // total attempts, at least 1; zero means 4
	Initial  time.Duration // the wait before the second attempt; zero means 2 seconds
	Max      time.Duration // the maximum wait; zero means 1 minute
}

// DefaultRetry makes four attempts, waiting 2, 4 and 8 seconds between them.
var DefaultRetry = Retry{Attempts: 4, Initial: 2 * time.Second, Max: time.Minute}

// backoff returns the wait before attempt n (n >= 2).
func (r Retry) backoff(n int) time.Duration {
	d := r.Initial
	for i := 2; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultRetry.Attempts
	}
	if r.Initial <= 0 {
		r.Initial = DefaultRetry.Initial
	}
	if r.Max <= 0 {
		r.Max = DefaultRetry.Max
	}
	return r
}

// Deliverer sends notifications with retries and records every attempt.
type Deliverer struct {
	Recorder Recorder
	Retry    Retry
	Now      func() time.Time // the time recorded on attempts; nil means time.Now
	Logger   *slog.Logger     // nil discards the logs

	// Sleep waits between attempts; nil waits on a timer. It returns early
	// with ctx's error when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Deliver calls send until it succeeds, returns a permanent error, or the
// attempts run out, recording each attempt as d with Attempt, Status, Error
// and At filled in. It returns the last error, or nil on success. A failure
// to record is logged, and does not stop the delivery.
func (dl *Deliverer) Deliver(ctx context.Context, d store.Delivery, send func(ctx context.Context) error) error {
	retry := dl.Retry.withDefaults()
	logger := dl.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	attrs := []any{slog.String("kind", d.Kind), slog.Int64("ref_id", d.RefID), slog.String("channel", d.Channel), slog.String("target", d.Target)}

	var err error
	for attempt := 1; attempt <= retry.Attempts; attempt++ {
		if attempt > 1 {
			if serr := dl.sleep(ctx, retry.backoff(attempt)); serr != nil {
				err = serr
				dl.record(ctx, d, attempt-1, StatusFailed, "gave up: "+serr.Error(), logger)
				break
			}
		}

		err = send(ctx)
		if err == nil {
			dl.record(ctx, d, attempt, StatusOK, "", logger)
			if attempt > 1 {
				logger.Info("notification delivered after retries", append(attrs, slog.Int("attempt", attempt))...)
			}
			return nil
		}

		last := attempt == retry.Attempts || isPermanent(err) || ctx.Err() != nil
		if last {
			dl.record(ctx, d, attempt, StatusFailed, err.Error(), logger)
			break
		}
		dl.record(ctx, d, attempt, StatusRetry, err.Error(), logger)
		logger.Warn("notification failed, will retry", append(attrs, slog.Int("attempt", attempt), slog.Any("error", err))...)
	}

	logger.Error("notification failed", append(attrs, slog.Any("error", err))...)
	return err
}

func (dl *Deliverer) record(ctx context.Context, d store.Delivery, attempt int, status, errText string, logger *slog.Logger) {
	now := time.Now
	if dl.Now != nil {
		now = dl.Now
	}
	d.Attempt, d.Status, d.Error, d.At = attempt, status, errText, now()
	if dl.Recorder == nil {
		return
	}

	// Record even when ctx is cancelled (a shutdown during a retry), so that
	// the final failure is never lost.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := dl.Recorder.RecordDelivery(rctx, d); err != nil {
		logger.Error("recording a delivery failed", slog.String("kind", d.Kind), slog.Int64("ref_id", d.RefID),
			slog.String("channel", d.Channel), slog.String("status", status), slog.Any("error", err))
	}
}

func (dl *Deliverer) sleep(ctx context.Context, d time.Duration) error {
	if dl.Sleep != nil {
		return dl.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
