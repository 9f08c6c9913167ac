package report

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
)

// maxAnnotations is how many annotations of one severity GitHub shows for a
// step (10 errors, 10 warnings and 10 notices; the rest are dropped
// silently).
const maxAnnotations = 10

// maxAnnotationBytes caps the message of one annotation; the job summary and
// the JSON report have the whole message.
const maxAnnotationBytes = 4096

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

	total := map[string]int{}
	for _, f := range findings {
		total[annotationCommand(f.Severity)]++
	}
	limit := map[string]int{"error": maxAnnotations, "warning": maxAnnotations, "notice": maxAnnotations}
	if total["error"] > maxAnnotations || total["warning"] > maxAnnotations || total["notice"] > maxAnnotations {
		limit["notice"]-- // leave room for the notice that counts the rest
	}

	ew := &errWriter{w: w}
	shown := map[string]int{}
	for _, f := range findings {
		cmd := annotationCommand(f.Severity)
		if shown[cmd] >= limit[cmd] {
			continue
		}
		shown[cmd]++
		ew.printf("%s\n", annotation(r.Sources, cmd, f))
	}
	var rest []string
	n := 0
	for _, cmd := range []string{"error", "warning", "notice"} {
		if k := total[cmd] - shown[cmd]; k > 0 {
			n += k
			rest = append(rest, escape.Plural(k, cmd))
		}
	}
	if n > 0 {
		more := "more findings are"
		if n == 1 {
			more = "more finding is"
		}
		msg := fmt.Sprintf("%d %s in the job summary (%s); GitHub shows %d annotations of each severity",
			n, more, strings.Join(rest, ", "), maxAnnotations)
		ew.printf("::notice title=%s::%s\n", escape.WorkflowProperty("desktop-plugin-check"), escape.WorkflowData(msg))
	}
	return ew.err
}

// annotation is the workflow command for one finding.
func annotation(src *Sources, cmd string, f checks.Finding) string {
	var props []string
	if file, line := Locate(src, f); file != "" {
		props = append(props, "file="+escape.WorkflowProperty(file))
		if line > 0 {
			props = append(props, "line="+strconv.Itoa(line))
		}
	}
	props = append(props, "title="+escape.WorkflowProperty(f.Rule))
	msg := f.Message
	if f.Platform != "" {
		msg = "[" + f.Platform + "] " + msg
	}
	return "::" + cmd + " " + strings.Join(props, ",") + "::" + escape.WorkflowData(escape.Display(msg, maxAnnotationBytes))
}

// annotationCommand is the workflow command for a severity.
func annotationCommand(s checks.Severity) string {
	switch s {
	case checks.Error:
		return "error"
	case checks.Warning:
		return "warning"
	}
	return "notice"
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

// maxErrorLines caps the error lines one run-error annotation carries.
const maxErrorLines = 20

// ErrorAnnotation is the one workflow command that reports why a run could
// not check: every line (messages from registries and archives are
// untrusted) shown with control and bidi characters escaped, at most
// maxErrorLines lines and maxAnnotationBytes in all.
func ErrorAnnotation(lines []string) string {
	if len(lines) > maxErrorLines {
		rest := len(lines) - maxErrorLines
		lines = append(lines[:maxErrorLines:maxErrorLines], fmt.Sprintf("(%d more)", rest))
	}
	shown := make([]string, len(lines))
	for i, l := range lines {
		shown[i] = strings.ReplaceAll(escape.Display(l, maxAnnotationBytes), "\n", `\n`)
	}
	msg := escape.Display(strings.Join(shown, "\n"), maxAnnotationBytes)
	return "::error title=" + escape.WorkflowProperty("desktop-plugin-check") + "::" + escape.WorkflowData(msg)
}
