// Package checks holds the rules a Docker Desktop plugin image is checked
// against, one rule family per file, and the runner that applies them.
package checks

import (
	"context"
	"fmt"
	"strings"
)

// Severity ranks a finding.
type Severity int

// Severities, lowest first. Off disables a rule (configuration only).
const (
	Off Severity = iota
	Notice
	Warning
	Error
)

var severityNames = [...]string{"off", "notice", "warning", "error"}

func (s Severity) String() string {
	if s < Off || s > Error {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ParseSeverity reads "notice", "warning", "error" or "off".
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Severity(i), nil
		}
	}
	return Off, fmt.Errorf("unknown severity %q (want notice, warning, error or off)", s)
}

// Rule is one check with a stable public ID.
type Rule struct {
	// ID is stable and public ("labels/required").
	ID string
	// Title is a one-line summary.
	Title string
	// Help is Markdown: why it matters and how to fix it.
	Help string
	// Severity is the default severity of its findings.
	Severity Severity
	// ReadsFiles reports that Run reads files from layers; the runner then
	// fetches metadata.json of every variant concurrently first. Rules
	// without it cost no layer download.
	ReadsFiles bool
	// Run inspects the target and reports findings through the pass. It
	// returns an error only when it could not look.
	Run func(ctx context.Context, p *Pass) error
}

// Finding is one violation of a rule.
type Finding struct {
	Rule     string
	Severity Severity
	Message  string
	// Platform is the variant ("linux/arm64") the finding is about, if any.
	Platform string
	// Path is a path inside the image, if any.
	Path string
	// Pointer is a JSON pointer into metadata.json, if any.
	Pointer string
	// Label is the image label the finding is about, if any.
	Label string
	// File, Line and Column place a finding of a source/* rule in the
	// plugin's sources (File relative to the directory linted, Line and
	// Column from 1, Column 0 when not known); File is "" for a finding
	// that reports place from its Label and Pointer.
	File         string
	Line, Column int
}

// Pass is what a rule's Run is given: the target and a way to report.
type Pass struct {
	Rule   *Rule
	Target *Target
	report func(Finding)
}

// Report records a finding of the pass's rule. Rule and Severity are filled
// in when empty.
func (p *Pass) Report(f Finding) {
	if f.Rule == "" {
		f.Rule = p.Rule.ID
	}
	if f.Severity == Off {
		f.Severity = p.Rule.Severity
	}
	p.report(f)
}

// Reportf records a finding with a formatted message.
func (p *Pass) Reportf(platform, format string, args ...any) {
	p.Report(Finding{Platform: platform, Message: fmt.Sprintf(format, args...)})
}
