package checks

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/image"
	"github.com/docker/desktop-plugin-check/internal/imagetest"
)

// resolvePointer reports whether the RFC 6901 JSON pointer ptr names a value
// in doc (a value ParseJSON returned).
func resolvePointer(doc any, ptr string) bool {
	if ptr == "" {
		return true
	}
	if !strings.HasPrefix(ptr, "/") {
		return false
	}
	node := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case map[string]any:
			v, ok := n[tok]
			if !ok {
				return false
			}
			node = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) || strconv.Itoa(i) != tok {
				return false
			}
			node = n[i]
		default:
			return false
		}
	}
	return true
}

// parentPointer is the pointer of the value that holds the one at ptr.
func parentPointer(ptr string) string {
	if i := strings.LastIndex(ptr, "/"); i >= 0 {
		return ptr[:i]
	}
	return ""
}

func TestResolvePointer(t *testing.T) {
	t.Parallel()
	doc, err := ParseJSON([]byte(`{"a/b": {"~c": [1, {"": 2}]}, "0": true}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ptr  string
		want bool
	}{
		{"whole document", "", true},
		{"escaped keys", "/a~1b/~0c/1/", true},
		{"numeric key", "/0", true},
		{"missing key", "/a~1b/c", false},
		{"index out of range", "/a~1b/~0c/2", false},
		{"leading zero", "/a~1b/~0c/01", false},
		{"no leading slash", "a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := resolvePointer(doc, tc.ptr); got != tc.want {
				t.Errorf("resolvePointer(%q) = %v, want %v", tc.ptr, got, tc.want)
			}
		})
	}
}

// FuzzMetadataSchema checks metadata.json handling on arbitrary bytes: it
// never panics, and every schema problem has a message and a pointer that
// resolves in the document or whose parent does.
func FuzzMetadataSchema(f *testing.F) {
	for _, seed := range []string{
		imagetest.PluginMetadata,
		``, `null`, `[]`, `"x"`, `{"hosts": 1}`, `{"vm": {}}`, `{"vm": {"image": "a", "composefile": "b"}}`,
		`{"vm": {"image": ""}}`, `{"ui": {"dash.board/x~y": {"a.b": 1}}}`, `{"ui": {"dashboard-tab": {"backend": {"tcp": 1}}}}`,
		`{"host": {"binaries": [{"windows": [{"path": 1}, {"install": {}}], "macos": []}]}}`,
		`{"name": {}, "provider": [], "desktop-plugin-version": null}`, `{"a": 1,}`, `[[[[[[[[`,
	} {
		f.Add([]byte(seed))
	}
	if files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "corpus", "*", "metadata.json")); len(files) > 0 {
		for _, file := range files {
			if body, err := os.ReadFile(file); err == nil {
				f.Add(body)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, parseErr := ParseJSON(data)
		m := &Metadata{
			File:       &image.File{Path: MetadataPath, Resolved: MetadataPath, Kind: image.Regular, Size: int64(len(data)), Data: data},
			Raw:        data,
			Value:      doc,
			ParseError: parseErr,
		}
		if parseErr != nil {
			if msg := metadataParseMessage(m, DefaultMetadataMax); msg == "" {
				t.Errorf("no message for a parse error: %v", parseErr)
			}
			return
		}
		problems, err := checkMetadataSchema(doc)
		if err != nil {
			t.Fatalf("checkMetadataSchema: %v", err)
		}
		if len(problems) > metadataProblemsMax+1 {
			t.Errorf("%d problems, above the cap of %d", len(problems), metadataProblemsMax+1)
		}
		for _, p := range problems {
			if p.Message == "" {
				t.Errorf("problem at %q has no message", p.Pointer)
			}
			if !resolvePointer(doc, p.Pointer) && !resolvePointer(doc, parentPointer(p.Pointer)) {
				t.Errorf("pointer %q of %q resolves neither in the document nor in its parent", p.Pointer, p.Message)
			}
		}
		if obj, ok := doc.(map[string]any); ok {
			mv := metadataVariant{m: m}
			empty := []byte("{}")
			other := metadataVariant{m: &Metadata{Value: map[string]any{}, Raw: empty,
				File: &image.File{Path: MetadataPath, Kind: image.Regular, Size: int64(len(empty)), Data: empty}}}
			if len(obj) > 0 && metadataEquivalent(mv, other) {
				t.Errorf("a non-empty object equals an empty one")
			}
			if len(obj) > 0 {
				ptr, _, _ := firstJSONDifference(map[string]any{}, doc, "")
				if !resolvePointer(doc, ptr) {
					t.Errorf("first difference %q does not resolve", ptr)
				}
			}
		}
	})
}
