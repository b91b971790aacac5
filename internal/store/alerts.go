package store

import "time"

// AlertCondition is the condition an alert rule watches on its KPI. Kind
// selects the condition, and the other fields are its parameters:
//
//   - "above", "below": Threshold, compared with the latest complete period.
//   - "change": Percent (a relative change, or points for percentage KPIs)
//     over Periods periods, in Direction "up", "down" or "any".
//   - "status": the KPI's status changed since the previous evaluation, or,
//     when Statuses is set, the status is one of them.
//   - "anomaly": the latest complete period is flagged anomalous.
//   - "forecast_miss": the forecast at the target date misses the target.
//
// Period selects the period that "above", "below" and "change" judge:
// "complete" (the default) for the latest complete one, "current" for the
// current one so far.
type AlertCondition struct {
	Kind      string   `json:"kind"`
	Threshold *float64 `json:"threshold,omitempty"`
	Percent   *float64 `json:"percent,omitempty"`
	Periods   int      `json:"periods,omitempty"`
	Direction string   `json:"direction,omitempty"`
	Statuses  []string `json:"statuses,omitempty"`
	Period    string   `json:"period,omitempty"` // "complete" (default) or "current"
}

// AlertChannels lists where an alert rule's notifications go.
type AlertChannels struct {
	Webhook     *Webhook `json:"webhook,omitempty"`
	ChatWebhook string   `json:"chat_webhook,omitempty"` // a Slack-format incoming webhook URL
	Emails      []string `json:"emails,omitempty"`
}

// Webhook is an HTTP endpoint that receives JSON bodies signed with
// HMAC-SHA256 under Secret. The secret is stored as given, because signing
// needs it, and is never returned by the API after creation.
type Webhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// AlertRule is a condition on a KPI and where to send its notifications.
type AlertRule struct {
	ID          int64
	KPIID       string
	Name        string
	Condition   AlertCondition
	Channels    AlertChannels
	MinDuration time.Duration // how long the condition must hold before the rule fires
	Cooldown    time.Duration // the minimum time between two notifications
	MutedUntil  *time.Time    // no notifications before this time
	CreatedAt   time.Time
	UpdatedAt   time.Time

	State AlertState // the evaluation state, changed only by SaveAlertState
}

// AlertState is an alert rule's position in its state machine.
type AlertState struct {
	State          string     // normal, pending, firing, resolved or no_data
	Since          time.Time  // when State was entered; zero before the first evaluation
	Value          *float64   // the value seen at the last evaluation
	KPIStatus      string     // the KPI's status at the last evaluation
	LastNotifiedAt *time.Time // the last notification sent, for the cooldown
	EvaluatedAt    *time.Time
}

// AlertEvent is one transition of an alert rule, kept as its history.
type AlertEvent struct {
	ID     int64
	RuleID int64
	At     time.Time
	From   string
	To     string
	Value  *float64
	Note   string // why, and whether a notification was sent or suppressed
}

// Delivery is one attempt to send a notification, or the final failure
// after the last attempt.
type Delivery struct {
	ID      int64
	Kind    string // "alert" or "report"
	RefID   int64  // the alert rule or report schedule
	Channel string // "webhook", "chat" or "email"
	Target  string // the URL without its query, or the e-mail addresses
	Attempt int
	Status  string // "ok", "retry" (failed, will retry) or "failed" (given up)
	Error   string
	At      time.Time
}

// ReportSchedule is a digest sent on a cron schedule in the workspace time
// zone, of one dashboard or of a list of KPIs.
type ReportSchedule struct {
	ID          int64
	Name        string
	Cron        string
	DashboardID string
	KPIIDs      []string
	Emails      []string
	ChatWebhook string
	CreatedAt   time.Time
	LastRunAt   *time.Time
}
