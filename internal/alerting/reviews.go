package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/store"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// ReviewHistory returns what is stored about a KPI's reviews.
type ReviewHistory interface {
	KPIHistory(ctx context.Context, kpiID string) (kpi.History, error)
}

// reminderInterval is how often an overdue review is reminded again.
const reminderInterval = 7

// Reviews e-mails review reminders to KPI owners.
type Reviews struct {
	History     ReviewHistory
	Definitions func() *kpi.Definitions
	Senders     Senders
	Logger      *slog.Logger
}

// RunDue e-mails the owner of every KPI whose review is due on now's date in
// the workspace time zone: on the due date, then every 7 days while it is
// overdue. Owners that are not e-mail addresses get no reminder. Deliveries
// are recorded with kind "review" and RefID 0, and their target names the
// KPI and the owner.
func (rv *Reviews) RunDue(ctx context.Context, now time.Time) error {
	defs := rv.Definitions()
	loc := defs.Workspace.Location
	if loc == nil {
		loc = time.UTC
	}
	today := timegrain.DateOf(now.In(loc))

	var errs []error
	for _, k := range defs.KPIs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h, err := rv.History.KPIHistory(ctx, k.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("review history of KPI %s: %w", k.ID, err))
			continue
		}
		st := kpi.ReviewStateOn(kpi.CadenceOf(k, h), h, today)
		if !st.Due || st.NextDue == nil {
			continue
		}
		overdue := int(today.In(time.UTC).Sub(st.NextDue.In(time.UTC)).Hours() / 24)
		if overdue%reminderInterval != 0 {
			continue
		}

		owner, err := mail.ParseAddress(k.Owner)
		if err != nil {
			rv.logger().Debug("review due, but the owner is not an e-mail address", slog.String("kpi", k.ID), slog.String("owner", k.Owner))
			continue
		}
		rv.remind(ctx, k, owner.Address, *st.NextDue, st.LastReview)
	}
	return errors.Join(errs...)
}

func (rv *Reviews) remind(ctx context.Context, k *kpi.KPI, to string, due timegrain.Date, last *kpi.Review) {
	link := rv.Senders.BaseURL + "/kpis/" + url.PathEscape(k.ID)
	lastText := "It has not been reviewed yet."
	if last != nil {
		lastText = fmt.Sprintf("The last review was on %s (%s).", last.Date, last.Decision)
	}
	msg := notify.Message{
		Subject: fmt.Sprintf("[Northstar] Review of %s is due", k.Name),
		Text:    fmt.Sprintf("The review of %s was due on %s. %s\nRecord the review at %s", k.Name, due, lastText, link),
	}

	dl := rv.Senders.Deliverer
	if dl == nil {
		dl = &notify.Deliverer{}
	}
	mailer := rv.Senders.Mailer
	_ = dl.Deliver(ctx, store.Delivery{Kind: "review", Channel: "email", Target: k.ID + ": " + to},
		func(ctx context.Context) error {
			if mailer == nil {
				return &notify.SendError{Err: errors.New("no SMTP server is configured (start northstar serve with --smtp-addr and --smtp-from)"), Permanent: true}
			}
			return mailer.Send(ctx, []string{to}, msg)
		})
}

func (rv *Reviews) logger() *slog.Logger {
	if rv.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return rv.Logger
}
