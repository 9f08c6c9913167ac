// Package githubtest is a strict, in-memory fake of the part of GitHub's
// REST API that the Action's pull-request status uses (check runs, the
// pull request's comments, the token's user), for one repository. It
// asserts the method, path, query, Authorization header and body of every
// request, enforces GitHub's rules (at most 50 annotations per request,
// relative annotation paths, start_line >= 1, end_line >= start_line,
// columns on one line only, valid levels and conclusions, the summary's and
// a comment's length), answers a read-only token's writes as GitHub does
// (403 "Resource not accessible by integration"), and fails the test on
// any request it does not expect.
package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// GitHub's limits, as its REST API documents them.
const (
	MaxAnnotationsPerRequest = 50
	MaxSummaryChars          = 65535
	MaxCommentChars          = 65536
	maxAnnotationTitle       = 255
	maxAnnotationMessage     = 64 << 10
)

// ReadOnlyMessage is GitHub's answer to a write with a read-only token (a
// forked pull request's GITHUB_TOKEN, a job without the permission).
const ReadOnlyMessage = "Resource not accessible by integration"

// BotLogin is the author of comments written with an installation token.
const BotLogin = "github-actions[bot]"

// Annotation is a check run annotation as the fake received it.
type Annotation struct {
	Path            string `json:"path"`
	StartLine       int    `json:"start_line"`
	EndLine         int    `json:"end_line"`
	StartColumn     *int   `json:"start_column,omitempty"`
	EndColumn       *int   `json:"end_column,omitempty"`
	AnnotationLevel string `json:"annotation_level"`
	Message         string `json:"message"`
	Title           string `json:"title,omitempty"`
	RawDetails      string `json:"raw_details,omitempty"`
}

// CheckRun is a check run the fake holds.
type CheckRun struct {
	ID                  int64
	Name, HeadSHA       string
	Status, Conclusion  string
	DetailsURL          string
	Title, Summary      string
	Annotations         []Annotation
	Started, Completed  bool
	Requests            int // creates and updates
	AnnotationsPerBatch []int
}

// Comment is an issue comment the fake holds.
type Comment struct {
	ID    int64
	Issue int
	Body  string
	Login string
	Bot   bool
	Edits int
}

// Failure is an error answer to the requests "METHOD /path" (without the
// API prefix or the query).
type Failure struct {
	Status  int
	Message string
	// Header returns headers to set, computed per request (reset times).
	Header func() map[string]string
	// Times is how many requests fail; 0 for all.
	Times int
}

// Fake is the fake API. Set its fields before Serve.
type Fake struct {
	T testing.TB
	// Prefix is the API's path prefix: "" as on api.github.com, "/api/v3"
	// on GitHub Enterprise Server.
	Prefix string
	// Token is the token every request must carry.
	Token       string
	Owner, Repo string
	// PullRequest is the pull request whose comments exist (0 for none).
	PullRequest int
	// ReadOnly answers every write 403 ReadOnlyMessage.
	ReadOnly bool
	// Login is the user of a personal access token; "" for an
	// installation token, which GET /user refuses and whose comments are
	// BotLogin's.
	Login string
	// PageSize caps the comments per page (default 100).
	PageSize int
	// ForeignEdits answers an edit of a bot comment the token did not
	// write 403, as GitHub answers an installation token editing another
	// app's comment, instead of failing the test.
	ForeignEdits bool
	// Fail answers matching requests with an error.
	Fail map[string]*Failure

	mu        sync.Mutex
	checkRuns []*CheckRun
	comments  []*Comment
	requests  []string
	nextID    int64
}

// New returns a fake for OWNER/REPO and the token, with pull request
// number pr.
func New(t testing.TB, token, owner, repo string, pr int) *Fake {
	return &Fake{T: t, Token: token, Owner: owner, Repo: repo, PullRequest: pr, Fail: map[string]*Failure{}, nextID: 1000}
}

// Serve starts the fake and returns its API URL (with the prefix).
func (f *Fake) Serve() string {
	srv := httptest.NewServer(f)
	f.T.Cleanup(srv.Close)
	return srv.URL + f.Prefix
}

// AddComment adds a comment by someone (a bot when bot is true).
func (f *Fake) AddComment(login string, bot bool, body string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.comments = append(f.comments, &Comment{ID: f.nextID, Issue: f.PullRequest, Body: body, Login: login, Bot: bot})
	return f.nextID
}

// CheckRuns returns copies of the check runs.
func (f *Fake) CheckRuns() []CheckRun {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []CheckRun
	for _, c := range f.checkRuns {
		cp := *c
		cp.Annotations = append([]Annotation(nil), c.Annotations...)
		cp.AnnotationsPerBatch = append([]int(nil), c.AnnotationsPerBatch...)
		out = append(out, cp)
	}
	return out
}

// Comments returns copies of the comments.
func (f *Fake) Comments() []Comment {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Comment
	for _, c := range f.comments {
		out = append(out, *c)
	}
	return out
}

// Requests returns the requests so far, as "METHOD /path?query".
func (f *Fake) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

var (
	checkRunPath    = regexp.MustCompile(`^/check-runs/([0-9]+)$`)
	issueComments   = regexp.MustCompile(`^/issues/([0-9]+)/comments$`)
	commentPath     = regexp.MustCompile(`^/issues/comments/([0-9]+)$`)
	commitSHA       = regexp.MustCompile(`^[0-9a-f]{40}$`)
	validLevels     = map[string]bool{"notice": true, "warning": true, "failure": true}
	validStatuses   = map[string]bool{"queued": true, "in_progress": true, "completed": true}
	validConclusion = map[string]bool{"action_required": true, "cancelled": true, "failure": true, "neutral": true,
		"success": true, "skipped": true, "stale": true, "timed_out": true}
)

// SplitPath cuts the API prefix off a request's path ("/repos/o/r/...")
// and says how the request is logged ("GET /repos/o/r/...?page=2"); ok is
// false when the path lacks the prefix.
func SplitPath(r *http.Request, prefix string) (p, logged string, ok bool) {
	p, ok = strings.CutPrefix(r.URL.Path, prefix+"/")
	p = "/" + p
	logged = r.Method + " " + p
	if r.URL.RawQuery != "" {
		logged += "?" + r.URL.RawQuery
	}
	return p, logged, ok
}

// ServeHTTP answers one request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, logged, ok := SplitPath(r, f.Prefix)
	f.requests = append(f.requests, logged)
	if !ok {
		f.unexpected(w, r, "a path without the API prefix "+f.Prefix)
		return
	}
	if got, want := r.Header.Get("Authorization"), "Bearer "+f.Token; got != want {
		f.T.Errorf("%s: Authorization = %q, want %q", logged, got, want)
		WriteJSON(w, 401, map[string]any{"message": "Bad credentials"})
		return
	}
	if fl := f.Fail[r.Method+" "+p]; fl != nil && fl.Times >= 0 {
		if fl.Times > 0 {
			if fl.Times--; fl.Times == 0 {
				fl.Times = -1
			}
		}
		if fl.Header != nil {
			for k, v := range fl.Header() {
				w.Header().Set(k, v)
			}
		}
		WriteJSON(w, fl.Status, map[string]any{"message": fl.Message})
		return
	}
	if r.Method == http.MethodGet && p == "/user" {
		f.noQuery(r)
		if f.Login == "" {
			WriteJSON(w, 403, map[string]any{"message": ReadOnlyMessage})
			return
		}
		WriteJSON(w, 200, map[string]any{"login": f.Login, "type": "User"})
		return
	}
	rest, ok := strings.CutPrefix(p, "/repos/"+f.Owner+"/"+f.Repo)
	if !ok {
		f.unexpected(w, r, "another repository")
		return
	}
	write := r.Method != http.MethodGet
	if write && f.ReadOnly {
		WriteJSON(w, 403, map[string]any{"message": ReadOnlyMessage,
			"documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run"})
		return
	}
	switch m := r.Method; {
	case m == http.MethodPost && rest == "/check-runs":
		f.createCheckRun(w, r)
	case m == http.MethodPatch && checkRunPath.MatchString(rest):
		id, _ := strconv.ParseInt(checkRunPath.FindStringSubmatch(rest)[1], 10, 64)
		f.updateCheckRun(w, r, id)
	case m == http.MethodGet && issueComments.MatchString(rest):
		n, _ := strconv.Atoi(issueComments.FindStringSubmatch(rest)[1])
		f.listComments(w, r, n)
	case m == http.MethodPost && issueComments.MatchString(rest):
		n, _ := strconv.Atoi(issueComments.FindStringSubmatch(rest)[1])
		f.createComment(w, r, n)
	case m == http.MethodPatch && commentPath.MatchString(rest):
		id, _ := strconv.ParseInt(commentPath.FindStringSubmatch(rest)[1], 10, 64)
		f.editComment(w, r, id)
	default:
		f.unexpected(w, r, "an endpoint the pull-request status does not use")
	}
}

// checkRunBody is a create or update request's body.
type checkRunBody struct {
	Name        *string `json:"name"`
	HeadSHA     *string `json:"head_sha"`
	DetailsURL  *string `json:"details_url"`
	Status      *string `json:"status"`
	Conclusion  *string `json:"conclusion"`
	StartedAt   *string `json:"started_at"`
	CompletedAt *string `json:"completed_at"`
	Output      *struct {
		Title       *string      `json:"title"`
		Summary     *string      `json:"summary"`
		Annotations []Annotation `json:"annotations"`
	} `json:"output"`
}

func (f *Fake) createCheckRun(w http.ResponseWriter, r *http.Request) {
	var b checkRunBody
	if !f.decode(w, r, &b) {
		return
	}
	f.noQuery(r)
	switch {
	case b.Name == nil || strings.TrimSpace(*b.Name) == "":
		f.invalid(w, r, "name is required")
		return
	case b.HeadSHA == nil || !commitSHA.MatchString(*b.HeadSHA):
		f.invalid(w, r, "head_sha is not a commit")
		return
	}
	f.nextID++
	cr := &CheckRun{ID: f.nextID, Name: *b.Name, HeadSHA: *b.HeadSHA, Status: "queued"}
	if !f.apply(w, r, cr, &b) {
		return
	}
	cr.Started = cr.Status == "in_progress"
	f.checkRuns = append(f.checkRuns, cr)
	WriteJSON(w, 201, f.checkRunJSON(cr))
}

func (f *Fake) updateCheckRun(w http.ResponseWriter, r *http.Request, id int64) {
	var b checkRunBody
	if !f.decode(w, r, &b) {
		return
	}
	f.noQuery(r)
	if b.HeadSHA != nil {
		f.invalid(w, r, "head_sha cannot be updated")
		return
	}
	var cr *CheckRun
	for _, c := range f.checkRuns {
		if c.ID == id {
			cr = c
		}
	}
	if cr == nil {
		f.T.Errorf("PATCH check run %d: no such check run", id)
		WriteJSON(w, 404, map[string]any{"message": "Not Found"})
		return
	}
	if b.Name != nil && *b.Name != cr.Name {
		f.T.Errorf("PATCH check run %d: renamed %q to %q", id, cr.Name, *b.Name)
	}
	if b.Status != nil && *b.Status != "completed" && cr.Status == "completed" {
		f.T.Errorf("PATCH check run %d: status %q after completed", id, *b.Status)
	}
	if f.apply(w, r, cr, &b) {
		WriteJSON(w, 200, f.checkRunJSON(cr))
	}
}

// apply checks a create or update body against GitHub's rules and applies
// it; it answers 422 and returns false when GitHub would refuse it.
func (f *Fake) apply(w http.ResponseWriter, r *http.Request, cr *CheckRun, b *checkRunBody) bool {
	if b.Status != nil && !validStatuses[*b.Status] {
		return f.invalid(w, r, "invalid status "+*b.Status)
	}
	if b.Conclusion != nil && !validConclusion[*b.Conclusion] {
		return f.invalid(w, r, "invalid conclusion "+*b.Conclusion)
	}
	if b.Status != nil && *b.Status == "completed" && b.Conclusion == nil {
		return f.invalid(w, r, "conclusion is required when status is completed")
	}
	if b.Conclusion != nil && b.CompletedAt == nil {
		return f.invalid(w, r, "completed_at is required with a conclusion")
	}
	for _, ts := range []*string{b.StartedAt, b.CompletedAt} {
		if ts != nil {
			if _, err := time.Parse(time.RFC3339, *ts); err != nil {
				return f.invalid(w, r, "timestamp "+*ts+" is not ISO 8601")
			}
		}
	}
	if o := b.Output; o != nil {
		if o.Title == nil || o.Summary == nil {
			return f.invalid(w, r, "output needs title and summary")
		}
		if n := utf8.RuneCountInString(*o.Summary); n > MaxSummaryChars {
			return f.invalid(w, r, fmt.Sprintf("output.summary is %d characters, more than %d", n, MaxSummaryChars))
		}
		if len(o.Annotations) > MaxAnnotationsPerRequest {
			return f.invalid(w, r, fmt.Sprintf("%d annotations in one request, more than %d", len(o.Annotations), MaxAnnotationsPerRequest))
		}
		for i, a := range o.Annotations {
			if msg := annotationProblem(a); msg != "" {
				return f.invalid(w, r, fmt.Sprintf("annotation %d: %s", i, msg))
			}
		}
	}
	cr.Requests++
	if b.Status != nil {
		cr.Status = *b.Status
	}
	if b.Conclusion != nil {
		cr.Conclusion = *b.Conclusion
	}
	if b.DetailsURL != nil {
		cr.DetailsURL = *b.DetailsURL
	}
	if cr.Status == "completed" {
		cr.Completed = true
	}
	if o := b.Output; o != nil {
		cr.Title, cr.Summary = *o.Title, *o.Summary
		cr.Annotations = append(cr.Annotations, o.Annotations...)
		cr.AnnotationsPerBatch = append(cr.AnnotationsPerBatch, len(o.Annotations))
	}
	return true
}

// annotationProblem says what GitHub would refuse in an annotation.
func annotationProblem(a Annotation) string {
	switch {
	case a.Path == "" || path.IsAbs(a.Path) || strings.HasPrefix(a.Path, "./") || a.Path != path.Clean(a.Path) ||
		a.Path == ".." || strings.HasPrefix(a.Path, "../") || strings.Contains(a.Path, `\`):
		return fmt.Sprintf("path %q is not relative to the repository root", a.Path)
	case a.StartLine < 1:
		return fmt.Sprintf("start_line %d is less than 1", a.StartLine)
	case a.EndLine < a.StartLine:
		return fmt.Sprintf("end_line %d is before start_line %d", a.EndLine, a.StartLine)
	case !validLevels[a.AnnotationLevel]:
		return fmt.Sprintf("annotation_level %q is not notice, warning or failure", a.AnnotationLevel)
	case a.Message == "" || len(a.Message) > maxAnnotationMessage:
		return fmt.Sprintf("message of %d bytes", len(a.Message))
	case utf8.RuneCountInString(a.Title) > maxAnnotationTitle || len(a.RawDetails) > maxAnnotationMessage:
		return "title or raw_details too long"
	case (a.StartColumn != nil || a.EndColumn != nil) && a.StartLine != a.EndLine:
		return "columns on an annotation of several lines"
	case a.StartColumn != nil && *a.StartColumn < 1, a.EndColumn != nil && a.StartColumn != nil && *a.EndColumn < *a.StartColumn:
		return "invalid columns"
	}
	return ""
}

func (f *Fake) checkRunJSON(cr *CheckRun) map[string]any {
	return map[string]any{"id": cr.ID, "name": cr.Name, "head_sha": cr.HeadSHA, "status": cr.Status,
		"html_url": fmt.Sprintf("https://github.example/%s/%s/runs/%d", f.Owner, f.Repo, cr.ID)}
}

func (f *Fake) commentJSON(c *Comment) map[string]any {
	typ := "User"
	if c.Bot {
		typ = "Bot"
	}
	return map[string]any{"id": c.ID, "body": c.Body, "user": map[string]any{"login": c.Login, "type": typ},
		"html_url": fmt.Sprintf("https://github.example/%s/%s/pull/%d#issuecomment-%d", f.Owner, f.Repo, c.Issue, c.ID)}
}

func (f *Fake) listComments(w http.ResponseWriter, r *http.Request, n int) {
	q := r.URL.Query()
	if q.Get("per_page") != "100" {
		f.T.Errorf("%s %s: per_page = %q, want 100", r.Method, r.URL, q.Get("per_page"))
	}
	for k := range q {
		if k != "per_page" && k != "page" {
			f.T.Errorf("%s %s: unexpected query %s", r.Method, r.URL, k)
		}
	}
	if n != f.PullRequest {
		f.T.Errorf("%s %s: comments of #%d, want #%d", r.Method, r.URL, n, f.PullRequest)
	}
	size := 100
	if f.PageSize > 0 {
		size = f.PageSize
	}
	page := 1
	if s := q.Get("page"); s != "" {
		page, _ = strconv.Atoi(s)
	}
	var items []*Comment
	for _, c := range f.comments {
		if c.Issue == n {
			items = append(items, c)
		}
	}
	out := []map[string]any{}
	from := (page - 1) * size
	for i := from; i >= 0 && i < len(items) && i < from+size; i++ {
		out = append(out, f.commentJSON(items[i]))
	}
	if from+size < len(items) {
		LinkNext(w, r, page)
	}
	WriteJSON(w, 200, out)
}

// commentBody is a comment's create or edit body.
type commentBody struct {
	Body *string `json:"body"`
}

func (f *Fake) checkCommentBody(w http.ResponseWriter, r *http.Request, b commentBody) bool {
	if b.Body == nil || *b.Body == "" {
		return f.invalid(w, r, "body is required")
	}
	if n := utf8.RuneCountInString(*b.Body); n > MaxCommentChars {
		return f.invalid(w, r, fmt.Sprintf("body is %d characters, more than %d", n, MaxCommentChars))
	}
	return true
}

func (f *Fake) author() (string, bool) {
	if f.Login != "" {
		return f.Login, false
	}
	return BotLogin, true
}

func (f *Fake) createComment(w http.ResponseWriter, r *http.Request, n int) {
	var b commentBody
	if !f.decode(w, r, &b) || !f.checkCommentBody(w, r, b) {
		return
	}
	f.noQuery(r)
	if n != f.PullRequest || n == 0 {
		f.T.Errorf("%s %s: comment on #%d, want #%d", r.Method, r.URL, n, f.PullRequest)
		WriteJSON(w, 404, map[string]any{"message": "Not Found"})
		return
	}
	f.nextID++
	login, bot := f.author()
	c := &Comment{ID: f.nextID, Issue: n, Body: *b.Body, Login: login, Bot: bot}
	f.comments = append(f.comments, c)
	WriteJSON(w, 201, f.commentJSON(c))
}

func (f *Fake) editComment(w http.ResponseWriter, r *http.Request, id int64) {
	var b commentBody
	if !f.decode(w, r, &b) || !f.checkCommentBody(w, r, b) {
		return
	}
	f.noQuery(r)
	for _, c := range f.comments {
		if c.ID != id {
			continue
		}
		if login, _ := f.author(); c.Login != login {
			if f.ForeignEdits && c.Bot {
				WriteJSON(w, 403, map[string]any{"message": ReadOnlyMessage})
				return
			}
			f.T.Errorf("PATCH comment %d: it is %s's, not the token's (%s)", id, c.Login, login)
		}
		c.Body = *b.Body
		c.Edits++
		WriteJSON(w, 200, f.commentJSON(c))
		return
	}
	f.T.Errorf("PATCH comment %d: no such comment", id)
	WriteJSON(w, 404, map[string]any{"message": "Not Found"})
}

// unexpected fails the test loudly.
func (f *Fake) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.T.Errorf("unexpected request %s %s (%s)", r.Method, r.URL, why)
	http.Error(w, "unexpected request", http.StatusInternalServerError)
}

// invalid fails the test, since the client broke one of GitHub's rules,
// and answers as GitHub does; it returns false.
func (f *Fake) invalid(w http.ResponseWriter, r *http.Request, msg string) bool {
	f.T.Errorf("%s %s: GitHub would refuse it: %s", r.Method, r.URL.Path, msg)
	WriteJSON(w, 422, map[string]any{"message": "Validation Failed", "errors": []map[string]any{{"message": msg}}})
	return false
}

func (f *Fake) noQuery(r *http.Request) {
	if r.URL.RawQuery != "" {
		f.T.Errorf("%s %s: unexpected query", r.Method, r.URL)
	}
}

// decode reads a JSON request body strictly; false (answered) when it is
// not one.
func (f *Fake) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.T.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.T.Errorf("%s %s: request body: %v", r.Method, r.URL.Path, err)
		WriteJSON(w, 400, map[string]any{"message": "Problems parsing JSON"})
		return false
	}
	return true
}

// WriteJSON answers with the status and v as JSON, as GitHub does.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// LinkNext points the answer's Link header at the page after page of the
// request's list, as GitHub pages lists.
func LinkNext(w http.ResponseWriter, r *http.Request, page int) {
	next := *r.URL
	next.Scheme, next.Host = "http", r.Host
	q := next.Query()
	q.Set("page", strconv.Itoa(page+1))
	next.RawQuery = q.Encode()
	w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
}

// GitHubCom returns an HTTP client that sends the requests for
// https://api.github.com to the test server at serverURL, so that tests
// exercise a client's default base URL; a request for any other host fails
// the test.
func GitHubCom(t testing.TB, serverURL string) *http.Client {
	target, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: toGitHubCom{t: t, target: target}}
}

type toGitHubCom struct {
	t      testing.TB
	target *url.URL
}

func (rt toGitHubCom) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "api.github.com" || r.URL.Scheme != "https" {
		rt.t.Errorf("request to %s, want https://api.github.com", r.URL)
		return nil, fmt.Errorf("unexpected host %s", r.URL.Host)
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = rt.target.Scheme, rt.target.Host
	return http.DefaultTransport.RoundTrip(r)
}
