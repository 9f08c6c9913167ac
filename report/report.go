// Package report renders the outcome of a check in the supported formats,
// one format per file, each with its own wire structures.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/source"
)

// Result values.
const (
	ResultPass  = "pass"
	ResultFail  = "fail"
	ResultError = "error"
)

// Report is everything a format may show about one check run.
type Report struct {
	// Image is the image as the user named it; "" for a lint.
	Image string
	// Source is the directory the lint read; "" for an image check.
	Source string
	// Digest is the digest of the index or manifest checked.
	Digest string
	// Repository holds the releases (empty for local sources without --repository).
	Repository string
	// Release is the version being released.
	Release string
	// Profile is the profile that applied.
	Profile string
	// ToolVersion is this tool's version ("1.2.0", "devel").
	ToolVersion string
	// APIVersion is the image's Desktop API version label value.
	APIVersion string
	// Result is pass, fail or error.
	Result string
	// FailOn is the lowest severity that fails the check.
	FailOn checks.Severity
	// Platforms are the variants checked.
	Platforms []Platform
	// Findings, in the runner's stable order.
	Findings []checks.Finding
	// Rules are the rules that ran (for help texts).
	Rules []*checks.Rule
	// Errors say what stopped the check, when Result is error.
	Errors []string
	// DesktopAPIVersions are the target Desktop API versions.
	DesktopAPIVersions []string
	// Impact shows, per target Desktop API version, which plugin version
	// Desktop offers before and after this release (empty when unknown).
	Impact []Impact
	// Sources are the repository's own files that findings are placed on
	// (annotations, SARIF locations); nil outside a repository.
	Sources *source.Sources
	// Stats is what the run cost.
	Stats Stats
	// Layers are the layer blobs the check read, each verified against its
	// digest when read to its end (a layer read in part cannot be).
	Layers []LayerRead
	// Push is what became of the --push targets (issue 13); nil when
	// there were none.
	Push *Push
}

// Push results.
const (
	PushPushed  = "pushed"  // every target resolves to the digest checked
	PushSkipped = "skipped" // nothing was pushed: the check did not pass
	PushFailed  = "failed"  // the push stopped on an error
)

// Push target statuses.
const (
	TargetPushed    = "pushed"     // written, and read back with the digest checked
	TargetUnchanged = "unchanged"  // it resolved to the digest checked already
	TargetMoved     = "moved"      // a tag that named Previous now names the digest checked
	TargetNotPushed = "not pushed" // its tag was not written
)

// Push is what the push of the image checked to the --push targets did.
type Push struct {
	// Result is PushPushed, PushSkipped or PushFailed.
	Result string
	// Message says why nothing was pushed, or what stopped the push.
	Message string
	Targets []PushTarget
}

// PushTarget is one --push target.
type PushTarget struct {
	// Ref is the target, fully qualified.
	Ref string
	// Digest is what Ref resolved to when read back ("" when not pushed).
	Digest string
	// Status is one of the Target* statuses; Previous is the digest a
	// moved tag named before.
	Status, Previous string
	// BlobsUploaded, BlobsMounted and BlobsPresent count the image's
	// blobs by what became of them in the target; Manifests counts the
	// manifests written.
	BlobsUploaded, BlobsMounted, BlobsPresent, Manifests int
	// BytesSent and Requests are what the push to Ref cost.
	BytesSent, Requests int64
}

// PushedRefs returns the targets that now resolve to the digest checked,
// each as REF@DIGEST.
func (p *Push) PushedRefs() []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, t := range p.Targets {
		if t.Digest != "" && t.Status != TargetNotPushed {
			out = append(out, t.Ref+"@"+t.Digest)
		}
	}
	return out
}

// LayerRead is one layer blob the check read.
type LayerRead struct {
	Digest string
	// Size is the blob's size; Bytes how much of it was read.
	Size, Bytes int64
	// Verified reports a blob read to its end whose digest matched.
	Verified bool
}

// Impact is the upgrade impact for one target Desktop API version.
type Impact struct {
	DesktopAPIVersion string
	// Before and After are the plugin versions Desktop offers; "" for none.
	Before, After string
	// Note explains a row without versions: "unchanged" (this release does
	// not accept that Desktop, so nothing was read) or "unknown".
	Note string
}

// locate says where a finding sits in the repository's files: where a
// source/* rule put it, else where its label or pointer is written.
func locate(src *source.Sources, f checks.Finding) source.Location {
	if f.File != "" {
		return source.Location{File: f.File, Line: f.Line, Column: f.Column}
	}
	return src.Locate(f.Label, f.Pointer, f.Path)
}

// Locate says where a finding sits in the repository's files (Sources):
// the file relative to the repository root, and the line and column; no
// file when it has none.
func (r *Report) Locate(f checks.Finding) source.Location {
	return locate(r.Sources, f)
}

// Platform is one variant.
type Platform struct {
	Platform string
	Digest   string
}

// Stats counts the cost of a run.
type Stats struct {
	Requests   int64
	Bytes      int64
	DurationMS int64
}

// FailsOn says which findings fail the check: "error and above", or
// "nothing" for --fail-on never.
func (r *Report) FailsOn() string {
	if r.FailOn == checks.Off {
		return "nothing"
	}
	return r.FailOn.String() + " and above"
}

// failOnName is the --fail-on value: a severity or "never".
func (r *Report) failOnName() string {
	if r.FailOn == checks.Off {
		return "never"
	}
	return r.FailOn.String()
}

// Counts returns how many findings there are of each severity.
func (r *Report) Counts() map[checks.Severity]int {
	c := map[checks.Severity]int{}
	for _, f := range r.Findings {
		c[f.Severity]++
	}
	return c
}

// Format writes a report.
type Format func(io.Writer, *Report) error

var formats = map[string]Format{
	"text":     Text,
	"json":     JSON,
	"github":   GitHub,
	"markdown": Markdown,
	"sarif":    SARIF,
}

// Lookup returns the format with the name.
func Lookup(name string) (Format, error) {
	f, ok := formats[name]
	if !ok {
		return nil, fmt.Errorf("unknown format %q (want %s)", name, strings.Join(Names(), ", "))
	}
	return f, nil
}

// Names lists the formats.
func Names() []string {
	var out []string
	for n := range formats {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
