package image

import (
	"context"
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

	mu     sync.Mutex
	labels map[string]*labelsOnce
}

type labelsOnce struct {
	once   sync.Once
	labels map[string]string
	digest v1.Hash
	err    error
}

// OpenRepository prepares reading repo ("registry/namespace/name"). Costs
// are counted in stats (which may be shared with an Image).
func OpenRepository(ctx context.Context, repo string, opts Options, stats *Stats) (*Repository, error) {
	r, err := name.NewRepository(repo, opts.nameOptions(repo)...)
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
	return &Repository{repo: r, puller: p, stats: stats, labels: map[string]*labelsOnce{}}, nil
}

// Name is the repository's full name.
func (r *Repository) Name() string { return r.repo.Name() }

// Tags lists every tag, following Link headers across pages. A repository
// that does not exist yet has no tags.
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	tags, err := r.puller.List(ctx, r.repo)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, RegistryError(r.repo.RegistryStr(), "the tags of "+r.repo.Name(), err)
	}
	return tags, nil
}

// Digest returns the digest a tag points at (a HEAD request), and false when
// the tag does not exist.
func (r *Repository) Digest(ctx context.Context, tag string) (v1.Hash, bool, error) {
	d, err := r.puller.Head(ctx, r.repo.Tag(tag))
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
		lo.labels, lo.digest, lo.err = r.readLabels(ctx, tag)
	})
	return lo.labels, lo.digest, lo.err
}

func (r *Repository) readLabels(ctx context.Context, tag string) (map[string]string, v1.Hash, error) {
	ref := r.repo.Tag(tag)
	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		return nil, v1.Hash{}, RegistryError(r.repo.RegistryStr(), ref.Name(), err)
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, desc.Digest, fmt.Errorf("reading index of %s: %w", ref.Name(), err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			return nil, desc.Digest, fmt.Errorf("reading index of %s: %w", ref.Name(), err)
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
		img, err = idx.Image(pick.Digest)
		if err != nil {
			return nil, desc.Digest, fmt.Errorf("reading %s of %s: %w", PlatformString(platformOf(pick)), ref.Name(), err)
		}
	} else {
		img, err = desc.Image()
		if err != nil {
			return nil, desc.Digest, fmt.Errorf("reading %s: %w", ref.Name(), err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, desc.Digest, RegistryError(r.repo.RegistryStr(), "the config of "+ref.Name(), err)
	}
	labels := cf.Config.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return labels, desc.Digest, nil
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

// Releases opens repo for reading earlier releases, sharing the image's
// registry connection (and its authentication) when repo is on the same
// registry, and counting costs in the image's Stats.
func (img *Image) Releases(ctx context.Context, repo string, opts Options) (*Repository, error) {
	rs, ok := img.src.(*registrySource)
	if !ok {
		return OpenRepository(ctx, repo, opts, img.stats)
	}
	r, err := name.NewRepository(repo, opts.nameOptions(repo)...)
	if err != nil {
		return nil, fmt.Errorf("parsing repository %q: %w", repo, err)
	}
	if r.RegistryStr() != rs.ref.Context().RegistryStr() {
		return OpenRepository(ctx, repo, opts, img.stats)
	}
	return &Repository{repo: r, puller: rs.puller, stats: img.stats, labels: map[string]*labelsOnce{}}, nil
}
