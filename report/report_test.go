package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/source"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sample is a report with hostile values from an image, and the
// repository's own Dockerfile and metadata.json (sampleDockerfile,
// sampleMetadata) that findings are placed on.
func sample() *Report {
	return &Report{
		Image:      "registry.example/acme/plugin:1.2.0",
		Digest:     "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Repository: "registry.example/acme/plugin",
		Release:    "1.2.0",
		Profile:    "extension",
		Result:     ResultFail,
		FailOn:     checks.Error,
		Platforms: []Platform{
			{Platform: "linux/amd64", Digest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
			{Platform: "linux/arm64", Digest: "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
		},
		Findings: []checks.Finding{
			{Rule: "labels/required", Severity: checks.Error, Message: `required label "com.docker.extension.changelog" is missing`, Label: "com.docker.extension.changelog"},
			{Rule: "metadata/schema", Severity: checks.Error, Message: "ui.dashboard-tab: \"src\" is required\n::error::injected \x1b[31mred", Platform: "linux/arm64", Path: "/metadata.json", Pointer: "/ui/dashboard-tab"},
			{Rule: "metadata/files", Severity: checks.Error, Message: `host binary "/windows/acme|<!-- x -->.exe" is missing`, Platform: "linux/amd64", Path: "/windows/acme|<!-- x -->.exe", Pointer: "/host/binaries/0/windows/0/path"},
			{Rule: "version/latest", Severity: checks.Warning, Message: "`latest` points at [1.1.0](https://evil.example) @admin, not at 1.2.0"},
			{Rule: "labels/template", Severity: checks.Warning, Message: `label "org.opencontainers.image.vendor" still has the template value "Awesome Inc."`, Label: "org.opencontainers.image.vendor"},
			{Rule: "api/bare", Severity: checks.Notice, Message: `API version "0.3.4" is a bare version: Desktop reads it as exactly 0.3.4`, Label: "com.docker.desktop.extension.api.version"},
		},
		Rules: []*checks.Rule{
			{ID: "labels/required", Title: "A required label is missing or blank", Severity: checks.Error,
				Help: "Docker Desktop shows these labels in the Marketplace.\n\nSet the label with a `LABEL` instruction in the final stage of the Dockerfile."},
			{ID: "labels/template", Title: "A label still has a value from the SDK template", Severity: checks.Warning,
				Help: "Replace the template value with your own."},
			{ID: "metadata/schema", Title: "metadata.json does not match the documented format", Severity: checks.Error,
				Help: "See the `metadata.json` reference of the extensions SDK."},
			{ID: "metadata/files", Title: "A path metadata.json names is missing from a variant", Severity: checks.Error,
				Help: "Copy the file into every platform's image."},
			{ID: "version/latest", Title: "latest will not point at the highest version", Severity: checks.Warning,
				Help: "Push `latest` with the highest release."},
			{ID: "api/bare", Title: "A bare API version is an exact match", Severity: checks.Notice,
				Help: "Write `>= 0.3.4` rather than `0.3.4`."},
		},
		Impact: []Impact{
			{DesktopAPIVersion: "0.3.4", Before: "1.1.0", After: "1.2.0"},
			{DesktopAPIVersion: "0.3.0"},
			{DesktopAPIVersion: "0.2.0", Note: "unchanged"},
		},
		Sources: &source.Sources{
			DockerfilePath: "Dockerfile", Dockerfile: []byte(sampleDockerfile),
			MetadataPath: "metadata.json", Metadata: []byte(sampleMetadata),
		},
		Stats: Stats{Requests: 12, Bytes: 345678, DurationMS: 900},
	}
}

const sampleDockerfile = `# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM node:20-alpine AS client-builder
WORKDIR /ui
COPY ui /ui
RUN npm ci && npm run build

FROM alpine
LABEL org.opencontainers.image.title="Acme" \
    org.opencontainers.image.description="Acme plugin" \
    org.opencontainers.image.vendor="Awesome Inc." \
    com.docker.desktop.extension.api.version="0.3.4" \
    com.docker.extension.publisher-url="https://acme.example"
COPY metadata.json acme.svg /
COPY --from=client-builder /ui/build /ui
`

const sampleMetadata = `{
  "icon": "acme.svg",
  "ui": {
    "dashboard-tab": {
      "title": "Acme",
      "root": "/ui"
    }
  },
  "host": {
    "binaries": [
      {
        "windows": [
          {"path": "/windows/acme.exe"}
        ]
      }
    ]
  }
}
`

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./report -update): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestFormatsGolden(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			f, err := Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := f(&buf, sample()); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".golden", buf.Bytes())
		})
	}
}

func TestJSONEmptyFindingsIsArray(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := JSON(&buf, &Report{Result: ResultPass}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"findings", "platforms", "errors"} {
		if _, ok := got[k].([]any); !ok {
			t.Errorf("%s = %v, want an empty array", k, got[k])
		}
	}
	if got["version"] != float64(1) {
		t.Errorf("version = %v, want 1", got["version"])
	}
}

func TestTextEscapesUntrustedValues(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Text(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "\x1b") {
		t.Error("text report passes an ANSI escape through")
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "::") {
			t.Errorf("a value started a new line: %q", line)
		}
	}
}

func FuzzTerminalSafe(f *testing.F) {
	for _, s := range []string{"plain", "a\nb", "\x1b[2J", "\u202eevil", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := escape.Terminal(s)
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("escape.Terminal(%q) = %q keeps control character %U", s, got, r)
			}
		}
	})
}

// TestTextOfARunThatCouldNotCheck: an exit-2 report says the check did not
// run to the end, never an ERROR verdict above "0 error(s)".
func TestTextOfARunThatCouldNotCheck(t *testing.T) {
	t.Parallel()
	r := &Report{Image: "acme/p:1.0.0", Result: ResultError, FailOn: checks.Error,
		Errors: []string{"reading layer 2 of linux/arm64: unexpected EOF"}}
	var buf bytes.Buffer
	if err := Text(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"NOT CHECKED acme/p:1.0.0: the check could not run to the end (exit code 2)\n",
		"error: reading layer 2 of linux/arm64: unexpected EOF\n",
		"1 problem(s) stopped the check; before that it found 0 error(s), 0 warning(s), 0 notice(s) (incomplete)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.HasPrefix(out, "ERROR") {
		t.Errorf("text report of a run that could not check starts with ERROR:\n%s", out)
	}
}

// TestTextCountsLayersByHowTheyWereRead: a layer read whole without a
// digest of its content to check (a docker save archive from before Docker
// 25) is not counted as read in part.
func TestTextCountsLayersByHowTheyWereRead(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		layers []LayerRead
		want   string
	}{
		{"verified and in part", []LayerRead{{Size: 10, Bytes: 10, Verified: true}, {Size: 10, Bytes: 4}},
			"layers: 2 read, 1 verified against their digest, 1 read in part (not verifiable)\n"},
		{"whole without a digest", []LayerRead{{Size: 10, Bytes: 10, Verified: true}, {Size: 10, Bytes: 10}},
			"layers: 2 read, 1 verified against their digest, 0 read in part (not verifiable), 1 read whole with no digest to check them against\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := Text(&buf, &Report{Image: "acme/p:1.0.0", Result: ResultPass, FailOn: checks.Error, Layers: tc.layers}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("text report lacks %q:\n%s", tc.want, buf.String())
			}
		})
	}
}
