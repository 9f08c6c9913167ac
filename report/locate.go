package report

import (
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/docker/desktop-plugin-check/checks"
)

// Locate says where in the repository's own files a finding belongs, for
// annotations and SARIF locations. file is relative to the repository root
// with forward slashes; line counts from 1 (0 when there is no file).
//
//   - A finding about a label (Finding.Label) points at the Dockerfile line
//     where the final stage sets that label (following the stages it is
//     built FROM); when the final stage does not set it, at the final stage's
//     last LABEL instruction, else at its FROM line.
//   - A finding about metadata.json (Finding.Pointer) points at the line of
//     the value the JSON pointer names; when the pointer does not resolve, at
//     its deepest existing ancestor. A finding about the file /metadata.json
//     as a whole (Path, no pointer) points at line 1.
//   - Any other finding, or one whose file is absent, has no file.
//
// Locate never fails: unparsable files give line 1.
func Locate(src *Sources, f checks.Finding) (file string, line int) {
	if src == nil {
		return "", 0
	}
	switch {
	case f.Label != "":
		if src.Dockerfile == nil || src.DockerfilePath == "" {
			return "", 0
		}
		return repoPath(src.DockerfilePath), src.dockerfileOnce().labelLine(f.Label)
	case f.Pointer != "" || f.Path == "/metadata.json":
		if src.Metadata == nil || src.MetadataPath == "" {
			return "", 0
		}
		return repoPath(src.MetadataPath), src.pointerLineOnce(f.Pointer)
	}
	return "", 0
}

// repoPath cleans a path relative to the repository root ("./Dockerfile" is
// "Dockerfile") and uses forward slashes.
func repoPath(p string) string {
	p = path.Clean(strings.ReplaceAll(p, `\`, "/"))
	return strings.TrimPrefix(p, "./")
}

// Dockerfile

// dockerfile is what Locate needs of a Dockerfile: its stages.
type dockerfile struct {
	stages []stage
	// escape is the escape character: \ or, by directive, `.
	escape byte
}

type stage struct {
	// name is the stage's AS name, lower case ("" for none); base the image
	// it is built FROM, lower case.
	name, base string
	// from is the line of the FROM instruction.
	from int
	// labels are the label keys the stage sets, with the line of each
	// key, in order; lastLabel is the first line of its last LABEL
	// instruction (0 for none).
	labels    []labelAt
	lastLabel int
}

type labelAt struct {
	key  string
	line int
}

// labelLine is the line for a finding about the label key: see Locate.
func (d *dockerfile) labelLine(key string) int {
	if len(d.stages) == 0 {
		return 1
	}
	final := len(d.stages) - 1
	// Follow the final stage to the earlier stages it is built FROM; the
	// first (nearest) one that sets the label holds the value the image has.
	for i := final; i >= 0; {
		st := d.stages[i]
		for j := len(st.labels) - 1; j >= 0; j-- {
			if st.labels[j].key == key {
				return st.labels[j].line
			}
		}
		i = d.parent(i)
	}
	if l := d.stages[final].lastLabel; l > 0 {
		return l
	}
	return d.stages[final].from
}

// parent is the index of the earlier stage stage i is built FROM, or -1.
func (d *dockerfile) parent(i int) int {
	base := d.stages[i].base
	for j := i - 1; j >= 0; j-- {
		if d.stages[j].name != "" && d.stages[j].name == base {
			return j
		}
	}
	return -1
}

// segment is a part of a logical line with the physical line it comes from.
type segment struct {
	off  int // offset in the logical line
	line int
}

// logicalLine is one instruction, its continuation lines joined.
type logicalLine struct {
	text     string
	segments []segment
}

// lineAt is the physical line of the byte at offset off of the logical line.
func (l *logicalLine) lineAt(off int) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].off > off }) - 1
	if i < 0 {
		i = 0
	}
	return l.segments[i].line
}

var (
	// reDirective is a parser directive ("# escape=`"), BuildKit's
	// reDirective.
	reDirective = regexp.MustCompile(`^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$`)
	// reHeredoc is a word that opens a heredoc ("<<EOF", "<<-'EOF'",
	// "3<<EOF"), BuildKit's reHeredoc.
	reHeredoc = regexp.MustCompile(`^(\d*)<<(-?)([^<]*)$`)
)

// parseDockerfile reads the stages, their FROM lines and their labels, as
// BuildKit's parser does: the escape directive, line continuations (escape
// character and trailing blanks at the end of a line), comment and empty
// lines inside continuations, and heredoc bodies of RUN, COPY and ADD (which
// are skipped). It never fails; what it cannot read it ignores.
func parseDockerfile(data []byte) *dockerfile {
	d := &dockerfile{escape: '\\'}
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 {
		lines[0] = strings.TrimPrefix(lines[0], "\uFEFF")
	}
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
	}
	i := 0
	// Parser directives: only before any instruction, comment or blank line.
	for ; i < len(lines); i++ {
		m := reDirective.FindStringSubmatch(lines[i])
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") && (m[2] == "`" || m[2] == `\`) {
			d.escape = m[2][0]
		}
	}
	for i < len(lines) {
		first := strings.TrimLeftFunc(lines[i], unicode.IsSpace)
		if first == "" || first[0] == '#' {
			i++
			continue
		}
		// Offsets in the first segment are relative to the trimmed line,
		// which is fine: only lines are reported.
		ll := logicalLine{segments: []segment{{off: 0, line: i + 1}}}
		var text strings.Builder
		part, more := trimContinuation(first, d.escape)
		text.WriteString(part)
		i++
		for more && i < len(lines) {
			raw := lines[i]
			trimmed := strings.TrimLeftFunc(raw, unicode.IsSpace)
			if trimmed == "" || trimmed[0] == '#' {
				i++
				continue
			}
			part, more = trimContinuation(raw, d.escape)
			ll.segments = append(ll.segments, segment{off: text.Len(), line: i + 1})
			text.WriteString(part)
			i++
		}
		ll.text = text.String()
		i = d.instruction(&ll, lines, i)
	}
	return d
}

// trimContinuation removes the escape character (and blanks after it) that
// continues a line, and says whether it did.
func trimContinuation(line string, escape byte) (string, bool) {
	t := strings.TrimRight(line, " \t")
	if strings.HasSuffix(t, string(escape)) {
		return t[:len(t)-1], true
	}
	return line, false
}

// instruction records a FROM or LABEL instruction and skips the heredoc
// bodies an instruction opens; it returns the index of the next line to read.
func (d *dockerfile) instruction(ll *logicalLine, lines []string, next int) int {
	text := ll.text
	cmdEnd := strings.IndexFunc(text, unicode.IsSpace)
	if cmdEnd < 0 {
		cmdEnd = len(text)
	}
	cmd := strings.ToUpper(text[:cmdEnd])
	switch cmd {
	case "FROM":
		d.from(ll, cmdEnd)
	case "LABEL":
		if len(d.stages) > 0 {
			d.label(ll, cmdEnd)
		}
	case "RUN", "COPY", "ADD":
		next = d.skipHeredocs(text[cmdEnd:], lines, next)
	}
	return next
}

// skipHeredocs skips the bodies of the heredocs that the arguments args of
// an instruction open, in order; it returns the index of the next line to
// read. A heredoc without its terminating line is not skipped (BuildKit would
// reject the file; this way the rest of it is still read).
func (d *dockerfile) skipHeredocs(args string, lines []string, next int) int {
	for _, w := range parseWords(args, 0, d.escape) {
		m := reHeredoc.FindStringSubmatch(w.text)
		if m == nil {
			continue
		}
		name := unquote(m[3], d.escape)
		if name == "" {
			continue
		}
		for j := next; j < len(lines); j++ {
			l := lines[j]
			if m[2] == "-" {
				l = strings.TrimLeft(l, "\t")
			}
			if l == name {
				next = j + 1
				break
			}
		}
	}
	return next
}

func (d *dockerfile) from(ll *logicalLine, cmdEnd int) {
	var args []string
	for _, w := range parseWords(ll.text[cmdEnd:], 0, d.escape) {
		if strings.HasPrefix(w.text, "--") {
			continue // --platform=...
		}
		args = append(args, w.text)
	}
	st := stage{from: ll.segments[0].line}
	if len(args) > 0 {
		st.base = strings.ToLower(args[0])
	}
	if len(args) >= 3 && strings.EqualFold(args[1], "as") {
		st.name = strings.ToLower(args[2])
	}
	d.stages = append(d.stages, st)
}

// label records the keys of a LABEL instruction: "key=value ..." pairs, or
// the legacy "key value" form when the first word has no "=" (BuildKit's
// parseNameVal). Keys are unquoted as the shell lexer would.
func (d *dockerfile) label(ll *logicalLine, cmdEnd int) {
	st := &d.stages[len(d.stages)-1]
	st.lastLabel = ll.segments[0].line
	words := parseWords(ll.text[cmdEnd:], cmdEnd, d.escape)
	if len(words) == 0 {
		return
	}
	if !strings.Contains(words[0].text, "=") {
		st.labels = append(st.labels, labelAt{key: unquote(words[0].text, d.escape), line: ll.lineAt(words[0].off)})
		return
	}
	for _, w := range words {
		k, _, ok := strings.Cut(w.text, "=")
		if !ok {
			continue // a syntax error for BuildKit; skip the word
		}
		st.labels = append(st.labels, labelAt{key: unquote(k, d.escape), line: ll.lineAt(w.off)})
	}
}

type word struct {
	text string
	off  int // offset of the word's first byte in the logical line
}

// parseWords splits s into words at blanks outside quotes, as BuildKit's
// parseWords does, keeping quotes and escapes in the words. base is the
// offset of s in its logical line. The escape character inside words only
// matters for keeping an escaped quote or blank inside the word.
func parseWords(s string, base int, escape byte) []word {
	var words []word
	var cur strings.Builder
	start := -1
	var quote byte
	flush := func() {
		if start >= 0 {
			words = append(words, word{text: cur.String(), off: base + start})
		}
		cur.Reset()
		start = -1
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if quote == 0 && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
			flush()
			continue
		}
		if start < 0 {
			start = i
		}
		switch {
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote != 0 && c == quote:
			quote = 0
		case c == escape && quote != '\'' && i+1 < len(s):
			cur.WriteByte(c)
			i++
			c = s[i]
		}
		cur.WriteByte(c)
	}
	flush()
	return words
}

// unquote removes the quotes and escapes of a shell word ("a.b" is a.b,
// 'a' is a, \" is " with the escape character \).
func unquote(w string, escape byte) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote != 0 && c == quote:
			quote = 0
		case c == escape && quote != '\'' && i+1 < len(w):
			i++
			b.WriteByte(w[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// JSON pointer

// pointerLine is the line of the value the RFC 6901 pointer names in the
// JSON document data: for an object member the line of its key, for an
// array element the line where it starts. When the pointer does not resolve
// it is the line of the deepest ancestor that exists; on invalid JSON, the
// deepest ancestor read before the error, else line 1. With duplicate keys
// the last one counts, as in encoding/json.
func pointerLine(data []byte, pointer string) int {
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
