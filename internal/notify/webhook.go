package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// SignatureHeader is the header that carries a webhook body's signature:
// "sha256=" followed by the lowercase hex HMAC-SHA256 of the exact body
// bytes under the rule's secret.
const SignatureHeader = "X-Northstar-Signature"

// defaultTimeout bounds one HTTP attempt when the caller's client has none.
const defaultTimeout = 10 * time.Second

// Sign returns the value of SignatureHeader for body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether header is the signature of body under
// secret, comparing in constant time.
func VerifySignature(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(header), []byte(Sign(secret, body)))
}

// Webhook posts a message's Payload as JSON, signed under Secret.
type Webhook struct {
	URL    string
	Secret string
	Client *http.Client // nil means a client with a 10-second timeout
}

// Send posts msg.Payload once. A 2xx response is success. Other responses
// and network errors are returned; 4xx responses other than 408 and 429 are
// marked permanent.
func (w Webhook) Send(ctx context.Context, msg Message) error {
	body, err := json.Marshal(msg.Payload)
	if err != nil {
		return permanent(fmt.Errorf("encode webhook body: %w", err))
	}
	return post(ctx, w.Client, w.URL, body, map[string]string{SignatureHeader: Sign(w.Secret, body)})
}

// Chat posts messages in the JSON format that Slack incoming webhooks
// accept: {"text": ..., "blocks": [...]}, where text is the fallback shown
// in notifications and blocks hold the formatted message.
type Chat struct {
	URL    string
	Client *http.Client
}

// chatBody is a Slack incoming-webhook message.
type chatBody struct {
	Text   string      `json:"text"`
	Blocks []chatBlock `json:"blocks"`
}

type chatBlock struct {
	Type string    `json:"type"`
	Text *chatText `json:"text,omitempty"`
}

type chatText struct {
	Type string `json:"type"` // "mrkdwn" or "plain_text"
	Text string `json:"text"`
}

// Send posts msg's subject and text once, with the same error rules as
// Webhook.Send.
func (c Chat) Send(ctx context.Context, msg Message) error {
	body, err := json.Marshal(ChatBody(msg))
	if err != nil {
		return permanent(fmt.Errorf("encode chat message: %w", err))
	}
	return post(ctx, c.Client, c.URL, body, nil)
}

// ChatBody returns the Slack-format body for msg: a header block with the
// subject and a section with the text.
func ChatBody(msg Message) any {
	body := chatBody{Text: msg.Subject}
	if msg.Subject != "" {
		body.Blocks = append(body.Blocks, chatBlock{Type: "header", Text: &chatText{Type: "plain_text", Text: truncate(msg.Subject, 150)}})
	}
	if msg.Text != "" {
		body.Blocks = append(body.Blocks, chatBlock{Type: "section", Text: &chatText{Type: "mrkdwn", Text: truncate(msg.Text, 3000)}})
	}
	return body
}

// truncate shortens s to at most n runes, because Slack rejects a header
// longer than 150 characters and a section text longer than 3000.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// post sends body as JSON to rawURL with the extra headers.
func post(ctx context.Context, client *http.Client, rawURL string, body []byte, headers map[string]string) error {
	if err := ValidateURL("webhook URL", rawURL); err != nil {
		return permanent(err)
	}
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("build request to %s: %w", RedactURL(rawURL), redactURLError(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Northstar")
	for k, v := range headers {
		req.Header.Set(k, v)
	}

	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", RedactURL(rawURL), redactURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("POST %s: HTTP %d %s", RedactURL(rawURL), resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
		return permanent(err)
	}
	return err
}
