package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/source"
)

// Text writes a human-readable report for a terminal.
func Text(w io.Writer, r *Report) error {
	tw := &errWriter{w: w}
	subject := r.Image
	if lint := r.Image == "" && r.Source != ""; lint {
		subject = "lint of " + r.Source + " (sources only, nothing built)"
	}
	pushFailed := r.Push != nil && r.Push.Result == PushFailed
	if r.Result == ResultError && pushFailed {
		tw.printf("NOT PUSHED %s: the check passed, but the push failed (exit code 2)\n", escape.Terminal(subject))
	} else if r.Result == ResultError {
		// Not a verdict: say that the check could not run, not "ERROR".
		tw.printf("NOT CHECKED %s: the check could not run to the end (exit code 2)\n", escape.Terminal(subject))
	} else {
		tw.printf("%s %s\n", strings.ToUpper(r.Result), escape.Terminal(subject))
	}
	if r.Digest != "" {
		tw.printf("  %-11s %s\n", "digest:", r.Digest)
	}
	if r.Repository != "" {
		tw.printf("  %-11s %s\n", "repository:", escape.Terminal(r.Repository))
	}
	if r.Release != "" {
		tw.printf("  %-11s %s\n", "release:", escape.Terminal(r.Release))
	} else if r.Image != "" {
		tw.printf("  %-11s %s\n", "release:", "none given: pass --release to check versions and the upgrade impact")
	}
	if r.Profile != "" {
		tw.printf("  %-11s %s\n", "profile:", r.Profile)
	}
	if len(r.Platforms) > 0 {
		var ps []string
		for _, p := range r.Platforms {
			ps = append(ps, escape.Terminal(p.Platform))
		}
		tw.printf("  %-11s %s\n", "platforms:", strings.Join(ps, ", "))
	}
	for _, e := range r.Errors {
		tw.printf("\nerror: %s\n", escape.Terminal(e))
	}
	if len(r.Findings) > 0 {
		tw.printf("\n")
	}
	for _, f := range r.Findings {
		tw.printf("%-7s %s: %s\n", f.Severity, f.Rule, escape.Terminal(escape.Clip(f.Message, maxMessageBytes)))
		var where []string
		if l := locate(r.Sources, f); l.File != "" {
			where = append(where, escape.Terminal(escape.Clip(position(l), maxValueBytes)))
		}
		if f.Platform != "" {
			where = append(where, "platform "+escape.Terminal(escape.Clip(f.Platform, maxValueBytes)))
		}
		if f.Label != "" {
			where = append(where, "label "+escape.Terminal(escape.Clip(f.Label, maxValueBytes)))
		}
		if f.Path != "" {
			where = append(where, "path "+escape.Terminal(escape.Clip(f.Path, maxValueBytes)))
		}
		if f.Pointer != "" {
			where = append(where, "at "+escape.Terminal(escape.Clip(f.Pointer, maxValueBytes)))
		}
		if len(where) > 0 {
			tw.printf("        (%s)\n", strings.Join(where, ", "))
		}
	}
	if len(r.Impact) > 0 {
		tw.printf("\nupgrade impact (Desktop extension API: offered before -> after this release)\n")
		for _, im := range r.Impact {
			if im.Note != "" {
				tw.printf("  %-8s %s\n", escape.Terminal(im.DesktopAPIVersion), escape.Terminal(im.Note))
				continue
			}
			tw.printf("  %-8s %s -> %s\n", escape.Terminal(im.DesktopAPIVersion), orNone(im.Before), orNone(im.After))
		}
	}
	textPush(tw, r.Push)
	c := r.Counts()
	if r.Result == ResultError && !pushFailed {
		tw.printf("\n%d problem(s) stopped the check; before that it found %d error(s), %d warning(s), %d notice(s) (incomplete)\n",
			len(r.Errors), c[checks.Error], c[checks.Warning], c[checks.Notice])
	} else {
		tw.printf("\n%d error(s), %d warning(s), %d notice(s); fails on %s\n",
			c[checks.Error], c[checks.Warning], c[checks.Notice], r.FailsOn())
	}
	tw.printf("cost: %d request(s), %s, %d ms\n", r.Stats.Requests, HumanBytes(r.Stats.Bytes), r.Stats.DurationMS)
	if len(r.Layers) > 0 {
		verified, part := 0, 0
		for _, l := range r.Layers {
			switch {
			case l.Verified:
				verified++
			case l.Bytes < l.Size:
				part++
			}
		}
		tw.printf("layers: %d read, %d verified against their digest, %d read in part (not verifiable)",
			len(r.Layers), verified, part)
		if rest := len(r.Layers) - verified - part; rest > 0 {
			// Read whole, but named by no digest of their content (a
			// docker save archive from before Docker 25).
			tw.printf(", %d read whole with no digest to check them against", rest)
		}
		tw.printf("\n")
	}
	return tw.err
}

// textPush says what the push to the --push targets did.
func textPush(tw *errWriter, p *Push) {
	if p == nil {
		return
	}
	tw.printf("\npush: %s", p.Result)
	if p.Result == PushFailed {
		tw.printf(" (the error above stopped it)")
	} else if p.Message != "" {
		tw.printf(": %s", escape.Terminal(p.Message))
	}
	tw.printf("\n")
	for _, t := range p.Targets {
		tw.printf("  %-10s %s", t.Status, escape.Terminal(t.Ref))
		if t.Digest != "" {
			tw.printf("@%s", t.Digest)
		}
		if t.Previous != "" {
			tw.printf(" (was %s)", t.Previous)
		}
		tw.printf("\n")
		if t.Requests > 0 {
			tw.printf("             blobs: %d uploaded, %d mounted, %d already there; %d manifest(s) written; %s sent in %d request(s)\n",
				t.BlobsUploaded, t.BlobsMounted, t.BlobsPresent, t.Manifests, HumanBytes(t.BytesSent), t.Requests)
		}
	}
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return escape.Terminal(v)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// HumanBytes formats a byte count ("1.5 MiB").
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// position writes a place in a file as compilers do: FILE:LINE[:COLUMN].
func position(l source.Location) string {
	s := l.File
	if l.Line > 0 {
		s += ":" + strconv.Itoa(l.Line)
		if l.Column > 0 {
			s += ":" + strconv.Itoa(l.Column)
		}
	}
	return s
}
