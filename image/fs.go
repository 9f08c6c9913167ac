package image

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Kind is the kind of a file system entry.
type Kind int

// Kinds of entries.
const (
	Missing Kind = iota
	Regular
	Dir
	Symlink
	Other // device, fifo
)

func (k Kind) String() string {
	return [...]string{"missing", "file", "directory", "symlink", "special file"}[k]
}

// Want asks for one path of a variant's merged file system.
type Want struct {
	// Path is an absolute path inside the image.
	Path string
	// Max is how many bytes of a regular file's content to keep; 0 keeps none.
	Max int64
	// Tree asks for the entries below a directory, merged from the layers
	// that resolving Path reads: from the top down to the topmost layer
	// holding the directory itself (or one that makes it opaque). Those
	// layers are read to their end; lower layers are not read, so what they
	// add to the directory is not listed. The root lists every layer.
	Tree bool
	// NoFollow reports a symlink at Path itself instead of following it.
	NoFollow bool
}

// File is what the merged file system holds at a wanted path.
type File struct {
	// Path is the path asked for; Resolved is where symlinks led.
	Path, Resolved string
	Kind           Kind
	// Linkname is the target of a symlink (with NoFollow).
	Linkname string
	// Size is the full size of a regular file.
	Size int64
	// Data is up to Want.Max bytes of the content.
	Data []byte
	// Truncated reports that Size > len(Data) because of Want.Max.
	Truncated bool
	// Mode is the file mode bits from the tar header.
	Mode int64
	// Problem explains a path that cannot be resolved (a symlink loop, a
	// hard link to nothing).
	Problem string
	// Tree lists the entries below a wanted directory (Want.Tree), at any
	// depth, sorted by path; symlinks in it are not followed.
	Tree []Entry
}

// Exists reports whether the path resolved to something.
func (f *File) Exists() bool { return f != nil && f.Kind != Missing }

// Entry is one entry of a directory tree listing.
type Entry struct {
	Path     string
	Kind     Kind
	Linkname string
}

const maxSymlinkHops = 40

// Files resolves the wanted paths in the variant's merged file system and
// returns them keyed by their clean absolute path. Layers are read top-down,
// each only if a wanted path is still unresolved there, and each blob is
// fetched at most once per run (a second question about a layer already
// read is answered from memory or from the spool in Options.TempDir).
// A missing path, a symlink loop or a dangling hard link is a File, not an
// error; an error means a layer could not be read.
func (v *Variant) Files(ctx context.Context, wants ...Want) (map[string]*File, error) {
	m, err := v.Manifest(ctx)
	if err != nil {
		return nil, err
	}
	wants = append([]Want(nil), wants...)
	for i := range wants {
		wants[i].Path = cleanPath(wants[i].Path)
	}
	mfs := &mergedFS{layers: m.Layers, scans: make([]*layerScan, len(m.Layers))}
	// Every round reads a layer with a question it could not answer before,
	// so the rounds are bounded; the limit only guards against a bug.
	limit := (len(m.Layers) + 1) * (len(wants) + 1) * (maxSymlinkHops + 2)
	for round := 0; ; round++ {
		if round > limit {
			return nil, fmt.Errorf("resolving files of %s: too many layer reads", v.PlatformString())
		}
		out := map[string]*File{}
		needs := map[int]map[string]spec{} // layer -> path -> what to capture
		for _, w := range wants {
			f, need := mfs.resolve(w)
			if need != nil {
				if needs[need.layer] == nil {
					needs[need.layer] = map[string]spec{}
				}
				for p, sp := range need.paths {
					needs[need.layer][p] = needs[need.layer][p].merge(sp)
				}
				continue
			}
			out[w.Path] = f
		}
		if len(needs) == 0 {
			return out, nil
		}
		// Read the topmost layer that is needed; lower needs may vanish.
		top := -1
		for l := range needs {
			if l > top {
				top = l
			}
		}
		s, err := v.img.scans.scan(ctx, m.Layers[top], needs[top])
		if err != nil {
			return nil, fmt.Errorf("reading layer %d (%s) of %s: %w", top+1, m.Layers[top].Digest, v.PlatformString(), err)
		}
		if s == mfs.scans[top] {
			return nil, fmt.Errorf("resolving files of %s: layer %d (%s) does not answer %v", v.PlatformString(), top+1, m.Layers[top].Digest, needs[top])
		}
		mfs.scans[top] = s
	}
}

// LayerDefect lists the entries of one layer that Docker refuses to unpack
// (a name, hard link or relative symlink that climbs out of the root).
// They are skipped (a hard link, resolving to nothing) or kept inside the
// root (a symlink); the rest of the layer is read.
type LayerDefect struct {
	// Layer is the layer's position in the manifest, from 1 (the base).
	Layer  int
	Digest v1.Hash
	// Entries say what is wrong, one entry each; More counts the rest.
	Entries []string
	More    int
}

// LayerDefects returns the defects found so far in the layers of the
// variant that Files read (lazy reading: layers that were not read, and the
// part of a layer after an early stop, are not looked at).
func (v *Variant) LayerDefects(ctx context.Context) ([]LayerDefect, error) {
	m, err := v.Manifest(ctx)
	if err != nil {
		return nil, err
	}
	var out []LayerDefect
	for i, l := range m.Layers {
		if entries, more := v.img.scans.defectsOf(l.Digest); len(entries) > 0 {
			out = append(out, LayerDefect{Layer: i + 1, Digest: l.Digest, Entries: entries, More: more})
		}
	}
	return out, nil
}

func cleanPath(p string) string { return path.Clean("/" + p) }

type mergedFS struct {
	layers []v1.Descriptor
	scans  []*layerScan
}

// need says that resolving a path requires (re)reading a layer, and what
// that read must capture.
type need struct {
	layer int
	paths map[string]spec
}

func (m *mergedFS) resolve(w Want) (*File, *need) {
	p := w.Path
	sp := spec{max: w.Max, tree: w.Tree}
	for hop := 0; ; hop++ {
		if hop > maxSymlinkHops {
			return &File{Path: w.Path, Resolved: p, Kind: Missing, Problem: "too many levels of symbolic links"}, nil
		}
		e, layer, nd := m.lookup(p, sp)
		if nd != nil {
			return nil, nd
		}
		if e == nil && p == "/" {
			// The root exists even when no layer has an entry for it.
			e = &found{kind: Dir, mode: 0o755}
			layer = 0
		}
		if e == nil {
			return &File{Path: w.Path, Resolved: p, Kind: Missing}, nil
		}
		if e.redirect != "" {
			p = e.redirect
			continue
		}
		if e.longLink {
			problem := fmt.Sprintf("link target longer than %d bytes", maxIndexableName)
			if e.kind == Symlink && w.NoFollow {
				return &File{Path: w.Path, Resolved: p, Kind: Symlink, Mode: e.mode, Problem: problem}, nil
			}
			return &File{Path: w.Path, Resolved: p, Kind: Missing, Problem: problem}, nil
		}
		if e.kind == Symlink && !w.NoFollow {
			p = resolveLink(path.Dir(p), e.linkname)
			continue
		}
		f := &File{Path: w.Path, Resolved: p, Kind: e.kind, Linkname: e.linkname, Size: e.size, Mode: e.mode}
		var s *layerScan
		if layer >= 0 && layer < len(m.scans) {
			s = m.scans[layer]
		}
		key := p
		if e.hardlink != "" {
			// A hard link names an earlier member of the same layer.
			key = e.hardlink
			t, ok := s.entries[key]
			switch {
			case !ok && !s.covers(key):
				return nil, &need{layer: layer, paths: map[string]spec{key: {max: w.Max}}}
			case !ok:
				return &File{Path: w.Path, Resolved: p, Kind: Missing, Problem: "hard link to " + key + ", which its layer does not hold"}, nil
			case !t.hasContent():
				return &File{Path: w.Path, Resolved: p, Kind: Missing, Problem: "hard link to " + key + ", which is a " + t.kind.String()}, nil
			}
			f.Size = t.size
		}
		if e.kind == Regular && w.Max > 0 {
			data, ok := s.content[key]
			if !ok || (int64(len(data)) < w.Max && int64(len(data)) < f.Size) {
				return nil, &need{layer: layer, paths: map[string]spec{key: {max: w.Max}}}
			}
			if int64(len(data)) > w.Max {
				data = data[:w.Max]
			}
			f.Data, f.Truncated = data, int64(len(data)) < f.Size
		}
		if w.Tree && e.kind == Dir {
			bottom := layer
			if p == "/" {
				bottom = 0
			}
			tree, nd := m.tree(p, bottom, sp)
			if nd != nil {
				return nil, nd
			}
			f.Tree = tree
		}
		return f, nil
	}
}

// resolveLink resolves a symlink target relative to dir, inside the image
// root: ".." never climbs above "/".
func resolveLink(dir, target string) string {
	if strings.HasPrefix(target, "/") {
		return cleanPath(target)
	}
	return cleanPath(dir + "/" + target)
}

// found is a lookup result: an entry, or a redirect through a symlinked
// ancestor directory.
type found struct {
	kind     Kind
	linkname string
	hardlink string
	size     int64
	mode     int64
	longLink bool
	redirect string
}

// lookup finds p in the merged view of the layers read so far. It returns
// the entry and its layer, nil for a missing path, or a need.
func (m *mergedFS) lookup(p string, sp spec) (*found, int, *need) {
	// dirAbove records ancestors that an upper layer made directories: a
	// lower layer's non-directory there is hidden, and so is all below it.
	dirAbove := map[string]bool{}
	for l := len(m.layers) - 1; l >= 0; l-- {
		s := m.scans[l]
		if s == nil || !s.covers(p) {
			return nil, 0, &need{layer: l, paths: map[string]spec{p: sp}}
		}
		// An ancestor that is not a directory in this layer decides.
		for _, a := range ancestors(p) {
			e, ok := s.entries[a]
			if ok && e.kind == Dir {
				dirAbove[a] = true
			}
			if ok && e.kind != Dir {
				if dirAbove[a] {
					return nil, l, nil
				}
				if e.kind == Symlink && e.longLink {
					return &found{kind: Missing, longLink: true}, l, nil
				}
				if e.kind == Symlink {
					return &found{redirect: cleanPath(resolveLink(path.Dir(a), e.linkname) + "/" + strings.TrimPrefix(p, a))}, l, nil
				}
				return nil, l, nil
			}
		}
		if e, ok := s.entries[p]; ok {
			return &found{kind: e.kind, linkname: e.linkname, hardlink: e.hardlink, size: e.size, mode: e.mode, longLink: e.longLink}, l, nil
		}
		if s.hides(p) {
			return nil, l, nil
		}
	}
	return nil, 0, nil
}

// tree merges the entries below dir from the top layer down to bottom, or
// to the first layer that hides what lies below it (an opaque or deleted
// dir). Every layer it lists must have been read to the end.
func (m *mergedFS) tree(dir string, bottom int, sp spec) ([]Entry, *need) {
	prefix := dir + "/"
	if dir == "/" {
		prefix = "/"
	}
	seen := map[string]bool{}
	out := []Entry{}
	for l := len(m.layers) - 1; l >= bottom; l-- {
		s := m.scans[l]
		if s == nil || !s.coversTree(dir) {
			return nil, &need{layer: l, paths: map[string]spec{dir: sp}}
		}
		for p, e := range s.entries {
			if p == dir || !strings.HasPrefix(p, prefix) || seen[p] {
				continue
			}
			seen[p] = true
			if !m.hiddenAbove(dir, p, l) {
				out = append(out, Entry{Path: p, Kind: e.kind, Linkname: e.linkname})
			}
		}
		if s.closes(dir) {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// hiddenAbove reports whether a layer above l deletes p, or holds a
// non-directory between dir and p.
func (m *mergedFS) hiddenAbove(dir, p string, l int) bool {
	for u := l + 1; u < len(m.layers); u++ {
		s := m.scans[u]
		if s.hides(p) {
			return true
		}
		for _, a := range ancestors(p) {
			if len(a) <= len(dir) {
				continue
			}
			if e, ok := s.entries[a]; ok && e.kind != Dir {
				return true
			}
		}
	}
	return false
}

// ancestors returns the proper ancestors of p below "/", outermost first.
func ancestors(p string) []string {
	var out []string
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}
