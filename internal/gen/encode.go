package gen

import (
	"bufio"
	"strconv"
	"time"
)

// CSVHeader is the header row of the CSV format. timestamp is RFC 3339 in
// UTC, and amount is empty except on purchase events.
const CSVHeader = "event,distinct_id,timestamp,plan,country,amount\n"

// encoder formats events as CSV rows or NDJSON lines. It appends bytes by
// hand, because fmt and encoding/json would be most of the run time.
type encoder struct {
	w      *bufio.Writer
	format string
	seed   string
	seq    int // number of the next event, for its NDJSON message_id
	buf    []byte
	names  []string
}

func newEncoder(w *bufio.Writer, opts Options) *encoder {
	e := &encoder{w: w, format: opts.Format, seed: strconv.FormatUint(opts.Seed, 10)}
	for _, ew := range eventWeights {
		e.names = append(e.names, ew.name)
	}
	return e
}

func (e *encoder) header() error {
	if e.format != FormatCSV {
		return nil
	}
	_, err := e.w.WriteString(CSVHeader)
	return err
}

// day writes the events of the day that starts at midnight.
func (e *encoder) day(midnight time.Time, events []event, users []user) error {
	date := midnight.Format("2006-01-02T")
	for _, ev := range events {
		b := e.buf[:0]
		name := EventSignup
		if ev.name != nameSignup {
			name = e.names[ev.name]
		}
		u := &users[ev.user]

		if e.format == FormatCSV {
			b = e.appendCSV(b, name, ev, u, date)
		} else {
			b = e.appendNDJSON(b, name, ev, u, date)
		}
		e.seq++
		e.buf = b
		if _, err := e.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (e *encoder) appendCSV(b []byte, name string, ev event, u *user, date string) []byte {
	b = append(b, name...)
	b = append(b, ',')
	b = appendDistinctID(b, ev.user)
	b = append(b, ',')
	b = appendTimestamp(b, date, ev.second)
	b = append(b, ',')
	b = append(b, plans[u.plan]...)
	b = append(b, ',')
	b = append(b, countries[u.country]...)
	b = append(b, ',')
	if ev.amount > 0 {
		b = strconv.AppendInt(b, int64(ev.amount), 10)
	}
	return append(b, '\n')
}

// appendNDJSON appends one event of the native endpoint's format. The names,
// IDs and values are plain ASCII, so nothing needs JSON escaping.
func (e *encoder) appendNDJSON(b []byte, name string, ev event, u *user, date string) []byte {
	b = append(b, `{"event":"`...)
	b = append(b, name...)
	b = append(b, `","distinct_id":"`...)
	b = appendDistinctID(b, ev.user)
	b = append(b, `","timestamp":"`...)
	b = appendTimestamp(b, date, ev.second)
	b = append(b, `","properties":{"plan":"`...)
	b = append(b, plans[u.plan]...)
	b = append(b, `","country":"`...)
	b = append(b, countries[u.country]...)
	b = append(b, '"')
	if ev.amount > 0 {
		b = append(b, `,"amount":`...)
		b = strconv.AppendInt(b, int64(ev.amount), 10)
	}
	b = append(b, `},"message_id":"gen-`...)
	b = append(b, e.seed...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(e.seq), 10)
	return append(b, "\"}\n"...)
}

// appendDistinctID appends the distinct ID of user number id: "u" and the
// number counted from 1.
func appendDistinctID(b []byte, id int32) []byte {
	b = append(b, 'u')
	return strconv.AppendInt(b, int64(id)+1, 10)
}

// appendTimestamp appends date (YYYY-MM-DDT) with the time of day second as
// hh:mm:ssZ.
func appendTimestamp(b []byte, date string, second uint32) []byte {
	b = append(b, date...)
	b = appendTwoDigits(b, second/3600)
	b = append(b, ':')
	b = appendTwoDigits(b, second/60%60)
	b = append(b, ':')
	b = appendTwoDigits(b, second%60)
	return append(b, 'Z')
}

func appendTwoDigits(b []byte, v uint32) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}
