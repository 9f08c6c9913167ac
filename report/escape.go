package report

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/docker/desktop-plugin-check/internal/escape"
)

// maxValueBytes caps a value read from the image (a label, a path, a
// platform) where a report carries it whole rather than in a message.
const maxValueBytes = 1024

// maxMessageBytes caps a finding's message in the JSON and SARIF reports.
const maxMessageBytes = 8192

// encodeJSON writes v as indented JSON with invisible runes escaped, and
// with HTML escapes (\u003c) only when html is set.
func encodeJSON(w io.Writer, v any, html bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(html)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(escape.JSONInvisible(buf.Bytes()))
	return err
}
