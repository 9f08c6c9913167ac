package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/report"
	"github.com/docker/desktop-plugin-check/source"
)

// imageOnlyFlags are the flags that only an image check reads.
var imageOnlyFlags = []string{"username", "password-stdin", "release", "repository", "insecure-registry",
	"allowlist-request", "allowlist-repository", "allowlist-file", "allowlist-mode", "dry-run", "source"}

// lintArgs reads what the command line says about sources: the lint's DIR
// (positional, default .), --build-arg, and the flags an image check and
// a lint do not share.
func (o *options) lintArgs(positional, buildArgs []string) error {
	for _, kv := range buildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return &usageError{fmt.Sprintf("--build-arg %q: want NAME=VALUE (the lint does not read the environment)", kv)}
		}
		if o.buildArgs == nil {
			o.buildArgs = map[string]string{}
		}
		o.buildArgs[k] = v
	}
	if !o.lint {
		if o.source == "" && (o.set["target"] || o.set["build-arg"]) {
			return &usageError{"--target and --build-arg are for lint, or an image check with --source"}
		}
		return nil
	}
	for _, name := range imageOnlyFlags {
		if o.set[name] {
			return &usageError{fmt.Sprintf("--%s is for an image check: lint reads no image", name)}
		}
	}
	switch len(positional) {
	case 0:
		o.lintDir = "."
	case 1:
		o.lintDir = positional[0]
	default:
		return &usageError{fmt.Sprintf("lint reads one directory, got %d: %s", len(positional), strings.Join(positional, " "))}
	}
	return nil
}

// lintSources are a plugin's sources as the lint read them.
type lintSources struct {
	lint *checks.Lint
	// report is where reports place findings.
	report *source.Sources
	// variants are the stand-in image's platform variants.
	variants []standInVariant
	// bytes counts what was read.
	bytes int64
	// root is the directory, open while the rules read the context.
	root *os.Root
}

// close closes the directory.
func (src *lintSources) close() { src.root.Close() }

// lint reads the sources in o.lintDir and runs the lint's rules on them:
// nothing is built, pulled or run. A nil report means nothing could be
// linted (no such directory, no Dockerfile).
func lint(ctx context.Context, o *options) (*report.Report, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	src, err := readLint(o, o.lintDir, o.platforms, false)
	if err != nil {
		return nil, err
	}
	defer src.close()
	rules := checks.LintRules(src.lint)
	rep := &report.Report{
		Source: o.lintDir, FailOn: o.failOn, Rules: rules, DesktopAPIVersions: o.desktopAPIVersions,
		ToolVersion: toolVersion(), Sources: src.report,
	}
	for _, v := range src.variants {
		rep.Platforms = append(rep.Platforms, report.Platform{Platform: v.platform})
	}
	img, err := openStandIn(ctx, o.tempDir, src.variants)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	copts := checks.Options{Profile: o.profile, Platforms: o.platforms, DesktopAPIVersions: o.desktopAPIVersions, Lint: src.lint}
	target, err := checks.NewTarget(ctx, img.Image, copts)
	if err != nil {
		return nil, err
	}
	rep.Profile = string(target.Profile)
	if _, api, err := target.APIVersion(ctx); err == nil {
		rep.APIVersion = api
	}
	res, err := checks.Run(ctx, target, rules, checks.Config{Severities: o.severities})
	rep.Stats = report.Stats{Bytes: src.bytes, DurationMS: time.Since(start).Milliseconds()}
	if res != nil {
		rep.Findings = res.Findings
	}
	if err != nil {
		err = timeoutHint(ctx, o, err)
		rep.Result, rep.Errors = report.ResultError, errorLines(err)
		return rep, err
	}
	rep.Result = verdict(rep.Findings, o.failOn)
	return rep, nil
}

// withSource is the image check's part of --source: it reads the sources
// for the image's platforms and returns what the source/* rules read (the
// image's labels are then compared with the Dockerfile's), where reports
// place findings, and what closes the directory once the rules are done.
func withSource(o *options, platforms []string) (*checks.Lint, *source.Sources, func(), error) {
	src, err := readLint(o, o.source, platforms, true)
	if err != nil {
		return nil, nil, nil, err
	}
	return src.lint, src.report, src.close, nil
}

// maxLintFile caps the files the lint reads: BuildKit's parser takes 4 MiB
// of Dockerfile; metadata.json and compose files are capped by the rules
// (one byte over their limit is read, so that they can say so).
const (
	maxLintDockerfile = 4 << 20
	maxLintFile       = checks.DefaultMetadataMax + 1
)

// readLint reads the sources in dir (relative to the workspace in action
// mode, through an os.Root: nothing outside it is read) for each platform.
// built says they are read beside the image built from them.
func readLint(o *options, dir string, platforms []string, built bool) (*lintSources, error) {
	root, prefix, err := openLintDir(o.workDir, dir)
	if err != nil {
		return nil, err
	}
	df, err := readRootFile(root, o.dockerfile, maxLintDockerfile+1)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	src := &lintSources{bytes: int64(len(df)), root: root}
	l := &checks.Lint{DockerfilePath: displayPath(prefix, o.dockerfile), Context: root.FS(), Built: built}
	opts := source.DockerfileOptions{BuildArgs: o.buildArgs, Target: o.target}
	for _, p := range platforms {
		opts.Platform = p
		parsed, err := source.ParseDockerfile(bytes.NewReader(df), opts)
		var serr *source.Error
		if errors.As(err, &serr) {
			l.Err, l.Builds = serr, nil
			break
		}
		if err != nil {
			root.Close()
			return nil, err
		}
		l.Builds = append(l.Builds, checks.LintBuild{Platform: p, Dockerfile: parsed})
	}
	if len(platforms) > 0 {
		opts.Platform = platforms[0]
	}
	src.lint = l
	src.report = &source.Sources{DockerfilePath: l.DockerfilePath, Dockerfile: df, Options: opts}
	if err := src.readPluginFiles(o, root, prefix, platforms); err != nil {
		root.Close()
		return nil, err
	}
	return src, nil
}

// readPluginFiles reads metadata.json and the compose file it names, for
// each build from where its final stage copies them (--metadata-file, or
// metadata.json at the root when the Dockerfile cannot be read), and
// makes the stand-in image's variants.
func (src *lintSources) readPluginFiles(o *options, root *os.Root, prefix string, platforms []string) error {
	l := src.lint
	for i, p := range platforms {
		v := standInVariant{platform: p, files: map[string][]byte{}}
		var df *source.Dockerfile
		if l.Err == nil {
			df = l.Builds[i].Dockerfile
			v.labels = map[string]string{}
			for k, lb := range df.Labels {
				v.labels[k] = lb.Value
			}
		}
		name, meta, err := src.metadataOf(o, root, df)
		if err != nil {
			return err
		}
		if meta != nil {
			v.files[checks.MetadataPath] = meta
			if i == 0 {
				l.Metadata = meta
				if name != "" {
					l.MetadataPath = displayPath(prefix, name)
				}
				src.report.MetadataPath, src.report.Metadata = l.MetadataPath, meta
			}
			src.readCompose(root, df, meta, v.files)
		}
		src.variants = append(src.variants, v)
	}
	return nil
}

// metadataOf returns metadata.json's path in the directory and content for
// a build (df nil: the Dockerfile cannot be read); nil content when it is
// not known (a stage or RUN makes it, or the file is not in the checkout).
func (src *lintSources) metadataOf(o *options, root *os.Root, df *source.Dockerfile) (string, []byte, error) {
	if o.set["metadata-file"] {
		b, err := readRootFile(root, o.metadataFile, maxLintFile)
		if err != nil {
			return "", nil, fmt.Errorf("reading --metadata-file: %w", err)
		}
		src.bytes += int64(len(b))
		return o.metadataFile, b, nil
	}
	name := "metadata.json"
	if df != nil {
		origin := df.Origin(checks.MetadataPath, root.FS())
		switch {
		case origin.Inline != nil:
			return "", []byte(origin.Inline.Body), nil // placed nowhere: its lines are the Dockerfile's
		case origin.ContextPath == "":
			return "", nil, nil
		}
		name = origin.ContextPath
	}
	b, err := readRootFile(root, name, maxLintFile)
	if err != nil {
		return "", nil, nil // not in the checkout: not a finding
	}
	src.bytes += int64(len(b))
	return name, b, nil
}

// readCompose adds the compose file that metadata.json names to files, at
// its path in the image, when the build copies it from the directory.
func (src *lintSources) readCompose(root *os.Root, df *source.Dockerfile, meta []byte, files map[string][]byte) {
	doc, err := checks.ParseJSON(meta)
	if err != nil || df == nil {
		return
	}
	spec := checks.ParseSpec(doc)
	if spec.Compose == nil {
		return
	}
	origin := df.Origin(spec.Compose.Path, root.FS())
	var b []byte
	switch {
	case origin.Inline != nil:
		b = []byte(origin.Inline.Body)
	case origin.ContextPath != "":
		if b, err = readRootFile(root, origin.ContextPath, maxLintFile); err != nil {
			return
		}
		src.bytes += int64(len(b))
	default:
		return
	}
	files[spec.Compose.Path] = b
}

// openLintDir opens the directory to lint: in action mode through the
// workspace's os.Root, so that it cannot lead out of the workspace. prefix
// is what reports put before paths in it: its path relative to the
// workspace in action mode (annotations are relative to the repository),
// else "" (relative to the directory).
func openLintDir(workDir, dir string) (*os.Root, string, error) {
	if workDir == "" || filepath.IsAbs(dir) {
		r, err := os.OpenRoot(dir)
		if err != nil {
			return nil, "", fmt.Errorf("opening the directory to lint: %w", err)
		}
		return r, "", nil
	}
	ws, err := os.OpenRoot(workDir)
	if err != nil {
		return nil, "", fmt.Errorf("opening the workspace: %w", err)
	}
	defer ws.Close()
	r, err := ws.OpenRoot(dir)
	if err != nil {
		return nil, "", fmt.Errorf("opening the directory to lint: %w", err)
	}
	prefix := filepath.ToSlash(filepath.Clean(dir))
	if prefix == "." {
		prefix = ""
	}
	return r, prefix, nil
}

// displayPath is a path in the linted directory as reports show it.
func displayPath(prefix, name string) string {
	p := path.Clean(filepath.ToSlash(name))
	if prefix == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(prefix, p)
}

// readRootFile reads a regular file of root (an absolute name is the
// user's to choose), at most max bytes. It never blocks on a FIFO.
func readRootFile(root *os.Root, name string, max int64) ([]byte, error) {
	var (
		f   *os.File
		err error
	)
	if filepath.IsAbs(name) {
		f, err = os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	} else {
		f, err = root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("not a regular file")}
	}
	return io.ReadAll(io.LimitReader(f, max))
}
