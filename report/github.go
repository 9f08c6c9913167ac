package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/action/workflow"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/source"
)

// maxAnnotations is how many annotations of one severity GitHub shows for a
// step (10 errors, 10 warnings and 10 notices; the rest are dropped
// silently).
const maxAnnotations = 10

// GitHub writes one GitHub Actions workflow command per finding
// ("::error file=Dockerfile,line=14,title=labels/required::message"), which
// the runner turns into annotations on the repository's files (see Locate).
// Since GitHub shows only maxAnnotations per severity and step, the most
// severe are written first, at most maxAnnotations of each severity, and a
// final notice counts the rest and points at the job summary. It writes
// nothing else.
func GitHub(w io.Writer, r *Report) error {
	findings := make([]checks.Finding, len(r.Findings))
	copy(findings, r.Findings)
	sort.SliceStable(findings, func(i, j int) bool {
		return annotationRank(findings[i].Severity) > annotationRank(findings[j].Severity)
	})

	total := map[workflow.Level]int{}
	for _, f := range findings {
		total[annotationCommand(f.Severity)]++
	}
	limit := map[workflow.Level]int{workflow.Error: maxAnnotations, workflow.Warning: maxAnnotations, workflow.Notice: maxAnnotations}
	if total[workflow.Error] > maxAnnotations || total[workflow.Warning] > maxAnnotations || total[workflow.Notice] > maxAnnotations {
		limit[workflow.Notice]-- // leave room for the notice that counts the rest
	}

	cw := workflow.New(w)
	shown := map[workflow.Level]int{}
	for _, f := range findings {
		cmd := annotationCommand(f.Severity)
		if shown[cmd] >= limit[cmd] {
			continue
		}
		shown[cmd]++
		cw.Annotate(annotation(r.Sources, cmd, f))
	}
	var rest []string
	n := 0
	for _, cmd := range []workflow.Level{workflow.Error, workflow.Warning, workflow.Notice} {
		if k := total[cmd] - shown[cmd]; k > 0 {
			n += k
			rest = append(rest, escape.Plural(k, string(cmd)))
		}
	}
	if n > 0 {
		more := "more findings are"
		if n == 1 {
			more = "more finding is"
		}
		msg := fmt.Sprintf("%d %s in the job summary (%s); GitHub shows %d annotations of each severity",
			n, more, strings.Join(rest, ", "), maxAnnotations)
		cw.Annotate(workflow.Annotation{Level: workflow.Notice, Title: workflow.Title, Message: msg})
	}
	return cw.Err()
}

// annotation is the annotation of one finding.
func annotation(src *source.Sources, level workflow.Level, f checks.Finding) workflow.Annotation {
	a := workflow.Annotation{Level: level, Title: f.Rule, Message: f.Message}
	// No column: annotations show the line; SARIF carries the column.
	l := locate(src, f)
	a.File, a.Line = l.File, l.Line
	if f.Platform != "" {
		a.Message = "[" + f.Platform + "] " + a.Message
	}
	return a
}

// annotationCommand is the annotation level of a severity.
func annotationCommand(s checks.Severity) workflow.Level {
	switch s {
	case checks.Error:
		return workflow.Error
	case checks.Warning:
		return workflow.Warning
	}
	return workflow.Notice
}

// annotationRank orders severities as their annotations are written.
func annotationRank(s checks.Severity) int {
	switch s {
	case checks.Error:
		return 2
	case checks.Warning:
		return 1
	}
	return 0
}
