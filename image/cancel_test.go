package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// bombGiveUp is how far a bomb inflates past the cancellation before it
// fails the read itself, so that a reader that ignores the context fails
// the test instead of inflating 64 GiB.
const bombGiveUp = 256 << 20

// bomb is a compressed tar stream, made as it is read, whose one entry
// "bomb" holds size zero bytes. Once cancelAt bytes of the entry are made
// it calls cancel, and counts what is made and read after that.
type bomb struct {
	r        *io.PipeReader
	done     chan struct{}
	made     atomic.Int64 // uncompressed bytes written into the encoder
	read     atomic.Int64 // compressed bytes the reader took
	madeAt   atomic.Int64 // made and read when cancel was called (-1 before)
	readAt   atomic.Int64
	canceled atomic.Bool
}

func newBomb(t *testing.T, compression string, size, cancelAt int64, cancel func()) *bomb {
	t.Helper()
	pr, pw := io.Pipe()
	b := &bomb{r: pr, done: make(chan struct{})}
	var enc io.WriteCloser
	switch compression {
	case "gzip":
		enc, _ = gzip.NewWriterLevel(pw, gzip.BestSpeed)
	case "zstd":
		zw, err := zstd.NewWriter(pw, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			t.Fatal(err)
		}
		enc = zw
	}
	go func() {
		defer close(b.done)
		tw := tar.NewWriter(enc)
		if err := tw.WriteHeader(&tar.Header{Name: "bomb", Size: size, Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
			pw.CloseWithError(err)
			return
		}
		zeros := make([]byte, 64<<10)
		for made := int64(0); made < size; {
			n, err := tw.Write(zeros[:min(int64(len(zeros)), size-made)])
			made += int64(n)
			b.made.Store(made)
			if err != nil {
				return // the reader is gone
			}
			if made >= cancelAt && !b.canceled.Swap(true) {
				b.madeAt.Store(made)
				b.readAt.Store(b.read.Load())
				cancel()
			}
			if b.canceled.Load() && made-b.madeAt.Load() > bombGiveUp {
				pw.CloseWithError(fmt.Errorf("the reader went on %d bytes past the cancellation", made-b.madeAt.Load()))
				return
			}
		}
		tw.Close()
		enc.Close()
		pw.Close()
	}()
	return b
}

func (b *bomb) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read.Add(int64(n))
	return n, err
}

// stop ends the stream and waits for its goroutine: it must not outlive
// the read.
func (b *bomb) stop() {
	b.r.CloseWithError(errors.New("test over"))
	<-b.done
}

// TestReadLayerStopsWhenCancelled: one tar entry that inflates to 64 GiB
// is read or skipped only until the context is cancelled, however long
// the entry.
func TestReadLayerStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	const size = 64 << 30
	tests := []struct {
		name        string
		compression string
		capture     map[string]spec
		cancelAt    int64
	}{
		{name: "gzip, skipping", compression: "gzip", capture: map[string]spec{"/other": {max: 1 << 20}}, cancelAt: 64 << 20},
		{name: "zstd, skipping", compression: "zstd", capture: map[string]spec{"/other": {max: 1 << 20}}, cancelAt: 64 << 20},
		{name: "gzip, reading", compression: "gzip", capture: map[string]spec{"/bomb": {max: 1 << 30}}, cancelAt: 4 << 20},
		{name: "zstd, reading", compression: "zstd", capture: map[string]spec{"/bomb": {max: 1 << 30}}, cancelAt: 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b := newBomb(t, tt.compression, size, tt.cancelAt, cancel)
			_, err := readLayer(ctx, b, false, tt.capture)
			b.stop()
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("readLayer() error = %v, want %v", err, context.Canceled)
			}
			made, read := b.made.Load()-b.madeAt.Load(), b.read.Load()-b.readAt.Load()
			t.Logf("after cancellation: %d bytes inflated, %d compressed bytes read", made, read)
			// What the encoder and decoder buffer, no more: a block or
			// two of each.
			if made > 1<<20 || read > 64<<10 {
				t.Errorf("after cancellation the read went on: %d bytes inflated, %d compressed bytes read; want at most 1 MiB and 64 KiB", made, read)
			}
		})
	}
}

// zstdZeros returns a zstd frame written by hand, of RLE blocks (4 bytes
// per 128 KiB), that inflates to a tar whose one entry, name, holds size
// zero bytes: 64 GiB take 2 MiB.
func zstdZeros(t *testing.T, name string, size int64) []byte {
	t.Helper()
	var hdr bytes.Buffer
	if err := tar.NewWriter(&hdr).WriteHeader(&tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	// Magic, frame header descriptor (no content size, no checksum), and
	// a 128 KiB window.
	out := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38}
	block := func(typ, n int, last bool) {
		v := n<<3 | typ<<1
		if last {
			v |= 1
		}
		out = append(out, byte(v), byte(v>>8), byte(v>>16))
	}
	block(0, hdr.Len(), false) // raw
	out = append(out, hdr.Bytes()...)
	// The content, then the two zero blocks that end a tar.
	for left := size + 1024; left > 0; {
		n := min(left, 128<<10)
		left -= n
		block(1, int(n), left == 0) // RLE of one zero byte
		out = append(out, 0)
	}
	return out
}

// TestFilesBombInLayoutTimesOut: a 2 MiB zstd layer that inflates to 64
// GiB, in an oci: layout, is read only until the deadline.
func TestFilesBombInLayoutTimesOut(t *testing.T) {
	t.Parallel()
	raw := zstdZeros(t, "bomb", 64<<30)
	bombLayer := static.NewLayer(raw, types.OCILayerZStd)
	img := imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{
		imagetest.Layer(t, imagetest.File{Path: "metadata.json", Body: "{}"}), bombLayer}})
	dir := filepath.Join(t.TempDir(), "layout")
	imagetest.WriteImageLayout(t, dir, img, "")
	opened := openSource(t, "oci:"+dir, Options{})

	before := opened.Stats().Bytes()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := opened.Variants[0].Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Files() error = %v, want %v", err, context.DeadlineExceeded)
	}
	read := opened.Stats().Bytes() - before
	t.Logf("read %d of the bomb's %d bytes before the deadline stopped it", read, len(raw))
	if read >= int64(len(raw))/2 {
		t.Errorf("read %d of the bomb's %d bytes: the deadline did not stop the read", read, len(raw))
	}
	for _, r := range opened.LayerReads() {
		if r.Digest == digestOf(t, bombLayer) && (r.Complete || r.Verified) {
			t.Errorf("LayerReads() = %+v for a read the deadline stopped", r)
		}
	}
}
