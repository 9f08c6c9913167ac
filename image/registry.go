package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// registrySource reads an image from a registry through one Puller, so
// authentication happens once per repository.
type registrySource struct {
	ref        name.Reference
	name       string
	repository string
	tag        string
	puller     *remote.Puller
	// pool bounds concurrent fetches of manifests and configs.
	pool fetchPool
}

func (s *registrySource) fetchPool() fetchPool { return s.pool }

// pullerJobs is the puller's own limit of open blob streams: more than can
// ever be open at once (see openRegistry), so that it never makes a fetch
// wait for a stream that is held, not read.
func pullerJobs(concurrency int) int { return maxHeldStreams + maxWarm + 2*concurrency + 4 }

// RemoteOptions returns go-containerregistry options that use the same
// credentials, retry policy and cost counters as images opened with opts.
func RemoteOptions(ctx context.Context, opts Options, stats *Stats) []remote.Option {
	auth := []remote.Option{remote.WithAuthFromKeychain(authn.NewMultiKeychain())}
	if opts.Auth != nil {
		auth = []remote.Option{remote.WithAuth(opts.Auth)}
	} else if opts.Keychain != nil {
		auth = []remote.Option{remote.WithAuthFromKeychain(opts.Keychain)}
	}
	return append(auth,
		remote.WithContext(ctx),
		remote.WithTransport(newCostTransport(opts.Transport, stats, opts.Insecure)),
		// Retries happen in costTransport, which honours Retry-After.
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithJobs(opts.Concurrency),
		remote.WithUserAgent("desktop-plugin-check"),
	)
}

func openRegistry(ctx context.Context, src string, opts Options, stats *Stats) (*registrySource, error) {
	ref, err := name.ParseReference(src, referenceOptions(src, opts)...)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", src, err)
	}
	// go-containerregistry's puller holds one of its WithJobs slots until
	// a blob's stream is read to its end or closed, and a layer read that
	// stops early keeps its stream open to resume it: with WithJobs(4),
	// four such streams stalled every later fetch (the release history's
	// configs) until the timeout. So the puller's own limit leaves room for
	// every stream that can be open at once: held streams
	// (maxHeldStreams), requests sent ahead (maxWarm), active layer reads
	// and the fetch pool's manifests and configs (Concurrency each), and a
	// few for the tag list and the root; fetches are bounded where they
	// start instead: manifests and configs by the fetch pool, layer reads
	// by the scan cache.
	p, err := remote.NewPuller(append(RemoteOptions(ctx, opts, stats), remote.WithJobs(pullerJobs(opts.Concurrency)))...)
	if err != nil {
		return nil, err
	}
	rs := &registrySource{ref: ref, name: ref.Name(), repository: ref.Context().Name(), puller: p, pool: newFetchPool(opts.Concurrency)}
	if t, ok := ref.(name.Tag); ok {
		rs.tag = t.TagStr()
	}
	return rs, nil
}

func (s *registrySource) root(ctx context.Context) (v1.Descriptor, []byte, error) {
	ref := s.ref
	if _, ok := ref.(name.Digest); !ok {
		// HEAD first: registries such as Docker Hub do not count it as a
		// pull. A digest reference needs none: the GET below is by digest
		// either way.
		head, err := s.puller.Head(ctx, ref)
		if err != nil {
			return v1.Descriptor{}, nil, s.rootError(ctx, ref, err)
		}
		if head.Size > maxManifestSize {
			return v1.Descriptor{}, nil, fmt.Errorf("manifest %s of %s is %d bytes, above the %d byte limit", head.Digest, s.ref.Name(), head.Size, maxManifestSize)
		}
		ref = s.ref.Context().Digest(head.Digest.String())
	}
	// go-containerregistry checks that the content has the digest asked for.
	d, err := s.puller.Get(ctx, ref)
	if err != nil {
		return v1.Descriptor{}, nil, s.rootError(ctx, ref, err)
	}
	if len(d.Manifest) > maxManifestSize {
		return v1.Descriptor{}, nil, fmt.Errorf("manifest %s of %s is above the %d byte limit", d.Digest, s.ref.Name(), maxManifestSize)
	}
	// Before any variant is fetched: an index of thousands of entries is
	// refused rather than read.
	if d.MediaType.IsIndex() || looksLikeIndex(d.Manifest) {
		if err := checkIndexVariants(d.Manifest); err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("index %s of %s %w", d.Digest, s.ref.Name(), err)
		}
	}
	return d.Descriptor, d.Manifest, nil
}

// rootError is the error of reading the image's own manifest by ref (its
// tag, or the digest the tag pointed at): for a missing one, it says
// whether the tag or the repository is missing.
func (s *registrySource) rootError(ctx context.Context, ref name.Reference, err error) error {
	err = RegistryError(s.ref.Context().RegistryStr(), s.ref.Name(), err)
	if errors.Is(err, ErrNotFound) {
		return s.explainMissing(ctx, ref, err)
	}
	return err
}

func (s *registrySource) open(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	l, err := s.puller.Layer(ctx, s.ref.Context().Digest(d.Digest.String()))
	if err != nil {
		return nil, RegistryError(s.ref.Context().RegistryStr(), s.ref.Context().Name(), err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, RegistryError(s.ref.Context().RegistryStr(), s.ref.Context().Name()+"@"+d.Digest.String(), err)
	}
	return rc, nil
}

// manifest fetches a variant's manifest from the manifests endpoint:
// registries do not serve manifests as blobs.
func (s *registrySource) manifest(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	ref := s.ref.Context().Digest(d.Digest.String())
	got, err := s.puller.Get(ctx, ref)
	if err != nil {
		return nil, RegistryError(s.ref.Context().RegistryStr(), ref.Name(), err)
	}
	return got.Manifest, nil
}

func (s *registrySource) close() error { return nil }

// RegistryError rewords a registry error so that the message names the
// registry and says what went wrong (auth, not found, unreachable) in the
// user's terms: the text go-containerregistry writes for developers (the
// request line, "HEAD responses have no body") is left out of the message
// but kept in the chain, for errors.As. A missing image wraps ErrNotFound.
func RegistryError(registry, what string, err error) error {
	var perr *plainHTTPError
	if errors.As(err, &perr) {
		// err may also hold why HTTPS failed, which the user needs to
		// know as well.
		return fmt.Errorf("reading %s from registry %s: %w", what, registry, err)
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		status := fmt.Sprintf("HTTP %d", terr.StatusCode)
		switch terr.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return &registryError{msg: fmt.Sprintf("registry %s refused access to %s (%s%s): either the repository does not exist or the credentials do not allow reading it; check the credentials (--username/--password-stdin or the Docker config)",
				registry, what, status, registrySays(terr)), errs: []error{err}}
		case http.StatusNotFound:
			return &registryError{msg: fmt.Sprintf("%s not found on registry %s", what, registry), errs: []error{ErrNotFound, err}}
		}
		return &registryError{msg: fmt.Sprintf("registry %s answered %s %s for %s%s", registry, status, http.StatusText(terr.StatusCode), what, registrySays(terr)), errs: []error{err}}
	}
	var rerr *retryExhaustedError
	if errors.As(err, &rerr) {
		return fmt.Errorf("registry %s is busy (%s): %w", registry, what, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("reading %s from registry %s: timed out (--timeout): %w", what, registry, err)
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("reading %s from registry %s: %w", what, registry, err)
	}
	var operr *net.OpError
	var dnserr *net.DNSError
	if errors.As(err, &operr) || errors.As(err, &dnserr) {
		return fmt.Errorf("registry %s is unreachable (%s): %w", registry, what, err)
	}
	return fmt.Errorf("reading %s from registry %s: %w", what, registry, err)
}

// registryError is a registry failure told in the user's terms; errs keeps
// its cause (and ErrNotFound) for errors.Is and errors.As.
type registryError struct {
	msg  string
	errs []error
}

func (e *registryError) Error() string   { return e.msg }
func (e *registryError) Unwrap() []error { return e.errs }

// registrySays is what the registry said about an error, in the messages of
// its error body (", the registry says \"authentication required\""); the
// codes and details there are for developers. It is empty when the registry
// said nothing (HEAD responses have no body).
func registrySays(terr *transport.Error) string {
	var says []string
	for _, d := range terr.Errors {
		if m := strings.TrimSpace(d.Message); m != "" && len(says) < 3 {
			says = append(says, quoteName(m))
		}
	}
	if len(says) == 0 {
		return ""
	}
	return ", the registry says " + strings.Join(says, ", ")
}

// maxHintTags is how many existing tags a message about a missing tag names.
const maxHintTags = 5

// maxHintListBytes caps the one page of tags read to explain a missing tag.
const maxHintListBytes = 1 << 20

// explainMissing says which part of a missing image is missing, asking the
// registry for one page of the repository's tags: the repository exists
// but not the tag (and the tags nearest to it), or the repository does not
// exist (or is not visible with the credentials). notFound is the error of
// the manifest request for ref.
func (s *registrySource) explainMissing(ctx context.Context, ref name.Reference, notFound error) error {
	repo := ref.Context()
	lister, err := s.puller.Lister(withTagListBudget(ctx, &tagListBudget{left: maxHintListBytes}), repo)
	var cerr *tagListCapError
	var terr *transport.Error
	var why string
	switch {
	case err == nil || errors.As(err, &cerr):
		// A page came (perhaps too long to read): the repository exists.
		why = "the repository " + repo.RepositoryStr() + " exists, but "
		if d, ok := ref.(name.Digest); ok {
			why += "holds no image with digest " + d.DigestStr()
			break
		}
		want := ref.Identifier()
		why += "has no tag " + want
		if err == nil {
			page, _ := lister.Next(ctx)
			why += tagHint(want, page)
		}
	case isNotFound(err) || errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		why = "there is no repository " + repo.RepositoryStr() + " (or it is not visible with the credentials used)"
	default:
		return notFound // no better answer
	}
	return &registryError{msg: notFound.Error() + ": " + why, errs: []error{notFound}}
}

// tagHint names the tags of a page of a tag list nearest to want: those
// that share the longest prefix with it (a leading v aside), at most
// maxHintTags of them.
func tagHint(want string, page *remote.Tags) string {
	var tags []string
	if page != nil {
		for _, t := range page.Tags {
			if validTag(t) {
				tags = append(tags, t)
			}
		}
	}
	if len(tags) == 0 {
		return " (it has no tags)"
	}
	key := func(t string) string { return strings.TrimPrefix(strings.ToLower(t), "v") }
	near := func(t string) int {
		a, b := key(t), key(want)
		n := 0
		for n < len(a) && n < len(b) && a[n] == b[n] {
			n++
		}
		return n
	}
	sort.SliceStable(tags, func(i, j int) bool { return near(tags[i]) > near(tags[j]) })
	more := ""
	if len(tags) > maxHintTags {
		more = fmt.Sprintf(" and %d more", len(tags)-maxHintTags)
		tags = tags[:maxHintTags]
	}
	return " (its tags include " + strings.Join(tags, ", ") + more + ")"
}

// plainHTTPHosts are the hosts that may be spoken to over plain HTTP:
// loopback ones (localhost, 127.0.0.0/8, ::1) and those named insecure
// (Options.Insecure, HOST[:PORT]). Every other host, a registry at a private
// address included, is spoken to over HTTPS only, so that no credential or
// unverified content crosses the network in clear.
type plainHTTPHosts map[string]bool

func newPlainHTTPHosts(insecure []string) plainHTTPHosts {
	p := plainHTTPHosts{}
	for _, h := range insecure {
		if h != "" {
			p[canonicalHost(h)] = true
		}
	}
	return p
}

// allows reports whether host (HOST[:PORT]) may be spoken to over plain HTTP.
func (p plainHTTPHosts) allows(host string) bool {
	return isLoopback(host) || p[canonicalHost(host)]
}

// canonicalHost lower-cases a host and names Docker Hub as go-containerregistry
// does (docker.io is index.docker.io).
func canonicalHost(h string) string {
	h = strings.ToLower(h)
	if r, err := name.NewRegistry(h); err == nil {
		return r.RegistryStr()
	}
	return h
}

// isLoopback reports whether host (HOST[:PORT]) is localhost or a loopback
// address. Names under .localhost are not: resolving them to loopback is a
// convention that resolvers need not follow.
func isLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// registryScheme is the scheme a registry is spoken to with: "http" when
// plain HTTP is allowed (go-containerregistry then tries HTTPS first and
// falls back to HTTP), else "https".
func registryScheme(registry string, insecure []string) string {
	if newPlainHTTPHosts(insecure).allows(registry) {
		return "http"
	}
	return "https"
}

// referenceOptions are the name options for a reference or repository s:
// name.Insecure when its registry may be spoken to over plain HTTP. For any
// other registry go-containerregistry may still try HTTP (it does for RFC
// 1918 addresses); costTransport refuses it.
func referenceOptions(s string, opts Options) []name.Option {
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil // reported when parsed again
	}
	if registryScheme(ref.Context().RegistryStr(), opts.Insecure) == "http" {
		return []name.Option{name.Insecure}
	}
	return nil
}

// plainHTTPError is a request refused because it would go over plain HTTP
// to a host that is not allowed it (plainHTTPHosts).
type plainHTTPError struct{ host string }

func (e *plainHTTPError) Error() string {
	return "refusing plain HTTP to " + e.host + ": only loopback hosts and those named by --insecure-registry are spoken to without TLS"
}
