package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// desktopRelease is a run of Docker Desktop releases that implement one
// extension API version.
type desktopRelease struct {
	// first and last are the first and last Desktop release of the run
	// ("4.8", "4.12"); last is "" for the newest run, which goes on.
	first, last string
	// api is the extension API version they implement.
	api string
	// inferred marks a row no source states outright.
	inferred bool
}

// desktopReleases maps Docker Desktop releases to the extension API version
// they implement, oldest first. Docker's release notes never name the API
// version, so each row is pieced together from these sources (looked up
// November 2026, re-checked December 2026); rows marked inferred are not
// stated by any source:
//
//   - 4.8 to 4.12: 0.2.3. `docker extension version` prints
//     "Server API Version: 0.2.3" with Desktop 4.11 and 4.12.0:
//     https://github.com/docker/extensions-sdk/issues/211,
//     https://github.com/docker/extensions-sdk/issues/220,
//     https://github.com/docker/extensions-sdk/issues/222; the SDK v0.2.4
//     release notes say 4.8.0 enabled the public beta:
//     https://github.com/docker/extensions-sdk/releases
//   - 4.13: 0.3.0 (inferred). The 4.13.0 release notes add cwd/env to
//     cli.exec, whose ExecOptions are "@since 0.3.0" in
//     @docker/extension-api-client-types; the SDK samples moved to
//     ">= 0.3.0" in September 2022 (docker/extensions-sdk commit 958d42a);
//     https://github.com/podman-desktop/podman-desktop/issues/952
//   - 4.14 to 4.15: 0.3.2 (inferred). "0.3.2 was an intermediate API
//     version bump before Desktop 4.16 got published"
//     (https://github.com/docker/docs/pull/16510); no source names the
//     Desktop releases that shipped it, and no "@since 0.3.2" exists.
//   - 4.16: 0.3.3. "Document the extension OAuth required API version to
//     0.3.3, corresponding to Desktop 4.16":
//     https://github.com/docker/docs/pull/16510, and "Update generated
//     reference docs with extension API 0.3.3 (Desktop 4.16)":
//     https://github.com/docker/docs/pull/16520
//   - 4.17 to 4.41: 0.3.4. viewContainerTerminal is "@since 0.3.4", "to be
//     published with DD 4.17": https://github.com/docker/docs/pull/16608;
//     that it stayed 0.3.4 until 4.41 is inferred (no "@since" later than
//     0.3.4 exists in the 0.4.2 types).
//   - 4.42: 0.4.2. @docker/extension-api-client-types 0.4.2 differs from
//     0.3.4 only by dropping Dev Environments, which "has been deprecated
//     and removed from Docker Desktop version 4.42 and later"
//     (github.com/docker/dev-environments README); a submission labelled
//     "0.4.2" passed the marketplace's validator in 2026:
//     https://github.com/docker/extensions-submissions/issues/253
//   - 4.43 and later: 0.4.2 (inferred: no newer API version is published
//     as of December 2026).
//
// The marketplace validator compares the label with the running (latest)
// Desktop: the submissions workflow starts Desktop "latest" and runs
// `docker extension validate --sdk-compatibility`, which prints e.g.
// `image label "com.docker.desktop.extension.api.version" ("0.3.0") is
// incompatible with current SDK version "0.3.3". Consider changing it to
// ">=0.3.3"` (docker/extensions-submissions,
// test/validation_outputs/failed.txt).
//
// Pass --desktop-api-version to check against other versions.
var desktopReleases = []desktopRelease{
	{"4.8", "4.12", "0.2.3", false},
	{"4.13", "4.13", "0.3.0", true},
	{"4.14", "4.15", "0.3.2", true},
	{"4.16", "4.16", "0.3.3", false},
	{"4.17", "4.41", "0.3.4", false},
	{"4.42", "4.42", "0.4.2", false},
	{"4.43", "", "0.4.2", true},
}

// DesktopAPIVersions returns the distinct extension API versions of the
// built-in table, oldest first.
func DesktopAPIVersions() []string {
	var out []string
	for _, d := range desktopReleases {
		if !slices.Contains(out, d.api) {
			out = append(out, d.api)
		}
	}
	return out
}

// NewestDesktopAPIVersion is the extension API version of the newest known
// Docker Desktop, the one the marketplace validator checks against.
func NewestDesktopAPIVersion() string { return desktopReleases[len(desktopReleases)-1].api }

// desktopSpan names the Desktop releases of a run of the table: "4.17 to
// 4.41", "4.16", "4.43 and later".
func desktopSpan(first, last string) string {
	switch last {
	case "":
		return first + " and later"
	case first:
		return first
	}
	return first + " to " + last
}

// desktopsAccepting splits the table's Desktop releases by whether accept
// takes their API version, merging neighbouring rows: "4.17 to 4.41
// (API 0.3.4)".
func desktopsAccepting(accept func(*semver.Version) bool) (yes, no []string) {
	type run struct {
		first, last string
		apis        []string
		ok          bool
	}
	var runs []*run
	for _, d := range desktopReleases {
		v, err := semver.NewVersion(d.api)
		ok := err == nil && accept(v)
		if n := len(runs); n > 0 && runs[n-1].ok == ok {
			runs[n-1].last = d.last
			if !slices.Contains(runs[n-1].apis, d.api) {
				runs[n-1].apis = append(runs[n-1].apis, d.api)
			}
			continue
		}
		runs = append(runs, &run{first: d.first, last: d.last, apis: []string{d.api}, ok: ok})
	}
	for _, r := range runs {
		s := fmt.Sprintf("Desktop %s (API %s)", desktopSpan(r.first, r.last), strings.Join(r.apis, ", "))
		if r.ok {
			yes = append(yes, s)
		} else {
			no = append(no, s)
		}
	}
	return yes, no
}
