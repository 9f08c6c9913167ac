// Package allowlist asks for a Docker Desktop plugin's Hub repository to be
// added to Docker Desktop's allow-list (DESIGN section 9): it reads the
// allow-list file from the GitHub repository that holds it, and unless the
// plugin is listed already, comments on the open request for it or opens
// one, as an issue or as a pull request that adds the entry, with the
// check's evidence in the body.
//
// Every value that comes from the image is escaped in the body; only the
// validated repository name appears raw, in the hidden marker that finds
// the request again.
package allowlist

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/internal/githubapi"
	"github.com/google/go-github/v60/github"
)

// Modes of a request.
const (
	// ModeIssue opens an issue that asks for the entry. It is the default.
	ModeIssue = "issue"
	// ModePullRequest opens a pull request that adds the entry.
	ModePullRequest = "pull-request"
)

// DefaultFile is the allow-list file's default path in its repository.
const DefaultFile = "allowlist.yaml"

// Actions that Submit reports in Outcome.Action.
const (
	// ActionListed: the repository is on the allow-list; nothing was written.
	ActionListed = "listed"
	// ActionCommented: an open request for the repository was found and a
	// comment with the new evidence added to it.
	ActionCommented = "commented"
	// ActionOpenedIssue: a new issue was opened.
	ActionOpenedIssue = "opened-issue"
	// ActionOpenedPullRequest: a branch, a commit adding the entry and a
	// pull request were made.
	ActionOpenedPullRequest = "opened-pull-request"
	// ActionDryRun: Config.DryRun was set and the repository is not listed;
	// Outcome.Message says what a real run would do and Outcome.Body holds
	// what it would send.
	ActionDryRun = "dry-run"
)

// ErrNoToken is returned, wrapped in a message that says which token and
// permissions are needed, when a request is to be written without a token.
var ErrNoToken = errors.New("no allow-list token")

// Request is what is known about the checked plugin image. Every string in
// it except Repository and RunURL is treated as untrusted (it comes from
// the image) and escaped in the body.
type Request struct {
	// Repository is the plugin's Docker Hub repository, NAMESPACE/NAME; a
	// docker.io/ or index.docker.io/ prefix and upper case are accepted and
	// normalised away. It is validated before any use.
	Repository string
	// Version is the release version checked.
	Version string
	// Digest is the digest of the image index or manifest checked.
	Digest string
	// Platforms are the variants checked ("linux/amd64").
	Platforms []string
	// APIConstraint is the Desktop extension API version the plugin needs,
	// as its label states it (">= 0.3.0").
	APIConstraint string
	// Result is the check's result; Submit refuses anything but "pass"
	// (empty is taken as pass).
	Result string
	// Counts are the numbers of findings by severity name ("error",
	// "warning", "notice"); nil to count Findings.
	Counts map[string]int
	// Findings are shown in a table, the most severe first, at most
	// MaxFindings of them.
	Findings []checks.Finding
	// RunURL links the workflow run:
	// GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID.
	RunURL string
}

// Config says where and how to ask.
type Config struct {
	// AllowlistRepo is the GitHub repository, OWNER/NAME, that holds the
	// allow-list.
	AllowlistRepo string
	// File is the allow-list file's path in that repository. The default
	// is DefaultFile.
	File string
	// Mode is ModeIssue or ModePullRequest. The default is ModeIssue.
	Mode string
	// Token authenticates to GitHub; it needs issues: write on
	// AllowlistRepo in issue mode, contents: write and pull-requests: write
	// in pull-request mode. It may be empty only for a dry run against a
	// public repository.
	Token string
	// APIURL is GitHub's REST API (GITHUB_API_URL). The default is
	// https://api.github.com/; any other host is taken as GitHub Enterprise
	// Server, and /api/v3/ is added when missing. A token is sent over
	// plain http only to a loopback host.
	APIURL string
	// DryRun reads but writes nothing: the Outcome says what would be done
	// and holds the body.
	DryRun bool
	// HTTPClient sends the requests. The default is a new http.Client;
	// the context passed to Submit bounds every request.
	HTTPClient *http.Client
}

// Outcome is what Submit did.
type Outcome struct {
	// Action is one of the Action constants.
	Action string
	// URL is the request (issue or pull request) opened or commented on; in
	// a dry run, the open request that would be commented on. It is empty
	// otherwise.
	URL string
	// Message says in a sentence what was done ("acme/plugin is already on
	// the allow-list in docker/allowlist"). It holds no value from the
	// image.
	Message string
	// Body is the markdown sent, or that would have been sent in a dry run:
	// the new request's body, or the comment. Empty when listed.
	Body string
}

// gitHubRepoPattern is a GitHub OWNER/NAME.
var gitHubRepoPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+$`)

// filePattern is an allow-list file path: plain segments, no "..".
var filePattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$`)

// Validate checks the configuration without using the network, so that a
// caller can reject bad settings before it runs the check. Submit calls it.
func (c Config) Validate() error {
	if !gitHubRepoPattern.MatchString(c.AllowlistRepo) || strings.HasSuffix(c.AllowlistRepo, "/.") || strings.HasSuffix(c.AllowlistRepo, "/..") {
		return fmt.Errorf("allow-list repository %q is not a GitHub repository OWNER/NAME", c.AllowlistRepo)
	}
	if c.File != "" && (!filePattern.MatchString(c.File) || strings.Contains(c.File, "..")) {
		return fmt.Errorf("allow-list file %q is not a relative path of plain names (letters, digits, ., _, -)", c.File)
	}
	switch c.Mode {
	case "", ModeIssue, ModePullRequest:
	default:
		return fmt.Errorf("allow-list mode %q is not %s or %s", c.Mode, ModeIssue, ModePullRequest)
	}
	return nil
}

// submitter is one Submit call.
type submitter struct {
	cfg         Config
	gh          *github.Client
	owner, name string
	repo        string // owner/name
	plugin      string // the normalised Hub repository
	req         Request
}

// Submit asks for req.Repository to be added to the allow-list in
// cfg.AllowlistRepo, after the check passed:
//
//  1. it reads cfg.File from the default branch of cfg.AllowlistRepo, and
//     when the repository is listed there, does nothing (ActionListed);
//  2. it looks through the open issues and pull requests for the oldest one
//     whose body holds this repository's hidden marker, and comments on it
//     with the new evidence (ActionCommented), whatever cfg.Mode;
//  3. else it opens an issue (ModeIssue) or, in ModePullRequest, creates or
//     reuses the branch desktop-plugin-check/allowlist/NAMESPACE/NAME,
//     commits the entry to cfg.File there unless the branch has it already
//     (creating the file when the default branch has none) and opens a
//     pull request.
//
// When the allow-list repository has issues disabled, step 2 looks through
// the open pull requests only, and ModeIssue fails. In ModeIssue a missing
// allow-list file is an error: it more likely names the wrong file, or one
// the token cannot read, than an empty allow-list.
//
// Requests refused for a rate limit are sent again after the limit resets,
// when that is within ctx's deadline. Errors say what was being done and,
// for 401, 403 and 404 answers, which token or permission is missing; they
// never hold the token.
func Submit(ctx context.Context, cfg Config, req Request) (*Outcome, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.File == "" {
		cfg.File = DefaultFile
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeIssue
	}
	plugin, err := parseRepository(req.Repository)
	if err != nil {
		return nil, err
	}
	if req.Result != "" && req.Result != "pass" {
		return nil, fmt.Errorf("not asking to add %s to the allow-list: the check's result is %q, not pass", plugin, escape.Clip(req.Result, 40))
	}
	if cfg.Token == "" && !cfg.DryRun {
		perm := "issues: write"
		if cfg.Mode == ModePullRequest {
			perm = "contents: write and pull-requests: write"
		}
		return nil, fmt.Errorf("%w: GITHUB_TOKEN cannot write to another repository, so asking %s to add %s needs allowlist-token: a personal access token or GitHub App token with %s on %s",
			ErrNoToken, cfg.AllowlistRepo, plugin, perm, cfg.AllowlistRepo)
	}
	gh, err := githubapi.NewClient(githubapi.Config{APIURL: cfg.APIURL, Token: cfg.Token, TokenName: "the allow-list token", HTTPClient: cfg.HTTPClient})
	if err != nil {
		return nil, err
	}
	owner, name, _ := strings.Cut(cfg.AllowlistRepo, "/")
	s := &submitter{cfg: cfg, gh: gh, owner: owner, name: name, repo: cfg.AllowlistRepo, plugin: plugin, req: req}
	return s.run(ctx)
}

func (s *submitter) run(ctx context.Context) (*Outcome, error) {
	var repo *github.Repository
	err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
		repo, r, err = s.gh.Repositories.Get(ctx, s.owner, s.name)
		return r, err
	})
	if err != nil {
		return nil, s.explain(err, "reading the allow-list repository "+s.repo, "read access (metadata: read)")
	}
	base := repo.GetDefaultBranch()
	if base == "" {
		return nil, fmt.Errorf("reading the allow-list repository %s: it has no default branch", s.repo)
	}

	file, err := s.readFile(ctx, base)
	if err != nil {
		return nil, err
	}
	if file.sha == "" && s.cfg.Mode == ModeIssue {
		// A pull request would create the file; an issue would ask for a
		// repository that might be listed in a file the token cannot read.
		return nil, fmt.Errorf("reading %s on branch %s of %s: not found, or the allow-list token cannot read it (it needs contents: read); check allowlist-file",
			s.cfg.File, base, s.repo)
	}
	listed, err := parseList(s.cfg.File, file.content)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s on branch %s)", err, s.repo, base)
	}
	for _, r := range listed {
		if r == s.plugin {
			return &Outcome{Action: ActionListed,
				Message: fmt.Sprintf("%s is already on the allow-list (%s in %s)", s.plugin, s.cfg.File, s.repo)}, nil
		}
	}

	// A repository that does not say has_issues has them.
	hasIssues := repo.HasIssues == nil || *repo.HasIssues
	open, err := s.findRequest(ctx, hasIssues)
	if err != nil {
		return nil, err
	}
	if open != nil {
		return s.comment(ctx, open)
	}
	if s.cfg.Mode == ModePullRequest {
		return s.openPullRequest(ctx, base, file)
	}
	if !hasIssues {
		return nil, fmt.Errorf("opening an issue in %s: the repository has issues disabled; set allowlist-mode to %s", s.repo, ModePullRequest)
	}
	return s.openIssue(ctx)
}

// fileAt is the allow-list file on one branch.
type fileAt struct {
	content []byte
	sha     string // the blob's SHA; "" when the file does not exist
}

// readFile reads the allow-list file on ref; a missing file is empty.
func (s *submitter) readFile(ctx context.Context, ref string) (*fileAt, error) {
	var fc *github.RepositoryContent
	var dir []*github.RepositoryContent
	err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
		fc, dir, r, err = s.gh.Repositories.GetContents(ctx, s.owner, s.name, s.cfg.File, &github.RepositoryContentGetOptions{Ref: ref})
		return r, err
	})
	doing := fmt.Sprintf("reading %s on branch %s of %s", s.cfg.File, ref, s.repo)
	switch {
	case githubapi.IsStatus(err, http.StatusNotFound):
		return &fileAt{}, nil
	case err != nil:
		return nil, s.explain(err, doing, "contents: read")
	case fc == nil || dir != nil || fc.GetType() != "file":
		return nil, fmt.Errorf("%s: it is not a file", doing)
	}
	content, err := fc.GetContent()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", doing, err)
	}
	return &fileAt{content: []byte(content), sha: fc.GetSHA()}, nil
}

// maxPages bounds the search for an open request: 100 pages of 100 open
// issues and pull requests.
const maxPages = 100

// openRequest is an open issue or pull request that asks for the entry.
type openRequest struct {
	number int
	url    string
	pr     bool
}

// findRequest returns the oldest open issue or pull request whose body
// holds the repository's marker, or nil. It lists the open issues (which
// include pull requests) page by page, or the open pull requests when the
// repository has issues disabled, rather than using the search API, which
// lags behind and needs other permissions.
func (s *submitter) findRequest(ctx context.Context, hasIssues bool) (*openRequest, error) {
	m := marker(s.plugin)
	list := github.ListOptions{PerPage: 100}
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("looking for an open request for %s in %s: more than %d open issues and pull requests", s.plugin, s.repo, maxPages*100)
		}
		var found []*openRequest
		var resp *github.Response
		err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
			found = found[:0]
			if hasIssues {
				var issues []*github.Issue
				issues, r, err = s.gh.Issues.ListByRepo(ctx, s.owner, s.name, &github.IssueListByRepoOptions{
					State: "open", Sort: "created", Direction: "asc", ListOptions: list})
				for _, is := range issues {
					if strings.Contains(is.GetBody(), m) {
						found = append(found, &openRequest{number: is.GetNumber(), url: is.GetHTMLURL(), pr: is.IsPullRequest()})
					}
				}
			} else {
				var pulls []*github.PullRequest
				pulls, r, err = s.gh.PullRequests.List(ctx, s.owner, s.name, &github.PullRequestListOptions{
					State: "open", Sort: "created", Direction: "asc", ListOptions: list})
				for _, pr := range pulls {
					if strings.Contains(pr.GetBody(), m) {
						found = append(found, &openRequest{number: pr.GetNumber(), url: pr.GetHTMLURL(), pr: true})
					}
				}
			}
			resp = r
			return r, err
		})
		if err != nil {
			perm := "issues: read"
			if !hasIssues {
				perm = "pull-requests: read"
			}
			return nil, s.explain(err, "looking for an open request in "+s.repo, perm)
		}
		if len(found) > 0 {
			return found[0], nil
		}
		if resp == nil || resp.NextPage == 0 {
			return nil, nil
		}
		list.Page = resp.NextPage
	}
}

// comment adds the new evidence to an open request.
func (s *submitter) comment(ctx context.Context, open *openRequest) (*Outcome, error) {
	kind, perm := "issue", "issues: write"
	if open.pr {
		kind, perm = "pull request", "pull-requests: write"
	}
	ref := fmt.Sprintf("%s#%d", s.repo, open.number)
	body := commentBody(s.plugin, s.req)
	if s.cfg.DryRun {
		return &Outcome{Action: ActionDryRun, URL: open.url, Body: body,
			Message: fmt.Sprintf("dry run: would comment on the open %s %s asking to add %s", kind, ref, s.plugin)}, nil
	}
	var c *github.IssueComment
	err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
		c, r, err = s.gh.Issues.CreateComment(ctx, s.owner, s.name, open.number, &github.IssueComment{Body: &body})
		return r, err
	})
	if err != nil {
		return nil, s.explain(err, "commenting on "+ref, perm)
	}
	url := c.GetHTMLURL()
	if url == "" {
		url = open.url
	}
	return &Outcome{Action: ActionCommented, URL: url, Body: body,
		Message: fmt.Sprintf("commented on the open %s %s asking to add %s", kind, ref, s.plugin)}, nil
}

// title is the title of a new request.
func (s *submitter) title() string { return "Add " + s.plugin + " to the allow-list" }

// openIssue opens a new issue.
func (s *submitter) openIssue(ctx context.Context) (*Outcome, error) {
	body := requestBody(s.plugin, s.repo, "", s.req)
	if s.cfg.DryRun {
		return &Outcome{Action: ActionDryRun, Body: body,
			Message: fmt.Sprintf("dry run: would open an issue in %s asking to add %s", s.repo, s.plugin)}, nil
	}
	title := s.title()
	var is *github.Issue
	err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
		is, r, err = s.gh.Issues.Create(ctx, s.owner, s.name, &github.IssueRequest{Title: &title, Body: &body})
		return r, err
	})
	if err != nil {
		return nil, s.explain(err, "opening an issue in "+s.repo, "issues: write")
	}
	return &Outcome{Action: ActionOpenedIssue, URL: is.GetHTMLURL(), Body: body,
		Message: fmt.Sprintf("opened issue %s#%d asking to add %s to the allow-list", s.repo, is.GetNumber(), s.plugin)}, nil
}

// branch is the pull request's branch for the repository. NAMESPACE/NAME
// stay two path components, so no two repositories share a branch.
func (s *submitter) branch() string { return "desktop-plugin-check/allowlist/" + s.plugin }

// openPullRequest makes or reuses the branch, commits the entry to it
// unless it is there already, and opens the pull request.
func (s *submitter) openPullRequest(ctx context.Context, base string, onBase *fileAt) (*Outcome, error) {
	body := requestBody(s.plugin, s.repo, s.cfg.File, s.req)
	branch := s.branch()
	// Compute the change first, so that a dry run reports a file it cannot
	// change.
	if _, err := addEntry(s.cfg.File, onBase.content, s.plugin); err != nil {
		return nil, err
	}
	if s.cfg.DryRun {
		return &Outcome{Action: ActionDryRun, Body: body,
			Message: fmt.Sprintf("dry run: would open a pull request in %s adding %s to %s (branch %s)", s.repo, s.plugin, s.cfg.File, branch)}, nil
	}

	// The branch: reused when an earlier run left it (its pull request
	// closed, or never opened), else made from the default branch's head.
	file := onBase
	err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
		_, r, err = s.gh.Git.GetRef(ctx, s.owner, s.name, "heads/"+branch)
		return r, err
	})
	switch {
	case githubapi.IsStatus(err, http.StatusNotFound):
		var head *github.Reference
		err := githubapi.Retry(ctx, func() (r *github.Response, err error) {
			head, r, err = s.gh.Git.GetRef(ctx, s.owner, s.name, "heads/"+base)
			return r, err
		})
		if err != nil {
			return nil, s.explain(err, fmt.Sprintf("reading the head of branch %s of %s", base, s.repo), "contents: read")
		}
		err = githubapi.Retry(ctx, func() (r *github.Response, err error) {
			_, r, err = s.gh.Git.CreateRef(ctx, s.owner, s.name, &github.Reference{
				Ref: github.String("refs/heads/" + branch), Object: &github.GitObject{SHA: head.Object.SHA}})
			return r, err
		})
		switch {
		case githubapi.IsStatus(err, http.StatusUnprocessableEntity):
			// A run at the same time made the branch: use it.
			if file, err = s.readFile(ctx, branch); err != nil {
				return nil, err
			}
		case err != nil:
			return nil, s.explain(err, fmt.Sprintf("creating branch %s in %s", branch, s.repo), "contents: write")
		}
	case err != nil:
		return nil, s.explain(err, fmt.Sprintf("reading branch %s of %s", branch, s.repo), "contents: read")
	default:
		if file, err = s.readFile(ctx, branch); err != nil {
			return nil, err
		}
	}

	listed, err := parseList(s.cfg.File, file.content)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s on branch %s)", err, s.repo, branch)
	}
	present := false
	for _, r := range listed {
		present = present || r == s.plugin
	}
	if !present {
		content, err := addEntry(s.cfg.File, file.content, s.plugin)
		if err != nil {
			return nil, fmt.Errorf("%w (on branch %s of %s)", err, branch, s.repo)
		}
		opts := &github.RepositoryContentFileOptions{
			Message: github.String(s.title()),
			Content: content,
			Branch:  github.String(branch),
		}
		if file.sha != "" {
			opts.SHA = github.String(file.sha)
		}
		err = githubapi.Retry(ctx, func() (r *github.Response, err error) {
			if file.sha == "" {
				_, r, err = s.gh.Repositories.CreateFile(ctx, s.owner, s.name, s.cfg.File, opts)
			} else {
				_, r, err = s.gh.Repositories.UpdateFile(ctx, s.owner, s.name, s.cfg.File, opts)
			}
			return r, err
		})
		if err != nil {
			return nil, s.explain(err, fmt.Sprintf("committing %s to branch %s of %s", s.cfg.File, branch, s.repo), "contents: write")
		}
	}

	var pr *github.PullRequest
	err = githubapi.Retry(ctx, func() (r *github.Response, err error) {
		pr, r, err = s.gh.PullRequests.Create(ctx, s.owner, s.name, &github.NewPullRequest{
			Title: github.String(s.title()), Head: github.String(branch), Base: github.String(base), Body: &body})
		return r, err
	})
	if err != nil {
		return nil, s.explain(err, fmt.Sprintf("opening a pull request from %s in %s", branch, s.repo), "pull-requests: write")
	}
	return &Outcome{Action: ActionOpenedPullRequest, URL: pr.GetHTMLURL(), Body: body,
		Message: fmt.Sprintf("opened pull request %s#%d adding %s to %s", s.repo, pr.GetNumber(), s.plugin, s.cfg.File)}, nil
}
