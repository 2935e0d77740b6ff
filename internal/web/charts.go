package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/shopspring/decimal"
)

// Charts are drawn here as SVG, server-side: no script, readable without
// colour (every series is also labelled in a table beside the chart), with
// units on the axis and a <title> per bar for the exact figure.

// series is one named set of values along the chart's categories.
type series struct {
	Name   string
	Colour string // CSS colour
	Values []float64
}

// stackedBars draws categories (months) on x with the series stacked on y,
// in unit ("t CO2e"). It returns nothing when there is no value.
func stackedBars(title, unit string, categories []string, ss []series) template.HTML {
	const (
		w, h                   = 720, 300
		left, right, top, foot = 70, 10, 20, 50
	)
	maxV := 0.0
	for i := range categories {
		sum := 0.0
		for _, s := range ss {
			sum += s.Values[i]
		}
		maxV = math.Max(maxV, sum)
	}
	if maxV == 0 || len(categories) == 0 {
		return ""
	}
	top0, step := niceScale(maxV)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="ct-%s"><title id="ct-%s">%s</title>`,
		w, h, id(title), id(title), template.HTMLEscapeString(title))
	plotH := float64(h - top - foot)
	plotW := float64(w - left - right)
	for v := 0.0; v <= top0+step/2; v += step {
		y := float64(top) + plotH - v/top0*plotH
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>`, left, w-right, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" class="tick" text-anchor="end">%s</text>`, left-6, y+4, formatTick(v))
	}
	fmt.Fprintf(&b, `<text x="14" y="%d" class="axis" transform="rotate(-90 14 %d)" text-anchor="middle">%s</text>`,
		top+int(plotH/2), top+int(plotH/2), template.HTMLEscapeString(unit))
	bw := plotW / float64(len(categories))
	for i, c := range categories {
		x := float64(left) + float64(i)*bw
		y := float64(top) + plotH
		for _, s := range ss {
			v := s.Values[i]
			if v <= 0 {
				continue
			}
			bh := v / top0 * plotH
			y -= bh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s %s</title></rect>`,
				x+bw*0.15, y, bw*0.7, bh, s.Colour, template.HTMLEscapeString(c), template.HTMLEscapeString(s.Name), formatTick(v),
				template.HTMLEscapeString(unit))
		}
		if len(categories) <= 12 || i%2 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick" text-anchor="middle">%s</text>`, x+bw/2, h-foot+16, template.HTMLEscapeString(c))
		}
	}
	lx := left
	for _, s := range ss {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" class="legend">%s</text>`,
			lx, h-16, s.Colour, lx+16, h-6, template.HTMLEscapeString(s.Name))
		lx += 16 + 8*len(s.Name) + 24
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text in it is escaped above
}

// hbar is one bar of a horizontal bar chart.
type hbar struct {
	Label string
	Value float64
}

// horizontalBars draws labelled bars, longest first as given, in unit.
func horizontalBars(title, unit string, bars []hbar) template.HTML {
	if len(bars) == 0 {
		return ""
	}
	const (
		w, rowH, labelW, right = 720, 26, 260, 130
	)
	h := rowH*len(bars) + 10
	maxV := 0.0
	for _, b := range bars {
		maxV = math.Max(maxV, b.Value)
	}
	if maxV == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="ct-%s"><title id="ct-%s">%s</title>`,
		w, h, id(title), id(title), template.HTMLEscapeString(title))
	for i, br := range bars {
		y := 5 + i*rowH
		bw := br.Value / maxV * float64(w-labelW-right)
		label := br.Label
		if len(label) > 38 {
			label = label[:37] + "…"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="tick" text-anchor="end">%s</text>`, labelW-8, y+16, template.HTMLEscapeString(label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#2f6f4f"><title>%s: %s %s</title></rect>`,
			labelW, y+3, math.Max(bw, 1), rowH-8, template.HTMLEscapeString(br.Label), formatTick(br.Value), template.HTMLEscapeString(unit))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="tick">%s %s</text>`, float64(labelW)+bw+6, y+16, formatTick(br.Value), template.HTMLEscapeString(unit))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text in it is escaped above
}

// niceScale returns an axis maximum at or above v and a tick step: 1, 2
// or 5 times a power of ten, about five ticks.
func niceScale(v float64) (float64, float64) {
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Ceil(v/step) * step, step
}

// formatTick writes a number with thousands separators and at most
// three significant decimals.
func formatTick(v float64) string {
	d := decimal.NewFromFloat(v)
	switch {
	case v >= 100:
		d = d.Round(0)
	case v >= 1:
		d = d.Round(1)
	default:
		d = d.Round(3)
	}
	return groupThousands(d.String())
}

// groupThousands puts thin spaces between groups of three digits.
func groupThousands(s string) string {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(r)
	}
	out := b.String()
	if neg {
		out = "-" + out
	}
	if hasFrac {
		out += "." + frac
	}
	return out
}

// id makes an element id of a title.
func id(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}
