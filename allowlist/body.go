package allowlist

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
)

// Issue and comment bodies may hold 65536 characters on GitHub. Every value
// from the image is clipped before it is escaped, and the findings table has
// a budget in rows and bytes, so that a body stays well under that limit
// (TestBodyStaysUnderLimit).
const (
	// MaxFindings is how many findings a request shows at most; the rest are
	// counted.
	MaxFindings = 50

	findingsBudget  = 36 << 10
	maxPlatforms    = 20
	maxMessageBytes = 1200
	maxValueBytes   = 512
)

// markerPrefix starts the hidden marker that identifies the request for one
// repository; marker completes it.
const markerPrefix = "<!-- desktop-plugin-check:allowlist-request repository="

// marker is the hidden HTML comment in the body of a request for repo, a
// validated NAMESPACE/NAME: GitHub does not show it, and the next run
// finds the request by it. Untrusted values never carry a raw "<" into a
// body (cell and code escape it), so no value can close it or fake one.
func marker(repo string) string { return markerPrefix + repo + " -->" }

// requestBody renders the body of a new issue or pull request: the marker,
// what is asked, and the evidence. file is the allow-list file that a pull
// request changes ("" for an issue).
func requestBody(repo, allowRepo, file string, req Request) string {
	var b strings.Builder
	b.WriteString(marker(repo) + "\n")
	fmt.Fprintf(&b, "### Add %s to the Docker Desktop allow-list\n\n", hubLink(repo))
	if file != "" {
		fmt.Fprintf(&b, "This pull request adds the Docker Hub repository %s to `%s`. ", escape.MarkdownCode(repo), file)
	} else {
		fmt.Fprintf(&b, "Please add the Docker Hub repository %s to the allow-list in %s. ", escape.MarkdownCode(repo), escape.MarkdownCode(allowRepo))
	}
	b.WriteString("Its plugin image passed [desktop-plugin-check](https://github.com/docker/desktop-plugin-check); the evidence follows.\n\n")
	evidence(&b, repo, req)
	return b.String()
}

// commentBody renders the comment that adds a newly checked version to an
// open request. It carries no marker: only the request's own body does.
func commentBody(repo string, req Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### New version checked: %s\n\n", value(req.Version))
	fmt.Fprintf(&b, "The plugin image of %s passed [desktop-plugin-check](https://github.com/docker/desktop-plugin-check) again.\n\n", escape.MarkdownCode(repo))
	evidence(&b, repo, req)
	return b.String()
}

// evidence writes the table of facts about the checked image and the
// findings table.
func evidence(b *strings.Builder, repo string, req Request) {
	b.WriteString("| | |\n|---|---|\n")
	row := func(name, v string) { fmt.Fprintf(b, "| **%s** | %s |\n", name, v) }
	row("Repository", hubLink(repo))
	row("Version", value(req.Version))
	row("Digest", value(req.Digest))
	var ps []string
	for i, p := range req.Platforms {
		if i == maxPlatforms {
			ps = append(ps, fmt.Sprintf("and %d more", len(req.Platforms)-i))
			break
		}
		ps = append(ps, value(p))
	}
	if len(ps) == 0 {
		ps = []string{"—"}
	}
	row("Platforms", strings.Join(ps, ", "))
	row("Desktop API", value(req.APIConstraint))
	counts := req.Counts
	if counts == nil {
		counts = map[string]int{}
		for _, f := range req.Findings {
			counts[f.Severity.String()]++
		}
	}
	result := "—"
	if req.Result != "" {
		result = escape.MarkdownCell(escape.Clip(req.Result, maxValueBytes))
	}
	row("Result", fmt.Sprintf("%s: %s, %s, %s", result,
		escape.Plural(counts["error"], "error"), escape.Plural(counts["warning"], "warning"), escape.Plural(counts["notice"], "notice")))
	if req.RunURL != "" {
		row("Workflow run", runLink(req.RunURL))
	}

	b.WriteString("\n#### Findings\n\n")
	if len(req.Findings) == 0 {
		b.WriteString("No findings.\n")
		return
	}
	// The most severe first, in the runner's order within a severity.
	fs := append([]checks.Finding(nil), req.Findings...)
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Severity > fs[j].Severity })
	b.WriteString("| Severity | Rule | Platform | Where | Message |\n|---|---|---|---|---|\n")
	used, shown := 0, 0
	for _, f := range fs {
		if shown == MaxFindings {
			break
		}
		line := fmt.Sprintf("| %s | %s | %s | %s | %s |\n", escape.MarkdownCell(f.Severity.String()), value(f.Rule),
			value(f.Platform), where(f), escape.MarkdownCell(escape.Clip(f.Message, maxMessageBytes)))
		if used+len(line) > findingsBudget {
			break
		}
		b.WriteString(line)
		used += len(line)
		shown++
	}
	if left := len(fs) - shown; left > 0 {
		fmt.Fprintf(b, "\n_%s not shown; the workflow run's report has them all._\n", escape.Plural(left, "more finding"))
	}
}

// where says what in the image a finding is about.
func where(f checks.Finding) string {
	if parts := escape.MarkdownPlace(f.Label, f.Path, f.Pointer); len(parts) > 0 {
		return strings.Join(parts, "<br>")
	}
	return "—"
}

// value shows an untrusted value, clipped: as a code span when code can,
// else as escaped text; "—" when empty.
func value(s string) string {
	if s == "" {
		return "—"
	}
	return escape.MarkdownCode(escape.Clip(s, maxValueBytes))
}

// hubLink links a validated NAMESPACE/NAME to its Docker Hub page.
func hubLink(repo string) string {
	return fmt.Sprintf("[%s](https://hub.docker.com/r/%s)", escape.MarkdownCode(repo), repo)
}

// runLink links the workflow run when its URL is a plain http(s) URL that
// cannot end the link early, and shows it as escaped text otherwise.
func runLink(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 512 {
		return escape.MarkdownCell(escape.Clip(s, maxValueBytes))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-._~:/?=&%+,;", c) >= 0
		if !ok {
			return escape.MarkdownCell(escape.Clip(s, maxValueBytes))
		}
	}
	return "[workflow run](" + s + ")"
}
