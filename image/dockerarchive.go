package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"

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
	blobs map[v1.Hash]string
	// synthetic are the layer digests made from member names.
	synthetic map[v1.Hash]bool
	manifest  []byte
	desc      v1.Descriptor
	// savedAs is the tag of the name the image picked is saved under.
	savedAs string
}

type dockerSaveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func openDockerArchive(ctx context.Context, file string, sel selector, stats *Stats) (source, error) {
	ta, err := openTarArchive(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("opening docker archive: %w", err)
	}
	s := &dockerArchiveSource{ta: ta, file: file, stats: stats, blobs: map[v1.Hash]string{}, synthetic: map[v1.Hash]bool{}}
	if _, err := ta.member("index.json"); !errors.Is(err, fs.ErrNotExist) {
		// Docker 25 and later: index.json is the truth (the real digest,
		// every platform); manifest.json is kept for older readers only.
		ls, err := s.asLayout(sel)
		if err != nil {
			ta.Close()
			return nil, err
		}
		return ls, nil
	}
	if _, err := ta.member("manifest.json"); errors.Is(err, fs.ErrNotExist) {
		ta.Close()
		return nil, fmt.Errorf("%s has neither index.json nor manifest.json: not a docker save archive", file)
	}
	if err := s.synthesise(sel); err != nil {
		ta.Close()
		return nil, err
	}
	return s, nil
}

// dockerArchiveHint is how a user names one image of a docker archive.
const dockerArchiveHint = "docker-archive:FILE:TAG or docker-archive:FILE:@N"

// asLayout reads an archive that holds an OCI layout. Its @N counts the
// images of manifest.json, as for any docker archive: the entries of
// index.json are found by the config of the one picked.
func (s *dockerArchiveSource) asLayout(sel selector) (*layoutSource, error) {
	ls := &layoutSource{fsys: s.ta, sel: sel, what: "docker archive " + s.file, stats: s.stats, closer: s.ta, nameHint: dockerArchiveHint}
	if _, err := s.ta.member("manifest.json"); errors.Is(err, fs.ErrNotExist) {
		if sel.index >= 0 {
			return nil, fmt.Errorf("docker archive %s has no manifest.json, whose images @%d counts: name the image by its tag", s.file, sel.index)
		}
		return ls, nil
	}
	entries, err := s.entries()
	if err != nil {
		return nil, err
	}
	ls.held = describeEntries(entries)
	if sel.index < 0 {
		return ls, nil
	}
	e, err := s.entry(entries, sel.index)
	if err != nil {
		return nil, err
	}
	cfg, ok := hexDigest(memberName(e.Config), ".json")
	if !ok {
		raw, err := s.readMember(e.Config)
		if err != nil {
			return nil, fmt.Errorf("reading config %s of %s: %w", quoteName(e.Config), s.file, err)
		}
		cfg, _, _ = v1.SHA256(bytes.NewReader(raw))
	}
	ls.config = &cfg
	return ls, nil
}

func (s *dockerArchiveSource) readMember(name string) ([]byte, error) {
	ls := &layoutSource{fsys: s.ta, what: "docker archive " + s.file, stats: s.stats}
	return ls.readSmall(name)
}

// entries reads manifest.json.
func (s *dockerArchiveSource) entries() ([]dockerSaveEntry, error) {
	raw, err := s.readMember("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("reading manifest.json of %s: %w", s.file, err)
	}
	var entries []dockerSaveEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("parsing manifest.json of %s: manifest.json %s", s.file, jsonProblem(err))
	}
	return entries, nil
}

// entry returns image @i of manifest.json.
func (s *dockerArchiveSource) entry(entries []dockerSaveEntry, i int) (dockerSaveEntry, error) {
	if i >= len(entries) {
		return dockerSaveEntry{}, fmt.Errorf("docker archive %s has no image @%d: it holds %d (%s)", s.file, i, len(entries), describeEntries(entries))
	}
	return entries[i], nil
}

// describeEntries describes the images of manifest.json for messages.
func describeEntries(entries []dockerSaveEntry) string {
	names := make([][]string, len(entries))
	for i, e := range entries {
		names[i] = e.RepoTags
	}
	return describeHeld(names, "untagged", maxListed)
}

// pick returns the image of manifest.json that sel names, and the tags
// it is saved under.
func (s *dockerArchiveSource) pick(entries []dockerSaveEntry, sel selector) (dockerSaveEntry, []string, error) {
	if sel.index >= 0 {
		e, err := s.entry(entries, sel.index)
		return e, tagsOf(e.RepoTags), err
	}
	var (
		picked []dockerSaveEntry
		tags   []string
	)
	for _, e := range entries {
		if sel.ref == "" {
			picked = append(picked, e)
			tags = tagsOf(e.RepoTags)
		} else if t, ok := matchingTag(e.RepoTags, sel.ref); ok {
			picked = append(picked, e)
			tags = tagsOf([]string{t})
		}
	}
	switch {
	case len(picked) == 0 && sel.ref != "":
		return dockerSaveEntry{}, nil, fmt.Errorf("docker archive %s has no image tagged %s; it holds %s", s.file, quoteName(sel.ref), describeEntries(entries))
	case len(picked) == 0:
		return dockerSaveEntry{}, nil, fmt.Errorf("docker archive %s holds no image", s.file)
	case len(picked) > 1:
		return dockerSaveEntry{}, nil, fmt.Errorf("docker archive %s holds %d images (%s): name one as %s", s.file, len(picked), describeEntries(entries), dockerArchiveHint)
	}
	return picked[0], tags, nil
}

// tagsOf returns the tags of RepoTags entries.
func tagsOf(repoTags []string) []string {
	var tags []string
	for _, t := range repoTags {
		tags = append(tags, savedTag(t))
	}
	return tags
}

func (s *dockerArchiveSource) synthesise(sel selector) error {
	entries, err := s.entries()
	if err != nil {
		return err
	}
	e, tags, err := s.pick(entries, sel)
	if err != nil {
		return err
	}
	s.savedAs = releaseTag(tags)
	cfg, err := s.readMember(e.Config)
	if err != nil {
		return fmt.Errorf("reading config %s of %s: %w", quoteName(e.Config), s.file, err)
	}
	cfgHash, cfgSize, _ := v1.SHA256(bytes.NewReader(cfg))
	if want, ok := hexDigest(memberName(e.Config), ".json"); ok && want != cfgHash {
		// The config is named by its digest (docker save, skopeo and
		// go-containerregistry all do): it must have it.
		return fmt.Errorf("reading config of %s: %w", s.file, &DigestError{What: "config", Digest: want, Size: cfgSize, Got: cfgHash, GotSize: cfgSize})
	}
	s.blobs[cfgHash] = e.Config
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2,
		Config: v1.Descriptor{MediaType: types.DockerConfigJSON, Digest: cfgHash, Size: cfgSize}}
	diffIDs := diffIDsOf(cfg, len(e.Layers))
	for i, l := range e.Layers {
		d, err := s.layerDescriptor(memberName(l), diffIDs, i)
		if err != nil {
			return err
		}
		m.Layers = append(m.Layers, d)
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

// layerDescriptor describes layer member l, the i-th of the image, by the
// digest its content must have: the one its name carries, else (for an
// uncompressed member, as docker save writes) its diff ID from the config.
// Failing both, it gets a digest made from its name, which cannot be
// verified.
func (s *dockerArchiveSource) layerDescriptor(l string, diffIDs []v1.Hash, i int) (v1.Descriptor, error) {
	mem, err := s.ta.member(l)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("docker archive %s lists layer %s but does not contain it: %w", s.file, quoteName(l), err)
	}
	h, ok := hexDigest(l, ".tar", ".tar.gz", ".tar.zst")
	if !ok && diffIDs != nil && !s.compressed(mem) {
		h, ok = diffIDs[i], true
	}
	if !ok {
		h = memberHash(l)
		s.synthetic[h] = true
	}
	s.blobs[h] = l
	return v1.Descriptor{MediaType: types.DockerLayer, Digest: h, Size: mem.size}, nil
}

// diffIDsOf returns the config's diff IDs if there is one per layer, all
// sha256 (as docker load requires).
func diffIDsOf(cfg []byte, layers int) []v1.Hash {
	var c struct {
		RootFS struct {
			DiffIDs []v1.Hash `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if json.Unmarshal(cfg, &c) != nil || len(c.RootFS.DiffIDs) != layers {
		return nil
	}
	for _, h := range c.RootFS.DiffIDs {
		if h.Algorithm != "sha256" {
			return nil
		}
	}
	return c.RootFS.DiffIDs
}

// compressed reports whether a member starts as a gzip or zstd stream.
func (s *dockerArchiveSource) compressed(m tarMember) bool {
	var magic [4]byte
	n, _ := s.ta.f.ReadAt(magic[:min(int64(len(magic)), m.size)], m.offset)
	b := magic[:n]
	return bytes.HasPrefix(b, []byte{0x1f, 0x8b}) || bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd})
}

// matchingTag returns the one of an archive's RepoTags that names ref, as
// written or normalised (acme/plugin:1 is docker.io/acme/plugin:1).
func matchingTag(tags []string, ref string) (string, bool) {
	want := ""
	if r, err := name.NewTag(ref); err == nil {
		want = r.Name()
	}
	for _, t := range tags {
		if t == ref {
			return t, true
		}
		if r, err := name.NewTag(t); err == nil && want != "" && r.Name() == want {
			return t, true
		}
	}
	return "", false
}

// memberHash names a layer member that carries no digest by a hash of its
// member name.
func memberHash(member string) v1.Hash {
	sum := sha256.Sum256([]byte("docker-archive member " + member))
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// digestless reports a layer digest made from a member name.
func (s *dockerArchiveSource) digestless(h v1.Hash) bool { return s.synthetic[h] }

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

func (s *dockerArchiveSource) tag() string { return s.savedAs }
