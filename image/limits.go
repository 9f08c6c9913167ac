package image

import (
	"bytes"
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Bounds on listing a repository's tags (Repository.Tags), which a hostile
// or broken registry could otherwise make endless: one body that never ends,
// or Link headers that always name a next page.
const (
	// maxTagPageBytes caps one page of a tag list. A page of the
	// distribution registry's default 1,000 tags of the longest kind (128
	// bytes) is about 130 KB; Docker Hub pages are smaller.
	maxTagPageBytes = 16 << 20
	// maxTagListBytes caps all pages together, so that pages padded to
	// just under maxTagPageBytes cannot add up to gigabytes: 200,000 tags of
	// 128 bytes are 26 MB of JSON.
	maxTagListBytes = 64 << 20
	// maxTagPages caps the pages followed: 1,000 pages of the usual 1,000
	// tags hold more than maxTags.
	maxTagPages = 1000
	// maxTags caps the tags kept. Docker Hub repositories with tens of
	// thousands of tags exist; a plugin with more than 200,000 releases
	// does not.
	maxTags = 200000
	// maxTagLength is the longest tag the distribution spec allows.
	maxTagLength = 128
)

// The limits a TagLimitError names.
const (
	TagLimitPageBytes = "bytes per page"
	TagLimitBytes     = "bytes"
	TagLimitPages     = "pages"
	TagLimitTags      = "tags"
)

// TagLimitError reports that listing a repository's tags stopped at a
// bound. Repository.Tags returns it together with the tags read until then,
// which are valid but may miss some (the highest versions, on a registry
// that lists them last).
type TagLimitError struct {
	// Repository is the repository's full name.
	Repository string
	// Limit is the bound that was reached: TagLimitPageBytes,
	// TagLimitBytes, TagLimitPages or TagLimitTags.
	Limit string
	// Max is the bound's value, in its unit.
	Max int64
	// Tags is the number of tags returned.
	Tags int
}

func (e *TagLimitError) Error() string {
	return fmt.Sprintf("listing the tags of %s stopped after %d tags: above the limit of %d %s", e.Repository, e.Tags, e.Max, e.Limit)
}

// validTag reports whether tag is a tag as the distribution spec defines
// it, [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. A registry has no other; dropping
// the rest keeps what a listing holds small.
func validTag(tag string) bool {
	if tag == "" || len(tag) > maxTagLength {
		return false
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// tagListCapError is what a tag-list body returns once it goes past a
// bound (tagListBody); Repository.Tags turns it into a TagLimitError.
type tagListCapError struct {
	limit string
	max   int64
}

func (e *tagListCapError) Error() string {
	return fmt.Sprintf("tag list is above the limit of %d %s", e.max, e.limit)
}

// tagListBudget is what is left of maxTagListBytes for one listing; the
// listing carries it in its requests' context to costTransport.
type tagListBudget struct{ left int64 }

type tagListBudgetKey struct{}

func withTagListBudget(ctx context.Context, b *tagListBudget) context.Context {
	return context.WithValue(ctx, tagListBudgetKey{}, b)
}

func tagListBudgetFrom(ctx context.Context) *tagListBudget {
	b, _ := ctx.Value(tagListBudgetKey{}).(*tagListBudget)
	return b
}

// maxVariants bounds the platform variants of an index. Each is read
// concurrently (its manifest, config and layers), so an index of thousands
// of entries would fan out to thousands of goroutines and connections; real
// plugins have a handful. Attestations and nested indexes do not count.
const maxVariants = 64

// isVariantEntry reports whether an index entry is a platform variant.
func isVariantEntry(d v1.Descriptor) bool {
	return !isAttestation(d) && !d.MediaType.IsIndex()
}

// checkVariantCount fails when idx has more than maxVariants platform
// entries.
func checkVariantCount(idx *v1.IndexManifest) error {
	n := 0
	for _, d := range idx.Manifests {
		if isVariantEntry(d) {
			n++
		}
	}
	if n > maxVariants {
		return fmt.Errorf("has %d platform entries, above the limit of %d", n, maxVariants)
	}
	return nil
}

// checkIndexVariants is checkVariantCount for a raw index; one that does not
// parse is left to the caller to report.
func checkIndexVariants(raw []byte) error {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	return checkVariantCount(idx)
}

// fetchPool bounds how many manifests and configs are fetched at once, so
// that reading every variant concurrently opens a few connections, not one
// per variant. Layer reads have their own bound (scanCache).
type fetchPool chan struct{}

func newFetchPool(n int) fetchPool {
	if n <= 0 {
		n = 4
	}
	return make(fetchPool, n)
}

// acquire waits for a free slot, or until ctx is done; release frees it. A
// nil pool never waits.
func (p fetchPool) acquire(ctx context.Context) (release func(), err error) {
	if p == nil {
		return func() {}, nil
	}
	select {
	case p <- struct{}{}:
		return func() { <-p }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pooledSource is a source whose fetches of manifests and configs go
// through a fetchPool.
type pooledSource interface {
	fetchPool() fetchPool
}

func fetchPoolOf(src source) fetchPool {
	if ps, ok := src.(pooledSource); ok {
		return ps.fetchPool()
	}
	return nil
}
