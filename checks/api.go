package checks

import (
	"context"
	"fmt"
	"strings"
)

var apiRules = []*Rule{apiVersion, apiBare, apiCompatible}

var apiVersion = &Rule{
	ID:       "api/version",
	Title:    "The API version label is a version or a constraint",
	Severity: Error,
	Help: `Docker Desktop reads the API version label (` + "`com.docker.desktop.extension.api.version`" + `, or
` + "`com.docker.desktop.plugin.api.version`" + ` for plugins) without downloading the image, to decide whether
a user's Desktop can run a release. A value it cannot parse makes the release uninstallable.

Use a constraint such as ` + "`>= 0.3.4`" + ` (or a range, ` + "`>= 0.2.3, < 1.0.0`" + `):

` + "```dockerfile\nLABEL com.docker.desktop.extension.api.version=\">= 0.3.4\"\n```",
	Run: func(ctx context.Context, p *Pass) error {
		name, val, err := p.Target.APIVersion(ctx)
		if err != nil || name == "" || strings.TrimSpace(val) == "" {
			return err
		}
		if _, _, err := ParseAPIConstraint(val); err != nil {
			p.Report(Finding{Label: name, Message: fmt.Sprintf("label %s = %q is neither a semver version nor a version constraint (%v); write e.g. \">= 0.3.4\"", name, val, err)})
		}
		return nil
	},
}

var apiBare = &Rule{
	ID:       "api/bare",
	Title:    "The API version label is a constraint, not a bare version",
	Severity: Notice,
	Help: `A bare version in the API version label (` + "`0.3.4`" + `) is an exact match: only a Desktop whose
extension API is exactly that version installs the release, and every Desktop update drops it.
` + "`>= 0.3.4`" + ` is almost always what is meant.`,
	Run: func(ctx context.Context, p *Pass) error {
		name, val, err := p.Target.APIVersion(ctx)
		if err != nil || name == "" {
			return err
		}
		if _, bare, err := ParseAPIConstraint(val); err == nil && bare {
			v := strings.TrimPrefix(strings.TrimSpace(val), "v")
			p.Report(Finding{Label: name, Message: fmt.Sprintf("label %s = %q matches only Desktop extension API %s exactly; \">= %s\" is almost always meant", name, val, v, v)})
		}
		return nil
	},
}

var apiCompatible = &Rule{
	ID:       "api/compatible",
	Title:    "Some target Docker Desktop accepts the API version constraint",
	Severity: Error,
	Help: `When no released Docker Desktop (or none of the ` + "`--desktop-api-version`" + ` targets) satisfies the
API version constraint, nobody can install the release.

Lower the constraint to the API version your plugin really needs, e.g. ` + "`>= 0.3.4`" + `.`,
	Run: func(ctx context.Context, p *Pass) error {
		name, val, err := p.Target.APIVersion(ctx)
		if err != nil || name == "" {
			return err
		}
		c, _, err := ParseAPIConstraint(val)
		if err != nil {
			return nil
		}
		targets := p.Target.Targets()
		var names []string
		for _, a := range targets {
			if c.Check(a) {
				return nil
			}
			names = append(names, a.Original())
		}
		if len(targets) == 0 {
			return nil
		}
		p.Report(Finding{Label: name, Message: fmt.Sprintf("no target Docker Desktop accepts %s = %q (targets: extension API %s)", name, val, strings.Join(names, ", "))})
		return nil
	},
}
