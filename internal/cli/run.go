// Package cli is the program: the command line (flags, the config file),
// the Action mode's reading of inputs, the run of one check, its reports
// and its exit code. main wires Run to the process.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/internal/action"
	"github.com/docker/desktop-plugin-check/internal/action/workflow"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// Exit codes.
const (
	exitPass  = 0
	exitFail  = 1
	exitError = 2
)

// ErrInterrupted is the cause of a run that a signal cancelled; the run
// then reports what it learned and exits 2.
var ErrInterrupted = errors.New("interrupted")

// Cleanup removes what a run in progress keeps on disk (spooled blobs), for
// a process that exits without finishing the run.
func Cleanup() { _ = image.RemoveSpools() }

// Run is the whole program: it checks what args (or, started as the Action,
// the INPUT_* variables) say and returns the exit code.
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, getenv, stdin, stdout, stderr)
}

// run is Run; tests call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		o   *options
		st  *action.Settings
		err error
	)
	inAction := action.Started(args, getenv)
	if inAction {
		o, st, err = actionOptions(getenv, stderr)
		if st != nil {
			maskSecrets(stdout, st.Secrets)
		}
	} else {
		o, err = parseArgs(args, stderr)
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		if errors.Is(err, errShowVersion) {
			fmt.Fprintln(stdout, "desktop-plugin-check", toolVersion())
			return exitPass
		}
		if o != nil {
			o.allowlist.cfg.Token = getenv(tokenEnv)
		}
	}
	if err == nil {
		err = o.configure()
	}
	if err != nil {
		return fail(ctx, inAction, getenv, st, o, stdout, stderr, err)
	}
	// The pull-request status: the check run is in progress while the
	// check runs; action.Finish completes it.
	if inAction {
		action.StartCheckRun(ctx, st, o.timeout)
	}
	var rep *report.Report
	if o.lint { // the lint command (issue 12): the sources, no image
		rep, err = lint(ctx, o)
	} else {
		rep, err = check(ctx, o, getenv, stdin)
	}
	sayPush(o, rep, inAction, stdout, stderr) // --push (issue 13)
	if rep == nil {
		return fail(ctx, inAction, getenv, st, o, stdout, stderr, err)
	}
	if err != nil {
		for _, line := range errorLines(err) {
			fmt.Fprintf(stderr, "desktop-plugin-check: %s\n", escape.Terminal(line))
		}
		if inAction {
			workflow.New(stdout).RunError(errorLines(err))
		}
	}
	if rep.Sources == nil && (inAction || o.wantsSources()) { // a lint has its own
		rep.Sources = readSources(o)
	}
	if werr := writeReports(o, rep, stdout); werr != nil {
		fmt.Fprintf(stderr, "desktop-plugin-check: %v\n", werr)
		err = werr
		rep.Result = report.ResultError
	}
	url := requestAllowlist(ctx, o, getenv, rep, inAction, stdout, stderr)
	if inAction {
		st.RequestURL = url
		action.Finish(ctx, getenv, st, rep, err, stdout, stderr)
	}
	switch rep.Result {
	case report.ResultPass:
		return exitPass
	case report.ResultFail:
		return exitFail
	}
	return exitError
}

// fail reports a run that could not check anything: exit 2.
func fail(ctx context.Context, inAction bool, getenv func(string) string, st *action.Settings, o *options, stdout, stderr io.Writer, err error) int {
	var uerr *usageError
	for _, line := range errorLines(err) {
		fmt.Fprintf(stderr, "desktop-plugin-check: %s\n", escape.Terminal(line))
	}
	if errors.As(err, &uerr) && !inAction {
		fmt.Fprintln(stderr, "Run 'desktop-plugin-check --help' for usage.")
	}
	if inAction {
		workflow.New(stdout).RunError(errorLines(err))
		if st == nil {
			st = &action.Settings{Summary: true}
		}
		action.Finish(ctx, getenv, st, nil, err, stdout, stderr)
	}
	return exitError
}

// insecureOption marks a reference on an --insecure-registry as plain HTTP.
func insecureOption(o *options, ref string) []name.Option {
	for _, h := range o.insecure {
		if ref == h || strings.HasPrefix(ref, h+"/") {
			return []name.Option{name.Insecure}
		}
	}
	return nil
}

// checkNotAPath refuses a bare local path, which would otherwise be taken
// as a Docker Hub reference.
func checkNotAPath(src, workDir string) error {
	for _, prefix := range []string{"oci:", "oci-archive:", "docker-archive:"} {
		if strings.HasPrefix(src, prefix) {
			return nil
		}
	}
	st, err := os.Stat(resolve(workDir, src))
	looksLikePath := strings.HasPrefix(src, "/") || strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") || strings.HasSuffix(src, ".tar")
	if err == nil || looksLikePath {
		hint := "oci:PATH (a layout directory), oci-archive:FILE or docker-archive:FILE"
		if err == nil && st.IsDir() {
			hint = "oci:" + src
		} else if err == nil {
			hint = "oci-archive:" + src + " (buildx --output type=oci) or docker-archive:" + src + " (docker save)"
		}
		return &usageError{fmt.Sprintf("%q looks like a local path, not an image reference: use %s", src, hint)}
	}
	return nil
}

// Error messages carry untrusted text (a registry's error body, an archive
// member's name): each line is clipped, and so is their number.
const (
	maxErrorLineBytes = 4096
	maxErrorLines     = 100
)

// errorLines splits joined errors into one message each, each clipped to
// maxErrorLineBytes, at most maxErrorLines of them and a count of the rest.
func errorLines(err error) []string {
	var out []string
	lines := strings.Split(err.Error(), "\n")
	for i, line := range lines {
		if len(out) == maxErrorLines {
			out = append(out, fmt.Sprintf("(%d more error lines)", len(lines)-i))
			break
		}
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, escape.Clip(line, maxErrorLineBytes))
		}
	}
	return out
}

// configure merges the config file under the flags and validates the result.
func (o *options) configure() error {
	cfg, path, err := loadConfig(o.configPath, o.workDir)
	if err != nil {
		return err
	}
	if err := o.applyConfig(cfg, path); err != nil {
		return err
	}
	if err := o.finish(); err != nil {
		return err
	}
	if err := checkNotAPath(o.image, o.workDir); err != nil && !o.lint {
		return err
	}
	o.image = resolveSource(o.workDir, o.image)
	for i := range o.outputs {
		o.outputs[i].path = resolve(o.workDir, o.outputs[i].path)
	}
	return nil
}

func readPassword(stdin io.Reader, flag string) (string, error) {
	if stdin == nil {
		return "", fmt.Errorf("%s: no standard input", flag)
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 64<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("%s: standard input is empty", flag)
	}
	return pw, nil
}

func writeReports(o *options, rep *report.Report, stdout io.Writer) error {
	f, _ := report.Lookup(o.format)
	if err := f(stdout, rep); err != nil {
		return fmt.Errorf("writing %s report: %w", o.format, err)
	}
	for _, out := range o.outputs {
		f, _ := report.Lookup(out.format)
		if err := action.WriteFile(out.path, func(w io.Writer) error { return f(w, rep) }); err != nil {
			return fmt.Errorf("writing %s report to %s: %w", out.format, out.path, err)
		}
	}
	return nil
}

// check opens the image, runs the rules and builds the report. A nil report
// means nothing could be checked; a report with Result error carries what
// was learned before the check stopped.
func check(ctx context.Context, o *options, getenv func(string) string, stdin io.Reader) (*report.Report, error) {
	start := time.Now()
	parent := ctx // --push (issue 13): the push has a --timeout of its own
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	iopts := image.Options{Keychain: newConfigKeychain(getenv), TempDir: o.tempDir, Insecure: o.insecure}
	if o.passwordStdin {
		pw, err := readPassword(stdin, "--password-stdin")
		if err != nil {
			return nil, err
		}
		o.password = pw
	}
	if err := o.push.readPassword(stdin); err != nil { // --push (issue 13)
		return nil, err
	}
	if o.username != "" {
		iopts.Auth = &authn.Basic{Username: o.username, Password: o.password}
	}
	img, err := image.Open(ctx, o.image, iopts)
	if err != nil {
		return nil, timeoutHint(ctx, o, err) // the error names the image
	}
	defer img.Close()

	rep := &report.Report{
		Image: o.image, Digest: img.Digest.String(), Repository: o.repository, Release: o.release,
		FailOn: o.failOn, Rules: checks.All(), DesktopAPIVersions: o.desktopAPIVersions, ToolVersion: toolVersion(),
	}
	if rep.Repository == "" {
		rep.Repository = img.Repository
	}
	if rep.Release == "" {
		rep.Release = img.Tag
	}
	o.push.defaults(o, rep) // --push (issue 13): the first target's repository and release
	for _, v := range img.Variants {
		rep.Platforms = append(rep.Platforms, report.Platform{Platform: v.PlatformString(), Digest: v.Descriptor.Digest.String()})
	}
	finish := func() {
		rep.Stats = report.Stats{Requests: img.Stats().Requests(), Bytes: img.Stats().Bytes(), DurationMS: time.Since(start).Milliseconds()}
		rep.Layers = rep.Layers[:0]
		for _, l := range img.LayerReads() {
			rep.Layers = append(rep.Layers, report.LayerRead{Digest: l.Digest.String(), Size: l.Size, Bytes: l.Bytes, Verified: l.Verified})
		}
	}

	if o.repository != "" {
		// Compare like with like: "acme/p" is index.docker.io/acme/p.
		if r, err := name.NewRepository(o.repository, insecureOption(o, o.repository)...); err == nil {
			rep.Repository = r.Name()
		}
	}
	copts := checks.Options{
		Profile: o.profile, Platforms: o.platforms, Release: rep.Release, Repository: rep.Repository,
		DesktopAPIVersions: o.desktopAPIVersions,
		PrefetchFiles:      checks.FilesNeeded(checks.All(), checks.Config{Severities: o.severities}),
	}
	if o.source != "" { // --source (issue 12): lint the sources for the image's platforms too
		var platforms []string
		for _, p := range rep.Platforms {
			platforms = append(platforms, p.Platform)
		}
		var closeSource func()
		if copts.Lint, rep.Sources, closeSource, err = withSource(o, platforms); err != nil {
			return nil, err
		}
		defer closeSource()
	}
	if rep.Repository != "" {
		repo, err := img.Releases(ctx, rep.Repository, o.push.historyOptions(iopts, rep.Repository))
		if err != nil {
			return nil, err
		}
		copts.Releases = repo
	}
	target, err := checks.NewTarget(ctx, img, copts)
	if err != nil {
		err = timeoutHint(ctx, o, err)
		rep.Result, rep.Errors = report.ResultError, errorLines(err)
		finish()
		return rep, err
	}
	rep.Profile = string(target.Profile)
	if _, api, err := target.APIVersion(ctx); err == nil {
		rep.APIVersion = api
	}
	res, err := checks.Run(ctx, target, checks.All(), checks.Config{Severities: o.severities})
	finish()
	if err != nil {
		err = timeoutHint(ctx, o, err)
		rep.Result, rep.Errors = report.ResultError, errorLines(err)
		if res != nil {
			rep.Findings = res.Findings
		}
		return rep, err
	}
	rep.Findings = res.Findings
	impact, err := target.Impact(ctx)
	if err != nil {
		err = timeoutHint(ctx, o, err)
		rep.Result, rep.Errors = report.ResultError, errorLines(err)
		return rep, err
	}
	for _, im := range impact {
		ri := report.Impact{DesktopAPIVersion: im.DesktopAPIVersion, Before: im.Before, After: im.After}
		switch {
		case im.Unchanged:
			ri.Note = "unchanged: this release does not accept it"
		case im.Unknown:
			ri.Note = "unknown: too many earlier releases to read"
		}
		rep.Impact = append(rep.Impact, ri)
	}
	finish()
	rep.Result = verdict(res.Findings, o.failOn)
	// --push (issue 13): the image checked, while it is open; only on a pass.
	return rep, pushChecked(parent, o, getenv, img, rep)
}

func timeoutHint(ctx context.Context, o *options, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (gave up after --timeout %s)", err, o.timeout)
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrInterrupted) {
		return fmt.Errorf("%w (%v)", err, cause)
	}
	return err
}

// verdict is the result of a check that ran to its end: fail when a
// finding is at or above failOn (Off: never), else pass.
func verdict(findings []checks.Finding, failOn checks.Severity) string {
	for _, f := range findings {
		if failOn != checks.Off && f.Severity >= failOn {
			return report.ResultFail
		}
	}
	return report.ResultPass
}
