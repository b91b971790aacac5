package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
	"github.com/northstar-kpi/northstar/internal/trend"
)

// noHistory is a series computer with no data before the items' series, so
// that year-over-year changes are empty.
type noHistory struct{}

func (noHistory) Series(_ context.Context, _ *kpi.Definitions, id string, g timegrain.Grain, _ engine.Range) (*engine.Series, error) {
	return &engine.Series{KPI: id, Grain: g, ChangeUnit: "%"}, nil
}

func fp(v float64) *float64 { return &v }

// digestItems returns two KPIs with trend analysis:
//   - revenue (USD, by month): 1,000, 1,100, …, 1,500 from January to June
//     2026, with a target of 2,000 by 2026-12-31. The line reaches 2,100 in
//     December, so it is on pace.
//   - signups (by day): 50 a day for 21 days from 2026-06-01 with 400 on
//     day 10, an anomaly.
func digestItems(t *testing.T) []Item {
	t.Helper()
	defs := &kpi.Definitions{Workspace: kpi.Workspace{Name: "Acme", Location: time.UTC, WeekStart: time.Monday}}
	revenue := &kpi.KPI{ID: "revenue", Name: "Revenue", Unit: "USD", Direction: kpi.Up, Grain: timegrain.Month,
		Target: &kpi.Target{Value: fp(2000), By: timegrain.Date{Year: 2026, Month: 12, Day: 31}}}
	signups := &kpi.KPI{ID: "signups", Name: "Signups", Direction: kpi.Up, Grain: timegrain.Day}
	defs.KPIs = []*kpi.KPI{revenue, signups}

	rs := &engine.Series{KPI: "revenue", Grain: timegrain.Month, ChangeUnit: "%",
		Goal: &engine.PathPoint{Value: 2000, At: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}
	for m := 1; m <= 6; m++ {
		start := time.Date(2026, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		rs.Points = append(rs.Points, engine.Point{Start: start, End: start.AddDate(0, 1, 0), Value: fp(900 + 100*float64(m)), Status: kpi.OnTrack})
	}

	ss := &engine.Series{KPI: "signups", Grain: timegrain.Day, ChangeUnit: "%"}
	for d := range 21 {
		start := time.Date(2026, 6, 1+d, 0, 0, 0, 0, time.UTC)
		v := 50.0
		if d == 10 {
			v = 400
		}
		ss.Points = append(ss.Points, engine.Point{Start: start, End: start.AddDate(0, 0, 1), Value: fp(v), Status: kpi.NoTarget})
	}

	var items []Item
	for _, pair := range []struct {
		k *kpi.KPI
		s *engine.Series
	}{{revenue, rs}, {signups, ss}} {
		tr, err := trend.Compute(context.Background(), noHistory{}, defs, pair.k, pair.s, trend.Options{})
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, Item{KPI: pair.k, Series: pair.s, Trend: tr})
	}
	return items
}

func digestInput(t *testing.T) DigestInput {
	return DigestInput{
		Title:       "Weekly digest",
		Workspace:   "Acme",
		GeneratedAt: time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC),
		Items:       digestItems(t),
		DueReviews:  []DueReview{{KPI: "revenue", Cadence: "monthly", Due: "2026-07-01", LastReview: "2026-06-01"}},
		Annotations: []Annotation{{Kind: "external", Date: "2026-06-20", Note: "Competitor launched a free plan", Author: "Ana"}},
		Feedback:    []Feedback{{KPI: "signups", Date: "2026-06-25", Text: "Sign-up form is too long", Author: "Bo", Source: "survey"}},
		BaseURL:     "http://127.0.0.1:8080/",
	}
}

// facts are what every form of the digest must contain, each computed by
// hand from digestItems.
var facts = []string{
	"$1,500",  // revenue in June
	"+7.1%",   // 1,400 → 1,500 is +7.14 %
	"$2,100",  // revenue forecast for December
	"On pace", // 2,100 against 2,000
	"target $2,000 by 2026-12-31",
	"2026-06-11 (400)", // the anomaly
	"Competitor launched a free plan",
	"Sign-up form is too long",
	"monthly review due 2026-07-01",
}

func TestDigestHTML(t *testing.T) {
	doc, err := Digest(context.Background(), digestInput(t))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Subject != "Acme: Weekly digest — 2026-07-01" {
		t.Errorf("subject %q", doc.Subject)
	}
	for _, want := range append(facts, `href="http://127.0.0.1:8080/kpis/revenue"`) {
		// html/template writes + as &#43; and quotes as entities.
		escaped := strings.ReplaceAll(want, "+", "&#43;")
		if !strings.Contains(doc.HTML, escaped) {
			t.Errorf("HTML lacks %q", escaped)
		}
	}
	if len(doc.Images) != 2 {
		t.Fatalf("%d images, want 2", len(doc.Images))
	}
	for _, img := range doc.Images {
		if !strings.Contains(doc.HTML, `src="cid:`+img.ContentID+`"`) {
			t.Errorf("HTML does not refer to cid:%s", img.ContentID)
		}
		if strings.Contains(doc.InlineHTML, "cid:") {
			t.Error("inline HTML refers to a cid: image")
		}
	}

	// Every data: image of the inline HTML decodes as a PNG.
	dataURIs := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindAllStringSubmatch(doc.InlineHTML, -1)
	if len(dataURIs) != 2 {
		t.Fatalf("inline HTML has %d data: images, want 2", len(dataURIs))
	}
	for _, m := range dataURIs {
		// The attribute is HTML: entities such as &#43; stand for characters.
		b, err := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("data: image is not base64: %v", err)
		}
		if _, err := png.Decode(bytes.NewReader(b)); err != nil {
			t.Errorf("data: image is not a PNG: %v", err)
		}
	}
}

func TestDigestImagesArePNG(t *testing.T) {
	doc, err := Digest(context.Background(), digestInput(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range doc.Images {
		decoded, err := png.Decode(bytes.NewReader(img.PNG))
		if err != nil {
			t.Errorf("chart of %s is not a valid PNG: %v", img.KPI, err)
			continue
		}
		if b := decoded.Bounds(); b.Dx() != 672 || b.Dy() != 269 {
			t.Errorf("chart of %s is %dx%d, want 672x269", img.KPI, b.Dx(), b.Dy())
		}
	}
	if os.Getenv("NORTHSTAR_CHARTS") != "" {
		for _, img := range doc.Images {
			_ = os.WriteFile(filepath.Join(os.Getenv("NORTHSTAR_CHARTS"), img.Filename), img.PNG, 0o644)
		}
	}
}

func TestDigestText(t *testing.T) {
	doc, err := Digest(context.Background(), digestInput(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append(facts, "Revenue (revenue)", "Page:            http://127.0.0.1:8080/kpis/revenue") {
		if !strings.Contains(doc.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, doc.Text)
		}
	}
}

// requirePDFToText returns the path of Debian's pdftotext (poppler-utils). It
// skips the test when it is missing, and fails it under CI=true.
func requirePDFToText(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("pdftotext")
	if err != nil {
		msg := "pdftotext not found: install Debian's poppler-utils (apt-get install poppler-utils), or run scripts/test.sh as root"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

func TestDigestPDF(t *testing.T) {
	pdftotext := requirePDFToText(t)
	doc, err := Digest(context.Background(), digestInput(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(doc.PDF, []byte("%PDF-")) {
		t.Fatalf("PDF starts with %q", doc.PDF[:min(8, len(doc.PDF))])
	}
	path := filepath.Join(t.TempDir(), "digest.pdf")
	if err := os.WriteFile(path, doc.PDF, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range append(facts, "Acme: Weekly digest", "Revenue (revenue)", "Signups (signups)") {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q:\n%s", want, text)
		}
	}
	if n := bytes.Count(doc.PDF, []byte("/Subtype /Image")); n != 2 {
		t.Errorf("PDF has %d images, want 2", n)
	}
}

func TestDigestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Digest(ctx, digestInput(t)); err == nil {
		t.Error("Digest with a cancelled context: no error")
	}
}
