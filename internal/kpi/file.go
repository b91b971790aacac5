package kpi

// The types in this file mirror the KPI file's YAML layout. Loading decodes
// into them with unknown fields rejected, then converts them into the domain
// types with every value checked (see load.go).

type fileDoc struct {
	Workspace  fileWorkspace         `yaml:"workspace"`
	Objectives []fileObjective       `yaml:"objectives"`
	Metrics    map[string]fileMetric `yaml:"metrics"`
	KPIs       []fileKPI             `yaml:"kpis"`

	// Dimensions is decoded as any, so that a scalar or a map gets an error
	// that shows what to write instead of a decoder error.
	Dimensions any `yaml:"dimensions"`
}

type fileWorkspace struct {
	Name      string `yaml:"name"`
	TimeZone  string `yaml:"time_zone"`
	WeekStart string `yaml:"week_start"`
}

type fileObjective struct {
	ID          string `yaml:"id"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

type fileMetric struct {
	Kind     string         `yaml:"kind"`
	Event    string         `yaml:"event"`
	Property string         `yaml:"property"`
	Where    map[string]any `yaml:"where"`
	Formula  string         `yaml:"formula"`

	Window          int      `yaml:"window"`
	CohortEvent     string   `yaml:"cohort_event"`
	ReturnEvent     string   `yaml:"return_event"`
	Period          string   `yaml:"period"`
	Offset          *int     `yaml:"offset"`
	Mode            string   `yaml:"mode"`
	Steps           []string `yaml:"steps"`
	StartEvent      string   `yaml:"start_event"`
	CancelEvent     string   `yaml:"cancel_event"`
	SubscriptionKey string   `yaml:"subscription_key"`
	Series          string   `yaml:"series"`
	Aggregate       string   `yaml:"aggregate"`
}

type fileKPI struct {
	ID          string          `yaml:"id"`
	Name        string          `yaml:"name"`
	Description string          `yaml:"description"`
	Objective   string          `yaml:"objective"`
	Owner       string          `yaml:"owner"`
	Unit        string          `yaml:"unit"`
	Direction   string          `yaml:"direction"`
	Grain       string          `yaml:"grain"`
	Metric      *fileMetric     `yaml:"metric"`
	Baseline    *fileBaseline   `yaml:"baseline"`
	Target      *fileTarget     `yaml:"target"`
	Thresholds  *fileThresholds `yaml:"thresholds"`
	Breakdown   string          `yaml:"breakdown"`
	Targets     []fileRevision  `yaml:"targets,omitempty"`
	Benchmarks  []fileBenchmark `yaml:"benchmarks,omitempty"`
	Review      string          `yaml:"review,omitempty"`
}

type fileBaseline struct {
	Value any    `yaml:"value"`
	Date  string `yaml:"date"`
}

type fileTarget struct {
	Value      any             `yaml:"value"`
	Change     any             `yaml:"change"`
	By         string          `yaml:"by"`
	Milestones []fileMilestone `yaml:"milestones,omitempty"`
}

type fileMilestone struct {
	Value any    `yaml:"value"`
	By    string `yaml:"by"`
}

// fileRevision is one entry of a KPI's targets: list: a target with the date
// it applies from, and who set it and why.
type fileRevision struct {
	Value       any             `yaml:"value"`
	Change      any             `yaml:"change"`
	By          string          `yaml:"by"`
	Milestones  []fileMilestone `yaml:"milestones,omitempty"`
	AppliesFrom string          `yaml:"applies_from"`
	Author      string          `yaml:"author"`
	Reason      string          `yaml:"reason"`
}

type fileBenchmark struct {
	Kind  string `yaml:"kind"`
	Name  string `yaml:"name"`
	Value any    `yaml:"value"`
}

type fileThresholds struct {
	AtRisk   any `yaml:"at_risk"`
	OffTrack any `yaml:"off_track"`
}
