package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// benchIngestOptions are the flags of `northstar bench ingest`.
type benchIngestOptions struct {
	url         string
	key         string
	file        string
	batch       int
	concurrency int
	limit       int
}

// benchIngestResult is the counts and duration of one load-tool run.
type benchIngestResult struct {
	Events     int // events sent in acknowledged requests
	Accepted   int // events the server stored
	Duplicates int // events the server had stored already
	Rejected   int // items the server rejected
	Requests   int
	Elapsed    time.Duration
}

func newBenchIngestCmd(g *globals) *cobra.Command {
	opts := benchIngestOptions{}
	cmd := &cobra.Command{
		Use:   "ingest --url URL --key KEY --file EVENTS.ndjson [--batch 500] [--concurrency C] [--limit N]",
		Short: "Measure how many events per second the native endpoint stores",
		Long: `Send the events of an NDJSON file (one event per line, as northstar gen events
--format ndjson writes) to a running server's POST /api/v1/events in
batches of --batch lines, from --concurrency connections at once, and print
the events stored per second. The server responds only after it has
committed a batch, so the rate counts stored events.

--url is the server's base URL, such as http://127.0.0.1:8080, and --key a
write key (northstar keys create). The file is read as it is sent, so its
size does not matter. A request that fails stops the run with its error.`,
		Example: `  northstar bench ingest --url http://127.0.0.1:8080 --key "$KEY" --file events-1m.ndjson --concurrency 4`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(); err != nil {
				return err
			}
			res, err := runBenchIngest(cmd.Context(), opts)
			if res.Requests > 0 {
				seconds := res.Elapsed.Seconds()
				fmt.Fprintf(g.stdout, "%d events in %d requests of %d in %.2f s: %.0f events/s (%d stored, %d duplicates, %d rejected; concurrency %d)\n",
					res.Events, res.Requests, opts.batch, seconds, float64(res.Events)/seconds,
					res.Accepted, res.Duplicates, res.Rejected, opts.concurrency)
			}
			return err
		},
	}

	f := cmd.Flags()
	f.StringVar(&opts.url, "url", "", "base `URL` of the server, such as http://127.0.0.1:8080 (required)")
	f.StringVar(&opts.key, "key", os.Getenv("NORTHSTAR_WRITE_KEY"), "write `KEY` to send the events with (env NORTHSTAR_WRITE_KEY)")
	f.StringVar(&opts.file, "file", "", "NDJSON `FILE` of events, one per line (required)")
	f.IntVar(&opts.batch, "batch", 500, "events per request, at most 2500")
	f.IntVar(&opts.concurrency, "concurrency", 2, "requests in flight at once")
	f.IntVar(&opts.limit, "limit", 0, "send only the first `N` events of the file; 0 sends all")
	return cmd
}

func (o benchIngestOptions) validate() error {
	var missing []string
	if o.url == "" {
		missing = append(missing, "--url URL")
	}
	if o.key == "" {
		missing = append(missing, "--key KEY")
	}
	if o.file == "" {
		missing = append(missing, "--file FILE")
	}
	switch {
	case len(missing) > 0:
		return &usageError{fmt.Errorf("missing required flags: %s", strings.Join(missing, ", "))}
	case o.batch < 1 || o.batch > 2500:
		return &usageError{fmt.Errorf("--batch %d is out of range; want 1 to 2500, the server's limit", o.batch)}
	case o.concurrency < 1:
		return &usageError{fmt.Errorf("--concurrency %d is out of range; want 1 or more", o.concurrency)}
	case o.limit < 0:
		return &usageError{fmt.Errorf("--limit %d is negative; want 0 for all events, or more", o.limit)}
	}
	return nil
}

// runBenchIngest sends the file's batches from opts.concurrency workers and
// returns what the server acknowledged, with the time from the first
// request to the last response.
func runBenchIngest(ctx context.Context, opts benchIngestOptions) (benchIngestResult, error) {
	file, err := openInputFile(opts.file)
	if err != nil {
		return benchIngestResult{}, err
	}
	defer file.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	bodies := make(chan benchBody, 2*opts.concurrency)
	readErr := make(chan error, 1)
	go func() {
		readErr <- readBenchBatches(ctx, file, opts.batch, opts.limit, bodies)
		close(bodies)
	}()

	client := &http.Client{
		Timeout:   time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: opts.concurrency},
	}
	endpoint := strings.TrimSuffix(opts.url, "/") + "/api/v1/events"

	var (
		mu       sync.Mutex
		total    benchIngestResult
		firstErr error
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range opts.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				res, err := postBenchBatch(ctx, client, endpoint, opts.key, body)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if err == nil {
					total.Events += body.events
					total.Accepted += res.Accepted
					total.Duplicates += res.Duplicates
					total.Rejected += len(res.Errors)
					total.Requests++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total.Elapsed = time.Since(start)

	if err := <-readErr; err != nil && firstErr == nil && !errors.Is(err, context.Canceled) {
		firstErr = err
	}
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return total, firstErr
}

// benchBody is the body of one request.
type benchBody struct {
	data   []byte
	events int
}

// readBenchBatches reads r line by line and sends the non-blank lines in
// bodies of batch lines, at most limit lines in all when limit > 0.
func readBenchBatches(ctx context.Context, r io.Reader, batch, limit int, bodies chan<- benchBody) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)

	var buf bytes.Buffer
	lines, sent := 0, 0
	send := func() error {
		body := benchBody{data: bytes.Clone(buf.Bytes()), events: lines}
		buf.Reset()
		sent += lines
		lines = 0
		select {
		case bodies <- body:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		buf.Write(line)
		buf.WriteByte('\n')
		lines++
		if limit > 0 && sent+lines >= limit {
			return send()
		}
		if lines == batch {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return kpi.Errorf(kpi.EINVALID, "read %d lines of the events file: %v", sent+lines, err)
	}
	if lines > 0 {
		return send()
	}
	return nil
}

// benchResponse is the body of a successful native ingestion response.
type benchResponse struct {
	Accepted   int               `json:"accepted"`
	Duplicates int               `json:"duplicates"`
	Errors     []json.RawMessage `json:"errors"`
}

// postBenchBatch sends one body and decodes the server's response. A status
// other than 200 is an error with the response body.
func postBenchBatch(ctx context.Context, client *http.Client, endpoint, key string, body benchBody) (benchResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body.data))
	if err != nil {
		return benchResponse{}, kpi.Errorf(kpi.EINVALID, "--url: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+key)

	resp, err := client.Do(req)
	if err != nil {
		return benchResponse{}, fmt.Errorf("send a batch of %d events: %w", body.events, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return benchResponse{}, fmt.Errorf("read the response to a batch of %d events: %w", body.events, err)
	}
	if resp.StatusCode != http.StatusOK {
		return benchResponse{}, fmt.Errorf("the server responded %s to a batch of %d events: %s", resp.Status, body.events, bytes.TrimSpace(data))
	}

	var res benchResponse
	if err := json.Unmarshal(data, &res); err != nil {
		return benchResponse{}, fmt.Errorf("the response to a batch of %d events is not the native endpoint's JSON: %w", body.events, err)
	}
	return res, nil
}
