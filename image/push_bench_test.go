package image

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// pushSizes returns the size of each distinct blob (configs and layers) of
// idx's images, by digest, and the bytes of its manifests (the index
// and each image's).
func pushSizes(b *testing.B, idx v1.ImageIndex) (blobs map[v1.Hash]int64, manifests int64) {
	b.Helper()
	blobs = map[v1.Hash]int64{}
	raw, err := idx.RawManifest()
	if err != nil {
		b.Fatal(err)
	}
	manifests = int64(len(raw))
	im, err := idx.IndexManifest()
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			b.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			b.Fatal(err)
		}
		manifests += d.Size
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			blobs[l.Digest] = l.Size
		}
	}
	return blobs, manifests
}

// BenchmarkPush measures what the push of a two-platform plugin sends:
// to an empty repository, and to one that holds the release before,
// whose base and backend layers (8 MiB a platform) the new one shares.
// bytes-sent/op is compared with new-bytes/op, the size of the blobs the
// target lacks plus the manifests written (the index twice: by digest and
// by tag); sent/new is their ratio.
func BenchmarkPush(b *testing.B) {
	const baseSize = 8 << 20
	before := imagetest.Plugin(b, labelsWithTitle("Release one"), imagetest.PluginMetadata, baseSize)
	next := imagetest.Plugin(b, labelsWithTitle("Release two"), strings.Replace(imagetest.PluginMetadata, "My Plugin", "My Plugin, again", 1), baseSize)
	dir := filepath.Join(b.TempDir(), "layout")
	imagetest.WriteLayout(b, dir, next, "")
	img, err := Open(context.Background(), "oci:"+dir, Options{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	oldBlobs, _ := pushSizes(b, before)
	newBlobs, manifests := pushSizes(b, next)
	indexRaw, err := next.RawManifest()
	if err != nil {
		b.Fatal(err)
	}

	for _, bc := range []struct {
		name    string
		present bool
	}{{"empty target", false}, {"base layers present", true}} {
		b.Run(bc.name, func(b *testing.B) {
			want := manifests + int64(len(indexRaw))
			for h, n := range newBlobs {
				if _, ok := oldBlobs[h]; !ok || !bc.present {
					want += n
				}
			}
			var sent, requests int64
			for b.Loop() {
				b.StopTimer()
				host := imagetest.Registry(b)
				if bc.present {
					imagetest.Push(b, host+"/acme/plugin:1.0.0", before)
				}
				ref := mustRefB(b, host+"/acme/plugin:2.0.0")
				b.StartTimer()
				got, err := img.Push(context.Background(), ref, PushOptions{})
				if err != nil {
					b.Fatal(err)
				}
				sent += got[0].BytesSent
				requests += got[0].Requests
			}
			n := float64(b.N)
			b.ReportMetric(float64(sent)/n, "bytes-sent/op")
			b.ReportMetric(float64(want), "new-bytes/op")
			b.ReportMetric(float64(sent)/n/float64(want), "sent/new")
			b.ReportMetric(float64(requests)/n, "requests/op")
		})
	}
}

func mustRefB(b *testing.B, s string) []name.Reference {
	b.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		b.Fatal(err)
	}
	return []name.Reference{r}
}
