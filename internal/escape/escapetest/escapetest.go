// Package escapetest holds what the tests of every output format share: the
// hostile values an image could carry, and readers of workflow commands and
// markdown tables as GitHub reads them.
package escapetest

import (
	"strings"
	"unicode"
)

// Hostile are values an image could carry to break out of an output format.
var Hostile = []string{
	"",
	"plain",
	"line\n::error::injected",
	"cr\r::warning::injected",
	"crlf\r\n::add-mask::secret",
	"50% and %0A and %25 and %3A",
	"::set-output name=x::y",
	"a:b,c=d",
	"| cell | break |",
	"`code` and ``` fence",
	"<script>alert(1)</script>",
	"<!-- hidden -->",
	"&lt;already escaped&gt; &amp;",
	"@octocat and @org/team and me@example.com",
	"\x1b[31mred\x1b[0m",
	"\xff\xfe invalid",
	"\u202eevil bidi \u200b zero width",
	"![img](https://evil.example/x.png) [link](https://evil.example)",
	"*bold* _em_ ~~strike~~ $math$ # heading",
	"- list\n1. item\n> quote",
	"back\\slash\\",
	"tab\there",
	"nel\u0085 ls\u2028 ps\u2029",
	"##[error]old syntax",
}

// ParseWorkflowCommand is a port of the runner's ActionCommand.TryParseV2
// (github.com/actions/runner, src/Runner.Common/ActionCommand.cs): the
// command a line runs, if any.
func ParseWorkflowCommand(line string) (cmd string, props map[string]string, data string, ok bool) {
	registered := map[string]bool{
		"error": true, "warning": true, "notice": true, "debug": true, "add-mask": true,
		"set-output": true, "set-env": true, "save-state": true, "add-path": true, "group": true,
		"endgroup": true, "echo": true, "stop-commands": true, "add-matcher": true, "remove-matcher": true,
	}
	msg := strings.TrimLeftFunc(line, unicode.IsSpace)
	if !strings.HasPrefix(msg, "::") {
		return "", nil, "", false
	}
	end := strings.Index(msg[2:], "::")
	if end < 0 {
		return "", nil, "", false
	}
	end += 2
	info := msg[2:end]
	name := info
	sp := strings.IndexByte(info, ' ')
	if sp >= 0 {
		name = info[:sp]
	}
	if !registered[strings.ToLower(name)] {
		return "", nil, "", false
	}
	props = map[string]string{}
	if sp > 0 {
		for _, p := range strings.Split(strings.TrimSpace(info[sp+1:]), ",") {
			if p == "" {
				continue
			}
			pair := strings.SplitN(p, "=", 2)
			if len(pair) == 2 && pair[0] != "" && pair[1] != "" {
				v := pair[1]
				for _, m := range [][2]string{{"%0D", "\r"}, {"%0A", "\n"}, {"%3A", ":"}, {"%2C", ","}, {"%25", "%"}} {
					v = strings.ReplaceAll(v, m[0], m[1])
				}
				props[pair[0]] = v
			}
		}
	}
	data = msg[end+2:]
	for _, m := range [][2]string{{"%0D", "\r"}, {"%0A", "\n"}, {"%25", "%"}} {
		data = strings.ReplaceAll(data, m[0], m[1])
	}
	return name, props, data, true
}

// SplitRunnerLines splits output as the runner reads it: at CR, LF and CRLF.
func SplitRunnerLines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' })
}

// UnescapedPipes counts the | of a table row that GFM reads as cell
// separators.
func UnescapedPipes(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n
}
