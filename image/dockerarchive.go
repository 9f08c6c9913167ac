package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// dockerArchiveSource reads `docker save` output from before Docker 25,
// described only by manifest.json, from which a manifest is synthesised.
// Archives from Docker 25 and later carry an OCI layout (index.json, next to
// manifest.json) and are read as one, by a layoutSource.
type dockerArchiveSource struct {
	ta    *tarArchive
	file  string
	stats *Stats
	// blobs maps synthesised digests to archive members.
	blobs    map[v1.Hash]string
	manifest []byte
	desc     v1.Descriptor
}

type dockerSaveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func openDockerArchive(file, ref string, stats *Stats) (source, error) {
	ta, err := openTarArchive(file)
	if err != nil {
		return nil, fmt.Errorf("opening docker archive: %w", err)
	}
	if _, ok := ta.members["index.json"]; ok {
		// Docker 25 and later: index.json is the truth (the real digest,
		// every platform); manifest.json is kept for older readers only.
		return &layoutSource{fsys: ta, refName: ref, what: "docker archive " + file, stats: stats, closer: ta,
			nameHint: "docker-archive:FILE:TAG"}, nil
	}
	if _, ok := ta.members["manifest.json"]; !ok {
		ta.Close()
		return nil, fmt.Errorf("%s has neither index.json nor manifest.json: not a docker save archive", file)
	}
	s := &dockerArchiveSource{ta: ta, file: file, stats: stats, blobs: map[v1.Hash]string{}}
	if err := s.synthesise(ref); err != nil {
		ta.Close()
		return nil, err
	}
	return s, nil
}

func (s *dockerArchiveSource) readMember(name string) ([]byte, error) {
	ls := &layoutSource{fsys: s.ta, what: "docker archive " + s.file, stats: s.stats}
	return ls.readSmall(name)
}

func (s *dockerArchiveSource) synthesise(ref string) error {
	raw, err := s.readMember("manifest.json")
	if err != nil {
		return fmt.Errorf("reading manifest.json of %s: %w", s.file, err)
	}
	var entries []dockerSaveEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return fmt.Errorf("parsing manifest.json of %s: %w", s.file, err)
	}
	var picked []dockerSaveEntry
	for _, e := range entries {
		if ref == "" || containsTag(e.RepoTags, ref) {
			picked = append(picked, e)
		}
	}
	switch {
	case len(picked) == 0 && ref != "":
		return fmt.Errorf("docker archive %s has no image tagged %q", s.file, ref)
	case len(picked) == 0:
		return fmt.Errorf("docker archive %s holds no image", s.file)
	case len(picked) > 1:
		return fmt.Errorf("docker archive %s holds %d images: name one as docker-archive:FILE:TAG", s.file, len(picked))
	}
	e := picked[0]
	cfg, err := s.readMember(e.Config)
	if err != nil {
		return fmt.Errorf("reading config %s of %s: %w", e.Config, s.file, err)
	}
	cfgHash, cfgSize, _ := v1.SHA256(bytes.NewReader(cfg))
	s.blobs[cfgHash] = e.Config
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2,
		Config: v1.Descriptor{MediaType: types.DockerConfigJSON, Digest: cfgHash, Size: cfgSize}}
	for _, l := range e.Layers {
		l = path.Clean(strings.TrimPrefix(l, "./"))
		mem, ok := s.ta.members[l]
		if !ok {
			return fmt.Errorf("docker archive %s lists layer %s but does not contain it", s.file, l)
		}
		h := memberHash(l)
		s.blobs[h] = l
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.DockerLayer, Digest: h, Size: mem.size})
	}
	s.manifest, err = json.Marshal(m)
	if err != nil {
		return err
	}
	h, size, _ := v1.SHA256(bytes.NewReader(s.manifest))
	s.desc = v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: h, Size: size}
	s.blobs[h] = ""
	return nil
}

// containsTag reports whether one of an archive's RepoTags names ref, as
// written or normalised (acme/plugin:1 is docker.io/acme/plugin:1).
func containsTag(tags []string, ref string) bool {
	want := ""
	if r, err := name.NewTag(ref); err == nil {
		want = r.Name()
	}
	for _, t := range tags {
		if t == ref {
			return true
		}
		if r, err := name.NewTag(t); err == nil && want != "" && r.Name() == want {
			return true
		}
	}
	return false
}

// memberHash names a layer member by its digest when the archive stores it
// content-addressed (blobs/sha256/HEX), else by a hash of its member name.
func memberHash(member string) v1.Hash {
	if rest, ok := strings.CutPrefix(member, "blobs/sha256/"); ok && len(rest) == 64 {
		return v1.Hash{Algorithm: "sha256", Hex: rest}
	}
	sum := sha256.Sum256([]byte("docker-archive member " + member))
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

func (s *dockerArchiveSource) root(ctx context.Context) (v1.Descriptor, []byte, error) {
	return s.desc, s.manifest, nil
}

func (s *dockerArchiveSource) open(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	member, ok := s.blobs[d.Digest]
	if !ok {
		return nil, fmt.Errorf("docker archive %s has no blob %s", s.file, d.Digest)
	}
	if member == "" {
		return io.NopCloser(bytes.NewReader(s.manifest)), nil
	}
	f, err := s.ta.Open(member)
	if err != nil {
		return nil, err
	}
	return &countingFile{ReadCloser: f, stats: s.stats}, nil
}

func (s *dockerArchiveSource) close() error { return s.ta.Close() }
