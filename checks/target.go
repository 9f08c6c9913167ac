package checks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/internal/escape"
)

// DefaultMetadataMax caps how much of metadata.json (and compose files) is read.
const DefaultMetadataMax = 1 << 20

// DefaultPlatforms are the platforms Docker Desktop runs on.
var DefaultPlatforms = []string{"linux/amd64", "linux/arm64"}

// MetadataPath is where Docker Desktop reads a plugin's metadata.
const MetadataPath = "/metadata.json"

// Options are the settings of a check run.
type Options struct {
	// Profile selects the label rules; auto detects it.
	Profile Profile
	// Platforms are the required platforms ("linux/amd64").
	Platforms []string
	// Release is the version being released (--release, else the tag).
	Release string
	// Repository holds the released versions (--repository, else the image's).
	Repository string
	// DesktopAPIVersions are the target Desktop API versions.
	DesktopAPIVersions []string
	// MetadataMax caps metadata.json reads. The default is DefaultMetadataMax.
	MetadataMax int64
	// Releases reads the repository's earlier releases; nil when there is
	// no repository to compare with.
	Releases Releases
	// PrefetchFiles starts reading every variant's metadata.json and the
	// files it names as soon as the target is made, beside the labels:
	// set it when rules that read files will run (FilesNeeded).
	PrefetchFiles bool
	// Lint is what the lint read of the plugin's sources, for the source/*
	// rules (see source.go); nil when no sources were read.
	Lint *Lint
}

// Target is the image under check with memoised views of its variants.
type Target struct {
	Image   *image.Image
	Options Options
	// Profile is the profile that applies (never auto).
	Profile Profile

	mu       sync.Mutex
	metadata map[*image.Variant]*metadataOnce
	files    map[*image.Variant]*filesOnce
	hist     history
	tags     tagList
	// stopTags ends the tag list's read (its context's resources go with
	// the run's context otherwise).
	stopTags context.CancelFunc
}

type metadataOnce struct {
	once sync.Once
	m    *Metadata
	err  error
}

// Metadata is a variant's /metadata.json.
type Metadata struct {
	// File is the merged file system's answer for /metadata.json.
	File *image.File
	// Raw is the content (up to the cap).
	Raw []byte
	// Value is the parsed document, nil when it is not JSON.
	Value any
	// ParseError explains why Raw is not JSON (or is too large).
	ParseError error
}

// NewTarget prepares a target; the profile is detected from the labels when
// opts.Profile is auto.
func NewTarget(ctx context.Context, img *image.Image, opts Options) (*Target, error) {
	if opts.MetadataMax <= 0 {
		opts.MetadataMax = DefaultMetadataMax
	}
	t := &Target{Image: img, Options: opts, Profile: opts.Profile, metadata: map[*image.Variant]*metadataOnce{}, files: map[*image.Variant]*filesOnce{}}
	if opts.PrefetchFiles {
		// Overlaps the first layer read with the config fetches below;
		// the result is memoised for the rules (errors included).
		for _, v := range img.Variants {
			go t.PluginFiles(ctx, v) //nolint:errcheck // the rules report it
		}
	}
	// The history's tag list needs only the repository: it is read beside
	// the configs (and stopped if the target cannot be made).
	tagsCtx, stopTags := context.WithCancel(ctx)
	t.stopTags = stopTags
	t.startTags(tagsCtx)
	if t.Profile == "" || t.Profile == ProfileAuto {
		// Every variant's config, fetched concurrently (each once).
		all := make([]map[string]string, len(img.Variants))
		errs := make([]error, len(img.Variants))
		var wg sync.WaitGroup
		for i, v := range img.Variants {
			wg.Add(1)
			go func() {
				defer wg.Done()
				all[i], errs[i] = v.Labels(ctx)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			stopTags()
			return nil, err
		}
		t.Profile = DetectProfile(all...)
	}
	return t, nil
}

// Variants returns the image's platform variants.
func (t *Target) Variants() []*image.Variant { return t.Image.Variants }

// Labels returns a variant's labels.
func (t *Target) Labels(ctx context.Context, v *image.Variant) (map[string]string, error) {
	return v.Labels(ctx)
}

// Metadata returns a variant's /metadata.json, read once. A missing file is
// a Metadata whose File does not exist, not an error.
func (t *Target) Metadata(ctx context.Context, v *image.Variant) (*Metadata, error) {
	t.mu.Lock()
	mo, ok := t.metadata[v]
	if !ok {
		mo = &metadataOnce{}
		t.metadata[v] = mo
	}
	t.mu.Unlock()
	mo.once.Do(func() {
		files, err := v.Files(ctx, image.Want{Path: MetadataPath, Max: t.Options.MetadataMax + 1})
		if err != nil {
			mo.err = err
			return
		}
		f := files[MetadataPath]
		m := &Metadata{File: f}
		if f.Exists() && f.Kind == image.Regular {
			m.Raw = f.Data
			switch {
			case f.Size > t.Options.MetadataMax:
				m.Raw = nil
				m.ParseError = fmt.Errorf("metadata.json is %d bytes, above the %d byte limit", f.Size, t.Options.MetadataMax)
			default:
				m.Value, m.ParseError = ParseJSON(f.Data)
			}
		}
		mo.m = m
	})
	return mo.m, mo.err
}

// maxJSONDepth bounds nesting in untrusted JSON.
const maxJSONDepth = 256

// ParseJSON parses untrusted JSON into generic values, refusing documents
// nested deeper than a plugin's metadata ever needs.
func ParseJSON(raw []byte) (any, error) {
	if err := checkDepth(raw, maxJSONDepth); err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkDepth scans raw for bracket nesting beyond max, outside strings.
func checkDepth(raw []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range raw {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return fmt.Errorf("JSON is nested more than %d levels deep", max)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// jsonKind names the JSON type of a value ParseJSON returned, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// quoteCut quotes untrusted s for a message (Go syntax: control characters
// escaped), cut to max runes.
func quoteCut(s string, max int) string { return escape.Quote(s, max) }
