package checks

// desktopAPIVersions maps Docker Desktop releases to the extension API
// version they implement, oldest first. Docker's release notes never name
// the API version, so each row is pieced together from these sources
// (looked up November 2026):
//
//   - 4.8.0 to 4.12.0: 0.2.3. `docker extension version` prints
//     "Server API Version: 0.2.3" with Desktop 4.11 and 4.12.0:
//     https://github.com/docker/extensions-sdk/issues/211,
//     https://github.com/docker/extensions-sdk/issues/220,
//     https://github.com/docker/extensions-sdk/issues/222; the SDK v0.2.4
//     release notes say 4.8.0 enabled the public beta:
//     https://github.com/docker/extensions-sdk/releases
//   - 4.13.0: 0.3.0 (inferred). The 4.13.0 release notes add cwd/env to
//     cli.exec, whose ExecOptions are "@since 0.3.0" in the API reference;
//     https://github.com/podman-desktop/podman-desktop/issues/952
//   - 4.16.0: 0.3.3. "0.3.3, corresponding to Desktop 4.16":
//     https://github.com/docker/docs/pull/16510
//   - 4.17.0: 0.3.4. viewContainerTerminal is "@since 0.3.4", "to be
//     published with DD 4.17": https://github.com/docker/docs/pull/16608
//   - 4.42.0: 0.4.2 (least certain). @docker/extension-api-client-types
//     0.4.2 drops Dev Environments (removed in Desktop 4.42); a submission
//     labelled "0.4.2" passed the marketplace's exact-match validator in
//     2026: https://github.com/docker/extensions-submissions/issues/253
//
// Pass --desktop-api-version to check against other versions.
var desktopAPIVersions = []struct {
	desktop, api string
}{
	{"4.8.0", "0.2.3"},
	{"4.12.0", "0.2.3"},
	{"4.13.0", "0.3.0"},
	{"4.16.0", "0.3.3"},
	{"4.17.0", "0.3.4"},
	{"4.42.0", "0.4.2"},
}

// DesktopAPIVersions returns the distinct extension API versions of the
// built-in table, oldest first.
func DesktopAPIVersions() []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range desktopAPIVersions {
		if !seen[d.api] {
			seen[d.api] = true
			out = append(out, d.api)
		}
	}
	return out
}
