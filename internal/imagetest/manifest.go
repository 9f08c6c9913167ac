package imagetest

import (
	"bytes"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RawManifest is a manifest or index pushed byte for byte (PutManifest):
// for manifests that lie about sizes or are too large.
type RawManifest struct {
	Type  types.MediaType
	Bytes []byte
}

// RawManifest implements remote.Taggable.
func (m RawManifest) RawManifest() ([]byte, error) { return m.Bytes, nil }

// MediaType is the Content-Type the manifest is pushed with.
func (m RawManifest) MediaType() (types.MediaType, error) { return m.Type, nil }

// PutManifest pushes raw as the manifest ref names and returns its digest.
// Blobs and manifests it refers to must already be there.
func PutManifest(t testing.TB, ref string, raw RawManifest) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(r, raw); err != nil {
		t.Fatalf("putting manifest %s: %v", ref, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// GetManifest reads the manifest or index ref resolves to, as the registry
// serves it, byte for byte.
func GetManifest(t testing.TB, ref string, opts ...remote.Option) []byte {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Get(r, opts...)
	if err != nil {
		t.Fatalf("reading %s: %v", ref, err)
	}
	return d.Manifest
}
