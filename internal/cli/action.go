package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/report"
)

// The GitHub Action mode: the runner passes inputs as INPUT_<NAME>
// variables (upper case, hyphens kept) and reads outputs, the job summary
// and annotations from files and stdout. go-githubactions v1.3.2 writes
// outputs with a fixed heredoc delimiter and panics when GITHUB_OUTPUT is
// unset, so the few file commands needed are written here.

// actionSettings are the Action inputs that are not CLI flags.
type actionSettings struct {
	summary     bool
	annotations bool
	sarifFile   string
	secrets     []string
	requestURL  string
}

// isAction reports whether the program runs as a GitHub Action.
// isAction reports whether the program was started as the Action: by the
// runner, in the Action's container, with no arguments (inputs come as
// INPUT_* variables). GitHub sets GITHUB_ACTIONS=true in every step, so
// the CLI in a run: step, which has arguments, obeys them.
func isAction(args []string, getenv func(string) string) bool {
	return len(args) == 0 && getenv("GITHUB_ACTIONS") == "true"
}

func input(getenv func(string) string, name string) string {
	return strings.TrimSpace(getenv("INPUT_" + strings.ToUpper(name)))
}

func boolInput(getenv func(string) string, name string, def bool) (bool, error) {
	switch v := input(getenv, name); v {
	case "":
		return def, nil
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	default:
		return false, &usageError{fmt.Sprintf("input %s: %q is not true or false", name, v)}
	}
}

// actionOptions turns the Action's inputs into options, as if they were flags.
func actionOptions(getenv func(string) string, stderr io.Writer) (*options, *actionSettings, error) {
	st := &actionSettings{summary: true, annotations: true}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"summary", &st.summary}, {"annotations", &st.annotations}} {
		v, err := boolInput(getenv, b.name, true)
		if err != nil {
			return nil, st, err
		}
		*b.dst = v
	}
	for _, name := range []string{"registry-password", "allowlist-token", "github-token"} {
		if v := getenv("INPUT_" + strings.ToUpper(name)); strings.TrimSpace(v) != "" {
			st.secrets = append(st.secrets, v)
		}
	}
	img := input(getenv, "image")
	if img == "" {
		return nil, st, &usageError{"input image is required"}
	}
	format := "text"
	if st.annotations {
		format = "github"
	}
	args := []string{"--format", format}
	for _, m := range []struct{ input, flag string }{
		{"version", "release"}, {"repository", "repository"}, {"platforms", "platforms"},
		{"profile", "profile"}, {"fail-on", "fail-on"}, {"config", "config"},
		{"dockerfile", "dockerfile"}, {"metadata-file", "metadata-file"}, {"timeout", "timeout"},
	} {
		if v := input(getenv, m.input); v != "" {
			args = append(args, "--"+m.flag+"="+v)
		}
	}
	request, err := boolInput(getenv, "allowlist-request", false)
	if err != nil {
		return nil, st, err
	}
	if request {
		args = append(args, "--allowlist-request")
		for _, m := range []struct{ input, flag string }{
			{"allowlist-repository", "allowlist-repository"}, {"allowlist-file", "allowlist-file"}, {"allowlist-mode", "allowlist-mode"},
		} {
			if v := input(getenv, m.input); v != "" {
				args = append(args, "--"+m.flag+"="+v)
			}
		}
	}
	if v := input(getenv, "insecure-registries"); v != "" {
		args = append(args, "--insecure-registry="+v)
	}
	if v := input(getenv, "desktop-api-versions"); v != "" {
		args = append(args, "--desktop-api-version="+v)
	}
	args = append(args, "--", img)
	o, err := parseArgs(args, stderr)
	if err != nil {
		return nil, st, err
	}
	o.username = input(getenv, "registry-username")
	o.password = strings.TrimRight(getenv("INPUT_REGISTRY-PASSWORD"), "\r\n")
	if (o.username == "") != (o.password == "") {
		return nil, st, &usageError{"inputs registry-username and registry-password go together"}
	}
	st.sarifFile = input(getenv, "sarif-file")
	o.allowlist.cfg.Token = strings.TrimSpace(getenv("INPUT_ALLOWLIST-TOKEN"))
	return o, st, nil
}

// maskSecrets tells the runner to hide secrets in the log, before anything
// else is printed.
func maskSecrets(w io.Writer, secrets []string) {
	for _, s := range secrets {
		for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				fmt.Fprintf(w, "::add-mask::%s\n", escape.WorkflowData(line))
			}
		}
	}
}

// writeActionFiles writes the outputs and the job summary. Missing runner
// files are skipped with a note, never a crash.
func writeActionFiles(getenv func(string) string, st *actionSettings, o *options, rep *report.Report, runErr error, stderr io.Writer) {
	outputs := map[string]string{"result": report.ResultError, "findings": "0", "errors": "0"}
	if st.requestURL != "" {
		outputs["allowlist-request-url"] = st.requestURL
	}
	if rep != nil {
		outputs["result"] = rep.Result
		outputs["digest"] = rep.Digest
		outputs["version"] = rep.Release
		outputs["findings"] = strconv.Itoa(len(rep.Findings))
		outputs["errors"] = strconv.Itoa(rep.Counts()[checks.Error])
	}
	if runErr != nil && (rep == nil || rep.Result == report.ResultError) {
		outputs["result"] = report.ResultError
	}
	if rep != nil {
		// In a container action only the workspace is shared with later
		// steps under a path they can open (RUNNER_TEMP is not mounted), so
		// the report goes there, and the output is relative to it.
		rel := filepath.Join(".desktop-plugin-check", "report.json")
		writeJSON := func(w io.Writer) error { return report.JSON(w, rep) }
		var err error
		if o.workDir == "" {
			rel = filepath.Join(os.TempDir(), "desktop-plugin-check-report-"+randomHex(6)+".json")
			err = writeFile(rel, writeJSON)
		} else {
			err = writeWorkspaceFile(o.workDir, rel, writeJSON)
		}
		if err != nil {
			fmt.Fprintf(stderr, "desktop-plugin-check: writing the JSON report: %v\n", err)
		} else {
			outputs["report"] = filepath.ToSlash(rel)
		}
		if st.sarifFile != "" {
			f, _ := report.Lookup("sarif")
			if err := writeWorkspaceFile(o.workDir, st.sarifFile, func(w io.Writer) error { return f(w, rep) }); err != nil {
				fmt.Fprintf(stderr, "desktop-plugin-check: writing SARIF to %s: %v\n", st.sarifFile, err)
			} else if rep.Result != report.ResultError {
				// A run that could not check writes SARIF that says so
				// (executionSuccessful false) but does not offer it for
				// upload: uploading it would close every open alert.
				outputs["sarif"] = st.sarifFile
			}
		}
	}
	if p := getenv("GITHUB_OUTPUT"); p != "" {
		if err := appendFile(p, formatOutputs(outputs)); err != nil {
			fmt.Fprintf(stderr, "desktop-plugin-check: writing outputs: %v\n", err)
		}
	} else {
		fmt.Fprintln(stderr, "desktop-plugin-check: GITHUB_OUTPUT is not set: no step outputs written")
	}
	if !st.summary {
		return
	}
	p := getenv("GITHUB_STEP_SUMMARY")
	if p == "" {
		fmt.Fprintln(stderr, "desktop-plugin-check: GITHUB_STEP_SUMMARY is not set: no job summary written")
		return
	}
	var buf bytes.Buffer
	if rep != nil {
		f, _ := report.Lookup("markdown")
		if err := f(&buf, rep); err != nil {
			fmt.Fprintf(stderr, "desktop-plugin-check: rendering the job summary: %v\n", err)
			return
		}
	} else {
		fmt.Fprintf(&buf, "### ⚠️ desktop-plugin-check could not run\n\n%s\n", escape.MarkdownCell(runErr.Error()))
	}
	if err := appendFile(p, buf.Bytes()); err != nil {
		fmt.Fprintf(stderr, "desktop-plugin-check: writing the job summary: %v\n", err)
	}
}

// formatOutputs renders outputs in the runner's multi-line form, each with a
// random delimiter that the value does not contain.
func formatOutputs(outputs map[string]string) []byte {
	var buf bytes.Buffer
	for _, k := range []string{"result", "digest", "version", "findings", "errors", "report", "sarif", "allowlist-request-url"} {
		v, ok := outputs[k]
		if !ok {
			continue
		}
		delim := "ghadelimiter_" + randomHex(16)
		for strings.Contains(v, delim) {
			delim = "ghadelimiter_" + randomHex(16)
		}
		fmt.Fprintf(&buf, "%s<<%s\n%s\n%s\n", k, delim, v, delim)
	}
	return buf.Bytes()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// resolve makes a relative path relative to the repository root.
func resolve(workDir, p string) string {
	if workDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(workDir, p)
}

// resolveSource makes a local source's path relative to the repository root.
func resolveSource(workDir, src string) string {
	for _, prefix := range []string{"oci:", "oci-archive:", "docker-archive:"} {
		if rest, ok := strings.CutPrefix(src, prefix); ok {
			return prefix + resolve(workDir, rest)
		}
	}
	return src
}

// maxSourceFile caps the repository files read to place findings.
const maxSourceFile = 1 << 20

// readSources reads the Dockerfile and metadata.json the findings point
// into. Sources is never nil: SARIF results need a file even when the
// repository has neither (upload-sarif rejects results without a location).
func readSources(o *options) *report.Sources {
	read := func(p string) []byte {
		f, err := os.Open(resolve(o.workDir, p))
		if err != nil {
			return nil
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxSourceFile))
		if err != nil {
			return nil
		}
		return b
	}
	s := &report.Sources{DockerfilePath: filepath.ToSlash(o.dockerfile), MetadataPath: filepath.ToSlash(o.metadataFile)}
	s.Dockerfile, s.Metadata = read(o.dockerfile), read(o.metadataFile)
	return s
}

// writeWorkspaceFile writes rel, relative to the workspace, through an
// os.Root: a symlink on the way that leads out of the workspace is refused,
// so nothing is written outside it. Missing directories are made. Without
// a workspace, or for an absolute path, it writes the path as given.
func writeWorkspaceFile(workDir, rel string, write func(io.Writer) error) error {
	if workDir == "" || filepath.IsAbs(rel) {
		if err := os.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
			return err
		}
		return writeFile(rel, write)
	}
	root, err := os.OpenRoot(workDir)
	if err != nil {
		return err
	}
	defer root.Close()
	if dir := filepath.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp := filepath.Join(filepath.Dir(rel), ".desktop-plugin-check-"+randomHex(8))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer root.Remove(tmp)
	if err := f.Chmod(0o644); err != nil { // umask aside: later steps read it
		f.Close()
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Rename(tmp, rel)
}
