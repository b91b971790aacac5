package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/gen"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

func newGenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gen KIND [flags]",
		Short: "Generate synthetic data for benchmarks",
		Long:  "Generate synthetic data into a file: product events for benchmarks (northstar gen events --help).",
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("name what to generate, as in northstar gen events --out events.csv")}
			}
			return &usageError{fmt.Errorf("unknown kind %q (want events)", args[0])}
		},
	}
	cmd.AddCommand(newGenEventsCmd(g))
	return cmd
}

const genEventsHelp = `Write a synthetic product-event data set to --out, for benchmarks.

--events events by --users users over --days days from --start (UTC). Each
user sends one signup event on their first day; more users sign up late in
the span than early. After signup a user is active on a day with a chance
that decays over the first weeks to a small floor, scaled by a per-user
engagement. Active users send events of 49 other names, a few of which carry
most events, among them activate and purchase (with a whole-number amount).
Each user has one plan and one country.

The same flags always write the same bytes. Memory grows with --users and
with one day's events, not with --events.

CSV has the header event,distinct_id,timestamp,plan,country,amount and
imports with:
  northstar import csv FILE --event-column event --time timestamp --user distinct_id \
      --prop plan=plan --prop country=country --prop amount=amount:number
NDJSON has one event per line in the format of POST /api/v1/events, each
with a message_id.`

func newGenEventsCmd(g *globals) *cobra.Command {
	var (
		opts  gen.Options
		seed  int64
		out   string
		start string
	)
	cmd := &cobra.Command{
		Use:                   "events --events N --users U --out FILE [--days D] [--seed S] [--format csv|ndjson] [--start DATE]",
		Short:                 "Write a synthetic product-event data set",
		Long:                  genEventsHelp,
		DisableFlagsInUseLine: true,
		Example: `  northstar gen events --events 1000000 --users 50000 --out events-1m.csv
  northstar gen events --events 10000000 --users 500000 --format ndjson --out events-10m.ndjson`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return &usageError{errors.New("--out FILE is required")}
			}
			if seed < 0 {
				return &usageError{fmt.Errorf("--seed %d is negative; want 0 or more", seed)}
			}
			opts.Seed = uint64(seed)
			if start != "" {
				t, err := time.Parse(time.DateOnly, start)
				if err != nil {
					return &usageError{fmt.Errorf("--start %q is not a date (want YYYY-MM-DD)", start)}
				}
				opts.Start = t
			}
			return runGenEvents(g, opts, out)
		},
	}

	f := cmd.Flags()
	f.IntVar(&opts.Events, "events", 1_000_000, "number of events to write, signups included")
	f.IntVar(&opts.Users, "users", 50_000, "number of users")
	f.IntVar(&opts.Days, "days", 365, fmt.Sprintf("number of days the events span, from 1 to %d", gen.MaxDays))
	f.Int64Var(&seed, "seed", 1, "seed of the random generator; the same seed gives the same file")
	f.StringVar(&out, "out", "", "`FILE` to write (required); an existing file is replaced")
	f.StringVar(&opts.Format, "format", gen.FormatCSV, "output format: csv or ndjson")
	f.StringVar(&start, "start", gen.DefaultStart.Format(time.DateOnly), "first `DATE` of the data, as YYYY-MM-DD in UTC")
	return cmd
}

// runGenEvents writes the data set to a temporary file next to out and
// renames it, so a failed run leaves no partial file under the name out.
func runGenEvents(g *globals, opts gen.Options, out string) error {
	began := time.Now()
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*.tmp")
	if err != nil {
		return kpi.Errorf(kpi.EINVALID, "cannot create a file next to %s: %v", out, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file private to its owner; a data set is not secret.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("set the mode of %s: %w", tmp.Name(), err)
	}

	sum, err := gen.Write(tmp, opts)
	if closeErr := tmp.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("close %s: %w", tmp.Name(), closeErr)
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp.Name(), out, err)
	}

	fmt.Fprintf(g.stdout, "%s: %d events by %d users over %d days in %s\n",
		out, sum.Events, sum.Users, opts.Days, time.Since(began).Round(time.Millisecond))
	return nil
}
