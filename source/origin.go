package source

import (
	"io/fs"
	"path"
	"strings"
)

// OriginKind says how sure a reading of the Dockerfile can be that its
// build puts something at a path of the image.
type OriginKind int

// Origin kinds, least sure first.
const (
	// Absent: no COPY, ADD or RUN of the target stage, or of the stages it
	// is built FROM, can put anything there (an external base image's own
	// files are not known, and not counted).
	Absent OriginKind = iota
	// Possible: only instructions whose output cannot be seen without
	// building may put it there: COPY --from a stage or an image (inside
	// the directory it copies), ADD of a URL or of a local archive, RUN,
	// or a COPY of a directory that, as read, lacks the file (or is not
	// there at all).
	Possible
	// Copied: a COPY or ADD from the build context or a here-document puts
	// it there, or a COPY --from names it as its destination (the build
	// fails when the source is missing).
	Copied
)

// Origin is what, in a build of the Dockerfile, puts a path in the image.
type Origin struct {
	Kind OriginKind
	// Copy is the last instruction that copies it (Kind Copied).
	Copy *Copy
	// ContextPath is the regular file of the build context that lands at
	// the path, slash-separated and relative to the context, when the last
	// copy from the context names one that exists; "" otherwise.
	ContextPath string
	// Inline is the here-document that provides the file, if one does.
	Inline *Heredoc
	// Candidates are the instructions that may put it there (Kind
	// Possible), in build order.
	Candidates []Candidate
}

// Candidate is an instruction that may produce a path.
type Candidate struct {
	// Instruction is how it is written, shortly: "COPY --from=build",
	// "ADD https://…", "RUN".
	Instruction string
	Line        int
}

// Origin says what puts the absolute path p in the image of the target
// stage. context is the build context; a source that is not in it (a
// partial checkout, a file generated before the build) is taken to be a
// file where its name says, or a directory that may hold anything: never
// as missing.
func (d *Dockerfile) Origin(p string, context fs.FS) Origin {
	p = path.Clean("/" + p)
	var o Origin
	for i := range d.Copies {
		c := &d.Copies[i]
		kind, ctxPath, inline := copyOrigin(c, p, context)
		switch kind {
		case Copied:
			o.Kind, o.Copy, o.ContextPath, o.Inline = Copied, c, ctxPath, inline
		case Possible:
			o.Candidates = append(o.Candidates, Candidate{Instruction: copyInstruction(c), Line: c.Line})
		}
	}
	if o.Kind == Copied {
		o.Candidates = nil
		return o
	}
	for _, r := range d.Runs {
		o.Candidates = append(o.Candidates, Candidate{Instruction: "RUN", Line: r.Line})
	}
	if len(o.Candidates) > 0 {
		o.Kind = Possible
	}
	sortCandidates(o.Candidates)
	return o
}

// sortCandidates orders candidates by line (COPY and RUN of one stage were
// gathered apart).
func sortCandidates(cs []Candidate) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Line < cs[j-1].Line; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// copyInstruction names a copy for a message.
func copyInstruction(c *Copy) string {
	switch {
	case c.From != "":
		return "COPY --from=" + c.From
	case c.Add:
		return "ADD"
	}
	return "COPY"
}

// copyOrigin says whether c puts something at p: Copied with the context
// file (or here-document) that lands there when known, Possible when c
// may, Absent when it does not.
func copyOrigin(c *Copy, p string, context fs.FS) (OriginKind, string, *Heredoc) {
	dest := c.DestPath()
	n := len(c.Sources) + len(c.Inline)
	dirDest := strings.HasSuffix(dest, "/") || n > 1
	dest = path.Clean(dest)
	for i := range c.Inline {
		h := &c.Inline[i]
		target := dest
		if dirDest {
			target = path.Join(dest, h.Name)
		}
		if p == target {
			return Copied, "", h
		}
	}
	if c.From != "" {
		switch {
		case p == dest:
			return Copied, "", nil
		case isUnder(p, dest):
			return Possible, "", nil
		}
		return Absent, "", nil
	}
	best := Absent
	for _, src := range c.Sources {
		kind, ctxPath := sourceOrigin(c, src, dest, dirDest, p, context)
		if kind == Copied && ctxPath != "" {
			return Copied, ctxPath, nil
		}
		best = max(best, kind)
	}
	return best, "", nil
}

// sourceOrigin is copyOrigin for one source of a COPY or ADD from the
// build context.
func sourceOrigin(c *Copy, src, dest string, dirDest bool, p string, context fs.FS) (OriginKind, string) {
	if c.Add && isRemote(src) {
		if p == dest || isUnder(p, dest) {
			return Possible, ""
		}
		return Absent, ""
	}
	if c.Add && isArchive(src) {
		// A local archive is unpacked at dest (when BuildKit recognises it).
		if p == dest || isUnder(p, dest) || p == path.Join(dest, path.Base(src)) {
			return Possible, ""
		}
		return Absent, ""
	}
	rel := contextPath(src)
	var matches []string
	if hasWildcard(rel) && context != nil {
		matches, _ = fs.Glob(context, rel)
	} else if context != nil {
		if _, err := fs.Stat(context, rel); err == nil {
			matches = []string{rel}
		}
	}
	if len(matches) == 0 {
		// Not in the context as read (a partial checkout, a file made
		// before the build): it lands where its name says, and when it may
		// be a directory, what it holds may be anywhere under dest.
		switch {
		case p == path.Join(dest, path.Base(rel)) || (!dirDest && p == dest):
			return Copied, ""
		case hasWildcard(rel) && path.Dir(p) == dest && matchBase(rel, p):
			return Copied, ""
		case (p == dest || isUnder(p, dest)) && mayBeDir(rel):
			return Possible, ""
		}
		return Absent, ""
	}
	best := Absent
	for _, m := range matches {
		st, err := fs.Stat(context, m)
		if err != nil {
			continue
		}
		if st.IsDir() {
			// The directory's contents land in dest.
			switch {
			case p == dest:
				return Copied, ""
			case isUnder(p, dest):
				inner := path.Join(m, strings.TrimPrefix(p, strings.TrimSuffix(dest, "/")+"/"))
				if st, err := fs.Stat(context, inner); err == nil {
					if st.Mode().IsRegular() {
						return Copied, inner
					}
					return Copied, ""
				}
				best = Possible // not there as read: it may be made before the build
			}
			continue
		}
		// A file lands at dest, or in it when dest is a directory (written
		// with a trailing slash, or one that an earlier step made).
		if p == path.Join(dest, path.Base(m)) || (!dirDest && p == dest) {
			return Copied, m
		}
	}
	return best, ""
}

// contextPath is a COPY source as a path relative to the build context:
// BuildKit reads "/x", "./x" and "x" alike, and nothing above the root.
func contextPath(src string) string {
	p := path.Clean("/" + src)
	if p == "/" {
		return "."
	}
	return strings.TrimPrefix(p, "/")
}

// isUnder reports whether p lies inside the directory dir.
func isUnder(p, dir string) bool {
	if dir == "/" {
		return p != "/"
	}
	return strings.HasPrefix(p, dir+"/")
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?[") }

// matchBase reports whether the last element of the pattern matches the
// last element of p.
func matchBase(pattern, p string) bool {
	ok, err := path.Match(path.Base(pattern), path.Base(p))
	return err == nil && ok
}

// mayBeDir says whether a source that is not in the context as read may be
// a directory: the context root, or a name without an extension (ui,
// dist, build); docker.svg or metadata.json are taken to be files.
func mayBeDir(rel string) bool {
	return rel == "." || path.Ext(path.Base(rel)) == ""
}

// isRemote reports an ADD source BuildKit fetches: a URL or a Git remote.
func isRemote(src string) bool {
	l := strings.ToLower(src)
	for _, prefix := range []string{"http://", "https://", "git://", "git@", "ssh://"} {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// isArchive reports a local ADD source that BuildKit may unpack.
func isArchive(src string) bool {
	l := strings.ToLower(src)
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst"} {
		if strings.HasSuffix(l, ext) {
			return true
		}
	}
	return false
}
