package allowlist

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/checks"
)

// hostile are label texts that try to hide, fake or break out of the body.
var hostile = []string{
	"--> <!-- desktop-plugin-check:allowlist-request repository=victim/plugin -->",
	`<img src=x onerror=alert(1)>`,
	"[click](javascript:alert(1))",
	"@everyone please merge",
	"| table | break |",
	"line one\n## Fake heading\n- [x] approved by docker",
	"`code` ``` fence",
	"see docker/desktop-allowlist#1 and #2",
	"\u202eevil\u200b",
	"<details><summary>nothing here</summary>",
}

func hostileRequest() Request {
	req := baseRequest()
	all := strings.Join(hostile, " ")
	req.Version = "1.0.0 " + hostile[0]
	req.APIConstraint = hostile[1]
	req.Platforms = []string{"linux/amd64", hostile[4], hostile[2]}
	req.Digest = "sha256:" + hostile[3]
	req.Findings = nil
	for i, h := range hostile {
		req.Findings = append(req.Findings, checks.Finding{Rule: "labels/" + h, Severity: checks.Warning,
			Message: h, Platform: h, Label: h, Path: "/" + h, Pointer: "/" + h})
		_ = i
	}
	req.Findings = append(req.Findings, checks.Finding{Rule: "x", Severity: checks.Notice, Message: all})
	req.Counts = nil
	req.RunURL = "https://github.com/acme/plugin/actions/runs/42) [fake](https://evil.example"
	return req
}

// findingsRows are the lines of the findings table, header and
// delimiter row included.
func findingsRows(body string) []string {
	_, table, _ := strings.Cut(body, "#### Findings\n\n")
	var rows []string
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, "|") {
			rows = append(rows, l)
		}
	}
	return rows
}

// unescapedPipes counts the pipes that are not escaped with a backslash.
var unescapedPipe = regexp.MustCompile(`(^|[^\\])\|`)

// checkRendersAsText asserts that nothing from hostile input became
// markdown or HTML structure in body.
func checkRendersAsText(t *testing.T, body string, wantMarkers int, findings int) {
	t.Helper()
	if n := strings.Count(body, markerPrefix); n != wantMarkers {
		t.Errorf("body holds %d markers, want %d", n, wantMarkers)
	}
	if n := strings.Count(body, "<!--"); n != wantMarkers {
		t.Errorf("body holds %d comment openers, want %d", n, wantMarkers)
	}
	if n := strings.Count(body, "-->"); n != wantMarkers {
		t.Errorf("body holds %d comment closers, want %d", n, wantMarkers)
	}
	// The only raw < are the marker's and <br>.
	rest := strings.ReplaceAll(strings.ReplaceAll(body, markerPrefix, ""), "<br>", "")
	if i := strings.IndexByte(rest, '<'); i >= 0 {
		t.Errorf("body holds raw HTML at %q", rest[i:min(len(rest), i+40)])
	}
	for _, s := range []string{"<img", "<details", "](javascript:", "[fake](", "@everyone", "desktop-allowlist#1", " #2", "\u202e", "\u200b", "\n## ", "\n- [x]"} {
		if strings.Contains(body, s) {
			t.Errorf("body holds %q raw", s)
		}
	}
	for _, s := range []string{"&lt;img src=x onerror=alert\\(1\\)&gt;", "\\[click\\]\\(javascript:alert\\(1\\)\\)", "@\u2060everyone", "\\| table \\| break \\|", "#\u2060"} {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks the escaped %q", s)
		}
	}
	var headings []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "#") {
			headings = append(headings, l[:min(len(l), 24)])
		}
	}
	if len(headings) != 2 {
		t.Errorf("headings %q, want the body's own 2", headings)
	}
	rows := findingsRows(body)
	if len(rows) != findings+2 {
		t.Errorf("findings table has %d rows, want %d", len(rows), findings+2)
	}
	for _, r := range rows {
		if n := len(unescapedPipe.FindAllString(r, -1)); n != 6 {
			t.Errorf("findings row has %d cell separators, want 6: %q", n, r)
		}
	}
	// The evidence table: two cells a row.
	_, ev, _ := strings.Cut(body, "| | |\n")
	ev, _, _ = strings.Cut(ev, "\n\n")
	for _, r := range strings.Split(ev, "\n") {
		if n := len(unescapedPipe.FindAllString(r, -1)); n != 3 {
			t.Errorf("evidence row has %d cell separators, want 3: %q", n, r)
		}
	}
}

func TestBodyHostile(t *testing.T) {
	t.Parallel()
	req := hostileRequest()
	tests := []struct {
		name    string
		body    string
		markers int
	}{
		{name: "issue", body: requestBody("acme/plugin", "docker/desktop-allowlist", "", req), markers: 1},
		{name: "pull request", body: requestBody("acme/plugin", "docker/desktop-allowlist", "allowlist.yaml", req), markers: 1},
		{name: "comment", body: commentBody("acme/plugin", req), markers: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkRendersAsText(t, tt.body, tt.markers, len(req.Findings))
			if tt.markers == 1 && !strings.HasPrefix(tt.body, marker("acme/plugin")+"\n") {
				t.Errorf("body does not start with the marker:\n%s", tt.body)
			}
		})
	}
}

// TestSubmitHostile sends a hostile request through Submit: the issue it
// opens must render the hostile text as text, and a later run must still
// find that issue by its marker and not a faked one.
func TestSubmitHostile(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.files["main"] = yamlList
	cfg := f.serve(t, nil)
	req := hostileRequest()
	got, err := Submit(context.Background(), cfg, req)
	if err != nil {
		t.Fatalf("Submit() error: %v", err)
	}
	_, writes := f.snapshot()
	if len(writes) != 1 || writes[0].Body != got.Body {
		t.Fatalf("writes = %+v, want the issue", writes)
	}
	checkRendersAsText(t, writes[0].Body, 1, len(req.Findings))

	// The faked marker for victim/plugin must not make its request look open.
	victim := baseRequest()
	victim.Repository = "victim/plugin"
	out, err := Submit(context.Background(), cfg, victim)
	if err != nil {
		t.Fatalf("Submit(victim) error: %v", err)
	}
	if out.Action != ActionOpenedIssue {
		t.Errorf("Submit(victim).Action = %q, want %q", out.Action, ActionOpenedIssue)
	}
}

// TestBodyStaysUnderLimit fills every field: the body stays under GitHub's
// 65536 characters and says what it left out.
func TestBodyStaysUnderLimit(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("<|`@#\n\u202e😀", 2000)
	req := baseRequest()
	req.Version, req.Digest, req.APIConstraint, req.Result, req.RunURL = huge, huge, huge, "pass", huge
	for range 200 {
		req.Platforms = append(req.Platforms, huge)
	}
	req.Findings = nil
	for range 1000 {
		req.Findings = append(req.Findings, checks.Finding{Rule: huge, Severity: checks.Error, Message: huge,
			Platform: huge, Path: huge, Label: huge, Pointer: huge})
	}
	for _, body := range []string{requestBody("acme/plugin", "docker/desktop-allowlist", "allowlist.yaml", req), commentBody("acme/plugin", req)} {
		if len(body) >= 65536 {
			t.Errorf("body is %d bytes, want under 65536", len(body))
		}
		if !strings.Contains(body, "more findings not shown") || !strings.Contains(body, "and 182 more") {
			t.Errorf("body does not say what it left out")
		}
	}
}

func FuzzBody(f *testing.F) {
	for _, h := range hostile {
		f.Add(h, h, h)
	}
	f.Add("1.0.0", "linux/amd64", ">= 0.3.0")
	f.Fuzz(func(t *testing.T, message, label, version string) {
		req := baseRequest()
		req.Version, req.APIConstraint = version, label
		req.Platforms = []string{label}
		req.Findings = []checks.Finding{{Rule: label, Severity: checks.Error, Message: message, Label: label, Path: message}}
		body := requestBody("acme/plugin", "docker/desktop-allowlist", "", req)
		if n := strings.Count(body, "<!--"); n != 1 {
			t.Errorf("body holds %d comment openers, want 1", n)
		}
		if n := strings.Count(body, "-->"); n != 1 {
			t.Errorf("body holds %d comment closers, want 1", n)
		}
		rest := strings.ReplaceAll(strings.ReplaceAll(body, markerPrefix, ""), "<br>", "")
		if strings.Contains(rest, "<") {
			t.Errorf("body holds raw HTML")
		}
		rows := findingsRows(body)
		if len(rows) != 3 {
			t.Errorf("findings table has %d rows, want 3", len(rows))
		}
		for _, r := range rows {
			if n := len(unescapedPipe.FindAllString(r, -1)); n != 6 {
				t.Errorf("findings row has %d cell separators, want 6: %q", n, r)
			}
		}
	})
}
