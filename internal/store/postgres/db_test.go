package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

func TestPoolConfig(t *testing.T) {
	const base = "postgres://u:pw@127.0.0.1:5432/db?sslmode=disable"
	tests := []struct {
		name              string
		params            string
		maxConns          int32
		minConns          int32
		healthCheckPeriod time.Duration
		maxConnIdleTime   time.Duration
	}{
		// Without pool parameters: the number of CPUs (at least 4)
		// connections, a health check each minute, and pgxpool's 30-minute
		// idle time.
		{"defaults", "", int32(max(4, runtime.NumCPU())), 0, time.Minute, 30 * time.Minute},
		{
			"from the URL", "&pool_max_conns=3&pool_min_conns=1&pool_health_check_period=5s&pool_max_conn_idle_time=2m",
			3, 1, 5 * time.Second, 2 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(base + tt.params)
			if err != nil {
				t.Fatal(err)
			}

			config, err := poolConfig(u.String(), u.Query())
			if err != nil {
				t.Fatalf("poolConfig: %v", err)
			}

			if config.MaxConns != tt.maxConns {
				t.Errorf("MaxConns = %d, want %d", config.MaxConns, tt.maxConns)
			}
			if config.MinConns != tt.minConns {
				t.Errorf("MinConns = %d, want %d", config.MinConns, tt.minConns)
			}
			if config.HealthCheckPeriod != tt.healthCheckPeriod {
				t.Errorf("HealthCheckPeriod = %v, want %v", config.HealthCheckPeriod, tt.healthCheckPeriod)
			}
			if config.MaxConnIdleTime != tt.maxConnIdleTime {
				t.Errorf("MaxConnIdleTime = %v, want %v", config.MaxConnIdleTime, tt.maxConnIdleTime)
			}
			if _, ok := config.ConnConfig.RuntimeParams["pool_max_conns"]; ok {
				t.Error("pool_max_conns is sent to the server as a run-time parameter")
			}
		})
	}
}

func TestOpenPoolSettings(t *testing.T) {
	db := openTestDB(t, "pool_max_conns=3&pool_health_check_period=7s")

	config := db.pool.Config()
	if config.MaxConns != 3 {
		t.Errorf("MaxConns = %d, want 3", config.MaxConns)
	}
	if config.HealthCheckPeriod != 7*time.Second {
		t.Errorf("HealthCheckPeriod = %v, want 7s", config.HealthCheckPeriod)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// Every call on a closed DB fails instead of reconnecting.
func TestCallAfterClose(t *testing.T) {
	db := openTestDB(t)
	db.Close()

	if err := db.Ping(context.Background()); err == nil {
		t.Error("Ping after Close succeeded")
	}
	if _, err := db.EventNames(context.Background()); err == nil {
		t.Error("EventNames after Close succeeded")
	}
}

// withTx runs fn again after a deadlock or a serialization failure, at most
// maxTxAttempts (3) times in all, and commits only the run that succeeds.
func TestWithTxRetry(t *testing.T) {
	deadlock := &pgconn.PgError{Code: sqlStateDeadlockDetected}
	serialization := &pgconn.PgError{Code: sqlStateSerializationFailure}
	uniqueViolation := &pgconn.PgError{Code: sqlStateUniqueViolation}

	tests := []struct {
		name          string
		failures      []error // the error of each run, nil for success
		wantRuns      int
		wantErr       error
		wantCommitted int64 // rows that fn inserted and that were committed
	}{
		{"first run succeeds", []error{nil}, 1, nil, 1},
		{"deadlock then success", []error{deadlock, nil}, 2, nil, 1},
		{"serialization failure then success", []error{serialization, serialization, nil}, 3, nil, 1},
		{"three deadlocks", []error{deadlock, deadlock, deadlock, nil}, 3, deadlock, 0},
		{"other error", []error{uniqueViolation, nil}, 1, uniqueViolation, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openTestDB(t)

			runs := 0
			err := db.withTx(ctx, func(tx pgx.Tx) error {
				runs++
				_, err := tx.Exec(ctx, `
					INSERT INTO write_keys (name, prefix, secret_hash, created_at)
					VALUES ($1, 'p', $1, 1)`, fmt.Sprint("run-", runs))
				if err != nil {
					return err
				}
				return tt.failures[runs-1]
			})

			if runs != tt.wantRuns {
				t.Errorf("fn ran %d times, want %d", runs, tt.wantRuns)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("withTx error = %v, want %v", err, tt.wantErr)
			}
			var committed int64
			if err := (storeUnderTest{db}).QueryRow(ctx, "SELECT count(*) FROM write_keys", &committed); err != nil {
				t.Fatal(err)
			}
			if committed != tt.wantCommitted {
				t.Errorf("committed rows = %d, want %d", committed, tt.wantCommitted)
			}
		})
	}
}

// A KPI error from fn reaches the caller unchanged, with its code.
func TestWithTxKeepsErrorCode(t *testing.T) {
	db := openTestDB(t)

	err := db.withTx(context.Background(), func(tx pgx.Tx) error {
		return kpi.Errorf(kpi.ENOTFOUND, "no such thing")
	})

	if code := kpi.ErrorCode(err); code != kpi.ENOTFOUND {
		t.Errorf("error code = %q, want %q (%v)", code, kpi.ENOTFOUND, err)
	}
}
