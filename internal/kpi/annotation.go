package kpi

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// AnnotationKind is the kind of event an annotation records.
type AnnotationKind string

// Annotation kinds.
const (
	Release    AnnotationKind = "release"    // a product release
	Experiment AnnotationKind = "experiment" // an experiment started or ended
	Incident   AnnotationKind = "incident"   // an outage or another incident
	External   AnnotationKind = "external"   // an external factor: a market shift, a competitor's launch
)

// AnnotationKinds lists every kind, in the order forms offer them.
var AnnotationKinds = []AnnotationKind{Release, Experiment, Incident, External}

// Label returns the kind in words, for pages and reports.
func (k AnnotationKind) Label() string {
	if k == External {
		return "external factor"
	}
	return string(k)
}

// Limits on the text of annotations and feedback, in characters. They keep
// a note readable in a chart's tooltip and a feedback entry on one screen.
const (
	MaxAnnotationNote = 500
	MaxFeedbackText   = 5000
	MaxPersonName     = 200 // an author or a feedback source
)

// Annotation dates must fall in these years: a year outside them is almost
// always a typing mistake, and no event data goes back that far.
const (
	MinAnnotationYear = 1970
	MaxAnnotationYear = 2100
)

// Annotation is a dated note on one KPI, or on every KPI when KPI is empty.
type Annotation struct {
	ID        int64
	KPI       string // the KPI's id, or "" for a note on every KPI
	Kind      AnnotationKind
	Date      timegrain.Date
	Note      string
	Author    string
	CreatedAt time.Time
}

// ParseAnnotationDate reads an annotation's date, written as YYYY-MM-DD, and
// checks that its year is in range.
func ParseAnnotationDate(s string) (timegrain.Date, error) {
	d, err := timegrain.ParseDate(s)
	if err != nil {
		return d, Errorf(EINVALID, "date: %v", err)
	}
	if d.Year < MinAnnotationYear || d.Year > MaxAnnotationYear {
		return d, Errorf(EINVALID, "date: %s is out of range (want a date from %d-01-01 to %d-12-31)", d, MinAnnotationYear, MaxAnnotationYear)
	}
	return d, nil
}

// Validate checks an annotation's kind, date, note and author, and trims the
// spaces around its text. It returns an EINVALID error naming the first
// wrong field. It does not check that the KPI exists.
func (a *Annotation) Validate() error {
	switch a.Kind {
	case Release, Experiment, Incident, External:
	case "":
		return Errorf(EINVALID, "kind: missing (want release, experiment, incident or external)")
	default:
		return Errorf(EINVALID, "kind: %q is not an annotation kind (want release, experiment, incident or external)", a.Kind)
	}

	if a.Date.IsZero() {
		return Errorf(EINVALID, "date: missing (want YYYY-MM-DD)")
	}
	if _, err := ParseAnnotationDate(a.Date.String()); err != nil {
		return err
	}

	a.Note = strings.TrimSpace(a.Note)
	if err := checkText("note", a.Note, MaxAnnotationNote, "say what happened, such as \"Released the new onboarding\""); err != nil {
		return err
	}
	a.Author = strings.TrimSpace(a.Author)
	return checkLength("author", a.Author, MaxPersonName)
}

// Feedback is qualitative input attached to a KPI: a survey comment, an
// interview note, a support theme.
type Feedback struct {
	ID        int64
	KPI       string
	Text      string
	Author    string // who recorded it
	Source    string // the origin, such as "NPS survey" or "support"
	CreatedAt time.Time
}

// Validate checks the feedback's text, author and source, and trims the
// spaces around them. It returns an EINVALID error naming the first wrong
// field. It does not check that the KPI exists.
func (f *Feedback) Validate() error {
	f.Text = strings.TrimSpace(f.Text)
	if err := checkText("text", f.Text, MaxFeedbackText, "write the comment or the theme"); err != nil {
		return err
	}
	f.Author = strings.TrimSpace(f.Author)
	if err := checkLength("author", f.Author, MaxPersonName); err != nil {
		return err
	}
	f.Source = strings.TrimSpace(f.Source)
	return checkLength("source", f.Source, MaxPersonName)
}

// checkText rejects empty and over-long text. Its error ends with hint,
// which names what to write.
func checkText(field, s string, limit int, hint string) error {
	if s == "" {
		return Errorf(EINVALID, "%s: missing (%s)", field, hint)
	}
	return checkLength(field, s, limit)
}

func checkLength(field, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return Errorf(EINVALID, "%s: %d characters is too long (want at most %d)", field, n, limit)
	}
	return nil
}
