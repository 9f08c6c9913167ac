package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Helpers that build hostile sources: layouts with pipes and symlinks in
// them, archives with link members, blobs changed in place or in flight.

// blobFile is the path of a blob in a layout directory.
func blobFile(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// uncompressedLayer is a layer stored as a plain tar, so that a byte of a
// file's content can be changed and the layer still reads: only its digest
// tells.
func uncompressedLayer(t *testing.T, files ...imagetest.File) v1.Layer {
	t.Helper()
	return static.NewLayer(imagetest.TarBytes(t, files...), types.OCIUncompressedLayer)
}

// tamper flips one byte of raw, in the first occurrence of marker.
func tamper(t testing.TB, raw []byte, marker string) []byte {
	t.Helper()
	i := bytes.Index(raw, []byte(marker))
	if i < 0 {
		t.Fatalf("tampering: %q not found", marker)
	}
	out := bytes.Clone(raw)
	out[i] ^= 0x20
	return out
}

// tamperFile flips one byte of a file, in the first occurrence of marker.
func tamperFile(t *testing.T, p, marker string) {
	t.Helper()
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, tamper(t, raw, marker), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tamperBlob changes every registry response for one blob: one byte flipped
// at the first occurrence of marker, the size kept.
type tamperBlob struct {
	inner  http.RoundTripper
	t      testing.TB
	digest v1.Hash
	marker string
}

func (tb *tamperBlob) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := tb.inner.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !strings.HasSuffix(req.URL.Path, "/blobs/"+tb.digest.String()) {
		return resp, err
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(tamper(tb.t, raw, tb.marker)))
	return resp, nil
}

// member is one member of a hand-made tar archive.
type member struct {
	name string
	body []byte
	typ  byte // tar.TypeReg by default
	link string
}

// writeTar writes the members as a tar file.
func writeTar(t *testing.T, file string, members ...member) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Linkname: m.link, Mode: 0o644}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(m.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// layoutMembers returns the regular files of a layout directory as archive
// members, except those in links, which become symlink members with the
// given targets.
func layoutMembers(t *testing.T, dir string, links map[string]string) []member {
	t.Helper()
	var out []member
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if target, ok := links[rel]; ok {
			out = append(out, member{name: rel, typ: tar.TypeSymlink, link: target})
			return nil
		}
		raw, err := os.ReadFile(p)
		out = append(out, member{name: rel, body: raw})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// legacyArchive writes `docker save` output from before Docker 25: a
// manifest.json, the config as HEX.json and each layer, uncompressed, as
// ID/layer.tar (ID not a digest); a layer equal to an earlier one is a
// symlink to it, as docker save writes. change, if set, rewrites the
// members before they are written.
func legacyArchive(t *testing.T, file string, labels map[string]string, layers [][]byte, change func([]member) []member) (config v1.Hash, diffIDs []v1.Hash) {
	t.Helper()
	cf := v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}, Config: v1.Config{Labels: labels}}
	var members []member
	var names []string
	seen := map[v1.Hash]string{}
	for i, l := range layers {
		sum := sha256.Sum256(l)
		h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
		cf.RootFS.DiffIDs = append(cf.RootFS.DiffIDs, h)
		id := sha256.Sum256([]byte{byte(i)})
		name := hex.EncodeToString(id[:]) + "/layer.tar"
		names = append(names, name)
		if first, ok := seen[h]; ok {
			members = append(members, member{name: name, typ: tar.TypeSymlink, link: "../" + first})
			continue
		}
		seen[h] = name
		members = append(members, member{name: name, body: l})
	}
	raw, err := json.Marshal(cf)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	config = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	manifest, err := json.Marshal([]map[string]any{{"Config": config.Hex + ".json", "RepoTags": []string{"acme/plugin:1.0.0"}, "Layers": names}})
	if err != nil {
		t.Fatal(err)
	}
	members = append(members, member{name: config.Hex + ".json", body: raw}, member{name: "manifest.json", body: manifest})
	if change != nil {
		members = change(members)
	}
	writeTar(t, file, members...)
	return config, cf.RootFS.DiffIDs
}
