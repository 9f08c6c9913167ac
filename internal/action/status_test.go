package action

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape/escapetest"
	"github.com/docker/desktop-plugin-check/internal/githubapi/githubtest"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/docker/desktop-plugin-check/source"
	"github.com/google/go-cmp/cmp"
)

const (
	testToken = "ghs_testtoken000000000000000000000000"
	headSHA   = "0123456789abcdef0123456789abcdef01234567"
	mergeSHA  = "fedcba9876543210fedcba9876543210fedcba98"
	pushSHA   = "1111111111111111111111111111111111111111"
)

const testDockerfile = `FROM alpine:3.22
LABEL org.opencontainers.image.title="Disk Usage" \
      org.opencontainers.image.vendor="Awesome Inc."
COPY metadata.json /
`

const testMetadata = `{
  "icon": "docker.svg",
  "ui": {
    "dashboard-tab": {"title": "x", "root": "/ui"}
  }
}
`

func prEvent(fork bool) string {
	head := "acme/disk-usage"
	if fork {
		head = "mallory/disk-usage"
	}
	return fmt.Sprintf(`{"number": 7, "pull_request": {"number": 7,
  "head": {"sha": %q, "repo": {"full_name": %q, "fork": %v}},
  "base": {"repo": {"full_name": "acme/disk-usage", "fork": false}}}}`, headSHA, head, fork)
}

// statusEnv is a runner's environment for the status, with the fake API.
type statusEnv struct {
	t      *testing.T
	env    map[string]string
	fake   *githubtest.Fake
	stdout string
	stderr string
}

// newStatusEnv returns the environment of a pull_request run (event "" for
// a push) whose API is the fake.
func newStatusEnv(t *testing.T, event string, fake *githubtest.Fake) *statusEnv {
	t.Helper()
	dir := t.TempDir()
	e := &statusEnv{t: t, fake: fake, env: map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/disk-usage", "GITHUB_SHA": mergeSHA,
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42", "GITHUB_EVENT_NAME": "pull_request",
		"GITHUB_OUTPUT": filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_WORKSPACE": filepath.Join(dir, "ws"),
		"INPUT_IMAGE":      "acme/disk-usage:1.0.0", "INPUT_GITHUB-TOKEN": testToken, "INPUT_ANNOTATIONS": "true",
	}}
	if err := os.Mkdir(e.env["GITHUB_WORKSPACE"], 0o755); err != nil {
		t.Fatal(err)
	}
	if event == "" {
		e.env["GITHUB_EVENT_NAME"], e.env["GITHUB_SHA"] = "push", pushSHA
		event = `{"ref": "refs/tags/v1.0.0"}`
	}
	e.env["GITHUB_EVENT_PATH"] = filepath.Join(dir, "event.json")
	if err := os.WriteFile(e.env["GITHUB_EVENT_PATH"], []byte(event), 0o644); err != nil {
		t.Fatal(err)
	}
	if fake != nil {
		e.env["GITHUB_API_URL"] = fake.Serve()
	}
	return e
}

func (e *statusEnv) getenv(k string) string { return e.env[k] }

// run is one run of the Action as the cli drives it: Read, StartCheckRun,
// then Finish with the report (nil: nothing could be checked). It returns
// the settings.
func (e *statusEnv) run(ctx context.Context, rep *report.Report, runErr error) *Settings {
	e.t.Helper()
	st, err := Read(e.getenv)
	if err != nil && runErr == nil {
		e.t.Fatalf("Read() = %v", err)
	}
	StartCheckRun(ctx, st, time.Minute)
	var out, errb bytes.Buffer
	Finish(ctx, e.getenv, st, rep, runErr, &out, &errb)
	e.stdout, e.stderr = out.String(), errb.String()
	return st
}

// outputs reads the step outputs.
func (e *statusEnv) outputs() map[string]string {
	e.t.Helper()
	raw, _ := os.ReadFile(e.env["GITHUB_OUTPUT"])
	out := map[string]string{}
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

// commands returns the workflow commands of stdout by level.
func (e *statusEnv) commands(level string) []string {
	var out []string
	for _, line := range strings.Split(e.stdout, "\n") {
		if strings.HasPrefix(line, "::"+level+" ") || strings.HasPrefix(line, "::"+level+"::") {
			out = append(out, line)
		}
	}
	return out
}

// newFake returns the fake API, as GitHub Enterprise Server serves it
// (go-github adds /api/v3 to any host but api.github.com, loopback too).
// statusWarnings returns the warnings about the pull-request status.
func (e *statusEnv) statusWarnings() []string {
	var out []string
	for _, w := range e.commands("warning") {
		if strings.Contains(w, "title=pull-request status::") {
			out = append(out, w)
		}
	}
	return out
}

func newFake(t *testing.T) *githubtest.Fake {
	f := githubtest.New(t, testToken, "acme", "disk-usage", 7)
	f.Prefix = "/api/v3"
	return f
}

// testReport is a failing report with n error findings on the Dockerfile's
// labels, a warning on metadata.json and a notice with no file.
func testReport(n int) *report.Report {
	rep := &report.Report{
		Image: "acme/disk-usage:1.0.0", Digest: "sha256:" + strings.Repeat("ab", 32), Release: "1.0.0", Profile: "extension",
		Result: report.ResultFail, FailOn: checks.Error,
		Platforms: []report.Platform{{Platform: "linux/amd64", Digest: "sha256:" + strings.Repeat("cd", 32)}},
		Impact:    []report.Impact{{DesktopAPIVersion: "0.4.2", Before: "0.9.0", After: "1.0.0"}},
		Sources: &source.Sources{DockerfilePath: "Dockerfile", Dockerfile: []byte(testDockerfile),
			MetadataPath: "metadata.json", Metadata: []byte(testMetadata)},
	}
	for i := 0; i < n; i++ {
		label := "org.opencontainers.image.title"
		if i%2 == 1 {
			label = "org.opencontainers.image.vendor"
		}
		rep.Findings = append(rep.Findings, checks.Finding{Rule: "labels/format", Severity: checks.Error,
			Message: fmt.Sprintf("finding %d", i), Label: label, Platform: "linux/amd64"})
	}
	rep.Findings = append(rep.Findings,
		checks.Finding{Rule: "metadata/schema", Severity: checks.Warning, Message: "src is required", Pointer: "/ui/dashboard-tab"},
		checks.Finding{Rule: "platforms/required", Severity: checks.Notice, Message: "no file for this one"})
	if n == 0 {
		rep.Result = report.ResultPass
	}
	return rep
}

// TestCheckRunCarriesEveryFinding: 120 errors become one check run, created
// in progress on the pull request's head commit and completed with every
// annotation, 50 per request; the log has one notice and no annotation of
// a finding; the comment is created.
func TestCheckRunCarriesEveryFinding(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	e := newStatusEnv(t, prEvent(false), fake)
	st := e.run(context.Background(), testReport(120), nil)

	runs := fake.CheckRuns()
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	cr := runs[0]
	if cr.Name != DefaultCheckName || cr.HeadSHA != headSHA || !cr.Started || cr.Status != "completed" || cr.Conclusion != "failure" {
		t.Errorf("check run = %+v, want %q on the head commit, started, completed with failure", cr, DefaultCheckName)
	}
	if diff := cmp.Diff([]int{50, 50, 21}, cr.AnnotationsPerBatch); diff != "" {
		t.Errorf("annotations per request mismatch (-want +got):\n%s", diff)
	}
	if cr.DetailsURL != "https://github.com/acme/disk-usage/actions/runs/42" {
		t.Errorf("details_url = %q", cr.DetailsURL)
	}
	failures := map[string]bool{}
	for _, a := range cr.Annotations {
		if a.AnnotationLevel == "failure" {
			failures[a.Message] = true
			if a.Path != "Dockerfile" || (a.StartLine != 2 && a.StartLine != 3) || a.StartColumn == nil {
				t.Errorf("label annotation %+v, want Dockerfile line 2 or 3 with columns", a)
			}
		}
	}
	for i := 0; i < 120; i++ {
		if !failures[fmt.Sprintf("[linux/amd64] finding %d", i)] {
			t.Errorf("error %d is not annotated", i)
		}
	}
	if cr.Title != "Failed: 120 errors, 1 warning, 1 notice" {
		t.Errorf("title = %q", cr.Title)
	}
	for _, want := range []string{"Docker Desktop plugin check: fail", "### Upgrade impact", "1 finding has no place in the repository's files"} {
		if !strings.Contains(cr.Summary, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if n := len(e.commands("error")) + len(e.commands("warning")); n != 0 {
		t.Errorf("%d workflow-command annotations besides the check run:\n%s", n, e.stdout)
	}
	notices := e.commands("notice")
	if len(notices) != 1 || !strings.Contains(notices[0], "https://github.example/acme/disk-usage/runs/") {
		t.Errorf("want one notice linking the check run, got:\n%s", e.stdout)
	}
	out := e.outputs()
	if out["check-run-url"] != st.CheckRunURL || !strings.HasPrefix(out["check-run-url"], "https://github.example/acme/disk-usage/runs/") ||
		!strings.Contains(out["comment-url"], "#issuecomment-") {
		t.Errorf("outputs = %v", out)
	}
	if cs := fake.Comments(); len(cs) != 1 || !strings.HasPrefix(cs[0].Body, commentMarker(DefaultCheckName)+"\n") {
		t.Errorf("comments = %+v, want one with the marker", cs)
	}
	if strings.Contains(e.stdout+e.stderr, testToken) {
		t.Error("the token reached the log")
	}
}

// TestCommentEditedInPlace: a second run edits the run's comment; a
// comment someone else wrote with the marker is left alone, on any page.
func TestCommentEditedInPlace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		login string // "" for an installation token
	}{{"GITHUB_TOKEN", ""}, {"personal access token", "octo-maintainer"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			fake.Login, fake.PageSize = tc.login, 2
			marker := commentMarker(DefaultCheckName)
			fake.AddComment("mallory", false, marker+"\nspoofed: pass")
			fake.AddComment("other-app[bot]", tc.login == "", "unrelated")
			fake.AddComment("someone", false, "LGTM")
			e := newStatusEnv(t, prEvent(false), fake)
			e.run(context.Background(), testReport(3), nil)
			first := e.outputs()["comment-url"]
			e.run(context.Background(), testReport(0), nil)
			second := e.outputs()["comment-url"]

			var ours []githubtest.Comment
			for _, c := range fake.Comments() {
				if c.Login == "mallory" && c.Body != marker+"\nspoofed: pass" {
					t.Errorf("the spoofed comment was edited: %q", c.Body)
				}
				if c.Login != "mallory" && strings.HasPrefix(c.Body, marker) {
					ours = append(ours, c)
				}
			}
			if len(ours) != 1 || ours[0].Edits != 1 || first != second {
				t.Fatalf("comments of the runs = %+v (urls %q, %q), want one, edited once", ours, first, second)
			}
			if !strings.Contains(ours[0].Body, "Docker Desktop plugin check: pass") {
				t.Errorf("the comment does not hold the second run's result:\n%s", ours[0].Body)
			}
			if runs := fake.CheckRuns(); len(runs) != 2 || runs[1].Conclusion != "success" || runs[1].Title != "Passed: 0 errors, 1 warning, 1 notice" {
				t.Errorf("check runs = %+v", runs)
			}
		})
	}
}

// TestCommentOfAnotherApp: with an installation token, another app's
// comment that starts with the marker is not the run's: its edit is refused
// (403), and the run edits its own, or writes a new one.
func TestCommentOfAnotherApp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		ours  bool // an earlier run's comment exists too
		edits int  // of ours, after the run
	}{{"ours exists", true, 1}, {"only the other app's", false, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			fake.ForeignEdits = true
			marker := commentMarker(DefaultCheckName)
			fake.AddComment("other-app[bot]", true, marker+"\nsomething else")
			if tc.ours {
				fake.AddComment(githubtest.BotLogin, true, marker+"\nan earlier run")
			}
			e := newStatusEnv(t, prEvent(false), fake)
			e.run(context.Background(), testReport(0), nil)
			var mine []githubtest.Comment
			for _, c := range fake.Comments() {
				switch {
				case c.Login == "other-app[bot]" && (c.Body != marker+"\nsomething else" || c.Edits != 0):
					t.Errorf("the other app's comment was changed: %+v", c)
				case c.Login == githubtest.BotLogin:
					mine = append(mine, c)
				}
			}
			if len(mine) != 1 || mine[0].Edits != tc.edits || !strings.Contains(mine[0].Body, "Docker Desktop plugin check: pass") {
				t.Errorf("the run's comments = %+v, want one with this run's result, edited %d time(s)", mine, tc.edits)
			}
			if e.outputs()["comment-url"] == "" {
				t.Errorf("no comment-url output")
			}
		})
	}
}

// TestReadOnlyToken: a fork's read-only token posts nothing; the findings
// are annotated through workflow commands, and one warning says what could
// not be posted and which permissions are missing.
func TestReadOnlyToken(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	fake.ReadOnly = true
	e := newStatusEnv(t, prEvent(true), fake)
	e.run(context.Background(), testReport(12), nil)
	if runs := fake.CheckRuns(); len(runs) != 0 {
		t.Errorf("check runs = %+v, want none", runs)
	}
	warnings := e.statusWarnings()
	if len(warnings) != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", len(warnings), e.stdout)
	}
	for _, want := range []string{"checks: write", "pull-requests: write", "403 Resource not accessible by integration",
		"fork mallory/disk-usage", "annotated through workflow commands instead", "result is unchanged"} {
		if !strings.Contains(warnings[0], want) {
			t.Errorf("the warning lacks %q: %s", want, warnings[0])
		}
	}
	if n := len(e.commands("error")); n != 10 {
		t.Errorf("%d error annotations, want the github format's 10:\n%s", n, e.stdout)
	}
	if out := e.outputs(); out["check-run-url"] != "" || out["comment-url"] != "" || out["result"] != "fail" {
		t.Errorf("outputs = %v", out)
	}
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r, "POST /repos/acme/disk-usage/check-runs") && r != "POST /repos/acme/disk-usage/check-runs" {
			t.Errorf("unexpected request %s", r)
		}
	}
	if n := strings.Count(strings.Join(fake.Requests(), "\n"), "POST /repos/acme/disk-usage/check-runs"); n != 1 {
		t.Errorf("%d check run creations, want 1 (a refused token is not asked again)", n)
	}
}

// TestPushEvent: outside pull-request events the check run is on
// GITHUB_SHA and there is no comment.
func TestPushEvent(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	e := newStatusEnv(t, "", fake)
	e.run(context.Background(), testReport(2), nil)
	runs := fake.CheckRuns()
	if len(runs) != 1 || runs[0].HeadSHA != pushSHA {
		t.Fatalf("check runs = %+v, want one on %s", runs, pushSHA)
	}
	for _, r := range fake.Requests() {
		if strings.Contains(r, "comments") || strings.Contains(r, "/user") {
			t.Errorf("a push run asked for %s", r)
		}
	}
	if out := e.outputs(); out["comment-url"] != "" || out["check-run-url"] == "" {
		t.Errorf("outputs = %v", out)
	}
}

// TestStatusEndpoints: GitHub Enterprise Server through GITHUB_API_URL,
// and api.github.com by default.
func TestStatusEndpoints(t *testing.T) {
	t.Parallel()
	t.Run("GitHub Enterprise Server without /api/v3", func(t *testing.T) {
		t.Parallel()
		fake := newFake(t)
		e := newStatusEnv(t, prEvent(false), fake)
		e.env["GITHUB_API_URL"] = strings.TrimSuffix(e.env["GITHUB_API_URL"], "/api/v3")
		e.run(context.Background(), testReport(1), nil)
		if len(fake.CheckRuns()) != 1 || len(fake.Comments()) != 1 {
			t.Errorf("requests %v, want a check run and a comment", fake.Requests())
		}
	})
	t.Run("api.github.com", func(t *testing.T) {
		t.Parallel()
		fake := newFake(t)
		fake.Prefix = ""
		e := newStatusEnv(t, prEvent(false), fake)
		server := e.env["GITHUB_API_URL"]
		delete(e.env, "GITHUB_API_URL")
		st, err := Read(e.getenv)
		if err != nil {
			t.Fatal(err)
		}
		st.status.cfg.HTTPClient = githubtest.GitHubCom(t, server)
		StartCheckRun(context.Background(), st, time.Minute)
		var out, errb bytes.Buffer
		Finish(context.Background(), e.getenv, st, testReport(1), nil, &out, &errb)
		if len(fake.CheckRuns()) != 1 || len(fake.Comments()) != 1 || errb.Len() != 0 {
			t.Errorf("requests %v, stderr %s", fake.Requests(), errb.String())
		}
	})
	t.Run("plain http elsewhere", func(t *testing.T) {
		t.Parallel()
		e := newStatusEnv(t, prEvent(false), nil)
		e.env["GITHUB_API_URL"] = "http://ghes.example.com/api/v3"
		e.run(context.Background(), testReport(1), nil)
		w := e.statusWarnings()
		if len(w) != 1 || strings.Count(w[0], "refusing to send github-token over plain http") != 1 || len(e.commands("error")) != 1 {
			t.Errorf("want one warning and the fallback annotations:\n%s", e.stdout)
		}
	})
}

// TestStatusOfARunThatCouldNotCheck: the check run concludes failure (a
// neutral one would pass a required check), says why, and the comment says
// so too; an interrupted run's concludes cancelled.
func TestStatusOfARunThatCouldNotCheck(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	e := newStatusEnv(t, prEvent(false), fake)
	e.run(context.Background(), nil, fmt.Errorf("opening acme/disk-usage:1.0.0: 401 Unauthorized"))
	runs := fake.CheckRuns()
	if len(runs) != 1 || runs[0].Conclusion != "failure" || runs[0].Title != "Not checked: the check could not run" ||
		!strings.Contains(runs[0].Summary, "401 Unauthorized") {
		t.Errorf("check runs = %+v", runs)
	}
	if cs := fake.Comments(); len(cs) != 1 || !strings.Contains(cs[0].Body, "could not run") {
		t.Errorf("comments = %+v", cs)
	}

	ctx, cancel := context.WithCancel(context.Background())
	fake2 := newFake(t)
	e2 := newStatusEnv(t, "", fake2)
	st, _ := Read(e2.getenv)
	StartCheckRun(ctx, st, time.Minute)
	cancel()
	var out, errb bytes.Buffer
	Finish(ctx, e2.getenv, st, nil, context.Canceled, &out, &errb)
	if runs := fake2.CheckRuns(); len(runs) != 1 || runs[0].Conclusion != "cancelled" || runs[0].Status != "completed" {
		t.Errorf("check runs of an interrupted run = %+v, want one completed as cancelled", runs)
	}
}

// TestInputsRefusedStillPostAFailure: a run whose inputs are refused
// creates its check run completed, as failure.
func TestInputsRefusedStillPostAFailure(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	e := newStatusEnv(t, "", fake)
	delete(e.env, "INPUT_IMAGE")
	st, err := Read(e.getenv)
	if err == nil {
		t.Fatal("Read() without an image succeeded")
	}
	var out, errb bytes.Buffer
	Finish(context.Background(), e.getenv, st, nil, err, &out, &errb)
	if runs := fake.CheckRuns(); len(runs) != 1 || runs[0].Started || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Summary, "is required") {
		t.Errorf("check runs = %+v", runs)
	}
}

// TestStatusRetriesAndRecovers: a rate limit is waited out; a check run
// that could not be created in progress (an outage) is created completed.
func TestStatusRetriesAndRecovers(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	fake.Fail["POST /repos/acme/disk-usage/check-runs"] = &githubtest.Failure{Status: 502, Message: "Server Error", Times: 1}
	fake.Fail["POST /repos/acme/disk-usage/issues/7/comments"] = &githubtest.Failure{Status: 403, Message: "API rate limit exceeded", Times: 1,
		Header: func() map[string]string {
			return map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
				"X-RateLimit-Reset": strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)}
		}}
	e := newStatusEnv(t, prEvent(false), fake)
	e.run(context.Background(), testReport(60), nil)
	runs := fake.CheckRuns()
	if len(runs) != 1 || runs[0].Started || runs[0].Conclusion != "failure" || len(runs[0].Annotations) != 61 {
		t.Errorf("check runs = %+v, want one created completed with 61 annotations", runs)
	}
	if len(fake.Comments()) != 1 || len(e.statusWarnings()) != 0 {
		t.Errorf("comments %+v, log:\n%s", fake.Comments(), e.stdout)
	}
}

// TestAnnotationsOff: input annotations false posts the check run without
// annotations, and the summary says so.
func TestAnnotationsOff(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	e := newStatusEnv(t, "", fake)
	e.env["INPUT_ANNOTATIONS"] = "false"
	e.env["INPUT_CHECK-NAME"] = "plugin: acme/disk-usage --> <b>"
	e.run(context.Background(), testReport(2), nil)
	runs := fake.CheckRuns()
	if len(runs) != 1 || len(runs[0].Annotations) != 0 || runs[0].Name != "plugin: acme/disk-usage --> <b>" ||
		!strings.Contains(runs[0].Summary, "Annotations are off") {
		t.Errorf("check runs = %+v", runs)
	}
}

// TestPRCommentOff: input pr-comment false posts no comment.
func TestPRCommentOff(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	e := newStatusEnv(t, prEvent(false), fake)
	e.env["INPUT_PR-COMMENT"] = "false"
	e.run(context.Background(), testReport(1), nil)
	if len(fake.Comments()) != 0 || len(fake.CheckRuns()) != 1 {
		t.Errorf("requests %v", fake.Requests())
	}
}

// TestNoStatusWithoutToken: without github-token (or a commit) nothing is
// posted, and the findings are workflow-command annotations.
func TestNoStatusWithoutToken(t *testing.T) {
	t.Parallel()
	e := newStatusEnv(t, prEvent(false), nil)
	delete(e.env, "INPUT_GITHUB-TOKEN")
	st, err := Read(e.getenv)
	if err != nil || st.status != nil {
		t.Fatalf("Read() = %+v, %v: want no status", st, err)
	}
	if !strings.Contains(strings.Join(st.Args, " "), "--format github") {
		t.Errorf("args = %v, want the github format", st.Args)
	}
	e.env["INPUT_GITHUB-TOKEN"] = testToken
	if st, _ := Read(e.getenv); st.status == nil || !strings.Contains(strings.Join(st.Args, " "), "--format text") {
		t.Errorf("with a token: args = %v, want the text format (the check run annotates)", st.Args)
	}
}

func TestCheckRunAnnotation(t *testing.T) {
	t.Parallel()
	rep := testReport(0)
	col := func(n int) *int { return &n }
	tests := []struct {
		name    string
		finding checks.Finding
		want    *githubtest.Annotation
	}{
		{"label", checks.Finding{Rule: "labels/template", Severity: checks.Warning, Message: "template vendor", Label: "org.opencontainers.image.vendor"},
			&githubtest.Annotation{Path: "Dockerfile", StartLine: 3, EndLine: 3, StartColumn: col(7), EndColumn: col(37),
				AnnotationLevel: "warning", Title: "labels/template", Message: "template vendor", RawDetails: "label: org.opencontainers.image.vendor"}},
		{"pointer", checks.Finding{Rule: "metadata/schema", Severity: checks.Error, Message: "src", Pointer: "/ui/dashboard-tab", Platform: "linux/arm64"},
			&githubtest.Annotation{Path: "metadata.json", StartLine: 4, EndLine: 4, AnnotationLevel: "failure", Title: "metadata/schema",
				Message: "[linux/arm64] src", RawDetails: "JSON pointer: /ui/dashboard-tab"}},
		{"notice", checks.Finding{Rule: "host/binary-arch", Severity: checks.Notice, Message: "m", Path: "/metadata.json"},
			&githubtest.Annotation{Path: "metadata.json", StartLine: 1, EndLine: 1, AnnotationLevel: "notice", Title: "host/binary-arch",
				Message: "m", RawDetails: "path in the image: /metadata.json"}},
		{"no file", checks.Finding{Rule: "platforms/required", Severity: checks.Error, Message: "m"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := checkRunAnnotation(rep, tt.finding)
			var got *githubtest.Annotation
			if a != nil {
				got = &githubtest.Annotation{Path: a.GetPath(), StartLine: a.GetStartLine(), EndLine: a.GetEndLine(),
					StartColumn: a.StartColumn, EndColumn: a.EndColumn, AnnotationLevel: a.GetAnnotationLevel(),
					Title: a.GetTitle(), Message: a.GetMessage(), RawDetails: a.GetRawDetails()}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("checkRunAnnotation() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRepoRelative(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"Dockerfile", "Dockerfile", true},
		{"./docker/Dockerfile", "docker/Dockerfile", true},
		{"a/../metadata.json", "metadata.json", true},
		{"", "", false},
		{"/etc/passwd", "", false},
		{"../other/Dockerfile", "", false},
		{"..", "", false},
		{".", "", false},
	} {
		if got, ok := repoRelative(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("repoRelative(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestCommentMarker: the check's name can never end the hidden comment,
// and different names make different markers.
func TestCommentMarker(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for _, name := range append(escapetest.Hostile, DefaultCheckName, "a-b", "a_b", "-->", "--!>") {
		m := commentMarker(name)
		inner := strings.TrimSuffix(strings.TrimPrefix(m, "<!-- "), " -->")
		if strings.Contains(inner, "--") || strings.ContainsAny(inner, "<>\n\r") {
			t.Errorf("commentMarker(%q) = %q can end the comment", name, m)
		}
		if prev, dup := seen[m]; dup {
			t.Errorf("%q and %q share the marker %q", prev, name, m)
		}
		seen[m] = name
	}
}

// TestSummaryAndCommentLimits: however many and long the findings, the
// summary and the comment stay within GitHub's limits and say what they cut.
func TestSummaryAndCommentLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("<|`@\x1b", 2<<10)
	rep := testReport(0)
	rep.Result = report.ResultFail
	for i := 0; i < 3000; i++ {
		rep.Findings = append(rep.Findings, checks.Finding{Rule: "labels/format", Severity: checks.Error, Message: long,
			Label: "org.opencontainers.image.title", Platform: long})
	}
	fake := newFake(t)
	e := newStatusEnv(t, prEvent(false), fake)
	e.run(context.Background(), rep, nil)
	runs := fake.CheckRuns()
	if len(runs) != 1 {
		t.Fatalf("check runs %d", len(runs))
	}
	if len(runs[0].Summary) > maxSummaryChars || !strings.Contains(runs[0].Summary, "more findings not shown") ||
		!strings.Contains(runs[0].Summary, "2001 more findings not annotated") {
		t.Errorf("summary of %d bytes does not say what it cut:\n%s", len(runs[0].Summary), runs[0].Summary)
	}
	if n := len(runs[0].Annotations); n != maxCheckRunAnnotations {
		t.Errorf("%d annotations, want the cap %d", n, maxCheckRunAnnotations)
	}
	cs := fake.Comments()
	if len(cs) != 1 || len(cs[0].Body) > maxCommentChars || !strings.Contains(cs[0].Body, "more findings not shown") {
		t.Errorf("comment of %d bytes does not say what it cut", len(cs[0].Body))
	}
}
