package allowlist

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	testToken = "ghp_TESTTOKEN0123456789abcdef"
	repoPath  = "/repos/docker/desktop-allowlist"
	listQuery = "?direction=asc&per_page=100&sort=created&state=open"
	prBranch  = "desktop-plugin-check/allowlist/acme/plugin"
	mainSHA   = "c0ffee0000000000000000000000000000000001"
	issuesURL = "https://github.example/docker/desktop-allowlist/issues/"
	pullURL   = "https://github.example/docker/desktop-allowlist/pull/"
)

// yamlList is an allow-list with comments, quoting and blank lines that a
// pull request must keep.
const yamlList = `# Docker Desktop plugin allow-list.
# One entry per Docker Hub repository.
- repository: docker/disk-usage-extension   # Docker
- repository: "portainer/portainer-docker-extension"
  added: 2022-05-10

# Community plugins below.
- repository: acme/other
`

const jsonList = `[
  {
    "repository": "docker/disk-usage-extension"
  },
  {
    "repository": "acme/other"
  }
]
`

func baseRequest() Request {
	return Request{
		Repository:    "acme/plugin",
		Version:       "1.2.0",
		Digest:        "sha256:" + strings.Repeat("ab", 32),
		Platforms:     []string{"linux/amd64", "linux/arm64"},
		APIConstraint: ">= 0.3.0",
		Result:        "pass",
		Counts:        map[string]int{"warning": 1},
		Findings: []checks.Finding{{Rule: "labels/screenshots", Severity: checks.Warning,
			Message: "fewer than 3 screenshots", Label: "com.docker.extension.screenshots"}},
		RunURL: "https://github.com/acme/plugin/actions/runs/42",
	}
}

// firstReads are the reads of every run that gets past the allow-list.
var firstReads = []string{
	"GET " + repoPath,
	"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
	"GET " + repoPath + "/issues" + listQuery,
}

func reads(extra ...string) []string { return append(append([]string(nil), firstReads...), extra...) }

func TestSubmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mode     string
		file     string
		noIssues bool
		dryRun   bool
		noToken  bool
		apiURL   func(server string) string
		prefix   string
		files    map[string]string
		refs     map[string]string
		issues   []fakeIssue
		pageSize int
		fail     map[string]*failure
		req      func(*Request)

		want         Outcome
		wantRequests []string
		wantWrites   []call
		// wantBranchFile is the allow-list file on the pull request's branch
		// afterwards.
		wantBranchFile string
	}{
		{
			name:         "first request, issue mode",
			files:        map[string]string{"main": yamlList},
			want:         Outcome{Action: ActionOpenedIssue, URL: issuesURL + "1", Message: "opened issue docker/desktop-allowlist#1 asking to add acme/plugin to the allow-list"},
			wantRequests: reads("POST " + repoPath + "/issues"),
			wantWrites:   []call{{Method: "POST", Path: repoPath + "/issues", Title: "Add acme/plugin to the allow-list"}},
		},
		{
			name:  "first request, pull-request mode, YAML keeps its text",
			mode:  ModePullRequest,
			files: map[string]string{"main": yamlList},
			want:  Outcome{Action: ActionOpenedPullRequest, URL: pullURL + "1", Message: "opened pull request docker/desktop-allowlist#1 adding acme/plugin to allowlist.yaml"},
			wantRequests: reads(
				"GET "+repoPath+"/git/ref/heads/"+prBranch,
				"GET "+repoPath+"/git/ref/heads/main",
				"POST "+repoPath+"/git/refs",
				"PUT "+repoPath+"/contents/allowlist.yaml",
				"POST "+repoPath+"/pulls"),
			wantWrites: []call{
				{Method: "POST", Path: repoPath + "/git/refs", Ref: "refs/heads/" + prBranch, SHA: mainSHA},
				{Method: "PUT", Path: repoPath + "/contents/allowlist.yaml", Message: "Add acme/plugin to the allow-list",
					SHA: blobSHA(yamlList), Branch: prBranch, Content: yamlList + "- repository: acme/plugin\n"},
				{Method: "POST", Path: repoPath + "/pulls", Title: "Add acme/plugin to the allow-list", Head: prBranch, Base: "main"},
			},
			wantBranchFile: yamlList + "- repository: acme/plugin\n",
		},
		{
			name:  "first request, pull-request mode, JSON stays JSON",
			mode:  ModePullRequest,
			file:  "data/allowlist.json",
			files: map[string]string{"main": jsonList},
			want:  Outcome{Action: ActionOpenedPullRequest, URL: pullURL + "1", Message: "opened pull request docker/desktop-allowlist#1 adding acme/plugin to data/allowlist.json"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/data/allowlist.json?ref=main",
				"GET " + repoPath + "/issues" + listQuery,
				"GET " + repoPath + "/git/ref/heads/" + prBranch,
				"GET " + repoPath + "/git/ref/heads/main",
				"POST " + repoPath + "/git/refs",
				"PUT " + repoPath + "/contents/data/allowlist.json",
				"POST " + repoPath + "/pulls",
			},
			wantWrites: []call{
				{Method: "POST", Path: repoPath + "/git/refs", Ref: "refs/heads/" + prBranch, SHA: mainSHA},
				{Method: "PUT", Path: repoPath + "/contents/data/allowlist.json", Message: "Add acme/plugin to the allow-list",
					SHA: blobSHA(jsonList), Branch: prBranch, Content: `[
  {
    "repository": "docker/disk-usage-extension"
  },
  {
    "repository": "acme/other"
  },
  {
    "repository": "acme/plugin"
  }
]
`},
				{Method: "POST", Path: repoPath + "/pulls", Title: "Add acme/plugin to the allow-list", Head: prBranch, Base: "main"},
			},
			wantBranchFile: strings.Replace(jsonList, "  }\n]", "  },\n  {\n    \"repository\": \"acme/plugin\"\n  }\n]", 1),
		},
		{
			name: "pull-request mode creates a missing allow-list file",
			mode: ModePullRequest,
			want: Outcome{Action: ActionOpenedPullRequest, URL: pullURL + "1", Message: "opened pull request docker/desktop-allowlist#1 adding acme/plugin to allowlist.yaml"},
			wantRequests: reads(
				"GET "+repoPath+"/git/ref/heads/"+prBranch,
				"GET "+repoPath+"/git/ref/heads/main",
				"POST "+repoPath+"/git/refs",
				"PUT "+repoPath+"/contents/allowlist.yaml",
				"POST "+repoPath+"/pulls"),
			wantWrites: []call{
				{Method: "POST", Path: repoPath + "/git/refs", Ref: "refs/heads/" + prBranch, SHA: mainSHA},
				{Method: "PUT", Path: repoPath + "/contents/allowlist.yaml", Message: "Add acme/plugin to the allow-list",
					Branch: prBranch, Content: "- repository: acme/plugin\n"},
				{Method: "POST", Path: repoPath + "/pulls", Title: "Add acme/plugin to the allow-list", Head: prBranch, Base: "main"},
			},
			wantBranchFile: "- repository: acme/plugin\n",
		},
		{
			name:  "pull-request mode reuses the branch of an earlier run that committed",
			mode:  ModePullRequest,
			files: map[string]string{"main": yamlList, prBranch: yamlList + "- repository: acme/plugin\n"},
			refs:  map[string]string{prBranch: "c0ffee0000000000000000000000000000000002"},
			want:  Outcome{Action: ActionOpenedPullRequest, URL: pullURL + "1", Message: "opened pull request docker/desktop-allowlist#1 adding acme/plugin to allowlist.yaml"},
			wantRequests: reads(
				"GET "+repoPath+"/git/ref/heads/"+prBranch,
				"GET "+repoPath+"/contents/allowlist.yaml?ref="+url.QueryEscape(prBranch),
				"POST "+repoPath+"/pulls"),
			wantWrites: []call{
				{Method: "POST", Path: repoPath + "/pulls", Title: "Add acme/plugin to the allow-list", Head: prBranch, Base: "main"},
			},
			wantBranchFile: yamlList + "- repository: acme/plugin\n",
		},
		{
			name:  "pull-request mode commits to a branch left without the entry",
			mode:  ModePullRequest,
			files: map[string]string{"main": yamlList, prBranch: "- repository: acme/other\n"},
			refs:  map[string]string{prBranch: "c0ffee0000000000000000000000000000000002"},
			want:  Outcome{Action: ActionOpenedPullRequest, URL: pullURL + "1", Message: "opened pull request docker/desktop-allowlist#1 adding acme/plugin to allowlist.yaml"},
			wantRequests: reads(
				"GET "+repoPath+"/git/ref/heads/"+prBranch,
				"GET "+repoPath+"/contents/allowlist.yaml?ref="+url.QueryEscape(prBranch),
				"PUT "+repoPath+"/contents/allowlist.yaml",
				"POST "+repoPath+"/pulls"),
			wantWrites: []call{
				{Method: "PUT", Path: repoPath + "/contents/allowlist.yaml", Message: "Add acme/plugin to the allow-list",
					SHA: blobSHA("- repository: acme/other\n"), Branch: prBranch, Content: "- repository: acme/other\n- repository: acme/plugin\n"},
				{Method: "POST", Path: repoPath + "/pulls", Title: "Add acme/plugin to the allow-list", Head: prBranch, Base: "main"},
			},
			wantBranchFile: "- repository: acme/other\n- repository: acme/plugin\n",
		},
		{
			name:  "pull-request mode uses the branch a run at the same time made",
			mode:  ModePullRequest,
			files: map[string]string{"main": yamlList, prBranch: yamlList},
			refs:  map[string]string{prBranch: mainSHA},
			fail:  map[string]*failure{"GET " + repoPath + "/git/ref/heads/" + prBranch: {status: 404, message: "Not Found", times: 1}},
			want:  Outcome{Action: ActionOpenedPullRequest, URL: pullURL + "1", Message: "opened pull request docker/desktop-allowlist#1 adding acme/plugin to allowlist.yaml"},
			wantRequests: reads(
				"GET "+repoPath+"/git/ref/heads/"+prBranch,
				"GET "+repoPath+"/git/ref/heads/main",
				"POST "+repoPath+"/git/refs",
				"GET "+repoPath+"/contents/allowlist.yaml?ref="+url.QueryEscape(prBranch),
				"PUT "+repoPath+"/contents/allowlist.yaml",
				"POST "+repoPath+"/pulls"),
			wantWrites: []call{
				{Method: "POST", Path: repoPath + "/git/refs", Ref: "refs/heads/" + prBranch, SHA: mainSHA},
				{Method: "PUT", Path: repoPath + "/contents/allowlist.yaml", Message: "Add acme/plugin to the allow-list",
					SHA: blobSHA(yamlList), Branch: prBranch, Content: yamlList + "- repository: acme/plugin\n"},
				{Method: "POST", Path: repoPath + "/pulls", Title: "Add acme/plugin to the allow-list", Head: prBranch, Base: "main"},
			},
			wantBranchFile: yamlList + "- repository: acme/plugin\n",
		},
		{
			name:  "an open request is commented on",
			files: map[string]string{"main": yamlList},
			issues: []fakeIssue{
				{Number: 1, Title: "Unrelated", Body: "Hello"},
				{Number: 2, Title: "Add acme/plugin to the allow-list", Body: marker("acme/plugin") + "\nold evidence"},
				{Number: 3, Title: "A newer duplicate", Body: marker("acme/plugin")},
			},
			want:         Outcome{Action: ActionCommented, URL: issuesURL + "2#issuecomment-77", Message: "commented on the open issue docker/desktop-allowlist#2 asking to add acme/plugin"},
			wantRequests: reads("POST " + repoPath + "/issues/2/comments"),
			wantWrites:   []call{{Method: "POST", Path: repoPath + "/issues/2/comments"}},
		},
		{
			name:     "an open request on page 2 is found",
			files:    map[string]string{"main": yamlList},
			pageSize: 2,
			issues: []fakeIssue{
				{Number: 1, Title: "Unrelated", Body: "Hello"},
				{Number: 2, Title: "Add acme/plugin2", Body: marker("acme/plugin2")},
				{Number: 3, Title: "Add acme/plugin", Body: "Evidence\n" + marker("acme/plugin")},
			},
			want: Outcome{Action: ActionCommented, URL: issuesURL + "3#issuecomment-77", Message: "commented on the open issue docker/desktop-allowlist#3 asking to add acme/plugin"},
			wantRequests: reads(
				"GET "+repoPath+"/issues?direction=asc&page=2&per_page=100&sort=created&state=open",
				"POST "+repoPath+"/issues/3/comments"),
			wantWrites: []call{{Method: "POST", Path: repoPath + "/issues/3/comments"}},
		},
		{
			name:         "an open pull request is commented on, in issue mode too",
			files:        map[string]string{"main": yamlList},
			issues:       []fakeIssue{{Number: 5, Title: "Add acme/plugin", Body: marker("acme/plugin"), PR: true}},
			want:         Outcome{Action: ActionCommented, URL: pullURL + "5#issuecomment-77", Message: "commented on the open pull request docker/desktop-allowlist#5 asking to add acme/plugin"},
			wantRequests: reads("POST " + repoPath + "/issues/5/comments"),
			wantWrites:   []call{{Method: "POST", Path: repoPath + "/issues/5/comments"}},
		},
		{
			name:  "markers of other repositories and escaped markers do not match",
			files: map[string]string{"main": yamlList},
			issues: []fakeIssue{
				{Number: 1, Body: marker("acme/plugins")},
				{Number: 2, Body: marker("acme/plugin2")},
				{Number: 3, Body: "&lt;!-- desktop-plugin-check:allowlist-request repository=acme/plugin --&gt;"},
				{Number: 4, Body: "`<!-- desktop-plugin-check:allowlist-request repository=acme/plugin`"},
			},
			want:         Outcome{Action: ActionOpenedIssue, URL: issuesURL + "5", Message: "opened issue docker/desktop-allowlist#5 asking to add acme/plugin to the allow-list"},
			wantRequests: reads("POST " + repoPath + "/issues"),
			wantWrites:   []call{{Method: "POST", Path: repoPath + "/issues", Title: "Add acme/plugin to the allow-list"}},
		},
		{
			name:     "issues disabled: open pull requests are searched",
			noIssues: true,
			mode:     ModePullRequest,
			files:    map[string]string{"main": yamlList},
			issues:   []fakeIssue{{Number: 7, Body: marker("acme/plugin"), PR: true}},
			want:     Outcome{Action: ActionCommented, URL: pullURL + "7#issuecomment-77", Message: "commented on the open pull request docker/desktop-allowlist#7 asking to add acme/plugin"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
				"GET " + repoPath + "/pulls" + listQuery,
				"POST " + repoPath + "/issues/7/comments",
			},
			wantWrites: []call{{Method: "POST", Path: repoPath + "/issues/7/comments"}},
		},
		{
			name:  "already listed",
			files: map[string]string{"main": yamlList + "- repository: acme/plugin\n"},
			want:  Outcome{Action: ActionListed, Message: "acme/plugin is already on the allow-list (allowlist.yaml in docker/desktop-allowlist)"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
			},
		},
		{
			name:  "already listed under docker.io/ in other case",
			mode:  ModePullRequest,
			files: map[string]string{"main": "- repository: docker.io/Acme/Plugin\n"},
			want:  Outcome{Action: ActionListed, Message: "acme/plugin is already on the allow-list (allowlist.yaml in docker/desktop-allowlist)"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
			},
		},
		{
			name:  "already listed, the request names index.docker.io/",
			file:  "allowlist.json",
			files: map[string]string{"main": `[{"repository": "acme/plugin"}]`},
			req:   func(r *Request) { r.Repository = "index.docker.io/ACME/plugin" },
			want:  Outcome{Action: ActionListed, Message: "acme/plugin is already on the allow-list (allowlist.json in docker/desktop-allowlist)"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.json?ref=main",
			},
		},
		{
			name:         "GitHub Enterprise Server, host URL",
			apiURL:       func(s string) string { return s },
			prefix:       "/api/v3",
			files:        map[string]string{"main": yamlList},
			want:         Outcome{Action: ActionOpenedIssue, URL: issuesURL + "1", Message: "opened issue docker/desktop-allowlist#1 asking to add acme/plugin to the allow-list"},
			wantRequests: reads("POST " + repoPath + "/issues"),
			wantWrites:   []call{{Method: "POST", Path: repoPath + "/issues", Title: "Add acme/plugin to the allow-list"}},
		},
		{
			name:   "GitHub Enterprise Server, GITHUB_API_URL",
			apiURL: func(s string) string { return s + "/api/v3" },
			prefix: "/api/v3",
			mode:   ModePullRequest,
			files:  map[string]string{"main": yamlList},
			want:   Outcome{Action: ActionOpenedPullRequest, URL: pullURL + "1", Message: "opened pull request docker/desktop-allowlist#1 adding acme/plugin to allowlist.yaml"},
			wantRequests: reads(
				"GET "+repoPath+"/git/ref/heads/"+prBranch,
				"GET "+repoPath+"/git/ref/heads/main",
				"POST "+repoPath+"/git/refs",
				"PUT "+repoPath+"/contents/allowlist.yaml",
				"POST "+repoPath+"/pulls"),
			wantWrites: []call{
				{Method: "POST", Path: repoPath + "/git/refs", Ref: "refs/heads/" + prBranch, SHA: mainSHA},
				{Method: "PUT", Path: repoPath + "/contents/allowlist.yaml", Message: "Add acme/plugin to the allow-list",
					SHA: blobSHA(yamlList), Branch: prBranch, Content: yamlList + "- repository: acme/plugin\n"},
				{Method: "POST", Path: repoPath + "/pulls", Title: "Add acme/plugin to the allow-list", Head: prBranch, Base: "main"},
			},
			wantBranchFile: yamlList + "- repository: acme/plugin\n",
		},
		{
			name:         "dry run without a token reads unauthenticated and would open an issue",
			dryRun:       true,
			noToken:      true,
			files:        map[string]string{"main": yamlList},
			want:         Outcome{Action: ActionDryRun, Message: "dry run: would open an issue in docker/desktop-allowlist asking to add acme/plugin"},
			wantRequests: reads(),
		},
		{
			name:         "dry run would comment",
			dryRun:       true,
			files:        map[string]string{"main": yamlList},
			issues:       []fakeIssue{{Number: 12, Body: marker("acme/plugin")}},
			want:         Outcome{Action: ActionDryRun, URL: issuesURL + "12", Message: "dry run: would comment on the open issue docker/desktop-allowlist#12 asking to add acme/plugin"},
			wantRequests: reads(),
		},
		{
			name:         "dry run, pull-request mode",
			dryRun:       true,
			mode:         ModePullRequest,
			files:        map[string]string{"main": yamlList},
			want:         Outcome{Action: ActionDryRun, Message: "dry run: would open a pull request in docker/desktop-allowlist adding acme/plugin to allowlist.yaml (branch " + prBranch + ")"},
			wantRequests: reads(),
		},
		{
			name:   "dry run, already listed",
			dryRun: true,
			files:  map[string]string{"main": "- repository: acme/plugin\n"},
			want:   Outcome{Action: ActionListed, Message: "acme/plugin is already on the allow-list (allowlist.yaml in docker/desktop-allowlist)"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
			},
		},
		{
			name:         "rate limited, retried after the reset",
			files:        map[string]string{"main": yamlList},
			fail:         map[string]*failure{"GET " + repoPath: rateLimited(1)},
			want:         Outcome{Action: ActionOpenedIssue, URL: issuesURL + "1", Message: "opened issue docker/desktop-allowlist#1 asking to add acme/plugin to the allow-list"},
			wantRequests: append([]string{"GET " + repoPath}, reads("POST "+repoPath+"/issues")...),
			wantWrites:   []call{{Method: "POST", Path: repoPath + "/issues", Title: "Add acme/plugin to the allow-list"}},
		},
		{
			name:  "secondary rate limit, retried after Retry-After",
			files: map[string]string{"main": yamlList},
			fail: map[string]*failure{"POST " + repoPath + "/issues": {status: 403, times: 1,
				message: "You have exceeded a secondary rate limit.",
				docURL:  "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
				header:  func() map[string]string { return map[string]string{"Retry-After": "1"} }}},
			want:         Outcome{Action: ActionOpenedIssue, URL: issuesURL + "1", Message: "opened issue docker/desktop-allowlist#1 asking to add acme/plugin to the allow-list"},
			wantRequests: reads("POST "+repoPath+"/issues", "POST "+repoPath+"/issues"),
			wantWrites:   []call{{Method: "POST", Path: repoPath + "/issues", Title: "Add acme/plugin to the allow-list"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.prefix, f.issues, f.pageSize, f.noIssues = tt.prefix, tt.issues, tt.pageSize, tt.noIssues
			if tt.file != "" {
				f.file = tt.file
			}
			for k, v := range tt.files {
				f.files[k] = v
			}
			for k, v := range tt.refs {
				f.refs[k] = v
			}
			if tt.fail != nil {
				f.fail = tt.fail
			}
			if tt.noToken {
				f.token = ""
			}
			cfg := f.serve(t, tt.apiURL)
			cfg.Mode, cfg.File, cfg.DryRun = tt.mode, tt.file, tt.dryRun
			req := baseRequest()
			if tt.req != nil {
				tt.req(&req)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			got, err := Submit(ctx, cfg, req)
			if err != nil {
				t.Fatalf("Submit() error: %v", err)
			}
			if diff := cmp.Diff(tt.want, *got, cmpopts.IgnoreFields(Outcome{}, "Body")); diff != "" {
				t.Errorf("Submit() mismatch (-want +got):\n%s", diff)
			}
			if strings.Contains(fmt.Sprintf("%+v", *got), testToken) {
				t.Errorf("Submit() outcome holds the token")
			}
			requests, writes := f.snapshot()
			if diff := cmp.Diff(tt.wantRequests, requests); diff != "" {
				t.Errorf("requests mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWrites, writes, cmpopts.IgnoreFields(call{}, "Body"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("writes mismatch (-want +got):\n%s", diff)
			}
			if tt.wantBranchFile != "" {
				if diff := cmp.Diff(tt.wantBranchFile, f.files[prBranch]); diff != "" {
					t.Errorf("allow-list on %s mismatch (-want +got):\n%s", prBranch, diff)
				}
				if diff := cmp.Diff(tt.files["main"], f.files["main"]); diff != "" {
					t.Errorf("allow-list on main changed (-want +got):\n%s", diff)
				}
			}

			// The body: sent as returned; a request's carries the marker
			// once, a comment's none.
			for _, w := range writes {
				if w.Body != "" && w.Body != got.Body {
					t.Errorf("%s %s sent a body other than Outcome.Body", w.Method, w.Path)
				}
			}
			switch got.Action {
			case ActionListed:
				if got.Body != "" {
					t.Errorf("Body = %q, want none when listed", got.Body)
				}
			case ActionCommented:
				if strings.Contains(got.Body, markerPrefix) {
					t.Errorf("comment body holds a marker:\n%s", got.Body)
				}
			case ActionOpenedIssue, ActionOpenedPullRequest:
				if n := strings.Count(got.Body, marker("acme/plugin")); n != 1 || !strings.HasPrefix(got.Body, marker("acme/plugin")) {
					t.Errorf("body holds the marker %d times, want once at the start:\n%s", n, got.Body)
				}
			}
			for _, s := range []string{"`1.2.0`", "`linux/arm64`", "&gt;= 0.3.0", "[workflow run](https://github.com/acme/plugin/actions/runs/42)", "fewer than 3 screenshots"} {
				if got.Action != ActionListed && !strings.Contains(got.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, got.Body)
				}
			}
		})
	}
}

// TestSubmitTwice runs the same request twice, as a re-run workflow does:
// the second run comments on the first run's request and opens none.
func TestSubmitTwice(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{ModeIssue, ModePullRequest} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.files["main"] = yamlList
			cfg := f.serve(t, nil)
			cfg.Mode = mode
			ctx := context.Background()

			first, err := Submit(ctx, cfg, baseRequest())
			if err != nil {
				t.Fatalf("first Submit() error: %v", err)
			}
			req := baseRequest()
			req.Version = "1.2.1"
			second, err := Submit(ctx, cfg, req)
			if err != nil {
				t.Fatalf("second Submit() error: %v", err)
			}
			if second.Action != ActionCommented || !strings.HasPrefix(second.URL, first.URL+"#") {
				t.Errorf("second Submit() = %+v, want a comment on %s", second, first.URL)
			}
			if !strings.Contains(second.Body, "### New version checked: `1.2.1`") {
				t.Errorf("comment lacks the new version:\n%s", second.Body)
			}
			if len(f.issues) != 1 {
				t.Errorf("%d requests open, want 1", len(f.issues))
			}
		})
	}
}

func TestSubmitErrors(t *testing.T) {
	t.Parallel()
	forbidden := func() *failure {
		return &failure{status: 403, message: "Resource not accessible by personal access token"}
	}
	tests := []struct {
		name     string
		mode     string
		dryRun   bool
		noToken  bool
		noIssues bool
		cfg      func(*Config)
		req      func(*Request)
		files    map[string]string
		issues   []fakeIssue
		fail     map[string]*failure
		deadline time.Duration

		wantIs       error
		wantErr      []string
		wantRequests []string
	}{
		{
			name:    "missing token",
			noToken: true,
			wantIs:  ErrNoToken,
			wantErr: []string{"no allow-list token: GITHUB_TOKEN cannot write to another repository", "allowlist-token", "issues: write on docker/desktop-allowlist"},
		},
		{
			name:    "missing token, pull-request mode",
			mode:    ModePullRequest,
			noToken: true,
			wantIs:  ErrNoToken,
			wantErr: []string{"GITHUB_TOKEN cannot write to another repository", "contents: write and pull-requests: write on docker/desktop-allowlist"},
		},
		{
			name:         "401: the token is invalid",
			fail:         map[string]*failure{"GET " + repoPath: {status: 401, message: "Bad credentials"}},
			wantErr:      []string{"reading the allow-list repository docker/desktop-allowlist: GitHub refused the allow-list token (401 Bad credentials): it is invalid or has expired"},
			wantRequests: []string{"GET " + repoPath},
		},
		{
			name:         "403 opening the issue",
			files:        map[string]string{"main": yamlList},
			fail:         map[string]*failure{"POST " + repoPath + "/issues": forbidden()},
			wantErr:      []string{"opening an issue in docker/desktop-allowlist: the allow-list token lacks permission (403 Resource not accessible by personal access token): it needs issues: write on docker/desktop-allowlist"},
			wantRequests: reads("POST " + repoPath + "/issues"),
		},
		{
			name:    "403 commenting on a pull request",
			files:   map[string]string{"main": yamlList},
			issues:  []fakeIssue{{Number: 2, Body: marker("acme/plugin"), PR: true}},
			fail:    map[string]*failure{"POST " + repoPath + "/issues/2/comments": forbidden()},
			wantErr: []string{"commenting on docker/desktop-allowlist#2: the allow-list token lacks permission", "it needs pull-requests: write on docker/desktop-allowlist"},
			wantRequests: reads(
				"POST " + repoPath + "/issues/2/comments"),
		},
		{
			name:    "403 creating the branch",
			mode:    ModePullRequest,
			files:   map[string]string{"main": yamlList},
			fail:    map[string]*failure{"POST " + repoPath + "/git/refs": forbidden()},
			wantErr: []string{"creating branch " + prBranch + " in docker/desktop-allowlist: the allow-list token lacks permission (403 Resource not accessible by personal access token): it needs contents: write on docker/desktop-allowlist"},
			wantRequests: reads(
				"GET "+repoPath+"/git/ref/heads/"+prBranch,
				"GET "+repoPath+"/git/ref/heads/main",
				"POST "+repoPath+"/git/refs"),
		},
		{
			name:    "403 opening the pull request",
			mode:    ModePullRequest,
			files:   map[string]string{"main": yamlList},
			fail:    map[string]*failure{"POST " + repoPath + "/pulls": forbidden()},
			wantErr: []string{"opening a pull request from " + prBranch + " in docker/desktop-allowlist: the allow-list token lacks permission", "it needs pull-requests: write on docker/desktop-allowlist"},
			wantRequests: reads(
				"GET "+repoPath+"/git/ref/heads/"+prBranch,
				"GET "+repoPath+"/git/ref/heads/main",
				"POST "+repoPath+"/git/refs",
				"PUT "+repoPath+"/contents/allowlist.yaml",
				"POST "+repoPath+"/pulls"),
		},
		{
			name:         "404: no such repository, or the token cannot see it",
			fail:         map[string]*failure{"GET " + repoPath: {status: 404, message: "Not Found"}},
			wantErr:      []string{"reading the allow-list repository docker/desktop-allowlist: docker/desktop-allowlist not found, or the allow-list token cannot see it (404 Not Found)"},
			wantRequests: []string{"GET " + repoPath},
		},
		{
			name:         "404 in a dry run without a token",
			dryRun:       true,
			noToken:      true,
			fail:         map[string]*failure{"GET " + repoPath: {status: 404, message: "Not Found"}},
			wantErr:      []string{"docker/desktop-allowlist not found, or it is private and no allow-list token was given"},
			wantRequests: []string{"GET " + repoPath},
		},
		{
			name:         "410: issues are disabled",
			files:        map[string]string{"main": yamlList},
			fail:         map[string]*failure{"POST " + repoPath + "/issues": {status: 410, message: "Issues are disabled for this repo"}},
			wantErr:      []string{"(410 Issues are disabled for this repo): issues may be disabled there; set allowlist-mode to pull-request"},
			wantRequests: reads("POST " + repoPath + "/issues"),
		},
		{
			name:     "issues disabled, issue mode",
			noIssues: true,
			files:    map[string]string{"main": yamlList},
			wantErr:  []string{"opening an issue in docker/desktop-allowlist: the repository has issues disabled; set allowlist-mode to pull-request"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
				"GET " + repoPath + "/pulls" + listQuery,
			},
		},
		{
			name: "rate limit that resets after the deadline",
			fail: map[string]*failure{"GET " + repoPath: {status: 403, message: "API rate limit exceeded",
				header: func() map[string]string {
					return map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800"} // 2100
				}}},
			deadline:     time.Minute,
			wantErr:      []string{"GitHub's rate limit for the allow-list token is used up until 2100-01-01T00:00:00Z"},
			wantRequests: []string{"GET " + repoPath},
		},
		{
			name:    "the check did not pass",
			req:     func(r *Request) { r.Result = "fail" },
			wantErr: []string{`not asking to add acme/plugin to the allow-list: the check's result is "fail", not pass`},
		},
		{
			name:    "plugin repository is not a Hub repository",
			req:     func(r *Request) { r.Repository = "acme/plugin --><img src=x>" },
			wantErr: []string{"is not a Docker Hub repository NAMESPACE/NAME"},
		},
		{
			name:    "allow-list repository is not OWNER/NAME",
			cfg:     func(c *Config) { c.AllowlistRepo = "docker/../x" },
			wantErr: []string{`allow-list repository "docker/../x" is not a GitHub repository OWNER/NAME`},
		},
		{
			name:    "token over plain http",
			cfg:     func(c *Config) { c.APIURL, c.HTTPClient = "http://ghes.example.com/api/v3", nil },
			wantErr: []string{`GitHub API URL "http://ghes.example.com/api/v3": refusing to send the allow-list token over plain http`},
		},
		{
			name:    "unknown mode",
			cfg:     func(c *Config) { c.Mode = "pr" },
			wantErr: []string{`allow-list mode "pr" is not issue or pull-request`},
		},
		{
			name:    "allow-list file outside the repository",
			cfg:     func(c *Config) { c.File = "../secrets.yaml" },
			wantErr: []string{`allow-list file "../secrets.yaml" is not a relative path`},
		},
		{
			name:    "allow-list file missing in issue mode",
			wantErr: []string{"reading allowlist.yaml on branch main of docker/desktop-allowlist: not found, or the allow-list token cannot read it (it needs contents: read); check allowlist-file"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
			},
		},
		{
			name:    "allow-list file is not a list",
			files:   map[string]string{"main": "plugins:\n  - repository: acme/plugin\n"},
			wantErr: []string{"reading allowlist.yaml: line 1: want a list of {repository: NAMESPACE/NAME} (in docker/desktop-allowlist on branch main)"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
			},
		},
		{
			name:    "allow-list entry without a repository",
			files:   map[string]string{"main": "- repository: a/b\n- name: acme/plugin\n"},
			wantErr: []string{"reading allowlist.yaml: line 2: an entry needs repository: NAMESPACE/NAME"},
			wantRequests: []string{
				"GET " + repoPath,
				"GET " + repoPath + "/contents/allowlist.yaml?ref=main",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t)
			f.issues, f.noIssues = tt.issues, tt.noIssues
			for k, v := range tt.files {
				f.files[k] = v
			}
			if tt.fail != nil {
				f.fail = tt.fail
			}
			if tt.noToken {
				f.token = ""
			}
			cfg := f.serve(t, nil)
			cfg.Mode, cfg.DryRun = tt.mode, tt.dryRun
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			req := baseRequest()
			if tt.req != nil {
				tt.req(&req)
			}
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}

			got, err := Submit(ctx, cfg, req)
			if err == nil {
				t.Fatalf("Submit() = %+v, want an error", got)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Submit() error %v, want errors.Is %v", err, tt.wantIs)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Submit() error\n%v\nlacks %q", err, s)
				}
			}
			if strings.Contains(err.Error(), testToken) {
				t.Errorf("Submit() error holds the token: %v", err)
			}
			requests, _ := f.snapshot()
			if diff := cmp.Diff(tt.wantRequests, requests, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
