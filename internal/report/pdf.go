package report

import (
	"bytes"
	"fmt"

	"codeberg.org/go-fonts/liberation/liberationsansbold"
	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"codeberg.org/go-pdf/fpdf"
)

// fontFamily is the PDF's font: Liberation Sans, embedded as a UTF-8 font so
// that dashes, arrows and accented names print as written.
const fontFamily = "LiberationSans"

// digestPDF renders the digest on A4 pages: the title, then per KPI its facts
// and chart, then the optional sections.
func digestPDF(in DigestInput, kpis []digestKPI) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(in.GeneratedAt)
	pdf.SetModificationDate(in.GeneratedAt)
	pdf.AddUTF8FontFromBytes(fontFamily, "", liberationsansregular.TTF)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", liberationsansbold.TTF)
	pdf.SetTitle(in.Title, true)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()

	title := in.Title
	if in.Workspace != "" {
		title = in.Workspace + ": " + title
	}
	pdf.SetFont(fontFamily, "B", 16)
	pdf.MultiCell(0, 8, title, "", "L", false)
	pdf.SetFont(fontFamily, "", 9)
	pdf.MultiCell(0, 5, "Generated "+in.GeneratedAt.In(in.Location).Format("2006-01-02 15:04 MST"), "", "L", false)
	pdf.Ln(3)

	const width = 180.0 // mm between the default 10 mm margins of A4
	for _, d := range kpis {
		pdf.SetFont(fontFamily, "B", 12)
		pdf.MultiCell(0, 7, fmt.Sprintf("%s (%s)", d.Name, d.ID), "", "L", false)
		for _, l := range d.digestLines() {
			pdf.SetFont(fontFamily, "B", 9)
			pdf.CellFormat(32, 5, l[0], "", 0, "L", false, 0, "")
			pdf.SetFont(fontFamily, "", 9)
			pdf.MultiCell(width-32, 5, l[1], "", "L", false)
		}

		options := fpdf.ImageOptions{ImageType: "PNG", ReadDpi: false}
		pdf.RegisterImageOptionsReader(d.image.ContentID, options, bytes.NewReader(d.image.PNG))
		// The chart is 672 × 269 pixels: drawn 180 mm wide it is 72 mm high.
		if pdf.GetY()+74 > 297-15 {
			pdf.AddPage()
		}
		pdf.ImageOptions(d.image.ContentID, 10, pdf.GetY()+1, width, 0, true, options, 0, "")
		pdf.Ln(4)
	}

	for _, s := range optionalSections(in) {
		pdf.SetFont(fontFamily, "B", 12)
		pdf.MultiCell(0, 7, s.title, "", "L", false)
		pdf.SetFont(fontFamily, "", 9)
		for _, line := range s.lines {
			pdf.MultiCell(0, 5, "• "+line, "", "L", false)
		}
		pdf.Ln(2)
	}

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
