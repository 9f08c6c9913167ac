package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PushOptions configure Image.Push.
type PushOptions struct {
	// Keychain finds the credentials of each target's registry, which are
	// sent to that registry (and the token endpoint it names) only. The
	// default is anonymous access.
	Keychain authn.Keychain
	// Transport is the HTTP transport under the retry and counting layers.
	// The default is http.DefaultTransport.
	Transport http.RoundTripper
	// Insecure lists registries (HOST[:PORT]) spoken to over plain HTTP
	// besides loopback ones, as Options.Insecure does.
	Insecure []string
	// Concurrency bounds the blob uploads in flight to one target. The
	// default is 4.
	Concurrency int
	// MountFrom are repositories that may already hold the image's blobs.
	// A blob missing from a target is mounted from a repository of the
	// target's registry: the image's own (for an image opened from a
	// registry), else a target pushed before, else the first of these.
	// The default is none.
	MountFrom []name.Repository
	// Protected reports whether a tag, once it exists, keeps its digest:
	// a target whose tag names another digest is then refused, and nothing
	// is pushed to any target. An unprotected tag (latest) is moved. The
	// default protects every tag.
	Protected func(tag string) bool
}

// Pushed says what Push did for one target.
type Pushed struct {
	// Ref is the target, fully qualified.
	Ref name.Reference
	// Digest is what Ref resolved to when read back after the push: the
	// digest of the image. It is zero when the push did not get that far.
	Digest v1.Hash
	// Unchanged reports that Ref already resolved to the image's digest:
	// nothing was written.
	Unchanged bool
	// Previous is the digest an unprotected tag named before it was moved;
	// zero for a tag that did not exist.
	Previous v1.Hash
	// Uploaded, Mounted and Present count the image's blobs (configs and
	// layers, each once however many manifests list it) by what became of
	// them: sent, mounted from another repository of the registry, or
	// found in the target already.
	Uploaded, Mounted, Present int
	// Manifests counts the manifests written: the image's (by digest, an
	// index's entries included) and the tag.
	Manifests int
	// BytesSent is what the requests carried (blobs and manifests, resent
	// parts included); Requests counts them, retries included.
	BytesSent, Requests int64
}

// pushBackoff paces the new attempts at one blob upload or manifest PUT
// whose connection failed (a registry that dropped it mid-layer). Answers
// of 429 and 5xx are retried below, by costTransport.
var pushBackoff = remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.1, Steps: 3}

// maxPushDepth bounds the nesting of indexes in a pushed image.
const maxPushDepth = 4

// Push copies the image, exactly as it was opened and checked, to each
// target: the index and every entry it lists (platform manifests,
// attestation manifests, nested indexes), each config and layer, byte for
// byte, so that each target resolves to img.Digest. It then reads each
// target back and checks that it does. The image must be open.
//
// Every target is looked at before anything is written: one whose tag
// names another digest is refused unless the tag is not protected
// (PushOptions.Protected), and then nothing is written anywhere. A target
// that already resolves to the digest is left alone (Pushed.Unchanged).
// Blobs a target already holds are not sent again; blobs another
// repository of its registry holds are mounted (PushOptions.MountFrom).
// Blobs are streamed from the source, checked against their digests on
// the way, and uploaded a few at a time (PushOptions.Concurrency); 429 and
// 5xx answers are retried as Retry-After asks, a dropped connection with a
// new upload, within ctx's deadline. Tags are written last, after every
// target holds the image by digest, so that a failed push leaves no tag
// naming part of an image.
//
// A target given by digest must name img.Digest. The Pushed values say
// what happened to each target, also when an error stopped the push.
func (img *Image) Push(ctx context.Context, targets []name.Reference, opts PushOptions) ([]Pushed, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Protected == nil {
		opts.Protected = func(string) bool { return true }
	}
	root, err := img.pushTree(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := img.pushTargets(ctx, targets, opts)
	if err != nil {
		return nil, err
	}
	results := func() []Pushed {
		out := make([]Pushed, 0, len(runs))
		for _, r := range runs {
			out = append(out, r.pushed())
		}
		return out
	}
	for _, r := range runs {
		if err := r.preflight(ctx, img.Digest, opts.Protected); err != nil {
			return results(), err
		}
	}
	for i, r := range runs {
		if r.result.Unchanged {
			continue
		}
		from := img.mountFrom(r.ref.Context(), runs[:i], opts.MountFrom)
		if err := r.write(ctx, root, from); err != nil {
			return results(), err
		}
	}
	for _, r := range runs {
		if err := r.tag(ctx, root); err != nil {
			return results(), err
		}
	}
	for _, r := range runs {
		if err := r.verify(ctx, img.Digest); err != nil {
			return results(), err
		}
	}
	return results(), nil
}

// pushTargets prepares the push to each target (once each), refusing one
// that names another digest than the image's.
func (img *Image) pushTargets(ctx context.Context, targets []name.Reference, opts PushOptions) ([]*pushTarget, error) {
	var runs []*pushTarget
	seen := map[string]bool{}
	for _, t := range targets {
		ref, err := name.ParseReference(t.Name(), referenceOptions(t.Name(), Options{Insecure: opts.Insecure})...)
		if err != nil {
			return nil, fmt.Errorf("parsing push target %q: %w", t.Name(), err)
		}
		if seen[ref.Name()] {
			continue
		}
		seen[ref.Name()] = true
		if d, ok := ref.(name.Digest); ok && d.DigestStr() != img.Digest.String() {
			return nil, fmt.Errorf("refusing to push to %s: it names another digest than the image checked (%s)", ref, img.Digest)
		}
		r, err := newPushTarget(ctx, img, ref, opts)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, nil
}

// pushNode is one manifest of the image as pushed: an index with its
// entries, or an image manifest with its config and layers.
type pushNode struct {
	desc     v1.Descriptor // MediaType known, Size of raw
	raw      []byte
	children []*pushNode
	config   v1.Descriptor
	layers   []v1.Descriptor
}

// pushTree reads every manifest the image's root lists (through the blob
// cache: those the check read are not read again) and refuses an image
// that cannot be copied as it is.
func (img *Image) pushTree(ctx context.Context) (*pushNode, error) {
	d := v1.Descriptor{MediaType: img.MediaType, Digest: img.Digest}
	// The root was read when the image was opened, and is in the cache.
	raw, err := img.blobs.get(ctx, d, true)
	if err != nil {
		return nil, err
	}
	return img.pushNode(ctx, d, raw, 0)
}

func (img *Image) pushNode(ctx context.Context, d v1.Descriptor, raw []byte, depth int) (*pushNode, error) {
	d.Size = int64(len(raw))
	d.MediaType = manifestMediaType(d.MediaType, raw)
	n := &pushNode{desc: d, raw: raw}
	switch {
	case d.MediaType.IsIndex():
		if depth == maxPushDepth {
			return nil, fmt.Errorf("index %s nests indexes more than %d deep: not pushed", d.Digest, maxPushDepth)
		}
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parsing index %s: it %s", d.Digest, jsonProblem(err))
		}
		for _, e := range idx.Manifests {
			craw, err := img.blobs.get(ctx, e, true)
			if err != nil {
				return nil, fmt.Errorf("reading entry %s of index %s: %w", e.Digest, d.Digest, err)
			}
			c, err := img.pushNode(ctx, e, craw, depth+1)
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, c)
		}
	case d.MediaType.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parsing manifest %s: it %s", d.Digest, jsonProblem(err))
		}
		n.config, n.layers = m.Config, m.Layers
		dl, ok := img.src.(digestless)
		for _, b := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if ok && dl.digestless(b.Digest) {
				return nil, fmt.Errorf("layer %s of the image has no digest of its content (a compressed member of a docker save archive from before Docker 25 not named by one): it cannot be pushed as checked; check an OCI archive (buildx --output type=oci) instead", b.Digest)
			}
		}
	default:
		return nil, fmt.Errorf("manifest %s has media type %q, neither an image nor an index: it cannot be pushed", d.Digest, d.MediaType)
	}
	return n, nil
}

// manifestMediaType is the media type a manifest is pushed with: its
// descriptor's, else the one it gives itself, else what its shape says.
func manifestMediaType(mt types.MediaType, raw []byte) types.MediaType {
	if mt != "" {
		return mt
	}
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.MediaType != "" {
		return probe.MediaType
	}
	if looksLikeIndex(raw) {
		return types.OCIImageIndex
	}
	return types.OCIManifestSchema1
}

// mountFrom is the repository that blobs missing from target are mounted
// from: one of target's registry other than target, holding the blobs
// for certain (the image's own, a target pushed before) or perhaps
// (extra).
func (img *Image) mountFrom(target name.Repository, done []*pushTarget, extra []name.Repository) *name.Repository {
	var candidates []name.Repository
	if rs, ok := img.src.(*registrySource); ok {
		candidates = append(candidates, rs.ref.Context())
	}
	for _, r := range done {
		candidates = append(candidates, r.ref.Context())
	}
	candidates = append(candidates, extra...)
	for _, c := range candidates {
		if c.RegistryStr() == target.RegistryStr() && c.RepositoryStr() != target.RepositoryStr() {
			return &c
		}
	}
	return nil
}

// pushTarget is the push to one target: its own connection, credentials
// and counters.
type pushTarget struct {
	ref name.Reference
	img *Image
	// ctx is the push's, for the blob streams go-containerregistry opens
	// (v1.Layer.Compressed takes none).
	ctx    context.Context
	stats  *Stats
	count  *pushCounter
	puller *remote.Puller
	pusher *remote.Pusher
	result Pushed
}

func newPushTarget(ctx context.Context, img *Image, ref name.Reference, opts PushOptions) (*pushTarget, error) {
	t := &pushTarget{ref: ref, img: img, ctx: ctx, stats: &Stats{}, result: Pushed{Ref: ref}}
	t.count = &pushCounter{inner: opts.Transport, uploads: newFetchPool(opts.Concurrency)}
	ro := append(RemoteOptions(ctx, Options{Keychain: opts.Keychain, Transport: t.count, Insecure: opts.Insecure, Concurrency: opts.Concurrency}, t.stats),
		remote.WithRetryPredicate(pushRetryable(ctx)), remote.WithRetryBackoff(pushBackoff))
	var err error
	if t.puller, err = remote.NewPuller(ro...); err != nil {
		return nil, err
	}
	if t.pusher, err = remote.NewPusher(ro...); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *pushTarget) pushed() Pushed {
	p := t.result
	p.Uploaded, p.Mounted, p.Present = int(t.count.uploaded.Load()), int(t.count.mounted.Load()), int(t.count.present.Load())
	p.Manifests = int(t.count.manifests.Load())
	p.BytesSent, p.Requests = t.count.sent.Load(), t.stats.Requests()
	return p
}

// preflight looks at what the target resolves to now.
func (t *pushTarget) preflight(ctx context.Context, want v1.Hash, protected func(string) bool) error {
	d, err := t.puller.Head(ctx, t.ref)
	switch {
	case isNotFound(err):
		return nil
	case err != nil:
		return pushError(t.ref, "looking at", err)
	case d.Digest == want:
		t.result.Unchanged = true
		return nil
	}
	tag, ok := t.ref.(name.Tag)
	if !ok {
		return fmt.Errorf("looking at %s: the registry answered for digest %s", t.ref, d.Digest)
	}
	if protected(tag.TagStr()) {
		return fmt.Errorf("refusing to push to %s: the tag exists with digest %s, and the image checked is %s; a release tag is never moved to another image: release a new version", t.ref, d.Digest, want)
	}
	t.result.Previous = d.Digest
	return nil
}

// write copies the image to the target's repository, by digest.
func (t *pushTarget) write(ctx context.Context, root *pushNode, from *name.Repository) error {
	byDigest := t.ref.Context().Digest(root.desc.Digest.String())
	if err := t.pusher.Push(ctx, byDigest, t.taggable(root, from)); err != nil {
		return pushError(t.ref, "pushing to", err)
	}
	return nil
}

// tag points the target's tag at the image, pushed by digest before.
func (t *pushTarget) tag(ctx context.Context, root *pushNode) error {
	tag, ok := t.ref.(name.Tag)
	if !ok || t.result.Unchanged {
		return nil
	}
	if err := t.pusher.Put(ctx, tag, t.taggable(root, nil)); err != nil {
		return pushError(t.ref, "tagging", err)
	}
	return nil
}

// verify reads the target back: it must resolve to want.
func (t *pushTarget) verify(ctx context.Context, want v1.Hash) error {
	d, err := t.puller.Get(ctx, t.ref)
	if err != nil {
		return pushError(t.ref, "reading back", err)
	}
	got, _, err := v1.SHA256(bytes.NewReader(d.Manifest))
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("reading back %s: it resolves to %s, not to the image pushed (%s)", t.ref, got, want)
	}
	t.result.Digest = got
	return nil
}

// pushManifest is a manifest of the image as go-containerregistry's pusher
// takes one.
type pushManifest interface {
	remote.Taggable
	partial.Describable
}

func (t *pushTarget) taggable(n *pushNode, from *name.Repository) pushManifest {
	if n.desc.MediaType.IsIndex() {
		return &pushIndex{n: n, t: t, from: from}
	}
	return &pushImage{n: n, t: t, from: from}
}

// blob is a config or layer of the image, to be mounted from from when
// that is not nil.
func (t *pushTarget) blob(d v1.Descriptor, from *name.Repository) v1.Layer {
	b := &pushBlob{t: t, desc: d}
	if from == nil {
		return b
	}
	return &remote.MountableLayer{Layer: b, Reference: from.Digest(d.Digest.String())}
}

// pushIndex is an index of the image, as go-containerregistry pushes one.
type pushIndex struct {
	n    *pushNode
	t    *pushTarget
	from *name.Repository
}

var _ v1.ImageIndex = (*pushIndex)(nil)

func (x *pushIndex) RawManifest() ([]byte, error)        { return x.n.raw, nil }
func (x *pushIndex) MediaType() (types.MediaType, error) { return x.n.desc.MediaType, nil }
func (x *pushIndex) Digest() (v1.Hash, error)            { return x.n.desc.Digest, nil }
func (x *pushIndex) Size() (int64, error)                { return x.n.desc.Size, nil }

func (x *pushIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(x.n.raw))
}

// Manifests returns the index's entries, every one of them (attestations
// and nested indexes included), for go-containerregistry's pusher.
func (x *pushIndex) Manifests() ([]partial.Describable, error) {
	var out []partial.Describable
	for _, c := range x.n.children {
		out = append(out, x.t.taggable(c, x.from))
	}
	return out, nil
}

func (x *pushIndex) Image(h v1.Hash) (v1.Image, error) {
	for _, c := range x.n.children {
		if c.desc.Digest == h && !c.desc.MediaType.IsIndex() {
			return &pushImage{n: c, t: x.t, from: x.from}, nil
		}
	}
	return nil, fmt.Errorf("index %s lists no image %s", x.n.desc.Digest, h)
}

func (x *pushIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	for _, c := range x.n.children {
		if c.desc.Digest == h && c.desc.MediaType.IsIndex() {
			return &pushIndex{n: c, t: x.t, from: x.from}, nil
		}
	}
	return nil, fmt.Errorf("index %s lists no index %s", x.n.desc.Digest, h)
}

// pushImage is an image manifest of the image, as go-containerregistry
// pushes one.
type pushImage struct {
	n    *pushNode
	t    *pushTarget
	from *name.Repository
}

var _ v1.Image = (*pushImage)(nil)

// errNotPushed is what a pushed image answers to questions a push never asks.
var errNotPushed = errors.New("not available to a push")

func (i *pushImage) RawManifest() ([]byte, error)        { return i.n.raw, nil }
func (i *pushImage) MediaType() (types.MediaType, error) { return i.n.desc.MediaType, nil }
func (i *pushImage) Digest() (v1.Hash, error)            { return i.n.desc.Digest, nil }
func (i *pushImage) Size() (int64, error)                { return i.n.desc.Size, nil }
func (i *pushImage) ConfigName() (v1.Hash, error)        { return i.n.config.Digest, nil }

func (i *pushImage) Manifest() (*v1.Manifest, error) {
	return v1.ParseManifest(bytes.NewReader(i.n.raw))
}

// ConfigLayer is the config blob as it is, streamed like a layer.
func (i *pushImage) ConfigLayer() (v1.Layer, error) { return i.t.blob(i.n.config, i.from), nil }

func (i *pushImage) RawConfigFile() ([]byte, error) {
	return i.t.img.blobs.get(i.t.ctx, i.n.config, false)
}

func (i *pushImage) ConfigFile() (*v1.ConfigFile, error) {
	raw, err := i.RawConfigFile()
	if err != nil {
		return nil, err
	}
	return v1.ParseConfigFile(bytes.NewReader(raw))
}

func (i *pushImage) Layers() ([]v1.Layer, error) {
	var out []v1.Layer
	for _, d := range i.n.layers {
		out = append(out, i.t.blob(d, i.from))
	}
	return out, nil
}

func (i *pushImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	for _, d := range append([]v1.Descriptor{i.n.config}, i.n.layers...) {
		if d.Digest == h {
			return i.t.blob(d, i.from), nil
		}
	}
	return nil, fmt.Errorf("manifest %s lists no blob %s", i.n.desc.Digest, h)
}

func (i *pushImage) LayerByDiffID(v1.Hash) (v1.Layer, error) { return nil, errNotPushed }

// pushBlob is a config or layer blob of the image, streamed from the
// source as it is.
type pushBlob struct {
	t    *pushTarget
	desc v1.Descriptor
}

func (b *pushBlob) Digest() (v1.Hash, error)             { return b.desc.Digest, nil }
func (b *pushBlob) Size() (int64, error)                 { return b.desc.Size, nil }
func (b *pushBlob) MediaType() (types.MediaType, error)  { return b.desc.MediaType, nil }
func (b *pushBlob) DiffID() (v1.Hash, error)             { return v1.Hash{}, errNotPushed }
func (b *pushBlob) Uncompressed() (io.ReadCloser, error) { return nil, errNotPushed }

// Compressed opens the blob's stream from the source, checked against the
// descriptor as it is read: a blob that is longer, shorter or other than
// its digest says fails the upload before the registry commits it.
func (b *pushBlob) Compressed() (io.ReadCloser, error) {
	rc, err := b.t.img.src.open(b.t.ctx, b.desc)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s of the image: %w", b.desc.Digest, err)
	}
	sized := &sizedReadCloser{rc: rc, left: b.desc.Size, d: b.desc}
	return &verifiedBlob{ReadCloser: sized, r: newDigestReader(sized, b.desc, true), d: b.desc}, nil
}

// verifiedBlob reads a blob through a digestReader and fails at its end
// when the content does not match the descriptor.
type verifiedBlob struct {
	io.ReadCloser // closes the stream
	r             *digestReader
	d             v1.Descriptor
}

func (v *verifiedBlob) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if err != io.EOF {
		return n, err
	}
	if v.r.h == nil {
		return n, fmt.Errorf("blob %s: cannot check its digest: unsupported algorithm", v.d.Digest)
	}
	got := v1.Hash{Algorithm: v.d.Digest.Algorithm, Hex: fmt.Sprintf("%x", v.r.h.Sum(nil))}
	if got != v.d.Digest || v.r.n != v.d.Size {
		return n, &DigestError{What: "blob", Digest: v.d.Digest, Size: v.d.Size, Got: got, GotSize: v.r.n}
	}
	return n, io.EOF
}

// pushCounter sits below costTransport and counts what a push did: blobs
// the registry had already (HEAD answered 200), mounted (POST with mount=
// answered 201) or took (PUT with digest= answered 201), manifests
// written, and the bytes the requests carried. It also bounds the blob
// uploads (PATCH) in flight.
type pushCounter struct {
	inner   http.RoundTripper
	uploads fetchPool

	present, mounted, uploaded, manifests, sent atomic.Int64
}

// RoundTrip implements http.RoundTripper.
func (c *pushCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	inner := c.inner
	if inner == nil {
		inner = http.DefaultTransport
	}
	if req.Method == http.MethodPatch {
		release, err := c.uploads.acquire(req.Context())
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
		defer release()
	}
	if req.Body != nil && req.Body != http.NoBody {
		counted := req.Clone(req.Context())
		counted.Body = &sentBody{ReadCloser: req.Body, n: &c.sent}
		req = counted
	}
	resp, err := inner.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	q := req.URL.Query()
	switch {
	case req.Method == http.MethodHead && isBlobPath(req.URL.Path) && resp.StatusCode == http.StatusOK:
		c.present.Add(1)
	case req.Method == http.MethodPost && q.Has("mount") && resp.StatusCode == http.StatusCreated:
		c.mounted.Add(1)
	case req.Method == http.MethodPut && q.Has("digest") && resp.StatusCode == http.StatusCreated:
		c.uploaded.Add(1)
	case req.Method == http.MethodPut && isManifestPath(req.URL.Path) && resp.StatusCode/100 == 2:
		c.manifests.Add(1)
	}
	return resp, nil
}

// isBlobPath reports whether p is a blob endpoint, /v2/NAME/blobs/DIGEST.
func isBlobPath(p string) bool {
	return len(p) > 4 && p[:4] == "/v2/" && path.Base(path.Dir(p)) == "blobs"
}

// sentBody counts the bytes of a request body read by the transport.
type sentBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *sentBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// pushRetryable reports whether an upload or manifest PUT that failed is
// tried again, from the start: after a connection that broke (the
// registry dropped it mid-layer) or an upload session the registry lost,
// while ctx lasts. Answers of 429 and 5xx were retried by costTransport
// already; a blob that does not match its digest never is.
func pushRetryable(ctx context.Context) func(error) bool {
	return func(err error) bool {
		if err == nil || ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false
		}
		var (
			derr  *DigestError
			perr  *plainHTTPError
			rerr  *retryExhaustedError
			terr  *transport.Error
			operr *net.OpError
		)
		switch {
		case errors.As(err, &derr), errors.As(err, &perr), errors.As(err, &rerr):
			return false
		case errors.As(err, &terr):
			for _, d := range terr.Errors {
				if d.Code == transport.BlobUploadUnknownErrorCode || d.Code == transport.BlobUploadInvalidErrorCode {
					return true
				}
			}
			return terr.StatusCode == http.StatusRequestedRangeNotSatisfiable
		}
		return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
			errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.As(err, &operr)
	}
}

// pushError says what went wrong with a push to ref while doing what
// ("pushing to", "tagging", "reading back"), in the user's terms.
func pushError(ref name.Reference, what string, err error) error {
	registry := ref.Context().RegistryStr()
	var (
		terr *transport.Error
		derr *DigestError
	)
	switch {
	case errors.As(err, &derr):
		return fmt.Errorf("%s %s: %w", what, ref, err)
	case errors.As(err, &terr) && (terr.StatusCode == http.StatusUnauthorized || terr.StatusCode == http.StatusForbidden):
		return &registryError{msg: fmt.Sprintf("%s %s: registry %s refused access (HTTP %d%s): check the push credentials (--push-username with --push-password-stdin, or the Docker config) and that they may push to %s",
			what, ref, registry, terr.StatusCode, registrySays(terr), ref.Context().Name()), errs: []error{err}}
	}
	return fmt.Errorf("%s %s: %w", what, ref, RegistryError(registry, ref.Name(), err))
}
