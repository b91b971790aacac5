package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func newKPICmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kpi COMMAND",
		Short: "Work with KPI definitions",
		Long:  "Work with KPI definitions. The only command so far is templates; see northstar kpi templates --help.",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("name a command, as in northstar kpi templates")}
			}
			return &usageError{fmt.Errorf("unknown command %q for northstar kpi (the only command is templates)", args[0])}
		},
	}
	cmd.AddCommand(newKPITemplatesCmd(g))
	return cmd
}

func newKPITemplatesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "templates [NAME]",
		Short: "List ready KPI definitions, or print one as YAML",
		Long: `Without NAME, list the catalogue of common product KPIs, one line each.
With NAME, print that template as YAML to paste into a KPI file: copy its
entries under metrics: into your file's metrics: section (skip those you
already have) and its KPI under kpis:. Comments in each template say which
event and property names to change. docs/metrics.md defines every metric kind.`,
		Example: `  northstar kpi templates
  northstar kpi templates d7_retention`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 1 {
				return &usageError{fmt.Errorf("kpi templates takes at most one NAME, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				t, err := kpi.TemplateByName(args[0])
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(g.stdout, t.YAML)
				return err
			}

			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			for _, t := range kpi.Templates() {
				fmt.Fprintf(tw, "%s\t%s\n", t.Name, t.Description)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			_, err := fmt.Fprintln(g.stdout, "\nPrint one as YAML with: northstar kpi templates NAME")
			return err
		},
	}
}
