package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/docker/desktop-plugin-check/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// standInVariant is one platform of the image the lint reasons about: the
// labels the Dockerfile gives it and the files read from the sources
// (/metadata.json, the compose file), by their path in the image.
type standInVariant struct {
	platform string
	labels   map[string]string
	files    map[string][]byte
}

// openStandIn writes the lint's stand-in image, one variant per platform,
// as an OCI layout in a temporary directory and opens it, so that the
// image rules that read only labels and these files run on it unchanged:
// one rule, one verdict, whichever way it is reached. Close removes the
// directory.
func openStandIn(ctx context.Context, tempDir string, variants []standInVariant) (*standIn, error) {
	dir, err := os.MkdirTemp(tempDir, "desktop-plugin-check-lint-")
	if err != nil {
		return nil, fmt.Errorf("making the lint's stand-in image: %w", err)
	}
	s := &standIn{dir: dir}
	idx, err := standInIndex(variants)
	if err == nil {
		_, err = layout.Write(dir, idx)
	}
	if err == nil {
		s.Image, err = image.Open(ctx, "oci:"+dir, image.Options{TempDir: tempDir})
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("making the lint's stand-in image: %w", err)
	}
	return s, nil
}

// standIn is the opened stand-in image and the directory it is in.
type standIn struct {
	*image.Image
	dir string
}

// Close closes the image and removes its directory.
func (s *standIn) Close() error {
	var err error
	if s.Image != nil {
		err = s.Image.Close()
	}
	if rerr := os.RemoveAll(s.dir); err == nil {
		err = rerr
	}
	return err
}

// standInIndex builds the stand-in's index in memory.
func standInIndex(variants []standInVariant) (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, v := range variants {
		img, p, err := standInImage(v)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	return mutate.AppendManifests(idx, adds...), nil
}

// standInImage builds one variant: a config with the labels and one
// uncompressed layer with the files.
func standInImage(v standInVariant) (v1.Image, *v1.Platform, error) {
	p, err := v1.ParsePlatform(v.platform)
	if err != nil {
		return nil, nil, fmt.Errorf("platform %q: %w", v.platform, err)
	}
	tarball, err := standInLayer(v.files)
	if err != nil {
		return nil, nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(tarball, types.OCIUncompressedLayer))
	if err != nil {
		return nil, nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.Labels = v.labels
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, nil, err
	}
	return mutate.MediaType(img, types.OCIManifestSchema1), p, nil
}

// standInLayer is a tar of files (by absolute path) and their parent
// directories.
func standInLayer(files map[string][]byte) ([]byte, error) {
	dirs := map[string]bool{}
	for p := range files {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range sortedPaths(dirs) {
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(d, "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		h := &tar.Header{Name: strings.TrimPrefix(p, "/"), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[p]))}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sortedPaths(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
