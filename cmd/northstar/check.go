package main

import (
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
		Use:   "check --kpis FILE [--max-kpis N]",
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

The exit code is 0 when there are only warnings, 1 when there is an error,
and 2 for a bad flag or a file that cannot be read.`,
		Example: `  northstar check --kpis examples/relay-foods/kpis.yaml
  northstar check --kpis kpis.yaml --max-kpis 5`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{fmt.Errorf("check takes no arguments, got %q; pass the file with --kpis", args[0])}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, _ []string) error {
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

			findings := kpi.Lint(kpiPath, data, kpi.LintOptions{Now: time.Now(), MaxKPIsPerObjective: maxKPIs})
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
	cmd.Flags().IntVar(&maxKPIs, "max-kpis", kpi.DefaultMaxKPIsPerObjective, "number of KPIs one objective may have before check warns")
	return cmd
}

// plural returns n and noun, with an s unless n is 1: "0 errors", "1 error".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
