package web

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// This file streams dashboard updates as Server-Sent Events: after events are
// ingested, every open dashboard recomputes its widgets and sends those whose
// data changed.

// liveHub notifies open dashboards that stored data changed, and that the
// server is shutting down.
type liveHub struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change

	closeOnce sync.Once
	closed    chan struct{} // closed by CloseStreams
}

func newLiveHub() *liveHub {
	return &liveHub{changed: make(chan struct{}), closed: make(chan struct{})}
}

// CloseStreams ends every open live-update stream and makes new ones end at
// once. http.Server.Shutdown waits for open requests but does not cancel
// them, so pass CloseStreams to its RegisterOnShutdown, or shutting down
// waits for its timeout while a dashboard is open.
func (s *Server) CloseStreams() {
	s.liveHubs.closeAll()
}

// close ends the streams that wait on h.
func (h *liveHub) close() {
	h.closeOnce.Do(func() { close(h.closed) })
}

// wait returns a channel that is closed at the next change.
func (h *liveHub) wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed
}

// notify wakes every waiter.
func (h *liveHub) notify() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.changed)
	h.changed = make(chan struct{})
}

const (
	// livePingInterval is how often an idle stream sends a ping event, so
	// that the page can tell a quiet dashboard from a broken connection.
	livePingInterval = 15 * time.Second

	// liveSettle is how long a stream waits after a change before it
	// recomputes, so that a burst of ingestion requests costs one update.
	liveSettle = 250 * time.Millisecond

	// liveMinInterval is the shortest time between two recomputations of
	// one stream, so that steady ingestion costs at most one a second.
	liveMinInterval = time.Second

	// liveRetryMillis is the reconnection delay the stream sends to browsers.
	liveRetryMillis = 2000
)

// liveUpdate is the data of a stream's "update" event.
type liveUpdate struct {
	AsOf    string       `json:"as_of"`
	Widgets []widgetData `json:"widgets"`
}

// handleDashboardEvents serves GET /api/v1/dashboards/{id}/events.
func (s *Server) handleDashboardEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id", "dashboard")
	if err != nil {
		return err
	}
	return s.streamDashboard(w, r, id)
}

// streamDashboard sends dashboard id's widgets as an "update" event when the
// stream opens, then the widgets that changed after each ingestion, and a
// "ping" event every livePingInterval. It sends "gone" and ends when the
// dashboard is deleted.
func (s *Server) streamDashboard(w http.ResponseWriter, r *http.Request, id int64) error {
	ws := s.inRequest(r)
	d, err := ws.dashboards.Dashboard(r.Context(), id)
	if err != nil {
		return err
	}
	if _, err := controlsFor(r, d); err != nil {
		return err
	}

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprintf(w, "retry: %d\n\n", liveRetryMillis); err != nil {
		return nil
	}

	sent := map[int64]string{} // each widget's last data as sent
	ping := time.NewTicker(livePingInterval)
	defer ping.Stop()
	changed := ws.live.wait()
	var computed time.Time
	for first := true; ; first = false {
		if !first {
			select {
			case <-r.Context().Done():
				return nil
			case <-ws.live.closed:
				return nil
			case <-ping.C:
				if !s.sendEvent(w, rc, "ping", map[string]string{"as_of": s.newPageBase(r, "").AsOf}) {
					return nil
				}
				continue
			case <-changed:
				changed = ws.live.wait()
				select {
				case <-time.After(max(liveSettle, liveMinInterval-time.Since(computed))):
				case <-r.Context().Done():
					return nil
				}
			}
		}

		// NOTE: every stream computes its own dashboard, so N viewers of one
		// dashboard cost N computations per update.
		computed = time.Now()
		update, gone, err := s.changedWidgets(r, id, sent)
		if err != nil && r.Context().Err() != nil {
			return nil // the viewer left while the update was computed
		}
		if err != nil {
			s.logger.ErrorContext(r.Context(), "computing a live dashboard update failed", requestAttrs(r),
				slog.Int64("dashboard", id), slog.Any("error", err))
			continue
		}
		if gone {
			s.sendEvent(w, rc, "gone", map[string]string{"message": "This dashboard was deleted."})
			return nil
		}
		if (first || len(update.Widgets) > 0) && !s.sendEvent(w, rc, "update", update) {
			return nil
		}
	}
}

// changedWidgets recomputes dashboard id and returns the widgets whose data
// differs from sent, updating sent. gone reports a deleted dashboard.
func (s *Server) changedWidgets(r *http.Request, id int64, sent map[int64]string) (update liveUpdate, gone bool, err error) {
	d, err := s.inRequest(r).dashboards.Dashboard(r.Context(), id)
	if kpi.ErrorCode(err) == kpi.ENOTFOUND {
		return update, true, nil
	}
	if err != nil {
		return update, false, err
	}
	c, err := controlsFor(r, d)
	if err != nil {
		return update, false, err
	}
	data, err := s.computeDashboard(r, d, c)
	if err != nil {
		return update, false, err
	}

	update = liveUpdate{AsOf: data.AsOf, Widgets: []widgetData{}}
	seen := map[int64]bool{}
	for _, wd := range data.Widgets {
		seen[wd.ID] = true
		b, err := json.Marshal(wd)
		if err != nil {
			return update, false, err
		}
		if sent[wd.ID] != string(b) {
			sent[wd.ID] = string(b)
			update.Widgets = append(update.Widgets, wd)
		}
	}
	for wid := range sent {
		if !seen[wid] {
			delete(sent, wid)
		}
	}
	return update, false, nil
}

// sendEvent writes one event and flushes it. It reports false when the
// client is gone.
func (s *Server) sendEvent(w http.ResponseWriter, rc *http.ResponseController, name string, v any) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
		return false
	}
	return rc.Flush() == nil
}
