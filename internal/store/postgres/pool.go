package postgres

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// errPoolClosed is returned by acquire after Close.
var errPoolClosed = errors.New("database is closed")

// connPool is a small pool of pgx connections. A pgx.Conn serves one
// goroutine at a time, so every store method borrows one here.
//
// NOTE: pgxpool would do this, but it needs github.com/jackc/puddle/v2,
// which go.sum does not list yet. Swap this type for pgxpool.Pool once it
// does. Unlike pgxpool, it does not check idle connections before reuse: a
// connection the server closed fails one call and is then dropped.
type connPool struct {
	config *pgx.ConnConfig
	slots  chan struct{} // one token per open or opening connection

	mu     sync.Mutex
	idle   []*pgx.Conn
	closed bool
}

func newConnPool(config *pgx.ConnConfig, maxConns int) *connPool {
	return &connPool{config: config, slots: make(chan struct{}, maxConns)}
}

// acquire returns an idle connection or opens one, waiting while maxConns
// connections are in use.
func (p *connPool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return nil, errPoolClosed
	}
	var conn *pgx.Conn
	if n := len(p.idle); n > 0 {
		conn = p.idle[n-1]
		p.idle = p.idle[:n-1]
	}
	p.mu.Unlock()

	if conn != nil && !conn.IsClosed() {
		return conn, nil
	}

	conn, err := pgx.ConnectConfig(ctx, p.config)
	if err != nil {
		<-p.slots
		return nil, err
	}
	return conn, nil
}

// release returns conn to the pool. A connection that is closed, busy or
// inside a transaction is closed instead of reused.
func (p *connPool) release(conn *pgx.Conn) {
	defer func() { <-p.slots }()

	pg := conn.PgConn()
	reusable := !conn.IsClosed() && !pg.IsBusy() && pg.TxStatus() == 'I'

	p.mu.Lock()
	if reusable && !p.closed {
		p.idle = append(p.idle, conn)
		conn = nil
	}
	p.mu.Unlock()

	if conn != nil {
		closeConn(conn)
	}
}

// close closes the idle connections and makes later acquires fail.
// Connections in use are closed when they are released.
func (p *connPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = true
	p.mu.Unlock()

	for _, conn := range idle {
		closeConn(conn)
	}
}

// closeConn closes conn, waiting at most 5 seconds for the server.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx) // the connection is dropped either way
}
