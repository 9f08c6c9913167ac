package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Repository reads the releases of a registry repository: its tags, their
// digests and their labels, never a layer.
type Repository struct {
	repo   name.Repository
	puller *remote.Puller
	stats  *Stats
	// pool bounds concurrent fetches of manifests and configs.
	pool fetchPool

	mu     sync.Mutex
	labels map[string]*labelsOnce
}

type labelsOnce struct {
	once   sync.Once
	done   bool // the read finished (guarded by Repository.mu)
	labels map[string]string
	digest v1.Hash
	err    error
}

// OpenRepository prepares reading repo ("registry/namespace/name"). Costs
// are counted in stats (which may be shared with an Image).
//
// opts.Auth, when set, is sent to repo's registry as given: pass it only
// when the credentials belong to that registry (Image.Releases drops it for
// a repository on another registry than the image's).
func OpenRepository(ctx context.Context, repo string, opts Options, stats *Stats) (*Repository, error) {
	r, err := name.NewRepository(repo, referenceOptions(repo, opts)...)
	if err != nil {
		return nil, fmt.Errorf("parsing repository %q: %w", repo, err)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	p, err := remote.NewPuller(RemoteOptions(ctx, opts, stats)...)
	if err != nil {
		return nil, err
	}
	return &Repository{repo: r, puller: p, stats: stats, pool: newFetchPool(opts.Concurrency), labels: map[string]*labelsOnce{}}, nil
}

// Name is the repository's full name.
func (r *Repository) Name() string { return r.repo.Name() }

// Tags lists every tag, following Link headers across pages. A repository
// that does not exist yet has no tags. Tags that are not valid tag names
// are dropped.
//
// Listing is bounded (maxTagPageBytes per page, maxTagListBytes in all,
// maxTagPages pages, maxTags tags): when a bound is reached, Tags returns
// the tags read until then together with a *TagLimitError.
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	ctx = withTagListBudget(ctx, &tagListBudget{left: maxTagListBytes})
	// The Lister reads the first page; each Next after the first reads
	// one more.
	lister, err := r.puller.Lister(ctx, r.repo)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, r.tagsError(nil, err)
	}
	var tags []string
	for pages := 1; ; pages++ {
		page, err := lister.Next(ctx)
		if err != nil {
			return tags, r.tagsError(tags, err)
		}
		for _, tag := range page.Tags {
			if !validTag(tag) {
				continue
			}
			if len(tags) == maxTags {
				return tags, r.tagLimit(TagLimitTags, maxTags, tags)
			}
			tags = append(tags, tag)
		}
		switch {
		case !lister.HasNext():
			return tags, nil
		case len(tags) == maxTags:
			return tags, r.tagLimit(TagLimitTags, maxTags, tags)
		case pages == maxTagPages:
			return tags, r.tagLimit(TagLimitPages, maxTagPages, tags)
		}
	}
}

func (r *Repository) tagLimit(limit string, max int64, tags []string) *TagLimitError {
	return &TagLimitError{Repository: r.repo.Name(), Limit: limit, Max: max, Tags: len(tags)}
}

// tagsError is the error of a listing that failed after reading tags.
func (r *Repository) tagsError(tags []string, err error) error {
	var cerr *tagListCapError
	if errors.As(err, &cerr) {
		return r.tagLimit(cerr.limit, cerr.max, tags)
	}
	return RegistryError(r.repo.RegistryStr(), "the tags of "+r.repo.Name(), err)
}

// Digest returns the digest a tag points at (a HEAD request), and false when
// the tag does not exist.
func (r *Repository) Digest(ctx context.Context, tag string) (v1.Hash, bool, error) {
	// A tag whose labels were read already has a known digest.
	r.mu.Lock()
	lo, ok := r.labels[tag]
	known := ok && lo.done && lo.err == nil && lo.digest != (v1.Hash{})
	r.mu.Unlock()
	if known {
		return lo.digest, true, nil
	}
	release, err := r.pool.acquire(ctx)
	if err != nil {
		return v1.Hash{}, false, err
	}
	d, err := r.puller.Head(ctx, r.repo.Tag(tag))
	release()
	if err != nil {
		if isNotFound(err) {
			return v1.Hash{}, false, nil
		}
		return v1.Hash{}, false, RegistryError(r.repo.RegistryStr(), r.repo.Tag(tag).Name(), err)
	}
	return d.Digest, true, nil
}

// Labels returns the labels of the release a tag points at, read from one
// variant's config (linux/amd64 when the tag is an index, else the first
// platform variant), and the tag's digest. Each tag is read once.
func (r *Repository) Labels(ctx context.Context, tag string) (map[string]string, v1.Hash, error) {
	r.mu.Lock()
	lo, ok := r.labels[tag]
	if !ok {
		lo = &labelsOnce{}
		r.labels[tag] = lo
	}
	r.mu.Unlock()
	lo.once.Do(func() {
		labels, digest, err := r.readLabels(ctx, tag)
		r.mu.Lock()
		lo.labels, lo.digest, lo.err, lo.done = labels, digest, err, true
		r.mu.Unlock()
	})
	return lo.labels, lo.digest, lo.err
}

func (r *Repository) readLabels(ctx context.Context, tag string) (map[string]string, v1.Hash, error) {
	ref := r.repo.Tag(tag)
	release, err := r.pool.acquire(ctx)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	desc, err := r.puller.Get(ctx, ref)
	release()
	if err != nil {
		return nil, v1.Hash{}, RegistryError(r.repo.RegistryStr(), ref.Name(), err)
	}
	raw := desc.Manifest
	if len(raw) > maxManifestSize {
		return nil, desc.Digest, fmt.Errorf("manifest of %s is above the %d byte limit", ref.Name(), maxManifestSize)
	}
	// The variant's manifest and the config go through the bounded reads
	// that an opened image uses (maxManifestSize, digest checked).
	src := &registrySource{ref: ref, puller: r.puller}
	what := ref.Name()
	if desc.MediaType.IsIndex() || looksLikeIndex(raw) {
		m, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, desc.Digest, fmt.Errorf("parsing index of %s: %w", ref.Name(), err)
		}
		var pick *v1.Descriptor
		for i, d := range m.Manifests {
			if isAttestation(d) || d.MediaType.IsIndex() {
				continue
			}
			if pick == nil || (d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == "amd64") {
				pick = &m.Manifests[i]
			}
		}
		if pick == nil {
			return nil, desc.Digest, fmt.Errorf("index of %s lists no platform image", ref.Name())
		}
		what = PlatformString(platformOf(pick)) + " of " + ref.Name()
		if raw, err = r.pooled(ctx, func() ([]byte, error) { return readManifest(ctx, src, *pick) }); err != nil {
			return nil, desc.Digest, fmt.Errorf("reading %s: %w", what, err)
		}
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, desc.Digest, fmt.Errorf("parsing manifest of %s: %w", what, err)
	}
	cfgRaw, err := r.pooled(ctx, func() ([]byte, error) { return readBlob(ctx, src, m.Config) })
	if err != nil {
		return nil, desc.Digest, fmt.Errorf("reading the config of %s: %w", what, err)
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(cfgRaw, &cf); err != nil {
		return nil, desc.Digest, fmt.Errorf("parsing the config of %s: %w", what, err)
	}
	labels := cf.Config.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return labels, desc.Digest, nil
}

// pooled calls read in a slot of r's fetch pool.
func (r *Repository) pooled(ctx context.Context, read func() ([]byte, error)) ([]byte, error) {
	release, err := r.pool.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return read()
}

func platformOf(d *v1.Descriptor) v1.Platform {
	if d.Platform == nil {
		return v1.Platform{}
	}
	return *d.Platform
}

func isNotFound(err error) bool {
	var terr *transport.Error
	if errors.As(err, &terr) {
		if terr.StatusCode == http.StatusNotFound {
			return true
		}
		for _, d := range terr.Errors {
			if d.Code == transport.NameUnknownErrorCode || d.Code == transport.ManifestUnknownErrorCode {
				return true
			}
		}
	}
	return false
}

// Releases opens repo for reading earlier releases, counting costs in the
// image's Stats. When repo is on the image's registry, it shares the image's
// registry connection and authentication. When it is on another registry,
// opts.Auth is dropped, since explicit credentials belong to the image's
// registry only, and opts.Keychain finds credentials for repo's. For an
// image from a local source, opts is used as given.
func (img *Image) Releases(ctx context.Context, repo string, opts Options) (*Repository, error) {
	rs, ok := img.src.(*registrySource)
	if !ok {
		return OpenRepository(ctx, repo, opts, img.stats)
	}
	r, err := name.NewRepository(repo, referenceOptions(repo, opts)...)
	if err != nil {
		return nil, fmt.Errorf("parsing repository %q: %w", repo, err)
	}
	if r.RegistryStr() != rs.ref.Context().RegistryStr() {
		opts.Auth = nil
		return OpenRepository(ctx, repo, opts, img.stats)
	}
	return &Repository{repo: r, puller: rs.puller, stats: img.stats, pool: rs.pool, labels: map[string]*labelsOnce{}}, nil
}
