package checks

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
)

var versionRules = []*Rule{versionSemver, versionExists, versionMonotonic, versionLatest}

var versionSemver = &Rule{
	ID:       "version/semver",
	Title:    "The release version is strict semver 2.0.0",
	Severity: Error,
	Help: `Docker Desktop finds a plugin's releases by their tags and orders them as
[semantic versions](https://semver.org/spec/v2.0.0.html). A tag such as ` + "`latest`" + `, ` + "`1.2`" + ` or
` + "`v1.2.3`" + ` is not a release Desktop can order, so users never get it as an upgrade.

Tag each release ` + "`MAJOR.MINOR.PATCH`" + ` (with an optional ` + "`-prerelease`" + `), for example
` + "`docker buildx build --push -t acme/my-plugin:1.2.3 .`" + `. When you check an image by another tag
(` + "`latest`" + `, a branch), pass the version it will be released as with ` + "`--release 1.2.3`" + `.`,
	Run: func(ctx context.Context, p *Pass) error {
		rel := p.Target.Options.Release
		if rel == "" {
			return nil
		}
		if _, err := semver.StrictNewVersion(rel); err == nil {
			return nil
		}
		p.Report(Finding{Message: fmt.Sprintf("release version %q is not strict semver 2.0.0: %s", rel, semverHint(rel))})
		return nil
	},
}

var partialVersion = regexp.MustCompile(`^v?(\d+)(\.\d+)?$`)

// semverHint says what to use instead of a version that is not strict semver.
func semverHint(v string) string {
	switch {
	case strings.HasPrefix(v, "v"):
		if _, err := semver.StrictNewVersion(v[1:]); err == nil {
			return fmt.Sprintf("drop the leading v and tag %q", v[1:])
		}
	case partialVersion.MatchString(v):
		m := partialVersion.FindStringSubmatch(v)
		minor := m[2]
		if minor == "" {
			minor = ".0"
		}
		return fmt.Sprintf("use all three numbers, e.g. %q", m[1]+minor+".0")
	}
	if lv, err := semver.NewVersion(v); err == nil {
		return fmt.Sprintf("write it as %q", lv.String())
	}
	return "tag releases MAJOR.MINOR.PATCH (e.g. 1.2.3); to check an image tagged this way, pass the version it will be released as with --release"
}

var versionExists = &Rule{
	ID:       "version/exists",
	Title:    "The release tag does not already point at another image",
	Severity: Error,
	Help: `Users who installed a release keep its tag; pushing a different image under the same tag
rewrites that release behind their back, and Desktop will not offer it as an update.

Bump the version for every change. (Checking a tag you already pushed, with the same digest,
is fine.)`,
	Run: func(ctx context.Context, p *Pass) error {
		t := p.Target
		rel := t.Options.Release
		if rel == "" || t.Options.Releases == nil {
			return nil
		}
		if t.Options.Repository == t.Image.Repository && rel == t.Image.Tag {
			return nil // the image was opened by this very tag: same digest
		}
		d, ok, err := t.Options.Releases.Digest(ctx, rel)
		if err != nil || !ok {
			return err
		}
		if d != t.Image.Digest {
			p.Report(Finding{Message: fmt.Sprintf("tag %q already exists in %s with digest %s; pushing this image (%s) would rewrite a release users have installed: bump the version",
				rel, t.Options.Repository, d, t.Image.Digest)})
		}
		return nil
	},
}

var versionMonotonic = &Rule{
	ID:       "version/monotonic",
	Title:    "Some Docker Desktop would install this release",
	Severity: Error,
	Help: `Docker Desktop offers each user the highest released version whose API version label accepts
their Desktop. A release lower than an existing one that accepts the same Desktops is never
offered to anyone.

Release a version higher than every existing one, or, for a deliberate backport to older
Desktops, make sure every higher release requires a newer API version (the backport is then
reported as a notice naming the Desktop API versions that get it).`,
	Run: func(ctx context.Context, p *Pass) error {
		t := p.Target
		if t.Options.Releases == nil {
			return nil
		}
		h, err := t.history(ctx)
		if err != nil || h.release == nil {
			return err
		}
		if h.tagLimit != nil {
			p.Report(Finding{Severity: Warning, Message: h.tagLimit.Error() + "; releases beyond it were not compared with this one"})
		}
		var higher *ReleasedVersion
		for i := range h.versions {
			if h.versions[i].Version.GreaterThan(h.release) {
				higher = &h.versions[i]
				break
			}
		}
		if higher == nil {
			return nil
		}
		if len(h.targets) == 0 {
			// No API version to compare (plugin profile, no targets named):
			// every Desktop takes the highest version.
			p.Report(Finding{Message: fmt.Sprintf("no Docker Desktop would ever install %s: %s is higher and Desktop offers the highest version (with no --desktop-api-version named, the plugin API label is not compared); release a version above %s",
				t.Options.Release, higher.Tag, higher.Tag)})
			return nil
		}
		impact, err := t.Impact(ctx)
		if err != nil {
			return err
		}
		var accepted, winning, takenBy []string
		for _, im := range impact {
			if im.Unchanged || im.Unknown {
				continue
			}
			accepted = append(accepted, im.DesktopAPIVersion)
			if im.After == t.Options.Release {
				winning = append(winning, im.DesktopAPIVersion)
			} else {
				takenBy = append(takenBy, im.DesktopAPIVersion+" gets "+im.After)
			}
		}
		switch {
		case len(accepted) == 0:
			return nil
		case len(winning) == 0:
			p.Report(Finding{Message: fmt.Sprintf("no Docker Desktop would ever install %s: every Desktop API version that accepts it gets a higher release (%s); release a version above %s",
				t.Options.Release, strings.Join(takenBy, ", "), higher.Tag)})
		default:
			p.Report(Finding{Severity: Notice, Message: fmt.Sprintf("%s is lower than %s, a backport: Docker Desktop with extension API %s will install it; newer Desktops keep the higher releases",
				t.Options.Release, higher.Tag, strings.Join(winning, ", "))})
		}
		return nil
	},
}

var versionLatest = &Rule{
	ID:       "version/latest",
	Title:    "`latest` points at the highest version",
	Severity: Warning,
	Help: `People (and ` + "`docker extension install NAME`" + ` without a tag) use ` + "`latest`" + `. When it points at an
older release than the highest version, they get an outdated plugin.

Push ` + "`latest`" + ` together with the highest release
(` + "`-t acme/my-plugin:1.2.3 -t acme/my-plugin:latest`" + `), or do not publish ` + "`latest`" + ` at all.`,
	Run: func(ctx context.Context, p *Pass) error {
		t := p.Target
		if t.Options.Releases == nil {
			return nil
		}
		h, err := t.history(ctx)
		if err != nil {
			return err
		}
		hasLatest := false
		for _, tag := range h.tags {
			if tag == "latest" {
				hasLatest = true
			}
		}
		if !hasLatest {
			return nil
		}
		// The highest version after this release, stable releases preferred.
		var bestTag string
		var best *semver.Version
		consider := func(tag string, v *semver.Version) {
			if best == nil || (best.Prerelease() != "" && v.Prerelease() == "") ||
				((best.Prerelease() == "") == (v.Prerelease() == "") && v.GreaterThan(best)) {
				bestTag, best = tag, v
			}
		}
		for _, rv := range h.versions {
			consider(rv.Tag, rv.Version)
		}
		if h.release != nil {
			consider(t.Options.Release, h.release)
		}
		if best == nil {
			return nil
		}
		latest, _, err := t.Options.Releases.Digest(ctx, "latest")
		if err != nil {
			return err
		}
		if bestTag == t.Options.Release {
			if latest != t.Image.Digest {
				p.Report(Finding{Message: fmt.Sprintf("latest (%s) will not point at %s, the highest version: tag this release latest too", latest, bestTag)})
			}
			return nil
		}
		want, ok, err := t.Options.Releases.Digest(ctx, bestTag)
		if err != nil || !ok {
			return err
		}
		if latest != want {
			p.Report(Finding{Message: fmt.Sprintf("latest (%s) does not point at %s (%s), the highest version", latest, bestTag, want)})
		}
		return nil
	},
}
