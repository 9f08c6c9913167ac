package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
)

// corpusDir holds real plugins' sources (DESIGN section 10); it sits
// beside the repository and may be absent.
const corpusDir = "../../../shared/corpus"

// corpusReport is what the corpus test reads of the JSON report.
type corpusReport struct {
	Profile   string `json:"profile"`
	Result    string `json:"result"`
	Platforms []struct {
		Platform string `json:"platform"`
	} `json:"platforms"`
	Findings []corpusFinding `json:"findings"`
}

type corpusFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Platform string `json:"platform"`
	Path     string `json:"path"`
	Pointer  string `json:"pointer"`
}

// corpusCase is what a corpus folder's image must get.
type corpusCase struct {
	dir     string
	profile string
	// check judges the findings; it reports through t.
	check func(t *testing.T, rep corpusReport, code int)
}

// noErrors is for Docker's own current samples: they must pass.
func noErrors(t *testing.T, rep corpusReport, code int) {
	t.Helper()
	for _, f := range rep.Findings {
		if f.Severity == "error" {
			t.Errorf("error finding on a Docker SDK sample: %s: %s", f.Rule, f.Message)
		}
	}
	if code != 0 || rep.Result != "pass" {
		t.Errorf("exit %d, result %q; want 0, pass", code, rep.Result)
	}
}

// noAPIFindings is for the plugin-era samples, whose API version
// (1.0.0-beta.1) no Desktop validated: under the plugin profile only
// targets the user names are checked.
func noAPIFindings(t *testing.T, rep corpusReport, code int) {
	t.Helper()
	for _, f := range rep.Findings {
		if strings.HasPrefix(f.Rule, "api/") {
			t.Errorf("API finding on a plugin-era sample: %s %s: %s", f.Rule, f.Severity, f.Message)
		}
	}
	if code == 2 {
		t.Errorf("exit 2: the check could not run")
	}
}

// exactly expects exactly these findings, as "RULE SEVERITY", sorted.
func exactly(code int, want ...string) func(*testing.T, corpusReport, int) {
	return func(t *testing.T, rep corpusReport, gotCode int) {
		t.Helper()
		got := []string{}
		for _, f := range rep.Findings {
			got = append(got, f.Rule+" "+f.Severity)
		}
		slices.Sort(got)
		if want == nil {
			want = []string{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("findings mismatch (-want +got):\n%s", diff)
		}
		if gotCode != code {
			t.Errorf("exit %d, want %d", gotCode, code)
		}
	}
}

func corpusCases(t *testing.T) []corpusCase {
	cases := []corpusCase{
		{dir: "docker__extensions-sdk__vm-service", profile: "extension", check: noErrors},
		{dir: "docker__extensions-sdk__react", profile: "extension", check: noErrors},
		{dir: "docker__extensions-sdk__minimal-backend", profile: "extension", check: noErrors},
		{dir: "docker__extensions-sdk__minimal-frontend", profile: "extension", check: noErrors},
		{dir: "docker__extensions-sdk__minimal-docker-cli", profile: "extension", check: noErrors},
		// No changelog label, which the marketplace requires.
		{dir: "tailscale__docker-extension", profile: "extension", check: exactly(1, "labels/required error")},
		// A bare API version that the newest Desktop (0.4.2) refuses, the
		// publisher URL written as a JSON list, a category Docker does not
		// list, and the categories label present.
		{dir: "redis-field-engineering__redis-enterprise-docker-extension", profile: "extension", check: exactly(1,
			"api/bare warning", "api/compatible error", "labels/format error", "labels/format warning")},
		// The icon label is a .ico; the changelog uses an ARG with no
		// default (a URL that ends in "v"); the detailed description is
		// set twice (the last wins).
		{dir: "daytonaio__daytona-docker-extension", profile: "extension", check: exactly(0, "labels/format warning")},
		// org.opencontainers.image.version="${VERSION}" is empty, but no
		// profile requires it.
		{dir: "ngrok__ngrok-docker-extension", profile: "extension", check: exactly(0)},
	}
	era, err := filepath.Glob(filepath.Join(corpusDir, "docker__extensions-sdk__plugin-era__*"))
	if err != nil || len(era) == 0 {
		t.Fatalf("no plugin-era folder in %s (%v)", corpusDir, err)
	}
	for _, d := range era {
		cases = append(cases, corpusCase{dir: filepath.Base(d), profile: "plugin", check: noAPIFindings})
	}
	return cases
}

// TestCorpus builds, for real plugins' sources, the two-platform image
// their Dockerfile would produce and checks it end to end.
func TestCorpus(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(corpusDir, "README.md")); err != nil {
		t.Skipf("the corpus of real plugin sources is not there (%v)", err)
	}
	imagetest.GoBinaries(t, imagetest.CorpusBinaryTargets...) // build once, before the parallel cases
	for _, tc := range corpusCases(t) {
		t.Run(tc.dir, func(t *testing.T) {
			t.Parallel()
			host := imagetest.Registry(t)
			ref := host + "/corpus/" + corpusRepo(tc.dir) + ":1.0.0"
			imagetest.Push(t, ref, imagetest.CorpusIndex(t, filepath.Join(corpusDir, tc.dir)))
			rep, code, stderr := runCorpus(t, ref)
			t.Logf("%s: exit %d, %d findings%s", tc.dir, code, len(rep.Findings), listFindings(rep.Findings))
			if len(rep.Platforms) != 2 {
				t.Errorf("report lists %d platforms, want 2 (stderr: %s)", len(rep.Platforms), stderr)
			}
			if rep.Profile != tc.profile {
				t.Errorf("profile %q, want %q", rep.Profile, tc.profile)
			}
			tc.check(t, rep, code)
		})
	}
}

// runCorpus checks ref through run with a JSON report.
func runCorpus(t *testing.T, ref string) (corpusReport, int, string) {
	t.Helper()
	home := t.TempDir()
	getenv := func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--format", "json", ref}, getenv, strings.NewReader(""), &out, &errb)
	var rep corpusReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d: decoding JSON report: %v\nstdout:%s\nstderr:%s", code, err, out.String(), errb.String())
	}
	return rep, code, errb.String()
}

// listFindings lists findings one a line, for the test log.
func listFindings(fs []corpusFinding) string {
	var b strings.Builder
	for _, f := range fs {
		where := strings.TrimSpace(f.Platform + " " + f.Pointer + " " + f.Path)
		fmt.Fprintf(&b, "\n  %s %s [%s] %s", f.Rule, f.Severity, where, f.Message)
	}
	return b.String()
}

var notRepoChars = regexp.MustCompile(`[^a-z0-9]+`)

// corpusRepo turns a corpus folder's name into a repository name.
func corpusRepo(dir string) string {
	return strings.Trim(notRepoChars.ReplaceAllString(strings.ToLower(dir), "-"), "-")
}
