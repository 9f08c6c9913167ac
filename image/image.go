// Package image opens Docker Desktop plugin images from registries, OCI layouts
// and archives, and gives lazy, memoised access to their platform variants:
// manifests and configs are fetched once, and files are read through a merged
// filesystem that streams layers top-down and stops as soon as it can. An
// opened image can be pushed, exactly as it is, to registries (Image.Push).
package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxManifestSize caps manifests, indexes and configs read into memory.
const maxManifestSize = 8 << 20

// Stats counts what reading an image cost.
type Stats struct {
	requests atomic.Int64
	bytes    atomic.Int64
}

// Requests is the number of HTTP requests sent (0 for local sources).
func (s *Stats) Requests() int64 { return s.requests.Load() }

// Bytes is the number of bytes read from the registry or from local files.
func (s *Stats) Bytes() int64 { return s.bytes.Load() }

// Image is an opened image: a multi-platform index or a single-platform manifest.
type Image struct {
	// Name is the reference as resolved (registry references are fully qualified).
	Name string
	// Repository is the registry repository (e.g. "index.docker.io/acme/plugin"),
	// empty for local sources.
	Repository string
	// Tag is the tag in the source's name, if any: a registry reference's tag, a
	// layout's ref name or a docker-archive's tag (its tag part only, "1.2.0").
	Tag string
	// Digest is the digest of the index or manifest that was checked.
	Digest v1.Hash
	// MediaType is the media type of the index or manifest.
	MediaType types.MediaType
	// IsIndex reports whether the image is a multi-platform index.
	IsIndex bool
	// Variants are the platform variants, attestations excluded, in index order.
	Variants []*Variant
	// Skipped describes index entries that are not platform variants
	// (attestations), for the record.
	Skipped []v1.Descriptor

	src   source
	stats *Stats
	blobs *blobCache
	scans *scanCache

	closeOnce sync.Once
	closeErr  error
}

// Stats returns the cost counters of this image's source.
func (img *Image) Stats() *Stats { return img.stats }

// Close releases what the source holds open (archive files) and removes the
// spool directory made in Options.TempDir.
// Closing again does nothing.
func (img *Image) Close() error {
	img.closeOnce.Do(func() {
		img.closeErr = errors.Join(img.scans.close(), img.src.close())
	})
	return img.closeErr
}

// Variant is one platform's image inside an index (or the only image).
type Variant struct {
	// Platform is the platform the index descriptor announces; for a
	// single-platform image it is read from the config.
	Platform v1.Platform
	// Descriptor is the manifest's descriptor.
	Descriptor v1.Descriptor

	img *Image

	manifestOnce sync.Once
	manifest     *v1.Manifest
	manifestErr  error

	configOnce sync.Once
	config     *v1.ConfigFile
	configRaw  []byte
	configErr  error
	// configAsked is set once the config's fetch started, configRead once
	// it ended.
	configAsked, configRead atomic.Bool
	// steps is what made each layer, from the config's history (see
	// layerSteps), worked out once.
	stepsOnce sync.Once
	steps     []string
}

// PlatformString returns "os/arch[/variant]".
func (v *Variant) PlatformString() string { return PlatformString(v.Platform) }

// PlatformString formats a platform as "os/arch[/variant]".
func PlatformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Manifest returns the variant's manifest, fetched once.
func (v *Variant) Manifest(ctx context.Context) (*v1.Manifest, error) {
	v.manifestOnce.Do(func() {
		raw, err := v.img.blobs.get(ctx, v.Descriptor, true)
		if err != nil {
			v.manifestErr = fmt.Errorf("reading manifest of %s: %w", v.PlatformString(), err)
			return
		}
		m, err := v1.ParseManifest(strings.NewReader(string(raw)))
		if err != nil {
			v.manifestErr = fmt.Errorf("parsing manifest of %s: %w", v.PlatformString(), err)
			return
		}
		v.manifest = m
	})
	return v.manifest, v.manifestErr
}

// Config returns the variant's config file, fetched once. No layer is read.
func (v *Variant) Config(ctx context.Context) (*v1.ConfigFile, error) {
	v.configOnce.Do(func() {
		v.configAsked.Store(true)
		defer v.configRead.Store(true)
		m, err := v.Manifest(ctx)
		if err != nil {
			v.configErr = err
			return
		}
		raw, err := v.img.blobs.get(ctx, m.Config, false)
		if err != nil {
			v.configErr = fmt.Errorf("reading config of %s: %w", v.PlatformString(), err)
			return
		}
		var cf v1.ConfigFile
		if err := json.Unmarshal(raw, &cf); err != nil {
			v.configErr = fmt.Errorf("parsing config of %s: %w", v.PlatformString(), err)
			return
		}
		v.config, v.configRaw = &cf, raw
	})
	return v.config, v.configErr
}

// Labels returns the config's labels (never nil).
func (v *Variant) Labels(ctx context.Context) (map[string]string, error) {
	cf, err := v.Config(ctx)
	if err != nil {
		return nil, err
	}
	if cf.Config.Labels == nil {
		return map[string]string{}, nil
	}
	return cf.Config.Labels, nil
}

// isAttestation reports whether an index entry is an attestation manifest
// rather than a platform variant.
func isAttestation(d v1.Descriptor) bool {
	if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// source is where an image's manifests and blobs come from.
type source interface {
	// root returns the descriptor and raw bytes of the top index or manifest.
	root(ctx context.Context) (v1.Descriptor, []byte, error)
	// open opens a blob (manifest, config or layer) by descriptor.
	open(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error)
	close() error
}

// blobCache memoises small blobs (manifests and configs) by digest.
type blobCache struct {
	src   source
	mu    sync.Mutex
	items map[v1.Hash]*blobItem
}

type blobItem struct {
	once sync.Once
	raw  []byte
	err  error
}

func (c *blobCache) get(ctx context.Context, d v1.Descriptor, manifest bool) ([]byte, error) {
	c.mu.Lock()
	it, ok := c.items[d.Digest]
	if !ok {
		it = &blobItem{}
		c.items[d.Digest] = it
	}
	c.mu.Unlock()
	it.once.Do(func() {
		// Every variant is read concurrently: the pool bounds the
		// requests in flight.
		release, err := fetchPoolOf(c.src).acquire(ctx)
		if err != nil {
			it.err = err
			return
		}
		defer release()
		if mr, ok := c.src.(manifestReader); ok && manifest {
			it.raw, it.err = readManifest(ctx, mr, d)
			return
		}
		it.raw, it.err = readBlob(ctx, c.src, d)
	})
	return it.raw, it.err
}

// manifestReader is a source that serves manifests apart from blobs, as
// registries do (GET /v2/NAME/manifests/DIGEST).
type manifestReader interface {
	manifest(ctx context.Context, d v1.Descriptor) ([]byte, error)
}

func readManifest(ctx context.Context, mr manifestReader, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxManifestSize {
		return nil, fmt.Errorf("manifest %s is %d bytes, above the %d byte limit", d.Digest, d.Size, maxManifestSize)
	}
	raw, err := mr.manifest(ctx, d)
	if err != nil {
		return nil, err
	}
	if len(raw) > maxManifestSize {
		return nil, fmt.Errorf("manifest %s is above the %d byte limit", d.Digest, maxManifestSize)
	}
	if err := verifyBlob("manifest", d, raw); err != nil {
		return nil, err
	}
	return raw, nil
}

func readBlob(ctx context.Context, src source, d v1.Descriptor) ([]byte, error) {
	if d.Size > maxManifestSize {
		return nil, fmt.Errorf("blob %s is %d bytes, above the %d byte limit for manifests and configs", d.Digest, d.Size, maxManifestSize)
	}
	rc, err := src.open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", d.Digest, err)
	}
	if len(raw) > maxManifestSize {
		return nil, fmt.Errorf("blob %s is above the %d byte limit for manifests and configs", d.Digest, maxManifestSize)
	}
	if err := verifyBlob("config", d, raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// ErrNotFound is returned (wrapped) when the image does not exist.
var ErrNotFound = errors.New("image not found")
