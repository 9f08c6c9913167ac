package checks

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/docker/desktop-plugin-check/internal/imagetest"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// labelsEdit returns a copy of base with set applied and the labels del removed.
func labelsEdit(base, set map[string]string, del ...string) map[string]string {
	out := maps.Clone(base)
	maps.Copy(out, set)
	for _, k := range del {
		delete(out, k)
	}
	return out
}

// labelFinding is a finding of a label rule as Run reports it.
func labelFinding(r *Rule, platform, label, message string) Finding {
	return Finding{Rule: r.ID, Severity: r.Severity, Platform: platform, Label: label, Message: message}
}

// labelsCase is a test of a label rule against a two-platform image.
type labelsCase struct {
	name           string
	amd64, arm64   map[string]string
	opts           Options
	want           []Finding
	singlePlatform bool
}

// runLabelsCases runs rule against each case's image and diffs the findings.
func runLabelsCases(t *testing.T, rule *Rule, cases []labelsCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var idx v1.ImageIndex
			if tc.singlePlatform {
				idx = imagetest.Index(t, imagetest.Image(t, imagetest.Spec{Arch: "amd64", Labels: tc.amd64,
					Layers: []v1.Layer{imagetest.Layer(t, imagetest.PluginFiles(imagetest.PluginMetadata)...)}}))
			} else {
				idx = twoPlatforms(t, tc.amd64, tc.arm64, imagetest.PluginMetadata)
			}
			got := runRules(t, idx, tc.opts, rule)
			want := tc.want
			if want == nil {
				want = []Finding{}
			}
			SortFindings(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Run() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// labelsBoth returns a case whose platforms carry the same labels.
func labelsBoth(name string, labels map[string]string, want ...Finding) labelsCase {
	return labelsCase{name: name, amd64: labels, arm64: labels, want: want}
}

func TestLabelsRequired(t *testing.T) {
	t.Parallel()
	plugin, ext := imagetest.PluginLabels(), imagetest.ExtensionLabels()
	req := func(platform, label, message string) Finding {
		return labelFinding(labelsRequired, platform, label, message)
	}
	cases := []labelsCase{
		labelsBoth("complete plugin labels", plugin),
		labelsBoth("complete extension labels", ext),
		labelsBoth("complete extension labels with optional ones blank",
			labelsEdit(ext, map[string]string{LabelAdditionalURLs: "", LabelAccountInfo: ""})),
		{name: "missing in one platform", amd64: ext, arm64: labelsEdit(ext, nil, LabelVendor),
			want: []Finding{req("linux/arm64", LabelVendor,
				`required label "org.opencontainers.image.vendor" is missing (profile extension)`)}},
		{name: "blank in one platform", amd64: labelsEdit(ext, map[string]string{LabelChangelog: " \n"}), arm64: ext,
			want: []Finding{req("linux/amd64", LabelChangelog,
				`required label "com.docker.extension.changelog" is blank (profile extension)`)}},
		{name: "missing in one platform and blank in the other",
			amd64: labelsEdit(ext, nil, LabelTitle), arm64: labelsEdit(ext, map[string]string{LabelTitle: ""}),
			want: []Finding{req("", LabelTitle,
				`required label "org.opencontainers.image.title" is missing or blank in every platform (profile extension)`)}},
		{name: "missing in the only platform", singlePlatform: true, amd64: labelsEdit(plugin, nil, LabelAuthors),
			want: []Finding{req("", LabelAuthors,
				`required label "org.opencontainers.image.authors" is missing (profile plugin)`)}},
		labelsBoth("plugin API version label renamed",
			labelsEdit(ext, map[string]string{LabelPluginAPIVersion: ">= 0.3.4"}, LabelExtensionAPIVersion),
			req("", LabelExtensionAPIVersion, `required label "com.docker.desktop.extension.api.version" is missing in every platform (profile extension); the image has "com.docker.desktop.plugin.api.version", which extensions renamed "com.docker.desktop.extension.api.version"`)),
		labelsBoth("plugin icon label renamed",
			labelsEdit(ext, map[string]string{labelPluginIcon: "https://acme.example/icon.svg"}, LabelIcon),
			req("", LabelIcon, `required label "com.docker.desktop.extension.icon" is missing in every platform (profile extension); the image has "com.docker.desktop.plugin.icon", which extensions renamed "com.docker.desktop.extension.icon"`)),
		labelsBoth("icon label misnamed",
			labelsEdit(ext, map[string]string{"com.docker.extension.icon": "https://acme.example/icon.svg"}, LabelIcon),
			req("", LabelIcon, `required label "com.docker.desktop.extension.icon" is missing in every platform (profile extension); the image has "com.docker.extension.icon", but the label is named "com.docker.desktop.extension.icon"`)),
		labelsBoth("authors instead of vendor",
			labelsEdit(ext, map[string]string{LabelAuthors: "Acme Tools"}, LabelVendor),
			req("", LabelVendor, `required label "org.opencontainers.image.vendor" is missing in every platform (profile extension); the image has "org.opencontainers.image.authors", but extensions name their publisher in "org.opencontainers.image.vendor"`)),
		labelsBoth("label name in the wrong case",
			labelsEdit(ext, map[string]string{"org.opencontainers.image.Title": "Disk Usage"}, LabelTitle),
			req("", LabelTitle, `required label "org.opencontainers.image.title" is missing in every platform (profile extension); the image has "org.opencontainers.image.Title", but label names are case-sensitive`)),
		{name: "extension checked with the plugin profile", amd64: ext, arm64: ext, opts: Options{Profile: ProfilePlugin},
			want: []Finding{
				req("", LabelAuthors, `required label "org.opencontainers.image.authors" is missing in every platform (profile plugin); the image has "org.opencontainers.image.vendor", but plugins name their authors in "org.opencontainers.image.authors"`),
				req("", LabelPluginAPIVersion, `required label "com.docker.desktop.plugin.api.version" is missing in every platform (profile plugin); the image has "com.docker.desktop.extension.api.version": if it is an extension, check it with profile extension, which requires it instead of "com.docker.desktop.plugin.api.version"`),
			}},
		{name: "plugin checked with the extension profile", amd64: plugin, arm64: plugin, opts: Options{Profile: ProfileExtension},
			want: func() []Finding {
				var fs []Finding
				for _, l := range ProfileExtension.RequiredLabels() {
					if l == LabelTitle {
						continue
					}
					msg := fmt.Sprintf("required label %q is missing in every platform (profile extension)", l)
					switch l {
					case LabelVendor:
						msg += `; the image has "org.opencontainers.image.authors", but extensions name their publisher in "org.opencontainers.image.vendor"`
					case LabelExtensionAPIVersion:
						msg += `; the image has "com.docker.desktop.plugin.api.version", which extensions renamed "com.docker.desktop.extension.api.version"`
					}
					if l == LabelCategories {
						fs = append(fs, categoriesMissing("missing in every platform"))
						continue
					}
					fs = append(fs, req("", l, msg))
				}
				return fs
			}()},
		labelsBoth("auto profile detects a plugin", labelsEdit(plugin, nil, LabelTitle),
			req("", LabelTitle, `required label "org.opencontainers.image.title" is missing in every platform (profile plugin)`)),
		labelsBoth("auto profile detects an extension from one extension label",
			labelsEdit(plugin, map[string]string{LabelCategories: "utility-tools"}),
			func() []Finding {
				var fs []Finding
				for _, l := range ProfileExtension.RequiredLabels() {
					if l == LabelTitle || l == LabelCategories {
						continue
					}
					msg := fmt.Sprintf("required label %q is missing in every platform (profile extension)", l)
					switch l {
					case LabelVendor:
						msg += `; the image has "org.opencontainers.image.authors", but extensions name their publisher in "org.opencontainers.image.vendor"`
					case LabelExtensionAPIVersion:
						msg += `; the image has "com.docker.desktop.plugin.api.version", which extensions renamed "com.docker.desktop.extension.api.version"`
					}
					fs = append(fs, req("", l, msg))
				}
				return fs
			}()...),
	}
	for _, p := range []struct {
		profile Profile
		labels  map[string]string
	}{{ProfilePlugin, plugin}, {ProfileExtension, ext}} {
		for _, l := range p.profile.RequiredLabels() {
			if l == LabelCategories {
				cases = append(cases,
					labelsBoth("extension categories missing", labelsEdit(p.labels, nil, l), categoriesMissing("missing in every platform")),
					labelsBoth("extension categories blank", labelsEdit(p.labels, map[string]string{l: " \t"}), categoriesMissing("blank in every platform")))
				continue
			}
			cases = append(cases,
				labelsBoth(fmt.Sprintf("%s %s missing", p.profile, l), labelsEdit(p.labels, nil, l),
					req("", l, fmt.Sprintf("required label %q is missing in every platform (profile %s)", l, p.profile))),
				labelsBoth(fmt.Sprintf("%s %s blank", p.profile, l), labelsEdit(p.labels, map[string]string{l: " \t"}),
					req("", l, fmt.Sprintf("required label %q is blank in every platform (profile %s)", l, p.profile))))
		}
	}
	runLabelsCases(t, labelsRequired, cases)
}

// categoriesMissing is the warning about a missing or blank categories label.
func categoriesMissing(state string) Finding {
	return Finding{Rule: "labels/required", Severity: Warning, Label: LabelCategories,
		Message: `label "com.docker.extension.categories" is ` + state + `: Docker's labels documentation calls it optional, but the marketplace submission form asks for the categories (e.g. "utility-tools")`}
}

func TestLabelsProfileDetection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		labels map[string]string
		opts   Options
		want   Profile
	}{
		{"plugin labels", imagetest.PluginLabels(), Options{}, ProfilePlugin},
		{"extension labels", imagetest.ExtensionLabels(), Options{}, ProfileExtension},
		{"plugin labels and an extension label", labelsEdit(imagetest.PluginLabels(), map[string]string{LabelIcon: "https://acme.example/i.svg"}), Options{}, ProfileExtension},
		{"no labels", nil, Options{Profile: ProfileAuto}, ProfilePlugin},
		{"explicit profile", imagetest.PluginLabels(), Options{Profile: ProfileExtension}, ProfileExtension},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			img := openIndex(t, twoPlatforms(t, tc.labels, tc.labels, imagetest.PluginMetadata))
			target, err := NewTarget(ctx, img, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(ctx, target, labelRules, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Profile != tc.want {
				t.Errorf("Run() profile = %s, want %s", res.Profile, tc.want)
			}
		})
	}
}

func TestLabelsConsistent(t *testing.T) {
	t.Parallel()
	ext := imagetest.ExtensionLabels()
	con := func(label, message string) Finding { return labelFinding(labelsConsistent, "", label, message) }
	long := strings.Repeat("é", 100)
	runLabelsCases(t, labelsConsistent, []labelsCase{
		labelsBoth("same labels", ext),
		{name: "one platform", singlePlatform: true, amd64: ext},
		{name: "different values", amd64: ext, arm64: labelsEdit(ext, map[string]string{LabelTitle: "Disk usage"}),
			want: []Finding{con(LabelTitle, `label "org.opencontainers.image.title" differs between platforms: linux/amd64: "Disk Usage"; linux/arm64: "Disk usage"`)}},
		{name: "absent in one platform", amd64: ext, arm64: labelsEdit(ext, nil, LabelChangelog),
			want: []Finding{con(LabelChangelog, `label "com.docker.extension.changelog" differs between platforms: linux/amd64: "<ul><li>First release</li></ul>"; linux/arm64: absent`)}},
		{name: "present in one platform only, not required",
			amd64: labelsEdit(ext, map[string]string{"org.opencontainers.image.revision": "abc"}), arm64: ext,
			want: []Finding{con("org.opencontainers.image.revision", `label "org.opencontainers.image.revision" differs between platforms: linux/amd64: "abc"; linux/arm64: absent`)}},
		{name: "blank and absent differ", amd64: labelsEdit(ext, map[string]string{LabelAccountInfo: ""}), arm64: ext,
			want: []Finding{con(LabelAccountInfo, `label "com.docker.extension.account-info" differs between platforms: linux/amd64: ""; linux/arm64: absent`)}},
		{name: "long values are cut",
			amd64: labelsEdit(ext, map[string]string{LabelDetailedDescription: long + "a"}),
			arm64: labelsEdit(ext, map[string]string{LabelDetailedDescription: long + "b"}),
			want:  []Finding{con(LabelDetailedDescription, fmt.Sprintf(`label "com.docker.extension.detailed-description" differs between platforms: linux/amd64: "%[1]s"…; linux/arm64: "%[1]s"…`, strings.Repeat("é", 80)))}},
		{name: "several labels differ",
			amd64: labelsEdit(ext, map[string]string{LabelVendor: "Acme"}),
			arm64: labelsEdit(ext, map[string]string{LabelExtensionAPIVersion: ">= 0.3.0"}),
			want: []Finding{
				con(LabelVendor, `label "org.opencontainers.image.vendor" differs between platforms: linux/amd64: "Acme"; linux/arm64: "Acme Tools"`),
				con(LabelExtensionAPIVersion, `label "com.docker.desktop.extension.api.version" differs between platforms: linux/amd64: ">= 0.3.4"; linux/arm64: ">= 0.3.0"`),
			}},
	})
}

func TestLabelsFormat(t *testing.T) {
	t.Parallel()
	plugin, ext := imagetest.PluginLabels(), imagetest.ExtensionLabels()
	set := func(label, value string) map[string]string {
		return labelsEdit(ext, map[string]string{label: value})
	}
	bad := func(label string, messages ...string) []Finding {
		var fs []Finding
		for _, m := range messages {
			fs = append(fs, labelFinding(labelsFormat, "", label, m))
		}
		return fs
	}
	warn := func(label string, messages ...string) []Finding {
		fs := bad(label, messages...)
		for i := range fs {
			fs[i].Severity = Warning
		}
		return fs
	}
	both := func(fs ...[]Finding) []Finding {
		var out []Finding
		for _, f := range fs {
			out = append(out, f...)
		}
		return out
	}
	categories := "(ci-cd, container-orchestration, cloud-deployment, cloud-development, database, kubernetes, networking, image-registry, security, testing-tools, utility-tools, volumes)"
	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	runLabelsCases(t, labelsFormat, []labelsCase{
		labelsBoth("complete plugin labels", plugin),
		labelsBoth("complete extension labels", ext),
		labelsBoth("blank values are not format findings", labelsEdit(ext, map[string]string{
			LabelScreenshots: " ", LabelAdditionalURLs: "", LabelIcon: "\t", LabelPublisherURL: "",
			LabelCategories: " ", LabelAccountInfo: ""})),
		labelsBoth("screenshots not JSON", set(LabelScreenshots, `[{"alt":"x",`),
			bad(LabelScreenshots, "screenshots is not valid JSON: unexpected end of JSON input")...),
		labelsBoth("screenshots comma-separated URLs", set(LabelScreenshots, "https://acme.example/1.png,https://acme.example/2.png"),
			bad(LabelScreenshots, "screenshots is not valid JSON: invalid character 'h' looking for beginning of value")...),
		labelsBoth("screenshots nested too deep", set(LabelScreenshots, deep),
			bad(LabelScreenshots, "screenshots is not valid JSON: JSON is nested more than 256 levels deep")...),
		labelsBoth("screenshots too large", set(LabelScreenshots, `["`+strings.Repeat("x", 300<<10)+`"]`),
			bad(LabelScreenshots, "com.docker.extension.screenshots is 307204 bytes, above the 262144 byte limit")...),
		labelsBoth("screenshots an object", set(LabelScreenshots, `{"alt":"Main view","url":"https://acme.example/s1.png"}`),
			bad(LabelScreenshots, `screenshots is an object, not a JSON array of {"alt", "url"} objects`)...),
		labelsBoth("screenshots null", set(LabelScreenshots, `null`),
			bad(LabelScreenshots, `screenshots is null, not a JSON array of {"alt", "url"} objects`)...),
		labelsBoth("screenshots empty", set(LabelScreenshots, `[]`),
			bad(LabelScreenshots, "screenshots is an empty array")...),
		labelsBoth("screenshots of strings", set(LabelScreenshots, `["https://acme.example/s1.png"]`),
			bad(LabelScreenshots, `screenshots[0] is a string, not a {"alt", "url"} object`)...),
		labelsBoth("screenshots with wrong entries", set(LabelScreenshots, `[
			{"alt":"Main view","url":"https://acme.example/s1.png"},
			{"url":"/s2.png"},
			{"alt":" ","url":"https://acme.example/s3.png","caption":"x"},
			{"alt":1,"url":"foo"},
			{"alt":"Dark mode","url":null}]`),
			both(bad(LabelScreenshots,
				"screenshots[1].alt is missing",
				`screenshots[1].url is not an absolute http(s) URL: "/s2.png"`,
				"screenshots[2].alt is blank",
				"screenshots[3].alt is a number, not a string",
				`screenshots[3].url is not an absolute http(s) URL: "foo"`,
				"screenshots[4].url is null, not a string"),
				warn(LabelScreenshots, `screenshots[2] has an unknown key "caption" (only "alt" and "url" are documented)`))...),
		labelsBoth("screenshots entry with an extra key only", set(LabelScreenshots, `[{"alt":"Main view","url":"https://acme.example/s1.png","width":800}]`),
			warn(LabelScreenshots, `screenshots[0] has an unknown key "width" (only "alt" and "url" are documented)`)...),
		labelsBoth("screenshots entry without url", set(LabelScreenshots, `[{"alt":"Main view"}]`),
			bad(LabelScreenshots, "screenshots[0].url is missing")...),
		labelsBoth("screenshots javascript URL", set(LabelScreenshots, `[{"alt":"x","url":"javascript:alert(1)"}]`),
			bad(LabelScreenshots, `screenshots[0].url is not an absolute http(s) URL: "javascript:alert(1)"`)...),
		labelsBoth("screenshots with many problems", set(LabelScreenshots, "["+strings.Repeat(`{"alt":"x","url":"x"},`, 14)+`{"alt":"x","url":"x"}]`),
			bad(LabelScreenshots, func() []string {
				var ms []string
				for i := range 10 {
					ms = append(ms, fmt.Sprintf(`screenshots[%d].url is not an absolute http(s) URL: "x"`, i))
				}
				return append(ms, "com.docker.extension.screenshots has 5 more problems")
			}()...)...),
		labelsBoth("additional-urls empty", set(LabelAdditionalURLs, `[]`)),
		labelsBoth("additional-urls wrong entries", set(LabelAdditionalURLs, `[{"title":"","url":"https://acme.example"},{"name":"Docs","url":"ftp://acme.example/docs"}]`),
			both(bad(LabelAdditionalURLs,
				"additional-urls[0].title is blank",
				"additional-urls[1].title is missing",
				`additional-urls[1].url is not an absolute http(s) URL: "ftp://acme.example/docs"`),
				warn(LabelAdditionalURLs, `additional-urls[1] has an unknown key "name" (only "title" and "url" are documented)`))...),
		labelsBoth("additional-urls not an array", set(LabelAdditionalURLs, `"https://acme.example/docs"`),
			bad(LabelAdditionalURLs, `additional-urls is a string, not a JSON array of {"title", "url"} objects`)...),
		labelsBoth("icon of a documented type", set(LabelIcon, "https://acme.example/icon.JPG?v=2")),
		labelsBoth("icon jpeg", set(LabelIcon, "https://acme.example/icon.jpeg")),
		labelsBoth("icon without a file extension", set(LabelIcon, "https://avatars.githubusercontent.com/u/5429470")),
		labelsBoth("icon ico", set(LabelIcon, "https://acme.example/favicon.ico"),
			warn(LabelIcon, `com.docker.desktop.extension.icon is a ".ico" file; Docker documents the icon as .svg, .png or .jpg, and the Marketplace may not show another type: "https://acme.example/favicon.ico"`)...),
		labelsBoth("plugin icon gif", labelsEdit(plugin, map[string]string{labelPluginIcon: "https://acme.example/i.gif"}),
			warn(labelPluginIcon, `com.docker.desktop.plugin.icon is a ".gif" file; Docker documents the icon as .svg, .png or .jpg, and the Marketplace may not show another type: "https://acme.example/i.gif"`)...),
		labelsBoth("icon relative URL", set(LabelIcon, "/icon.svg"),
			bad(LabelIcon, `com.docker.desktop.extension.icon is not an absolute http(s) URL: "/icon.svg"`)...),
		labelsBoth("icon javascript URL", set(LabelIcon, "javascript:alert(document.domain)"),
			bad(LabelIcon, `com.docker.desktop.extension.icon is not an absolute http(s) URL: "javascript:alert(document.domain)"`)...),
		labelsBoth("icon data URL", set(LabelIcon, "data:image/svg+xml;base64,PHN2Zy8+"),
			bad(LabelIcon, `com.docker.desktop.extension.icon is not an absolute http(s) URL: "data:image/svg+xml;base64,PHN2Zy8+"`)...),
		labelsBoth("icon URL with a space", set(LabelIcon, "https://acme.example/my icon.svg"),
			bad(LabelIcon, `com.docker.desktop.extension.icon is not an absolute http(s) URL: "https://acme.example/my icon.svg"`)...),
		labelsBoth("plugin icon relative URL", labelsEdit(plugin, map[string]string{labelPluginIcon: "tailscale.svg"}),
			bad(labelPluginIcon, `com.docker.desktop.plugin.icon is not an absolute http(s) URL: "tailscale.svg"`)...),
		labelsBoth("publisher URL without host", set(LabelPublisherURL, "https://"),
			bad(LabelPublisherURL, `com.docker.extension.publisher-url is not an absolute http(s) URL: "https://"`)...),
		labelsBoth("publisher URL is JSON", set(LabelPublisherURL, `[{"title":"GitHub", "url":"https://github.com/acme/disk-usage/"}]`),
			bad(LabelPublisherURL, `com.docker.extension.publisher-url is not an absolute http(s) URL: "[{\"title\":\"GitHub\", \"url\":\"https://github.com/acme/disk-usage/\"}]"`)...),
		labelsBoth("publisher URL upper-case scheme", set(LabelPublisherURL, "HTTPS://Acme.example/about?x=1#top")),
		labelsBoth("categories good list with spaces", set(LabelCategories, " kubernetes , networking,security ")),
		labelsBoth("categories unknown", set(LabelCategories, "ai,developer-tools"),
			warn(LabelCategories,
				`category "ai" is not one of the documented categories `+categories,
				`category "developer-tools" is not one of the documented categories `+categories)...),
		labelsBoth("categories upper case", set(LabelCategories, "Kubernetes"),
			warn(LabelCategories, `category "Kubernetes" is written in lower case in the documentation: "kubernetes"`)...),
		labelsBoth("categories empty item", set(LabelCategories, "kubernetes,"),
			warn(LabelCategories, "categories has an empty item at position 2")...),
		labelsBoth("categories separated by spaces", set(LabelCategories, "kubernetes networking"),
			warn(LabelCategories, `category "kubernetes networking" is not one of the documented categories `+categories)...),
		labelsBoth("account-info required", set(LabelAccountInfo, " required ")),
		labelsBoth("account-info other value", set(LabelAccountInfo, "yes"),
			bad(LabelAccountInfo, `account-info must be "required" or empty, not "yes"`)...),
		{name: "bad in one platform", amd64: set(LabelIcon, "icon.svg"), arm64: ext,
			want: []Finding{labelFinding(labelsFormat, "linux/amd64", LabelIcon, `com.docker.desktop.extension.icon is not an absolute http(s) URL: "icon.svg"`)}},
		{name: "bad differently in each platform", amd64: set(LabelCategories, "ai"), arm64: set(LabelCategories, "AI"),
			want: []Finding{
				{Rule: labelsFormat.ID, Severity: Warning, Platform: "linux/amd64", Label: LabelCategories, Message: `category "ai" is not one of the documented categories ` + categories},
				{Rule: labelsFormat.ID, Severity: Warning, Platform: "linux/arm64", Label: LabelCategories, Message: `category "AI" is not one of the documented categories ` + categories},
			}},
	})
}

func TestLabelsTemplate(t *testing.T) {
	t.Parallel()
	plugin, ext := imagetest.PluginLabels(), imagetest.ExtensionLabels()
	tmpl := func(label, message string) Finding { return labelFinding(labelsTemplate, "", label, message) }
	runLabelsCases(t, labelsTemplate, []labelsCase{
		labelsBoth("complete plugin labels", plugin),
		labelsBoth("complete extension labels", ext),
		labelsBoth("docker extension init", labelsEdit(ext, map[string]string{
			LabelTitle: "My extension", LabelDescription: "My awesome Docker extension", LabelVendor: "Awesome inc."}),
			tmpl(LabelTitle, `label "org.opencontainers.image.title" still has the placeholder value "My extension"`),
			tmpl(LabelDescription, `label "org.opencontainers.image.description" still has the placeholder value "My awesome Docker extension"`),
			tmpl(LabelVendor, `label "org.opencontainers.image.vendor" still has the placeholder value "Awesome inc."`)),
		labelsBoth("tutorial description reformatted", labelsEdit(ext, map[string]string{LabelDescription: "  your desktop\textension DESCRIPTION "}),
			tmpl(LabelDescription, `label "org.opencontainers.image.description" still has the placeholder value "  your desktop\textension DESCRIPTION "`)),
		labelsBoth("early init template", labelsEdit(ext, map[string]string{LabelTitle: "example-extension", LabelDescription: "My Example Extension"}),
			tmpl(LabelTitle, `label "org.opencontainers.image.title" still has the placeholder value "example-extension"`),
			tmpl(LabelDescription, `label "org.opencontainers.image.description" still has the placeholder value "My Example Extension"`)),
		labelsBoth("react sample", labelsEdit(ext, map[string]string{
			LabelDescription:         "A sample extension that contains a ReactJS application.",
			LabelDetailedDescription: "<h1>Description</h1><p>This is a sample extension that contains a ReactJS application.</p>"}),
			tmpl(LabelDescription, `label "org.opencontainers.image.description" still has the placeholder value "A sample extension that contains a ReactJS application."`),
			tmpl(LabelDetailedDescription, `label "com.docker.extension.detailed-description" still has the placeholder value "<h1>Description</h1><p>This is a sample extension that contains a ReactJS applic"…`)),
		labelsBoth("documentation examples", labelsEdit(ext, map[string]string{
			LabelPublisherURL:        "https://example.com/",
			LabelIcon:                "https://example.com/assets/image.svg",
			LabelDetailedDescription: "<h1>My detailed description</h1>",
			LabelChangelog:           "<p>Extension changelog<ul>\n  <li>New feature A</li>\n  <li>Bug fix on feature B</li></ul></p>",
			LabelScreenshots:         `[{"alt":"Main view","url":"https://acme.example/s1.png"},{"alt":"alternative text for image2","url":"https://example.com/image2.jpg"}]`,
			LabelAdditionalURLs:      `[{"title":"Documentation","url":"https://example.com/docs"}]`,
		}),
			tmpl(LabelPublisherURL, `label "com.docker.extension.publisher-url" still has the placeholder value "https://example.com/"`),
			tmpl(LabelIcon, `label "com.docker.desktop.extension.icon" still has the placeholder value "https://example.com/assets/image.svg"`),
			tmpl(LabelDetailedDescription, `label "com.docker.extension.detailed-description" still has the placeholder value "<h1>My detailed description</h1>"`),
			tmpl(LabelChangelog, `label "com.docker.extension.changelog" still has the placeholder value "<p>Extension changelog<ul>\n  <li>New feature A</li>\n  <li>Bug fix on feature B</"…`),
			tmpl(LabelScreenshots, `label "com.docker.extension.screenshots" still has the placeholder "alternative text for image2" at screenshots[1].alt`),
			tmpl(LabelScreenshots, `label "com.docker.extension.screenshots" still has the placeholder "https://example.com/image2.jpg" at screenshots[1].url`),
			tmpl(LabelAdditionalURLs, `label "com.docker.extension.additional-urls" still has the placeholder "https://example.com/docs" at additional-urls[0].url`)),
		labelsBoth("template icon of a third party", labelsEdit(ext, map[string]string{LabelIcon: "https://www.docker.com/wp-content/uploads/2022/03/Moby-logo.png"}),
			tmpl(LabelIcon, `label "com.docker.desktop.extension.icon" is still the template's Moby logo "https://www.docker.com/wp-content/uploads/2022/03/Moby-logo.png"`)),
		labelsBoth("template icon of Docker", labelsEdit(ext, map[string]string{
			LabelIcon: "https://www.docker.com/wp-content/uploads/2022/03/Moby-logo.png", LabelVendor: "Docker Inc."})),
		labelsBoth("Docker's own publisher URL is not a placeholder", labelsEdit(ext, map[string]string{LabelPublisherURL: "https://www.docker.com"})),
		labelsBoth("plugin authors", labelsEdit(plugin, map[string]string{LabelAuthors: "Awesome Inc."}),
			tmpl(LabelAuthors, `label "org.opencontainers.image.authors" still has the placeholder value "Awesome Inc."`)),
		labelsBoth("placeholder words inside real text", labelsEdit(ext, map[string]string{LabelDescription: "My extension makes Awesome Inc. happy"})),
		{name: "placeholder in one platform", amd64: ext, arm64: labelsEdit(ext, map[string]string{LabelTitle: "My extension"}),
			want: []Finding{labelFinding(labelsTemplate, "linux/arm64", LabelTitle, `label "org.opencontainers.image.title" still has the placeholder value "My extension"`)}},
	})
}

func TestLabelHTTPURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://acme.example", true},
		{"http://acme.example:8080/icon.svg?v=1", true},
		{"HTTPS://ACME.EXAMPLE/", true},
		{"https://user@acme.example/", true},
		{"https://[::1]/x", true},
		{"", false},
		{"acme.example/icon.svg", false},
		{"//acme.example/icon.svg", false},
		{"/icon.svg", false},
		{"https:acme.example", false},
		{"https:///icon.svg", false},
		{"https://:443/", false},
		{"ftp://acme.example/", false},
		{"javascript:alert(1)", false},
		{"file:///etc/passwd", false},
		{" https://acme.example", false},
		{"https://acme.example\n", false},
		{"https://acme.example/\x00", false},
	} {
		if got := labelHTTPURL(tc.url); got != tc.want {
			t.Errorf("labelHTTPURL(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
}

func TestLabelRulesRegistered(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"labels/required", "labels/consistent", "labels/format", "labels/template"} {
		r := Lookup(id)
		if r == nil {
			t.Errorf("Lookup(%q) = nil", id)
			continue
		}
		if !strings.Contains(r.Help, "LABEL ") {
			t.Errorf("help of %s has no Dockerfile LABEL example", id)
		}
	}
}
