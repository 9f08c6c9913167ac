package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/githubapi/githubtest"
	"github.com/docker/desktop-plugin-check/internal/imagetest"
)

// The pull-request status through the Action (issue 11): a real go-github
// client against githubtest's strict fake of GitHub's API.

const statusToken = "ghs_runnertoken0000000000000000000000"

// withGitHub gives the runner github-token and an API at the fake (as
// GitHub Enterprise Server serves it: go-github adds /api/v3 to any host
// but api.github.com).
func (r *runner) withGitHub(fake *githubtest.Fake) {
	fake.Prefix = "/api/v3"
	r.env["GITHUB_API_URL"] = fake.Serve()
	r.env["GITHUB_SHA"] = "fedcba9876543210fedcba9876543210fedcba98" // the merge commit
	r.env["INPUT_GITHUB-TOKEN"] = statusToken
	r.env["INPUT_CHECK-NAME"] = "Desktop plugin check"
	r.env["INPUT_PR-COMMENT"] = "true"
}

// brokenPlugin pushes an image with more than 10 error findings, all on
// the repository's files: missing and malformed labels (the Dockerfile)
// and a metadata.json that misses its UI's fields.
func brokenPlugin(t *testing.T, r *runner) string {
	t.Helper()
	host := imagetest.Registry(t)
	labels := map[string]string{
		"org.opencontainers.image.title":           "Disk Usage",
		"com.docker.desktop.extension.api.version": ">= 0.3.4",
		"com.docker.extension.publisher-url":       "not a url",
		"com.docker.extension.screenshots":         "not json",
		"com.docker.extension.additional-urls":     "not json either",
		"com.docker.desktop.extension.icon":        "ftp://acme.example/icon",
	}
	broken := strings.NewReplacer(`"title": "My Plugin",`, ``, `"src": "index.html",`, ``, `"root": "/ui",`, ``,
		`"icon": "docker.svg",`, ``, `"windows": [{"path": "/windows/tool.cmd"}],`, ``).Replace(imagetest.PluginMetadata)
	ref := host + "/acme/disk-usage:1.0.0"
	imagetest.Push(t, ref, imagetest.Plugin(t, labels, broken, 256))
	if err := os.WriteFile(filepath.Join(r.workspace, "metadata.json"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	return ref
}

// jsonErrors returns the messages of the JSON report's error findings.
func (r *runner) jsonErrors() []string {
	r.t.Helper()
	var rep struct {
		Findings []struct{ Severity, Message, Platform string }
	}
	if err := json.Unmarshal([]byte(r.file(filepath.Join(r.workspace, ".desktop-plugin-check", "report.json"))), &rep); err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, f := range rep.Findings {
		if f.Severity == "error" {
			msg := f.Message
			if f.Platform != "" {
				msg = "[" + f.Platform + "] " + msg
			}
			out = append(out, msg)
		}
	}
	return out
}

// workflowCommands returns stdout's commands of the level.
func (r *runner) workflowCommands(level, title string) []string {
	var out []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "::"+level+" ") && (title == "" || strings.Contains(line, "title="+title+"::")) {
			out = append(out, line)
		}
	}
	return out
}

// TestActionCheckRunCarriesEveryError: more than 10 errors (GitHub shows
// 10 workflow-command annotations of a severity per step) make one check
// run on the pull request's head commit whose failure annotations cover
// every error; the log has one notice instead of the annotations, and a
// re-run edits the one comment.
func TestActionCheckRunCarriesEveryError(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t, statusToken, "acme", "disk-usage", 7)
	r := newRunner(t, nil)
	r.withGitHub(fake)
	r.env["INPUT_IMAGE"] = brokenPlugin(t, r)
	r.run()
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	errs := r.jsonErrors()
	t.Logf("the image has %d errors", len(errs))
	if len(errs) <= 10 {
		t.Fatalf("the image has %d errors, want more than 10", len(errs))
	}
	runs := fake.CheckRuns()
	if len(runs) != 1 {
		t.Fatalf("%d check runs, want 1", len(runs))
	}
	cr := runs[0]
	if cr.HeadSHA != "0123456789abcdef0123456789abcdef01234567" || cr.Conclusion != "failure" || !cr.Started {
		t.Errorf("check run on %s, conclusion %q, started %v: want the head commit, failure, started in progress", cr.HeadSHA, cr.Conclusion, cr.Started)
	}
	annotated := map[string]int{}
	for _, a := range cr.Annotations {
		if a.AnnotationLevel == "failure" {
			annotated[a.Message]++
		}
	}
	for _, msg := range errs {
		if annotated[msg] == 0 {
			t.Errorf("error %q has no failure annotation", msg)
		}
		annotated[msg]--
	}
	if n := len(r.workflowCommands("error", "")); n != 0 {
		t.Errorf("%d error annotations in the log besides the check run's:\n%s", n, r.stdout)
	}
	notices := r.workflowCommands("notice", "desktop-plugin-check")
	if len(notices) != 1 || !strings.Contains(notices[0], "https://github.example/acme/disk-usage/runs/") {
		t.Errorf("want one notice that links the check run:\n%s", r.stdout)
	}
	out := r.outputs()
	if !strings.HasPrefix(out["check-run-url"], "https://github.example/acme/disk-usage/runs/") || !strings.Contains(out["comment-url"], "#issuecomment-") {
		t.Errorf("outputs = %v", out)
	}

	r.run() // a new push to the pull request
	comments := fake.Comments()
	if len(comments) != 1 || comments[0].Edits != 1 {
		t.Errorf("comments after a re-run = %+v, want the one comment, edited", comments)
	}
	if len(fake.CheckRuns()) != 2 {
		t.Errorf("%d check runs after a re-run, want one per run", len(fake.CheckRuns()))
	}
	rest, masked := strings.CutPrefix(r.stdout, "::add-mask::"+statusToken+"\n")
	if !masked || strings.Contains(rest+r.stderr, statusToken) {
		t.Errorf("the token is not masked first, or reached the log:\n%s\n%s", r.stdout, r.stderr)
	}
}

// TestActionReadOnlyTokenKeepsTheResult: a fork's read-only token changes
// nothing of the result: exit 1, the findings annotated through workflow
// commands, and one warning that names the missing permissions.
func TestActionReadOnlyTokenKeepsTheResult(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t, statusToken, "acme", "disk-usage", 7)
	fake.ReadOnly = true
	r := newRunner(t, nil)
	r.withGitHub(fake)
	r.env["INPUT_IMAGE"] = brokenPlugin(t, r)
	r.run()
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (the check's own)\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	warnings := r.workflowCommands("warning", "pull-request status")
	if len(warnings) != 1 || !strings.Contains(warnings[0], "checks: write") || !strings.Contains(warnings[0], "pull-requests: write") {
		t.Errorf("want one warning naming checks: write and pull-requests: write:\n%s", r.stdout)
	}
	if n := len(r.workflowCommands("error", "")); n != 10 {
		t.Errorf("%d error annotations, want the fallback's 10:\n%s", n, r.stdout)
	}
	if out := r.outputs(); out["result"] != "fail" || out["check-run-url"] != "" || out["comment-url"] != "" {
		t.Errorf("outputs = %v", out)
	}
	if len(fake.CheckRuns()) != 0 || len(fake.Comments()) != 0 {
		t.Errorf("a read-only token posted: %v", fake.Requests())
	}
}

// TestActionPushEventCheckRun: outside a pull request (a tag's push) the
// check run is on GITHUB_SHA and there is no comment; a pass concludes
// success.
func TestActionPushEventCheckRun(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t, statusToken, "acme", "disk-usage", 0)
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/acme/disk-usage:1.0.0", imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 256))
	r := newRunner(t, map[string]string{"image": host + "/acme/disk-usage:1.0.0"})
	r.withGitHub(fake)
	r.env["GITHUB_EVENT_NAME"] = "push"
	if err := os.WriteFile(r.env["GITHUB_EVENT_PATH"], []byte(`{"ref": "refs/tags/v1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r.run()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	runs := fake.CheckRuns()
	if len(runs) != 1 || runs[0].HeadSHA != r.env["GITHUB_SHA"] || runs[0].Conclusion != "success" {
		t.Fatalf("check runs = %+v, want one success on GITHUB_SHA", runs)
	}
	for _, req := range fake.Requests() {
		if strings.Contains(req, "/comments") {
			t.Errorf("a push run asked for %s", req)
		}
	}
	if out := r.outputs(); out["comment-url"] != "" || out["check-run-url"] == "" {
		t.Errorf("outputs = %v", out)
	}
}

// TestActionCouldNotCheckFailsTheCheckRun: a run that could not check
// (the registry refuses) concludes its check run failure, exits 2, and
// says why in the summary.
func TestActionCouldNotCheckFailsTheCheckRun(t *testing.T) {
	t.Parallel()
	fake := githubtest.New(t, statusToken, "acme", "disk-usage", 7)
	r := newRunner(t, map[string]string{"image": "oci:does-not-exist"})
	r.withGitHub(fake)
	r.run()
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	runs := fake.CheckRuns()
	if len(runs) != 1 || runs[0].Conclusion != "failure" || !strings.Contains(runs[0].Summary, "could not run") {
		t.Errorf("check runs = %+v", runs)
	}
}
