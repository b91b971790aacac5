package kpi

import (
	"strings"
	"testing"
)

func TestKPINotFoundNamesKnownKPIs(t *testing.T) {
	_, err := (&Definitions{}).KPI("revenue")
	if ErrorCode(err) != ENOTFOUND || !strings.Contains(err.Error(), `"revenue" not found: this workspace has no KPIs yet`) {
		t.Errorf("unknown KPI in empty definitions: %v, want not found saying the workspace has no KPIs", err)
	}
	d := &Definitions{KPIs: []*KPI{{ID: "signups"}, {ID: "orders"}}}
	_, err = d.KPI("revenue")
	if ErrorCode(err) != ENOTFOUND || !strings.Contains(err.Error(), "(known KPIs: signups, orders)") {
		t.Errorf("unknown KPI: %v, want not found listing signups, orders", err)
	}
}
