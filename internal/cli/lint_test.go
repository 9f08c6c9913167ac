package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
)

// pluginDockerfile builds a clean extension: every label, the UI from a
// stage, metadata.json, the icon and the host binaries from the context.
const pluginDockerfile = `# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM node:20 AS client-builder
WORKDIR /ui
COPY ui /ui
RUN npm ci && npm run build

FROM scratch
LABEL org.opencontainers.image.title="Disk Usage" \
    org.opencontainers.image.description="See what takes space in Docker Desktop." \
    org.opencontainers.image.vendor="Acme Tools" \
    com.docker.desktop.extension.api.version=">= 0.3.4" \
    com.docker.desktop.extension.icon="https://acme.example/icon.svg" \
    com.docker.extension.screenshots='[{"alt":"Main view","url":"https://acme.example/s1.png"}]' \
    com.docker.extension.detailed-description="<p>Shows disk usage.</p>" \
    com.docker.extension.publisher-url="https://acme.example" \
    com.docker.extension.changelog="<ul><li>First release</li></ul>" \
    com.docker.extension.categories="utility-tools" \
    com.docker.extension.additional-urls='[{"title":"Docs","url":"https://acme.example/docs"}]'
COPY metadata.json docker.svg /
COPY --from=client-builder /ui/build /ui
COPY host/tool.cmd /windows/tool.cmd
COPY host/tool /darwin/tool
COPY host/tool /linux/tool
`

// pluginTree is a clean plugin repository.
func pluginTree() map[string]string {
	return map[string]string{
		"Dockerfile":      pluginDockerfile,
		"metadata.json":   imagetest.PluginMetadata,
		"docker.svg":      "<svg/>",
		"host/tool":       "#!/bin/sh\n",
		"host/tool.cmd":   "@echo off\r\n",
		"ui/package.json": "{}",
	}
}

// writeTree writes files (slash paths) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// lintReport is what the lint tests read of the JSON report.
type lintReport struct {
	Image     string `json:"image"`
	Source    string `json:"source"`
	Profile   string `json:"profile"`
	Result    string `json:"result"`
	Platforms []struct {
		Platform string `json:"platform"`
	} `json:"platforms"`
	Findings []lintFinding `json:"findings"`
}

type lintFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Platform string `json:"platform"`
	Pointer  string `json:"pointer"`
	Path     string `json:"path"`
	Label    string `json:"label"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
}

// lintJSON lints dir through run with a JSON report.
func lintJSON(t *testing.T, dir string, flags ...string) (lintReport, result) {
	t.Helper()
	r := runCLI(t, "", append(append([]string{"lint", "--format", "json"}, flags...), dir)...)
	var rep lintReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("exit %d: decoding the JSON report: %v\nstdout: %s\nstderr: %s", r.code, err, r.stdout, r.stderr)
	}
	return rep, r
}

// places lists findings as "RULE SEVERITY FILE:LINE:COLUMN", sorted.
func places(fs []lintFinding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Severity+" "+f.File+":"+strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Column))
	}
	slices.Sort(out)
	return out
}

func TestLintPasses(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, pluginTree())
	rep, r := lintJSON(t, dir)
	if r.code != 0 || rep.Result != "pass" || len(rep.Findings) != 0 {
		t.Errorf("exit %d, result %q, findings %v; want 0, pass, none (stderr %s)", r.code, rep.Result, places(rep.Findings), r.stderr)
	}
	if rep.Image != "" || rep.Source != dir || rep.Profile != "extension" || len(rep.Platforms) != 2 {
		t.Errorf("report image %q, source %q, profile %q, %d platforms; want no image, %s, extension, 2", rep.Image, rep.Source, rep.Profile, len(rep.Platforms), dir)
	}
	text := runCLI(t, "", "lint", dir)
	if text.code != 0 || !strings.HasPrefix(text.stdout, "PASS lint of "+dir) || !strings.Contains(text.stdout, "0 request(s)") {
		t.Errorf("text report (exit %d):\n%s", text.code, text.stdout)
	}
}

// TestLintDefaultsToTheWorkingDirectory: DIR defaults to ".".
func TestLintDefaultsToTheWorkingDirectory(t *testing.T) {
	dir := writeTree(t, pluginTree())
	t.Chdir(dir)
	if r := runCLI(t, "", "lint"); r.code != 0 || !strings.HasPrefix(r.stdout, "PASS lint of .") {
		t.Errorf("lint with no DIR: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestLintFindingsOnTheirLines(t *testing.T) {
	t.Parallel()
	files := pluginTree()
	df := strings.Replace(pluginDockerfile,
		`com.docker.extension.screenshots='[{"alt":"Main view","url":"https://acme.example/s1.png"}]'`,
		`com.docker.extension.screenshots="[{"alt":"Main","url":"https://acme.example/s1.png"}]"`, 1)
	df = strings.Replace(df, `    com.docker.extension.changelog="<ul><li>First release</li></ul>" \`+"\n", "", 1)
	df = strings.Replace(df, "COPY metadata.json docker.svg /", "COPY metadata.json logo.svg /", 1)
	df = strings.Replace(df, "RUN npm ci && npm run build\n", "RUN npm ci && npm run build\nLABEL com.docker.extension.changelog=\"https://acme.example/changes\"\n", 1)
	files["Dockerfile"] = df
	files["logo.svg"] = "<svg/>"
	files["metadata.json"] = strings.Replace(imagetest.PluginMetadata, `"icon": "docker.svg",`, `"icon": "docker.svg",`+"\n  \"name\": \"Disk Usage\",", 1)
	rep, r := lintJSON(t, writeTree(t, files))
	want := []string{
		"labels/format error Dockerfile:14:5",       // the screenshots lost their quotes
		"labels/required error Dockerfile:9:0",      // no changelog: the final stage's last LABEL
		"metadata/obsolete error metadata.json:3:0", // the extension profile
		"source/files error metadata.json:2:0",      // the icon is not copied
		"source/quote warning Dockerfile:14:41",     // the quote that ends the value
		"source/stray-label warning Dockerfile:6:7",
	}
	if diff := cmp.Diff(want, places(rep.Findings)); diff != "" {
		t.Errorf("findings mismatch (-want +got):\n%s", diff)
		for _, f := range rep.Findings {
			t.Log(f.Rule, f.Message)
		}
	}
	if r.code != 1 || rep.Result != "fail" {
		t.Errorf("exit %d, result %q; want 1, fail", r.code, rep.Result)
	}
}

func TestLintDockerfileThatDoesNotParse(t *testing.T) {
	t.Parallel()
	files := pluginTree()
	files["Dockerfile"] = "FROM scratch\nLABEL com.docker.extension.detailed-description=\"<ul>\\\n<li>one</li>\n<li>two</li></ul>\"\nCOPY metadata.json /\n"
	files["metadata.json"] = `{"name": "old"}`
	rep, r := lintJSON(t, writeTree(t, files))
	want := []string{"metadata/obsolete warning metadata.json:1:0", "source/dockerfile error Dockerfile:4:0"}
	if diff := cmp.Diff(want, places(rep.Findings)); diff != "" {
		t.Errorf("findings mismatch (-want +got):\n%s", diff)
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1: a Dockerfile BuildKit refuses is a finding (stderr %s)", r.code, r.stderr)
	}
}

func TestLintMetadataNotJSON(t *testing.T) {
	t.Parallel()
	files := pluginTree()
	files["metadata.json"] = "{\n  \"icon\": \"docker.svg\"\n  \"ui\": {}\n}\n"
	rep, r := lintJSON(t, writeTree(t, files))
	want := []string{"metadata/schema error metadata.json:3:0"}
	if diff := cmp.Diff(want, places(rep.Findings)); diff != "" {
		t.Errorf("findings mismatch (-want +got):\n%s", diff)
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
}

// TestLintFindsMetadataWhereTheDockerfileTakesIt: metadata.json is read
// from where the final stage copies it, and the compose file it names.
func TestLintFindsMetadataWhereTheDockerfileTakesIt(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"docker/Dockerfile": "FROM alpine\nLABEL org.opencontainers.image.title=T org.opencontainers.image.authors=A com.docker.desktop.plugin.api.version=\">= 0.3.4\"\n" +
			"COPY etc/metadata.json vm/compose.yaml /\n",
		"etc/metadata.json": `{"vm": {"composefile": "compose.yaml"}}`,
		"vm/compose.yaml":   "services:\n  backend:\n    build: .\n",
	}
	rep, r := lintJSON(t, writeTree(t, files), "--dockerfile", "docker/Dockerfile")
	want := []string{"vm/compose error etc/metadata.json:1:0"}
	if diff := cmp.Diff(want, places(rep.Findings)); diff != "" {
		t.Errorf("findings mismatch (-want +got):\n%s\nstderr: %s", diff, r.stderr)
	}
}

func TestLintBuildArgsAndTarget(t *testing.T) {
	t.Parallel()
	files := pluginTree()
	df := strings.Replace(pluginDockerfile, "FROM scratch\n", "FROM scratch AS release\nARG VERSION\n", 1)
	df = strings.Replace(df, `com.docker.extension.changelog="<ul><li>First release</li></ul>"`, `com.docker.extension.changelog="https://acme.example/v${VERSION}"`, 1)
	// The debug stage sets a label over its base's: not set twice.
	files["Dockerfile"] = df + "\nFROM release AS debug\nLABEL com.docker.extension.categories=\"not-a-category\"\n"
	dir := writeTree(t, files)
	rules := func(rep lintReport) []string {
		out := []string{}
		for _, f := range rep.Findings {
			out = append(out, f.Rule+" "+f.Severity)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string
	}{
		{"the last stage", nil, []string{"labels/format warning", "source/unset-arg warning"}},
		{"the release stage", []string{"--target", "release"}, []string{"source/unset-arg warning"}},
		{"with the build argument", []string{"--target", "release", "--build-arg", "VERSION=1.2.0"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep, r := lintJSON(t, dir, tc.flags...)
			if diff := cmp.Diff(tc.want, rules(rep)); diff != "" {
				t.Errorf("findings mismatch (-want +got):\n%s\nstderr: %s", diff, r.stderr)
			}
		})
	}
}

func TestLintTargetsEachPlatform(t *testing.T) {
	t.Parallel()
	files := pluginTree()
	files["Dockerfile"] = strings.Replace(strings.Replace(pluginDockerfile, "FROM scratch\n", "FROM scratch\nARG TARGETARCH\n", 1),
		`com.docker.extension.categories="utility-tools"`, `com.docker.extension.categories="utility-tools,${TARGETARCH}"`, 1)
	rep, _ := lintJSON(t, writeTree(t, files))
	var consistent []string
	for _, f := range rep.Findings {
		if f.Rule == "labels/consistent" {
			consistent = append(consistent, f.Label)
		}
	}
	if len(consistent) != 1 || consistent[0] != "com.docker.extension.categories" {
		t.Errorf("labels/consistent findings on %v, want the categories label (findings %v)", consistent, places(rep.Findings))
	}
}

func TestLintFormatsPlaceFindings(t *testing.T) {
	t.Parallel()
	files := pluginTree()
	files["Dockerfile"] = strings.Replace(pluginDockerfile, "COPY metadata.json docker.svg /", "COPY metadata.json /", 1)
	dir := writeTree(t, files)
	gh := runCLI(t, "", "lint", "--format", "github", dir)
	if !strings.Contains(gh.stdout, "::error file=metadata.json,line=2,title=source/files::") {
		t.Errorf("github annotations lack the icon's line:\n%s", gh.stdout)
	}
	sarif := runCLI(t, "", "lint", "--format", "sarif", dir)
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					Physical struct {
						Artifact struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(sarif.stdout), &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Results) != 1 {
		t.Fatalf("SARIF (%v):\n%s", err, sarif.stdout)
	}
	res := log.Runs[0].Results[0]
	if res.RuleID != "source/files" || len(res.Locations) != 1 || res.Locations[0].Physical.Artifact.URI != "metadata.json" || res.Locations[0].Physical.Region.StartLine != 2 {
		t.Errorf("SARIF result %+v, want source/files at metadata.json:2", res)
	}
}

func TestLintConfigAndFailOn(t *testing.T) {
	t.Parallel()
	files := pluginTree()
	files["Dockerfile"] = strings.Replace(pluginDockerfile, `com.docker.extension.detailed-description="<p>Shows disk usage.</p>"`,
		`com.docker.extension.detailed-description="<a href="https://acme.example">Acme</a>"`, 1)
	dir := writeTree(t, files)
	if r := runCLI(t, "", "lint", dir); r.code != 0 {
		t.Errorf("a warning fails the default lint: exit %d\n%s", r.code, r.stdout)
	}
	if r := runCLI(t, "", "lint", "--fail-on", "warning", dir); r.code != 1 {
		t.Errorf("--fail-on warning: exit %d, want 1", r.code)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("fail-on: warning\nrules:\n  source/quote: off\n"), 0o644)
	if r := runCLI(t, "", "lint", "--config", cfg, dir); r.code != 0 || strings.Contains(r.stdout, "source/quote") {
		t.Errorf("with source/quote off: exit %d\n%s", r.code, r.stdout)
	}
}

func TestLintUsage(t *testing.T) {
	t.Parallel()
	dir := writeTree(t, pluginTree())
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"an image flag", []string{"lint", "--release", "1.0.0", dir}, "--release is for an image check"},
		{"two directories", []string{"lint", dir, dir}, "one directory"},
		{"no Dockerfile", []string{"lint", t.TempDir()}, "reading the Dockerfile"},
		{"no such directory", []string{"lint", filepath.Join(dir, "nope")}, "opening the directory"},
		{"a build arg without a value", []string{"lint", "--build-arg", "VERSION", dir}, "want NAME=VALUE"},
		{"--target without lint", []string{"--target", "release", "acme/p:1.0.0"}, "--target and --build-arg are for lint"},
		{"a missing --metadata-file", []string{"lint", "--metadata-file", "nope.json", dir}, "reading --metadata-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, "", tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

// TestActionLintsTheSource: input source alone lints, annotating the lines
// of the files relative to the workspace.
func TestActionLintsTheSource(t *testing.T) {
	t.Parallel()
	r := newRunner(t, map[string]string{"source": "plugin", "metadata-file": ""})
	files := pluginTree()
	files["Dockerfile"] = strings.Replace(pluginDockerfile, "COPY metadata.json docker.svg /", "COPY metadata.json /", 1)
	for p, content := range files {
		full := filepath.Join(r.workspace, "plugin", filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.run()
	if r.code != 1 || !strings.Contains(r.stdout, "::error file=plugin/metadata.json,line=2,title=source/files::") {
		t.Errorf("exit %d; stdout lacks the annotation on plugin/metadata.json:2:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if out := r.outputs(); out["result"] != "fail" || out["errors"] != "1" {
		t.Errorf("outputs %v, want result fail and 1 error", out)
	}
}

// TestActionSourceBesideTheImage: with image and source, the image is
// checked, the sources linted, and the image's labels compared with the
// Dockerfile's.
func TestActionSourceBesideTheImage(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	labels := imagetest.ExtensionLabels()
	labels["org.opencontainers.image.vendor"] = "Acme Tools (old)"
	imagetest.Push(t, host+"/acme/disk-usage:1.0.0", imagetest.Plugin(t, labels, imagetest.PluginMetadata, 256))
	r := newRunner(t, map[string]string{"image": host + "/acme/disk-usage:1.0.0", "source": ".", "metadata-file": "", "annotations": "false"})
	for p, content := range pluginTree() {
		full := filepath.Join(r.workspace, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.run()
	raw, err := os.ReadFile(filepath.Join(r.workspace, ".desktop-plugin-check", "report.json"))
	if err != nil {
		t.Fatalf("exit %d, no JSON report: %v\n%s", r.code, err, r.stderr)
	}
	var rep lintReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	want := []string{"source/image-labels warning Dockerfile:10:5"}
	if diff := cmp.Diff(want, places(rep.Findings)); diff != "" {
		t.Errorf("findings mismatch (-want +got):\n%s\nstderr: %s", diff, r.stderr)
	}
	if rep.Image == "" || r.code != 0 {
		t.Errorf("image %q, exit %d: want the image checked and passing", rep.Image, r.code)
	}
}

// TestActionSourceStaysInTheWorkspace: a Dockerfile that is a symlink out of
// the workspace is not read.
func TestActionSourceStaysInTheWorkspace(t *testing.T) {
	t.Parallel()
	outside := writeTree(t, pluginTree())
	r := newRunner(t, map[string]string{"source": "plugin", "metadata-file": ""})
	os.MkdirAll(filepath.Join(r.workspace, "plugin"), 0o755)
	if err := os.Symlink(filepath.Join(outside, "Dockerfile"), filepath.Join(r.workspace, "plugin", "Dockerfile")); err != nil {
		t.Skip(err)
	}
	r.run()
	if r.code != 2 || !strings.Contains(r.stderr, "reading the Dockerfile") {
		t.Errorf("exit %d, stderr %q: want 2, the Dockerfile not read", r.code, r.stderr)
	}
}
