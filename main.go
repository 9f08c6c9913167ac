// Command desktop-plugin-check checks a Docker Desktop plugin (extension)
// image before and after it is pushed: labels, metadata.json, platforms and
// what users of each Docker Desktop will get.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

//go:generate go run ./internal/cmd/genfixtures testdata

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitPass  = 0
	exitFail  = 1
	exitError = 2
)

// options are the settings of one run, from flags (and, in action mode,
// inputs).
type options struct {
	image              string
	format             string
	outputs            []output
	platforms          []string
	profile            checks.Profile
	failOn             checks.Severity
	username           string
	passwordStdin      bool
	timeout            time.Duration
	release            string
	repository         string
	desktopAPIVersions []string
	tempDir            string
}

type output struct {
	format, path string
}

// usageError is bad usage: exit 2 with the usage hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

const usageText = `usage: desktop-plugin-check [flags] IMAGE

Checks a Docker Desktop plugin image without pulling it. IMAGE is one of:
  NAME[:TAG|@DIGEST]          registry reference (Docker Hub by default)
  oci:DIR[:REF_NAME]          OCI image layout directory
  oci-archive:FILE[:REF_NAME] OCI layout in a tar file
  docker-archive:FILE[:TAG]   docker save output

Exit codes: 0 pass, 1 a finding at or above --fail-on, 2 the check could not run.

Flags:
`

func parseArgs(args []string, stdin io.Reader, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("desktop-plugin-check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		o         options
		outputs   listFlag
		apiVers   listFlag
		platforms string
		profile   string
		failOn    string
	)
	fs.StringVar(&o.format, "format", "text", "output `format` on stdout: "+strings.Join(report.Names(), ", "))
	fs.Var(&outputs, "output", "also write `FORMAT=PATH` (repeatable)")
	fs.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "required `platforms`, comma-separated")
	fs.StringVar(&profile, "profile", "auto", "label `profile`: auto, plugin or extension")
	fs.StringVar(&failOn, "fail-on", "error", "lowest `severity` that fails the check: notice, warning, error, or never")
	fs.StringVar(&o.username, "username", "", "registry `user` name (with --password-stdin)")
	fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the registry password from standard input")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this `duration`, retries included")
	fs.StringVar(&o.release, "version", "", "release `version` (default: the reference's tag)")
	fs.StringVar(&o.repository, "repository", "", "`repository` holding the released versions (default: the image's)")
	fs.Var(&apiVers, "desktop-api-version", "target Desktop extension API `version` (repeatable)")
	help := fs.Bool("help", false, "show this help")

	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, &usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *help {
		fmt.Fprint(stderr, usageText)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return nil, flag.ErrHelp
	}
	switch len(positional) {
	case 0:
		return nil, &usageError{"no image given"}
	case 1:
		o.image = positional[0]
	default:
		return nil, &usageError{fmt.Sprintf("one image at a time, got %d: %s", len(positional), strings.Join(positional, " "))}
	}
	if _, err := report.Lookup(o.format); err != nil {
		return nil, &usageError{"--format: " + err.Error()}
	}
	for _, out := range outputs {
		f, p, ok := strings.Cut(out, "=")
		if !ok || p == "" {
			return nil, &usageError{fmt.Sprintf("--output %q: want FORMAT=PATH", out)}
		}
		if _, err := report.Lookup(f); err != nil {
			return nil, &usageError{"--output: " + err.Error()}
		}
		o.outputs = append(o.outputs, output{format: f, path: p})
	}
	for _, p := range strings.Split(platforms, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if strings.Count(p, "/") < 1 || strings.Count(p, "/") > 2 {
			return nil, &usageError{fmt.Sprintf("--platforms: %q is not OS/ARCH[/VARIANT]", p)}
		}
		o.platforms = append(o.platforms, p)
	}
	var err error
	if o.profile, err = checks.ParseProfile(profile); err != nil {
		return nil, &usageError{"--profile: " + err.Error()}
	}
	if strings.EqualFold(failOn, "never") {
		o.failOn = checks.Off
	} else if o.failOn, err = checks.ParseSeverity(failOn); err != nil || o.failOn == checks.Off {
		return nil, &usageError{fmt.Sprintf("--fail-on: unknown severity %q (want notice, warning, error or never)", failOn)}
	}
	for _, v := range apiVers {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if _, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v")); err != nil {
				return nil, &usageError{fmt.Sprintf("--desktop-api-version: %q is not a semver version (like 0.3.4)", s)}
			}
			o.desktopAPIVersions = append(o.desktopAPIVersions, strings.TrimPrefix(s, "v"))
		}
	}
	if o.timeout <= 0 {
		return nil, &usageError{"--timeout must be positive"}
	}
	if o.passwordStdin && o.username == "" {
		return nil, &usageError{"--password-stdin needs --username"}
	}
	if o.username != "" && !o.passwordStdin {
		return nil, &usageError{"--username needs --password-stdin (passwords are never taken as flags)"}
	}
	if o.repository != "" {
		if _, err := name.NewRepository(o.repository); err != nil {
			return nil, &usageError{fmt.Sprintf("--repository %q: %v", o.repository, err)}
		}
	}
	return &o, nil
}

func readPassword(stdin io.Reader) (string, error) {
	if stdin == nil {
		return "", errors.New("--password-stdin: no standard input")
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 64<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("--password-stdin: standard input is empty")
	}
	return pw, nil
}

// run is the whole program; main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stdin, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitPass
	}
	if err != nil {
		fmt.Fprintf(stderr, "desktop-plugin-check: %v\nRun 'desktop-plugin-check --help' for usage.\n", err)
		return exitError
	}
	rep, err := check(ctx, o, getenv, stdin)
	if rep == nil {
		fmt.Fprintf(stderr, "desktop-plugin-check: %s\n", report.TerminalSafe(err.Error()))
		return exitError
	}
	if err != nil {
		fmt.Fprintf(stderr, "desktop-plugin-check: %s\n", report.TerminalSafe(err.Error()))
	}
	if werr := writeReports(o, rep, stdout); werr != nil {
		fmt.Fprintf(stderr, "desktop-plugin-check: %v\n", werr)
		return exitError
	}
	switch rep.Result {
	case report.ResultPass:
		return exitPass
	case report.ResultFail:
		return exitFail
	}
	return exitError
}

func writeReports(o *options, rep *report.Report, stdout io.Writer) error {
	f, _ := report.Lookup(o.format)
	if err := f(stdout, rep); err != nil {
		return fmt.Errorf("writing %s report: %w", o.format, err)
	}
	for _, out := range o.outputs {
		f, _ := report.Lookup(out.format)
		if err := writeFile(out.path, func(w io.Writer) error { return f(w, rep) }); err != nil {
			return fmt.Errorf("writing %s report to %s: %w", out.format, out.path, err)
		}
	}
	return nil
}

// writeFile writes through a temp file in the same directory and renames
// it into place, so a failed run never leaves half a report.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".desktop-plugin-check-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// check opens the image, runs the rules and builds the report. A nil report
// means nothing could be checked; a report with Result error carries what
// was learned before the check stopped.
func check(ctx context.Context, o *options, getenv func(string) string, stdin io.Reader) (*report.Report, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	iopts := image.Options{Keychain: newConfigKeychain(getenv), TempDir: o.tempDir}
	if o.passwordStdin {
		pw, err := readPassword(stdin)
		if err != nil {
			return nil, err
		}
		iopts.Auth = &authn.Basic{Username: o.username, Password: pw}
	}
	img, err := image.Open(ctx, o.image, iopts)
	if err != nil {
		return nil, timeoutHint(ctx, o, fmt.Errorf("opening %s: %w", o.image, err))
	}
	defer img.Close()

	rep := &report.Report{
		Image: o.image, Digest: img.Digest.String(), Repository: o.repository, Release: o.release,
		FailOn: o.failOn, Rules: checks.All(), DesktopAPIVersions: o.desktopAPIVersions,
	}
	if rep.Repository == "" {
		rep.Repository = img.Repository
	}
	if rep.Release == "" {
		rep.Release = img.Tag
	}
	for _, v := range img.Variants {
		rep.Platforms = append(rep.Platforms, report.Platform{Platform: v.PlatformString(), Digest: v.Descriptor.Digest.String()})
	}
	finish := func() {
		rep.Stats = report.Stats{Requests: img.Stats().Requests(), Bytes: img.Stats().Bytes(), DurationMS: time.Since(start).Milliseconds()}
	}

	copts := checks.Options{
		Profile: o.profile, Platforms: o.platforms, Release: rep.Release, Repository: rep.Repository,
		DesktopAPIVersions: o.desktopAPIVersions,
	}
	if rep.Repository != "" {
		repo, err := image.OpenRepository(ctx, rep.Repository, iopts, img.Stats())
		if err != nil {
			return nil, err
		}
		copts.Releases = repo
	}
	target, err := checks.NewTarget(ctx, img, copts)
	if err != nil {
		err = timeoutHint(ctx, o, err)
		rep.Result, rep.Errors = report.ResultError, []string{err.Error()}
		finish()
		return rep, err
	}
	rep.Profile = string(target.Profile)
	res, err := checks.Run(ctx, target, checks.All(), checks.Config{})
	finish()
	if err != nil {
		err = timeoutHint(ctx, o, err)
		rep.Result, rep.Errors = report.ResultError, []string{err.Error()}
		if res != nil {
			rep.Findings = res.Findings
		}
		return rep, err
	}
	rep.Findings = res.Findings
	impact, err := target.Impact(ctx)
	if err != nil {
		err = timeoutHint(ctx, o, err)
		rep.Result, rep.Errors = report.ResultError, []string{err.Error()}
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
	rep.Result = report.ResultPass
	for _, f := range res.Findings {
		if o.failOn != checks.Off && f.Severity >= o.failOn {
			rep.Result = report.ResultFail
		}
	}
	return rep, nil
}

func timeoutHint(ctx context.Context, o *options, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (gave up after --timeout %s)", err, o.timeout)
	}
	return err
}
