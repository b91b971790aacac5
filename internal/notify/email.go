package notify

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// TLS modes of a Mailer.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, required
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, usually port 465)
	TLSNone     = "none"     // no encryption, for a relay on the same machine
)

// Mailer sends e-mail through one SMTP server.
type Mailer struct {
	Addr     string // HOST:PORT of the SMTP server
	From     string // the sender address
	Username string // empty for no authentication
	Password string
	TLS      string        // TLSStartTLS (the default when empty), TLSImplicit or TLSNone
	Timeout  time.Duration // zero means 10 seconds
}

// Validate checks the mailer's settings and returns an EINVALID error that
// names the bad one.
func (m Mailer) Validate() error {
	if _, _, err := splitAddr(m.Addr); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return kpi.Errorf(kpi.EINVALID, "SMTP sender %q is not an e-mail address (set --smtp-from)", m.From)
	}
	switch m.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return kpi.Errorf(kpi.EINVALID, "SMTP TLS mode %q is not valid (want starttls, tls or none)", m.TLS)
	}
	return nil
}

// ValidateEmail checks one recipient address and returns an EINVALID error
// naming field and the address.
func ValidateEmail(field, addr string) error {
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Address != strings.TrimSpace(addr) {
		return kpi.Errorf(kpi.EINVALID, "%s %q is not an e-mail address (want name@example.com)", field, addr)
	}
	return nil
}

// Send sends msg to the recipients once: a multipart message with the text
// part, the HTML part, and msg.Images embedded inline by content id.
// Rejected addresses and an invalid message are permanent errors.
func (m Mailer) Send(ctx context.Context, to []string, msg Message) error {
	if err := m.Validate(); err != nil {
		return permanent(err)
	}
	if len(to) == 0 {
		return permanent(kpi.Errorf(kpi.EINVALID, "e-mail has no recipients"))
	}

	out, err := m.build(to, msg)
	if err != nil {
		return permanent(err)
	}

	client, err := m.client()
	if err != nil {
		return permanent(err)
	}
	if err := client.DialAndSendWithContext(ctx, out); err != nil {
		return fmt.Errorf("send e-mail through %s: %w", m.Addr, err)
	}
	return nil
}

// build assembles the MIME message.
func (m Mailer) build(to []string, msg Message) (*gomail.Msg, error) {
	out := gomail.NewMsg()
	if err := out.From(m.From); err != nil {
		return nil, fmt.Errorf("e-mail sender %q: %w", m.From, err)
	}
	if err := out.To(to...); err != nil {
		return nil, fmt.Errorf("e-mail recipients %s: %w", strings.Join(to, ", "), err)
	}
	out.Subject(msg.Subject)
	out.SetDate()

	out.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		out.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	for _, img := range msg.Images {
		name := img.Name
		if name == "" {
			name = img.ContentID + ".png"
		}
		err := out.EmbedReader(name, bytes.NewReader(img.PNG),
			gomail.WithFileContentID(img.ContentID), gomail.WithFileContentType(gomail.ContentType("image/png")))
		if err != nil {
			return nil, fmt.Errorf("embed image %s: %w", name, err)
		}
	}
	return out, nil
}

// client returns a go-mail client for the mailer's server.
func (m Mailer) client() (*gomail.Client, error) {
	host, port, _ := splitAddr(m.Addr)
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}

	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout)}
	switch m.TLS {
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(m.Username), gomail.WithPassword(m.Password))
	}

	c, err := gomail.NewClient(host, opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP client for %s: %w", m.Addr, err)
	}
	return c, nil
}

// splitAddr splits HOST:PORT, returning an EINVALID error for anything else.
func splitAddr(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || host == "" || perr != nil || port <= 0 || port > 65535 {
		return "", 0, kpi.Errorf(kpi.EINVALID, "SMTP server %q is not HOST:PORT (set --smtp-addr, for example 127.0.0.1:25)", addr)
	}
	return host, port, nil
}
