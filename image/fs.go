package image

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
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
	// Path is an absolute path inside the image. It is cleaned lexically;
	// the symlinks met on it are then followed as the kernel follows them
	// inside the container, never leaving the image root ("d/../x" in a
	// target is x in the parent of where d leads).
	Path string
	// Max is how many bytes of a regular file's content to keep; 0 keeps none.
	Max int64
	// Tree asks for the entries below a directory, merged from the layers
	// that resolving Path reads: from the top down to the topmost layer
	// holding the directory itself (or one that makes it opaque). Those
	// layers are read to their end; lower layers are not read, so what they
	// add to the directory is not listed. The root lists every layer. The
	// listing is bounded (see File.TreeTruncated).
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
	// Mode is the file mode bits from the tar header (for the root, always
	// a directory, 0755).
	Mode int64
	// Problem explains a path that cannot be resolved (a symlink loop, a
	// symlink to "", a hard link to nothing).
	Problem string
	// Tree lists the entries below a wanted directory (Want.Tree), at any
	// depth, sorted by path; symlinks in it are not followed.
	Tree []Entry
	// TreeTruncated reports that Tree stops short: the directory holds more
	// than 200,000 entries, or more than 32 MiB of names (paths and link
	// targets), in the layers listed. Tree then holds the entries of the
	// upper layers and those of the layer where the bound was reached that
	// come first in path order; the layers below are not read for it.
	TreeTruncated bool
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
// fetched once per run as a rule: a second question about a layer already
// read is answered from memory or from the spool in Options.TempDir, or
// resumes a read that stopped early; only a blob read past spoolMax, or a
// partly read one let go past maxHeldStreams, is fetched again when a later
// question needs more of it.
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
	var sent []v1.Hash // requests this call sent ahead
	defer func() { v.img.scans.cool(sent) }()
	// Every round reads a layer with a question it could not answer before,
	// so the rounds are bounded; the limit only guards against a bug.
	limit := (len(m.Layers) + 1) * (len(wants) + 1) * (maxWalkSteps + 2)
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
		// The layers below may be needed next: send their requests now.
		sent = v.sendAhead(ctx, m, top, needs, round, sent)
		s, err := v.img.scans.scan(ctx, m.Layers[top], needs[top])
		var de *DigestError
		if errors.As(err, &de) {
			return nil, de.Of(v.PlatformString())
		}
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

// sendAhead sends the requests for layers below top, the layer about to be
// read for needs in the given round, and returns sent with the digests of
// those it sent. The layers that the history says a RUN step made, naming
// no path still wanted, are passed over by the read as a rule: every one of
// them, down to the first layer that may decide a wanted path, gets its
// request now (see layerSteps). Below that, and for images whose history
// cannot tell, warmDepth layers get theirs within the byte budget of a
// guess (scanCache.warmAhead), once the reads have gone past the top layer
// (which most often decides everything).
func (v *Variant) sendAhead(ctx context.Context, m *v1.Manifest, top int, needs map[int]map[string]spec, round int, sent []v1.Hash) []v1.Hash {
	var paths []string
	for _, ps := range needs {
		for p := range ps {
			paths = append(paths, p)
		}
	}
	steps := v.layerSteps(ctx, m, round > 0)
	hinting := steps != nil
	if hinting {
		// The layer about to be read must pass too: else the read may
		// well stop in it.
		cmd, ok := runCommand(steps[top])
		hinting = ok && passesOver(cmd, paths)
	}
	if !hinting && round == 0 {
		return sent
	}
	guessed, hintedSeen := 0, 0
	for l := top - 1; l >= 0 && guessed < warmDepth; l-- {
		d := m.Layers[l]
		hinted := false
		if hintedSeen++; hinting && hintedSeen > maxWarm {
			// No more can be in flight: the walk of an image of
			// thousands of layers stays short every round (and layers
			// that far below are no guess worth sending).
			break
		}
		if hinting {
			// The first layer that may decide a path is sent too, on the
			// same word: the read gets there.
			cmd, ok := runCommand(steps[l])
			hinting = ok && passesOver(cmd, paths) && d.Size < earlyStopMin
			hinted = true
		}
		if !hinted {
			if round == 0 {
				break
			}
			guessed++
		}
		if v.img.scans.warmAhead(ctx, d, hinted) {
			sent = append(sent, d.Digest)
		}
	}
	return sent
}

// warmDepth is how many layers below the one being read get their request
// sent ahead as a guess (scanCache.warmAhead).
const warmDepth = maxGuessed

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

// found is a lookup result: the entry at the path looked up, or the symlink
// in one of its ancestors that the walk must follow first.
type found struct {
	kind     Kind
	linkname string
	hardlink string
	size     int64
	mode     int64
	longLink bool
	// at is the path of the entry: the path looked up, or an ancestor.
	at string
}

// lookup finds p in the merged view of the layers read so far. It returns
// the entry and its layer (or the symlink in an ancestor of p that the
// topmost layer deciding p holds), nil for a missing path, or a need.
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
				if dirAbove[a] || e.kind != Symlink {
					return nil, l, nil
				}
				return &found{kind: Symlink, linkname: e.linkname, mode: e.mode, longLink: e.longLink, at: a}, l, nil
			}
		}
		if e, ok := s.entries[p]; ok {
			return &found{kind: e.kind, linkname: e.linkname, hardlink: e.hardlink, size: e.size, mode: e.mode, longLink: e.longLink, at: p}, l, nil
		}
		if s.hides(p) {
			return nil, l, nil
		}
	}
	return nil, 0, nil
}

// A wanted tree holds at most MaxTreeEntries entries and MaxTreeNameBytes
// bytes of names (paths and link targets), counted over all the layers it
// lists: without a bound, a UI root "/" over 6 layers of 1.5 M entries held
// all 9 M of them (4 GB of memory). Past either bound the listing stops
// (File.TreeTruncated) and the layers below are not read for it. The bounds
// are those of one layer's header index (maxIndexedEntries,
// maxIndexedNameBytes).
const (
	MaxTreeEntries   = 200_000
	MaxTreeNameBytes = 32 << 20
)

// tree merges the entries below dir from the top layer down to bottom, or
// to the first layer that hides what lies below it (an opaque or deleted
// dir), or until the listing reaches a bound; truncated reports the last.
// Every layer it lists must have been read to the end. A layer's entries are
// taken in path order, so that a truncated listing is the same every time.
func (m *mergedFS) tree(dir string, bottom int, sp spec) (out []Entry, truncated bool, nd *need) {
	prefix := dir + "/"
	if dir == "/" {
		prefix = "/"
	}
	listed := map[string]bool{}
	out = []Entry{}
	var names int64
	for l := len(m.layers) - 1; l >= bottom && !truncated; l-- {
		s := m.scans[l]
		if s == nil || !s.coversTree(dir) {
			return nil, false, &need{layer: l, paths: map[string]spec{dir: sp}}
		}
		paths := make([]string, 0, len(s.entries))
		for p := range s.entries {
			// An entry an upper layer hides is hidden from the layers
			// below too: only listed paths need remembering.
			if p != dir && strings.HasPrefix(p, prefix) && !listed[p] && !m.hiddenAbove(dir, p, l) {
				paths = append(paths, p)
			}
		}
		sort.Strings(paths)
		out = slices.Grow(out, min(len(paths), MaxTreeEntries-len(out)))
		for _, p := range paths {
			e := s.entries[p]
			n := int64(len(p) + len(e.linkname))
			if len(out) >= MaxTreeEntries || names+n > MaxTreeNameBytes {
				truncated = true
				break
			}
			out = append(out, Entry{Path: p, Kind: e.kind, Linkname: e.linkname})
			listed[p] = true
			names += n
		}
		if s.closes(dir) {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, truncated, nil
}

// hiddenAbove reports whether a layer above l deletes p, or holds a
// non-directory between dir and p.
func (m *mergedFS) hiddenAbove(dir, p string, l int) bool {
	for u := l + 1; u < len(m.layers); u++ {
		s := m.scans[u]
		if s.hides(p) {
			return true
		}
		// The ancestors of p below dir, without building a list for each p.
		for i := len(dir) + 1; i < len(p); i++ {
			if p[i] != '/' {
				continue
			}
			if e, ok := s.entries[p[:i]]; ok && e.kind != Dir {
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
