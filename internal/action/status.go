package action

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/docker/desktop-plugin-check/internal/action/workflow"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/internal/githubapi"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/google/go-github/v60/github"
)

// The pull-request status is the check run and the pull-request comment,
// posted with github-token through go-github. Posting them never changes
// the check's result or exit code: what could not be posted is said in one
// warning, and the workflow-command annotations are the fallback.

// DefaultCheckName is the check run's name when input check-name is empty.
const DefaultCheckName = "Desktop plugin check"

// Permissions the token needs, as the workflow's permissions block says
// them.
const (
	permChecks       = "checks: write"
	permPullRequests = "pull-requests: write"
)

const (
	// requestTimeout bounds one request to GitHub's API.
	requestTimeout = time.Minute
	// defaultStatusTimeout bounds the posting of a run that could not read
	// its timeout (its inputs were refused).
	defaultStatusTimeout = 5 * time.Minute
	// interruptedTimeout bounds the completion of an interrupted run's
	// check run, which must not stay "in progress" on the pull request.
	interruptedTimeout = 30 * time.Second
)

// prStatus posts one run's pull-request status.
type prStatus struct {
	cfg         githubapi.Config
	owner, repo string
	// sha is the commit the check run is on: the pull request's head, or
	// GITHUB_SHA outside pull-request events.
	sha string
	// pr is the pull request's number, 0 outside pull-request events;
	// comment says whether to keep its comment.
	pr      int
	comment bool
	// fork says why the token may be read-only ("" when it should not be).
	fork string
	// runURL is the workflow run's page ("" when unknown).
	runURL  string
	timeout time.Duration

	gh        *github.Client
	clientErr error
	check     checkRun
}

// repoName is a GitHub owner or repository name.
var repoName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// commitSHA is a commit's full hex name (SHA-1 or SHA-256).
var commitSHA = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// newPRStatus says where the run's status goes: nil without a token, a
// repository (GITHUB_REPOSITORY) or a commit to post on.
func newPRStatus(getenv func(string) string, st *Settings, token string) *prStatus {
	owner, repo, _ := strings.Cut(getenv("GITHUB_REPOSITORY"), "/")
	if token == "" || !repoName.MatchString(owner) || !repoName.MatchString(repo) || repo == "." || repo == ".." {
		return nil
	}
	s := &prStatus{owner: owner, repo: repo, timeout: defaultStatusTimeout}
	if ev := ReadEvent(getenv); ev != nil && ev.PullRequest > 0 {
		s.sha, s.pr, s.fork = ev.HeadSHA, ev.PullRequest, ev.ForkReason()
	} else {
		s.sha = getenv("GITHUB_SHA")
	}
	if !commitSHA.MatchString(s.sha) {
		return nil
	}
	s.comment = st.PRComment && s.pr > 0
	if server, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_RUN_ID"); server != "" && id != "" {
		s.runURL = strings.TrimSuffix(server, "/") + "/" + owner + "/" + repo + "/actions/runs/" + id
	}
	s.cfg = githubapi.Config{APIURL: getenv("GITHUB_API_URL"), Token: token, TokenName: "github-token",
		HTTPClient: &http.Client{Timeout: requestTimeout}}
	return s
}

// client returns the go-github client, made on first use.
func (s *prStatus) client() (*github.Client, error) {
	if s.gh == nil && s.clientErr == nil {
		s.gh, s.clientErr = githubapi.NewClient(s.cfg)
	}
	return s.gh, s.clientErr
}

// StartCheckRun creates the check run, in progress, when the Action posts
// one. timeout bounds it, rate-limit waits included, and later the
// completion. A failure is kept for Finish to report.
func StartCheckRun(ctx context.Context, st *Settings, timeout time.Duration) {
	if st == nil || st.status == nil {
		return
	}
	s := st.status
	if timeout > 0 {
		s.timeout = timeout
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	gh, err := s.client()
	if err != nil {
		s.check.startErr = err
		return
	}
	s.check.start(ctx, gh, s, st.CheckName)
}

// post completes the check run and writes the comment, then says in the
// log where they are: one notice when the check run carries the
// annotations, else the workflow-command annotations and one warning that
// says what could not be posted and why. An interrupted run (ctx done) still
// completes its check run, within interruptedTimeout.
func (s *prStatus) post(ctx context.Context, st *Settings, rep *report.Report, runErr error, stdout, stderr io.Writer) {
	interrupted := ctx.Err() != nil
	limit := s.timeout
	if interrupted {
		limit = interruptedTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
	defer cancel()

	var problems []string
	refusedAny := false
	res := s.check.complete(ctx, s, st, rep, runErr, interrupted)
	st.CheckRunURL = s.check.url
	if _, err := s.client(); err != nil {
		problems = append(problems, "posting it: "+err.Error())
	} else {
		if res.err != nil {
			problems = append(problems, s.explain(res.doing, permChecks, res.err))
			refusedAny = refused(res.err)
		}
		if s.comment {
			url, err := s.writeComment(ctx, st, rep, runErr)
			st.CommentURL = url
			if err != nil {
				problems = append(problems, s.explain("writing the pull-request comment", permPullRequests, err))
				refusedAny = refusedAny || refused(err)
			}
		}
	}

	w := workflow.New(stdout)
	carried := res.err == nil
	if carried {
		msg := fmt.Sprintf("The check run %q has the result and %s: %s", st.CheckName, escape.Plural(res.annotated, "annotation"), st.CheckRunURL)
		if st.CommentURL != "" {
			msg += "; the pull-request comment: " + st.CommentURL
		}
		w.Annotate(workflow.Annotation{Level: workflow.Notice, Title: workflow.Title, Message: msg})
	} else if st.Annotations && rep != nil {
		if err := report.GitHub(stdout, rep); err != nil {
			fmt.Fprintf(stderr, "desktop-plugin-check: writing annotations: %v\n", err)
		}
	}
	if len(problems) > 0 {
		msg := s.warning(problems, refusedAny, carried, st.Annotations && rep != nil)
		fmt.Fprintf(stderr, "desktop-plugin-check: %s\n", escape.Terminal(msg))
		w.Annotate(workflow.Annotation{Level: workflow.Warning, Title: "pull-request status", Message: msg})
	}
}

// warning is the one warning about what could not be posted.
func (s *prStatus) warning(problems []string, refusedAny, carried, annotated bool) string {
	msg := "Could not post the pull-request status in full: " + strings.Join(problems, "; ") + "."
	switch {
	case refusedAny && s.fork != "":
		msg += " " + strings.ToUpper(s.fork[:1]) + s.fork[1:] + ", and GitHub gives such runs a read-only token."
	case refusedAny:
		msg += " Give the job `permissions: " + permChecks + ", " + permPullRequests + "`."
	}
	switch {
	case !carried && annotated:
		msg += " The findings are annotated through workflow commands instead, and the job summary has the report."
	case !carried:
		msg += " The job summary has the report."
	}
	msg += " The check's result is unchanged."
	return strings.ReplaceAll(msg, s.cfg.Token, "***") // never in GitHub's answers, but never printed
}

// explain says what could not be done and why: GitHub's answer and, when
// it refused, the permission the token needs.
func (s *prStatus) explain(doing, perm string, err error) string {
	if _, limited := githubapi.RateLimitWait(err); limited {
		return fmt.Sprintf("%s: GitHub's rate limit refused it for longer than this run can wait", doing)
	}
	code, answer, ok := githubapi.Answer(err)
	if !ok {
		return fmt.Sprintf("%s: %v", doing, err)
	}
	switch code {
	case http.StatusUnauthorized:
		return fmt.Sprintf("%s: GitHub refused github-token (%s): it is invalid or has expired", doing, answer)
	case http.StatusForbidden, http.StatusNotFound:
		return fmt.Sprintf("%s: GitHub refused it (%s): the token needs %s", doing, answer, perm)
	}
	return fmt.Sprintf("%s: GitHub answered %s", doing, answer)
}

// finishStatus posts the status when the run has one; Finish calls it
// before it writes the outputs, which carry the URLs.
func finishStatus(ctx context.Context, st *Settings, rep *report.Report, runErr error, stdout, stderr io.Writer) {
	if st.status != nil {
		st.status.post(ctx, st, rep, runErr, stdout, stderr)
	}
}
