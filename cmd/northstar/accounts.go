package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store/postgres"
	"github.com/northstar-kpi/northstar/internal/store/sqlite"
	"github.com/northstar-kpi/northstar/internal/timegrain"
)

// cliActor is the actor that the audit log names for changes made with
// the command line.
const cliActor = "cli"

// openAuthStore returns the account store on db's database and a function
// that releases what it opened.
func openAuthStore(db appStore, now func() time.Time) (*auth.Store, func() error, error) {
	switch db := db.(type) {
	case *sqlite.DB:
		return auth.NewStore(db.SQL(), auth.SQLite, now), func() error { return nil }, nil
	case *postgres.DB:
		sqlDB := db.OpenSQL()
		return auth.NewStore(sqlDB, auth.PostgreSQL, now), sqlDB.Close, nil
	}
	return nil, nil, fmt.Errorf("no account store for %T", db)
}

// withAuthStore opens the database of --db, runs fn on its account store
// and closes both.
func withAuthStore(ctx context.Context, g *globals, create bool, fn func(s *auth.Store) error) error {
	return withKeyStore(ctx, g, create, func(db appStore) error {
		s, closeSQL, err := openAuthStore(db, nil)
		if err != nil {
			return err
		}
		defer closeSQL()
		return fn(s)
	})
}

func newUsersCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "users COMMAND",
		Short: "Create accounts that sign in to the dashboard",
		Long: `Manage the accounts that sign in to northstar serve with an e-mail address
and a password. The commands work on the database of --db, the one the
server uses.`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("name a command: create")}
			}
			return &usageError{fmt.Errorf("unknown command %q for northstar users (want create)", args[0])}
		},
	}
	cmd.AddCommand(newUsersCreateCmd(g))
	return cmd
}

func newUsersCreateCmd(g *globals) *cobra.Command {
	var (
		email, role   string
		workspaceID   int64
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "create --email E --role viewer|editor|admin [--workspace ID] [--password-stdin]",
		Short: "Create an account with a role in a workspace",
		Long: `Create an account that signs in with the e-mail address E, as a member of
workspace ID (1, the default workspace, unless --workspace says otherwise)
with the role viewer, editor or admin. The password is read from the
terminal, twice, or with --password-stdin from the first line of standard
input. It needs at least 12 characters and at most 72 bytes. Creating the
first account creates the SQLite database file when it does not exist yet.`,
		Example: `  northstar users create --email ada@example.com --role admin
  printf '%s\n' "$PASSWORD" | northstar users create --email bob@example.com --role viewer --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return &usageError{errors.New("--email E is required")}
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return &usageError{err}
			}
			password, err := readPassword(cmd.InOrStdin(), g.stderr, passwordStdin)
			if err != nil {
				return err
			}
			return withAuthStore(cmd.Context(), g, true, func(s *auth.Store) error {
				acc, err := s.CreateAccount(cmd.Context(), email, password, workspaceID, r, cliActor)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Created account %s, %s in workspace %d. Sign in at /signin of northstar serve.\n", acc.Email, r, workspaceID)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "e-mail address the account signs in with")
	cmd.Flags().StringVar(&role, "role", "", "role in the workspace: viewer, editor or admin")
	cmd.Flags().Int64Var(&workspaceID, "workspace", auth.DefaultWorkspaceID, "id of the workspace the account is a member of")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

// readPassword reads a new password: the first line of in with fromStdin,
// else twice from the terminal without echo.
func readPassword(in io.Reader, prompt io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		password := strings.TrimRight(line, "\r\n")
		if password == "" {
			return "", kpi.Errorf(kpi.EINVALID, "no password on standard input (send it as the first line)")
		}
		return password, auth.ValidatePassword(password)
	}

	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", &usageError{errors.New("standard input is not a terminal; pass the password with --password-stdin")}
	}
	fmt.Fprint(prompt, "Password: ")
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	if err := auth.ValidatePassword(string(first)); err != nil {
		return "", err
	}
	fmt.Fprint(prompt, "Password again: ")
	second, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", fmt.Errorf("read the password: %w", err)
	}
	if string(first) != string(second) {
		return "", kpi.Errorf(kpi.EINVALID, "the two passwords differ; nothing was created")
	}
	return string(first), nil
}

func newTokensCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens COMMAND",
		Short: "Create, list and revoke API tokens for scripts",
		Long: `Manage API tokens. An API token lets a script call the JSON API with a role
in one workspace, sent as "Authorization: Bearer ns_at_...". Only a hash
of the token is stored. The commands work on the database of --db.`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("name a command: create, list or revoke")}
			}
			return &usageError{fmt.Errorf("unknown command %q for northstar tokens (want create, list or revoke)", args[0])}
		},
	}
	cmd.AddCommand(newTokensCreateCmd(g), newTokensListCmd(g), newTokensRevokeCmd(g))
	return cmd
}

func newTokensCreateCmd(g *globals) *cobra.Command {
	var (
		name, role  string
		workspaceID int64
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME --role viewer|editor|admin [--workspace ID]",
		Short: "Create an API token and print it once",
		Long: `Create an API token named NAME with a role in workspace ID (default 1) and
print it. Only its hash is stored, so this is the one time it is shown.
NAME is 1 to 64 characters, and no other active token of the workspace may
have it.`,
		Example: `  northstar tokens create --name reporting --role viewer
  northstar tokens create --name prometheus --role admin --workspace 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return &usageError{errors.New("--name NAME is required")}
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return &usageError{err}
			}
			return withAuthStore(cmd.Context(), g, true, func(s *auth.Store) error {
				tok, secret, err := s.CreateToken(cmd.Context(), workspaceID, name, r, cliActor)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Created API token %q (%s in workspace %d):\n\n  %s\n\n", tok.Name, tok.Role, tok.WorkspaceID, secret)
				fmt.Fprintln(g.stdout, "Copy it now: it will not be shown again, because only its hash is stored.")
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the token, to recognise and revoke it")
	cmd.Flags().StringVar(&role, "role", "", "role of the token: viewer, editor or admin")
	cmd.Flags().Int64Var(&workspaceID, "workspace", auth.DefaultWorkspaceID, "id of the workspace the token works in")
	return cmd
}

func newTokensListCmd(g *globals) *cobra.Command {
	var workspaceID int64
	cmd := &cobra.Command{
		Use:   "list [--workspace ID]",
		Short: "List the API tokens of a workspace, revoked ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAuthStore(cmd.Context(), g, false, func(s *auth.Store) error {
				tokens, err := s.Tokens(cmd.Context(), workspaceID)
				if err != nil {
					return err
				}
				if len(tokens) == 0 {
					fmt.Fprintln(g.stdout, "No API tokens. Create one with: northstar tokens create --name NAME --role viewer")
					return nil
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tROLE\tPREFIX\tCREATED\tREVOKED")
				for _, tok := range tokens {
					revoked := "-"
					if tok.RevokedAt != nil {
						revoked = formatListTime(*tok.RevokedAt)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\n", tok.Name, tok.Role, tok.Prefix, formatListTime(tok.CreatedAt), revoked)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().Int64Var(&workspaceID, "workspace", auth.DefaultWorkspaceID, "id of the workspace")
	return cmd
}

func newTokensRevokeCmd(g *globals) *cobra.Command {
	var (
		name        string
		workspaceID int64
	)
	cmd := &cobra.Command{
		Use:   "revoke --name NAME [--workspace ID]",
		Short: "Revoke the active API token of a name",
		Long: `Revoke the active API token named NAME. It is rejected from then on, also
by a server that is already running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return &usageError{errors.New("--name NAME is required")}
			}
			return withAuthStore(cmd.Context(), g, false, func(s *auth.Store) error {
				if err := s.RevokeToken(cmd.Context(), workspaceID, name, cliActor); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Revoked API token %q.\n", name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the token to revoke")
	cmd.Flags().Int64Var(&workspaceID, "workspace", auth.DefaultWorkspaceID, "id of the workspace")
	return cmd
}

func newWorkspacesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workspaces COMMAND",
		Short: "Create and list workspaces",
		Long: `Manage workspaces. Workspace 1, "default", always exists and holds the KPIs
of the KPI file. Every workspace keeps its own events, KPIs, dashboards,
keys, alerts and members, and nothing crosses between them.`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("name a command: create or list")}
			}
			return &usageError{fmt.Errorf("unknown command %q for northstar workspaces (want create or list)", args[0])}
		},
	}

	var timeZone, weekStart string
	create := &cobra.Command{
		Use:   "create NAME [--time-zone ZONE] [--week-start DAY]",
		Short: "Create a workspace and print its id",
		Long: `Create a workspace named NAME and print its id. Its KPIs count days and
weeks in --time-zone, starting weeks on --week-start. The default workspace
takes both from the KPI file instead.`,
		Example: `  northstar workspaces create "EU shop" --time-zone Europe/Berlin --week-start monday`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := time.LoadLocation(timeZone); err != nil || timeZone == "" || timeZone == "Local" {
				return &usageError{fmt.Errorf("--time-zone %q is not a known IANA name (want one such as Europe/Berlin or America/New_York)", timeZone)}
			}
			start, err := timegrain.ParseWeekday(weekStart)
			if err != nil {
				return &usageError{fmt.Errorf("--week-start: %w", err)}
			}

			return withAuthStore(cmd.Context(), g, true, func(s *auth.Store) error {
				ws, err := s.CreateWorkspace(cmd.Context(), args[0], cliActor)
				if err != nil {
					return err
				}
				if err := s.SetWorkspaceCalendar(cmd.Context(), ws.ID, timeZone, start, cliActor); err != nil {
					return fmt.Errorf("workspace %d was created, but its calendar was not set: %w", ws.ID, err)
				}
				fmt.Fprintf(g.stdout, "Created workspace %d, %q, counting days in %s with weeks from %s.\n", ws.ID, ws.Name, timeZone, start)
				return nil
			})
		},
	}
	create.Flags().StringVar(&timeZone, "time-zone", "UTC", "IANA time zone that the workspace's KPIs count days in, such as Europe/Berlin")
	create.Flags().StringVar(&weekStart, "week-start", "monday", "first day of the workspace's weeks: monday or sunday")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the workspaces",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withAuthStore(cmd.Context(), g, false, func(s *auth.Store) error {
				list, err := s.Workspaces(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tTIME ZONE\tWEEK START")
				for _, ws := range list {
					zone, start := ws.TimeZone, ws.WeekStart.String()
					if ws.ID == auth.DefaultWorkspaceID {
						zone, start = "(KPI file)", "(KPI file)"
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", ws.ID, ws.Name, zone, start)
				}
				return tw.Flush()
			})
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}
