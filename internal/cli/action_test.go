package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"go.yaml.in/yaml/v3"
)

// runner is the environment a GitHub runner gives a docker action.
type runner struct {
	t                                *testing.T
	workspace, output, summary, temp string
	env                              map[string]string
	stdout, stderr                   string
	code                             int
}

const pullRequestEvent = `{
  "action": "synchronize",
  "number": 7,
  "pull_request": {
    "number": 7,
    "head": {"ref": "release-1.2.0", "sha": "0123456789abcdef0123456789abcdef01234567",
             "repo": {"full_name": "acme/disk-usage", "fork": false}},
    "base": {"ref": "main", "repo": {"full_name": "acme/disk-usage", "fork": false}}
  },
  "repository": {"full_name": "acme/disk-usage", "fork": false}
}`

const dockerfile = `FROM golang:1.26 AS build
RUN go build -o /service .

FROM alpine:3.22
LABEL org.opencontainers.image.title="Disk Usage" \
      org.opencontainers.image.description="See what takes space." \
      org.opencontainers.image.vendor="Acme Tools" \
      com.docker.desktop.extension.api.version=">= 0.3.4"
COPY metadata.json /
`

func newRunner(t *testing.T, inputs map[string]string) *runner {
	t.Helper()
	r := &runner{t: t, workspace: t.TempDir(), temp: t.TempDir()}
	r.output = filepath.Join(r.temp, "output")
	r.summary = filepath.Join(r.temp, "summary")
	event := filepath.Join(r.temp, "event.json")
	for p, content := range map[string]string{
		event:                                    pullRequestEvent,
		r.output:                                 "",
		r.summary:                                "",
		filepath.Join(r.workspace, "Dockerfile"): dockerfile,
		filepath.Join(r.workspace, "metadata.json"): imagetest.PluginMetadata,
	} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.env = map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": r.workspace, "GITHUB_OUTPUT": r.output,
		"GITHUB_STEP_SUMMARY": r.summary, "GITHUB_EVENT_PATH": event, "GITHUB_EVENT_NAME": "pull_request",
		"GITHUB_REPOSITORY": "acme/disk-usage", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "42",
		"RUNNER_TEMP": r.temp, "HOME": t.TempDir(),
		// Defaults the runner fills in from action.yml.
		"INPUT_DOCKERFILE": "Dockerfile", "INPUT_METADATA-FILE": "metadata.json",
		"INPUT_SUMMARY": "true", "INPUT_ANNOTATIONS": "true", "INPUT_ALLOWLIST-REQUEST": "false",
	}
	for k, v := range inputs {
		r.env["INPUT_"+strings.ToUpper(k)] = v
	}
	return r
}

func (r *runner) run() {
	r.t.Helper()
	var out, errb bytes.Buffer
	r.code = run(context.Background(), nil, func(k string) string { return r.env[k] }, strings.NewReader(""), &out, &errb)
	r.stdout, r.stderr = out.String(), errb.String()
}

// outputs parses GITHUB_OUTPUT's multi-line entries.
func (r *runner) outputs() map[string]string {
	r.t.Helper()
	raw, err := os.ReadFile(r.output)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]string{}
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		if !strings.HasPrefix(delim, "ghadelimiter_") || len(delim) < len("ghadelimiter_")+16 {
			r.t.Errorf("output %s uses delimiter %q, want a random one", name, delim)
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func (r *runner) file(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

var annotation = regexp.MustCompile(`^::(error|warning|notice)( [^:]*)?::`)

func TestActionPass(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/acme/disk-usage:1.0.0", imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 1024))
	r := newRunner(t, map[string]string{"image": host + "/acme/disk-usage:1.0.0", "sarif-file": "results.sarif"})
	r.run()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	out := r.outputs()
	if out["result"] != "pass" || out["version"] != "1.0.0" || out["findings"] != "0" || out["errors"] != "0" || !strings.HasPrefix(out["digest"], "sha256:") {
		t.Errorf("outputs = %v", out)
	}
	if out["report"] != ".desktop-plugin-check/report.json" || !strings.Contains(r.file(filepath.Join(r.workspace, out["report"])), `"result": "pass"`) {
		t.Errorf("report output %q does not hold the JSON report", out["report"])
	}
	if out["sarif"] != "results.sarif" || !strings.Contains(r.file(filepath.Join(r.workspace, "results.sarif")), `"version": "2.1.0"`) {
		t.Errorf("sarif output %q, file not written in the workspace", out["sarif"])
	}
	if s := r.file(r.summary); !strings.Contains(s, "pass") || !strings.Contains(s, "linux/arm64") {
		t.Errorf("summary lacks the result or platforms:\n%s", s)
	}
}

func TestActionAnnotationsOnTheRightLines(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	labels := imagetest.ExtensionLabels()
	labels["org.opencontainers.image.vendor"] = "Awesome Inc."
	delete(labels, "com.docker.extension.changelog")
	broken := strings.Replace(imagetest.PluginMetadata, `"src": "index.html",`, ``, 1)
	imagetest.Push(t, host+"/acme/disk-usage:1.0.0", imagetest.Plugin(t, labels, broken, 1024))
	r := newRunner(t, map[string]string{"image": host + "/acme/disk-usage:1.0.0"})
	if err := os.WriteFile(filepath.Join(r.workspace, "metadata.json"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	r.run()
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:%s\nstderr:%s", r.code, r.stdout, r.stderr)
	}
	want := []string{
		// The missing label: the final stage's LABEL instruction.
		"::error file=Dockerfile,line=",
		"title=labels/required::",
		// The template vendor: its own line in the LABEL continuation (line 7).
		"::warning file=Dockerfile,line=7,title=labels/template::",
		// The missing src: the line of its parent object in metadata.json.
		"::error file=metadata.json,line=4,title=metadata/schema::",
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("annotations lack %q:\n%s", w, r.stdout)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if !annotation.MatchString(line) {
			t.Errorf("stdout line is not an annotation: %q", line)
		}
	}
	if out := r.outputs(); out["result"] != "fail" || out["errors"] == "0" {
		t.Errorf("outputs = %v", out)
	}
}

func TestActionHostileLabelsNeverBecomeCommands(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	labels := imagetest.ExtensionLabels()
	labels["com.docker.extension.publisher-url"] = "x\n::error::pwned\r\n::add-mask::x %0A::set-output name=result::pass"
	labels["com.docker.extension.categories"] = "| a | b |\n<!-- hidden -->\n@everyone `code` ::warning::x"
	imagetest.Push(t, host+"/acme/disk-usage:1.0.0", imagetest.Plugin(t, labels, imagetest.PluginMetadata, 1024))
	r := newRunner(t, map[string]string{"image": host + "/acme/disk-usage:1.0.0", "registry-username": "ci", "registry-password": "s3cret\nline2"})
	r.run()
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	masks := 0
	for _, line := range lines {
		if strings.HasPrefix(line, "::add-mask::") {
			masks++
			continue
		}
		if !annotation.MatchString(line) || strings.HasPrefix(line, "::error::pwned") {
			t.Errorf("hostile text started a command or a line: %q", line)
		}
	}
	if masks != 2 || !strings.HasPrefix(lines[0], "::add-mask::s3cret") {
		t.Errorf("want the password masked line by line before any other output, got %d masks:\n%s", masks, r.stdout)
	}
	if strings.Contains(r.stderr, "s3cret") {
		t.Error("the password reached stderr")
	}
	if s := r.file(r.summary); strings.Contains(s, "<!-- hidden -->") || strings.Contains(s, "| a | b |") {
		t.Errorf("hostile markdown reached the summary unescaped:\n%s", s)
	}
	if out := r.outputs(); out["result"] != "fail" {
		t.Errorf("a label rewrote the result output: %v", out)
	}
}

func TestActionCouldNotRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		unset  []string
		want   string
	}{
		{"no image", map[string]string{}, nil, "input image is required"},
		{"bad boolean", map[string]string{"image": "x", "summary": "yes"}, nil, "input summary"},
		{"unknown rule in config", map[string]string{"image": "oci:testdata", "config": "cfg.yaml"}, nil, `unknown rule "labels/nope"`},
		{"missing image, no runner files", map[string]string{"image": "oci:does-not-exist"}, []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"}, "opening OCI layout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, tc.inputs)
			os.WriteFile(filepath.Join(r.workspace, "cfg.yaml"), []byte("rules:\n  labels/nope: off\n"), 0o644)
			for _, k := range tc.unset {
				delete(r.env, k)
			}
			r.run()
			if r.code != 2 {
				t.Fatalf("exit %d, want 2", r.code)
			}
			if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stdout, "::error title=desktop-plugin-check::") {
				t.Errorf("stderr %q / stdout %q, want %q and an error annotation", r.stderr, r.stdout, tc.want)
			}
			if len(tc.unset) == 0 {
				if out := r.outputs(); out["result"] != "error" {
					t.Errorf("outputs = %v, want result error", out)
				}
				if s := r.file(r.summary); !strings.Contains(s, "could not run") {
					t.Errorf("summary = %q", s)
				}
			}
		})
	}
}

func TestActionConfigPrecedence(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	labels := imagetest.ExtensionLabels()
	labels["org.opencontainers.image.vendor"] = "Awesome Inc." // labels/template warning
	imagetest.Push(t, host+"/acme/disk-usage:1.0.0", imagetest.Plugin(t, labels, imagetest.PluginMetadata, 1024))
	for _, tc := range []struct {
		name   string
		config string
		inputs map[string]string
		code   int
	}{
		{"warning passes by default", "", nil, 0},
		{"config fails on warnings", "fail-on: warning\n", nil, 1},
		{"input wins over config", "fail-on: warning\n", map[string]string{"fail-on": "error"}, 0},
		{"config raises the rule", "rules:\n  labels/template: error\n", nil, 1},
		{"config turns the rule off", "fail-on: warning\nrules:\n  labels/template: off\n", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inputs := map[string]string{"image": host + "/acme/disk-usage:1.0.0"}
			for k, v := range tc.inputs {
				inputs[k] = v
			}
			r := newRunner(t, inputs)
			if tc.config != "" {
				os.WriteFile(filepath.Join(r.workspace, ".desktop-plugin-check.yaml"), []byte(tc.config), 0o644)
			}
			r.run()
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestCLIConfigUnknownKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("profiles: plugin\n"), 0o644)
	r := runCLI(t, "", "--config", p, "oci:"+exampleLayout)
	if r.code != 2 || !strings.Contains(r.stderr, "profiles") {
		t.Errorf("exit %d, stderr %q: want 2 naming the unknown key", r.code, r.stderr)
	}
}

// TestActionYAMLInputsAreRead: every input action.yml declares is read in
// action mode, and every output the code writes is declared.
func TestActionYAMLInputsAreRead(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Inputs  map[string]struct{ Description string } `yaml:"inputs"`
		Outputs map[string]struct{ Description string } `yaml:"outputs"`
		Runs    struct{ Using, Image string }           `yaml:"runs"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Runs.Using != "docker" || spec.Runs.Image != "Dockerfile" {
		t.Errorf("runs = %+v, want docker with the Dockerfile", spec.Runs)
	}
	src, err := os.ReadFile(filepath.Join("..", "action", "action.go"))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range spec.Inputs {
		if in.Description == "" {
			t.Errorf("input %s has no description", name)
		}
		if !strings.Contains(string(src), `"`+name+`"`) && !strings.Contains(string(src), `"INPUT_`+strings.ToUpper(name)+`"`) {
			t.Errorf("input %s is declared but never read", name)
		}
	}
	for _, name := range []string{"result", "digest", "version", "findings", "errors", "pushed", "report", "sarif", "allowlist-request-url", "check-run-url", "comment-url"} {
		if spec.Outputs[name].Description == "" {
			t.Errorf("output %s is written but not declared (with a description)", name)
		}
	}
}

// TestActionWritesNothingOutsideTheWorkspace: with the report directory or
// the SARIF file a symlink out of the workspace, nothing is written there.
func TestActionWritesNothingOutsideTheWorkspace(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/acme/disk-usage:1.0.0", imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 256))
	r := newRunner(t, map[string]string{"image": host + "/acme/disk-usage:1.0.0", "sarif-file": "out/results.sarif"})
	outside := t.TempDir()
	for _, link := range []string{".desktop-plugin-check", "out"} {
		if err := os.Symlink(outside, filepath.Join(r.workspace, link)); err != nil {
			t.Fatal(err)
		}
	}
	r.run()
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s was written outside the workspace", e.Name())
	}
	out := r.outputs()
	if out["report"] != "" || out["sarif"] != "" {
		t.Errorf("outputs name files that were not written: report %q, sarif %q", out["report"], out["sarif"])
	}
	if !strings.Contains(r.stderr, "writing the JSON report") || !strings.Contains(r.stderr, "writing SARIF to out/results.sarif") {
		t.Errorf("stderr does not say what was not written:\n%s", r.stderr)
	}
}

// TestActionConfigSymlinkedOutOfTheWorkspace: a config file that is a
// symlink to a host file is refused, and none of that file is quoted.
func TestActionConfigSymlinkedOutOfTheWorkspace(t *testing.T) {
	t.Parallel()
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("root:supersecret:0:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, map[string]string{"image": "oci:testdata"})
	if err := os.Symlink(secret, filepath.Join(r.workspace, ".desktop-plugin-check.yaml")); err != nil {
		t.Fatal(err)
	}
	r.run()
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	if strings.Contains(r.stdout+r.stderr, "supersecret") || strings.Contains(r.stdout+r.stderr, "root:") {
		t.Errorf("the host file's content reached the log:\n%s\n%s", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "reading config") {
		t.Errorf("stderr does not say the config could not be read:\n%s", r.stderr)
	}
}

// TestConfigErrorsDoNotQuoteValues: a YAML type error names the line, not
// the value.
func TestConfigErrorsDoNotQuoteValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("profile: [root:x:0:0]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := loadConfig("c.yaml", dir)
	if err == nil || strings.Contains(err.Error(), "root:x") || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("loadConfig() error = %v, want the line without the value", err)
	}
}

// TestActionErrorLinesAreOneEscapedAnnotation: a registry's hostile error
// text (ESC, bidi override, many lines) becomes one escaped, capped
// annotation, never one per line.
func TestActionErrorLinesAreOneEscapedAnnotation(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("\x1b[31mevil\u202e line\n::error::injected\n", 500)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"errors":[{"code":"DENIED","message":%q}]}`, body)
	}))
	defer srv.Close()
	r := newRunner(t, map[string]string{"image": strings.TrimPrefix(srv.URL, "http://") + "/acme/p:1.0.0"})
	r.run()
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	var errorsOut []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "::error") {
			errorsOut = append(errorsOut, line)
		}
	}
	if len(errorsOut) != 1 {
		t.Fatalf("%d error annotations, want 1:\n%s", len(errorsOut), strings.Join(errorsOut, "\n"))
	}
	a := errorsOut[0]
	if strings.ContainsAny(a, "\x1b\u202e") || len(a) > 4096+200 {
		t.Errorf("annotation keeps control characters or is %d bytes long: %.300q", len(a), a)
	}
	if strings.ContainsAny(r.stderr, "\x1b\u202e") {
		t.Errorf("stderr keeps control characters: %.300q", r.stderr)
	}
}

// TestCLIInARunStep: GitHub sets GITHUB_ACTIONS=true in every step; the CLI
// with arguments in a run: step obeys them instead of reading inputs.
func TestCLIInARunStep(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	ref := host + "/acme/disk-usage:1.0.0"
	imagetest.Push(t, ref, imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 256))
	r := newRunner(t, nil) // no INPUT_IMAGE: a run: step has no inputs
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--format", "json", ref}, func(k string) string { return r.env[k] }, strings.NewReader(""), &out, &errb)
	if code != 0 || !strings.Contains(out.String(), `"result": "pass"`) {
		t.Fatalf("exit %d, want the CLI's JSON report\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
	if strings.Contains(out.String(), "::") || r.file(r.output) != "" {
		t.Errorf("the CLI in a run: step wrote workflow commands or step outputs:\n%s", out.String())
	}
}

// TestVersionFlag: --version prints the tool's version, not a release.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	r := runCLI(t, "", "--version")
	if r.code != 0 || r.stdout != "desktop-plugin-check devel\n" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestActionSARIFOfARunThatCouldNotCheck: the SARIF file says the run did
// not succeed, and the sarif output stays unset so upload-sarif skips it.
func TestActionSARIFOfARunThatCouldNotCheck(t *testing.T) {
	t.Parallel()
	// Configs and manifests are served; every layer blob is a 500.
	var broken atomic.Bool
	configDigests := map[string]bool{}
	host := imagetest.RegistryWith(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if broken.Load() && strings.Contains(req.URL.Path, "/blobs/") && req.Method == http.MethodGet && !configDigests[req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]] {
				http.Error(w, "storage down", http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, req)
		})
	})
	idx := imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 256)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		img, _ := idx.Image(d.Digest)
		c, _ := img.ConfigName()
		configDigests[c.String()] = true
	}
	imagetest.Push(t, host+"/acme/p:1.0.0", idx)
	broken.Store(true)
	r := newRunner(t, map[string]string{"image": host + "/acme/p:1.0.0", "sarif-file": "results.sarif", "timeout": "3s"})
	r.run()
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if out := r.outputs(); out["sarif"] != "" || out["result"] != "error" {
		t.Errorf("outputs = %v, want result error and no sarif", out)
	}
	if s := r.file(filepath.Join(r.workspace, "results.sarif")); !strings.Contains(s, `"executionSuccessful": false`) {
		t.Errorf("the SARIF file does not say the run failed:\n%s", s)
	}
}

// TestActionVersionInputIsTheRelease: the Action's version input is the
// release version (the CLI's --release), never the tool's --version.
func TestActionVersionInputIsTheRelease(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	imagetest.Push(t, host+"/acme/disk-usage:candidate", imagetest.Plugin(t, imagetest.ExtensionLabels(), imagetest.PluginMetadata, 256))
	r := newRunner(t, map[string]string{"image": host + "/acme/disk-usage:candidate", "version": "1.2.0"})
	r.run()
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if out := r.outputs(); out["version"] != "1.2.0" || out["result"] != "pass" {
		t.Errorf("outputs = %v, want version 1.2.0 and a pass", out)
	}
}
