package ingest

import (
	"fmt"
	"io"
	"time"
)

// Timing of the progress line: imports that end within progressDelay show
// none, and longer ones rewrite it at most once per progressInterval.
const (
	progressDelay    = 2 * time.Second
	progressInterval = 500 * time.Millisecond
)

// progressLine writes the counts of a running import to a terminal. It
// rewrites one line in place with a carriage return and the ANSI "erase to end
// of line" sequence. A nil *progressLine writes nothing.
type progressLine struct {
	w       io.Writer
	now     func() time.Time
	start   time.Time
	last    time.Time
	written bool
}

// newProgressLine returns a progress line on w, or nil when w is nil.
func newProgressLine(w io.Writer, now func() time.Time) *progressLine {
	if w == nil {
		return nil
	}
	return &progressLine{w: w, now: now, start: now()}
}

// update rewrites the line with the counts in s, unless the import started
// less than progressDelay ago or the line changed less than progressInterval ago.
func (p *progressLine) update(phase string, s *CSVSummary) {
	if p == nil {
		return
	}

	t := p.now()
	if t.Sub(p.start) < progressDelay || (p.written && t.Sub(p.last) < progressInterval) {
		return
	}
	p.last = t
	p.written = true
	fmt.Fprintf(p.w, "\r%s\033[K", progressText(phase, s))
}

// finish writes the final counts and ends the line, if the line was written.
// err is the import's error, if any.
func (p *progressLine) finish(s *CSVSummary, err error) {
	if p == nil || !p.written {
		return
	}
	phase := "done"
	if err != nil {
		phase = "stopped"
	}
	fmt.Fprintf(p.w, "\r%s\033[K\n", progressText(phase, s))
}

func progressText(phase string, s *CSVSummary) string {
	if phase == "checking" {
		return fmt.Sprintf("checking: %d rows read", s.RowsRead)
	}
	return fmt.Sprintf("%s: %d rows read, %d imported, %d duplicates, %d skipped",
		phase, s.RowsRead, s.Imported, s.Duplicates, s.Skipped)
}
