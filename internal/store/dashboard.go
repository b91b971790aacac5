package store

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/northstar-kpi/northstar/internal/kpi"
)

// Dashboard is a named, arranged set of widgets.
type Dashboard struct {
	ID        int64
	Name      string
	Objective string // the objective a default dashboard was made for; "" for others

	// Grain and the From and To dates (YYYY-MM-DD) are the dashboard's time
	// controls. Empty values select each KPI's own grain and default range.
	Grain string
	From  string
	To    string

	CreatedAt time.Time
	UpdatedAt time.Time
	Widgets   []Widget // in layout order: by Y, then X
}

// Widget is one tile of a dashboard's grid. X, Y, W and H are grid cells;
// the grid is GridColumns wide.
type Widget struct {
	ID          int64
	DashboardID int64
	Kind        string
	KPIs        []string
	X, Y, W, H  int

	// Options holds the kind's settings as a JSON object, such as the
	// property a breakdown groups by. It is never nil after a read.
	Options json.RawMessage
}

// WidgetPosition is a widget's place and size, as a layout change sends it.
type WidgetPosition struct {
	ID         int64
	X, Y, W, H int
}

// ShareLink is a read-only link to one dashboard. Only a hash of its token is
// stored; the token is shown once, when the link is created.
type ShareLink struct {
	ID          int64
	WorkspaceID int64
	DashboardID int64
	Prefix      string // the first characters of the token, to recognise it in lists
	CreatedAt   time.Time
	RevokedAt   *time.Time
}

// GridColumns is the width of every dashboard's grid in cells.
const GridColumns = 12

// MaxDashboardNameLen limits a dashboard's name, in characters.
const MaxDashboardNameLen = 100

// MaxWidgetHeight limits a widget's height in grid rows.
const MaxWidgetHeight = 24

// MaxWidgetsPerDashboard limits a dashboard's widgets.
const MaxWidgetsPerDashboard = 60

// ShareTokenPrefix starts every share link token.
const ShareTokenPrefix = "ns_sh_"

// NormalizeDashboardName trims name and returns an EINVALID error when it is
// empty or longer than MaxDashboardNameLen characters.
func NormalizeDashboardName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", kpi.Errorf(kpi.EINVALID, "dashboard name is empty (give the dashboard a name such as \"Growth\")")
	}
	if n := utf8.RuneCountInString(name); n > MaxDashboardNameLen {
		return "", kpi.Errorf(kpi.EINVALID, "dashboard name is %d characters long; the limit is %d (shorten it)", n, MaxDashboardNameLen)
	}
	return name, nil
}

// ValidateWidgetPosition returns an EINVALID error unless the position lies
// inside the grid with a positive size.
func ValidateWidgetPosition(x, y, w, h int) error {
	switch {
	case w < 1 || h < 1:
		return kpi.Errorf(kpi.EINVALID, "widget size %dx%d is not valid (width and height must be at least 1 grid cell)", w, h)
	case w > GridColumns:
		return kpi.Errorf(kpi.EINVALID, "widget width %d is wider than the grid (at most %d columns)", w, GridColumns)
	case h > MaxWidgetHeight:
		return kpi.Errorf(kpi.EINVALID, "widget height %d is too tall (at most %d rows)", h, MaxWidgetHeight)
	case x < 0 || y < 0:
		return kpi.Errorf(kpi.EINVALID, "widget position (%d, %d) is not valid (x and y must be 0 or more)", x, y)
	case x+w > GridColumns:
		return kpi.Errorf(kpi.EINVALID, "widget at column %d with width %d ends past the grid's %d columns (move it left or make it narrower)", x, w, GridColumns)
	}
	return nil
}

// NewShareToken returns a new random share link token with 256 bits of
// entropy, the prefix that may be stored in clear, and the hash to store.
func NewShareToken() (token, prefix, hash string, err error) {
	raw := make([]byte, writeKeyRandomBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", "", "", err
	}
	token = ShareTokenPrefix + secretEncoding.EncodeToString(raw)
	return token, token[:len(ShareTokenPrefix)+6], HashWriteKeySecret(token), nil
}

// WidgetOptionsJSON returns options as the text of a JSON object: "{}" when
// options is empty, and an EINVALID error when it is not an object.
func WidgetOptionsJSON(options json.RawMessage) (string, error) {
	if len(options) == 0 || string(options) == "null" {
		return "{}", nil
	}
	var m map[string]any
	if err := json.Unmarshal(options, &m); err != nil {
		return "", kpi.Errorf(kpi.EINVALID, "widget options are not a JSON object: %v", err)
	}
	b, err := json.Marshal(m)
	return string(b), err
}
