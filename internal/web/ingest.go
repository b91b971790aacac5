package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/northstar-kpi/northstar/internal/ingest"
	"github.com/northstar-kpi/northstar/internal/kpi"
	"github.com/northstar-kpi/northstar/internal/store"
)

// IngestStore stores what the ingestion endpoints receive. Each method works
// in one transaction and returns only after it has committed.
type IngestStore interface {
	// InsertEvents stores events, leaving out those whose (Source,
	// MessageID) is already stored and counting them as duplicates.
	InsertEvents(ctx context.Context, events []store.Event) (store.InsertResult, error)

	// Identify merges traits into the stored traits of users.
	Identify(ctx context.Context, calls []store.Identify) error

	// Alias makes each PreviousID another name of its DistinctID.
	Alias(ctx context.Context, calls []store.Alias) error

	// InsertMeasurements stores measurements, deduplicated like events.
	InsertMeasurements(ctx context.Context, measurements []store.Measurement) (store.InsertResult, error)

	// AuthenticateWriteKey returns the active write key whose secret is
	// secret. It returns a kpi.EUNAUTHORIZED error when the secret is unknown
	// or its key revoked.
	AuthenticateWriteKey(ctx context.Context, secret string) (store.WriteKey, error)

	// Ping checks that the store responds to a query.
	Ping(ctx context.Context) error
}

// ingestEndpoint describes one protocol's endpoints: the requests they
// accept, and how they decode bodies and build responses.
type ingestEndpoint struct {
	protocol   string   // metrics label and log attribute
	mediaTypes []string // accepted Content-Type media types; a missing one means JSON
	gzipQuery  bool     // whether ?compression=gzip-js (PostHog's browser SDK) marks a gzip body
	challenge  string   // WWW-Authenticate value of a 401 response

	// decode turns the body into a batch. mediaType is the request's
	// Content-Type without parameters.
	decode func(r *http.Request, mediaType string, body []byte, opts ingest.DecodeOptions) (*ingest.Batch, error)

	// response returns the body of a successful response.
	response func(res ingestResult) any
}

// ingestResult counts the records stored for one request, with its rejected items.
type ingestResult struct {
	Inserted   int // events and measurements stored
	Duplicates int // events and measurements already stored
	Errors     []ingest.ItemError
}

// ingestErrorBody is the body of a rejected ingestion request. Errors lists
// the items when every item of a batch was rejected.
type ingestErrorBody struct {
	Error  errorDetail        `json:"error"`
	Errors []ingest.ItemError `json:"errors,omitempty"`
}

// batchRejectedError is the error of a batch whose every item is invalid.
type batchRejectedError struct {
	err   *kpi.Error
	items []ingest.ItemError
}

func (e *batchRejectedError) Error() string { return e.err.Error() }
func (e *batchRejectedError) Unwrap() error { return e.err }

// allRejectedError returns the error of a batch whose every item was
// rejected, with the first item's reason.
func allRejectedError(b *ingest.Batch) *kpi.Error {
	if b.Items == 1 {
		return kpi.Errorf(kpi.EINVALID, "the request's only item was rejected: %s", b.Errors[0].Message)
	}
	return kpi.Errorf(kpi.EINVALID, "all %d items of the request were rejected (the first: %s); errors lists the reason for each",
		b.Items, b.Errors[0].Message)
}

// handleIngest returns the handler of ep's endpoints. It records the
// request's duration and status, and reports errors as JSON.
func (s *Server) handleIngest(ep *ingestEndpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		setCORSHeaders(sw, r)

		if err := s.serveIngest(sw, r, ep); err != nil {
			s.writeIngestError(sw, r, ep, err)
		}
		s.metrics.observeRequest(ep.protocol, sw.status, time.Since(start))
	})
}

// serveIngest checks the request, decodes its body, authenticates its write
// key, stores the batch and writes the response once the store has
// committed it.
func (s *Server) serveIngest(w http.ResponseWriter, r *http.Request, ep *ingestEndpoint) error {
	mediaType, err := checkContentType(r, ep.mediaTypes)
	if err != nil {
		return err
	}

	// A key in a header is checked before the body is read, so requests
	// without a valid key cost little.
	secret, err := headerWriteKey(r)
	if err != nil {
		return err
	}
	var key store.WriteKey
	if secret != "" {
		if key, err = s.defaultWorkspace.ingest.AuthenticateWriteKey(r.Context(), secret); err != nil {
			return err
		}
	}

	body, err := readIngestBody(w, r, s.ingestLimits.MaxBodyBytes, ep.gzipQuery)
	if err != nil {
		return err
	}
	batch, err := ep.decode(r, mediaType, body, ingest.DecodeOptions{ReceivedAt: s.now().UTC(), Limits: s.ingestLimits})
	if err != nil {
		return err
	}

	if secret == "" {
		if batch.WriteKey == "" {
			return kpi.Errorf(kpi.EUNAUTHORIZED, "the request has no write key; send it as the user name of HTTP Basic authentication, "+
				"as a Bearer token, or in the body (\"writeKey\" for Segment, \"api_key\" for PostHog)")
		}
		if key, err = s.defaultWorkspace.ingest.AuthenticateWriteKey(r.Context(), batch.WriteKey); err != nil {
			return err
		}
	}

	// The batch goes to the workspace of its write key.
	ctx, err := s.withWorkspace(r.Context(), key.WorkspaceID)
	if err != nil {
		return err
	}
	r = r.WithContext(ctx)

	s.metrics.rejected.WithLabelValues(ep.protocol).Add(float64(len(batch.Errors)))
	if batch.AllRejected() {
		return &batchRejectedError{err: allRejectedError(batch), items: batch.Errors}
	}

	batch.SetSource(key.Name)
	res, err := s.storeBatch(r.Context(), batch)
	if err != nil {
		return fmt.Errorf("store %s batch from source %q: %w", ep.protocol, key.Name, err)
	}

	if res.Inserted > 0 {
		s.inRequest(r).live.notify() // open dashboards recompute their widgets
	}
	s.metrics.accepted.WithLabelValues(ep.protocol).Add(float64(res.Inserted))
	s.metrics.deduplicated.WithLabelValues(ep.protocol).Add(float64(res.Duplicates))
	if len(batch.Errors) > 0 {
		s.logRejected(r, ep, key, batch)
	}
	s.writeJSON(w, r, http.StatusOK, ep.response(res))
	return nil
}

// storeBatch stores the records of b, events first. Each kind goes to the
// store in one call, so a failure leaves the kinds before it stored. A retry
// of the request then finds those events and measurements stored already,
// and applies the identifies and aliases again, which changes nothing.
func (s *Server) storeBatch(ctx context.Context, b *ingest.Batch) (ingestResult, error) {
	res := ingestResult{Errors: b.Errors}

	if len(b.Events) > 0 {
		r, err := s.in(ctx).ingest.InsertEvents(ctx, b.Events)
		if err != nil {
			return res, fmt.Errorf("insert %d events: %w", len(b.Events), err)
		}
		res.Inserted += r.Inserted
		res.Duplicates += r.Duplicates
	}
	if len(b.Measurements) > 0 {
		r, err := s.in(ctx).ingest.InsertMeasurements(ctx, b.Measurements)
		if err != nil {
			return res, fmt.Errorf("insert %d measurements: %w", len(b.Measurements), err)
		}
		res.Inserted += r.Inserted
		res.Duplicates += r.Duplicates
	}
	if len(b.Identifies) > 0 {
		if err := s.in(ctx).ingest.Identify(ctx, b.Identifies); err != nil {
			return res, fmt.Errorf("store %d identify calls: %w", len(b.Identifies), err)
		}
	}
	if len(b.Aliases) > 0 {
		if err := s.in(ctx).ingest.Alias(ctx, b.Aliases); err != nil {
			return res, fmt.Errorf("store %d aliases: %w", len(b.Aliases), err)
		}
	}
	return res, nil
}

// logRejected logs a request with rejected items: how many and the first
// reason, once per request rather than once per item.
func (s *Server) logRejected(r *http.Request, ep *ingestEndpoint, key store.WriteKey, b *ingest.Batch) {
	s.logger.InfoContext(r.Context(), "ingestion rejected items", requestAttrs(r),
		slog.String("protocol", ep.protocol),
		slog.String("source", key.Name),
		slog.Int("items", b.Items),
		slog.Int("rejected", len(b.Errors)),
		slog.String("first_error", b.Errors[0].Error()))
}

// writeIngestError reports err as JSON. Internal errors are logged as
// errors and shown only as "internal error", with status 500, so that an SDK
// retries the request. Rejected requests are logged at info level, because
// an SDK does not show its errors to the operator who set it up.
func (s *Server) writeIngestError(w http.ResponseWriter, r *http.Request, ep *ingestEndpoint, err error) {
	status, code, message := errorStatus(err)
	if status >= http.StatusInternalServerError {
		s.logger.ErrorContext(r.Context(), "ingestion request failed", requestAttrs(r),
			slog.String("protocol", ep.protocol), slog.Any("error", err))
	} else {
		s.logger.InfoContext(r.Context(), "ingestion request rejected", requestAttrs(r),
			slog.String("protocol", ep.protocol), slog.Int("status", status), slog.String("error", message))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", ep.challenge)
	}

	body := ingestErrorBody{Error: errorDetail{Code: code, Message: message}}
	var rejected *batchRejectedError
	if errors.As(err, &rejected) {
		body.Errors = rejected.items
	}
	s.writeJSON(w, r, status, body)
}

// handlePreflight responds to a browser's CORS preflight request, which
// comes before a cross-origin POST with a JSON Content-Type or an
// Authorization header.
func handlePreflight(w http.ResponseWriter, r *http.Request) {
	setCORSHeaders(w, r)
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// setCORSHeaders lets the page at the request's Origin read the response,
// credentials included, because the tracking SDKs run on the customer's
// pages. This is safe because a write key, and not a cookie, authorizes an
// ingestion request, and such a request can only add data.
func setCORSHeaders(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
}
