package web

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Ingestion protocols, the "protocol" label of the ingestion metrics.
const (
	protocolSegment = "segment"
	protocolPostHog = "posthog"
	protocolNative  = "native"
)

// serverMetrics holds the Prometheus metrics of one Server in a registry of
// its own, so that two servers in one process (as in tests) do not clash.
type serverMetrics struct {
	registry *prometheus.Registry

	accepted        *prometheus.CounterVec
	rejected        *prometheus.CounterVec
	deduplicated    *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
}

func newServerMetrics() *serverMetrics {
	m := &serverMetrics{
		registry: prometheus.NewRegistry(),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "northstar_ingest_events_accepted_total",
			Help: "Events and measurements stored by the ingestion endpoints.",
		}, []string{"protocol"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "northstar_ingest_events_rejected_total",
			Help: "Items of ingestion requests rejected one by one as invalid. Requests rejected whole are counted by status in northstar_ingest_request_duration_seconds.",
		}, []string{"protocol"}),
		deduplicated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "northstar_ingest_events_deduplicated_total",
			Help: "Events and measurements not stored because their source and message ID were already stored.",
		}, []string{"protocol"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "northstar_ingest_request_duration_seconds",
			Help:    "Time to handle an ingestion request, from the first byte read to the response, by protocol and HTTP status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"protocol", "code"}),
	}

	m.registry.MustRegister(
		m.accepted, m.rejected, m.deduplicated, m.requestDuration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	// Start every protocol's counters at zero, so that a scrape lists them
	// before the first request and rate() includes the first increase.
	for _, p := range []string{protocolSegment, protocolPostHog, protocolNative} {
		m.accepted.WithLabelValues(p)
		m.rejected.WithLabelValues(p)
		m.deduplicated.WithLabelValues(p)
	}
	return m
}

// observeRequest records the duration and status of an ingestion request.
func (m *serverMetrics) observeRequest(protocol string, status int, d time.Duration) {
	m.requestDuration.WithLabelValues(protocol, strconv.Itoa(status)).Observe(d.Seconds())
}

// registerMetricsRoutes serves /metrics to admins of the default workspace
// only: ingestion rates and error counts are business data too, and they
// cover every workspace. Prometheus scrapes it with an admin API token of
// the default workspace (authorization: credentials in its scrape config).
func (s *Server) registerMetricsRoutes() {
	s.register("GET /metrics", AccessServerAdmin, promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog: promErrorLogger{s},
	}))
}

// promErrorLogger passes promhttp's errors in gathering metrics to the
// server's log.
type promErrorLogger struct{ s *Server }

func (l promErrorLogger) Println(v ...any) {
	l.s.logger.Error("gathering Prometheus metrics failed", "error", v)
}
