package report

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/source"
)

// The job summary must stay under GitHub's limit of 1 MiB per step however
// many findings there are: each part of it has a budget, in rows and bytes,
// and says what it left out. With every value capped at maxCellBytes the
// parts add up to well under the limit (TestMarkdownStaysUnderLimit).
const (
	summaryLimit = 1 << 20

	maxFindingRows  = 500
	findingsBudget  = 640 << 10
	maxPlatformRows = 100
	platformsBudget = 96 << 10
	maxImpactRows   = 100
	impactBudget    = 96 << 10
	maxErrors       = 20
	errorsBudget    = 64 << 10
	maxAPIVersions  = 20
)

// Markdown writes the report as GitHub-flavoured markdown for the job
// summary: the result with the image, digest, release and profile, the
// errors, a findings table (severity, rule, platform, where, message), the
// platforms, the upgrade impact and what the run cost. Every value from the
// image goes through MarkdownCell.
func Markdown(w io.Writer, r *Report) error {
	var b bytes.Buffer
	icon := map[string]string{ResultPass: "✅", ResultFail: "❌", ResultError: "⚠️"}[r.Result]
	if icon == "" {
		icon = "❔"
	}
	fmt.Fprintf(&b, "## %s Docker Desktop plugin check: %s\n\n", icon, escape.MarkdownCell(r.Result))

	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(&b, "- **%s:** %s\n", name, escape.MarkdownCode(value))
		}
	}
	field("Image", r.Image)
	field("Digest", r.Digest)
	field("Repository", r.Repository)
	field("Release", r.Release)
	field("Profile", r.Profile)
	if len(r.DesktopAPIVersions) > 0 {
		var vs []string
		for i, v := range r.DesktopAPIVersions {
			if i == maxAPIVersions {
				vs = append(vs, fmt.Sprintf("and %d more", len(r.DesktopAPIVersions)-i))
				break
			}
			vs = append(vs, escape.MarkdownCode(v))
		}
		fmt.Fprintf(&b, "- **Desktop API versions:** %s\n", strings.Join(vs, ", "))
	}
	c := r.Counts()
	fmt.Fprintf(&b, "- **Findings:** %s, %s, %s; fails on %s\n",
		escape.Plural(c[checks.Error], "error"), escape.Plural(c[checks.Warning], "warning"), escape.Plural(c[checks.Notice], "notice"),
		escape.MarkdownCell(r.FailsOn()))

	if len(r.Errors) > 0 {
		b.WriteString("\n### Errors\n\n")
		used := 0
		for i, e := range r.Errors {
			line := "- ⚠️ " + escape.MarkdownCell(e) + "\n"
			if i == maxErrors || used+len(line) > errorsBudget {
				fmt.Fprintf(&b, "\n_%s not shown._\n", escape.Plural(len(r.Errors)-i, "more error"))
				break
			}
			b.WriteString(line)
			used += len(line)
		}
	}

	b.WriteString("\n### Findings\n\n")
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n")
	} else {
		rows := make([][]string, 0, min(len(r.Findings), maxFindingRows))
		for i, f := range r.Findings {
			if i == maxFindingRows {
				break
			}
			rows = append(rows, []string{
				severityIcon(f.Severity) + " " + escape.MarkdownCell(f.Severity.String()),
				escape.MarkdownCode(f.Rule),
				escape.MarkdownCode(f.Platform),
				where(r.Sources, f),
				escape.MarkdownCell(f.Message),
			})
		}
		shown := writeTable(&b, []string{"Severity", "Rule", "Platform", "Where", "Message"}, rows, findingsBudget)
		if left := len(r.Findings) - shown; left > 0 {
			lc := map[checks.Severity]int{}
			for _, f := range r.Findings[shown:] {
				lc[f.Severity]++
			}
			fmt.Fprintf(&b, "\n_%s not shown (%s, %s, %s); the JSON report (`--output json=PATH`) has them all._\n",
				escape.Plural(left, "more finding"), escape.Plural(lc[checks.Error], "error"), escape.Plural(lc[checks.Warning], "warning"),
				escape.Plural(lc[checks.Notice], "notice"))
		}
	}

	if len(r.Platforms) > 0 {
		b.WriteString("\n### Platforms\n\n")
		var rows [][]string
		for i, p := range r.Platforms {
			if i == maxPlatformRows {
				break
			}
			rows = append(rows, []string{escape.MarkdownCode(p.Platform), escape.MarkdownCode(p.Digest)})
		}
		shown := writeTable(&b, []string{"Platform", "Digest"}, rows, platformsBudget)
		if left := len(r.Platforms) - shown; left > 0 {
			fmt.Fprintf(&b, "\n_%s not shown._\n", escape.Plural(left, "more platform"))
		}
	}

	if len(r.Impact) > 0 {
		b.WriteString("\n### Upgrade impact\n\n")
		b.WriteString("The plugin version that Docker Desktop offers, for each target Desktop API version, before and after this release.\n\n")
		header := []string{"Desktop API version", "Before", "After"}
		notes := false
		for _, im := range r.Impact[:min(len(r.Impact), maxImpactRows)] {
			notes = notes || im.Note != ""
		}
		if notes {
			header = append(header, "Note")
		}
		var rows [][]string
		for i, im := range r.Impact {
			if i == maxImpactRows {
				break
			}
			row := []string{escape.MarkdownCode(im.DesktopAPIVersion), impactVersion(im.Before), impactVersion(im.After)}
			if im.Note != "" {
				row[1], row[2] = "—", "—"
			}
			if notes {
				row = append(row, escape.MarkdownCell(im.Note))
			}
			rows = append(rows, row)
		}
		shown := writeTable(&b, header, rows, impactBudget)
		if left := len(r.Impact) - shown; left > 0 {
			fmt.Fprintf(&b, "\n_%s not shown._\n", escape.Plural(left, "more Desktop API version"))
		}
	}

	fmt.Fprintf(&b, "\n<sub>Cost: %s, %s, %d ms.</sub>\n",
		escape.Plural(int(r.Stats.Requests), "request"), HumanBytes(r.Stats.Bytes), r.Stats.DurationMS)

	_, err := w.Write(b.Bytes())
	return err
}

// writeTable writes a markdown table of rows (whose cells are escaped
// already) while it fits in budget bytes, and returns how many rows it wrote.
func writeTable(b *bytes.Buffer, header []string, rows [][]string, budget int) int {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString(strings.Repeat("|---", len(header)) + "|\n")
	used := 0
	for i, row := range rows {
		line := "| " + strings.Join(row, " | ") + " |\n"
		if used+len(line) > budget {
			return i
		}
		b.WriteString(line)
		used += len(line)
	}
	return len(rows)
}

// where says where a finding is: the repository file and line (Locate), the
// label, the path in the image and the JSON pointer.
func where(src *source.Sources, f checks.Finding) string {
	var parts []string
	if l := locate(src, f); l.File != "" {
		file := l.File
		if l.Line > 0 {
			file += ":" + strconv.Itoa(l.Line)
		}
		parts = append(parts, escape.MarkdownCode(file))
	}
	parts = append(parts, escape.MarkdownPlace(f.Label, f.Path, f.Pointer)...)
	return strings.Join(parts, "<br>")
}

// impactVersion shows a version of the upgrade impact table.
func impactVersion(v string) string {
	if v == "" {
		return "_none_"
	}
	return escape.MarkdownCode(v)
}

// severityIcon marks a severity in the findings table.
func severityIcon(s checks.Severity) string {
	switch s {
	case checks.Error:
		return "❌"
	case checks.Warning:
		return "⚠️"
	}
	return "ℹ️"
}
