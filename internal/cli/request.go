package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/docker/desktop-plugin-check/allowlist"
	"github.com/docker/desktop-plugin-check/internal/action"
	"github.com/docker/desktop-plugin-check/internal/action/workflow"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/report"
)

// allowlistOptions are the settings of the allow-list request.
type allowlistOptions struct {
	request bool
	cfg     allowlist.Config
}

// tokenEnv is where the CLI reads the allow-list token (the Action reads
// input allowlist-token).
const tokenEnv = "DESKTOP_PLUGIN_CHECK_ALLOWLIST_TOKEN"

// forkReason reads the event payload and says why the run comes from a
// forked pull request, or "" when it does not.
func forkReason(getenv func(string) string) string {
	return action.ReadEvent(getenv).ForkReason()
}

// requestAllowlist asks for the plugin's repository to be added to the
// allow-list, when asked to and the check passed. Its failure is reported
// beside the check's result, never instead of it. It returns the URL of the
// request opened or commented on.
func requestAllowlist(ctx context.Context, o *options, getenv func(string) string, rep *report.Report, action bool, stdout, stderr io.Writer) string {
	if !o.allowlist.request {
		return ""
	}
	say := func(level workflow.Level, msg string) {
		fmt.Fprintf(stderr, "desktop-plugin-check: allow-list request: %s\n", escape.Terminal(msg))
		if action {
			workflow.New(stdout).Annotate(workflow.Annotation{Level: level, Title: "allow-list request", Message: msg})
		}
	}
	if rep.Result != report.ResultPass {
		say(workflow.Notice, "skipped: the check did not pass")
		return ""
	}
	if why := forkReason(getenv); why != "" {
		say(workflow.Notice, "skipped: "+why)
		return ""
	}
	cfg := o.allowlist.cfg
	if cfg.APIURL == "" {
		cfg.APIURL = getenv("GITHUB_API_URL")
	}
	req := allowlist.Request{
		Repository: rep.Repository, Version: rep.Release, Digest: rep.Digest,
		APIConstraint: rep.APIVersion, Result: rep.Result, Findings: rep.Findings,
	}
	for _, p := range rep.Platforms {
		req.Platforms = append(req.Platforms, p.Platform)
	}
	if server, repo, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); server != "" && repo != "" && id != "" {
		req.RunURL = strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + id
	}
	// The request has its own deadline: a stalled GitHub must not hang the
	// step after the check is done.
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	cfg.HTTPClient = &http.Client{Timeout: time.Minute}
	out, err := allowlist.Submit(ctx, cfg, req)
	if err != nil {
		say(workflow.Warning, "failed: "+err.Error())
		return ""
	}
	say(workflow.Notice, out.Message)
	if cfg.DryRun && out.Body != "" {
		fmt.Fprintln(stderr, "--- request body (dry run, not sent) ---")
		for _, line := range strings.Split(out.Body, "\n") {
			fmt.Fprintln(stderr, escape.Terminal(line))
		}
		fmt.Fprintln(stderr, "---")
	}
	return out.URL
}
