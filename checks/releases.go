package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"github.com/docker/desktop-plugin-check/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Releases is the history of a repository: its tags, their digests and
// their labels. image.Repository implements it.
type Releases interface {
	// Tags lists every tag (nil for a repository that does not exist yet).
	// A listing stopped at a bound returns the tags read so far and an
	// *image.TagLimitError.
	Tags(ctx context.Context) ([]string, error)
	// Digest returns the digest a tag points at, false when it does not exist.
	Digest(ctx context.Context, tag string) (v1.Hash, bool, error)
	// Labels returns the labels of the release a tag points at.
	Labels(ctx context.Context, tag string) (map[string]string, v1.Hash, error)
}

// maxHistoryReads bounds how many earlier releases' labels are read to
// predict what Desktop offers.
const maxHistoryReads = 100

// ReleasedVersion is a semver tag of the repository.
type ReleasedVersion struct {
	Tag     string
	Version *semver.Version
}

// ParseReleaseTag reads a tag as a version the lenient way Desktop orders
// existing tags: strict semver, with a leading "v" tolerated.
func ParseReleaseTag(tag string) (*semver.Version, bool) {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(tag, "v"))
	return v, err == nil
}

// ParseAPIConstraint reads an API version label: a bare semver version
// (exact match) or a constraint. bare reports the former.
func ParseAPIConstraint(label string) (c *semver.Constraints, bare bool, err error) {
	s := strings.TrimSpace(label)
	if s == "" {
		return nil, false, fmt.Errorf("empty")
	}
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v")); err == nil {
		c, err := semver.NewConstraint("= " + strings.TrimPrefix(s, "v"))
		return c, true, err
	}
	c, err = semver.NewConstraint(s)
	if err != nil {
		return nil, false, err
	}
	return c, false, nil
}

// APIVersionOf returns a release's API version label value: the extension
// label, else the plugin label.
func APIVersionOf(labels map[string]string) (label, value string) {
	if v, ok := labels[LabelExtensionAPIVersion]; ok {
		return LabelExtensionAPIVersion, v
	}
	if v, ok := labels[LabelPluginAPIVersion]; ok {
		return LabelPluginAPIVersion, v
	}
	return "", ""
}

// accepts reports whether an API label value accepts Desktop API version a.
// Garbage and missing labels accept nothing.
func accepts(label string, a *semver.Version) bool {
	c, _, err := ParseAPIConstraint(label)
	if err != nil {
		return false
	}
	return c.Check(a)
}

// tagList is the repository's tag list, read once, as soon as the target
// is made (when there is a release version to compare).
type tagList struct {
	once sync.Once
	done chan struct{}
	tags []string
	err  error
}

// startTags starts reading the tag list, if a history will need it.
func (t *Target) startTags(ctx context.Context) {
	if t.Options.Releases == nil {
		return
	}
	if _, err := semver.StrictNewVersion(t.Options.Release); err != nil {
		return
	}
	t.tags.once.Do(func() {
		t.tags.done = make(chan struct{})
		go func() {
			defer close(t.tags.done)
			t.tags.tags, t.tags.err = t.Options.Releases.Tags(ctx)
		}()
	})
}

// releaseTags returns the tag list (startTags, then its result).
func (t *Target) releaseTags(ctx context.Context) ([]string, error) {
	t.startTags(ctx)
	if t.tags.done == nil {
		return t.Options.Releases.Tags(ctx)
	}
	<-t.tags.done
	return t.tags.tags, t.tags.err
}

// history is what the repository says about earlier releases, computed once.
type history struct {
	once sync.Once
	err  error

	// release is the version being released (nil when not semver).
	release *semver.Version
	// tags are all tags; versions the semver ones other than the release
	// tag, highest first.
	tags     []string
	versions []ReleasedVersion
	// targets are the Desktop API versions considered.
	targets []*semver.Version
	// releaseAPI is this release's API label value.
	releaseAPI string
	// before maps a target to the version Desktop offers today ("" none);
	// known reports whether it was determined.
	before map[string]string
	known  map[string]bool
	// reads counts earlier releases whose labels were read.
	reads int
	// tagLimit is set when the tag listing stopped at a bound.
	tagLimit *image.TagLimitError
}

// Targets returns the target Desktop API versions: the options' list, else
// under the extension profile the built-in table of extension API versions.
// The plugin profile has no default targets: plugin-era Desktops did no
// technical validation of the plugin API version, and the extension API
// table says nothing about plugin API versions such as 1.0.0-beta.1.
func (t *Target) Targets() []*semver.Version {
	list := t.Options.DesktopAPIVersions
	if len(list) == 0 && t.Profile == ProfileExtension {
		list = DesktopAPIVersions()
	}
	var out []*semver.Version
	for _, s := range list {
		if v, err := semver.NewVersion(strings.TrimPrefix(s, "v")); err == nil {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *semver.Version) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b *semver.Version) bool { return a.Equal(b) })
}

// APIVersion returns the image's API version label and its value (from the
// first variant that has one), or "" when it has none.
func (t *Target) APIVersion(ctx context.Context) (string, string, error) {
	for _, v := range t.Variants() {
		ls, err := v.Labels(ctx)
		if err != nil {
			return "", "", err
		}
		if name, val := APIVersionOf(ls); name != "" {
			return name, val, nil
		}
	}
	return "", "", nil
}

// history lists the repository's versions and works out, for every target
// Desktop API version that this release accepts, which earlier release
// Desktop offers today. Only releases that can change that answer are read:
// from the highest version down until each such target has its pick.
func (t *Target) history(ctx context.Context) (*history, error) {
	h := &t.hist
	h.once.Do(func() {
		h.err = t.loadHistory(ctx, h)
	})
	return h, h.err
}

func (t *Target) loadHistory(ctx context.Context, h *history) error {
	if v, err := semver.StrictNewVersion(t.Options.Release); err == nil {
		h.release = v
	}
	h.targets = t.Targets()
	_, api, err := t.APIVersion(ctx)
	if err != nil {
		return err
	}
	h.releaseAPI = api
	h.before, h.known = map[string]string{}, map[string]bool{}
	// Without a release version there is nothing to compare: no registry
	// request is made.
	if t.Options.Releases == nil || h.release == nil {
		for _, a := range h.targets {
			h.known[a.Original()] = true
		}
		return nil
	}
	tags, err := t.releaseTags(ctx)
	var lim *image.TagLimitError
	if errors.As(err, &lim) {
		// A listing cut short by a bound of the check: go on with the tags
		// read, and say so (version/monotonic).
		h.tagLimit, err = lim, nil
	}
	if err != nil {
		return err
	}
	h.tags = tags
	for _, tag := range tags {
		if tag == t.Options.Release {
			continue
		}
		if v, ok := ParseReleaseTag(tag); ok {
			h.versions = append(h.versions, ReleasedVersion{Tag: tag, Version: v})
		}
	}
	slices.SortStableFunc(h.versions, func(a, b ReleasedVersion) int {
		if c := b.Version.Compare(a.Version); c != 0 {
			return c
		}
		return strings.Compare(a.Tag, b.Tag)
	})
	// Targets whose answer this release can change.
	pending := map[string]*semver.Version{}
	for _, a := range h.targets {
		if h.release != nil && accepts(api, a) {
			pending[a.Original()] = a
		} else {
			h.known[a.Original()] = false
		}
	}
	// Earlier releases are read highest first, in batches read
	// concurrently (each read is three dependent round trips: index,
	// manifest, config) and applied in order, so the answer is the one a
	// serial read gives. Batches grow 1, 2, 4, ... up to historyBatch: the
	// highest release alone usually answers every target (one read, each
	// manifest GET counting as a Docker Hub pull); a long search costs at
	// most historyBatch-1 reads more than a serial one, in far fewer round
	// trips.
	size := 1
	for next := 0; next < len(h.versions) && len(pending) > 0 && h.reads < maxHistoryReads; size = min(2*size, historyBatch) {
		batch := h.versions[next:min(next+size, len(h.versions), next+maxHistoryReads-h.reads)]
		next += len(batch)
		vals, err := t.releaseAPIs(ctx, batch)
		if err != nil {
			return err
		}
		for i, rv := range batch {
			if len(pending) == 0 {
				break
			}
			h.reads++
			for k, a := range pending {
				if accepts(vals[i], a) {
					h.before[k] = rv.Tag
					h.known[k] = true
					delete(pending, k)
				}
			}
		}
	}
	// Targets still pending after every version was read get nothing today.
	if h.reads < maxHistoryReads || len(h.versions) <= maxHistoryReads {
		for k := range pending {
			h.known[k] = true
		}
	}
	return nil
}

// historyBatch is how many earlier releases are read at once.
const historyBatch = 4

// releaseAPIs reads the API version labels of releases concurrently.
func (t *Target) releaseAPIs(ctx context.Context, rvs []ReleasedVersion) ([]string, error) {
	vals := make([]string, len(rvs))
	errs := make([]error, len(rvs))
	var wg sync.WaitGroup
	for i, rv := range rvs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			labels, _, err := t.Options.Releases.Labels(ctx, rv.Tag)
			errs[i] = err
			_, vals[i] = APIVersionOf(labels)
		}()
	}
	wg.Wait()
	return vals, errors.Join(errs...)
}

// Impact is, for one target Desktop API version, the plugin version that
// Desktop offers before and after this release.
type Impact struct {
	DesktopAPIVersion string
	// Before and After are tags ("" for none). Unchanged reports that this
	// release does not change the answer (it does not accept the version),
	// in which case Before and After are not read.
	Before, After string
	Unchanged     bool
	// Unknown reports that the answer was not determined (read limit).
	Unknown bool
}

// Impact predicts what each target Desktop offers before and after this
// release. It needs the release version and a repository.
func (t *Target) Impact(ctx context.Context) ([]Impact, error) {
	h, err := t.history(ctx)
	if err != nil {
		return nil, err
	}
	if h.release == nil {
		return nil, nil
	}
	var out []Impact
	for _, a := range h.targets {
		k := a.Original()
		im := Impact{DesktopAPIVersion: k}
		switch {
		case !accepts(h.releaseAPI, a):
			im.Unchanged = true
		case !h.known[k]:
			im.Unknown = true
		default:
			im.Before = h.before[k]
			im.After = im.Before
			if bv, ok := ParseReleaseTag(im.Before); im.Before == "" || (ok && h.release.GreaterThan(bv)) {
				im.After = t.Options.Release
			}
		}
		out = append(out, im)
	}
	return out, nil
}
