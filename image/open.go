package image

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Options configure Open.
type Options struct {
	// Keychain finds registry credentials. The default is anonymous access.
	Keychain authn.Keychain
	// Auth, when set, is used instead of Keychain.
	Auth authn.Authenticator
	// Transport is the HTTP transport under the retry and counting layers.
	// The default is http.DefaultTransport.
	Transport http.RoundTripper
	// Concurrency bounds concurrent layer reads. The default is 4.
	Concurrency int
	// TempDir is where spooled data may go: registry blobs, in one
	// directory per run, desktop-plugin-check-spool-PID-RANDOM, removed
	// when the last image is closed (and by the next run that spools
	// there, once PID is gone, if the process was killed). The default is
	// os.TempDir().
	TempDir string
	// Insecure lists registries (HOST[:PORT]) spoken to over plain HTTP,
	// besides loopback ones, which always are. Every other host, private
	// addresses included, is spoken to over HTTPS only; a token endpoint or
	// redirect target reached over HTTP must be named too.
	Insecure []string
}

// Open opens the image named by src: a registry reference, oci:DIR[:REF],
// oci-archive:FILE[:REF] or docker-archive:FILE[:REF]. Only the top index or
// manifest is read; everything else is fetched when asked for.
func Open(ctx context.Context, src string, opts Options) (*Image, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	stats := &Stats{}
	img := &Image{stats: stats}
	var (
		s   source
		err error
	)
	switch {
	case strings.HasPrefix(src, "oci:"):
		dir, ref := splitRefName(strings.TrimPrefix(src, "oci:"), pathExists)
		s, err = openLayoutDir(dir, ref, stats)
		img.Name = src
	case strings.HasPrefix(src, "oci-archive:"):
		file, ref := splitRefName(strings.TrimPrefix(src, "oci-archive:"), pathExists)
		s, err = openLayoutArchive(ctx, file, ref, stats)
		img.Name = src
	case strings.HasPrefix(src, "docker-archive:"):
		file, ref := splitRefName(strings.TrimPrefix(src, "docker-archive:"), pathExists)
		s, err = openDockerArchive(ctx, file, ref, stats)
		img.Name = src
	default:
		var rs *registrySource
		rs, err = openRegistry(ctx, src, opts, stats)
		if err == nil {
			img.Name, img.Repository, img.Tag = rs.name, rs.repository, rs.tag
		}
		s = rs
	}
	if err != nil {
		return nil, err
	}
	img.src = s
	img.blobs = &blobCache{src: s, items: map[v1.Hash]*blobItem{}}
	img.scans = newScanCache(s, opts.Concurrency, opts.TempDir)
	if err := img.load(ctx); err != nil {
		img.Close()
		return nil, err
	}
	return img, nil
}

// splitRefName splits "PATH[:REF]". As in containers/image, the first colon
// ends the path, except that a prefix naming an existing file is preferred
// (so directory names with colons work) and a Windows drive letter belongs
// to the path. REF may itself hold colons and slashes (acme/plugin:1.0.0).
func splitRefName(s string, exists func(string) bool) (path, ref string) {
	if exists(s) {
		return s, ""
	}
	start := 0
	if len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/') &&
		('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		start = 2
	}
	first := -1
	for i := start; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		if first < 0 {
			first = i
		}
		if exists(s[:i]) {
			return s[:i], s[i+1:]
		}
	}
	if first < 0 {
		return s, ""
	}
	return s[:first], s[first+1:]
}

func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func (img *Image) load(ctx context.Context) error {
	desc, raw, err := img.src.root(ctx)
	if err != nil {
		return err
	}
	img.Digest, img.MediaType = desc.Digest, desc.MediaType
	// Seed the blob cache so the root manifest is not fetched again.
	it := &blobItem{raw: raw}
	it.once.Do(func() {})
	img.blobs.items[desc.Digest] = it

	if desc.MediaType.IsIndex() || looksLikeIndex(raw) {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("parsing index %s: it %s", desc.Digest, jsonProblem(err))
		}
		if err := checkVariantCount(idx); err != nil {
			return fmt.Errorf("index %s %w", desc.Digest, err)
		}
		img.IsIndex = true
		for _, d := range idx.Manifests {
			if !isVariantEntry(d) {
				img.Skipped = append(img.Skipped, d)
				continue
			}
			v := &Variant{Descriptor: d, img: img}
			if d.Platform != nil {
				v.Platform = *d.Platform
			}
			img.Variants = append(img.Variants, v)
		}
		if len(img.Variants) == 0 {
			return fmt.Errorf("index %s lists no platform images", desc.Digest)
		}
		return nil
	}
	v := &Variant{Descriptor: desc, img: img}
	cf, err := v.Config(ctx)
	if err != nil {
		return err
	}
	v.Platform = v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion}
	img.Variants = []*Variant{v}
	return nil
}

func looksLikeIndex(raw []byte) bool {
	var probe struct {
		Manifests []any `json:"manifests"`
		Layers    []any `json:"layers"`
	}
	if err := jsonUnmarshal(raw, &probe); err != nil {
		return false
	}
	return probe.Manifests != nil && probe.Layers == nil
}
