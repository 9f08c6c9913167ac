package image

import (
	"context"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
)

// BenchmarkReadPlugin measures what checking a two-platform plugin with
// large base layers costs: open it from a registry, read every variant's
// config (labels) and /metadata.json. It reports requests and bytes per
// run, and bytes as a multiple of DESIGN section 4's minimum (index,
// manifests, configs, and the shared top layer that holds metadata.json)
// and of a full pull (every blob once).
func BenchmarkReadPlugin(b *testing.B) {
	const baseSize = 32 << 20 // per architecture, incompressible
	host := imagetest.Registry(b)
	idx := imagetest.Plugin(b, imagetest.PluginLabels(), imagetest.PluginMetadata, baseSize)
	ref := host + "/acme/plugin:1.0.0"
	imagetest.Push(b, ref, idx)
	parts := partsOf(b, idx)
	minimum := parts.indexSize + parts.manifestsSize + parts.configsSize + parts.topSize
	full := parts.allBlobs
	ctx := context.Background()
	tmp := b.TempDir()

	var requests, bytes int64
	b.ResetTimer()
	for range b.N {
		img, err := Open(ctx, ref, Options{TempDir: tmp})
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range img.Variants {
			if _, err := v.Config(ctx); err != nil {
				b.Fatal(err)
			}
		}
		for _, v := range img.Variants {
			files, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			if !files["/metadata.json"].Exists() {
				b.Fatalf("%s: no /metadata.json", v.PlatformString())
			}
		}
		requests += img.Stats().Requests()
		bytes += img.Stats().Bytes()
		if err := img.Close(); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(requests)/n, "requests/op")
	b.ReportMetric(float64(bytes)/n, "bytes/op")
	b.ReportMetric(float64(bytes)/n/float64(minimum), "x-minimum")
	b.ReportMetric(float64(bytes)/n/float64(full), "x-full-pull")
	b.ReportMetric(float64(minimum), "minimum-bytes")
	b.ReportMetric(float64(full), "full-pull-bytes")
}
