package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"go.yaml.in/yaml/v3"
)

// defaultConfigFile is read from the repository root when present.
const defaultConfigFile = ".desktop-plugin-check.yaml"

// fileConfig is .desktop-plugin-check.yaml. Flags and inputs win over it.
type fileConfig struct {
	Profile            string            `yaml:"profile"`
	Platforms          []string          `yaml:"platforms"`
	DesktopAPIVersions []string          `yaml:"desktop-api-versions"`
	FailOn             string            `yaml:"fail-on"`
	Rules              map[string]string `yaml:"rules"`
}

const maxConfigSize = 1 << 20

// loadConfig reads the config file: the explicit path (which must exist),
// else the default file when present. A nil config means none.
func loadConfig(explicit, workDir string) (*fileConfig, string, error) {
	p, required := explicit, true
	if p == "" {
		p, required = defaultConfigFile, false
	}
	f, err := openInWorkDir(workDir, p)
	if !filepath.IsAbs(p) && workDir != "" {
		p = filepath.Join(workDir, p)
	}
	if err != nil {
		if !required && errors.Is(err, os.ErrNotExist) {
			return nil, "", nil
		}
		return nil, p, fmt.Errorf("reading config: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxConfigSize+1))
	if err != nil {
		return nil, p, fmt.Errorf("reading config %s: %w", p, err)
	}
	if len(raw) > maxConfigSize {
		return nil, p, fmt.Errorf("config %s is larger than %d bytes", p, maxConfigSize)
	}
	var cfg fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, p, fmt.Errorf("config %s: %s", p, redactYAMLError(err))
	}
	return &cfg, p, nil
}

// yamlQuoted is a value a YAML error quotes from the document.
var yamlQuoted = regexp.MustCompile("`[^`]*`")

// redactYAMLError keeps a YAML error's line and kind but not the values it
// quotes: the file may not be what it claims to be.
func redactYAMLError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = yamlQuoted.ReplaceAllString(msg, "a value")
	return escape.Terminal(msg)
}

// openInWorkDir opens a file named relative to the workspace through an
// os.Root, so a symlink cannot lead it out of the workspace; absolute
// paths, and any path without a workspace, are the user's to choose.
func openInWorkDir(workDir, p string) (*os.File, error) {
	if workDir == "" || filepath.IsAbs(p) {
		return os.Open(p)
	}
	root, err := os.OpenRoot(workDir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// Stat first: opening a FIFO would block.
	if st, err := root.Stat(p); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	f, err := root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	return f, nil
}

// applyConfig merges the config under the flags and validates rule names.
func (o *options) applyConfig(cfg *fileConfig, path string) error {
	if cfg == nil {
		return nil
	}
	if cfg.Profile != "" && !o.set["profile"] {
		o.rawProfile = cfg.Profile
	}
	if len(cfg.Platforms) > 0 && !o.set["platforms"] {
		o.rawPlatforms = strings.Join(cfg.Platforms, ",")
	}
	if len(cfg.DesktopAPIVersions) > 0 && !o.set["desktop-api-version"] {
		o.rawAPIVersions = cfg.DesktopAPIVersions
	}
	if cfg.FailOn != "" && !o.set["fail-on"] {
		o.rawFailOn = cfg.FailOn
	}
	ids := make([]string, 0, len(cfg.Rules))
	for id := range cfg.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if checks.Lookup(id) == nil {
			return &usageError{fmt.Sprintf("config %s: unknown rule %q (see the README's rule table)", path, id)}
		}
		sev, err := checks.ParseSeverity(cfg.Rules[id])
		if err != nil {
			return &usageError{fmt.Sprintf("config %s: rule %s: %v", path, id, err)}
		}
		if o.severities == nil {
			o.severities = map[string]checks.Severity{}
		}
		o.severities[id] = sev
	}
	return nil
}
