package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape/escapetest"
	"github.com/docker/desktop-plugin-check/source"
	"github.com/google/go-cmp/cmp"
)

// checkSARIFShape checks what SARIF 2.1.0 and GitHub code scanning require of
// a log: version and schema, one run with a named driver, rules with an ID,
// descriptions and a valid level, results whose ruleIndex names their rule,
// with a valid level, a non-empty message, a location in a repository file
// (when wantLocations) and a fingerprint unique in the run.
func checkSARIFShape(t *testing.T, data []byte, wantLocations bool) sarifLog {
	t.Helper()
	var log sarifLog
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&log); err != nil {
		t.Fatalf("decoding SARIF: %v", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"$schema", "version", "runs"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("the log has no %q", k)
		}
	}
	if log.Version != "2.1.0" || log.Schema != "https://json.schemastore.org/sarif-2.1.0.json" {
		t.Errorf("version %q, $schema %q", log.Version, log.Schema)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Name != "desktop-plugin-check" || run.Tool.Driver.InformationURI == "" {
		t.Errorf("driver %+v", run.Tool.Driver)
	}
	levels := map[string]bool{"error": true, "warning": true, "note": true, "none": true}
	ids := map[string]bool{}
	for i, r := range run.Tool.Driver.Rules {
		if r.ID == "" || r.Name == "" || r.ShortDescription.Text == "" || r.FullDescription.Text == "" {
			t.Errorf("rule %d lacks an ID, name or description: %+v", i, r)
		}
		if r.Help != nil && (r.Help.Text == "" || r.Help.Markdown == "") {
			t.Errorf("rule %s has an empty help", r.ID)
		}
		if !levels[r.DefaultConfiguration.Level] {
			t.Errorf("rule %s has level %q", r.ID, r.DefaultConfiguration.Level)
		}
		if ids[r.ID] {
			t.Errorf("rule %s is listed twice", r.ID)
		}
		ids[r.ID] = true
	}
	if run.Results == nil {
		t.Error("results is null, want an array")
	}
	fingerprints := map[string]bool{}
	for i, res := range run.Results {
		if res.RuleIndex < 0 || res.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %d: ruleIndex %d does not name rule %q", i, res.RuleIndex, res.RuleID)
		}
		if !levels[res.Level] {
			t.Errorf("result %d has level %q", i, res.Level)
		}
		if strings.TrimSpace(res.Message.Text) == "" {
			t.Errorf("result %d has no message", i)
		}
		if wantLocations && len(res.Locations) == 0 {
			t.Errorf("result %d has no location (upload-sarif rejects the file)", i)
		}
		for _, l := range res.Locations {
			a := l.PhysicalLocation.ArtifactLocation
			if a.URI == "" || strings.HasPrefix(a.URI, "/") || strings.Contains(a.URI, "://") || a.URIBaseID != "%SRCROOT%" {
				t.Errorf("result %d has location %+v, want a relative URI against %%SRCROOT%%", i, a)
			}
			if reg := l.PhysicalLocation.Region; reg != nil && reg.StartLine < 1 {
				t.Errorf("result %d starts at line %d", i, reg.StartLine)
			}
		}
		fp := res.PartialFingerprints[primaryLineHashKey]
		if fp == "" || fingerprints[fp] {
			t.Errorf("result %d has primaryLocationLineHash %q, want a unique one (GitHub reads only that one)", i, fp)
		}
		fingerprints[fp] = true
		for _, l := range res.Locations {
			if id := l.PhysicalLocation.ArtifactLocation.URIBaseID; id != "" {
				if _, ok := run.OriginalURIBaseIDs[id]; !ok {
					t.Errorf("result %d uses uriBaseId %q, which originalUriBaseIds does not declare", i, id)
				}
			}
		}
	}
	if len(run.Invocations) != 1 {
		t.Errorf("%d invocations, want 1", len(run.Invocations))
	}
	return log
}

// TestSARIFOfARunThatCouldNotCheck: executionSuccessful is false and the
// reason is a notification, so code scanning never reads it as "no alerts".
func TestSARIFOfARunThatCouldNotCheck(t *testing.T) {
	t.Parallel()
	r := &Report{Image: "acme/p:1", Result: ResultError, Errors: []string{"reading layer 2: unexpected EOF", "\x1b[2Jevil\u202e"},
		Sources: &source.Sources{DockerfilePath: "Dockerfile", Dockerfile: []byte("FROM scratch\n")}}
	var buf bytes.Buffer
	if err := SARIF(&buf, r); err != nil {
		t.Fatal(err)
	}
	log := checkSARIFShape(t, buf.Bytes(), true)
	inv := log.Runs[0].Invocations[0]
	if inv.ExecutionSuccessful {
		t.Error("executionSuccessful is true for a run that could not check")
	}
	var got []string
	for _, n := range inv.ToolExecutionNotifications {
		got = append(got, n.Level+": "+n.Message.Text)
	}
	want := []string{"error: reading layer 2: unexpected EOF", `error: \u001b[2Jevil\u202e`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notifications mismatch (-want +got):\n%s", diff)
	}
}

// TestSARIFTenFindingsOnOneLine: ten label findings that Locate puts on the
// same LABEL line are ten alerts: each its own primaryLocationLineHash,
// the same in the next run.
func TestSARIFTenFindingsOnOneLine(t *testing.T) {
	t.Parallel()
	r := &Report{Image: "acme/p:1", Result: ResultFail, ToolVersion: "1.2.3",
		Sources: &source.Sources{DockerfilePath: "Dockerfile", Dockerfile: []byte("FROM scratch\nLABEL a=b\n")}}
	for i := range 10 {
		r.Findings = append(r.Findings, checks.Finding{Rule: "labels/required", Severity: checks.Error,
			Label: fmt.Sprintf("com.example.l%d", i), Message: fmt.Sprintf("label %d is missing", i)})
	}
	hashes := func() []string {
		var buf bytes.Buffer
		if err := SARIF(&buf, r); err != nil {
			t.Fatal(err)
		}
		log := checkSARIFShape(t, buf.Bytes(), true)
		if d := log.Runs[0].Tool.Driver; d.Version != "1.2.3" || d.SemanticVersion != "1.2.3" {
			t.Errorf("driver version %q / %q, want 1.2.3", d.Version, d.SemanticVersion)
		}
		var out []string
		for _, res := range log.Runs[0].Results {
			if reg := res.Locations[0].PhysicalLocation.Region; reg == nil || reg.StartLine != 2 {
				t.Errorf("result %s is not on line 2: %+v", res.Message.Text, res.Locations)
			}
			out = append(out, res.PartialFingerprints[primaryLineHashKey])
		}
		return out
	}
	first, second := hashes(), hashes()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("hashes changed between runs (-first +second):\n%s", diff)
	}
}

func TestSARIFGoldenShape(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "sarif.golden"))
	if err != nil {
		t.Fatalf("reading golden file (run go test ./report -update): %v", err)
	}
	log := checkSARIFShape(t, data, true)
	if got, want := len(log.Runs[0].Results), len(sample().Findings); got != want {
		t.Errorf("%d results, want %d", got, want)
	}
}

func TestSARIFHostileValues(t *testing.T) {
	t.Parallel()
	r := sample()
	for _, s := range escapetest.Hostile {
		r.Findings = append(r.Findings, checks.Finding{Rule: "labels/format", Severity: checks.Warning, Message: s, Platform: s, Label: s, Path: s, Pointer: s})
	}
	var buf bytes.Buffer
	if err := SARIF(&buf, r); err != nil {
		t.Fatal(err)
	}
	log := checkSARIFShape(t, buf.Bytes(), true)
	for _, res := range log.Runs[0].Results {
		if strings.Contains(res.Message.Text, "\x1b") || strings.Contains(res.Message.Text, "](") && !strings.Contains(res.Message.Text, `\](`) {
			t.Errorf("message %q keeps an escape or a link", res.Message.Text)
		}
	}
}

// loc is the SARIF location of a line of a repository file.
func loc(uri string, line int) sarifLocation {
	return sarifLocation{PhysicalLocation: sarifPhysicalLocation{
		ArtifactLocation: sarifArtifactLocation{URI: uri, URIBaseID: "%SRCROOT%"},
		Region:           &sarifRegion{StartLine: line},
	}}
}

// locCol is a location with a column.
func locCol(uri string, line, col int) sarifLocation {
	l := loc(uri, line)
	l.PhysicalLocation.Region.StartColumn = col
	return l
}

func TestSARIFLocations(t *testing.T) {
	t.Parallel()
	dockerfile := []byte("FROM alpine AS build\nRUN true\nFROM scratch\nLABEL a=1 \\\n  b=2\n")
	metadata := []byte("{\n  \"ui\": {\n    \"x\": 1\n  }\n}\n")
	full := &source.Sources{DockerfilePath: "docker files/Dockerfile", Dockerfile: dockerfile, MetadataPath: "./metadata.json", Metadata: metadata}
	tests := []struct {
		name string
		src  *source.Sources
		f    checks.Finding
		want []sarifLocation
	}{
		{"label, with its column", full, checks.Finding{Label: "b"}, []sarifLocation{locCol("docker%20files/Dockerfile", 5, 3)}},
		{"pointer", full, checks.Finding{Pointer: "/ui/x"}, []sarifLocation{loc("metadata.json", 3)}},
		{"nowhere: the final FROM", full, checks.Finding{Rule: "platforms/required"}, []sarifLocation{loc("docker%20files/Dockerfile", 3)}},
		{"nowhere, Dockerfile absent: its line 1", &source.Sources{DockerfilePath: "Dockerfile"}, checks.Finding{}, []sarifLocation{loc("Dockerfile", 1)}},
		{"nowhere, no Dockerfile: metadata.json", &source.Sources{MetadataPath: "metadata.json"}, checks.Finding{}, []sarifLocation{loc("metadata.json", 1)}},
		{"no sources: no location", nil, checks.Finding{Label: "b"}, nil},
		{"a colon in the first segment", &source.Sources{DockerfilePath: "a:b/Dockerfile", Dockerfile: dockerfile}, checks.Finding{Label: "a"}, []sarifLocation{locCol("./a:b/Dockerfile", 4, 7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.f.Rule, tt.f.Severity, tt.f.Message = "labels/required", checks.Error, "m"
			var buf bytes.Buffer
			if err := SARIF(&buf, &Report{Sources: tt.src, Findings: []checks.Finding{tt.f}}); err != nil {
				t.Fatal(err)
			}
			log := checkSARIFShape(t, buf.Bytes(), tt.src != nil)
			got := log.Runs[0].Results[0].Locations
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("locations mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSARIFFingerprints(t *testing.T) {
	t.Parallel()
	base := checks.Finding{Rule: "metadata/files", Severity: checks.Error, Message: "m", Platform: "linux/amd64", Path: "/a", Pointer: "/host/binaries/0/linux/0/path"}
	fp := func(findings ...checks.Finding) []string {
		var buf bytes.Buffer
		if err := SARIF(&buf, &Report{Findings: findings}); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, res := range checkSARIFShape(t, buf.Bytes(), false).Runs[0].Results {
			out = append(out, res.PartialFingerprints[fingerprintKey])
		}
		return out
	}
	first := fp(base)[0]
	otherMessage := base
	otherMessage.Message, otherMessage.Severity = "another message", checks.Warning
	if got := fp(otherMessage)[0]; got != first {
		t.Errorf("the fingerprint changes with the message or severity: %s, %s", first, got)
	}
	for _, change := range []func(*checks.Finding){
		func(f *checks.Finding) { f.Platform = "linux/arm64" },
		func(f *checks.Finding) { f.Rule = "metadata/schema" },
		func(f *checks.Finding) { f.Pointer = "/host" },
		func(f *checks.Finding) { f.Path = "/b" },
		func(f *checks.Finding) { f.Label = "x" },
	} {
		f := base
		change(&f)
		if got := fp(f)[0]; got == first {
			t.Errorf("the fingerprint of %+v equals that of %+v", f, base)
		}
	}
	twice := fp(base, base)
	if twice[0] != first || twice[1] == first {
		t.Errorf("equal findings have fingerprints %v; want the first to be %s and the second different", twice, first)
	}
}

func TestSARIFRules(t *testing.T) {
	t.Parallel()
	r := &Report{
		Rules: []*checks.Rule{
			{ID: "labels/required", Title: "Required", Help: "Why.\n\nHow.", Severity: checks.Error},
			nil,
			{ID: "api/bare", Title: "Bare", Severity: checks.Notice},
		},
		Findings: []checks.Finding{
			{Rule: "api/bare", Severity: checks.Notice, Message: "m"},
			{Rule: "unknown/rule", Severity: checks.Warning, Message: "m"},
		},
	}
	var buf bytes.Buffer
	if err := SARIF(&buf, r); err != nil {
		t.Fatal(err)
	}
	log := checkSARIFShape(t, buf.Bytes(), false)
	want := []sarifRule{
		{ID: "labels/required", Name: "LabelsRequired", ShortDescription: sarifMessage{Text: "Required"}, FullDescription: sarifMessage{Text: "Why."},
			Help: &sarifMessage{Text: "Why.\n\nHow.", Markdown: "Why.\n\nHow."}, DefaultConfiguration: sarifConfiguration{Level: "error"},
			Properties: sarifRuleProperties{Tags: []string{"desktop-plugin-check", "labels"}}},
		{ID: "api/bare", Name: "ApiBare", ShortDescription: sarifMessage{Text: "Bare"}, FullDescription: sarifMessage{Text: "Bare"},
			DefaultConfiguration: sarifConfiguration{Level: "note"}, Properties: sarifRuleProperties{Tags: []string{"desktop-plugin-check", "api"}}},
		{ID: "unknown/rule", Name: "UnknownRule", ShortDescription: sarifMessage{Text: "unknown/rule"}, FullDescription: sarifMessage{Text: "unknown/rule"},
			DefaultConfiguration: sarifConfiguration{Level: "warning"}, Properties: sarifRuleProperties{Tags: []string{"desktop-plugin-check", "unknown"}}},
	}
	if diff := cmp.Diff(want, log.Runs[0].Tool.Driver.Rules); diff != "" {
		t.Errorf("rules mismatch (-want +got):\n%s", diff)
	}
	if got := []int{log.Runs[0].Results[0].RuleIndex, log.Runs[0].Results[1].RuleIndex}; !cmp.Equal(got, []int{1, 2}) {
		t.Errorf("rule indexes %v, want [1 2]", got)
	}
}

func TestSARIFKeepsTheMostSevere(t *testing.T) {
	t.Parallel()
	r := &Report{}
	for i := 0; i < maxSARIFResults; i++ {
		r.Findings = append(r.Findings, checks.Finding{Rule: "x/notice", Severity: checks.Notice, Message: fmt.Sprint(i)})
	}
	for i := 0; i < 1000; i++ {
		r.Findings = append(r.Findings, checks.Finding{Rule: "x/error", Severity: checks.Error, Message: fmt.Sprint(i)})
	}
	var buf bytes.Buffer
	if err := SARIF(&buf, r); err != nil {
		t.Fatal(err)
	}
	log := checkSARIFShape(t, buf.Bytes(), false)
	run := log.Runs[0]
	levels := map[string]int{}
	for _, res := range run.Results {
		levels[res.Level]++
	}
	if diff := cmp.Diff(map[string]int{"error": 1000, "note": maxSARIFResults - 1000}, levels); diff != "" {
		t.Errorf("results per level mismatch (-want +got):\n%s", diff)
	}
	if run.Properties == nil || run.Properties.OmittedResults != 1000 {
		t.Errorf("run properties %+v, want 1000 omitted results", run.Properties)
	}
}

func TestSARIFEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := SARIF(&buf, &Report{Result: ResultPass}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"results": []`) || !strings.Contains(buf.String(), `"rules": []`) {
		t.Errorf("SARIF() for no findings:\n%s\nwant empty results and rules arrays", buf.String())
	}
}
