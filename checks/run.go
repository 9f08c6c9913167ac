package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/docker/desktop-plugin-check/image"
)

// Result is the outcome of running rules against a target.
type Result struct {
	// Findings are sorted: most severe first, then by rule, platform,
	// pointer, path and message.
	Findings []Finding
	// Profile is the profile that applied.
	Profile Profile
}

// Config adjusts rules: severity overrides by rule ID (Off disables).
type Config struct {
	Severities map[string]Severity
}

// FilesNeeded reports whether any of the rules that cfg leaves on reads
// files from layers.
func FilesNeeded(rules []*Rule, cfg Config) bool {
	for _, r := range rules {
		if sev, ok := cfg.Severities[r.ID]; r.ReadsFiles && !(ok && sev == Off) {
			return true
		}
	}
	return false
}

// Run runs every rule against the target and collects all findings. The
// error joins what stopped rules from looking; findings of the rules that
// could look are still returned.
func Run(ctx context.Context, t *Target, rules []*Rule, cfg Config) (*Result, error) {
	files := FilesNeeded(rules, cfg)
	// The release history (tag list, earlier releases' configs) needs only
	// this release's labels: read it while the layers are read. The
	// version rules wait for it (memoised).
	if t.Options.Releases != nil {
		go t.history(ctx) //nolint:errcheck // the rules that need it report its error
	}
	// A variant whose files cannot be read does not stop the rules that
	// need no files (or other variants): each rule reports what it could.
	perrs := t.prefetch(ctx, files)
	res := &Result{Profile: t.Profile, Findings: []Finding{}}
	errs := append([]error{}, perrs...)
	for _, r := range rules {
		sev, overridden := cfg.Severities[r.ID]
		if overridden && sev == Off {
			continue
		}
		var found []Finding
		p := &Pass{Rule: r, Target: t, report: func(f Finding) {
			if overridden {
				f.Severity = sev
			}
			found = append(found, f)
		}}
		if err := r.Run(ctx, p); err != nil && !isAny(err, perrs) {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		res.Findings = append(res.Findings, capFindings(r, foldPlatforms(found, t.Image.Variants))...)
	}
	SortFindings(res.Findings)
	return res, errors.Join(errs...)
}

// foldPlatforms replaces a finding reported identically for every platform
// variant with one finding without a platform.
func foldPlatforms(fs []Finding, variants []*image.Variant) []Finding {
	if len(variants) < 2 {
		return fs
	}
	type key struct {
		rule, msg, path, pointer, label string
		sev                             Severity
	}
	platforms := map[key]map[string]bool{}
	for _, f := range fs {
		if f.Platform == "" {
			continue
		}
		k := key{f.Rule, f.Message, f.Path, f.Pointer, f.Label, f.Severity}
		if platforms[k] == nil {
			platforms[k] = map[string]bool{}
		}
		platforms[k][f.Platform] = true
	}
	all := func(k key) bool {
		for _, v := range variants {
			if !platforms[k][v.PlatformString()] {
				return false
			}
		}
		return true
	}
	var out []Finding
	emitted := map[key]bool{}
	for _, f := range fs {
		k := key{f.Rule, f.Message, f.Path, f.Pointer, f.Label, f.Severity}
		if f.Platform != "" && all(k) {
			if emitted[k] {
				continue
			}
			emitted[k] = true
			f.Platform = ""
		}
		out = append(out, f)
	}
	return out
}

// maxFindingsPerRule caps the findings one rule reports; a finding that
// counts the rest takes the place of those beyond it.
const maxFindingsPerRule = 100

// capFindings keeps the first maxFindingsPerRule findings of a rule, most
// severe first, and counts the rest in one finding of their highest
// severity.
func capFindings(r *Rule, fs []Finding) []Finding {
	if len(fs) <= maxFindingsPerRule {
		return fs
	}
	SortFindings(fs)
	rest := fs[maxFindingsPerRule:]
	sev := rest[0].Severity // sorted: the most severe of the rest
	return append(fs[:maxFindingsPerRule:maxFindingsPerRule], Finding{Rule: r.ID, Severity: sev,
		Message: fmt.Sprintf("%d more %s findings are not listed", len(rest), r.ID)})
}

// SortFindings orders findings stably: most severe first, then by rule,
// platform, pointer, path, label and message.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Platform, b.Platform),
			cmp.Compare(a.Pointer, b.Pointer),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Label, b.Label),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// isAny reports whether err is (or wraps) one of targets: an error already
// reported once.
func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// prefetch reads every variant's config, and with files its metadata.json
// and the files that names, concurrently, so rules then run on memoised
// data. It returns what could not be read, once per variant.
func (t *Target) prefetch(ctx context.Context, files bool) []error {
	var wg sync.WaitGroup
	errs := make([]error, len(t.Image.Variants))
	for i, v := range t.Image.Variants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := v.Config(ctx); err != nil {
				errs[i] = err
				return
			}
			if !files {
				return
			}
			if _, err := t.PluginFiles(ctx, v); err != nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}
