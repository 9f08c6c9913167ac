package image

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
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
// oci-archive:FILE[:REF] or docker-archive:FILE[:REF], where REF may be
// @N, the zero-based index of an image in index.json (manifest.json for
// docker-archive), as in containers-transports(5). Only the top index or
// manifest is read; everything else is fetched when asked for.
//
// The Tag of a local source is the tag of the name it is saved under (its
// org.opencontainers.image.ref.name, or the RepoTags entry of a docker
// archive): "acme/plugin:1.2.0" and "1.2.0" both give "1.2.0".
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
	case strings.HasPrefix(src, "oci:"), strings.HasPrefix(src, "oci-archive:"), strings.HasPrefix(src, "docker-archive:"):
		s, err = openLocal(ctx, src, stats)
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
	if ns, ok := s.(namedSource); ok {
		img.Tag = ns.tag()
	}
	return img, nil
}

// openLocal opens a local source, TRANSPORT:PATH[:REF].
func openLocal(ctx context.Context, src string, stats *Stats) (source, error) {
	transport, rest, _ := strings.Cut(src, ":")
	path, ref := splitRefName(rest, pathExists)
	sel, err := parseSelector(ref, src)
	if err != nil {
		return nil, err
	}
	switch transport {
	case "oci":
		return openLayoutDir(path, sel, stats)
	case "oci-archive":
		return openLayoutArchive(ctx, path, sel, stats)
	}
	return openDockerArchive(ctx, path, sel, stats)
}

// namedSource is a local source that knows, once its root is read, the tag
// of the name the image is saved under ("" when it has none, or several).
type namedSource interface {
	tag() string
}

// selector is how a local source names one of the images it holds: by
// name (ref), by zero-based index (@N), or neither (it must hold one).
type selector struct {
	ref   string
	index int // -1 when there is none
}

// parseSelector reads the REF of a local source: @N, an index, or a name.
func parseSelector(ref, src string) (selector, error) {
	digits, ok := strings.CutPrefix(ref, "@")
	if !ok {
		return selector{ref: ref, index: -1}, nil
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || strings.Trim(digits, "0123456789") != "" {
		return selector{}, fmt.Errorf("reading %s: %s is not an image index (@N takes a number, counted from 0)", quoteName(src), quoteName(ref))
	}
	return selector{index: n}, nil
}

// maxListed bounds the images a message about a local source lists.
const maxListed = 10

// describeHeld describes the images of a local source for a message, each
// by its @N and its names (names[N]), none for an image without:
// `@0 "acme/plugin:1.0.0" or "acme/plugin:latest", @1 untagged`. It lists
// at most max images, and at most 3 names of each.
func describeHeld(names [][]string, none string, max int) string {
	var b strings.Builder
	for i, ns := range names {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(names)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "@%d ", i)
		if len(ns) == 0 {
			b.WriteString(none)
		}
		for j, n := range ns {
			if j == 3 {
				fmt.Fprintf(&b, " (and %d more names)", len(ns)-j)
				break
			}
			if j > 0 {
				b.WriteString(" or ")
			}
			b.WriteString(quoteName(n))
		}
	}
	return b.String()
}

// savedTag is the tag of a name an image is saved under: the name itself
// when it is a plain tag ("1.2.0", as an OCI ref name usually is), else
// the tag of the reference ("acme/plugin:1.2.0", "docker.io/acme/plugin:1.2.0").
// A reference without a tag, or by digest, has none; nor has a name that is
// not a valid tag.
func savedTag(s string) string {
	if strings.Contains(s, "@") {
		return ""
	}
	last := s[strings.LastIndex(s, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		last = last[i+1:]
	} else if strings.Contains(s, "/") {
		return ""
	}
	if !validTag(last) {
		return ""
	}
	return last
}

// releaseTag is the one tag of an image saved under names with tags:
// "latest" gives way to any other, and two others are no answer.
func releaseTag(tags []string) string {
	one := ""
	for _, t := range tags {
		switch {
		case t == "" || t == one:
		case one == "" || one == "latest":
			one = t
		case t == "latest":
		default:
			return ""
		}
	}
	return one
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
