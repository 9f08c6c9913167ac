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

// markdownLimits are the budgets of one markdown report: the whole in bytes,
// and each part in rows and bytes. The findings table gets what the other
// parts leave of the whole, up to its own budget.
type markdownLimits struct {
	total                           int
	findingRows, findings           int
	platformRows, platforms         int
	impactRows, impact              int
	errorLines, errors, apiVersions int
	// allFindings says where the findings not shown are.
	allFindings string
}

// jobSummary are the job summary's budgets.
var jobSummary = markdownLimits{
	total:       summaryLimit,
	findingRows: maxFindingRows, findings: findingsBudget,
	platformRows: maxPlatformRows, platforms: platformsBudget,
	impactRows: maxImpactRows, impact: impactBudget,
	errorLines: maxErrors, errors: errorsBudget, apiVersions: maxAPIVersions,
	allFindings: "the JSON report (`--output json=PATH`) has them all",
}

// findingsOverhead is what the findings section writes besides its rows:
// the heading, the table's head and the note on the rows not shown.
const findingsOverhead = 1 << 10

// MinMarkdownLimit is the smallest limit MarkdownWithin takes.
const MinMarkdownLimit = 40 << 10

// Markdown writes the report as GitHub-flavoured markdown for the job
// summary: the result with the image, digest, release and profile, the
// errors, a findings table (severity, rule, platform, where, message), the
// platforms, the upgrade impact and what the run cost. Every value from the
// image goes through MarkdownCell.
func Markdown(w io.Writer, r *Report) error {
	return writeMarkdown(w, r, jobSummary)
}

// MarkdownWithin writes the Markdown report in at most limit bytes (at
// least MinMarkdownLimit), for a check run's summary or a pull-request
// comment, which GitHub caps at 65,535 characters: fewer rows of each part,
// and the findings table gets the room the other parts leave. Each part
// that is cut says how many rows it left out; the findings' note says that
// the job summary and the JSON report have them.
func MarkdownWithin(w io.Writer, r *Report, limit int) error {
	limit = max(limit, MinMarkdownLimit)
	return writeMarkdown(w, r, markdownLimits{
		total:       limit,
		findingRows: maxFindingRows, findings: limit,
		platformRows: 20, platforms: limit / 10,
		impactRows: 20, impact: limit / 10,
		errorLines: 5, errors: limit / 16, apiVersions: 5,
		allFindings: "the job summary and the JSON report (output `report`) have them",
	})
}

// writeMarkdown writes the report within lim: the head and the tail
// (platforms, upgrade impact, cost) within their budgets, and the findings
// in the room they leave.
func writeMarkdown(w io.Writer, r *Report, lim markdownLimits) error {
	var head, tail bytes.Buffer
	markdownHead(&head, r, lim)
	markdownPlatforms(&tail, r, lim)
	markdownImpact(&tail, r, lim)
	markdownPush(&tail, r, lim)
	fmt.Fprintf(&tail, "\n<sub>Cost: %s, %s, %d ms.</sub>\n",
		escape.Plural(int(r.Stats.Requests), "request"), HumanBytes(r.Stats.Bytes), r.Stats.DurationMS)

	room := lim.total - head.Len() - tail.Len() - findingsOverhead
	markdownFindings(&head, r, lim, max(min(lim.findings, room), 0))
	head.Write(tail.Bytes())
	_, err := w.Write(cutMarkdown(head.Bytes(), lim.total))
	return err
}

// cutMarkdown cuts md to at most limit bytes at a line break, saying so,
// should the budgets ever add up to more than the limit.
func cutMarkdown(md []byte, limit int) []byte {
	if len(md) <= limit {
		return md
	}
	note := fmt.Sprintf("\n_The report was cut at %d bytes._\n", limit)
	cut := bytes.LastIndexByte(md[:limit-len(note)], '\n')
	if cut < 0 {
		cut = 0
	}
	return append(md[:cut:cut], note...)
}

// markdownHead writes the result, the fields, the counts and the errors.
func markdownHead(b *bytes.Buffer, r *Report, lim markdownLimits) {
	icon := map[string]string{ResultPass: "✅", ResultFail: "❌", ResultError: "⚠️"}[r.Result]
	if icon == "" {
		icon = "❔"
	}
	fmt.Fprintf(b, "## %s Docker Desktop plugin check: %s\n\n", icon, escape.MarkdownCell(r.Result))

	field := func(name, value string) {
		if value != "" {
			fmt.Fprintf(b, "- **%s:** %s\n", name, escape.MarkdownCode(value))
		}
	}
	field("Image", r.Image)
	field("Sources linted", r.Source)
	field("Digest", r.Digest)
	field("Repository", r.Repository)
	field("Release", r.Release)
	field("Profile", r.Profile)
	if len(r.DesktopAPIVersions) > 0 {
		var vs []string
		for i, v := range r.DesktopAPIVersions {
			if i == lim.apiVersions {
				vs = append(vs, fmt.Sprintf("and %d more", len(r.DesktopAPIVersions)-i))
				break
			}
			vs = append(vs, escape.MarkdownCode(v))
		}
		fmt.Fprintf(b, "- **Desktop API versions:** %s\n", strings.Join(vs, ", "))
	}
	c := r.Counts()
	fmt.Fprintf(b, "- **Findings:** %s, %s, %s; fails on %s\n",
		escape.Plural(c[checks.Error], "error"), escape.Plural(c[checks.Warning], "warning"), escape.Plural(c[checks.Notice], "notice"),
		escape.MarkdownCell(r.FailsOn()))

	if len(r.Errors) > 0 {
		b.WriteString("\n### Errors\n\n")
		used := 0
		for i, e := range r.Errors {
			line := "- ⚠️ " + escape.MarkdownCell(e) + "\n"
			if i == lim.errorLines || used+len(line) > lim.errors {
				fmt.Fprintf(b, "\n_%s not shown._\n", escape.Plural(len(r.Errors)-i, "more error"))
				break
			}
			b.WriteString(line)
			used += len(line)
		}
	}
}

// markdownFindings writes the findings table in budget bytes of rows.
func markdownFindings(b *bytes.Buffer, r *Report, lim markdownLimits, budget int) {
	b.WriteString("\n### Findings\n\n")
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n")
		return
	}
	rows := make([][]string, 0, min(len(r.Findings), lim.findingRows))
	for i, f := range r.Findings {
		if i == lim.findingRows {
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
	shown := writeTable(b, []string{"Severity", "Rule", "Platform", "Where", "Message"}, rows, budget)
	if left := len(r.Findings) - shown; left > 0 {
		lc := map[checks.Severity]int{}
		for _, f := range r.Findings[shown:] {
			lc[f.Severity]++
		}
		fmt.Fprintf(b, "\n_%s not shown (%s, %s, %s); %s._\n",
			escape.Plural(left, "more finding"), escape.Plural(lc[checks.Error], "error"), escape.Plural(lc[checks.Warning], "warning"),
			escape.Plural(lc[checks.Notice], "notice"), lim.allFindings)
	}
}

// markdownPlatforms writes the platforms table.
func markdownPlatforms(b *bytes.Buffer, r *Report, lim markdownLimits) {
	if len(r.Platforms) == 0 {
		return
	}
	b.WriteString("\n### Platforms\n\n")
	var rows [][]string
	for i, p := range r.Platforms {
		if i == lim.platformRows {
			break
		}
		rows = append(rows, []string{escape.MarkdownCode(p.Platform), escape.MarkdownCode(p.Digest)})
	}
	shown := writeTable(b, []string{"Platform", "Digest"}, rows, lim.platforms)
	if left := len(r.Platforms) - shown; left > 0 {
		fmt.Fprintf(b, "\n_%s not shown._\n", escape.Plural(left, "more platform"))
	}
}

// markdownImpact writes the upgrade impact table.
func markdownImpact(b *bytes.Buffer, r *Report, lim markdownLimits) {
	if len(r.Impact) == 0 {
		return
	}
	b.WriteString("\n### Upgrade impact\n\n")
	b.WriteString("The plugin version that Docker Desktop offers, for each target Desktop API version, before and after this release.\n\n")
	header := []string{"Desktop API version", "Before", "After"}
	notes := false
	for _, im := range r.Impact[:min(len(r.Impact), lim.impactRows)] {
		notes = notes || im.Note != ""
	}
	if notes {
		header = append(header, "Note")
	}
	var rows [][]string
	for i, im := range r.Impact {
		if i == lim.impactRows {
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
	shown := writeTable(b, header, rows, lim.impact)
	if left := len(r.Impact) - shown; left > 0 {
		fmt.Fprintf(b, "\n_%s not shown._\n", escape.Plural(left, "more Desktop API version"))
	}
}

// markdownPush writes what the push did, target by target, each with the
// digest it resolves to now: the digest checked.
func markdownPush(b *bytes.Buffer, r *Report, lim markdownLimits) {
	if r.Push == nil {
		return
	}
	b.WriteString("\n### Push\n\n")
	fmt.Fprintf(b, "**%s**", escape.MarkdownCell(r.Push.Result))
	if r.Push.Message != "" {
		fmt.Fprintf(b, ": %s", escape.MarkdownCell(r.Push.Message))
	}
	b.WriteString("\n\n")
	var rows [][]string
	for i, t := range r.Push.Targets {
		if i == lim.platformRows {
			break
		}
		status := escape.MarkdownCell(t.Status)
		if t.Previous != "" {
			status += " (was " + escape.MarkdownCode(t.Previous) + ")"
		}
		digest := "—"
		if t.Digest != "" {
			digest = escape.MarkdownCode(t.Digest)
		}
		rows = append(rows, []string{escape.MarkdownCode(t.Ref), status, digest,
			fmt.Sprintf("%d / %d / %d", t.BlobsUploaded, t.BlobsMounted, t.BlobsPresent), HumanBytes(t.BytesSent)})
	}
	shown := writeTable(b, []string{"Target", "Status", "Digest", "Blobs uploaded / mounted / present", "Sent"}, rows, lim.platforms)
	if left := len(r.Push.Targets) - shown; left > 0 {
		fmt.Fprintf(b, "\n_%s not shown._\n", escape.Plural(left, "more target"))
	}
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
