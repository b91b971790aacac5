// Package notifytest starts receivers on 127.0.0.1 for tests of
// notifications: an SMTP server (github.com/emersion/go-smtp) that keeps
// the messages it receives, and a parser for the MIME messages it gets.
package notifytest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Mail is one message an SMTPServer received.
type Mail struct {
	From string
	To   []string
	Data []byte // the raw message
}

// SMTPServer is an SMTP server on 127.0.0.1 that accepts every message.
type SMTPServer struct {
	Addr string // 127.0.0.1:PORT

	mu       sync.Mutex
	messages []Mail
}

// StartSMTP starts an SMTP server without TLS or authentication on a free
// port of 127.0.0.1 and stops it when the test ends.
func StartSMTP(t *testing.T) *SMTPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	s := &SMTPServer{Addr: ln.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	srv.Domain = "127.0.0.1"
	srv.AllowInsecureAuth = true

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// Messages returns the messages received so far.
func (s *SMTPServer) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.messages...)
}

type session struct {
	server *SMTPServer
	mail   Mail
}

func (s *session) Reset()        { s.mail = Mail{} }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.mail.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mail.To = append(s.mail.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mail.Data = data

	s.server.mu.Lock()
	s.server.messages = append(s.server.messages, s.mail)
	s.server.mu.Unlock()
	return nil
}

// Parsed is a MIME message taken apart.
type Parsed struct {
	Subject string
	Text    string
	HTML    string
	Images  map[string][]byte // decoded bodies of image parts by Content-ID, without angle brackets
}

// Parse decodes a raw MIME message: its subject, the text/plain and
// text/html parts, and the image parts, at any depth of multipart nesting.
func Parse(raw []byte) (*Parsed, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return nil, err
	}

	p := &Parsed{Subject: subject, Images: map[string][]byte{}}
	err = p.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Header.Get("Content-ID"), msg.Body)
	return p, err
}

func (p *Parsed) walk(contentType, encoding, contentID string, body io.Reader) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}

	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := p.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part.Header.Get("Content-ID"), part); err != nil {
				return err
			}
		}
	}

	switch strings.ToLower(encoding) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}

	switch {
	case mediaType == "text/plain":
		p.Text += string(data)
	case mediaType == "text/html":
		p.HTML += string(data)
	case strings.HasPrefix(mediaType, "image/"):
		p.Images[strings.Trim(contentID, "<>")] = data
	}
	return nil
}

// newlineStripper drops CR and LF, which base64 bodies wrap at 76 columns.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(b []byte) (int, error) {
	c, err := n.r.Read(b)
	out := b[:0]
	for _, ch := range b[:c] {
		if ch != '\r' && ch != '\n' {
			out = append(out, ch)
		}
	}
	return len(out), err
}
