package action

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/internal/githubapi"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/google/go-github/v60/github"
)

// GitHub's limits on a check run (REST API, "Create a check run").
const (
	// annotationsPerRequest is how many annotations one request may carry;
	// later updates append to them.
	annotationsPerRequest = 50
	// maxSummaryChars caps output.summary.
	maxSummaryChars = 65535
	// maxAnnotationTitle caps an annotation's title.
	maxAnnotationTitle = 255
)

const (
	// maxCheckRunAnnotations caps the annotations of one check run (20
	// requests), far above what a plugin's files can hold findings for;
	// the summary counts any left out.
	maxCheckRunAnnotations = 1000
	// maxAnnotationMessage caps an annotation's message (GitHub takes
	// 64 KiB; the reports carry the whole text).
	maxAnnotationMessage = 4096
	// summaryNotesBudget is what the summary keeps for its own notes after
	// the report.
	summaryNotesBudget = 2 << 10
)

// Check run conclusions.
//
// A run that could not check (unreachable registry, refused credentials, a
// corrupt image, bad inputs) concludes "failure", not "neutral": GitHub
// counts a neutral check as passing a required status check, so a branch
// protection rule would let an image that was never checked merge. The
// step fails too (exit code 2), and the output's title and summary say that
// the image was not checked and why. A run interrupted before it could
// check (the workflow was cancelled) concludes "cancelled".
const (
	conclusionSuccess   = "success"
	conclusionFailure   = "failure"
	conclusionCancelled = "cancelled"
)

// checkRun is the run's check run, once created.
type checkRun struct {
	id  int64
	url string
	// startErr is why it could not be created in progress.
	startErr error
}

// start creates the check run, in progress, on the status's commit.
func (c *checkRun) start(ctx context.Context, gh *github.Client, s *prStatus, name string) {
	c.startErr = c.create(ctx, gh, s, github.CreateCheckRunOptions{
		Name: name, HeadSHA: s.sha, Status: github.String("in_progress"),
		StartedAt: &github.Timestamp{Time: time.Now().UTC()},
	})
}

// create creates the check run, linked to the workflow run.
func (c *checkRun) create(ctx context.Context, gh *github.Client, s *prStatus, opts github.CreateCheckRunOptions) error {
	if s.runURL != "" {
		opts.DetailsURL = github.String(s.runURL)
	}
	var cr *github.CheckRun
	err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
		cr, r, err = gh.Checks.CreateCheckRun(ctx, s.owner, s.repo, opts)
		return r, err
	})
	if err != nil {
		return err
	}
	c.id, c.url = cr.GetID(), cr.GetHTMLURL()
	return nil
}

// completion is how the completion went: the annotations posted, and
// what failed (doing says what was being done).
type completion struct {
	annotated int
	doing     string
	err       error
}

// complete completes the check run with the conclusion, the title, the
// summary and the first annotations, then adds the rest, 50 per request.
// A check run that could not be created in progress is created completed,
// unless GitHub refused the token: that would only be refused again.
func (c *checkRun) complete(ctx context.Context, s *prStatus, st *Settings, rep *report.Report, runErr error, interrupted bool) completion {
	gh, err := s.client()
	if err != nil {
		return completion{doing: "posting the check run", err: err}
	}
	var anns []*github.CheckRunAnnotation
	var notes []string
	if rep != nil && st.Annotations {
		anns, notes = checkRunAnnotations(rep)
	} else if rep != nil && len(rep.Findings) > 0 {
		notes = append(notes, "_Annotations are off (input `annotations`): the report above lists the findings._")
	}
	conclusion := checkRunConclusion(rep, interrupted)
	title := checkRunTitle(rep, conclusion)
	summary := checkRunSummary(rep, runErr, notes)
	output := func(batch []*github.CheckRunAnnotation) *github.CheckRunOutput {
		return &github.CheckRunOutput{Title: github.String(title), Summary: github.String(summary), Annotations: batch}
	}
	first := anns[:min(len(anns), annotationsPerRequest)]
	now := &github.Timestamp{Time: time.Now().UTC()}

	if c.id == 0 {
		if c.startErr != nil && refused(c.startErr) {
			return completion{doing: fmt.Sprintf("creating the check run %q", st.CheckName), err: c.startErr}
		}
		err := c.create(ctx, gh, s, github.CreateCheckRunOptions{
			Name: st.CheckName, HeadSHA: s.sha, Status: github.String("completed"),
			Conclusion: github.String(conclusion), CompletedAt: now, Output: output(first),
		})
		if err != nil {
			return completion{doing: fmt.Sprintf("creating the check run %q", st.CheckName), err: err}
		}
	} else {
		opts := github.UpdateCheckRunOptions{Name: st.CheckName, Status: github.String("completed"),
			Conclusion: github.String(conclusion), CompletedAt: now, Output: output(first)}
		if err := c.update(ctx, gh, s, opts); err != nil {
			return completion{doing: fmt.Sprintf("completing the check run %q", st.CheckName), err: err}
		}
	}
	done := len(first)
	for done < len(anns) {
		batch := anns[done:min(len(anns), done+annotationsPerRequest)]
		if err := c.update(ctx, gh, s, github.UpdateCheckRunOptions{Name: st.CheckName, Output: output(batch)}); err != nil {
			return completion{annotated: done, err: err,
				doing: fmt.Sprintf("adding annotations %d to %d of %d to the check run %q", done+1, done+len(batch), len(anns), st.CheckName)}
		}
		done += len(batch)
	}
	return completion{annotated: done}
}

// update updates the check run.
func (c *checkRun) update(ctx context.Context, gh *github.Client, s *prStatus, opts github.UpdateCheckRunOptions) error {
	return githubapi.Retry(ctx, func() (r *github.Response, err error) {
		var cr *github.CheckRun
		cr, r, err = gh.Checks.UpdateCheckRun(ctx, s.owner, s.repo, c.id, opts)
		if err == nil && cr.GetHTMLURL() != "" {
			c.url = cr.GetHTMLURL()
		}
		return r, err
	})
}

// refused reports whether GitHub refused the token or its permissions,
// which asking again would not change.
func refused(err error) bool {
	for _, code := range []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound} {
		if githubapi.IsStatus(err, code) {
			return true
		}
	}
	return false
}

// checkRunConclusion is the conclusion of a run (see the conclusions).
func checkRunConclusion(rep *report.Report, interrupted bool) string {
	switch {
	case (rep == nil || rep.Result == report.ResultError) && interrupted:
		return conclusionCancelled
	case rep == nil || rep.Result != report.ResultPass:
		return conclusionFailure
	}
	return conclusionSuccess
}

// checkRunTitle is the output's title: the verdict and the counts.
func checkRunTitle(rep *report.Report, conclusion string) string {
	if rep == nil {
		if conclusion == conclusionCancelled {
			return "Not checked: the run was interrupted"
		}
		return "Not checked: the check could not run"
	}
	c := rep.Counts()
	counts := fmt.Sprintf("%s, %s, %s", escape.Plural(c[checks.Error], "error"),
		escape.Plural(c[checks.Warning], "warning"), escape.Plural(c[checks.Notice], "notice"))
	switch {
	case conclusion == conclusionCancelled:
		return "Not checked: the run was interrupted (" + counts + " so far)"
	case rep.Result == report.ResultError:
		return "Not checked: the check could not run to the end (" + counts + " so far)"
	case rep.Result == report.ResultFail:
		return "Failed: " + counts
	}
	return "Passed: " + counts
}

// checkRunSummary is the output's summary: the job summary's report,
// within GitHub's limit, and the notes.
func checkRunSummary(rep *report.Report, runErr error, notes []string) string {
	var b bytes.Buffer
	if rep == nil {
		b.WriteString(couldNotRun(runErr))
	} else if err := report.MarkdownWithin(&b, rep, maxSummaryChars-summaryNotesBudget); err != nil {
		b.Reset()
		b.WriteString("The report could not be rendered: the job summary has it.\n")
	}
	for _, n := range notes {
		b.WriteString("\n" + n + "\n")
	}
	return escape.Clip(b.String(), maxSummaryChars)
}

// couldNotRun is the markdown of a run that could not check.
func couldNotRun(runErr error) string {
	msg := "unknown error"
	if runErr != nil {
		msg = runErr.Error()
	}
	return fmt.Sprintf("### ⚠️ desktop-plugin-check could not run\n\n%s\n", escape.MarkdownCell(msg))
}

// checkRunAnnotations are the annotations of the findings that sit in the
// repository's files, the most severe first, and the notes on those left
// out.
func checkRunAnnotations(rep *report.Report) ([]*github.CheckRunAnnotation, []string) {
	findings := append([]checks.Finding(nil), rep.Findings...)
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].Severity > findings[j].Severity })
	var anns []*github.CheckRunAnnotation
	unplaced, over := 0, 0
	for _, f := range findings {
		a := checkRunAnnotation(rep, f)
		switch {
		case a == nil:
			unplaced++
		case len(anns) == maxCheckRunAnnotations:
			over++
		default:
			anns = append(anns, a)
		}
	}
	var notes []string
	switch {
	case unplaced == 1:
		notes = append(notes, "_1 finding has no place in the repository's files: it is in the report above, not annotated._")
	case unplaced > 1:
		notes = append(notes, fmt.Sprintf("_%d findings have no place in the repository's files: they are in the report above, not annotated._", unplaced))
	}
	if over > 0 {
		notes = append(notes, fmt.Sprintf("_%s not annotated: this check run carries at most %d annotations; the JSON report lists every finding._",
			escape.Plural(over, "more finding"), maxCheckRunAnnotations))
	}
	return anns, notes
}

// checkRunAnnotation is the annotation of one finding, nil when it has no
// file in the repository: the path relative to the repository root, the
// line (1 when not known), the columns when known (the label key's), the
// level of its severity, the rule as title, and the message (with its
// platform) and where in the image it is, as plain text.
func checkRunAnnotation(rep *report.Report, f checks.Finding) *github.CheckRunAnnotation {
	l := rep.Locate(f)
	p, ok := repoRelative(l.File)
	if !ok {
		return nil
	}
	line := max(l.Line, 1)
	msg := f.Message
	if f.Platform != "" {
		msg = "[" + f.Platform + "] " + msg
	}
	a := &github.CheckRunAnnotation{
		Path: github.String(p), StartLine: github.Int(line), EndLine: github.Int(line),
		AnnotationLevel: github.String(annotationLevel(f.Severity)),
		Title:           github.String(escape.Clip(escape.Display(f.Rule, maxAnnotationTitle), maxAnnotationTitle)),
		Message:         github.String(escape.Display(msg, maxAnnotationMessage)),
	}
	if l.Column > 0 {
		end := l.Column
		if f.Label != "" {
			end += utf8.RuneCountInString(f.Label) - 1
		}
		a.StartColumn, a.EndColumn = github.Int(l.Column), github.Int(max(end, l.Column))
	}
	var place []string
	for _, p := range []struct{ what, v string }{{"label", f.Label}, {"path in the image", f.Path}, {"JSON pointer", f.Pointer}} {
		if p.v != "" {
			place = append(place, p.what+": "+p.v)
		}
	}
	if len(place) > 0 {
		a.RawDetails = github.String(escape.Display(strings.Join(place, "\n"), maxAnnotationMessage))
	}
	return a
}

// repoRelative returns a file's path relative to the repository root, as
// annotations take it; ok is false for a path outside the repository.
func repoRelative(file string) (string, bool) {
	if file == "" {
		return "", false
	}
	p := path.Clean(file)
	if path.IsAbs(p) || p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	return p, true
}

// annotationLevel is the check run annotation level of a severity.
func annotationLevel(s checks.Severity) string {
	switch s {
	case checks.Error:
		return "failure"
	case checks.Warning:
		return "warning"
	}
	return "notice"
}
