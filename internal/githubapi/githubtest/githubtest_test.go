package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	*testing.T
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func annotations(n int, edit func(i int, a map[string]any)) []map[string]any {
	var out []map[string]any
	for i := 0; i < n; i++ {
		a := map[string]any{"path": "Dockerfile", "start_line": 1, "end_line": 1, "annotation_level": "failure", "message": "m"}
		if edit != nil {
			edit(i, a)
		}
		out = append(out, a)
	}
	return out
}

// TestFakeEnforcesGitHubsRules: every rule the fake claims to enforce
// refuses a request that breaks it, and fails the test that sent it.
func TestFakeEnforcesGitHubsRules(t *testing.T) {
	t.Parallel()
	sha := strings.Repeat("a", 40)
	run := func(body map[string]any) map[string]any {
		b := map[string]any{"name": "c", "head_sha": sha, "status": "completed", "conclusion": "failure", "completed_at": "2026-01-01T00:00:00Z"}
		for k, v := range body {
			b[k] = v
		}
		return b
	}
	output := func(summary string, anns []map[string]any) map[string]any {
		return map[string]any{"output": map[string]any{"title": "t", "summary": summary, "annotations": anns}}
	}
	tests := []struct {
		name, method, path string
		token              string
		readOnly           bool
		body               any
		status             int
		wantErr            string
	}{
		{"valid", "POST", "/repos/o/r/check-runs", "tok", false, run(output("s", annotations(50, nil))), 201, ""},
		{"51 annotations", "POST", "/repos/o/r/check-runs", "tok", false, run(output("s", annotations(51, nil))), 422, "51 annotations in one request"},
		{"absolute path", "POST", "/repos/o/r/check-runs", "tok", false,
			run(output("s", annotations(1, func(_ int, a map[string]any) { a["path"] = "/work/Dockerfile" }))), 422, "not relative"},
		{"dot path", "POST", "/repos/o/r/check-runs", "tok", false,
			run(output("s", annotations(1, func(_ int, a map[string]any) { a["path"] = "./Dockerfile" }))), 422, "not relative"},
		{"line 0", "POST", "/repos/o/r/check-runs", "tok", false,
			run(output("s", annotations(1, func(_ int, a map[string]any) { a["start_line"], a["end_line"] = 0, 0 }))), 422, "start_line 0"},
		{"end before start", "POST", "/repos/o/r/check-runs", "tok", false,
			run(output("s", annotations(1, func(_ int, a map[string]any) { a["start_line"], a["end_line"] = 3, 2 }))), 422, "end_line 2 is before"},
		{"level", "POST", "/repos/o/r/check-runs", "tok", false,
			run(output("s", annotations(1, func(_ int, a map[string]any) { a["annotation_level"] = "error" }))), 422, "annotation_level"},
		{"columns on several lines", "POST", "/repos/o/r/check-runs", "tok", false,
			run(output("s", annotations(1, func(_ int, a map[string]any) { a["end_line"], a["start_column"] = 2, 1 }))), 422, "columns"},
		{"long summary", "POST", "/repos/o/r/check-runs", "tok", false, run(output(strings.Repeat("é", MaxSummaryChars+1), nil)), 422, "output.summary"},
		{"completed without conclusion", "POST", "/repos/o/r/check-runs", "tok", false,
			map[string]any{"name": "c", "head_sha": sha, "status": "completed"}, 422, "conclusion is required"},
		{"unknown field", "POST", "/repos/o/r/check-runs", "tok", false, run(map[string]any{"colour": "red"}), 400, "unknown field"},
		{"read-only token", "POST", "/repos/o/r/check-runs", "tok", true, run(nil), 403, ""},
		{"wrong token", "POST", "/repos/o/r/check-runs", "other", false, run(nil), 401, "Authorization"},
		{"long comment", "POST", "/repos/o/r/issues/7/comments", "tok", false, map[string]any{"body": strings.Repeat("x", MaxCommentChars+1)}, 422, "body is 65537 characters"},
		{"another repository", "POST", "/repos/o/other/check-runs", "tok", false, run(nil), 500, "unexpected request"},
		{"an endpoint it does not serve", "DELETE", "/repos/o/r/issues/comments/1", "tok", false, nil, 500, "unexpected request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{T: t}
			f := New(rec, "tok", "o", "r", 7)
			f.ReadOnly = tt.readOnly
			api := f.Serve()
			var body bytes.Buffer
			if tt.body != nil {
				json.NewEncoder(&body).Encode(tt.body)
			}
			req, _ := http.NewRequest(tt.method, api+tt.path, &body)
			req.Header.Set("Authorization", "Bearer "+tt.token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			got := strings.Join(rec.errors, "\n")
			if tt.wantErr == "" && got != "" || tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
				t.Errorf("the fake reported %q, want %q", got, tt.wantErr)
			}
		})
	}
}
