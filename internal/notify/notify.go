// Package notify sends Northstar's notifications: JSON webhooks signed with
// HMAC-SHA256, chat messages in the format Slack incoming webhooks accept,
// and e-mail over SMTP. Deliver retries a failed send with exponential
// backoff and records every attempt.
package notify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Message is one notification in every form the channels need.
type Message struct {
	Subject string // e-mail subject, and the first line of chat messages
	Text    string // plain text: the chat message and the e-mail's text part
	HTML    string // the e-mail's HTML part; it shows Images as <img src="cid:ID">
	Images  []Image

	// Payload is the JSON body of webhooks, encoded with encoding/json.
	Payload any
}

// Image is a PNG embedded in an e-mail and referred to by its content id.
type Image struct {
	ContentID string // without angle brackets, such as "chart-mau"
	Name      string // a file name such as "mau.png"
	PNG       []byte
}

// SendError is a failed send. Permanent is set when retrying cannot help,
// such as an HTTP 400 from a webhook or an invalid address.
type SendError struct {
	Err       error
	Permanent bool
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// permanent wraps err as a SendError that is not retried.
func permanent(err error) error { return &SendError{Err: err, Permanent: true} }

// isPermanent reports whether err is a SendError marked permanent.
func isPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// ValidateURL checks that raw is an absolute http or https URL with a host,
// as a webhook needs. It returns an EINVALID error naming the field and the
// value, or rather its scheme and host, because a webhook URL's path and query
// often contain a token.
func ValidateURL(field, raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return kpi.Errorf(kpi.EINVALID, "%s is not a valid URL (want http:// or https:// followed by a host): %v", field, redactURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return kpi.Errorf(kpi.EINVALID, "%s has scheme %q, but webhooks must use http or https (for example https://hooks.example.com/...)", field, u.Scheme)
	}
	if u.Host == "" {
		return kpi.Errorf(kpi.EINVALID, "%s has no host (want http:// or https:// followed by a host)", field)
	}
	if u.User != nil {
		return kpi.Errorf(kpi.EINVALID, "%s contains a user name or password; put credentials in the webhook secret instead", field)
	}
	return nil
}

// RedactURL returns raw without its user information, path and query, for
// logs and delivery records: webhook paths of chat services are secrets.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// redactURLError drops the URL that url.Parse puts in its errors.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return fmt.Errorf("cannot be parsed")
}
