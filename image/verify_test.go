package image

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The body tampering changes: a byte of metadata.json's content, so that a
// read that trusted the bytes would return "xtitle".
const tamperMarker = `"title"`

// tamperedImage is a plugin image whose top layer is an uncompressed tar
// (a changed byte still reads, only the digest tells).
func tamperedImage(t *testing.T) (v1.Image, v1.Layer) {
	t.Helper()
	top := uncompressedLayer(t, imagetest.PluginFiles(`{"title":"Tampered?"}`)...)
	return imagetest.Image(t, imagetest.Spec{Labels: imagetest.PluginLabels(), Layers: []v1.Layer{
		imagetest.Layer(t, imagetest.File{Path: "bin/sh", Body: "base"}), top}}), top
}

// wantDigestError checks that err reports the layer's mismatch.
func wantDigestError(t *testing.T, err error, what string, d v1.Hash) {
	t.Helper()
	var de *DigestError
	if !errors.As(err, &de) {
		t.Fatalf("error = %v, want a *DigestError", err)
	}
	if de.Digest != d {
		t.Errorf("DigestError.Digest = %s, want %s", de.Digest, d)
	}
	for _, w := range []string{what + " " + d.String(), "does not match its digest: the source is corrupt or tampered with"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// TestLocalLayerDigests: a layer read to its end must match its digest, in
// every local source.
func TestLocalLayerDigests(t *testing.T) {
	t.Parallel()
	img, top := tamperedImage(t)
	topDigest := digestOf(t, top)
	layer := imagetest.TarBytes(t, imagetest.PluginFiles(`{"title":"Tampered?"}`)...)
	tests := []struct {
		name string
		// write writes the source (tampered or not) and returns it and the
		// top layer's digest there.
		write func(t *testing.T, tampered bool) (string, v1.Hash)
	}{
		{name: "oci layout", write: func(t *testing.T, tampered bool) (string, v1.Hash) {
			dir := filepath.Join(t.TempDir(), "layout")
			imagetest.WriteImageLayout(t, dir, img, "")
			if tampered {
				tamperFile(t, blobFile(dir, topDigest), tamperMarker)
			}
			return "oci:" + dir, topDigest
		}},
		{name: "oci archive", write: func(t *testing.T, tampered bool) (string, v1.Hash) {
			dir := filepath.Join(t.TempDir(), "layout")
			imagetest.WriteImageLayout(t, dir, img, "")
			if tampered {
				tamperFile(t, blobFile(dir, topDigest), tamperMarker)
			}
			file := filepath.Join(t.TempDir(), "plugin.tar")
			imagetest.TarDir(t, dir, file)
			return "oci-archive:" + file, topDigest
		}},
		{name: "docker save before Docker 25", write: func(t *testing.T, tampered bool) (string, v1.Hash) {
			file := filepath.Join(t.TempDir(), "docker.tar")
			_, diffIDs := legacyArchive(t, file, imagetest.PluginLabels(), [][]byte{layer}, func(ms []member) []member {
				if tampered {
					ms[0].body = tamper(t, ms[0].body, tamperMarker)
				}
				return ms
			})
			return "docker-archive:" + file, diffIDs[0]
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, d := tt.write(t, false)
			opened := openSource(t, src, Options{})
			if _, err := opened.Variants[0].Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20}); err != nil {
				t.Fatal(err)
			}
			want := []LayerRead{{Digest: d, Size: int64(len(layer)), Bytes: int64(len(layer)), Complete: true, Verified: true}}
			if diff := cmp.Diff(want, opened.LayerReads()); diff != "" {
				t.Errorf("LayerReads() mismatch (-want +got):\n%s", diff)
			}

			src, d = tt.write(t, true)
			opened = openSource(t, src, Options{})
			files, err := opened.Variants[0].Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20})
			if err == nil {
				t.Fatalf("Files() of a tampered layer = %q, want an error", files["/metadata.json"].Data)
			}
			wantDigestError(t, err, "layer", d)
			t.Logf("error: %v", err)
			if got := opened.LayerReads(); len(got) != 1 || got[0].Verified || !got[0].Complete {
				t.Errorf("LayerReads() = %+v, want the layer complete and not verified", got)
			}
		})
	}
}

// TestLocalManifestAndConfigDigests: the manifest index.json names, and a
// docker save config named by its digest, must have that digest.
func TestLocalManifestAndConfigDigests(t *testing.T) {
	t.Parallel()
	img, _ := tamperedImage(t)
	manifest := digestOfImage(t, img)
	other, err := pluginImage(t, "amd64", "Other").RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	imagetest.WriteImageLayout(t, dir, img, "")
	if err := os.WriteFile(blobFile(dir, manifest), other, 0o644); err != nil {
		t.Fatal(err)
	}
	err = openFails(t, "oci:"+dir)
	wantDigestError(t, err, "manifest", manifest)

	file := filepath.Join(t.TempDir(), "docker.tar")
	layer := imagetest.TarBytes(t, imagetest.PluginFiles(imagetest.PluginMetadata)...)
	config, _ := legacyArchive(t, file, imagetest.PluginLabels(), [][]byte{layer}, func(ms []member) []member {
		for i := range ms {
			if strings.HasSuffix(ms[i].name, ".json") && ms[i].name != "manifest.json" {
				ms[i].body = tamper(t, ms[i].body, "linux")
			}
		}
		return ms
	})
	err = openFails(t, "docker-archive:"+file)
	wantDigestError(t, err, "config", config)
}

// TestRegistryLayerDigests: a registry that serves other bytes than a
// layer's digest names fails the read, once: the blob is not fetched again
// and every later lookup in it fails the same.
func TestRegistryLayerDigests(t *testing.T) {
	t.Parallel()
	host := imagetest.Registry(t)
	img, top := tamperedImage(t)
	ref := host + "/acme/tampered:1.0.0"
	imagetest.Push(t, ref, img)
	rec := &imagetest.Recorder{Inner: &tamperBlob{inner: http.DefaultTransport, t: t, digest: digestOf(t, top), marker: tamperMarker}}
	opened := openSource(t, ref, Options{Transport: rec})
	v := opened.Variants[0]
	ctx := context.Background()
	files, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 1 << 20})
	if err == nil {
		t.Fatalf("Files() of a tampered layer = %q, want an error", files["/metadata.json"].Data)
	}
	wantDigestError(t, err, "layer", digestOf(t, top))
	_, again := v.Files(ctx, Want{Path: "/ui/index.html", Max: 100})
	if !isDigestError(again) {
		t.Errorf("second Files() error = %v, want the mismatch again", again)
	}
	if n := blobGets(rec)[digestOf(t, top).String()]; n != 1 {
		t.Errorf("tampered layer fetched %d times, want 1", n)
	}
}

// TestRegistryLayerReads: an early stop leaves a layer unverified; the read
// that resumes it verifies the whole blob, the spooled part included, so a
// change in the part read before the stop is caught then.
func TestRegistryLayerReads(t *testing.T) {
	t.Parallel()
	files := []imagetest.File{
		reg("metadata.json", `{"title":"early"}`),
		reg("big", string(imagetest.Incompressible(2*earlyStopMin, "big"))),
		reg("late", "late"),
	}
	big := uncompressedLayer(t, files...)
	size := sizeOf(t, big)
	host := imagetest.Registry(t)
	ref := host + "/acme/big:1.0.0"
	imagetest.Push(t, ref, imagetest.Image(t, imagetest.Spec{Layers: []v1.Layer{big}}))
	ctx := context.Background()
	for _, tampered := range []bool{false, true} {
		var transport http.RoundTripper = http.DefaultTransport
		if tampered {
			transport = &tamperBlob{inner: transport, t: t, digest: digestOf(t, big), marker: tamperMarker}
		}
		opened := openSource(t, ref, Options{Transport: transport})
		v := opened.Variants[0]
		got, err := v.Files(ctx, Want{Path: "/metadata.json", Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("tampered %v: metadata.json read before the stop: %s", tampered, got["/metadata.json"].Data)
		reads := opened.LayerReads()
		if len(reads) != 1 || reads[0].Complete || reads[0].Verified || reads[0].Bytes >= size/4 {
			t.Errorf("tampered %v: LayerReads() after an early stop = %+v, want one read of less than %d bytes, not verified", tampered, reads, size/4)
		}
		_, err = v.Files(ctx, Want{Path: "/late", Max: 100})
		if tampered {
			wantDigestError(t, err, "layer", digestOf(t, big))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want := []LayerRead{{Digest: digestOf(t, big), Size: size, Bytes: size, Complete: true, Verified: true}}
		if diff := cmp.Diff(want, opened.LayerReads()); diff != "" {
			t.Errorf("LayerReads() after the resumed read mismatch (-want +got):\n%s", diff)
		}
	}
}
