package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/auth"
	"github.com/northstar-kpi/northstar/internal/kpi"
)

func newKeysCmd(g *globals) *cobra.Command {
	var workspace int64
	cmd := &cobra.Command{
		Use:   "keys COMMAND",
		Short: "Create, list and revoke the write keys that ingestion accepts",
		Long: `Manage write keys. A write key lets one source send events and
measurements to the ingestion endpoints of northstar serve, and nothing else.
Its name is stored as the source of everything sent with it, and what it
sends belongs to the key's workspace (--workspace, the default workspace 1
unless set). The commands work on the database of --db, the one the server
uses.`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{errors.New("name a command: create, list or revoke")}
			}
			return &usageError{fmt.Errorf("unknown command %q for northstar keys (want create, list or revoke)", args[0])}
		},
	}
	cmd.PersistentFlags().Int64Var(&workspace, "workspace", auth.DefaultWorkspaceID,
		"id of the workspace whose keys to create, list or revoke (list the ids with northstar workspaces list)")
	cmd.AddCommand(newKeysCreateCmd(g, &workspace), newKeysListCmd(g, &workspace), newKeysRevokeCmd(g, &workspace))
	return cmd
}

func newKeysCreateCmd(g *globals, workspace *int64) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "create --name NAME [--workspace ID]",
		Short: "Create a write key and print its secret once",
		Long: `Create a write key named NAME and print its secret. Only a hash of the
secret is stored, so this is the one time it is shown: copy it into the
sending application's configuration. NAME is 1 to 64 letters, digits, '.',
'_' or '-', and no other active key may have it. Creating a key creates the
SQLite database file when it does not exist yet.`,
		Example: `  northstar keys create --name web
  northstar keys create --name web --workspace 2
  northstar keys create --name backend --db postgres://northstar@127.0.0.1/northstar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return &usageError{errors.New("--name NAME is required")}
			}
			return withWorkspaceKeyStore(cmd.Context(), g, *workspace, true, func(db appStore) error {
				key, secret, err := db.CreateWriteKey(cmd.Context(), name)
				if err != nil {
					return err
				}
				if err := auditWriteKey(cmd.Context(), db, "create", name, map[string]any{"id": key.ID, "name": key.Name, "prefix": key.Prefix}); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Created write key %q. Its secret:\n\n  %s\n\n", key.Name, secret)
				fmt.Fprintln(g.stdout, "Copy it now: it will not be shown again, because only its hash is stored.")
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the key, stored as the source of what is sent with it")
	return cmd
}

func newKeysListCmd(g *globals, workspace *int64) *cobra.Command {
	return &cobra.Command{
		Use:   "list [--workspace ID]",
		Short: "List the write keys, revoked ones included",
		Long: `List every write key, oldest first: its name, the first characters of its
secret (to recognise it), when it was created and when it was revoked, in
UTC. Secrets are not stored, so they cannot be listed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withWorkspaceKeyStore(cmd.Context(), g, *workspace, false, func(db appStore) error {
				keys, err := db.ListWriteKeys(cmd.Context())
				if err != nil {
					return err
				}
				if len(keys) == 0 {
					fmt.Fprintln(g.stdout, "No write keys. Create one with: northstar keys create --name NAME")
					return nil
				}

				tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPREFIX\tCREATED\tREVOKED")
				for _, k := range keys {
					revoked := "-"
					if k.RevokedAt != nil {
						revoked = formatListTime(*k.RevokedAt)
					}
					fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\n", k.Name, k.Prefix, formatListTime(k.CreatedAt), revoked)
				}
				return tw.Flush()
			})
		},
	}
}

func newKeysRevokeCmd(g *globals, workspace *int64) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "revoke --name NAME [--workspace ID]",
		Short: "Revoke the active write key of a name",
		Long: `Revoke the active write key named NAME. Its secret is rejected from then
on, also by a server that is already running; what was sent with it stays
stored. A new key may then take the name.`,
		Example: `  northstar keys revoke --name web`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return &usageError{errors.New("--name NAME is required")}
			}
			return withWorkspaceKeyStore(cmd.Context(), g, *workspace, false, func(db appStore) error {
				if err := db.RevokeWriteKey(cmd.Context(), name); err != nil {
					return err
				}
				if err := auditWriteKey(cmd.Context(), db, "revoke", name, map[string]any{"revoked": true}); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Revoked write key %q.\n", name)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the key to revoke")
	return cmd
}

// auditWriteKey records a change to the write key named name in the audit
// log of the workspace that db reads and writes.
// NOTE: the entry is written after the change, in its own transaction,
// because the write key methods of the stores take no transaction.
func auditWriteKey(ctx context.Context, db appStore, action, name string, after any) error {
	accounts, closeSQL, err := openAuthStore(db, nil)
	if err != nil {
		return err
	}
	defer closeSQL()
	return accounts.Record(ctx, auth.AuditEntry{WorkspaceID: workspaceIDOf(db), Actor: cliActor, Action: action,
		ObjectType: "write_key", ObjectID: name, After: after})
}

// withKeyStore opens the database of --db, runs fn on it and closes it.
// Unless create is set, a SQLite file that does not exist is an error
// rather than a new, empty database.
func withKeyStore(ctx context.Context, g *globals, create bool, fn func(db appStore) error) error {
	if !create && !isPostgresURL(g.dbPath) {
		if _, err := os.Stat(g.dbPath); errors.Is(err, os.ErrNotExist) {
			return kpi.Errorf(kpi.EINVALID, "database %s does not exist; create a key first with northstar keys create, or pass --db", g.dbPath)
		}
	}

	db, err := openStore(ctx, g.dbPath)
	if err != nil {
		return err
	}
	err = fn(db)
	if closeErr := db.Close(); err == nil && closeErr != nil {
		err = fmt.Errorf("close database: %w", closeErr)
	}
	return err
}

// withWorkspaceKeyStore runs fn on the view of the --db database that reads
// and writes only workspace id, as withKeyStore does. It returns ENOTFOUND
// when that workspace does not exist.
func withWorkspaceKeyStore(ctx context.Context, g *globals, id int64, create bool, fn func(db appStore) error) error {
	return withKeyStore(ctx, g, create, func(db appStore) error {
		accounts, closeSQL, err := openAuthStore(db, nil)
		if err != nil {
			return err
		}
		_, err = accounts.Workspace(ctx, id)
		closeSQL()
		if err != nil {
			return err
		}

		view, err := workspaceView(db, id)
		if err != nil {
			return err
		}
		return fn(view)
	})
}
