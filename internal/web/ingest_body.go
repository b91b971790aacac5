package web

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Media types of ingestion request bodies.
const (
	mediaJSON   = "application/json"
	mediaNDJSON = "application/x-ndjson"
	mediaText   = "text/plain" // JSON sent by navigator.sendBeacon or to avoid a CORS preflight
	mediaForm   = "application/x-www-form-urlencoded"
)

// checkContentType returns the request's media type, mediaJSON when it has
// no Content-Type, or a kpi.EUNSUPPORTED error when the type is not accepted.
func checkContentType(r *http.Request, accepted []string) (string, error) {
	header := r.Header.Get("Content-Type")
	if header == "" {
		return mediaJSON, nil
	}

	mediaType, _, err := mime.ParseMediaType(header)
	if err != nil {
		return "", kpi.Errorf(kpi.EUNSUPPORTED, "Content-Type %q is not a valid media type; send %s", header, mediaJSON)
	}
	if !slices.Contains(accepted, mediaType) {
		return "", kpi.Errorf(kpi.EUNSUPPORTED, "Content-Type %s is not accepted here; send one of %s",
			mediaType, strings.Join(accepted, ", "))
	}
	return mediaType, nil
}

// headerWriteKey returns the write key in the Authorization header: the
// user name of Basic authentication (the password is ignored, and Segment's
// SDKs leave it empty) or a Bearer token. It returns "" when the request has
// no Authorization header, and a kpi.EUNAUTHORIZED error when the header is
// malformed or empty.
func headerWriteKey(r *http.Request) (string, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return "", nil
	}

	scheme, credentials, _ := strings.Cut(header, " ")
	credentials = strings.TrimSpace(credentials)
	var key string
	switch strings.ToLower(scheme) {
	case "bearer":
		key = credentials
	case "basic":
		decoded, err := base64.StdEncoding.DecodeString(credentials)
		if err != nil {
			return "", kpi.Errorf(kpi.EUNAUTHORIZED, "the Authorization header's Basic credentials are not valid base64")
		}
		key, _, _ = strings.Cut(string(decoded), ":")
	default:
		return "", kpi.Errorf(kpi.EUNAUTHORIZED, "the Authorization header uses scheme %q; send the write key as a Basic user name or a Bearer token",
			truncateText(scheme, 20))
	}

	if key == "" {
		return "", kpi.Errorf(kpi.EUNAUTHORIZED, "the Authorization header has an empty write key")
	}
	return key, nil
}

// readIngestBody reads at most limit bytes of the request body and
// decompresses it when it is gzip: with Content-Encoding gzip, or with
// gzipQuery and the query parameter compression=gzip-js (or gzip). The
// decompressed body may not exceed limit either, which stops a
// decompression bomb after limit bytes.
func readIngestBody(w http.ResponseWriter, r *http.Request, limit int, gzipQuery bool) ([]byte, error) {
	compressed := false
	switch encoding := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); encoding {
	case "", "identity":
	case "gzip", "x-gzip":
		compressed = true
	default:
		return nil, kpi.Errorf(kpi.EUNSUPPORTED, "Content-Encoding %q is not supported; send gzip or an uncompressed body", truncateText(encoding, 40))
	}
	if gzipQuery {
		switch c := r.URL.Query().Get("compression"); c {
		case "gzip", "gzip-js":
			compressed = true
		case "", "base64":
		default:
			return nil, kpi.Errorf(kpi.EUNSUPPORTED, "compression %q is not supported; use gzip-js, base64 or none", truncateText(c, 40))
		}
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, kpi.Errorf(kpi.ETOOLARGE, "the request body is over the limit of %d bytes; send fewer events per request", limit)
	}
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "reading the request body failed: %v", err)
	}

	if !compressed {
		return body, nil
	}
	return gunzip(body, limit)
}

// gunzip decompresses a gzip body of at most limit bytes.
func gunzip(data []byte, limit int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "the body is marked as gzip but is not gzip data (%v); compress it or drop the gzip marker", err)
	}
	defer zr.Close()

	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)+1))
	if err != nil {
		return nil, kpi.Errorf(kpi.EINVALID, "the gzip body is corrupt: %v", err)
	}
	if len(out) > limit {
		return nil, kpi.Errorf(kpi.ETOOLARGE, "the gzip body decompresses to more than the limit of %d bytes; send fewer events per request", limit)
	}
	return out, nil
}

// truncateText shortens s to at most n bytes for a message, dropping a
// UTF-8 sequence that the cut splits.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
