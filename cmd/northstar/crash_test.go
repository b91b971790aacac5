package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test sends crashBatches requests of crashBatchSize events while
// it kills the server crashKills times with SIGKILL, then checks with plain
// SQL that every acknowledged event is stored exactly once.
const (
	crashBatches   = 60
	crashBatchSize = 100
	crashKills     = 5
	crashWorkers   = 3
	crashTimeLimit = 60 * time.Second
	crashKeyName   = "crash-test"

	// crashResendEvery makes every 5th batch go out once more after its
	// 2xx response.
	crashResendEvery = 5
)

func TestServerCrashKeepsAcknowledgedEvents(t *testing.T) {
	dir := t.TempDir()
	bin := buildNorthstar(t, dir)
	dbPath := filepath.Join(dir, "northstar.db")
	kpiPath := filepath.Join(dir, "kpis.yaml")
	if err := os.WriteFile(kpiPath, []byte(sdkTestKPIs), 0o644); err != nil {
		t.Fatal(err)
	}
	key := createWriteKeyCLI(t, bin, dbPath, crashKeyName)

	ctx, cancel := context.WithTimeout(context.Background(), crashTimeLimit)
	defer cancel()

	srv := &childServer{bin: bin, dbPath: dbPath, kpiPath: kpiPath, addr: "127.0.0.1:0", logDir: dir}
	srv.start(t)
	t.Cleanup(srv.kill)
	// Restarts reuse the first port, as a restarted service would.
	srv.addr = strings.TrimPrefix(srv.url, "http://")

	batches := crashTestBatches(key)
	gen := &crashGenerator{url: srv.url, batches: batches, acked: make(chan int, len(batches))}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		gen.run(ctx, crashWorkers)
	}()

	// Each kill comes after a random number of acknowledged batches since
	// the last start, plus a random delay, so it falls while requests are in
	// flight. The seed goes to the test log with the outcome.
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("kill schedule seed %d", seed)
	kills := 0
	for kills < crashKills && ctx.Err() == nil {
		wait := 3 + rng.IntN(6)
		if !gen.awaitAcks(ctx, wait) {
			break // every batch is acknowledged, or time is up
		}
		time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
		srv.kill()
		kills++
		srv.start(t)
	}
	wg.Wait()
	srv.kill()

	if kills < crashKills {
		t.Errorf("killed the server %d times, want %d: the load ended first (acknowledged %d of %d batches)",
			kills, crashKills, gen.ackedCount(), len(batches))
	}
	t.Logf("killed the server %d times; %d requests sent for %d batches", kills, gen.requestCount(), len(batches))

	retried, lostReplies := 0, 0
	for i, b := range batches {
		if !b.acked {
			t.Errorf("batch %d (%s) never got a 2xx response in %s; last: %s", i, b.path, crashTimeLimit, b.last)
		}
		if b.badReply != "" {
			t.Errorf("batch %d (%s): 2xx response %s", i, b.path, b.badReply)
		}
		if b.requests > 1 && !b.resent || b.requests > 2 {
			retried++
		}
		if b.lostReply {
			lostReplies++
		}
	}
	t.Logf("%d batches were retried after a crash; %d native batches were stored before a crash lost the response", retried, lostReplies)
	checkCrashDatabase(t, dbPath, batches)
	if t.Failed() {
		srv.dumpLogs(t)
	}
}

// buildNorthstar builds the northstar binary into dir.
func buildNorthstar(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "northstar")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// writeKeySecretPattern matches a write key secret: "ns_wk_" and 52
// characters of lowercase base32.
var writeKeySecretPattern = regexp.MustCompile(`ns_wk_[a-z2-7]{52}`)

// createWriteKeyCLI creates a write key with `northstar keys create` and
// returns its secret, read from the command's output.
func createWriteKeyCLI(t *testing.T, bin, dbPath, name string) string {
	t.Helper()
	out, err := exec.Command(bin, "--db", dbPath, "keys", "create", "--name", name).CombinedOutput()
	if err != nil {
		t.Fatalf("northstar keys create --name %s: %v\n%s", name, err, out)
	}
	secret := writeKeySecretPattern.Find(out)
	if secret == nil {
		t.Fatalf("northstar keys create printed no secret matching %s:\n%s", writeKeySecretPattern, out)
	}
	return string(secret)
}

// childServer is `northstar serve` running as a child process.
type childServer struct {
	bin, dbPath, kpiPath string
	addr                 string // --addr of the next start
	logDir               string

	url    string // set by the first start
	cmd    *exec.Cmd
	starts int
	logs   []string // one log file per start
}

// start starts the server and waits until it prints the address it serves.
func (s *childServer) start(t *testing.T) {
	t.Helper()
	s.starts++
	logPath := filepath.Join(s.logDir, fmt.Sprintf("serve-%d.log", s.starts))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	s.logs = append(s.logs, logPath)

	cmd := exec.Command(s.bin, "--db", s.dbPath, "serve", "--kpis", s.kpiPath, "--addr", s.addr)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start northstar serve: %v", err)
	}
	s.cmd = cmd

	serving := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "serving "); ok {
				serving <- strings.Fields(rest)[0]
			}
		}
		io.Copy(io.Discard, stdout)
	}()

	select {
	case url := <-serving:
		if s.url == "" {
			s.url = url
		} else if url != s.url {
			t.Fatalf("restarted server serves %s, want %s", url, s.url)
		}
	case <-time.After(20 * time.Second):
		s.kill()
		s.dumpLogs(t)
		t.Fatalf("northstar serve (start %d) printed no address within 20 s", s.starts)
	}
}

// kill stops the server with SIGKILL, as a crash or the OOM killer would,
// and reaps it. It does nothing when the server is not running.
func (s *childServer) kill() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	s.cmd = nil
}

// dumpLogs logs the end of each start's log.
func (s *childServer) dumpLogs(t *testing.T) {
	t.Helper()
	for i, path := range s.logs {
		data, _ := os.ReadFile(path)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		t.Logf("log of start %d (%s):\n%s", i+1, path, data)
	}
}

// crashBatch is one request body and what happened to it.
type crashBatch struct {
	path   string
	header http.Header
	body   []byte
	ids    []string // the message IDs of its events

	acked    bool   // a 2xx response arrived
	last     string // the last failure, for the report
	requests int

	resent    bool   // sent again after its first 2xx response
	reply     []byte // the body of the last 2xx response
	badReply  string // what is wrong with a native batch's 2xx response
	lostReply bool   // a native batch was stored before a crash lost the response
}

// checkReply checks the counts in a native batch's 2xx response. The
// first acknowledged send may find events stored by an earlier request whose
// response a crash lost. A re-send after a 2xx must find them all stored.
func (b *crashBatch) checkReply(reply []byte, resend bool) {
	if b.path != "/api/v1/events" || b.badReply != "" {
		return
	}
	var counts struct {
		Accepted   *int `json:"accepted"`
		Duplicates *int `json:"duplicates"`
	}
	if err := json.Unmarshal(reply, &counts); err != nil || counts.Accepted == nil || counts.Duplicates == nil {
		b.badReply = fmt.Sprintf("is not {\"accepted\": N, \"duplicates\": N}: %s", truncateForLog(reply))
		return
	}

	accepted, duplicates := *counts.Accepted, *counts.Duplicates
	switch {
	case accepted+duplicates != len(b.ids):
		b.badReply = fmt.Sprintf("has accepted %d + duplicates %d, not the %d events sent", accepted, duplicates, len(b.ids))
	case resend && duplicates != len(b.ids):
		b.badReply = fmt.Sprintf("to the re-send of an acknowledged batch has duplicates %d, want %d", duplicates, len(b.ids))
	case !resend && duplicates > 0:
		b.lostReply = true
	}
}

// crashTestBatches returns the batches, alternating Segment's /v1/batch with
// Basic authentication and the native /api/v1/events with a Bearer token.
// Every event has its own message ID and happens on one fixed day.
func crashTestBatches(key string) []*crashBatch {
	day := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
	batches := make([]*crashBatch, crashBatches)
	for i := range batches {
		b := &crashBatch{header: http.Header{"Content-Type": {"application/json"}}}
		var items []map[string]any
		for j := range crashBatchSize {
			id := fmt.Sprintf("crash-%02d-%03d", i, j)
			b.ids = append(b.ids, id)
			user := fmt.Sprintf("user-%d", (i*crashBatchSize+j)%37)
			ts := day.Add(time.Duration(i*crashBatchSize+j) * time.Second).Format(time.RFC3339)
			if i%2 == 0 {
				items = append(items, map[string]any{"type": "track", "event": sdkPlayEvent, "userId": user,
					"messageId": id, "timestamp": ts, "properties": map[string]any{"batch": i, "n": j}})
			} else {
				items = append(items, map[string]any{"event": sdkPlayEvent, "distinct_id": user,
					"message_id": id, "timestamp": ts, "properties": map[string]any{"batch": i, "n": j}})
			}
		}

		var body any = items
		if i%2 == 0 {
			b.path = "/v1/batch"
			body = map[string]any{"batch": items}
			req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
			req.SetBasicAuth(key, "")
			b.header.Set("Authorization", req.Header.Get("Authorization"))
		} else {
			b.path = "/api/v1/events"
			b.header.Set("Authorization", "Bearer "+key)
		}
		b.body, _ = json.Marshal(body)
		batches[i] = b
	}
	return batches
}

// crashGenerator sends the batches and retries each one, with the same body,
// until it gets a 2xx response, as the SDKs do.
type crashGenerator struct {
	url     string
	batches []*crashBatch
	acked   chan int // receives the index of each acknowledged batch

	mu       sync.Mutex
	requests int
	ackCount int
}

// run sends every batch with the given number of workers and returns when
// each is acknowledged or ctx is done.
func (g *crashGenerator) run(ctx context.Context, workers int) {
	next := make(chan int, len(g.batches))
	for i := range g.batches {
		next <- i
	}
	close(next)

	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				g.send(ctx, client, i)
			}
		}()
	}
	wg.Wait()
	close(g.acked)
}

// send posts batch i until it gets a 2xx response or ctx is done. Every
// crashResendEvery-th batch is then sent once more, as by an SDK whose
// response was lost after the server committed the request.
func (g *crashGenerator) send(ctx context.Context, client *http.Client, i int) {
	b := g.batches[i]
	if !g.post(ctx, client, b) {
		return
	}
	b.checkReply(b.reply, false)

	if i%crashResendEvery == crashResendEvery-1 {
		b.resent = true
		if !g.post(ctx, client, b) {
			return
		}
		b.checkReply(b.reply, true)
	}

	g.mu.Lock()
	b.acked = true
	g.ackCount++
	g.mu.Unlock()
	g.acked <- i
}

// post sends b until it gets a 2xx response, whose body it keeps in
// b.reply, and reports whether it got one before ctx was done.
func (g *crashGenerator) post(ctx context.Context, client *http.Client, b *crashBatch) bool {
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url+b.path, bytes.NewReader(b.body))
		if err != nil {
			b.last = err.Error()
			return false
		}
		req.Header = b.header.Clone()

		g.mu.Lock()
		g.requests++
		g.mu.Unlock()
		b.requests++

		resp, err := client.Do(req)
		if err != nil {
			b.last = err.Error()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			b.reply = reply
			return true
		}
		b.last = fmt.Sprintf("status %d: %s", resp.StatusCode, truncateForLog(reply))
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// awaitAcks waits for n more acknowledged batches. It returns false when
// every batch is acknowledged or ctx is done first.
func (g *crashGenerator) awaitAcks(ctx context.Context, n int) bool {
	for range n {
		select {
		case _, ok := <-g.acked:
			if !ok {
				return false
			}
		case <-ctx.Done():
			return false
		}
	}
	return true
}

func (g *crashGenerator) ackedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ackCount
}

func (g *crashGenerator) requestCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

// checkCrashDatabase opens the database of the stopped server with plain
// SQL and checks that it is intact, that every event of an acknowledged
// batch is stored once, and that it contains no other event.
func checkCrashDatabase(t *testing.T, dbPath string, batches []*crashBatch) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var integrity string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil {
		t.Fatal(err)
	}
	if integrity != "ok" {
		t.Errorf("PRAGMA integrity_check: %s", integrity)
	}

	rows, err := db.Query(`SELECT message_id, count(*) FROM events WHERE source = ? GROUP BY message_id`, crashKeyName)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		stored[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	sent := map[string]bool{}
	missing, acked := 0, 0
	for _, b := range batches {
		for _, id := range b.ids {
			sent[id] = true
			if !b.acked {
				continue
			}
			acked++
			if stored[id] == 0 {
				missing++
				if missing <= 5 {
					t.Errorf("event %s was acknowledged but is not stored", id)
				}
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d acknowledged events are not stored", missing)
	}
	for id, n := range stored {
		if n != 1 {
			t.Errorf("message ID %s is stored %d times, want once", id, n)
		}
		if !sent[id] {
			t.Errorf("message ID %s is stored but was never sent", id)
		}
	}

	var total, other int
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE source = ?`, crashKeyName).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM events WHERE source <> ?`, crashKeyName).Scan(&other); err != nil {
		t.Fatal(err)
	}
	if total != crashBatches*crashBatchSize || other != 0 {
		t.Errorf("events table has %d rows from %s and %d from other sources, want %d and 0 (%d events acknowledged)",
			total, crashKeyName, other, crashBatches*crashBatchSize, acked)
	}
}
