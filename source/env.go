package source

import (
	"fmt"
	"slices"
	"strings"
)

// env is an ordered set of variables, as BuildKit's environment lists
// are: a later value replaces an earlier one in place. It implements the
// shell lexer's EnvGetter. Names are case-sensitive, as on Linux.
type env struct {
	keys []string
	vals map[string]string
}

func newEnv() *env { return &env{vals: map[string]string{}} }

// Get implements shell.EnvGetter.
func (e *env) Get(k string) (string, bool) {
	v, ok := e.vals[k]
	return v, ok
}

// Keys implements shell.EnvGetter.
func (e *env) Keys() []string { return e.keys }

func (e *env) set(k, v string) {
	if _, ok := e.vals[k]; !ok {
		e.keys = append(e.keys, k)
	}
	e.vals[k] = v
}

func (e *env) clone() *env {
	c := &env{keys: slices.Clone(e.keys), vals: make(map[string]string, len(e.vals))}
	for k, v := range e.vals {
		c.vals[k] = v
	}
	return c
}

// defaultPath is the PATH BuildKit sets in a stage whose image has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// platform is an OCI platform, normalised as BuildKit (containerd's
// platforms package) normalises it.
type platform struct {
	os, arch, variant string
}

func (p platform) String() string {
	s := p.os + "/" + p.arch
	if p.variant != "" {
		s += "/" + p.variant
	}
	return s
}

// parsePlatform reads "os/arch[/variant]".
func parsePlatform(s string) (platform, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return platform{}, fmt.Errorf("platform %q is not os/arch[/variant]", s)
	}
	p := platform{os: parts[0], arch: parts[1]}
	if len(parts) == 3 {
		p.variant = parts[2]
	}
	if p.os == "macos" {
		p.os = "darwin"
	}
	p.arch, p.variant = normalizeArch(p.arch, p.variant)
	return p, nil
}

// normalizeArch is containerd's: the canonical GOARCH and variant of an
// architecture's common names.
func normalizeArch(arch, variant string) (string, string) {
	switch arch {
	case "i386":
		return "386", ""
	case "x86_64", "x86-64", "amd64":
		if variant == "v1" {
			variant = ""
		}
		return "amd64", variant
	case "aarch64", "arm64":
		if variant == "8" || variant == "v8" || variant == "v8.0" {
			variant = ""
		}
		return "arm64", variant
	case "armhf":
		return "arm", "v7"
	case "armel":
		return "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			return "arm", "v7"
		case "5", "6", "8":
			return "arm", "v" + variant
		}
	}
	return arch, variant
}

// newPlatformArgs returns the automatic platform ARGs BuildKit defines
// for a build with opts of the stage named target, build args overriding
// them.
func newPlatformArgs(opts DockerfileOptions, target string) (*env, error) {
	tp, err := parsePlatform(orDefault(opts.Platform, "linux/amd64"))
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("reading the target platform: %w", err)}
	}
	build := tp
	if opts.BuildPlatform != "" {
		if build, err = parsePlatform(opts.BuildPlatform); err != nil {
			return nil, &Error{Err: fmt.Errorf("reading the build platform: %w", err)}
		}
	}
	e := newEnv()
	for _, kv := range [...][2]string{
		{"BUILDPLATFORM", build.String()},
		{"BUILDOS", build.os},
		{"BUILDOSVERSION", ""},
		{"BUILDARCH", build.arch},
		{"BUILDVARIANT", build.variant},
		{"TARGETPLATFORM", tp.String()},
		{"TARGETOS", tp.os},
		{"TARGETOSVERSION", ""},
		{"TARGETARCH", tp.arch},
		{"TARGETVARIANT", tp.variant},
		{"TARGETSTAGE", orDefault(target, "default")},
	} {
		v := kv[1]
		if ov, ok := opts.BuildArgs[kv[0]]; ok {
			v = ov
		}
		e.set(kv[0], v)
	}
	return e, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
