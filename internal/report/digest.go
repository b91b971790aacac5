package report

import (
	"bytes"
	"context"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
	"github.com/northstar-kpi/northstar/internal/trend"
)

// DigestInput is the content of a digest. Items are required; the other sections
// are optional and left out when empty.
type DigestInput struct {
	Title       string // "KPI digest" when empty
	Workspace   string
	GeneratedAt time.Time
	Location    *time.Location // for dates; UTC when nil
	Items       []Item

	DueReviews  []DueReview
	Annotations []Annotation
	Feedback    []Feedback

	// BaseURL, such as "http://127.0.0.1:8080", links each KPI to its page.
	// Empty means no links.
	BaseURL string
}

// DueReview is a KPI whose review is due.
type DueReview struct {
	KPI        string // the KPI's id
	Cadence    string // weekly, monthly or quarterly
	Due        string // YYYY-MM-DD
	LastReview string // YYYY-MM-DD, or empty when never reviewed
}

// Annotation is a dated note on one KPI, or on all when KPI is empty.
type Annotation struct {
	KPI    string
	Kind   string // release, experiment, incident or external
	Date   string // YYYY-MM-DD
	Note   string
	Author string
}

// Feedback is qualitative input attached to a KPI.
type Feedback struct {
	KPI    string
	Date   string // YYYY-MM-DD
	Text   string
	Author string
	Source string
}

// DigestDocument is a digest in the forms it is sent and saved in.
type DigestDocument struct {
	Subject string

	// HTML refers to each chart as cid:ContentID, for an e-mail that carries
	// Images as inline parts. InlineHTML embeds the charts as data: URIs, so
	// it is one self-contained file.
	HTML       string
	InlineHTML string

	// Text is the plain-text part.
	Text string

	// Images holds one PNG chart per item, in the order of the items.
	Images []DigestImage

	PDF []byte
}

// DigestImage is a chart of one KPI.
type DigestImage struct {
	ContentID string // for Content-ID: <ContentID>, referred to as cid:ContentID
	Filename  string
	KPI       string
	PNG       []byte
}

// CollectItems computes the series and trend analysis of each KPI of ids, at
// grain (each KPI's own grain when grain is empty) over r. A KPI whose
// series cannot be computed because of its definition fails the whole call
// with an error naming the KPI.
func CollectItems(ctx context.Context, src trend.SeriesComputer, defs *kpi.Definitions, ids []string, grain timegrain.Grain, r engine.Range) ([]Item, error) {
	items := make([]Item, 0, len(ids))
	for _, id := range ids {
		k, err := defs.KPI(id)
		if err != nil {
			return nil, err
		}
		g := grain
		if g == "" {
			g = k.Grain
		}
		s, err := src.Series(ctx, defs, id, g, r)
		if err != nil {
			return nil, fmt.Errorf("kpi %q: %w", id, err)
		}
		tr, err := trend.Compute(ctx, src, defs, k, s, trend.Options{})
		if err != nil {
			return nil, fmt.Errorf("kpi %q: trend analysis: %w", id, err)
		}
		items = append(items, Item{KPI: k, Series: s, Trend: tr})
	}
	return items, nil
}

//go:embed templates/digest.html
var templateFS embed.FS

var digestTemplate = template.Must(template.New("digest.html").ParseFS(templateFS, "templates/digest.html"))

// digestKPI is one KPI of a digest, formatted.
type digestKPI struct {
	ID, Name, Link string
	Value, Period  string
	GrainNote      string // set when the series is not at the KPI's own grain
	Status         string
	Change         string
	YearOverYear   string
	Forecast, Pace string
	Anomalies      string
	TopContributor string
	ImageSrc       template.URL
	ImageAlt       string
	image          DigestImage
	statusColour   string
}

// Digest builds the digest of in: an HTML document with a PNG chart per KPI,
// its plain-text part and a PDF. Each KPI lists its current value, status,
// change, year-over-year change, forecast and pace.
func Digest(ctx context.Context, in DigestInput) (*DigestDocument, error) {
	if in.Title == "" {
		in.Title = "KPI digest"
	}
	if in.Location == nil {
		in.Location = time.UTC
	}

	kpis := make([]digestKPI, 0, len(in.Items))
	for i, it := range in.Items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := newDigestKPI(it, in, i)
		if err != nil {
			return nil, fmt.Errorf("kpi %q: %w", it.KPI.ID, err)
		}
		kpis = append(kpis, d)
	}

	doc := &DigestDocument{Subject: in.Title}
	if in.Workspace != "" {
		doc.Subject = in.Workspace + ": " + in.Title
	}
	doc.Subject += " — " + in.GeneratedAt.In(in.Location).Format(time.DateOnly)
	for _, d := range kpis {
		doc.Images = append(doc.Images, d.image)
	}

	var err error
	if doc.HTML, err = renderDigestHTML(in, kpis, func(d digestKPI) template.URL {
		return template.URL("cid:" + d.image.ContentID)
	}); err != nil {
		return nil, err
	}
	if doc.InlineHTML, err = renderDigestHTML(in, kpis, func(d digestKPI) template.URL {
		return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(d.image.PNG))
	}); err != nil {
		return nil, err
	}
	doc.Text = digestText(in, kpis)
	if doc.PDF, err = digestPDF(in, kpis); err != nil {
		return nil, fmt.Errorf("rendering the PDF: %w", err)
	}
	return doc, nil
}

func newDigestKPI(it Item, in DigestInput, i int) (digestKPI, error) {
	k, s := it.KPI, it.Series
	d := digestKPI{ID: k.ID, Name: k.Name, Value: "–", Status: s.Status().Label()}
	if d.Name == "" {
		d.Name = k.ID
	}
	if in.BaseURL != "" {
		d.Link = strings.TrimRight(in.BaseURL, "/") + "/kpis/" + k.ID
	}
	if p := s.Current(); p != nil {
		d.Value = Value(p.Value, k.Unit)
		d.Period = periodLabel(p.Start.In(in.Location), s.Grain)
		if p.Partial {
			d.Period += " (so far)"
		}
	}
	d.statusColour = statusColour(s.Status())
	if s.Grain != k.Grain {
		d.GrainNote = fmt.Sprintf("computed by %s as requested; the KPI's own grain is %s", s.Grain, k.Grain)
	}

	d.Change, d.YearOverYear, d.Forecast = "–", "–", "–"
	if t := it.Trend; t != nil {
		d.Change = ComparisonText(t.Change, k, s.ChangeUnit, in.Location)
		d.YearOverYear = ComparisonText(t.YearOverYear, k, s.ChangeUnit, in.Location)
		d.Forecast = ForecastText(t, k, in.Location)
		if t.Pace != nil {
			d.Pace = PaceText(t.Pace, k)
		}
		for j, a := range t.Anomalies {
			if j > 0 {
				d.Anomalies += ", "
			}
			d.Anomalies += fmt.Sprintf("%s (%s)", a.At.In(in.Location).Format(time.DateOnly), Value(&a.Value, k.Unit))
		}
		if c := t.TopContributor; c != nil {
			d.TopContributor = fmt.Sprintf("%s = %s, %s to %s", c.Property, c.Name, Value(&c.Previous, k.Unit), Value(&c.Current, k.Unit))
		}
	}

	png, err := ChartPNG(it)
	if err != nil {
		return d, fmt.Errorf("drawing the chart: %w", err)
	}
	d.image = DigestImage{
		ContentID: fmt.Sprintf("chart-%d-%s@northstar", i+1, k.ID),
		Filename:  fmt.Sprintf("%s.png", k.ID),
		KPI:       k.ID,
		PNG:       png,
	}
	d.ImageAlt = fmt.Sprintf("Chart of %s by %s", d.Name, s.Grain)
	return d, nil
}

// statusColour is the badge colour of a status, as on the web UI.
func statusColour(st kpi.Status) string {
	switch st {
	case kpi.OnTrack:
		return "#0072b2"
	case kpi.AtRisk:
		return "#e69f00"
	case kpi.OffTrack:
		return "#b34700"
	}
	return "#5b6570"
}

// digestPage is the data of templates/digest.html.
type digestPage struct {
	Title, Workspace, GeneratedAt string
	KPIs                          []digestKPIView
	DueReviews                    []DueReview
	Annotations                   []Annotation
	Feedback                      []Feedback
}

type digestKPIView struct {
	digestKPI
	StatusColour template.CSS
}

func renderDigestHTML(in DigestInput, kpis []digestKPI, src func(digestKPI) template.URL) (string, error) {
	page := digestPage{
		Title:       in.Title,
		Workspace:   in.Workspace,
		GeneratedAt: in.GeneratedAt.In(in.Location).Format("2006-01-02 15:04 MST"),
		DueReviews:  in.DueReviews,
		Annotations: in.Annotations,
		Feedback:    in.Feedback,
	}
	for _, d := range kpis {
		d.ImageSrc = src(d)
		page.KPIs = append(page.KPIs, digestKPIView{digestKPI: d, StatusColour: template.CSS(d.statusColour)})
	}
	var buf bytes.Buffer
	if err := digestTemplate.Execute(&buf, page); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// digestLines returns a KPI's facts as label and text pairs, for the text
// and PDF forms.
func (d digestKPI) digestLines() [][2]string {
	lines := [][2]string{
		{"Value", strings.TrimSpace(d.Value + " " + d.Period)},
	}
	if d.GrainNote != "" {
		lines = append(lines, [2]string{"Grain", d.GrainNote})
	}
	lines = append(lines, [][2]string{
		{"Status", d.Status},
		{"Change", d.Change},
		{"Year over year", d.YearOverYear},
		{"Forecast", d.Forecast},
	}...)
	if d.Pace != "" {
		lines = append(lines, [2]string{"Pace", d.Pace})
	}
	if d.Anomalies != "" {
		lines = append(lines, [2]string{"Anomalies", d.Anomalies})
	}
	if d.TopContributor != "" {
		lines = append(lines, [2]string{"Top contributor", d.TopContributor})
	}
	return lines
}

func digestText(in DigestInput, kpis []digestKPI) string {
	var b strings.Builder
	title := in.Title
	if in.Workspace != "" {
		title = in.Workspace + ": " + title
	}
	fmt.Fprintf(&b, "%s\nGenerated %s\n", title, in.GeneratedAt.In(in.Location).Format("2006-01-02 15:04 MST"))

	for _, d := range kpis {
		fmt.Fprintf(&b, "\n%s (%s)\n", d.Name, d.ID)
		for _, l := range d.digestLines() {
			fmt.Fprintf(&b, "  %-16s %s\n", l[0]+":", l[1])
		}
		if d.Link != "" {
			fmt.Fprintf(&b, "  %-16s %s\n", "Page:", d.Link)
		}
	}

	for _, s := range optionalSections(in) {
		fmt.Fprintf(&b, "\n%s\n", s.title)
		for _, line := range s.lines {
			fmt.Fprintf(&b, "  - %s\n", line)
		}
	}
	return b.String()
}

// section is an optional part of a digest as lines of text.
type section struct {
	title string
	lines []string
}

func optionalSections(in DigestInput) []section {
	var out []section
	if len(in.DueReviews) > 0 {
		s := section{title: "Reviews due"}
		for _, r := range in.DueReviews {
			line := fmt.Sprintf("%s: %s review due %s", r.KPI, r.Cadence, r.Due)
			if r.LastReview != "" {
				line += ", last reviewed " + r.LastReview
			}
			s.lines = append(s.lines, line)
		}
		out = append(out, s)
	}
	if len(in.Annotations) > 0 {
		s := section{title: "New annotations"}
		for _, a := range in.Annotations {
			scope := a.KPI
			if scope == "" {
				scope = "all KPIs"
			}
			line := fmt.Sprintf("%s, %s (%s): %s", a.Date, scope, a.Kind, a.Note)
			if a.Author != "" {
				line += " — " + a.Author
			}
			s.lines = append(s.lines, line)
		}
		out = append(out, s)
	}
	if len(in.Feedback) > 0 {
		s := section{title: "Feedback"}
		for _, f := range in.Feedback {
			line := fmt.Sprintf("%s, %s: %q", f.Date, f.KPI, f.Text)
			if by := strings.TrimSpace(f.Author + " " + sourceText(f.Source)); by != "" {
				line += " — " + by
			}
			s.lines = append(s.lines, line)
		}
		out = append(out, s)
	}
	return out
}

func sourceText(source string) string {
	if source == "" {
		return ""
	}
	return "(" + source + ")"
}
