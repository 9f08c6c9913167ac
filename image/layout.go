package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// layoutSource reads an OCI image layout from a file system: a directory or
// the members of a tar archive.
type layoutSource struct {
	fsys fs.FS
	sel  selector
	// config, when set, picks the entries of index.json that are, or
	// list, the image with this config: a docker archive's @N names an
	// entry of manifest.json, which index.json entries are found by.
	config *v1.Hash
	what   string // for messages: "OCI layout DIR"
	// nameHint is how a user names one image of several, for messages.
	nameHint string
	// held, when set, describes the images held for messages, instead of
	// index.json's entries (a docker archive's @N counts manifest.json's).
	held  string
	stats *Stats
	// savedAs is the tag of the name the image picked is saved under.
	savedAs string
	closer  io.Closer
}

// openLayoutDir opens an OCI layout directory. Nothing outside it is read:
// a symlink that leads out (to a host file) is an error, as is anything
// but a regular file where a file belongs.
func openLayoutDir(dir string, sel selector, stats *Stats) (source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("opening OCI layout: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("opening OCI layout: %s is not a directory (use oci-archive: for a tar file)", dir)
	}
	root, err := openRootFS(dir)
	if err != nil {
		return nil, fmt.Errorf("opening OCI layout: %w", err)
	}
	return &layoutSource{fsys: root, sel: sel, what: "OCI layout " + dir, stats: stats, closer: root,
		nameHint: "oci:PATH:REF (its org.opencontainers.image.ref.name) or oci:PATH:@N"}, nil
}

func openLayoutArchive(ctx context.Context, file string, sel selector, stats *Stats) (source, error) {
	ta, err := openTarArchive(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("opening OCI archive: %w", err)
	}
	return &layoutSource{fsys: ta, sel: sel, what: "OCI archive " + file, stats: stats, closer: ta,
		nameHint: "oci-archive:FILE:REF (its org.opencontainers.image.ref.name) or oci-archive:FILE:@N"}, nil
}

func (s *layoutSource) close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

func (s *layoutSource) tag() string { return s.savedAs }

func (s *layoutSource) readSmall(name string) ([]byte, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxManifestSize {
		return nil, fmt.Errorf("%s is above the %d byte limit", name, maxManifestSize)
	}
	s.stats.bytes.Add(int64(len(raw)))
	return raw, nil
}

func (s *layoutSource) root(ctx context.Context) (v1.Descriptor, []byte, error) {
	raw, err := s.readSmall("index.json")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return v1.Descriptor{}, nil, fmt.Errorf("%s has no index.json: not an OCI image layout", s.what)
		}
		return v1.Descriptor{}, nil, fmt.Errorf("reading index.json of %s: %w", s.what, err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		// Say what is wrong without quoting it: index.json may be a file
		// that is no index at all.
		return v1.Descriptor{}, nil, fmt.Errorf("parsing index.json of %s: index.json %s", s.what, jsonProblem(err))
	}
	picked, tags, err := s.pick(idx)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	if len(picked) == 1 {
		d := picked[0]
		body, err := s.readBlob(d)
		if err != nil {
			return v1.Descriptor{}, nil, err
		}
		// index.json names the image by digest: the image must be that one.
		if err := verifyBlob("manifest", d, body); err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("reading %s from %s: %w", d.Digest, s.what, err)
		}
		s.savedAs = releaseTag(tags)
		return d, body, nil
	}
	// Several entries: if they are the platform images of one plugin (each
	// with a platform), index.json itself is the index; otherwise ask.
	for _, d := range picked {
		if d.Platform == nil && !isAttestation(d) || d.MediaType.IsIndex() {
			return v1.Descriptor{}, nil, fmt.Errorf("%s holds %d images (%s): name one as %s", s.what, len(picked), s.describe(idx), s.nameHint)
		}
	}
	s.savedAs = releaseTag(tags)
	h, size, _ := v1.SHA256(bytes.NewReader(raw))
	return v1.Descriptor{MediaType: types.OCIImageIndex, Digest: h, Size: size}, raw, nil
}

// pick returns the entries of index.json that the selector names, once
// per digest, and the tags of the names they are saved under.
func (s *layoutSource) pick(idx *v1.IndexManifest) ([]v1.Descriptor, []string, error) {
	entries := idx.Manifests
	if s.sel.index >= 0 && s.config == nil {
		if s.sel.index >= len(entries) {
			return nil, nil, fmt.Errorf("%s has no image @%d: it holds %d (%s)", s.what, s.sel.index, len(entries), heldImages(entries, maxListed))
		}
		entries = entries[s.sel.index : s.sel.index+1]
	}
	var (
		picked []v1.Descriptor
		tags   []string
		seen   = map[v1.Hash]bool{}
		holds  = map[v1.Hash]bool{}
	)
	for _, d := range entries {
		switch {
		case s.config != nil:
			ok, known := holds[d.Digest]
			if !known {
				var err error
				if ok, err = s.holdsConfig(d, *s.config, false); err != nil {
					return nil, nil, err
				}
				holds[d.Digest] = ok
			}
			if !ok {
				continue
			}
		case s.sel.ref != "" && !refNameMatches(d.Annotations, s.sel.ref):
			continue
		}
		tags = append(tags, entryTag(d.Annotations))
		// One image saved under several names is listed once per name.
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		picked = append(picked, d)
	}
	switch {
	case len(picked) > 0:
		return picked, tags, nil
	case s.config != nil:
		return nil, nil, fmt.Errorf("%s: image @%d of manifest.json, config %s, is not in index.json", s.what, s.sel.index, s.config)
	case s.sel.ref != "":
		return nil, nil, fmt.Errorf("%s has no image named %s; it holds %s", s.what, quoteName(s.sel.ref), s.describe(idx))
	}
	return nil, nil, fmt.Errorf("%s lists no images", s.what)
}

// holdsConfig reports whether index.json entry d is, or lists, an image
// whose config is cfg. The entries an index lists are looked at as images
// only (nested is true), so that a chain of indexes cannot multiply reads.
func (s *layoutSource) holdsConfig(d v1.Descriptor, cfg v1.Hash, nested bool) (bool, error) {
	raw, err := s.readBlob(d)
	if err != nil {
		return false, err
	}
	if err := verifyBlob("manifest", d, raw); err != nil {
		return false, fmt.Errorf("reading %s from %s: %w", d.Digest, s.what, err)
	}
	if nested || !d.MediaType.IsIndex() && !looksLikeIndex(raw) {
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		return err == nil && m.Config.Digest == cfg, nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return false, nil
	}
	if err := checkVariantCount(idx); err != nil {
		return false, fmt.Errorf("index %s of %s %w", d.Digest, s.what, err)
	}
	for _, c := range idx.Manifests {
		if !isVariantEntry(c) {
			continue
		}
		if ok, err := s.holdsConfig(c, cfg, true); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// entryTag is the tag of the name an index.json entry is saved under: its
// org.opencontainers.image.ref.name, else its io.containerd.image.name.
func entryTag(a map[string]string) string {
	if t := savedTag(a["org.opencontainers.image.ref.name"]); t != "" {
		return t
	}
	if cn := a["io.containerd.image.name"]; strings.Contains(cn, "/") {
		return savedTag(cn)
	}
	return ""
}

// entryName is how an index.json entry is named, for messages.
func entryName(a map[string]string) string {
	if n := a["io.containerd.image.name"]; n != "" {
		return n
	}
	return a["org.opencontainers.image.ref.name"]
}

// describe describes the images held, for messages.
func (s *layoutSource) describe(idx *v1.IndexManifest) string {
	if s.held != "" {
		return s.held
	}
	return heldImages(idx.Manifests, maxListed)
}

// heldImages describes the entries of index.json for a message: each by
// its @N and name, at most max of them.
func heldImages(entries []v1.Descriptor, max int) string {
	names := make([][]string, len(entries))
	for i, d := range entries {
		if n := entryName(d.Annotations); n != "" {
			names[i] = []string{n}
		}
	}
	return describeHeld(names, "(no name)", max)
}

// refNameMatches reports whether an index.json entry with annotations a is
// the image named ref: ref is its org.opencontainers.image.ref.name or its
// io.containerd.image.name (which docker save writes), or names the same
// image as the latter once both are normalised (docker.io/library/x is x,
// no tag is "latest").
func refNameMatches(a map[string]string, ref string) bool {
	if a["org.opencontainers.image.ref.name"] == ref {
		return true
	}
	cn := a["io.containerd.image.name"]
	return cn != "" && (cn == ref || normaliseImageName(cn) == normaliseImageName(ref))
}

// normaliseImageName writes an image name the short way Docker Hub names
// are written: without docker.io/, index.docker.io/ or library/, and with a
// tag (latest when there is none).
func normaliseImageName(s string) string {
	for _, p := range []string{"docker.io/", "index.docker.io/"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			s = rest
			break
		}
	}
	s = strings.TrimPrefix(s, "library/")
	if !strings.Contains(s, "@") && !strings.Contains(s[strings.LastIndex(s, "/")+1:], ":") {
		s += ":latest"
	}
	return s
}

func (s *layoutSource) blobPath(h v1.Hash) (string, error) {
	if h.Algorithm == "" || strings.ContainsAny(h.Algorithm+h.Hex, `/\.`) {
		return "", fmt.Errorf("invalid digest %q", h.String())
	}
	return path.Join("blobs", h.Algorithm, h.Hex), nil
}

func (s *layoutSource) readBlob(d v1.Descriptor) ([]byte, error) {
	p, err := s.blobPath(d.Digest)
	if err != nil {
		return nil, err
	}
	raw, err := s.readSmall(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", d.Digest, s.what, err)
	}
	return raw, nil
}

func (s *layoutSource) open(ctx context.Context, d v1.Descriptor) (io.ReadCloser, error) {
	p, err := s.blobPath(d.Digest)
	if err != nil {
		return nil, err
	}
	f, err := s.fsys.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is missing blob %s", s.what, d.Digest)
		}
		return nil, fmt.Errorf("opening blob %s of %s: %w", d.Digest, s.what, err)
	}
	return &countingFile{ReadCloser: f, stats: s.stats}, nil
}

type countingFile struct {
	io.ReadCloser
	stats *Stats
}

func (f *countingFile) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	f.stats.bytes.Add(int64(n))
	return n, err
}

// tarArchive is a read-only fs.FS over the regular files of an uncompressed
// tar file, indexed once; members are read in place, never extracted. A
// symlink or hard link member leads to another member, never to a host file.
type tarArchive struct {
	f       *os.File
	members map[string]tarMember
	// symlinks are symlink members and their targets; special are the
	// other members that hold no content, and what they are.
	symlinks map[string]string
	special  map[string]string
}

type tarMember struct {
	offset, size int64
}

// positionReader tracks the offset of an io.ReadSeeker so that tar member
// data offsets can be recorded.
type positionReader struct {
	r   io.ReadSeeker
	pos int64
}

func (p *positionReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pos += int64(n)
	return n, err
}

func (p *positionReader) Seek(off int64, whence int) (int64, error) {
	n, err := p.r.Seek(off, whence)
	if err == nil {
		p.pos = n
	}
	return n, err
}

const maxArchiveMembers = 1 << 20

// maxMemberLinks bounds the symlink members followed to find one member.
const maxMemberLinks = 40

// memberName is the clean name a member is looked up by.
func memberName(name string) string {
	return path.Clean(strings.TrimLeft(strings.TrimPrefix(name, "./"), "/"))
}

// openTarArchive indexes the members of an uncompressed tar file, which
// must be a regular file (a named pipe would block).
func openTarArchive(ctx context.Context, file string) (*tarArchive, error) {
	f, err := openRegular(file)
	if err != nil {
		return nil, err
	}
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err == nil && (magic[0] == 0x1f && magic[1] == 0x8b || bytes.Equal(magic[:], []byte{0x28, 0xb5, 0x2f, 0xfd})) {
		f.Close()
		return nil, fmt.Errorf("%s is compressed: decompress it first (buildx writes an uncompressed tar)", file)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	ta := &tarArchive{f: f, members: map[string]tarMember{}, symlinks: map[string]string{}, special: map[string]string{}}
	if err := ta.index(ctx, file); err != nil {
		f.Close()
		return nil, err
	}
	return ta, nil
}

func (ta *tarArchive) index(ctx context.Context, file string) error {
	pr := &positionReader{r: ta.f}
	tr := tar.NewReader(pr)
	for n := 0; ; n++ {
		if n%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s as tar: %w", file, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader || len(h.Name) > maxIndexableName {
			continue // no name looked up is this long
		}
		if len(ta.members)+len(ta.symlinks)+len(ta.special) >= maxArchiveMembers {
			return fmt.Errorf("%s has more than %d members", file, maxArchiveMembers)
		}
		name := memberName(h.Name)
		// A later member of the same name replaces an earlier one, as it
		// would when extracted.
		delete(ta.members, name)
		delete(ta.symlinks, name)
		delete(ta.special, name)
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeRegA:
			ta.members[name] = tarMember{offset: pr.pos, size: h.Size}
		case tar.TypeSymlink:
			ta.symlinks[name] = h.Linkname
		case tar.TypeLink:
			// A hard link shares an earlier member's content.
			if m, err := ta.member(h.Linkname); err == nil {
				ta.members[name] = m
			} else {
				ta.special[name] = "a hard link to " + quoteName(h.Linkname) + ", which the archive does not hold as a file"
			}
		case tar.TypeDir:
			ta.special[name] = "a directory"
		case tar.TypeFifo:
			ta.special[name] = "a named pipe (FIFO)"
		case tar.TypeChar, tar.TypeBlock:
			ta.special[name] = "a device"
		default:
			ta.special[name] = "a special member"
		}
	}
}

// member finds the regular member at name, following symlink members
// inside the archive. A symlink that leads out of it (an absolute target,
// or one climbing above the top) resolves to nothing: no host file is
// ever read for a member.
func (ta *tarArchive) member(name string) (tarMember, error) {
	p := memberName(name)
	for hop := 0; hop <= maxMemberLinks; hop++ {
		if m, ok := ta.members[p]; ok {
			return m, nil
		}
		if kind, ok := ta.special[p]; ok {
			return tarMember{}, &notRegularError{name: p, kind: kind}
		}
		target, ok := ta.symlinks[p]
		if !ok {
			return tarMember{}, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		next := path.Join(path.Dir(p), target)
		if path.IsAbs(target) || climbsOut(next) {
			return tarMember{}, fmt.Errorf("%s is a symlink to %s, outside the archive", p, quoteName(target))
		}
		p = next
	}
	return tarMember{}, fmt.Errorf("%s: too many levels of symbolic links", name)
}

func (ta *tarArchive) Close() error { return ta.f.Close() }

// Open implements fs.FS for regular members.
func (ta *tarArchive) Open(name string) (fs.File, error) {
	m, err := ta.member(name)
	if err != nil {
		return nil, err
	}
	return &tarMemberFile{SectionReader: io.NewSectionReader(ta.f, m.offset, m.size), name: name}, nil
}

type tarMemberFile struct {
	*io.SectionReader
	name string
}

func (f *tarMemberFile) Stat() (fs.FileInfo, error) {
	return nil, &fs.PathError{Op: "stat", Path: f.name, Err: errors.ErrUnsupported}
}
func (f *tarMemberFile) Close() error { return nil }
