package allowlist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The allow-list file is a list of entries, each a mapping with a
// repository key naming a Docker Hub repository, in YAML:
//
//	- repository: acme/plugin
//	- repository: other/tool
//
// or in JSON:
//
//	[{"repository": "acme/plugin"}, {"repository": "other/tool"}]
//
// Entries may carry other keys, which are kept and ignored. A top-level
// mapping (a list under some key) is not accepted: DESIGN section 9 defines
// the file as a list, and guessing the key could read the wrong list and
// wrongly report a plugin as listed.

// repositoryPattern is a Docker Hub repository, NAMESPACE/NAME, after
// normalisation. Only these names are put in markers, branch names, titles
// and allow-list entries.
var repositoryPattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*/[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// normalizeRepository lower-cases a Hub repository name and drops a
// docker.io/, index.docker.io/ or registry-1.docker.io/ prefix, so that the
// names in the allow-list and in the request compare equal.
func normalizeRepository(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, p := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		if strings.HasPrefix(s, p) {
			return s[len(p):]
		}
	}
	return s
}

// parseRepository normalises and validates the plugin's Hub repository.
func parseRepository(s string) (string, error) {
	r := normalizeRepository(s)
	if !repositoryPattern.MatchString(r) {
		return "", fmt.Errorf("repository %q is not a Docker Hub repository NAMESPACE/NAME", s)
	}
	return r, nil
}

// Formats of the allow-list file.
const (
	formatYAML = "yaml"
	formatJSON = "json"
)

// fileFormat decides how the allow-list file is written: by its extension,
// else by its content (a JSON array is JSON, anything else YAML).
func fileFormat(name string, content []byte) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".json":
		return formatJSON
	case ".yaml", ".yml":
		return formatYAML
	}
	if t := bytes.TrimSpace(content); len(t) > 0 && t[0] == '[' && json.Valid(t) {
		return formatJSON
	}
	return formatYAML
}

// parseList returns the normalised repositories the allow-list file names.
// An empty file (or one holding only YAML comments) is an empty list.
func parseList(name string, content []byte) ([]string, error) {
	if fileFormat(name, content) == formatJSON {
		return parseJSONList(name, content)
	}
	_, seq, err := parseYAMLList(name, content)
	if err != nil {
		return nil, err
	}
	var out []string
	if seq == nil {
		return out, nil
	}
	for _, item := range seq.Content {
		r, err := yamlEntry(name, item)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// parseJSONList reads a JSON allow-list.
func parseJSONList(name string, content []byte) ([]string, error) {
	var entries []map[string]any
	if len(bytes.TrimSpace(content)) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(content, &entries); err != nil {
		return nil, fmt.Errorf("reading %s: want a JSON list of {\"repository\": \"NAMESPACE/NAME\"}: %w", name, err)
	}
	out := make([]string, 0, len(entries))
	for i, e := range entries {
		r, ok := e["repository"].(string)
		if !ok {
			return nil, fmt.Errorf("reading %s: entry %d has no \"repository\" string", name, i+1)
		}
		out = append(out, normalizeRepository(r))
	}
	return out, nil
}

// parseYAMLList parses a YAML allow-list and returns its document node and
// the list (nil when the file is empty).
func parseYAMLList(name string, content []byte) (*yaml.Node, *yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("reading %s: want one YAML document, found more", name)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return &doc, nil, nil
	}
	seq := doc.Content[0]
	if seq.Kind == yaml.ScalarNode && seq.Tag == "!!null" {
		return &doc, nil, nil
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("reading %s: line %d: want a list of {repository: NAMESPACE/NAME}", name, seq.Line)
	}
	return &doc, seq, nil
}

// yamlEntry returns the normalised repository of one YAML list entry.
func yamlEntry(name string, item *yaml.Node) (string, error) {
	if item.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if k.Value == "repository" && v.Kind == yaml.ScalarNode {
				return normalizeRepository(v.Value), nil
			}
		}
	}
	return "", fmt.Errorf("reading %s: line %d: an entry needs repository: NAMESPACE/NAME", name, item.Line)
}

// addEntry returns the allow-list file with an entry for repo appended,
// keeping its format and, as far as it can, its text: a YAML block list
// gets one line appended (comments, quoting and order stay as they are);
// a JSON array gets the entry inserted after its last element in the
// indentation of that element. Other YAML layouts (a flow list "[...]", an
// empty file) are re-encoded from the parsed document, which keeps its
// comments. The result is parsed again and must list exactly the old
// entries plus repo.
func addEntry(name string, content []byte, repo string) ([]byte, error) {
	old, err := parseList(name, content)
	if err != nil {
		return nil, err
	}
	var out []byte
	if fileFormat(name, content) == formatJSON {
		out, err = addJSONEntry(name, content, repo)
	} else {
		out, err = addYAMLEntry(name, content, repo)
	}
	if err != nil {
		return nil, err
	}
	got, err := parseList(name, out)
	if err != nil {
		return nil, fmt.Errorf("adding %s to %s: the result does not parse: %w", repo, name, err)
	}
	want := append(append([]string(nil), old...), repo)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		return nil, fmt.Errorf("adding %s to %s: the result does not list the old entries and the new one", repo, name)
	}
	return out, nil
}

// blockItemPrefix matches the text before the first key of a block list
// item: its indentation, the dash and the spaces after it.
var blockItemPrefix = regexp.MustCompile(`^( *)-( +)$`)

// addYAMLEntry appends repo to a YAML allow-list.
func addYAMLEntry(name string, content []byte, repo string) ([]byte, error) {
	doc, seq, err := parseYAMLList(name, content)
	if err != nil {
		return nil, err
	}
	nl := "\n"
	if bytes.Contains(content, []byte("\r\n")) {
		nl = "\r\n"
	}
	// The dash, its indentation and the gap after it: those of the first
	// item of a block list, none for an empty file.
	indent, gap, ok := "", " ", seq == nil
	if seq != nil && seq.Style&yaml.FlowStyle == 0 && len(seq.Content) > 0 {
		first := seq.Content[0]
		lines := strings.Split(string(content), "\n")
		if first.Line >= 1 && first.Line <= len(lines) {
			line := strings.TrimSuffix(lines[first.Line-1], "\r")
			if first.Column >= 1 && first.Column-1 <= len(line) {
				if m := blockItemPrefix.FindStringSubmatch(line[:first.Column-1]); m != nil {
					indent, gap, ok = m[1], m[2], true
				}
			}
		}
	}
	if ok {
		out := append([]byte(nil), content...)
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, nl...)
		}
		out = append(out, indent+"-"+gap+"repository: "+repo+nl...)
		n := 0
		if seq != nil {
			n = len(seq.Content)
		}
		if got, err := parseList(name, out); err == nil && len(got) == n+1 {
			return out, nil
		}
	}
	return reencodeYAML(doc, seq, repo, nl)
}

// reencodeYAML appends repo to the parsed list and encodes the document
// again (yaml.v3 keeps comments); an empty or flow-style list becomes a
// block list.
func reencodeYAML(doc, seq *yaml.Node, repo, nl string) ([]byte, error) {
	entry := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "repository"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: repo},
	}}
	switch {
	case doc == nil || doc.Kind != yaml.DocumentNode:
		doc = &yaml.Node{Kind: yaml.DocumentNode}
		fallthrough
	case seq == nil:
		seq = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		// Comments of an empty or null document move to the new list.
		if len(doc.Content) > 0 {
			old := doc.Content[0]
			seq.HeadComment, seq.LineComment, seq.FootComment = old.HeadComment, old.LineComment, old.FootComment
		}
		doc.Content = []*yaml.Node{seq}
	}
	seq.Style &^= yaml.FlowStyle
	seq.Content = append(seq.Content, entry)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encoding the allow-list: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding the allow-list: %w", err)
	}
	out := b.Bytes()
	if nl != "\n" {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte(nl))
	}
	return out, nil
}

// addJSONEntry inserts repo after the last element of a JSON allow-list,
// in the style of that element.
func addJSONEntry(name string, content []byte, repo string) ([]byte, error) {
	q, _ := json.Marshal(repo)
	nl := "\n"
	if bytes.Contains(content, []byte("\r\n")) {
		nl = "\r\n"
	}
	if len(bytes.TrimSpace(content)) == 0 {
		return []byte("[" + nl + `  {"repository": ` + string(q) + "}" + nl + "]" + nl), nil
	}
	dec := json.NewDecoder(bytes.NewReader(content))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("reading %s: want a JSON list", name)
	}
	open := int(dec.InputOffset()) // just after "["
	var last json.RawMessage
	end := -1
	for dec.More() {
		if err := dec.Decode(&last); err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		end = int(dec.InputOffset())
	}
	if end < 0 {
		// An empty array: "[]" becomes a pretty one-entry list.
		closeAt := bytes.IndexByte(content[open:], ']')
		if closeAt < 0 {
			return nil, fmt.Errorf("reading %s: want a JSON list", name)
		}
		closeAt += open
		var b bytes.Buffer
		b.Write(content[:open])
		b.WriteString(nl + `  {"repository": ` + string(q) + "}" + nl)
		b.Write(content[closeAt:])
		return b.Bytes(), nil
	}
	start := end - len(last)
	lineStart := bytes.LastIndexByte(content[:start], '\n') + 1
	indent := content[lineStart:start]
	colon := `": `
	if !bytes.Contains(last, []byte(`": `)) && bytes.Contains(last, []byte(`":`)) {
		colon = `":`
	}
	var entry string
	if i := bytes.IndexByte(last, '\n'); i >= 0 && len(bytes.TrimLeft(indent, " \t")) == 0 {
		// A multi-line object: take the indentation of its second line.
		rest := last[i+1:]
		inner := rest[:len(rest)-len(bytes.TrimLeft(rest, " \t"))]
		entry = "{" + nl + string(inner) + `"repository` + colon + string(q) + nl + string(indent) + "}"
	} else {
		entry = `{"repository` + colon + string(q) + "}"
	}
	var b bytes.Buffer
	b.Write(content[:end])
	if len(bytes.TrimLeft(indent, " \t")) == 0 {
		b.WriteString("," + nl + string(indent) + entry)
	} else {
		b.WriteString(", " + entry)
	}
	b.Write(content[end:])
	return b.Bytes(), nil
}
