package alerting

import (
	"bytes"
	"html/template"
)

var alertTemplate = template.Must(template.New("alert").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{.Rule}} {{.Verb}}</h2>
<p>{{.Detail}}.</p>
<p>KPI: <a href="{{.Link}}">{{.KPI}}</a></p>
</body></html>
`))

// alertHTML renders the HTML part of an alert e-mail. It returns "" when
// rendering fails, so that the text part still goes out.
func alertHTML(rule, verb, detail, kpiName, link string) string {
	var buf bytes.Buffer
	err := alertTemplate.Execute(&buf, map[string]string{"Rule": rule, "Verb": verb, "Detail": detail, "KPI": kpiName, "Link": link})
	if err != nil {
		return ""
	}
	return buf.String()
}
