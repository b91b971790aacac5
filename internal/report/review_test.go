package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/northstar-kpi/northstar/internal/engine"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

func reviewItems() []Item {
	today := timegrain.Date{Year: 2027, Month: time.March, Day: 20}
	reviewed := kpi.History{Reviews: []kpi.Review{{ID: 1, Date: timegrain.Date{Year: 2027, Month: time.February, Day: 18}, Reviewer: "bo", Decision: kpi.Keep}}}
	due := kpi.ReviewStateOn(kpi.Monthly, reviewed, today)
	notDue := kpi.ReviewStateOn(kpi.Quarterly, reviewed, today)
	series := &engine.Series{Grain: timegrain.Month}
	return []Item{
		{KPI: &kpi.KPI{ID: "signups", Name: "Signups"}, Series: series, Review: &due},
		{KPI: &kpi.KPI{ID: "orders", Name: "Orders"}, Series: series, Review: &notDue},
	}
}

func TestWriteTableShowsReviews(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, Table, reviewItems(), time.UTC); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// A month after 18 February is 18 March, which 20 March has passed;
	// three months after is 18 May.
	for _, want := range []string{"review: monthly, due (last review 2027-02-18)", "review: quarterly, next by 2027-05-18 (last review 2027-02-18)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table does not contain %q:\n%s", want, out)
		}
	}
}

func TestWriteJSONShowsReviews(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, JSON, reviewItems(), time.UTC); err != nil {
		t.Fatal(err)
	}
	var body struct {
		KPIs []struct {
			ID     string `json:"id"`
			Review struct {
				Cadence string `json:"cadence"`
				Due     bool   `json:"due"`
				NextDue string `json:"next_due"`
			} `json:"review"`
		} `json:"kpis"`
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(body.KPIs) != 2 {
		t.Fatalf("kpis = %+v", body.KPIs)
	}
	if r := body.KPIs[0].Review; r.Cadence != "monthly" || !r.Due || r.NextDue != "2027-03-18" {
		t.Errorf("signups review = %+v, want monthly, due since 2027-03-18", r)
	}
	if r := body.KPIs[1].Review; r.Cadence != "quarterly" || r.Due {
		t.Errorf("orders review = %+v, want quarterly, not due", r)
	}
}
