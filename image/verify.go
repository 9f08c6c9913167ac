package image

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// LayerRead says how much of one layer blob the run read and whether its
// content was checked against its digest.
type LayerRead struct {
	// Digest and Size are the layer descriptor's.
	Digest v1.Hash
	Size   int64
	// Bytes is how far into the (compressed) blob reading went, at most:
	// an early stop leaves Bytes < Size.
	Bytes int64
	// Complete reports that the blob was read to its end.
	Complete bool
	// Verified reports that the blob was read to its end and its content
	// matched Digest and Size. A layer read partially cannot be verified;
	// a complete one is left unverified only when its source names it by
	// a digest of no content (a compressed layer of a docker save archive
	// from before Docker 25, not named by its digest).
	Verified bool
}

// LayerReads returns the layers whose blobs were read so far (by Files, for
// any variant; a blob shared by variants is listed once), sorted by digest.
// Layers that were never needed are not listed: they were not read at all.
func (img *Image) LayerReads() []LayerRead {
	return img.scans.layerReads()
}

func (c *scanCache) layerReads() []LayerRead {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []LayerRead
	for _, it := range c.items {
		if it.read.Bytes > 0 || it.read.Complete {
			out = append(out, it.read)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest.String() < out[j].Digest.String() })
	return out
}

// DigestError reports a blob whose content does not match its descriptor's
// digest or size: the source is corrupt or has been tampered with, and
// nothing read from it can be trusted.
type DigestError struct {
	// What the blob is: "layer", "manifest", "config".
	What string
	// Digest and Size are the descriptor's.
	Digest v1.Hash
	Size   int64
	// Got and GotSize are the content's (Got is zero when the size differs).
	Got     v1.Hash
	GotSize int64
	// Platform is the variant the blob was read for, when known.
	Platform string
}

func (e *DigestError) Error() string {
	of := ""
	if e.Platform != "" {
		of = " of " + e.Platform
	}
	detail := fmt.Sprintf("its content has digest %s", e.Got)
	if e.GotSize != e.Size {
		detail = fmt.Sprintf("it has %d bytes, not the %d its descriptor gives", e.GotSize, e.Size)
	}
	return fmt.Sprintf("%s %s%s does not match its digest: the source is corrupt or tampered with (%s)", e.What, e.Digest, of, detail)
}

// Of returns a copy of the error naming the platform it was read for (the
// error itself may be shared by the variants that share the blob).
func (e *DigestError) Of(platform string) *DigestError {
	c := *e
	c.Platform = platform
	return &c
}

// verifyBlob checks raw against its descriptor: size and digest.
func verifyBlob(what string, d v1.Descriptor, raw []byte) error {
	h, err := v1.Hasher(d.Digest.Algorithm)
	if err != nil {
		return fmt.Errorf("%s %s: cannot check its digest: %w", what, d.Digest, err)
	}
	h.Write(raw)
	got := v1.Hash{Algorithm: d.Digest.Algorithm, Hex: fmt.Sprintf("%x", h.Sum(nil))}
	if got != d.Digest || d.Size != int64(len(raw)) {
		return &DigestError{What: what, Digest: d.Digest, Size: d.Size, Got: got, GotSize: int64(len(raw))}
	}
	return nil
}

// digestReader hashes and counts what is read through it, from the start of
// a blob, so that a blob read to its end can be checked against its
// descriptor. For a blob whose digest is of no content it only counts.
type digestReader struct {
	r         io.Reader
	checkable bool
	h         hash.Hash // nil when the algorithm has no hasher
	n         int64
}

func newDigestReader(r io.Reader, d v1.Descriptor, checkable bool) *digestReader {
	dr := &digestReader{r: r, checkable: checkable}
	if checkable {
		dr.h, _ = v1.Hasher(d.Digest.Algorithm)
	}
	return dr
}

func (v *digestReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if n > 0 {
		if v.h != nil {
			v.h.Write(p[:n])
		}
		v.n += int64(n)
	}
	return n, err
}

// finish reads the rest of the blob (what follows the end of the tar
// stream: padding, the compression trailer) and checks the whole against
// d. It reports whether the content was verified; an error means it does
// not match, or the end could not be read.
func (v *digestReader) finish(ctx context.Context, d v1.Descriptor) (bool, error) {
	_, err := io.Copy(io.Discard, &ctxReader{ctx: ctx, r: v})
	if cerr := ctx.Err(); cerr != nil {
		return false, cerr
	}
	switch {
	case !v.checkable && err == nil:
		return false, nil
	case !v.checkable:
		return false, fmt.Errorf("reading the end of the layer: %w", err)
	case v.h == nil:
		return false, fmt.Errorf("layer %s: cannot check its digest: unsupported algorithm", d.Digest)
	}
	got := v1.Hash{Algorithm: d.Digest.Algorithm, Hex: fmt.Sprintf("%x", v.h.Sum(nil))}
	mismatch := &DigestError{What: "layer", Digest: d.Digest, Size: d.Size, Got: got, GotSize: v.n}
	if err != nil {
		// What lies below may have found the mismatch first at the end
		// (go-containerregistry checks registry blobs): it is ours.
		if v.n == d.Size && got != d.Digest {
			return false, mismatch
		}
		return false, fmt.Errorf("reading the end of the layer: %w", err)
	}
	if v.n != d.Size || got != d.Digest {
		return false, mismatch
	}
	return true, nil
}

// ctxReader fails with the context's error once it is done, so that reading
// or skipping even one huge tar entry (a decompression bomb) stops when the
// run is cancelled or times out. The check is an atomic load per Read.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// isDigestError reports whether err is (or wraps) a DigestError.
func isDigestError(err error) bool {
	var de *DigestError
	return errors.As(err, &de)
}

// hexDigest returns the sha256 digest that an archive member name such as
// "blobs/sha256/HEX", "sha256:HEX" or "HEX"+suffix carries, if it carries
// one.
func hexDigest(name string, suffixes ...string) (v1.Hash, bool) {
	base, found := "", false
	for _, p := range []string{"blobs/sha256/", "sha256:"} {
		if base, found = strings.CutPrefix(name, p); found {
			break
		}
	}
	for _, s := range suffixes {
		if found {
			break
		}
		base, found = strings.CutSuffix(name, s)
	}
	if !found || len(base) != 64 || strings.Trim(base, "0123456789abcdef") != "" {
		return v1.Hash{}, false
	}
	return v1.Hash{Algorithm: "sha256", Hex: base}, true
}
