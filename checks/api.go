package checks

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

var apiRules = []*Rule{apiVersion, apiBare, apiCompatible}

var apiVersion = &Rule{
	ID:       "api/version",
	Title:    "The API version label is a version or a constraint",
	Severity: Error,
	Help: `Docker Desktop reads the API version label (` + "`com.docker.desktop.extension.api.version`" + `, or
` + "`com.docker.desktop.plugin.api.version`" + ` for plugins) without downloading the image, to decide whether
a user's Desktop can run a release. A value it cannot parse as a semver version or constraint
makes the release uninstallable. Under the plugin profile this is the only check of the label
by default: plugin-era Desktops did "no technical validation of this version" (the plugin
distribution rules), so ` + "`1.0.0-beta.1`" + `, the value those plugins used, is fine.

Use a constraint such as ` + "`>= 0.3.3`" + ` (or a range, ` + "`>= 0.2.3, < 1.0.0`" + `):

` + "```dockerfile\nLABEL com.docker.desktop.extension.api.version=\">= 0.3.3\"\n```",
	Run: func(ctx context.Context, p *Pass) error {
		name, val, err := p.Target.APIVersion(ctx)
		if err != nil || name == "" || strings.TrimSpace(val) == "" {
			return err
		}
		if _, _, err := ParseAPIConstraint(val); err != nil {
			p.Report(Finding{Label: name, Message: fmt.Sprintf("label %s = %s is neither a semver version nor a version constraint (%v); write e.g. \">= 0.3.3\"", name, quoteLabelValue(val), err)})
		}
		return nil
	},
}

var apiBare = &Rule{
	ID:       "api/bare",
	Title:    "The API version label is a constraint, not a bare version",
	Severity: Warning,
	Help: `A bare version in the API version label (` + "`0.3.4`" + `) is an exact match: only a Docker Desktop
whose extension API is exactly that version offers the release, and every Desktop update that
moves the API on drops it. ` + "`docker extension init`" + ` wrote ` + "`\"0.3.4\"`" + ` from 2023 to 2025, which no Desktop
since 4.42 (extension API 0.4.2) accepts. The message names the Desktop releases the bare value
excludes (from the built-in table of Desktop releases, see api/compatible).

` + "`>= 0.3.4`" + ` is almost always what is meant. Under the plugin profile the rule speaks only when
target Desktop API versions are named (` + "`--desktop-api-version`" + `, or the config).`,
	Run: func(ctx context.Context, p *Pass) error {
		name, val, err := p.Target.APIVersion(ctx)
		if err != nil || name == "" {
			return err
		}
		c, bare, err := ParseAPIConstraint(val)
		if err != nil || !bare {
			return nil
		}
		v := strings.TrimPrefix(strings.TrimSpace(val), "v")
		msg := fmt.Sprintf("label %s = %s matches only Desktop API %s exactly", name, quoteLabelValue(val), v)
		switch {
		case len(p.Target.Options.DesktopAPIVersions) > 0:
			in, out := targetsAccepting(p.Target.Targets(), c.Check)
			if len(out) == 0 {
				return nil
			}
			msg += ": " + whoGetsIt(in, out, "target Desktop API ", "no target")
		case p.Target.Profile == ProfileExtension:
			msg += ": " + whoGetsIt(desktopsAccepting(c.Check))
		default:
			return nil // plugin profile: no targets to compare with
		}
		p.Report(Finding{Label: name, Message: msg + fmt.Sprintf(`; ">= %s" is almost always meant`, v)})
		return nil
	},
}

var apiCompatible = &Rule{
	ID:       "api/compatible",
	Title:    "Today's Docker Desktop (and every target) accepts the API version constraint",
	Severity: Error,
	Help: `Docker Desktop offers a release only to users whose Desktop's extension API version satisfies
the API version label. Under the extension profile the newest known Desktop must accept it:
the marketplace validator checks the label against the latest Docker Desktop, and every Desktop
since 4.42 implements extension API 0.4.2, so a bare ` + "`\"0.3.4\"`" + ` or a range capped below it
(` + "`>= 0.2.3, < 0.4.0`" + `) is offered to nobody on a current Desktop. The built-in table of Desktop
releases and their API versions, with its sources, is in the tool's source (checks/desktop.go);
the message says which Desktop releases get the release and which do not.

With ` + "`--desktop-api-version`" + ` (or the config's targets), the rule also reports a constraint that no
named target accepts. Under the plugin profile that is the only comparison: plugin-era Desktops
did no technical validation of the plugin API version, so it is compared only with the versions
you name.

Fix: require the oldest API your extension needs and leave the top open, e.g. ` + "`\">= 0.3.3\"`" + `, or
the current API, ` + "`\">= 0.4.2\"`" + `.`,
	Run: func(ctx context.Context, p *Pass) error {
		name, val, err := p.Target.APIVersion(ctx)
		if err != nil || name == "" {
			return err
		}
		c, _, err := ParseAPIConstraint(val)
		if err != nil {
			return nil
		}
		if p.Target.Profile == ProfileExtension {
			newest := NewestDesktopAPIVersion()
			if nv, err := semver.NewVersion(newest); err == nil && !c.Check(nv) {
				p.Report(Finding{Label: name, Message: fmt.Sprintf("label %s = %s does not accept extension API %s, which every current Docker Desktop has, and the marketplace validator checks against it: %s; write %q",
					name, quoteLabelValue(val), newest, whoGetsIt(desktopsAccepting(c.Check)), apiFix(val))})
				return nil
			}
		}
		if len(p.Target.Options.DesktopAPIVersions) == 0 {
			return nil
		}
		targets := p.Target.Targets()
		in, out := targetsAccepting(targets, c.Check)
		if len(in) == 0 && len(out) > 0 {
			p.Report(Finding{Label: name, Message: fmt.Sprintf("no target Docker Desktop accepts %s = %s (targets: Desktop API %s); to reach them, write e.g. %q",
				name, quoteLabelValue(val), joinAnd(out), ">= "+targets[0].Original())})
		}
		return nil
	},
}

// targetsAccepting splits target API versions by whether accept takes them.
func targetsAccepting(targets []*semver.Version, accept func(*semver.Version) bool) (in, out []string) {
	for _, a := range targets {
		if accept(a) {
			in = append(in, a.Original())
		} else {
			out = append(out, a.Original())
		}
	}
	return in, out
}

// whoGetsIt says which Desktops get a release: "A and B get it, C does
// not". prefix goes before each list; none names an empty yes list.
func whoGetsIt(yes, no []string, prefixNone ...string) string {
	prefix, none := "", "no known Docker Desktop"
	if len(prefixNone) == 2 {
		prefix, none = prefixNone[0], prefixNone[1]
	}
	switch {
	case len(yes) == 0:
		return none + " gets it"
	case len(no) == 0:
		return prefix + joinAnd(yes) + " get it"
	}
	return prefix + joinAnd(yes) + " get it, " + prefix + joinAnd(no) + " do not"
}

// joinAnd joins a list as prose: "a", "a and b", "a, b and c".
func joinAnd(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " and " + list[len(list)-1]
}

// apiLowerBound finds the lower bound of a constraint: ">= 0.3.3" in
// ">= 0.3.3, < 0.4.0", or a bare version.
var apiLowerBound = regexp.MustCompile(`^\s*(?:>=|=>|>|\^|~>?|=)?\s*v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)`)

// apiFix suggests a label value for a constraint that excludes the newest
// Desktop: its lower bound left open at the top when that accepts the
// newest API, else the newest API.
func apiFix(val string) string {
	newest := NewestDesktopAPIVersion()
	nv := semver.MustParse(newest)
	if m := apiLowerBound.FindStringSubmatch(val); m != nil {
		if lo, err := semver.NewVersion(m[1]); err == nil && !lo.GreaterThan(nv) {
			return ">= " + m[1]
		}
	}
	return ">= " + newest
}
