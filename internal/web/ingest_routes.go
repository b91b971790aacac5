package web

import (
	"net/http"

	"github.com/northstar-kpi/northstar/internal/ingest"
)

// segmentPaths maps the paths of Segment's tracking API to their calls. The
// one-letter paths are those that Analytics.js (analytics-next) posts to.
var segmentPaths = map[string]string{
	"/v1/track":    ingest.SegmentTrack,
	"/v1/t":        ingest.SegmentTrack,
	"/v1/identify": ingest.SegmentIdentify,
	"/v1/i":        ingest.SegmentIdentify,
	"/v1/page":     ingest.SegmentPage,
	"/v1/p":        ingest.SegmentPage,
	"/v1/screen":   ingest.SegmentScreen,
	"/v1/s":        ingest.SegmentScreen,
	"/v1/group":    ingest.SegmentGroup,
	"/v1/g":        ingest.SegmentGroup,
	"/v1/alias":    ingest.SegmentAlias,
	"/v1/a":        ingest.SegmentAlias,
	"/v1/batch":    ingest.SegmentBatch,
	"/v1/b":        ingest.SegmentBatch,
	"/v1/import":   ingest.SegmentBatch,
}

// postHogPaths are the capture endpoints of PostHog's API, each also served
// without its trailing slash.
var postHogPaths = []string{"/capture/", "/batch/", "/e/", "/i/v0/e/"}

// segmentResponse is the body of a successful Segment request.
type segmentResponse struct {
	Success bool               `json:"success"`
	Errors  []ingest.ItemError `json:"errors,omitempty"`
}

// postHogResponse is the body of a successful PostHog request.
type postHogResponse struct {
	Status int                `json:"status"`
	Errors []ingest.ItemError `json:"errors,omitempty"`
}

// nativeResponse is the body of a successful native request.
type nativeResponse struct {
	Accepted   int                `json:"accepted"`
	Duplicates int                `json:"duplicates"`
	Errors     []ingest.ItemError `json:"errors"`
}

func (s *Server) registerIngestRoutes() {
	for path, call := range segmentPaths {
		s.registerIngestRoute(path, segmentEndpoint(call))
	}

	posthog := postHogEndpoint()
	for _, path := range postHogPaths {
		s.registerIngestRoute(path, posthog)
		s.registerIngestRoute(path[:len(path)-1], posthog)
	}

	s.registerIngestRoute("/api/v1/events", nativeEndpoint(ingest.DecodeNativeEvents))
	s.registerIngestRoute("/api/v1/measurements", nativeEndpoint(ingest.DecodeNativeMeasurements))
}

// registerIngestRoute serves POST and the CORS preflight OPTIONS at exactly
// path; a path that ends in a slash matches nothing below it.
func (s *Server) registerIngestRoute(path string, ep *ingestEndpoint) {
	pattern := path
	if pattern[len(pattern)-1] == '/' {
		pattern += "{$}"
	}
	s.register("POST "+pattern, AccessWriteKey, s.handleIngest(ep))
	// A CORS preflight carries no credentials, so it is public.
	s.register("OPTIONS "+pattern, AccessPublic, http.HandlerFunc(handlePreflight))
}

func segmentEndpoint(call string) *ingestEndpoint {
	return &ingestEndpoint{
		protocol:   protocolSegment,
		mediaTypes: []string{mediaJSON, mediaText},
		challenge:  `Basic realm="northstar"`,
		decode: func(_ *http.Request, _ string, body []byte, opts ingest.DecodeOptions) (*ingest.Batch, error) {
			return ingest.DecodeSegment(body, call, opts)
		},
		response: func(res ingestResult) any {
			return segmentResponse{Success: true, Errors: res.Errors}
		},
	}
}

func postHogEndpoint() *ingestEndpoint {
	return &ingestEndpoint{
		protocol:   protocolPostHog,
		mediaTypes: []string{mediaJSON, mediaText, mediaForm},
		gzipQuery:  true,
		challenge:  `Bearer realm="northstar"`,
		decode: func(r *http.Request, mediaType string, body []byte, opts ingest.DecodeOptions) (*ingest.Batch, error) {
			return ingest.DecodePostHog(body, ingest.PostHogOptions{
				DecodeOptions: opts,
				Form:          mediaType == mediaForm,
				QuerySentAt:   r.URL.Query().Get("_"),
			})
		},
		response: func(res ingestResult) any {
			return postHogResponse{Status: 1, Errors: res.Errors}
		},
	}
}

// nativeDecoder is the signature of ingest.DecodeNativeEvents and
// ingest.DecodeNativeMeasurements.
type nativeDecoder func(body []byte, ndjson bool, opts ingest.DecodeOptions) (*ingest.Batch, error)

func nativeEndpoint(decode nativeDecoder) *ingestEndpoint {
	return &ingestEndpoint{
		protocol:   protocolNative,
		mediaTypes: []string{mediaJSON, mediaNDJSON, mediaText},
		challenge:  `Bearer realm="northstar"`,
		decode: func(_ *http.Request, mediaType string, body []byte, opts ingest.DecodeOptions) (*ingest.Batch, error) {
			return decode(body, mediaType == mediaNDJSON, opts)
		},
		response: func(res ingestResult) any {
			errs := res.Errors
			if errs == nil {
				errs = []ingest.ItemError{}
			}
			return nativeResponse{Accepted: res.Inserted, Duplicates: res.Duplicates, Errors: errs}
		},
	}
}
