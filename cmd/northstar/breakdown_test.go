package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// telcoKPIs defines the churn share of the Telco customer snapshot.
const telcoKPIs = `workspace: {name: Telco}
metrics:
  churned: {kind: count, event: customer, where: {Churn: "Yes"}}
  customers: {kind: count, event: customer}
kpis:
  - id: churn_share
    name: Churn share
    unit: "%"
    metric: {kind: formula, formula: churned / customers * 100}
  - id: customer_count
    name: Customers
    metric: {kind: count, event: customer}
  - id: monthly_churn
    name: Monthly churn
    unit: "%"
    metric: {kind: churn, event: customer}
  - id: recurring_revenue
    name: MRR
    metric: {kind: mrr, start_event: subscribe, cancel_event: cancel, property: MonthlyCharges}
`

// telcoCounts are the customers and churned customers of one group.
type telcoCounts struct{ customers, churned int }

// share returns the churn share in percent.
func (c telcoCounts) share() float64 { return 100 * float64(c.churned) / float64(c.customers) }

// telcoSnapshot copies the Telco churn file into dir with a SnapshotDate
// column, because the importer needs a time for each event and the file is a
// snapshot without dates. It counts the customers and churned customers of
// the file, overall and per value of the Contract and PaymentMethod columns,
// with encoding/csv and plain Go.
func telcoSnapshot(t *testing.T, dir string) (path string, all telcoCounts, byColumn map[string]map[string]telcoCounts) {
	t.Helper()
	src := sharedDataFile(t, "telco-customer-churn.csv")

	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", src, err)
	}

	col := map[string]int{}
	for i, name := range records[0] {
		col[name] = i
	}
	byColumn = map[string]map[string]telcoCounts{"Contract": {}, "PaymentMethod": {}}
	for _, rec := range records[1:] {
		churned := rec[col["Churn"]] == "Yes"
		add := func(c *telcoCounts) {
			c.customers++
			if churned {
				c.churned++
			}
		}
		add(&all)
		for name, groups := range byColumn {
			c := groups[rec[col[name]]]
			add(&c)
			groups[rec[col[name]]] = c
		}
	}

	path = filepath.Join(dir, "telco-snapshot.csv")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	for i, rec := range records {
		extra := "2024-01-31"
		if i == 0 {
			extra = "SnapshotDate"
		}
		if err := w.Write(append(rec, extra)); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path, all, byColumn
}

// importTelco imports the snapshot as one customer event per row and writes
// the KPI file, returning the database and KPI file paths.
func importTelco(t *testing.T) (dbPath, kpisPath string, all telcoCounts, byColumn map[string]map[string]telcoCounts) {
	t.Helper()
	dir := t.TempDir()
	snapshot, all, byColumn := telcoSnapshot(t, dir)
	if all.customers != 7043 || all.churned != 1869 {
		t.Fatalf("the Telco file has %d customers, %d churned; want 7,043 and 1,869 as published", all.customers, all.churned)
	}

	dbPath = filepath.Join(dir, "telco.db")
	code, stdout, stderr := runCLI(t, "import", "csv", snapshot, "--event", "customer", "--time", "SnapshotDate",
		"--user", "customerID", "--prop", "Churn=Churn", "--prop", "Contract=Contract", "--prop", "PaymentMethod=PaymentMethod", "--db", dbPath)
	if code != exitOK {
		t.Fatalf("import exit code %d: %s", code, stderr)
	}
	if want := "telco-snapshot.csv: 7043 rows read, 7043 imported, 0 duplicates, 0 skipped\n"; stdout != want {
		t.Fatalf("import output %q, want %q", stdout, want)
	}

	kpisPath = filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpisPath, []byte(telcoKPIs), 0o644); err != nil {
		t.Fatal(err)
	}
	return dbPath, kpisPath, all, byColumn
}

// breakdownCSV runs report --breakdown as CSV and returns the value of each
// segment in January 2024, and the segments in output order.
func breakdownCSV(t *testing.T, args ...string) (values map[string]float64, order []string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"report", "--format", "csv", "--from", "2024-01-01", "--to", "2024-01-31"}, args...)...)
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	records, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil {
		t.Fatalf("report output is not CSV: %v\n%s", err, stdout)
	}
	if got := strings.Join(records[0], ","); got != "kpi,period_start,segment,value" {
		t.Fatalf("CSV header = %s", got)
	}

	values = map[string]float64{}
	for _, rec := range records[1:] {
		if rec[0] != "churn_share" || rec[1] != "2024-01-01" {
			t.Errorf("row %q, want churn_share in the period 2024-01-01 only", rec)
			continue
		}
		values[rec[2]] = parseCell(t, rec[3])
		order = append(order, rec[2])
	}
	return values, order
}

func checkShare(t *testing.T, label string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("%s = %.6f, want %.6f", label, got, want)
	}
}

func TestReportTelcoChurnShare(t *testing.T) {
	dbPath, kpisPath, all, byColumn := importTelco(t)

	rows := reportRows(t, "--kpis", kpisPath, "--db", dbPath, "--kpi", "churn_share", "--from", "2024-01-01", "--to", "2024-01-31")
	row, ok := rows["churn_share"]["2024-01-01"]
	if !ok {
		t.Fatalf("no churn_share row for 2024-01-01: %v", rows)
	}
	checkShare(t, "overall churn share", parseCell(t, row[2]), all.share())

	// Every contract type is shown: three are fewer than the default limit.
	values, order := breakdownCSV(t, "--kpis", kpisPath, "--db", dbPath, "--kpi", "churn_share", "--breakdown", "Contract")
	contracts := byColumn["Contract"]
	if len(values) != len(contracts) {
		t.Errorf("segments %v, want the %d contract types", order, len(contracts))
	}
	for contract, c := range contracts {
		got, ok := values[contract]
		if !ok {
			t.Errorf("no segment for contract %q", contract)
			continue
		}
		checkShare(t, "churn share of "+contract, got, c.share())
	}
	if contracts["Month-to-month"].share() < 40 || contracts["Two year"].share() > 5 {
		t.Errorf("month-to-month churn %.1f %%, two-year %.1f %%: the published data has about 43 %% and 3 %%",
			contracts["Month-to-month"].share(), contracts["Two year"].share())
	}
}

func TestReportTelcoBreakdownOther(t *testing.T) {
	dbPath, kpisPath, _, byColumn := importTelco(t)

	// A formula's segments rank by the events of its inputs: churned plus
	// all customers. The two largest payment methods are kept, and the
	// churn share of the others is that of their customers pooled.
	methods := byColumn["PaymentMethod"]
	names := make([]string, 0, len(methods))
	for name := range methods {
		names = append(names, name)
	}
	weight := func(name string) int { return methods[name].customers + methods[name].churned }
	slices.SortFunc(names, func(a, b string) int {
		if weight(a) != weight(b) {
			return weight(b) - weight(a)
		}
		return strings.Compare(a, b)
	})
	var pooled telcoCounts
	for _, name := range names[2:] {
		pooled.customers += methods[name].customers
		pooled.churned += methods[name].churned
	}

	values, order := breakdownCSV(t, "--kpis", kpisPath, "--db", dbPath, "--kpi", "churn_share", "--breakdown", "PaymentMethod", "--limit", "2")
	if want := []string{names[0], names[1], "(other)"}; !slices.Equal(order, want) {
		t.Fatalf("segments %q, want %q", order, want)
	}
	checkShare(t, names[0], values[names[0]], methods[names[0]].share())
	checkShare(t, names[1], values[names[1]], methods[names[1]].share())
	checkShare(t, "(other)", values["(other)"], pooled.share())

	// The JSON output carries the same pooled value and the number pooled.
	code, stdout, stderr := runCLI(t, "report", "--kpis", kpisPath, "--db", dbPath, "--kpi", "customer_count", "--breakdown", "PaymentMethod",
		"--limit", "2", "--from", "2024-01-01", "--to", "2024-01-31", "--format", "json")
	if code != exitOK {
		t.Fatalf("report --format json exit code %d: %s", code, stderr)
	}
	var body struct {
		Breakdowns []struct {
			KPI      string `json:"kpi"`
			Segments []struct {
				Name   string `json:"name"`
				Pooled int    `json:"pooled"`
				Total  struct {
					Value *float64 `json:"value"`
				} `json:"total"`
			} `json:"segments"`
		} `json:"breakdowns"`
	}
	if err := json.Unmarshal([]byte(stdout), &body); err != nil {
		t.Fatalf("report --format json: %v\n%s", err, stdout)
	}
	if len(body.Breakdowns) != 1 || len(body.Breakdowns[0].Segments) != 3 {
		t.Fatalf("JSON breakdowns %+v, want one with three segments", body.Breakdowns)
	}
	other := body.Breakdowns[0].Segments[2]
	if other.Name != "(other)" || other.Pooled != len(names)-2 || other.Total.Value == nil || *other.Total.Value != float64(pooled.customers) {
		t.Errorf("JSON other segment %+v, want (other) pooling %d with %d customers", other, len(names)-2, pooled.customers)
	}

	code, stdout, stderr = runCLI(t, "report", "--kpis", kpisPath, "--db", dbPath, "--kpi", "churn_share", "--breakdown", "Contract",
		"--from", "2024-01-01", "--to", "2024-01-31")
	if code != exitOK {
		t.Fatalf("report table exit code %d: %s", code, stderr)
	}
	for _, want := range []string{"churn_share — Churn share (%), by month and Contract", "Month-to-month", "2024-01-01"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestReportBreakdownFlagErrors(t *testing.T) {
	dbPath, kpisPath, _, _ := importTelco(t)

	tests := []struct {
		name    string
		args    []string
		message string
	}{
		{"limit without breakdown", []string{"--kpi", "churn_share", "--limit", "3"}, "--limit needs --breakdown PROPERTY"},
		{"breakdown without kpi", []string{"--breakdown", "Contract"}, "--breakdown needs the KPI to break down"},
		{"empty breakdown", []string{"--kpi", "churn_share", "--breakdown", ""}, `--breakdown "" is empty`},
		{"blank breakdown", []string{"--kpi", "churn_share", "--breakdown", " "}, `--breakdown " " is empty`},
		{"zero limit", []string{"--kpi", "churn_share", "--breakdown", "Contract", "--limit", "0"}, "--limit 0 is out of range"},
		{"kind without where", []string{"--kpi", "recurring_revenue", "--breakdown", "Contract"}, "is of kind mrr, which cannot be broken down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"report", "--kpis", kpisPath, "--db", dbPath}, tc.args...)...)
			if code != exitInvalid {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitInvalid, stderr)
			}
			if !strings.Contains(stderr, tc.message) {
				t.Errorf("stderr %q, want it to contain %q", stderr, tc.message)
			}
		})
	}
}

func TestReportBreakdownOtherOneSegment(t *testing.T) {
	dbPath, kpisPath, _, byColumn := importTelco(t)
	if n := len(byColumn["PaymentMethod"]); n != 4 {
		t.Fatalf("the Telco file has %d payment methods, want 4", n)
	}

	// Four payment methods with --limit 3 pool exactly one into (other).
	code, stdout, stderr := runCLI(t, "report", "--kpis", kpisPath, "--db", dbPath, "--kpi", "customer_count",
		"--breakdown", "PaymentMethod", "--limit", "3", "--from", "2024-01-01", "--to", "2024-01-31")
	if code != exitOK {
		t.Fatalf("report exit code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "(other), 1 segment ") {
		t.Errorf("table output lacks \"(other), 1 segment \":\n%s", stdout)
	}
	if strings.Contains(stdout, "1 segments") {
		t.Errorf("table output says \"1 segments\":\n%s", stdout)
	}
}

func TestReportBreakdownExplainPath(t *testing.T) {
	dbPath, kpisPath, _, byColumn := importTelco(t)
	declared := filepath.Join(filepath.Dir(kpisPath), "declared.yaml")
	if err := os.WriteFile(declared, []byte("dimensions: [PaymentMethod]\n"+telcoKPIs), 0o644); err != nil {
		t.Fatal(err)
	}

	// In order: before any KPI file declares PaymentMethod, the index does
	// not keep it. churned filters on Churn, which the index cannot combine
	// with a breakdown by PaymentMethod, so churn_share mixes the two paths.
	// Once declared, the saved index keeps PaymentMethod, also for the KPI
	// file that does not list it.
	tests := []struct {
		kpis, property string
		want           []string
	}{
		{kpisPath, "PaymentMethod", []string{
			`explain: kpi "customer_count" by PaymentMethod: computed by the SQL (store) path`,
			`explain: kpi "customer_count" by PaymentMethod: SQL because "PaymentMethod" is not a dimension of the activity index`,
		}},
		{declared, "PaymentMethod", []string{
			`explain: kpi "customer_count" by PaymentMethod: computed by the activity index path`,
			`explain: kpi "churn_share" by PaymentMethod: computed by the mixed (activity index and SQL) path`,
			`explain: kpi "churn_share" by PaymentMethod: SQL because metric churned: its where filter is on "Churn", another property than "PaymentMethod"`,
		}},
		{declared, "Contract", []string{
			`explain: kpi "customer_count" by Contract: computed by the SQL (store) path`,
			`explain: kpi "customer_count" by Contract: SQL because "Contract" is not a dimension of the activity index`,
		}},
		{kpisPath, "PaymentMethod", []string{
			`explain: kpi "customer_count" by PaymentMethod: computed by the activity index path`,
		}},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI(t, "report", "--kpis", tc.kpis, "--db", dbPath, "--kpi", "customer_count", "--kpi", "churn_share",
			"--breakdown", tc.property, "--from", "2024-01-01", "--to", "2024-01-31", "--explain", "--format", "csv")
		if code != exitOK {
			t.Fatalf("report --explain exit code %d: %s", code, stderr)
		}
		for _, want := range tc.want {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s by %s: stderr lacks %q:\n%s", filepath.Base(tc.kpis), tc.property, want, stderr)
			}
		}
	}

	// The index's breakdown counts the customers of each payment method.
	values, _ := breakdownCSV(t, "--kpis", declared, "--db", dbPath, "--kpi", "churn_share", "--breakdown", "PaymentMethod")
	for method, counts := range byColumn["PaymentMethod"] {
		checkShare(t, method, values[method], counts.share())
	}
}

func TestReportExplainNamesUnvaluedDimension(t *testing.T) {
	dbPath, kpisPath, _, _ := importTelco(t)
	typo := filepath.Join(filepath.Dir(kpisPath), "typo.yaml")
	if err := os.WriteFile(typo, []byte("dimensions: [PaymentMethod, PalymentMethod]\n"+telcoKPIs), 0o644); err != nil {
		t.Fatal(err)
	}

	code, _, stderr := runCLI(t, "report", "--kpis", typo, "--db", dbPath, "--kpi", "customer_count",
		"--breakdown", "Contract", "--from", "2024-01-01", "--to", "2024-01-31", "--explain", "--format", "csv")
	if code != exitOK {
		t.Fatalf("report --explain exit code %d: %s", code, stderr)
	}
	if want := `explain: no event in the index has a value for the dimension "PalymentMethod"`; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if strings.Contains(stderr, `dimension "PaymentMethod"`) {
		t.Errorf("stderr names PaymentMethod, which every customer event has:\n%s", stderr)
	}
}

func TestOpenIndexWarnsUnvaluedDimension(t *testing.T) {
	dbPath, _, _, _ := importTelco(t)
	defs, err := kpi.Parse("kpis.yaml", []byte("dimensions: [PaymentMethod, PalymentMethod]\n"+telcoKPIs))
	if err != nil {
		t.Fatal(err)
	}
	db, err := openStore(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var logs bytes.Buffer
	if _, err := openIndex(context.Background(), db, defs, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("openIndex: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "dimension=PalymentMethod") {
		t.Errorf("log lacks a warning for PalymentMethod:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "dimension=PaymentMethod") {
		t.Errorf("log warns about PaymentMethod, which every customer event has:\n%s", logs.String())
	}
}
