package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/google/go-containerregistry/pkg/name"
)

// options are the settings of one run, from flags, the config file and, in
// action mode, inputs.
type options struct {
	image              string
	format             string
	outputs            []output
	platforms          []string
	profile            checks.Profile
	failOn             checks.Severity
	username           string
	passwordStdin      bool
	password           string // action input registry-password; never printed
	timeout            time.Duration
	release            string
	repository         string
	desktopAPIVersions []string
	configPath         string
	dockerfile         string
	metadataFile       string
	severities         map[string]checks.Severity
	tempDir            string
	insecure           []string
	allowlist          allowlistOptions
	// push is where a passing check copies the image (--push, issue 13).
	push pushOptions
	// workDir is the repository root that relative paths are read from
	// (GITHUB_WORKSPACE in action mode); "" for the process's directory.
	workDir string
	// lint is the lint command: lintDir (DIR) is read, no image.
	lint    bool
	lintDir string
	// source is a directory to lint beside the image check (--source).
	source string
	// target and buildArgs say how the Dockerfile is built (lint, --source).
	target    string
	buildArgs map[string]string

	// raw values, validated once flags, config and inputs are merged.
	rawPlatforms, rawProfile, rawFailOn string
	rawAPIVersions                      []string
	// set records the flags given explicitly (they win over the config).
	set map[string]bool
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

   or: desktop-plugin-check lint [flags] [DIR]

lint reads the plugin's sources in DIR (default .): the Dockerfile as BuildKit
builds it, metadata.json where the final stage copies it from, the compose file.
It builds, pulls and runs nothing, and places every finding on its line.

Exit codes: 0 pass, 1 a finding at or above --fail-on, 2 the check could not run.

Flags:
`

// parseArgs reads the command line. Flags may come before or after IMAGE.
func parseArgs(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("desktop-plugin-check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &options{set: map[string]bool{}}
	var outputs, apiVers, insecure, buildArgs, pushes listFlag
	if len(args) > 0 && args[0] == "lint" {
		o.lint, args = true, args[1:]
	}
	fs.StringVar(&o.format, "format", "text", "output `format` on stdout: "+strings.Join(report.Names(), ", "))
	fs.Var(&outputs, "output", "also write `FORMAT=PATH` (repeatable)")
	fs.StringVar(&o.rawPlatforms, "platforms", strings.Join(checks.DefaultPlatforms, ","), "required `platforms`, comma-separated")
	fs.StringVar(&o.rawProfile, "profile", "auto", "label `profile`: auto, plugin or extension")
	fs.StringVar(&o.rawFailOn, "fail-on", "error", "lowest `severity` that fails the check: notice, warning, error, or never")
	fs.StringVar(&o.username, "username", "", "registry `user` name (with --password-stdin)")
	fs.BoolVar(&o.passwordStdin, "password-stdin", false, "read the registry password from standard input")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this `duration`, retries included")
	fs.StringVar(&o.release, "release", "", "release `version` (default: the tag in the source's name)")
	showVersion := fs.Bool("version", false, "print the tool's version and exit")
	fs.StringVar(&o.repository, "repository", "", "`repository` holding the released versions (default: the image's)")
	fs.Var(&apiVers, "desktop-api-version", "target Desktop extension API `version` (repeatable)")
	fs.StringVar(&o.configPath, "config", "", "config `file` (default .desktop-plugin-check.yaml when present)")
	fs.StringVar(&o.dockerfile, "dockerfile", "Dockerfile", "the plugin's Dockerfile `path`, where label findings are placed")
	fs.StringVar(&o.metadataFile, "metadata-file", "metadata.json", "the plugin's metadata.json `path` in the repository, where metadata findings are placed")
	fs.Var(&insecure, "insecure-registry", "speak plain HTTP to this registry `HOST[:PORT]` (repeatable; loopback registries always are)")
	fs.BoolVar(&o.allowlist.request, "allowlist-request", false, "when the check passes, ask for the repository to be added to Docker Desktop's allow-list (token in $"+tokenEnv+")")
	fs.StringVar(&o.allowlist.cfg.AllowlistRepo, "allowlist-repository", "", "GitHub `OWNER/NAME` holding the allow-list")
	fs.StringVar(&o.allowlist.cfg.File, "allowlist-file", "", "allow-list `file` in that repository (default allowlist.yaml)")
	fs.StringVar(&o.allowlist.cfg.Mode, "allowlist-mode", "", "`issue` (default) or pull-request")
	fs.BoolVar(&o.allowlist.cfg.DryRun, "dry-run", false, "print the allow-list request instead of sending it")
	fs.StringVar(&o.source, "source", "", "also lint the plugin's sources in `DIR` and compare the image's labels with its Dockerfile")
	fs.StringVar(&o.target, "target", "", "lint: the Dockerfile's `stage` that is the image (default the last)")
	fs.Var(&buildArgs, "build-arg", "lint: `NAME=VALUE` as for docker build (repeatable)")
	// --push (issue 13): push.go.
	fs.Var(&pushes, "push", "when the check passes, push the image checked to `REF` (repeatable), digest for digest")
	fs.StringVar(&o.push.username, "push-username", "", "`user` name for the first --push target's registry (with --push-password-stdin; default: the Docker config)")
	fs.BoolVar(&o.push.passwordStdin, "push-password-stdin", false, "read the --push registry's password from standard input")
	help := fs.Bool("help", false, "show this help")

	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) { // -h
				*help = true
				break
			}
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
	if *showVersion {
		return nil, errShowVersion
	}
	fs.Visit(func(f *flag.Flag) { o.set[f.Name] = true })
	if err := o.lintArgs(positional, buildArgs); err != nil {
		return nil, err
	}
	switch {
	case o.lint:
	case len(positional) == 0:
		return nil, &usageError{"no image given"}
	case len(positional) == 1:
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
	o.rawAPIVersions = apiVers
	for _, v := range insecure {
		o.insecure = append(o.insecure, strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' })...)
	}
	if o.timeout <= 0 {
		return nil, &usageError{"--timeout must be positive"}
	}
	if o.passwordStdin && o.username == "" {
		return nil, &usageError{"--password-stdin needs --username"}
	}
	if o.username != "" && !o.passwordStdin && o.password == "" {
		return nil, &usageError{"--username needs --password-stdin (passwords are never taken as flags)"}
	}
	if err := o.parsePush(pushes); err != nil {
		return nil, err
	}
	if !o.allowlist.request && (o.set["allowlist-repository"] || o.set["allowlist-file"] || o.set["allowlist-mode"] || o.set["dry-run"]) {
		return nil, &usageError{"the allow-list flags need --allowlist-request"}
	}
	if o.allowlist.request {
		if err := o.allowlist.cfg.Validate(); err != nil {
			return nil, &usageError{"allow-list request: " + err.Error()}
		}
	}
	if o.repository != "" {
		if _, err := name.NewRepository(o.repository); err != nil {
			return nil, &usageError{fmt.Sprintf("--repository %q: %v", o.repository, err)}
		}
	}
	return o, nil
}

// finish validates the merged raw values.
func (o *options) finish() error {
	o.platforms = nil
	for _, p := range strings.FieldsFunc(o.rawPlatforms, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
		if n := strings.Count(p, "/"); n < 1 || n > 2 || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			return &usageError{fmt.Sprintf("platforms: %q is not OS/ARCH[/VARIANT]", p)}
		}
		o.platforms = append(o.platforms, p)
	}
	var err error
	if o.profile, err = checks.ParseProfile(o.rawProfile); err != nil {
		return &usageError{"profile: " + err.Error()}
	}
	if strings.EqualFold(strings.TrimSpace(o.rawFailOn), "never") {
		o.failOn = checks.Off
	} else if o.failOn, err = checks.ParseSeverity(o.rawFailOn); err != nil || o.failOn == checks.Off {
		return &usageError{fmt.Sprintf("fail-on: unknown severity %q (want notice, warning, error or never)", o.rawFailOn)}
	}
	o.desktopAPIVersions = nil
	for _, v := range o.rawAPIVersions {
		for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
			if _, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v")); err != nil {
				return &usageError{fmt.Sprintf("desktop-api-version: %q is not a semver version (like 0.3.4)", s)}
			}
			o.desktopAPIVersions = append(o.desktopAPIVersions, strings.TrimPrefix(s, "v"))
		}
	}
	return nil
}

// wantsSources reports whether the CLI run should read the repository's
// Dockerfile and metadata.json to place findings: when asked to by flag, or
// when a format that places findings on files is written.
func (o *options) wantsSources() bool {
	if o.set["dockerfile"] || o.set["metadata-file"] {
		return true
	}
	formats := []string{o.format}
	for _, out := range o.outputs {
		formats = append(formats, out.format)
	}
	for _, f := range formats {
		if f == "sarif" || f == "github" {
			return true
		}
	}
	return false
}

// errShowVersion asks run to print the tool's version.
var errShowVersion = errors.New("show the version")

// toolVersion is the module version the binary was built from ("v1.2.0"
// from go install, a pseudo-version for a commit), "devel" when unknown.
func toolVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}
