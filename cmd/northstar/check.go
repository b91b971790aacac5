package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func newCheckCmd(g *globals) *cobra.Command {
	var (
		kpiPath string
		maxKPIs int
	)
	cmd := &cobra.Command{
		Use:   "check --kpis FILE [--db PATH] [--max-kpis N]",
		Short: "Check a KPI file for mistakes and for KPIs that are hard to act on",
		Long: `Load the KPI file and print what is wrong with it, one finding per line:

  error: FILE:LINE: kpi "ID": FIELD: message
  warning: FILE:LINE: kpi "ID": FIELD: message

then a summary such as "1 error, 3 warnings in FILE".

Errors: anything that stops the file from loading, and formulas that add or
subtract values in different units (USD + customers). Warnings: a KPI with no
target, a target date before today (in the workspace's time zone), no owner,
no objective, a vague name (one generic word such as "Growth", or only the
metric kind such as "Unique users"), a formula KPI whose unit differs from
the single unit its formula gives, and an objective with more than --max-kpis
KPIs. docs/kpi-file.md lists every rule.

With --db (or NORTHSTAR_DB) it also checks the database: each KPI made in
the UI, as the UI checks it when it is saved (a KPI that no longer fits the
file, such as one whose objective the file dropped, is an error), and each
dashboard that shows more than --max-kpis KPIs. These findings name the
database instead of a file line.

The exit code is 0 when there are only warnings, 1 when there is an error,
and 2 for a bad flag or a file that cannot be read.`,
		Example: `  northstar check --kpis examples/relay-foods/kpis.yaml
  northstar check --kpis kpis.yaml --max-kpis 5
  northstar check --kpis kpis.yaml --db northstar.db`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{fmt.Errorf("check takes no arguments, got %q; pass the file with --kpis", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kpiPath == "" {
				return &usageError{errors.New("--kpis FILE is required")}
			}
			if maxKPIs < 1 {
				return &usageError{fmt.Errorf("--max-kpis %d is invalid (want 1 or more KPIs per objective)", maxKPIs)}
			}

			data, err := os.ReadFile(kpiPath)
			switch {
			case errors.Is(err, os.ErrNotExist):
				return kpi.Errorf(kpi.EINVALID, "KPI file %s not found (pass the path with --kpis)", kpiPath)
			case err != nil:
				return kpi.Errorf(kpi.EINVALID, "cannot read KPI file %s: %v", kpiPath, err)
			}

			now := time.Now()
			findings := kpi.Lint(kpiPath, data, kpi.LintOptions{Now: now, MaxKPIsPerObjective: maxKPIs})
			if (cmd.Flags().Changed("db") || os.Getenv("NORTHSTAR_DB") != "") && !kpi.HasErrors(findings) {
				dbFindings, err := checkDatabase(cmd.Context(), g.dbPath, kpiPath, data, maxKPIs, now)
				if err != nil {
					return err
				}
				findings = append(findings, dbFindings...)
			}
			errorCount, warningCount := 0, 0
			for _, f := range findings {
				if f.Severity == kpi.SeverityError {
					errorCount++
				} else {
					warningCount++
				}
				fmt.Fprintf(g.stdout, "%s: %s\n", f.Severity, f)
			}
			fmt.Fprintf(g.stdout, "%s, %s in %s\n", plural(errorCount, "error"), plural(warningCount, "warning"), kpiPath)

			if errorCount > 0 {
				return fmt.Errorf("%s: %s (listed above)", kpiPath, plural(errorCount, "error"))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kpiPath, "kpis", "", "KPI definitions file (YAML) to check")
	cmd.Flags().IntVar(&maxKPIs, "max-kpis", kpi.DefaultMaxKPIsPerObjective, "number of KPIs one objective or dashboard may have before check warns")
	return cmd
}

// checkDatabase opens the database at dsn and lints its KPIs and dashboards
// against the KPI file's definitions.
func checkDatabase(ctx context.Context, dsn, kpiPath string, data []byte, maxKPIs int, now time.Time) ([]kpi.Finding, error) {
	defs, err := kpi.Parse(kpiPath, data)
	if err != nil {
		return nil, err
	}
	if !isPostgresURL(dsn) {
		if _, err := os.Stat(dsn); err != nil {
			return nil, kpi.Errorf(kpi.EINVALID, "database %s not found: pass the file the server uses with --db", dsn)
		}
	}
	db, err := openStore(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cs, ok := db.(checkStore)
	if !ok {
		return nil, fmt.Errorf("the database %s cannot list its KPIs and dashboards", displayDSN(dsn))
	}
	return lintDatabase(ctx, cs, displayDSN(dsn), defs, maxKPIs, now)
}

// plural returns n and noun, with an s unless n is 1: "0 errors", "1 error".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
