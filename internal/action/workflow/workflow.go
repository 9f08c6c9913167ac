// Package workflow writes GitHub Actions workflow commands (annotations,
// masks) to a step's log: the one type that writes them, so that every
// value goes out escaped the one way. It imports nothing of this module but
// the escaping leaf.
package workflow

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/docker/desktop-plugin-check/internal/escape"
)

// MaxMessageBytes caps the message of one annotation; longer ones end in
// "…". Reports carry the whole text.
const MaxMessageBytes = 4096

// maxErrorLines caps the lines one run-error annotation carries.
const maxErrorLines = 20

// Title is the title of the tool's own annotations.
const Title = "desktop-plugin-check"

// Level is an annotation's command: error, warning or notice.
type Level string

// Levels.
const (
	Error   Level = "error"
	Warning Level = "warning"
	Notice  Level = "notice"
)

// Annotation is one annotation; File, Line and Col are optional (Line and
// Col count from 1, 0 for none).
type Annotation struct {
	Level     Level
	File      string
	Line, Col int
	Title     string
	Message   string
}

// Writer writes workflow commands to a step's log. The first write error
// is kept; later writes do nothing.
type Writer struct {
	w   io.Writer
	err error
}

// New returns a Writer on w (the step's stdout).
func New(w io.Writer) *Writer { return &Writer{w: w} }

// Err returns the first write error.
func (c *Writer) Err() error { return c.err }

func (c *Writer) line(s string) {
	if c.err == nil {
		_, c.err = io.WriteString(c.w, s+"\n")
	}
}

// Annotate writes an annotation. The message is untrusted text: control
// and invisible characters are shown as \uXXXX, it is capped at
// MaxMessageBytes, and it can never end the command or start another.
func (c *Writer) Annotate(a Annotation) {
	var props []string
	if a.File != "" {
		props = append(props, "file="+escape.WorkflowProperty(a.File))
		if a.Line > 0 {
			props = append(props, "line="+strconv.Itoa(a.Line))
			if a.Col > 0 {
				props = append(props, "col="+strconv.Itoa(a.Col))
			}
		}
	}
	if a.Title != "" {
		props = append(props, "title="+escape.WorkflowProperty(a.Title))
	}
	head := "::" + string(a.Level)
	if len(props) > 0 {
		head += " " + strings.Join(props, ",")
	}
	c.line(head + "::" + escape.WorkflowData(escape.Display(a.Message, MaxMessageBytes)))
}

// RunError writes the one annotation that says why a run could not check:
// every line (registry and archive messages are untrusted) escaped, at most
// maxErrorLines of them and MaxMessageBytes in all.
func (c *Writer) RunError(lines []string) {
	if len(lines) > maxErrorLines {
		rest := len(lines) - maxErrorLines
		lines = append(lines[:maxErrorLines:maxErrorLines], fmt.Sprintf("(%d more)", rest))
	}
	shown := make([]string, len(lines))
	for i, l := range lines {
		shown[i] = strings.ReplaceAll(escape.Display(l, MaxMessageBytes), "\n", `\n`)
	}
	c.Annotate(Annotation{Level: Error, Title: Title, Message: strings.Join(shown, "\n")})
}

// Mask tells the runner to hide a secret in the log, line by line (the
// runner masks each line of a multi-line secret separately).
func (c *Writer) Mask(secret string) {
	for _, line := range strings.Split(strings.ReplaceAll(secret, "\r\n", "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			c.line("::add-mask::" + escape.WorkflowData(line))
		}
	}
}
