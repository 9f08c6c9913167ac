// Package action is the GitHub Action's glue: whether the program was
// started as the Action, its inputs, and what it leaves for the workflow
// (step outputs, the JSON report and SARIF in the workspace, the job
// summary). Workflow commands go through its workflow package.
//
// The runner passes inputs as INPUT_<NAME> variables (upper case, hyphens
// kept) and reads outputs and the job summary from files. go-githubactions
// v1.3.2 writes outputs with a fixed heredoc delimiter and panics when
// GITHUB_OUTPUT is unset, so it is not used: the few file commands needed
// are written here, each output with a random delimiter.
package action

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/report"
)

// Started reports whether the program was started as the Action: by the
// runner, in the Action's container, with no arguments (inputs come as
// INPUT_* variables). GitHub sets GITHUB_ACTIONS=true in every step, so
// the CLI in a run: step, which has arguments, obeys them.
func Started(args []string, getenv func(string) string) bool {
	return len(args) == 0 && getenv("GITHUB_ACTIONS") == "true"
}

// InputError is an input the Action cannot use.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Settings are what the Action's inputs say.
type Settings struct {
	// Args are the CLI flags the inputs amount to, ending in "--" and the
	// image (for a lint, "lint" first and the sources' directory last).
	Args []string
	// Username and Password are the registry credentials.
	Username, Password string
	// AllowlistToken writes the allow-list request.
	AllowlistToken string
	// PushUsername and PushPassword are the credentials for the push
	// targets' registry (inputs push-username, push-password; issue 13).
	PushUsername, PushPassword string
	// SarifFile is where SARIF goes, relative to the workspace ("" none).
	SarifFile string
	// Summary and Annotations say whether to write the job summary and
	// annotate findings.
	Summary, Annotations bool
	// Secrets are the inputs to mask in the log.
	Secrets []string
	// WorkDir is the workspace (GITHUB_WORKSPACE).
	WorkDir string
	// RequestURL is the allow-list request's URL, set once it is made.
	RequestURL string

	// CheckName names the check run (input check-name).
	CheckName string
	// PRComment says whether to keep the pull-request comment (input
	// pr-comment; only pull-request events have one).
	PRComment bool
	// CheckRunURL and CommentURL are the check run's and the pull-request
	// comment's pages, set once posted.
	CheckRunURL, CommentURL string
	// status posts the check run and the comment; nil when the run posts
	// neither (no github-token, no repository or commit to post on).
	status *prStatus
}

// Read reads the Action's inputs. Settings are returned even with an
// error, so that the outputs and summary can still say what happened.
func Read(getenv func(string) string) (*Settings, error) {
	st := &Settings{Summary: true, Annotations: true, PRComment: true, WorkDir: getenv("GITHUB_WORKSPACE")}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"summary", &st.Summary}, {"annotations", &st.Annotations}, {"pr-comment", &st.PRComment}} {
		v, err := boolInput(getenv, b.name, true)
		if err != nil {
			return st, err
		}
		*b.dst = v
	}
	for _, name := range []string{"registry-password", "push-password", "allowlist-token", "github-token"} {
		if v := getenv("INPUT_" + strings.ToUpper(name)); strings.TrimSpace(v) != "" {
			st.Secrets = append(st.Secrets, v)
		}
	}
	st.CheckName = input(getenv, "check-name")
	if st.CheckName == "" {
		st.CheckName = DefaultCheckName
	}
	st.status = newPRStatus(getenv, st, strings.TrimSpace(getenv("INPUT_GITHUB-TOKEN")))
	img, src := input(getenv, "image"), input(getenv, "source")
	if img == "" && src == "" {
		return st, &InputError{"input image is required (or input source, to lint the plugin's sources)"}
	}
	// When the check run carries the annotations, the log gets the text
	// report, and workflow-command annotations only if the check run
	// cannot be posted (Finish).
	args, err := flagsOf(getenv, st.Annotations && st.status == nil)
	if err != nil {
		return st, err
	}
	st.Args = withSource(getenv, args, img, src)
	st.Username = input(getenv, "registry-username")
	st.Password = strings.TrimRight(getenv("INPUT_REGISTRY-PASSWORD"), "\r\n")
	if (st.Username == "") != (st.Password == "") {
		return st, &InputError{"inputs registry-username and registry-password go together"}
	}
	st.PushUsername = input(getenv, "push-username")
	st.PushPassword = strings.TrimRight(getenv("INPUT_PUSH-PASSWORD"), "\r\n")
	if (st.PushUsername == "") != (st.PushPassword == "") {
		return st, &InputError{"inputs push-username and push-password go together"}
	}
	if st.PushUsername != "" && input(getenv, "push") == "" {
		return st, &InputError{"inputs push-username and push-password need input push"}
	}
	st.SarifFile = input(getenv, "sarif-file")
	st.AllowlistToken = strings.TrimSpace(getenv("INPUT_ALLOWLIST-TOKEN"))
	return st, nil
}

// flagsOf maps the inputs that are CLI flags to those flags; annotations
// says whether the report on stdout is workflow-command annotations (the
// github format) rather than text.
func flagsOf(getenv func(string) string, annotations bool) ([]string, error) {
	format := "text"
	if annotations {
		format = "github"
	}
	args := []string{"--format", format}
	for _, m := range []struct{ input, flag string }{
		{"version", "release"}, {"repository", "repository"}, {"platforms", "platforms"},
		{"profile", "profile"}, {"fail-on", "fail-on"}, {"config", "config"},
		{"dockerfile", "dockerfile"}, {"metadata-file", "metadata-file"}, {"timeout", "timeout"},
		{"push", "push"}, // comma- or newline-separated: the CLI splits them
	} {
		if v := input(getenv, m.input); v != "" {
			args = append(args, "--"+m.flag+"="+v)
		}
	}
	request, err := boolInput(getenv, "allowlist-request", false)
	if err != nil {
		return nil, err
	}
	if request {
		args = append(args, "--allowlist-request")
		for _, name := range []string{"allowlist-repository", "allowlist-file", "allowlist-mode"} {
			if v := input(getenv, name); v != "" {
				args = append(args, "--"+name+"="+v)
			}
		}
	}
	if v := input(getenv, "insecure-registries"); v != "" {
		args = append(args, "--insecure-registry="+v)
	}
	if v := input(getenv, "desktop-api-versions"); v != "" {
		args = append(args, "--desktop-api-version="+v)
	}
	return args, nil
}

// withSource makes the command line of the inputs' flags args: an image
// check of img, the lint of the sources in src when there is no image, or
// both, the image's labels compared with src's Dockerfile (issue 12).
// Input build-args holds one NAME=VALUE a line, as docker/build-push-action's.
func withSource(getenv func(string) string, args []string, img, src string) []string {
	if src == "" {
		return append(args, "--", img)
	}
	if v := input(getenv, "target"); v != "" {
		args = append(args, "--target="+v)
	}
	for _, kv := range strings.Split(input(getenv, "build-args"), "\n") {
		if kv = strings.TrimSpace(kv); kv != "" {
			args = append(args, "--build-arg="+kv)
		}
	}
	if img == "" {
		return append(append([]string{"lint"}, args...), "--", src)
	}
	return append(args, "--source="+src, "--", img)
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
		return false, &InputError{fmt.Sprintf("input %s: %q is not true or false", name, v)}
	}
}

// Finish writes what the Action leaves for the workflow: the pull-request
// status (the check run and the comment, see StartCheckRun), the JSON
// report and SARIF in the workspace, the step outputs and the job summary.
// rep is nil when nothing could be checked. Missing runner files are
// skipped with a note, never a crash; GitHub's errors are one warning and
// never change the result.
func Finish(ctx context.Context, getenv func(string) string, st *Settings, rep *report.Report, runErr error, stdout, stderr io.Writer) {
	finishStatus(ctx, st, rep, runErr, stdout, stderr)
	outputs := map[string]string{"result": report.ResultError, "findings": "0", "errors": "0"}
	for k, v := range map[string]string{"allowlist-request-url": st.RequestURL, "check-run-url": st.CheckRunURL, "comment-url": st.CommentURL} {
		if v != "" {
			outputs[k] = v
		}
	}
	if rep != nil {
		outputs["result"] = rep.Result
		outputs["digest"] = rep.Digest
		outputs["version"] = rep.Release
		outputs["findings"] = strconv.Itoa(len(rep.Findings))
		outputs["errors"] = strconv.Itoa(rep.Counts()[checks.Error])
		if pushed := rep.Push.PushedRefs(); len(pushed) > 0 {
			outputs["pushed"] = strings.Join(pushed, "\n")
		}
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
		if st.WorkDir == "" {
			rel = filepath.Join(os.TempDir(), "desktop-plugin-check-report-"+randomHex(6)+".json")
			err = WriteFile(rel, writeJSON)
		} else {
			err = WriteWorkspaceFile(st.WorkDir, rel, writeJSON)
		}
		if err != nil {
			fmt.Fprintf(stderr, "desktop-plugin-check: writing the JSON report: %v\n", err)
		} else {
			outputs["report"] = filepath.ToSlash(rel)
		}
		if st.SarifFile != "" {
			f, _ := report.Lookup("sarif")
			if err := WriteWorkspaceFile(st.WorkDir, st.SarifFile, func(w io.Writer) error { return f(w, rep) }); err != nil {
				fmt.Fprintf(stderr, "desktop-plugin-check: writing SARIF to %s: %v\n", st.SarifFile, err)
			} else if rep.Result != report.ResultError {
				// A run that could not check writes SARIF that says so
				// (executionSuccessful false) but does not offer it for
				// upload: uploading it would close every open alert.
				outputs["sarif"] = st.SarifFile
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
	if !st.Summary {
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
		buf.WriteString(couldNotRun(runErr))
	}
	if err := appendFile(p, buf.Bytes()); err != nil {
		fmt.Fprintf(stderr, "desktop-plugin-check: writing the job summary: %v\n", err)
	}
}

// formatOutputs renders outputs in the runner's multi-line form, each with a
// random delimiter that the value does not contain.
func formatOutputs(outputs map[string]string) []byte {
	var buf bytes.Buffer
	for _, k := range []string{"result", "digest", "version", "findings", "errors", "pushed", "report", "sarif", "allowlist-request-url", "check-run-url", "comment-url"} {
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

// WriteWorkspaceFile writes rel, relative to the workspace, through an
// os.Root: a symlink on the way that leads out of the workspace is refused,
// so nothing is written outside it. Missing directories are made. Without
// a workspace, or for an absolute path, it writes the path as given.
func WriteWorkspaceFile(workDir, rel string, write func(io.Writer) error) error {
	if workDir == "" || filepath.IsAbs(rel) {
		if err := os.MkdirAll(filepath.Dir(rel), 0o755); err != nil {
			return err
		}
		return WriteFile(rel, write)
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

// WriteFile writes through a temp file in the same directory and renames
// it into place, so a failed run never leaves half a report.
func WriteFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".desktop-plugin-check-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	// Reports are read by later steps that may run as another user (the
	// Action's container runs as root): make them readable, as a plain
	// create would.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
