package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/northstar-kpi/northstar/internal/alerting"
	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/store"
)

func (s *Server) registerAlertRoutes() {
	if s.defaultWorkspace.alerts == nil {
		return
	}
	s.register("GET /api/v1/alerts", AccessViewer, s.handle(s.handleAlertList))
	s.register("POST /api/v1/alerts", AccessEditor, s.handle(s.handleAlertCreate))
	s.register("GET /api/v1/alerts/{id}", AccessViewer, s.handle(s.handleAlertGet))
	s.register("PUT /api/v1/alerts/{id}", AccessEditor, s.handle(s.handleAlertUpdate))
	s.register("DELETE /api/v1/alerts/{id}", AccessEditor, s.handle(s.handleAlertDelete))
	s.register("GET /api/v1/alerts/{id}/history", AccessViewer, s.handle(s.handleAlertHistory))
}

// redactChatURL returns a chat webhook URL as the API shows it: only its
// scheme and host, because the path of a Slack incoming webhook URL is the
// credential that lets anyone post to the channel.
func redactChatURL(raw string) string {
	if raw == "" {
		return ""
	}
	return notify.RedactURL(raw)
}

// alertRuleJSON is an alert rule in the API. The webhook secret is shown
// only in the response that creates the rule.
type alertRuleJSON struct {
	ID          int64                `json:"id"`
	KPIID       string               `json:"kpi_id"`
	Name        string               `json:"name"`
	Condition   store.AlertCondition `json:"condition"`
	MinDuration string               `json:"min_duration"`
	Cooldown    string               `json:"cooldown"`
	MutedUntil  *time.Time           `json:"muted_until"`
	Notify      alertChannelsJSON    `json:"notify"`
	State       alertStateJSON       `json:"state"`
	CreatedAt   time.Time            `json:"created_at"`
	UpdatedAt   time.Time            `json:"updated_at"`
}

type alertChannelsJSON struct {
	Webhook     *webhookJSON `json:"webhook,omitempty"`
	ChatWebhook string       `json:"chat_webhook,omitempty"`
	Emails      []string     `json:"emails"`
}

type webhookJSON struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

type alertStateJSON struct {
	State          string     `json:"state"`
	Since          time.Time  `json:"since"`
	Value          *float64   `json:"value"`
	KPIStatus      string     `json:"kpi_status"`
	LastNotifiedAt *time.Time `json:"last_notified_at"`
	EvaluatedAt    *time.Time `json:"evaluated_at"`
}

func newAlertRuleJSON(r store.AlertRule, showSecret bool) alertRuleJSON {
	out := alertRuleJSON{
		ID: r.ID, KPIID: r.KPIID, Name: r.Name, Condition: r.Condition,
		MinDuration: r.MinDuration.String(), Cooldown: r.Cooldown.String(), MutedUntil: r.MutedUntil,
		Notify: alertChannelsJSON{ChatWebhook: redactChatURL(r.Channels.ChatWebhook), Emails: r.Channels.Emails},
		State: alertStateJSON{
			State: r.State.State, Since: r.State.Since, Value: r.State.Value, KPIStatus: r.State.KPIStatus,
			LastNotifiedAt: r.State.LastNotifiedAt, EvaluatedAt: r.State.EvaluatedAt,
		},
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if out.Notify.Emails == nil {
		out.Notify.Emails = []string{}
	}
	if w := r.Channels.Webhook; w != nil {
		out.Notify.Webhook = &webhookJSON{URL: w.URL}
		if showSecret {
			out.Notify.Webhook.Secret = w.Secret
		}
	}
	return out
}

func (s *Server) handleAlertList(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.inRequest(r).alerts.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Alerts []alertRuleJSON `json:"alerts"`
	}{Alerts: make([]alertRuleJSON, 0, len(rules))}
	for _, rule := range rules {
		out.Alerts = append(out.Alerts, newAlertRuleJSON(rule, false))
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleAlertCreate(w http.ResponseWriter, r *http.Request) error {
	var in alerting.RuleInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	rule, err := s.inRequest(r).alerts.Create(r.Context(), in)
	if err != nil {
		return err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "create", ObjectType: "alert_rule", ObjectID: strconv.FormatInt(rule.ID, 10),
		After: newAlertRuleJSON(rule, false)})
	w.Header().Set("Location", fmt.Sprintf("/api/v1/alerts/%d", rule.ID))
	s.writeJSON(w, r, http.StatusCreated, newAlertRuleJSON(rule, true))
	return nil
}

func (s *Server) handleAlertGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "alert rule")
	if err != nil {
		return err
	}
	rule, err := s.inRequest(r).alerts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, newAlertRuleJSON(rule, false))
	return nil
}

func (s *Server) handleAlertUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "alert rule")
	if err != nil {
		return err
	}
	var in alerting.RuleInput
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	old, err := s.inRequest(r).alerts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	rule, err := s.inRequest(r).alerts.Update(r.Context(), id, in)
	if err != nil {
		return err
	}

	// A webhook added without a secret got a new one, which this response
	// shows once, as the creating one does.
	generated := rule.Channels.Webhook != nil && (old.Channels.Webhook == nil || old.Channels.Webhook.Secret != rule.Channels.Webhook.Secret) &&
		in.Notify.Webhook != nil && in.Notify.Webhook.Secret == ""
	s.auditChange(r.Context(), auth.AuditEntry{Action: "update", ObjectType: "alert_rule", ObjectID: strconv.FormatInt(id, 10),
		Before: newAlertRuleJSON(old, false), After: newAlertRuleJSON(rule, false)})
	s.writeJSON(w, r, http.StatusOK, newAlertRuleJSON(rule, generated))
	return nil
}

func (s *Server) handleAlertDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "alert rule")
	if err != nil {
		return err
	}
	old, err := s.inRequest(r).alerts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.inRequest(r).alerts.Delete(r.Context(), id); err != nil {
		return err
	}
	s.auditChange(r.Context(), auth.AuditEntry{Action: "delete", ObjectType: "alert_rule", ObjectID: strconv.FormatInt(id, 10),
		Before: newAlertRuleJSON(old, false)})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// alertEventJSON is one transition in an alert rule's history.
type alertEventJSON struct {
	At    time.Time `json:"at"`
	From  string    `json:"from"`
	To    string    `json:"to"`
	Value *float64  `json:"value"`
	Note  string    `json:"note"`
}

// deliveryJSON is one recorded notification attempt.
type deliveryJSON struct {
	At      time.Time `json:"at"`
	Channel string    `json:"channel"`
	Target  string    `json:"target"`
	Attempt int       `json:"attempt"`
	Status  string    `json:"status"`
	Error   string    `json:"error,omitempty"`
}

func newDeliveriesJSON(list []store.Delivery) []deliveryJSON {
	out := make([]deliveryJSON, 0, len(list))
	for _, d := range list {
		out = append(out, deliveryJSON{At: d.At, Channel: d.Channel, Target: d.Target, Attempt: d.Attempt, Status: d.Status, Error: d.Error})
	}
	return out
}

func (s *Server) handleAlertHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "alert rule")
	if err != nil {
		return err
	}
	events, deliveries, err := s.inRequest(r).alerts.History(r.Context(), id)
	if err != nil {
		return err
	}

	out := struct {
		History    []alertEventJSON `json:"history"`
		Deliveries []deliveryJSON   `json:"deliveries"`
	}{History: make([]alertEventJSON, 0, len(events)), Deliveries: newDeliveriesJSON(deliveries)}
	for _, e := range events {
		out.History = append(out.History, alertEventJSON{At: e.At, From: e.From, To: e.To, Value: e.Value, Note: e.Note})
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}
