package checks

import (
	"context"
	"testing"

	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// openIndex writes idx as an OCI layout in a temp dir and opens it.
func openIndex(t *testing.T, idx v1.ImageIndex) *image.Image {
	t.Helper()
	dir := t.TempDir()
	imagetest.WriteLayout(t, dir, idx, "")
	img, err := image.Open(context.Background(), "oci:"+dir, image.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("opening test image: %v", err)
	}
	t.Cleanup(func() { img.Close() })
	return img
}

// runRules runs rules against idx with opts and returns the findings.
func runRules(t *testing.T, idx v1.ImageIndex, opts Options, rules ...*Rule) []Finding {
	t.Helper()
	ctx := context.Background()
	img := openIndex(t, idx)
	target, err := NewTarget(ctx, img, opts)
	if err != nil {
		t.Fatalf("NewTarget: %v", err)
	}
	res, err := Run(ctx, target, rules, Config{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res.Findings
}

// twoPlatforms builds a linux/amd64 + linux/arm64 index whose variants carry
// the given labels and a top layer with metadata.
func twoPlatforms(t *testing.T, amd64Labels, arm64Labels map[string]string, metadata string) v1.ImageIndex {
	t.Helper()
	var imgs []v1.Image
	for _, p := range []struct {
		arch   string
		labels map[string]string
	}{{"amd64", amd64Labels}, {"arm64", arm64Labels}} {
		imgs = append(imgs, imagetest.Image(t, imagetest.Spec{Arch: p.arch, Labels: p.labels,
			Layers: []v1.Layer{imagetest.Layer(t, imagetest.PluginFiles(metadata)...)}}))
	}
	return imagetest.Index(t, imgs...)
}
