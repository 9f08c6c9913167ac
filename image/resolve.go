package image

import (
	"fmt"
	"path"
	"strings"
)

// resolve finds what the merged file system holds at w.Path, walking the
// path one component at a time as the kernel does inside the container's
// root (Docker Desktop reads the files through it):
//
//   - a symlink met on the way, as a directory or at the end (unless
//     w.NoFollow), is replaced by its target, and the walk goes on with the
//     target's components followed by those that remained;
//   - ".." goes to the parent of the directory reached so far, which is
//     already resolved: with d -> a/b, "d/../x" is /a/x, not /x. The parent
//     of the root is the root, so nothing resolves outside the image;
//   - an absolute target starts again at the root;
//   - a component that is missing, or not a directory, before ".." or a
//     trailing slash ends the walk: the path is missing;
//   - more than maxSymlinkHops symlinks end it too (ELOOP).
//
// w.Path itself is cleaned lexically first (Files does that, as Docker's
// FollowSymlinkInScope does). Each step looks up the components up to the
// next ".." at once in the merged view, so a step asks only for the layers
// that decide that path; a step that needs a layer not read yet (or read
// without what it must capture) returns a need of that layer instead.
func (m *mergedFS) resolve(w Want) (*File, *need) {
	wk := walk{cur: "/", rest: components(w.Path)}
	for steps := 1; ; steps++ {
		wk.climb()
		n := wk.step()
		q, final := joinPath(wk.cur, wk.rest[:n]), n == len(wk.rest)
		missing := &File{Path: w.Path, Resolved: q, Kind: Missing}
		if steps > maxWalkSteps {
			missing.Problem = fmt.Sprintf("more than %d steps to resolve", maxWalkSteps)
			return missing, nil
		}
		// The root is a directory whatever the layers say, and needs no
		// layer read (a tree of it reads the layers it lists).
		e, layer := &found{kind: Dir, mode: 0o755, at: "/"}, 0
		if q != "/" {
			var sp spec // what a layer read must capture at q
			if final {
				sp.max = w.Max
			}
			var nd *need
			e, layer, nd = m.lookup(q, sp)
			if nd != nil {
				return nil, nd
			}
		}
		switch {
		case e == nil:
			return missing, nil
		case e.at != q || e.kind == Symlink && (!final || !w.NoFollow):
			// A symlink in an ancestor is always followed; one at q when
			// components remain (".." or a trailing slash) or unless NoFollow.
			if e.longLink {
				missing.Problem = longLinkProblem
				return missing, nil
			}
			after := append(components(strings.TrimPrefix(q, e.at)), wk.rest[n:]...)
			if problem := wk.follow(e.at, e.linkname, after); problem != "" {
				missing.Resolved, missing.Problem = wk.next(), problem
				return missing, nil
			}
		case !final && e.kind != Dir:
			return missing, nil // not a directory
		case !final:
			wk.cur, wk.rest = q, wk.rest[n:]
		default:
			return m.file(w, q, e, layer)
		}
	}
}

// maxWalkSteps bounds the lookups of one walk (each follows a symlink, or
// goes on after a "..", or ends it). Each may need a layer read again, so a
// path of thousands of "x/.." must not cost thousands of reads. Docker's own
// resolution (FollowSymlinkInScope) gives up after 255 components, and each
// step consumes at least one.
const maxWalkSteps = 255

var longLinkProblem = fmt.Sprintf("link target longer than %d bytes", maxIndexableName)

// walk is the state of resolving one path.
type walk struct {
	// cur is the directory reached so far: a clean absolute path, resolved.
	cur string
	// rest are the components left, in order: none is empty, and "." is only
	// ever the last one (a trailing slash: what precedes must be a directory).
	rest []string
	// hops counts the symlinks followed.
	hops int
}

// climb applies the ".." and "." components at the front of rest to cur.
func (wk *walk) climb() {
	for len(wk.rest) > 0 && (wk.rest[0] == ".." || wk.rest[0] == ".") {
		if wk.rest[0] == ".." {
			wk.cur = path.Dir(wk.cur) // the root's parent is the root
		}
		wk.rest = wk.rest[1:]
	}
}

// step returns how many components of rest can be looked up together: those
// before the next ".." or ".", whose parent must be a resolved directory.
func (wk *walk) step() int {
	n := 0
	for n < len(wk.rest) && wk.rest[n] != ".." && wk.rest[n] != "." {
		n++
	}
	return n
}

// follow replaces the symlink at link by its target, followed by the
// components after it. It returns why the walk cannot go on, if it cannot.
func (wk *walk) follow(link, target string, after []string) string {
	if target == "" {
		return "symlink with an empty target" // ENOENT
	}
	wk.cur = path.Dir(link)
	if strings.HasPrefix(target, "/") {
		wk.cur = "/"
	}
	comps := components(target)
	if len(after) > 0 && len(comps) > 0 && comps[len(comps)-1] == "." {
		comps = comps[:len(comps)-1] // "dir/" + "x" is "dir/x"
	}
	wk.rest = append(comps, after...)
	wk.hops++
	if wk.hops > maxSymlinkHops {
		return "too many levels of symbolic links"
	}
	return ""
}

// next returns the path the walk looks up next: where the symlinks followed
// so far lead.
func (wk walk) next() string {
	wk.climb()
	return joinPath(wk.cur, wk.rest[:wk.step()])
}

// components splits p into its components, dropping empty ones and "."; a
// trailing slash or "." becomes a final ".".
func components(p string) []string {
	var out []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	if len(out) > 0 && (strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.")) {
		out = append(out, ".")
	}
	return out
}

// joinPath appends components that are neither empty, "." nor ".." to the
// clean absolute dir; the result is clean.
func joinPath(dir string, comps []string) string {
	if len(comps) == 0 {
		return dir
	}
	if dir == "/" {
		dir = ""
	}
	return dir + "/" + strings.Join(comps, "/")
}

// file is the File at the end of a walk: the entry e of layer at p, with
// what w asks of it (content, tree), or a need for them.
func (m *mergedFS) file(w Want, p string, e *found, layer int) (*File, *need) {
	if e.longLink {
		// A symlink with NoFollow, or a hard link to a name not kept.
		if e.kind == Symlink {
			return &File{Path: w.Path, Resolved: p, Kind: Symlink, Mode: e.mode, Problem: longLinkProblem}, nil
		}
		return &File{Path: w.Path, Resolved: p, Kind: Missing, Problem: longLinkProblem}, nil
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
		tree, truncated, nd := m.tree(p, bottom, spec{max: w.Max, tree: true})
		if nd != nil {
			return nil, nd
		}
		f.Tree, f.TreeTruncated = tree, truncated
	}
	return f, nil
}
