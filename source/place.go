package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Sources are a plugin repository's own files that findings are placed on
// (annotations, SARIF locations, the check run): the Dockerfile and
// metadata.json, each with its path relative to the repository root.
type Sources struct {
	// DockerfilePath is the Dockerfile's path relative to the repository
	// root ("Dockerfile"); Dockerfile its content (nil when absent).
	DockerfilePath string
	Dockerfile     []byte
	// MetadataPath is metadata.json's path relative to the repository root;
	// Metadata its content (nil when absent).
	MetadataPath string
	Metadata     []byte
	// Options are the build's options (target stage, build arguments) that
	// label findings are placed with; the default builds the last stage.
	Options DockerfileOptions

	// Parsed once, for all findings.
	mu     sync.Mutex
	parsed bool
	df     *Dockerfile
	lines  map[string]int
}

// Location is where in a repository file a finding sits: File relative to
// the repository root with forward slashes, Line and Column from 1 (0 when
// not known; File "" when the finding has no file).
type Location struct {
	File         string
	Line, Column int
}

// Locate says where a finding about an image label, a metadata.json JSON
// pointer or the file /metadata.json (path) belongs:
//
//   - a label points at the key in the Dockerfile's final stage that sets
//     it (following the stages it is built FROM), as BuildKit reads the
//     Dockerfile; when no stage sets it, at the final stage's last LABEL
//     instruction, else at its FROM line; on a Dockerfile BuildKit cannot
//     parse, at line 1;
//   - a pointer points at the line of the value it names in metadata.json;
//     when it does not resolve, at its deepest existing ancestor; the file
//     /metadata.json as a whole (path, no pointer) at line 1, or, when it
//     is not JSON, at the line where it stops being JSON;
//   - anything else, or a finding whose file is absent, has no file.
//
// Locate never fails.
func (s *Sources) Locate(label, pointer, imagePath string) Location {
	if s == nil {
		return Location{}
	}
	switch {
	case label != "":
		if s.Dockerfile == nil || s.DockerfilePath == "" {
			return Location{}
		}
		line, col := s.labelPosition(label)
		return Location{File: repoPath(s.DockerfilePath), Line: line, Column: col}
	case pointer != "" || imagePath == "/metadata.json":
		if s.Metadata == nil || s.MetadataPath == "" {
			return Location{}
		}
		return Location{File: repoPath(s.MetadataPath), Line: s.pointerLine(pointer)}
	}
	return Location{}
}

// Fallback is where a finding that Locate places nowhere goes when a file
// is required (upload-sarif rejects SARIF results without a location): the
// Dockerfile's final FROM line (line 1 when BuildKit cannot parse it), else
// metadata.json's first line when only it was read; no file without either.
func (s *Sources) Fallback() Location {
	if s == nil {
		return Location{}
	}
	switch {
	case s.Dockerfile == nil && s.Metadata != nil && s.MetadataPath != "":
		return Location{File: repoPath(s.MetadataPath), Line: 1}
	case s.DockerfilePath != "":
		line := 1
		if df := s.dockerfile(); df != nil {
			line = df.Final().Line
		}
		return Location{File: repoPath(s.DockerfilePath), Line: line}
	case s.MetadataPath != "":
		return Location{File: repoPath(s.MetadataPath), Line: 1}
	}
	return Location{}
}

// dockerfile returns the parsed Dockerfile, nil when BuildKit would refuse
// it; parsed on first use.
func (s *Sources) dockerfile() *Dockerfile {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.parsed {
		s.parsed = true
		if df, err := ParseDockerfile(bytes.NewReader(s.Dockerfile), s.Options); err == nil && len(df.Stages) > 0 {
			s.df = df
		}
	}
	return s.df
}

// labelPosition is the line and column for a finding about the label key.
func (s *Sources) labelPosition(key string) (int, int) {
	df := s.dockerfile()
	if df == nil {
		return 1, 0
	}
	if l, ok := df.Labels[key]; ok {
		return l.Line, l.Column
	}
	if own := df.Final().Labels; len(own) > 0 {
		return own[len(own)-1].Instruction, 0
	}
	return df.Final().Line, 0
}

// pointerLine returns metadata.json's line for a JSON pointer, memoised.
func (s *Sources) pointerLine(ptr string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if line, ok := s.lines[ptr]; ok {
		return line
	}
	if s.lines == nil {
		s.lines = map[string]int{}
	}
	line := PointerLine(s.Metadata, ptr)
	if ptr == "" {
		line = SyntaxErrorLine(s.Metadata, line)
	}
	s.lines[ptr] = line
	return line
}

// repoPath cleans a path relative to the repository root ("./Dockerfile" is
// "Dockerfile") and uses forward slashes.
func repoPath(p string) string {
	p = path.Clean(strings.ReplaceAll(p, `\`, "/"))
	return strings.TrimPrefix(p, "./")
}

// PointerLine is the line of the value the RFC 6901 pointer names in the
// JSON document data: for an object member the line of its key, for an
// array element the line where it starts. When the pointer does not resolve
// it is the line of the deepest ancestor that exists; on invalid JSON, the
// deepest ancestor read before the error, else line 1. With duplicate keys
// the last one counts, as in encoding/json.
func PointerLine(data []byte, pointer string) int {
	segs, ok := splitPointer(pointer)
	if !ok {
		return 1
	}
	lines := newLineIndex(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()

	type frame struct {
		object    bool
		matched   bool // the container's own path is a prefix of the pointer
		index     int  // next element index (arrays)
		wantKey   bool // objects: the next token is a key or '}'
		key       string
		keyOffset int64
	}
	var stack []*frame
	best := 1
	for {
		off := nextTokenOffset(data, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return best // io.EOF after a complete document, or invalid JSON
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			if top == nil {
				return best
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return best // the document is complete
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			k, _ := tok.(string)
			top.key, top.keyOffset, top.wantKey = k, off, false
			continue
		}
		// tok starts a value at depth len(stack).
		depth := len(stack)
		matched := false
		line := 0
		switch {
		case top == nil:
			matched, line = true, lines.at(off)
		case top.matched && depth <= len(segs):
			if top.object {
				matched, line = top.key == segs[depth-1], lines.at(top.keyOffset)
			} else {
				matched, line = segs[depth-1] == strconv.Itoa(top.index), lines.at(off)
			}
		}
		if matched {
			best = line
		}
		if top != nil {
			if top.object {
				top.wantKey = true
			} else {
				top.index++
			}
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{object: d == '{', matched: matched, wantKey: d == '{'})
			continue
		}
		if top == nil {
			return best // a scalar document
		}
	}
}

// SyntaxErrorLine is the line where data stops being JSON (the line of
// the first offending byte, or the last line when the document is cut
// short); valid JSON gets def.
func SyntaxErrorLine(data []byte, def int) int {
	var v any
	err := json.Unmarshal(data, &v)
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		return def // JSON, or too deep to matter here
	}
	off := syn.Offset - 1 // the offset is just after the offending byte
	// A document cut short ends on its last line that is not blank.
	end := int64(len(bytes.TrimRight(data, " \t\r\n")))
	return newLineIndex(data).at(min(max(off, 0), max(end-1, 0)))
}

// splitPointer splits an RFC 6901 JSON pointer into unescaped reference
// tokens ("" is the whole document).
func splitPointer(p string) ([]string, bool) {
	if p == "" {
		return nil, true
	}
	if p[0] != '/' {
		return nil, false
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return segs, true
}

// nextTokenOffset skips the blanks and separators after off: the offset
// where the decoder's next token starts.
func nextTokenOffset(data []byte, off int64) int64 {
	for off < int64(len(data)) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ':', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// lineIndex maps byte offsets to 1-based line numbers.
type lineIndex []int // offsets of the newlines

func newLineIndex(data []byte) lineIndex {
	var idx lineIndex
	for i, c := range data {
		if c == '\n' {
			idx = append(idx, i)
		}
	}
	return idx
}

func (idx lineIndex) at(off int64) int {
	return sort.Search(len(idx), func(i int) bool { return int64(idx[i]) >= off }) + 1
}
