// Command northstar is the Northstar KPI tracker: a CLI to import data, check
// and report KPIs, and a server for the dashboard and the JSON API.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones work on machines without a zoneinfo database

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // something went wrong that is not the user's input
	exitInvalid = 2 // bad flags, a bad file, an unknown KPI

	// exitInterrupted is the shell's code for a command stopped by SIGINT
	// (128 + 2), also used for SIGTERM.
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "northstar: interrupted")
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "northstar:", errorText(err))

	var usage *usageError
	switch {
	case errors.As(err, &usage), kpi.ErrorCode(err) == kpi.EINVALID, kpi.ErrorCode(err) == kpi.ENOTFOUND:
		return exitInvalid
	default:
		return exitFailure
	}
}

// errorText returns the message to print for err. Internal errors keep their
// full chain here, because the person at the terminal is the operator.
func errorText(err error) string {
	if c := kpi.ErrorCode(err); c != kpi.EINTERNAL {
		return kpi.ErrorMessage(err)
	}
	return err.Error()
}

// usageError marks an error in the command line itself.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() + " (see --help)" }
func (e *usageError) Unwrap() error { return e.err }

// globals holds the flags every command shares and the process's streams.
type globals struct {
	dbPath string
	stdout io.Writer
	stderr io.Writer
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "northstar",
		Short:         "Track product KPIs against their targets",
		Long:          "Northstar computes product KPIs from events, judges them against their targets, and shows them on dashboards.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	defaultDB := "northstar.db"
	if v := os.Getenv("NORTHSTAR_DB"); v != "" {
		defaultDB = v
	}
	root.PersistentFlags().StringVar(&g.dbPath, "db", defaultDB, "SQLite database file, or a postgres:// or postgresql:// URL to use PostgreSQL (env NORTHSTAR_DB)")

	root.AddCommand(
		newImportCmd(g),
		newReportCmd(g),
		newServeCmd(g),
		newDemoCmd(g),
		newKPICmd(g),
		newKeysCmd(g),
		newUsersCmd(g),
		newTokensCmd(g),
		newWorkspacesCmd(g),
		newCheckCmd(g),
		newGenCmd(g),
		newBenchCmd(g),
		newReindexCmd(g),
	)
	return root
}
