package allowlist

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/githubapi/githubtest"
)

// fakeGitHub is the part of GitHub's REST API that Submit uses, for one
// repository, in memory. It asserts the method, path, query, Authorization
// header and request body of every request, and fails the test (and answers
// 500) on any request it does not expect.
type fakeGitHub struct {
	t *testing.T
	// prefix is the API's path prefix: "" for api.github.com, "/api/v3"
	// for GitHub Enterprise Server.
	prefix string
	// token is the token every request must carry; "" for none.
	token         string
	owner, name   string
	defaultBranch string
	// file is the allow-list file's path; files its content per branch
	// (absent: no such file on that branch).
	file  string
	files map[string]string
	// refs are the branches and their head commits.
	refs   map[string]string
	issues []fakeIssue
	// noIssues makes the repository one with issues disabled: the issue
	// endpoints answer 410.
	noIssues bool
	// pageSize caps the issues per page (default 100).
	pageSize int
	// fail answers matching requests ("METHOD /path", without prefix or
	// query) with an error.
	fail map[string]*failure

	mu       sync.Mutex
	requests []string
	writes   []call
}

// fakeIssue is an issue or pull request.
type fakeIssue struct {
	Number      int
	Title, Body string
	PR          bool
}

// failure is an error answer.
type failure struct {
	status  int
	message string
	// docURL is the error's documentation_url.
	docURL string
	// header returns headers to set (computed per request, for reset times).
	header func() map[string]string
	// times is how many requests fail; 0 for all.
	times int
}

// call is a write request as the fake understood it.
type call struct {
	Method, Path string
	Title, Body  string
	Ref, SHA     string
	Message      string
	Content      string
	Branch       string
	Head, Base   string
}

func newFake(t *testing.T) *fakeGitHub {
	return &fakeGitHub{
		t:             t,
		token:         testToken,
		owner:         "docker",
		name:          "desktop-allowlist",
		defaultBranch: "main",
		file:          "allowlist.yaml",
		files:         map[string]string{},
		refs:          map[string]string{"main": "c0ffee0000000000000000000000000000000001"},
		fail:          map[string]*failure{},
	}
}

func blobSHA(content string) string { return fmt.Sprintf("%x", sha1.Sum([]byte(content))) }

func (f *fakeGitHub) htmlURL(is fakeIssue) string {
	kind := "issues"
	if is.PR {
		kind = "pull"
	}
	return fmt.Sprintf("https://github.example/%s/%s/%s/%d", f.owner, f.name, kind, is.Number)
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.t
	p, logged, ok := githubtest.SplitPath(r, f.prefix)
	f.requests = append(f.requests, logged)
	if !ok {
		f.unexpected(w, r, "path without the API prefix "+f.prefix)
		return
	}
	want := ""
	if f.token != "" {
		want = "Bearer " + f.token
	}
	if got := r.Header.Get("Authorization"); got != want {
		t.Errorf("%s: Authorization = %q, want %q", logged, got, want)
	}
	if fl := f.fail[r.Method+" "+p]; fl != nil && fl.times >= 0 {
		if fl.times > 0 {
			fl.times--
			if fl.times == 0 {
				fl.times = -1
			}
		}
		if fl.header != nil {
			for k, v := range fl.header() {
				w.Header().Set(k, v)
			}
		}
		writeJSON(w, fl.status, map[string]any{"message": fl.message, "documentation_url": fl.docURL})
		return
	}

	repo := "/repos/" + f.owner + "/" + f.name
	rest, ok := strings.CutPrefix(p, repo)
	if !ok {
		f.unexpected(w, r, "another repository")
		return
	}
	switch {
	case r.Method == http.MethodGet && rest == "":
		f.noQuery(r)
		writeJSON(w, 200, map[string]any{"full_name": f.owner + "/" + f.name, "default_branch": f.defaultBranch, "has_issues": !f.noIssues})

	case f.noIssues && (rest == "/issues" || strings.HasPrefix(rest, "/issues?")):
		writeJSON(w, 410, map[string]any{"message": "Issues are disabled for this repo"})

	case r.Method == http.MethodGet && rest == "/contents/"+f.file:
		ref := r.URL.Query().Get("ref")
		if q := r.URL.Query(); len(q) != 1 || ref == "" {
			t.Errorf("%s: want exactly the query ref=BRANCH", logged)
		}
		content, ok := f.files[ref]
		if _, branch := f.refs[ref]; !ok || !branch {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		writeJSON(w, 200, map[string]any{"type": "file", "encoding": "base64", "path": f.file, "name": f.file,
			"sha": blobSHA(content), "content": base64.StdEncoding.EncodeToString([]byte(content))})

	case r.Method == http.MethodGet && (rest == "/issues" || rest == "/pulls"):
		q := r.URL.Query()
		pulls := rest == "/pulls"
		var items []fakeIssue
		for _, is := range f.issues {
			if is.PR || !pulls {
				items = append(items, is)
			}
		}
		for k, v := range map[string]string{"state": "open", "sort": "created", "direction": "asc", "per_page": "100"} {
			if q.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", logged, k, q.Get(k), v)
			}
		}
		size := 100
		if f.pageSize > 0 {
			size = f.pageSize
		}
		page := 1
		if s := q.Get("page"); s != "" {
			page, _ = strconv.Atoi(s)
		}
		var out []map[string]any
		from := (page - 1) * size
		for i := from; i < len(items) && i < from+size; i++ {
			is := items[i]
			m := map[string]any{"number": is.Number, "title": is.Title, "body": is.Body, "state": "open", "html_url": f.htmlURL(is)}
			if is.PR && !pulls {
				m["pull_request"] = map[string]any{"html_url": f.htmlURL(is)}
			}
			out = append(out, m)
		}
		if from+size < len(items) {
			githubtest.LinkNext(w, r, page)
		}
		if out == nil {
			out = []map[string]any{}
		}
		writeJSON(w, 200, out)

	case r.Method == http.MethodPost && rest == "/issues":
		var body struct{ Title, Body string }
		f.decode(r, &body)
		f.noQuery(r)
		is := fakeIssue{Number: f.nextNumber(), Title: body.Title, Body: body.Body}
		f.issues = append(f.issues, is)
		f.writes = append(f.writes, call{Method: r.Method, Path: p, Title: body.Title, Body: body.Body})
		writeJSON(w, 201, map[string]any{"number": is.Number, "html_url": f.htmlURL(is)})

	case r.Method == http.MethodPost && regexp.MustCompile(`^/issues/[0-9]+/comments$`).MatchString(rest):
		var body struct{ Body string }
		f.decode(r, &body)
		f.noQuery(r)
		n, _ := strconv.Atoi(strings.Split(rest, "/")[2])
		var found *fakeIssue
		for i := range f.issues {
			if f.issues[i].Number == n {
				found = &f.issues[i]
			}
		}
		if found == nil {
			t.Errorf("%s: no issue %d", logged, n)
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		f.writes = append(f.writes, call{Method: r.Method, Path: p, Body: body.Body})
		writeJSON(w, 201, map[string]any{"id": 77, "body": body.Body, "html_url": f.htmlURL(*found) + "#issuecomment-77"})

	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/git/ref/heads/"):
		f.noQuery(r)
		branch := strings.TrimPrefix(rest, "/git/ref/heads/")
		sha, ok := f.refs[branch]
		if !ok {
			writeJSON(w, 404, map[string]any{"message": "Not Found"})
			return
		}
		writeJSON(w, 200, map[string]any{"ref": "refs/heads/" + branch, "object": map[string]any{"type": "commit", "sha": sha}})

	case r.Method == http.MethodPost && rest == "/git/refs":
		var body struct{ Ref, SHA string }
		f.decode(r, &body)
		f.noQuery(r)
		f.writes = append(f.writes, call{Method: r.Method, Path: p, Ref: body.Ref, SHA: body.SHA})
		branch, ok := strings.CutPrefix(body.Ref, "refs/heads/")
		if _, exists := f.refs[branch]; !ok || exists {
			writeJSON(w, 422, map[string]any{"message": "Reference already exists"})
			return
		}
		if body.SHA != f.refs[f.defaultBranch] {
			t.Errorf("%s: branch from %s, want the head of %s", logged, body.SHA, f.defaultBranch)
		}
		f.refs[branch] = body.SHA
		if c, ok := f.files[f.defaultBranch]; ok {
			f.files[branch] = c
		}
		writeJSON(w, 201, map[string]any{"ref": body.Ref, "object": map[string]any{"type": "commit", "sha": body.SHA}})

	case r.Method == http.MethodPut && rest == "/contents/"+f.file:
		var body struct {
			Message, SHA, Branch string
			Content              []byte
		}
		f.decode(r, &body)
		f.noQuery(r)
		f.writes = append(f.writes, call{Method: r.Method, Path: p, Message: body.Message, SHA: body.SHA,
			Branch: body.Branch, Content: string(body.Content)})
		if _, ok := f.refs[body.Branch]; !ok {
			t.Errorf("%s: no branch %q", logged, body.Branch)
			writeJSON(w, 404, map[string]any{"message": "Branch not found"})
			return
		}
		old, exists := f.files[body.Branch]
		switch {
		case exists && body.SHA != blobSHA(old):
			t.Errorf("%s: sha %q, want the blob's %q", logged, body.SHA, blobSHA(old))
			writeJSON(w, 409, map[string]any{"message": "sha does not match"})
			return
		case !exists && body.SHA != "":
			t.Errorf("%s: sha %q for a new file", logged, body.SHA)
			writeJSON(w, 422, map[string]any{"message": "sha given for a new file"})
			return
		}
		if body.Branch == f.defaultBranch {
			t.Errorf("%s: commit to the default branch", logged)
		}
		f.files[body.Branch] = string(body.Content)
		f.refs[body.Branch] = "c0ffee00000000000000000000000000000000ff"
		writeJSON(w, 200, map[string]any{"content": map[string]any{"sha": blobSHA(string(body.Content))}, "commit": map[string]any{"sha": f.refs[body.Branch]}})

	case r.Method == http.MethodPost && rest == "/pulls":
		var body struct{ Title, Head, Base, Body string }
		f.decode(r, &body)
		f.noQuery(r)
		f.writes = append(f.writes, call{Method: r.Method, Path: p, Title: body.Title, Head: body.Head, Base: body.Base, Body: body.Body})
		if _, ok := f.refs[body.Head]; !ok || body.Base != f.defaultBranch {
			t.Errorf("%s: head %q base %q", logged, body.Head, body.Base)
		}
		is := fakeIssue{Number: f.nextNumber(), Title: body.Title, Body: body.Body, PR: true}
		f.issues = append(f.issues, is)
		writeJSON(w, 201, map[string]any{"number": is.Number, "html_url": f.htmlURL(is)})

	default:
		f.unexpected(w, r, "an endpoint Submit does not use")
	}
}

func (f *fakeGitHub) nextNumber() int {
	n := 0
	for _, is := range f.issues {
		n = max(n, is.Number)
	}
	return n + 1
}

// unexpected fails the test loudly.
func (f *fakeGitHub) unexpected(w http.ResponseWriter, r *http.Request, why string) {
	f.t.Errorf("unexpected request %s %s (%s)", r.Method, r.URL, why)
	http.Error(w, "unexpected request", http.StatusInternalServerError)
}

func (f *fakeGitHub) noQuery(r *http.Request) {
	if r.URL.RawQuery != "" {
		f.t.Errorf("%s %s: unexpected query", r.Method, r.URL)
	}
}

// decode reads a JSON request body strictly.
func (f *fakeGitHub) decode(r *http.Request, v any) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		f.t.Errorf("%s %s: request body: %v", r.Method, r.URL.Path, err)
	}
}

// writeJSON answers as GitHub does.
var writeJSON = githubtest.WriteJSON

// snapshot returns the requests and writes so far.
func (f *fakeGitHub) snapshot() ([]string, []call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...), append([]call(nil), f.writes...)
}

// serve starts the fake and returns a Config that reaches it: through the
// default API URL, or through apiURL(server URL) for GitHub Enterprise
// Server.
func (f *fakeGitHub) serve(t *testing.T, apiURL func(string) string) Config {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := Config{AllowlistRepo: f.owner + "/" + f.name, Token: f.token}
	if apiURL != nil {
		cfg.APIURL = apiURL(srv.URL)
		return cfg
	}
	cfg.HTTPClient = githubtest.GitHubCom(t, srv.URL)
	return cfg
}

// rateLimited is a primary rate limit answer that resets a second ahead.
func rateLimited(times int) *failure {
	return &failure{status: 403, message: "API rate limit exceeded for user ID 1.", times: times,
		docURL: "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
		header: func() map[string]string {
			return map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0",
				"X-RateLimit-Reset": strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)}
		}}
}
