package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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

// Run runs every rule against the target and collects all findings. The
// error joins what stopped rules from looking; findings of the rules that
// could look are still returned.
func Run(ctx context.Context, t *Target, rules []*Rule, cfg Config) (*Result, error) {
	if err := t.prefetch(ctx); err != nil {
		return nil, err
	}
	res := &Result{Profile: t.Profile, Findings: []Finding{}}
	var errs []error
	for _, r := range rules {
		sev, overridden := cfg.Severities[r.ID]
		if overridden && sev == Off {
			continue
		}
		p := &Pass{Rule: r, Target: t, report: func(f Finding) {
			if overridden {
				f.Severity = sev
			}
			res.Findings = append(res.Findings, f)
		}}
		if err := r.Run(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
		}
	}
	SortFindings(res.Findings)
	return res, errors.Join(errs...)
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

// prefetch reads every variant's config and metadata.json concurrently, so
// rules then run on memoised data.
func (t *Target) prefetch(ctx context.Context) error {
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
			if _, err := t.Metadata(ctx, v); err != nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
