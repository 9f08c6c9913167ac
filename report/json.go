package report

import (
	"io"

	"github.com/docker/desktop-plugin-check/internal/escape"
)

// jsonReport is schema version 1 of the JSON report (DESIGN section 7):
// fields are added, never renamed.
type jsonReport struct {
	Version            int            `json:"version"`
	Image              string         `json:"image"`
	Source             string         `json:"source,omitempty"`
	Digest             string         `json:"digest"`
	Repository         string         `json:"repository"`
	Release            string         `json:"release"`
	Profile            string         `json:"profile"`
	APIVersion         string         `json:"api_version"`
	Result             string         `json:"result"`
	FailOn             string         `json:"fail_on"`
	Platforms          []jsonPlatform `json:"platforms"`
	Findings           []jsonFinding  `json:"findings"`
	Errors             []string       `json:"errors"`
	DesktopAPIVersions []string       `json:"desktop_api_versions"`
	Impact             []jsonImpact   `json:"impact"`
	Stats              jsonStats      `json:"stats"`
	// Layers are the layer blobs read, and whether each was verified
	// against its digest (only a blob read to its end can be).
	Layers []jsonLayer `json:"layers"`
	// Push is what the push to the --push targets did; absent without
	// --push.
	Push *jsonPush `json:"push,omitempty"`
}

type jsonPush struct {
	Result  string           `json:"result"`
	Message string           `json:"message,omitempty"`
	Targets []jsonPushTarget `json:"targets"`
}

type jsonPushTarget struct {
	Ref           string `json:"ref"`
	Digest        string `json:"digest,omitempty"`
	Status        string `json:"status"`
	Previous      string `json:"previous,omitempty"`
	BlobsUploaded int    `json:"blobs_uploaded"`
	BlobsMounted  int    `json:"blobs_mounted"`
	BlobsPresent  int    `json:"blobs_present"`
	Manifests     int    `json:"manifests_written"`
	BytesSent     int64  `json:"bytes_sent"`
	Requests      int64  `json:"requests"`
}

type jsonLayer struct {
	Digest   string `json:"digest"`
	Size     int64  `json:"size"`
	Bytes    int64  `json:"bytes_read"`
	Verified bool   `json:"verified"`
}

type jsonImpact struct {
	DesktopAPIVersion string `json:"desktop_api_version"`
	Before            string `json:"before"`
	After             string `json:"after"`
	Note              string `json:"note,omitempty"`
}

type jsonPlatform struct {
	Platform string `json:"platform"`
	Digest   string `json:"digest"`
}

type jsonFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Platform string `json:"platform,omitempty"`
	Path     string `json:"path,omitempty"`
	Pointer  string `json:"pointer,omitempty"`
	Label    string `json:"label,omitempty"`
	// File, Line and Column are where the finding sits in the sources,
	// when it is placed on a file.
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

type jsonStats struct {
	Requests   int64 `json:"requests"`
	Bytes      int64 `json:"bytes"`
	DurationMS int64 `json:"duration_ms"`
	// PushRequests and PushBytesSent are what the push to the --push
	// targets cost, all targets together (push has each one's).
	PushRequests  int64 `json:"push_requests,omitempty"`
	PushBytesSent int64 `json:"push_bytes_sent,omitempty"`
}

// JSON writes the report as JSON, schema version 1.
func JSON(w io.Writer, r *Report) error {
	out := jsonReport{
		Version: 1, Image: r.Image, Source: r.Source, Digest: r.Digest, Repository: r.Repository, Release: r.Release,
		Profile: r.Profile, APIVersion: escape.Clip(r.APIVersion, maxValueBytes), Result: r.Result, FailOn: r.failOnName(),
		Platforms: []jsonPlatform{}, Findings: []jsonFinding{}, Errors: []string{},
		DesktopAPIVersions: []string{}, Impact: []jsonImpact{}, Layers: []jsonLayer{},
		Stats: jsonStats{Requests: r.Stats.Requests, Bytes: r.Stats.Bytes, DurationMS: r.Stats.DurationMS},
	}
	for _, p := range r.Platforms {
		out.Platforms = append(out.Platforms, jsonPlatform{Platform: escape.Clip(p.Platform, maxValueBytes), Digest: p.Digest})
	}
	for _, f := range r.Findings {
		l := locate(r.Sources, f)
		out.Findings = append(out.Findings, jsonFinding{Rule: f.Rule, Severity: f.Severity.String(), Message: escape.Clip(f.Message, maxMessageBytes),
			Platform: escape.Clip(f.Platform, maxValueBytes), Path: escape.Clip(f.Path, maxValueBytes), Pointer: escape.Clip(f.Pointer, maxValueBytes), Label: escape.Clip(f.Label, maxValueBytes),
			File: escape.Clip(l.File, maxValueBytes), Line: l.Line, Column: l.Column})
	}
	for _, im := range r.Impact {
		out.Impact = append(out.Impact, jsonImpact{DesktopAPIVersion: im.DesktopAPIVersion, Before: escape.Clip(im.Before, maxValueBytes), After: escape.Clip(im.After, maxValueBytes), Note: im.Note})
	}
	for _, l := range r.Layers {
		out.Layers = append(out.Layers, jsonLayer{Digest: l.Digest, Size: l.Size, Bytes: l.Bytes, Verified: l.Verified})
	}
	if r.Push != nil {
		out.Push = &jsonPush{Result: r.Push.Result, Message: r.Push.Message, Targets: []jsonPushTarget{}}
		for _, t := range r.Push.Targets {
			out.Stats.PushRequests += t.Requests
			out.Stats.PushBytesSent += t.BytesSent
			out.Push.Targets = append(out.Push.Targets, jsonPushTarget{Ref: t.Ref, Digest: t.Digest, Status: t.Status, Previous: t.Previous,
				BlobsUploaded: t.BlobsUploaded, BlobsMounted: t.BlobsMounted, BlobsPresent: t.BlobsPresent, Manifests: t.Manifests,
				BytesSent: t.BytesSent, Requests: t.Requests})
		}
	}
	out.Errors = append(out.Errors, r.Errors...)
	out.DesktopAPIVersions = append(out.DesktopAPIVersions, r.DesktopAPIVersions...)
	// ">= 0.3.4" stays readable: no HTML escapes; this is not HTML.
	return encodeJSON(w, out, false)
}
