package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/notify"
	"github.com/northstar-kpi/northstar/internal/notify/notifytest"
	"github.com/northstar-kpi/northstar/internal/store"
)

// memRecorder keeps delivery records in memory.
type memRecorder struct {
	mu      sync.Mutex
	records []store.Delivery
}

func (m *memRecorder) RecordDelivery(_ context.Context, d store.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records = append(m.records, d)
	return nil
}

// noSleep records the waits between attempts instead of waiting.
type noSleep struct{ waits []time.Duration }

func (n *noSleep) sleep(_ context.Context, d time.Duration) error {
	n.waits = append(n.waits, d)
	return nil
}

func TestWebhookSignedAndRetried(t *testing.T) {
	const secret = "whsec-test-1234"
	var (
		mu       sync.Mutex
		attempts int
		bodies   [][]byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)

		// The signature is checked with crypto/hmac here, independently
		// of notify.Sign.
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if r.Header.Get("X-Northstar-Signature") != want {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}

		mu.Lock()
		defer mu.Unlock()
		attempts++
		bodies = append(bodies, body)
		if attempts <= 2 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	rec := &memRecorder{}
	sleeper := &noSleep{}
	dl := &notify.Deliverer{Recorder: rec, Retry: notify.Retry{Attempts: 5, Initial: time.Second, Max: 3 * time.Second}, Sleep: sleeper.sleep}

	hook := notify.Webhook{URL: srv.URL + "/hooks/northstar", Secret: secret}
	msg := notify.Message{Payload: map[string]any{"rule_id": 7, "state": "firing", "value": 41.5}}
	err := dl.Deliver(context.Background(), store.Delivery{Kind: "alert", RefID: 7, Channel: "webhook", Target: notify.RedactURL(hook.URL)},
		func(ctx context.Context) error { return hook.Send(ctx, msg) })
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}

	if attempts != 3 {
		t.Errorf("receiver saw %d signed attempts, want 3", attempts)
	}
	var got map[string]any
	if err := json.Unmarshal(bodies[2], &got); err != nil {
		t.Fatal(err)
	}
	if got["state"] != "firing" || got["value"] != 41.5 {
		t.Errorf("body = %s", bodies[2])
	}

	statuses := make([]string, len(rec.records))
	for i, r := range rec.records {
		statuses[i] = r.Status
		if r.Attempt != i+1 {
			t.Errorf("record %d has attempt %d", i, r.Attempt)
		}
	}
	if strings.Join(statuses, ",") != "retry,retry,ok" {
		t.Errorf("recorded statuses %v, want retry,retry,ok", statuses)
	}
	if !strings.Contains(rec.records[0].Error, "503") {
		t.Errorf("first record error %q does not name HTTP 503", rec.records[0].Error)
	}
	if strings.Contains(rec.records[0].Target, "/hooks/") {
		t.Errorf("recorded target %q keeps the URL path", rec.records[0].Target)
	}
	// Waits double from 1 s: before attempts 2 and 3.
	if len(sleeper.waits) != 2 || sleeper.waits[0] != time.Second || sleeper.waits[1] != 2*time.Second {
		t.Errorf("waits = %v, want [1s 2s]", sleeper.waits)
	}
}

func TestDeliverRecordsFinalFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer srv.Close()

	rec := &memRecorder{}
	sleeper := &noSleep{}
	dl := &notify.Deliverer{Recorder: rec, Retry: notify.Retry{Attempts: 4, Initial: time.Second, Max: 3 * time.Second}, Sleep: sleeper.sleep}
	hook := notify.Webhook{URL: srv.URL, Secret: "s"}
	err := dl.Deliver(context.Background(), store.Delivery{Kind: "alert", RefID: 1, Channel: "webhook"},
		func(ctx context.Context) error { return hook.Send(ctx, notify.Message{Payload: map[string]string{}}) })
	if err == nil {
		t.Fatal("Deliver succeeded against a server that always fails")
	}

	if len(rec.records) != 4 {
		t.Fatalf("%d records, want 4", len(rec.records))
	}
	if last := rec.records[3]; last.Status != notify.StatusFailed || !strings.Contains(last.Error, "502") {
		t.Errorf("last record = %+v, want failed with HTTP 502", last)
	}
	// 1 s, 2 s, then 4 s capped at 3 s.
	if len(sleeper.waits) != 3 || sleeper.waits[2] != 3*time.Second {
		t.Errorf("waits = %v, want [1s 2s 3s]", sleeper.waits)
	}
}

func TestDeliverStopsOnPermanentError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer srv.Close()

	rec := &memRecorder{}
	dl := &notify.Deliverer{Recorder: rec, Sleep: (&noSleep{}).sleep}
	chat := notify.Chat{URL: srv.URL}
	err := dl.Deliver(context.Background(), store.Delivery{Kind: "report", RefID: 2, Channel: "chat"},
		func(ctx context.Context) error { return chat.Send(ctx, notify.Message{Subject: "s", Text: "t"}) })
	if err == nil {
		t.Fatal("Deliver succeeded against HTTP 404")
	}
	if len(rec.records) != 1 || rec.records[0].Status != notify.StatusFailed {
		t.Errorf("records = %+v, want one failed record", rec.records)
	}
}

func TestChatSlackFormat(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			http.Error(w, "want JSON", http.StatusUnsupportedMediaType)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()

	chat := notify.Chat{URL: srv.URL + "/services/T000/B000/XXXX"}
	msg := notify.Message{Subject: "MAU is below 40,000", Text: "*MAU* is 38,200 (threshold 40,000)"}
	if err := chat.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}

	// The shape Slack documents for incoming webhooks: a top-level "text"
	// fallback and a "blocks" array of typed blocks with text objects.
	if got["text"] != "MAU is below 40,000" {
		t.Errorf("text = %v", got["text"])
	}
	blocks, ok := got["blocks"].([]any)
	if !ok || len(blocks) != 2 {
		t.Fatalf("blocks = %v, want two blocks", got["blocks"])
	}
	header := blocks[0].(map[string]any)
	section := blocks[1].(map[string]any)
	if header["type"] != "header" || header["text"].(map[string]any)["type"] != "plain_text" {
		t.Errorf("first block = %v, want a plain_text header", header)
	}
	if section["type"] != "section" || section["text"].(map[string]any)["type"] != "mrkdwn" ||
		section["text"].(map[string]any)["text"] != "*MAU* is 38,200 (threshold 40,000)" {
		t.Errorf("second block = %v, want a mrkdwn section with the text", section)
	}
}

func TestValidateURLRejectsOtherSchemes(t *testing.T) {
	for _, raw := range []string{"ftp://127.0.0.1/x", "file:///etc/passwd", "127.0.0.1/hook", "http://", "http://user:pw@127.0.0.1/x"} {
		err := notify.ValidateURL("webhook.url", raw)
		if kpi.ErrorCode(err) != kpi.EINVALID {
			t.Errorf("ValidateURL(%q) = %v, want an invalid error", raw, err)
			continue
		}
		if !strings.Contains(err.Error(), "webhook.url") {
			t.Errorf("ValidateURL(%q) error %q does not name the field", raw, err)
		}
	}
	if err := notify.ValidateURL("u", "ftp://127.0.0.1/x"); !strings.Contains(err.Error(), `"ftp"`) || !strings.Contains(err.Error(), "http or https") {
		t.Errorf("error %q should name the scheme and the allowed ones", err)
	}
	for _, raw := range []string{"http://127.0.0.1:8080/hook", "https://127.0.0.1/x?token=1"} {
		if err := notify.ValidateURL("u", raw); err != nil {
			t.Errorf("ValidateURL(%q) = %v, want nil", raw, err)
		}
	}
}

func TestMailerSendsHTMLTextAndImage(t *testing.T) {
	smtpServer := notifytest.StartSMTP(t)

	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, img); err != nil {
		t.Fatal(err)
	}

	m := notify.Mailer{Addr: smtpServer.Addr, From: "northstar@example.com", TLS: notify.TLSNone}
	msg := notify.Message{
		Subject: "Weekly KPIs",
		Text:    "MAU 41,250",
		HTML:    `<p>MAU <b>41,250</b></p><img src="cid:chart-mau">`,
		Images:  []notify.Image{{ContentID: "chart-mau", Name: "mau.png", PNG: pngData.Bytes()}},
	}
	if err := m.Send(context.Background(), []string{"team@example.com"}, msg); err != nil {
		t.Fatal(err)
	}

	got := smtpServer.Messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	if got[0].From != "northstar@example.com" || len(got[0].To) != 1 || got[0].To[0] != "team@example.com" {
		t.Errorf("envelope from %q to %v", got[0].From, got[0].To)
	}
	parsed, err := notifytest.Parse(got[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Subject != "Weekly KPIs" || !strings.Contains(parsed.Text, "MAU 41,250") || !strings.Contains(parsed.HTML, "<b>41,250</b>") {
		t.Errorf("parsed = subject %q, text %q, html %q", parsed.Subject, parsed.Text, parsed.HTML)
	}
	decoded, err := png.Decode(bytes.NewReader(parsed.Images["chart-mau"]))
	if err != nil {
		t.Fatalf("image part chart-mau does not decode as PNG: %v", err)
	}
	if b := decoded.Bounds(); b.Dx() != 4 || b.Dy() != 3 {
		t.Errorf("image is %dx%d, want 4x3", b.Dx(), b.Dy())
	}
}

func TestMailerRejectsBadSettings(t *testing.T) {
	bad := []notify.Mailer{
		{Addr: "127.0.0.1", From: "a@example.com"},
		{Addr: "127.0.0.1:25", From: "not an address"},
		{Addr: "127.0.0.1:25", From: "a@example.com", TLS: "maybe"},
	}
	for _, m := range bad {
		if err := m.Validate(); kpi.ErrorCode(err) != kpi.EINVALID {
			t.Errorf("Validate(%+v) = %v, want an invalid error", m, err)
		}
	}
	if err := notify.ValidateEmail("emails[0]", "team at example"); kpi.ErrorCode(err) != kpi.EINVALID {
		t.Errorf("ValidateEmail = %v, want an invalid error", err)
	}
}
