package checks

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode"
)

// labelRules are the rules about image labels: present, equal across
// platforms, well-formed and not left from a template.
var labelRules = []*Rule{labelsRequired, labelsConsistent, labelsFormat, labelsTemplate}

// labelPluginIcon is the icon label of the original plugin rules, renamed
// com.docker.desktop.extension.icon by the extension rules.
const labelPluginIcon = "com.docker.desktop.plugin.icon"

// labelFormatMax caps the size of a label value whose format is checked, so
// a hostile image cannot make us parse megabytes of JSON.
const labelFormatMax = 256 << 10

// labelProblemsMax caps the problems reported for one label value.
const labelProblemsMax = 10

// labelValueMax is how much of a label value a message quotes, in runes.
const labelValueMax = 80

var labelsRequired = &Rule{
	ID:       "labels/required",
	Title:    "A label the profile requires is missing or blank",
	Severity: Error,
	Help: `Docker Desktop reads an extension's title, description, publisher, icon and
API version from image labels. When a required label is missing or blank, Docker
Desktop considers the extension invalid and the Marketplace does not list it; a
plugin without its title, authors or API version cannot be shown or version-checked.

Which labels are required depends on the profile:

- **plugin**: org.opencontainers.image.title, org.opencontainers.image.authors,
  com.docker.desktop.plugin.api.version.
- **extension**: org.opencontainers.image.title, org.opencontainers.image.description,
  org.opencontainers.image.vendor, com.docker.desktop.extension.api.version,
  com.docker.desktop.extension.icon, com.docker.extension.screenshots,
  com.docker.extension.detailed-description, com.docker.extension.publisher-url,
  com.docker.extension.changelog. A missing com.docker.extension.categories is a
  warning: the labels documentation lists it as optional and Docker's own SDK
  samples omit it, but the marketplace submission form asks for it.

Extensions renamed two plugin labels: com.docker.desktop.plugin.api.version became
com.docker.desktop.extension.api.version, and com.docker.desktop.plugin.icon became
com.docker.desktop.extension.icon.

Set the labels in the final stage of the Dockerfile, so every platform gets them:

~~~dockerfile
LABEL org.opencontainers.image.title="Disk Usage" \
    org.opencontainers.image.description="See what takes space in Docker Desktop." \
    org.opencontainers.image.vendor="Acme Tools" \
    com.docker.desktop.extension.api.version=">= 0.3.4" \
    com.docker.desktop.extension.icon="https://acme.example/icon.svg" \
    com.docker.extension.screenshots='[{"alt":"Main view","url":"https://acme.example/s1.png"}]' \
    com.docker.extension.detailed-description="<p>Shows disk usage.</p>" \
    com.docker.extension.publisher-url="https://acme.example" \
    com.docker.extension.changelog="<ul><li>First release</li></ul>" \
    com.docker.extension.categories="utility-tools"
~~~

See https://docs.docker.com/extensions/extensions-sdk/extensions/labels/.`,
	Run: runLabelsRequired,
}

var labelsConsistent = &Rule{
	ID:       "labels/consistent",
	Title:    "A label differs between platform variants",
	Severity: Error,
	Help: `Docker Desktop and the Marketplace read labels from the variant of the user's
platform, so an image whose labels differ between platforms shows a different
title, description or API version constraint on an Intel machine than on an
Apple silicon one. It usually means the variants were built from different
Dockerfiles or commits, or that a build argument differed between platforms.

Build every platform in one build from one Dockerfile, and set the labels in its
final stage without platform-dependent values:

~~~sh
docker buildx build --platform linux/amd64,linux/arm64 --push -t acme/disk-usage:1.2.0 .
~~~

~~~dockerfile
LABEL org.opencontainers.image.title="Disk Usage" \
    com.docker.desktop.extension.api.version=">= 0.3.4"
~~~`,
	Run: runLabelsConsistent,
}

var labelsFormat = &Rule{
	ID:       "labels/format",
	Title:    "A label's value does not have the documented shape",
	Severity: Error,
	Help: `The Marketplace parses some labels; one it cannot parse leaves the extension
without screenshots, links or categories, or gets it rejected on submission. The shapes are
those of Docker's labels documentation
(https://docs.docker.com/extensions/extensions-sdk/extensions/labels/):

- com.docker.extension.screenshots: a JSON array of objects, each with a
  non-empty "alt" text and a "url" that is an absolute http(s) URL. Not JSON, not
  an array, or an entry without "url" is an error; a key other than "alt" and
  "url" in an entry is a warning (the Marketplace ignores it).
- com.docker.extension.additional-urls: a JSON array of objects, each with a
  non-empty "title" and an absolute http(s) "url" (errors and warnings as above).
- com.docker.desktop.extension.icon and com.docker.desktop.plugin.icon: an
  absolute http(s) URL (the Marketplace shows the icon before the image is
  pulled, so a path inside the image does not work) of an image "in .svg, .png
  or .jpg format", as the documentation says. Another file type (.ico, .gif) is a
  warning; a URL without a file extension is accepted.
- com.docker.extension.publisher-url: an absolute http(s) URL.
- com.docker.extension.categories: a comma-separated list of the documented
  categories ci-cd, container-orchestration, cloud-deployment,
  cloud-development, database, kubernetes, networking, image-registry,
  security, testing-tools, utility-tools, volumes. Another category is a
  warning, not an error: published extensions use others (ai, development).
- com.docker.extension.account-info: "required" when users must register to a
  SaaS platform, otherwise empty.

In a Dockerfile, single quotes keep JSON readable:

~~~dockerfile
LABEL com.docker.extension.screenshots='[{"alt":"Main view","url":"https://acme.example/s1.png"}]' \
    com.docker.extension.additional-urls='[{"title":"Documentation","url":"https://acme.example/docs"}]' \
    com.docker.desktop.extension.icon="https://acme.example/icon.svg" \
    com.docker.extension.publisher-url="https://acme.example" \
    com.docker.extension.categories="networking,security"
~~~

See https://docs.docker.com/extensions/extensions-sdk/extensions/labels/.`,
	Run: runLabelsFormat,
}

var labelsTemplate = &Rule{
	ID:       "labels/template",
	Title:    "A label still has a value from the SDK template or documentation example",
	Severity: Warning,
	Help: `docker extension init and the Extensions SDK tutorials start a Dockerfile with
placeholder labels such as "My extension", "My awesome Docker extension" and
"Awesome Inc.", and the labels documentation shows example values such as
"https://example.com". Users see these values in the Marketplace and in Docker
Desktop, and Docker's review rejects them.

Replace every placeholder with the extension's own values:

~~~dockerfile
LABEL org.opencontainers.image.title="Disk Usage" \
    org.opencontainers.image.description="See what takes space in Docker Desktop." \
    org.opencontainers.image.vendor="Acme Tools" \
    com.docker.extension.publisher-url="https://acme.example"
~~~`,
	Run: runLabelsTemplate,
}

// labelVariant is one platform variant's labels.
type labelVariant struct {
	platform string
	labels   map[string]string
}

// labelsOfVariants reads the labels of every variant of the target.
func labelsOfVariants(ctx context.Context, t *Target) ([]labelVariant, error) {
	var vs []labelVariant
	for _, v := range t.Variants() {
		ls, err := t.Labels(ctx, v)
		if err != nil {
			return nil, err
		}
		vs = append(vs, labelVariant{platform: v.PlatformString(), labels: ls})
	}
	return vs, nil
}

// labelValue is a label's value in the variants of platform; platform is
// empty when the value is the same in every variant.
type labelValue struct {
	platform string
	value    string
	// labels are the other labels of (the first of) the variants.
	labels map[string]string
}

// labelValues returns the values of the label name to check: one without a
// platform when every variant has the same value, else one per variant that
// has the label.
func labelValues(vs []labelVariant, name string) []labelValue {
	same := len(vs) > 0
	for _, v := range vs {
		val, ok := v.labels[name]
		if !ok || val != vs[0].labels[name] {
			same = false
			break
		}
	}
	if same {
		return []labelValue{{value: vs[0].labels[name], labels: vs[0].labels}}
	}
	var out []labelValue
	for _, v := range vs {
		if val, ok := v.labels[name]; ok {
			out = append(out, labelValue{platform: v.platform, value: val, labels: v.labels})
		}
	}
	return out
}

// quoteLabelValue quotes s for a message, cut to labelValueMax runes.
func quoteLabelValue(s string) string { return quoteCut(s, labelValueMax) }

// labelBlank reports whether a label value says nothing.
func labelBlank(s string) bool { return strings.TrimSpace(s) == "" }

func runLabelsRequired(ctx context.Context, p *Pass) error {
	vs, err := labelsOfVariants(ctx, p.Target)
	if err != nil || len(vs) == 0 {
		return err
	}
	profile := p.Target.Profile
	for _, name := range profile.RequiredLabels() {
		var lacking []labelVariant
		missing := 0
		for _, v := range vs {
			val, ok := v.labels[name]
			if !ok {
				missing++
			}
			if labelBlank(val) {
				lacking = append(lacking, v)
			}
		}
		if len(lacking) == 0 {
			continue
		}
		if len(lacking) == len(vs) {
			state := "missing or blank"
			switch missing {
			case len(vs):
				state = "missing"
			case 0:
				state = "blank"
			}
			if len(vs) > 1 {
				state += " in every platform"
			}
			hint := ""
			for _, v := range vs {
				if hint = requiredLabelHint(profile, name, v.labels); hint != "" {
					break
				}
			}
			p.Report(requiredLabelFinding(profile, name, "", state, hint))
			continue
		}
		for _, v := range lacking {
			state := "blank"
			if _, ok := v.labels[name]; !ok {
				state = "missing"
			}
			p.Report(requiredLabelFinding(profile, name, v.platform, state, requiredLabelHint(profile, name, v.labels)))
		}
	}
	return nil
}

// requiredLabelFinding reports a missing or blank label of the profile.
// The categories label is optional in Docker's labels documentation (and
// Docker's SDK samples omit it) but asked for by the marketplace submission
// form: a warning.
func requiredLabelFinding(profile Profile, name, platform, state, hint string) Finding {
	f := Finding{Platform: platform, Label: name,
		Message: fmt.Sprintf("required label %q is %s (profile %s)%s", name, state, profile, hint)}
	if name == LabelCategories {
		f.Severity = Warning
		f.Message = fmt.Sprintf("label %q is %s: Docker's labels documentation calls it optional, but the marketplace submission form asks for the categories (e.g. \"utility-tools\")%s", name, state, hint)
	}
	return f
}

// labelAlias is a label found in images in place of a required one.
type labelAlias struct {
	name string
	// hint is a format taking the alias and the required label.
	hint string
}

// labelAliases are, per required label and profile, the labels authors set
// instead of it.
var labelAliases = map[Profile]map[string][]labelAlias{
	ProfileExtension: {
		LabelExtensionAPIVersion: {
			{LabelPluginAPIVersion, "; the image has %q, which extensions renamed %q"},
			{"com.docker.extension.api.version", "; the image has %q, but the label is named %q"},
		},
		LabelIcon: {
			{labelPluginIcon, "; the image has %q, which extensions renamed %q"},
			{"com.docker.extension.icon", "; the image has %q, but the label is named %q"},
		},
		LabelVendor: {
			{LabelAuthors, "; the image has %q, but extensions name their publisher in %q"},
		},
	},
	ProfilePlugin: {
		LabelPluginAPIVersion: {
			{LabelExtensionAPIVersion, "; the image has %q: if it is an extension, check it with profile extension, which requires it instead of %q"},
		},
		LabelAuthors: {
			{LabelVendor, "; the image has %q, but plugins name their authors in %q"},
		},
	},
}

// requiredLabelHint suggests why the required label name is missing from
// labels, or returns "".
func requiredLabelHint(profile Profile, name string, labels map[string]string) string {
	for _, a := range labelAliases[profile][name] {
		if !labelBlank(labels[a.name]) {
			return fmt.Sprintf(a.hint, a.name, name)
		}
	}
	var near []string
	for k, v := range labels {
		if k != name && strings.EqualFold(strings.TrimSpace(k), name) && !labelBlank(v) {
			near = append(near, k)
		}
	}
	if len(near) > 0 {
		slices.Sort(near)
		return fmt.Sprintf("; the image has %q, but label names are case-sensitive", near[0])
	}
	return ""
}

func runLabelsConsistent(ctx context.Context, p *Pass) error {
	vs, err := labelsOfVariants(ctx, p.Target)
	if err != nil || len(vs) < 2 {
		return err
	}
	var names []string
	for _, v := range vs {
		for k := range v.labels {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, name := range names {
		// groups are the distinct values in order of first appearance.
		type group struct {
			value     string
			present   bool
			platforms []string
		}
		var groups []*group
	variants:
		for _, v := range vs {
			val, ok := v.labels[name]
			for _, g := range groups {
				if g.present == ok && g.value == val {
					g.platforms = append(g.platforms, v.platform)
					continue variants
				}
			}
			groups = append(groups, &group{value: val, present: ok, platforms: []string{v.platform}})
		}
		if len(groups) < 2 {
			continue
		}
		parts := make([]string, len(groups))
		for i, g := range groups {
			what := "absent"
			if g.present {
				what = quoteLabelValue(g.value)
			}
			parts[i] = strings.Join(g.platforms, ", ") + ": " + what
		}
		p.Report(Finding{Label: name,
			Message: fmt.Sprintf("label %q differs between platforms: %s", name, strings.Join(parts, "; "))})
	}
	return nil
}

// labelProblem is one problem of a label value; sev is Off for the rule's
// own severity (error), or a lower one.
type labelProblem struct {
	sev Severity
	msg string
}

// labelErrors makes error problems of messages.
func labelErrors(msgs ...string) []labelProblem {
	out := make([]labelProblem, len(msgs))
	for i, m := range msgs {
		out[i] = labelProblem{msg: m}
	}
	return out
}

// labelFormats are the checks of label values with a documented shape, by
// label. Each returns one problem per defect.
var labelFormats = map[string]func(string) []labelProblem{
	LabelScreenshots: func(v string) []labelProblem {
		return checkLabelLinkList(v, "screenshots", "alt", true)
	},
	LabelAdditionalURLs: func(v string) []labelProblem {
		return checkLabelLinkList(v, "additional-urls", "title", false)
	},
	LabelIcon:         func(v string) []labelProblem { return checkLabelIcon(LabelIcon, v) },
	labelPluginIcon:   func(v string) []labelProblem { return checkLabelIcon(labelPluginIcon, v) },
	LabelPublisherURL: func(v string) []labelProblem { return checkLabelURL(LabelPublisherURL, v) },
	LabelCategories:   checkLabelCategories,
	LabelAccountInfo:  checkLabelAccountInfo,
}

// checkLabelFormat checks the value of the label name against its documented
// shape and returns one problem per defect (at most labelProblemsMax and a
// count of the rest). Blank values and labels without a documented shape
// have no problem.
func checkLabelFormat(name, value string) []labelProblem {
	check := labelFormats[name]
	if check == nil || labelBlank(value) {
		return nil
	}
	if len(value) > labelFormatMax {
		return labelErrors(fmt.Sprintf("%s is %d bytes, above the %d byte limit", name, len(value), labelFormatMax))
	}
	problems := check(value)
	if len(problems) > labelProblemsMax {
		rest := problems[labelProblemsMax:]
		sev := Notice
		for _, r := range rest {
			if r.sev == Off || r.sev > sev {
				sev = r.sev
			}
		}
		problems = append(problems[:labelProblemsMax:labelProblemsMax],
			labelProblem{sev: sev, msg: fmt.Sprintf("%s has %d more problems", name, len(rest))})
	}
	return problems
}

func runLabelsFormat(ctx context.Context, p *Pass) error {
	vs, err := labelsOfVariants(ctx, p.Target)
	if err != nil {
		return err
	}
	for name := range labelFormats {
		for _, lv := range labelValues(vs, name) {
			for _, pr := range checkLabelFormat(name, lv.value) {
				p.Report(Finding{Platform: lv.platform, Label: name, Message: pr.msg, Severity: pr.sev})
			}
		}
	}
	return nil
}

// labelHTTPURL reports whether s is an absolute http or https URL with a host.
func labelHTTPURL(s string) bool {
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return (scheme == "http" || scheme == "https") && u.Hostname() != ""
}

// checkLabelURL checks that the label name is an absolute http(s) URL.
func checkLabelURL(name, value string) []labelProblem {
	if labelHTTPURL(value) {
		return nil
	}
	return labelErrors(fmt.Sprintf("%s is not an absolute http(s) URL: %s", name, quoteLabelValue(value)))
}

// labelIconTypes are the image types the labels documentation gives for
// the icon: "The URL of the extension icon, in .svg, .png or .jpg format"
// (https://docs.docker.com/extensions/extensions-sdk/extensions/labels/).
var labelIconTypes = []string{".svg", ".png", ".jpg", ".jpeg"}

// checkLabelIcon checks an icon label: an absolute http(s) URL (an error
// otherwise), of a documented image type (a warning for another file
// extension, such as .ico or .gif; a URL without one is accepted, since
// icon services serve images from paths without extensions).
func checkLabelIcon(name, value string) []labelProblem {
	if probs := checkLabelURL(name, value); probs != nil {
		return probs
	}
	u, _ := url.Parse(value)
	ext := strings.ToLower(path.Ext(u.Path))
	if ext == "" || slices.Contains(labelIconTypes, ext) {
		return nil
	}
	return []labelProblem{{sev: Warning, msg: fmt.Sprintf("%s is a %s file; Docker documents the icon as .svg, .png or .jpg, and the Marketplace may not show another type: %s",
		name, quoteLabelValue(ext), quoteLabelValue(value))}}
}

// checkLabelLinkList checks a JSON array of {textKey, "url"} objects, as
// the screenshots and additional-urls labels hold. short names the label in
// messages; nonEmpty requires at least one entry. A wrong shape is an
// error; an unknown key in an entry is a warning (the Marketplace ignores it).
func checkLabelLinkList(value, short, textKey string, nonEmpty bool) []labelProblem {
	doc, err := ParseJSON([]byte(value))
	if err != nil {
		return labelErrors(fmt.Sprintf("%s is not valid JSON: %v", short, err))
	}
	list, ok := doc.([]any)
	if !ok {
		return labelErrors(fmt.Sprintf(`%s is %s, not a JSON array of {"%s", "url"} objects`, short, jsonKind(doc), textKey))
	}
	if len(list) == 0 && nonEmpty {
		return labelErrors(fmt.Sprintf("%s is an empty array", short))
	}
	var problems []labelProblem
	for i, e := range list {
		at := fmt.Sprintf("%s[%d]", short, i)
		obj, ok := e.(map[string]any)
		if !ok {
			problems = append(problems, labelErrors(fmt.Sprintf(`%s is %s, not a {"%s", "url"} object`, at, jsonKind(e), textKey))...)
			continue
		}
		for _, key := range []string{textKey, "url"} {
			if msg := linkFieldProblem(obj, at+"."+key, key); msg != "" {
				problems = append(problems, labelErrors(msg)...)
			}
		}
		var unknown []string
		for k := range obj {
			if k != textKey && k != "url" {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
		for _, k := range unknown {
			problems = append(problems, labelProblem{sev: Warning,
				msg: fmt.Sprintf("%s has an unknown key %s (only %q and \"url\" are documented)", at, quoteLabelValue(k), textKey)})
		}
	}
	return problems
}

// linkFieldProblem checks one field of a link list entry, or returns "".
func linkFieldProblem(obj map[string]any, field, key string) string {
	raw, ok := obj[key]
	s, isString := raw.(string)
	switch {
	case !ok:
		return field + " is missing"
	case !isString:
		return fmt.Sprintf("%s is %s, not a string", field, jsonKind(raw))
	case labelBlank(s):
		return field + " is blank"
	case key == "url" && !labelHTTPURL(s):
		return fmt.Sprintf("%s is not an absolute http(s) URL: %s", field, quoteLabelValue(s))
	}
	return ""
}

// labelCategories are the Marketplace categories of the
// com.docker.extension.categories label, as documented in "Extension image
// labels": https://docs.docker.com/extensions/extensions-sdk/extensions/labels/
// (source: github.com/docker/docs,
// content/manuals/extensions/extensions-sdk/extensions/labels.md).
var labelCategories = []string{
	"ci-cd",
	"container-orchestration",
	"cloud-deployment",
	"cloud-development",
	"database",
	"kubernetes",
	"networking",
	"image-registry",
	"security",
	"testing-tools",
	"utility-tools",
	"volumes",
}

// checkLabelCategories checks a comma-separated list of Marketplace
// categories. A category outside the documented list is a warning:
// published extensions use others ("ai", "development").
func checkLabelCategories(value string) []labelProblem {
	var problems []labelProblem
	for i, item := range strings.Split(value, ",") {
		c := strings.TrimSpace(item)
		switch {
		case c == "":
			problems = append(problems, labelProblem{sev: Warning, msg: fmt.Sprintf("categories has an empty item at position %d", i+1)})
		case slices.Contains(labelCategories, c):
		case slices.Contains(labelCategories, strings.ToLower(c)):
			problems = append(problems, labelProblem{sev: Warning, msg: fmt.Sprintf("category %s is written in lower case in the documentation: %q", quoteLabelValue(c), strings.ToLower(c))})
		default:
			problems = append(problems, labelProblem{sev: Warning, msg: fmt.Sprintf("category %s is not one of the documented categories (%s)",
				quoteLabelValue(c), strings.Join(labelCategories, ", "))})
		}
	}
	return problems
}

// checkLabelAccountInfo checks com.docker.extension.account-info, which the
// labels documentation allows to be "required" or empty.
func checkLabelAccountInfo(value string) []labelProblem {
	if strings.TrimSpace(value) == "required" {
		return nil
	}
	return labelErrors(fmt.Sprintf(`account-info must be "required" or empty, not %s`, quoteLabelValue(value)))
}

// Placeholder values, compared after normalizeLabelTemplate. Sources:
//
//   - tutorial: the Dockerfile of "Create an advanced frontend extension"
//     (https://docs.docker.com/extensions/extensions-sdk/build/frontend-extension-tutorial/),
//     which docker extension init follows.
//   - init: the Dockerfile docker extension init writes (SDK 0.3), as found
//     in published extensions that kept it: description "My awesome Docker
//     extension", vendor "Awesome Inc.".
//   - init-0.2: the Dockerfile of early docker extension init (SDK 0.2), as
//     found in ../shared/corpus (kubesail, gefyra history): title
//     "example-extension", description "My Example Extension".
//   - minimal: "Create a minimal frontend extension"
//     (https://docs.docker.com/extensions/extensions-sdk/build/minimal-frontend-extension/).
//   - react: the react-extension sample of github.com/docker/extensions-sdk,
//     which the tutorial names as a starting point.
//   - docs: the Example column of "Extension image labels"
//     (https://docs.docker.com/extensions/extensions-sdk/extensions/labels/).
var labelTemplateValues = map[string][]string{
	LabelTitle: {
		"My extension",      // tutorial
		"example-extension", // init-0.2
		"my-extension",      // docs
	},
	LabelDescription: {
		"Your Desktop Extension Description", // tutorial
		"My awesome Docker extension",        // init
		"My Example Extension",               // init-0.2
		"A sample extension to show how easy it's to get started with Desktop Extensions.", // minimal
		"A sample extension that contains a ReactJS application.",                          // react
		"This extension is cool.", // docs
	},
	LabelVendor: {
		"Awesome Inc.", // tutorial, init, minimal
		"Acme, Inc.",   // docs
	},
	LabelAuthors: {
		"Awesome Inc.",
		"Acme, Inc.",
	},
	LabelIcon: {
		"https://example.com/assets/image.svg", // docs
	},
	LabelDetailedDescription: {
		"My detailed description",          // docs
		"<h1>My detailed description</h1>", // docs
		"<h1>Description</h1><p>This is a sample extension that contains a ReactJS application.</p>", // react
	},
	LabelPublisherURL: {
		"https://example.com", // docs
	},
	LabelChangelog: {
		"Extension changelog", // docs
		"<p>Extension changelog<ul><li>New feature A</li><li>Bug fix on feature B</li></ul></p>", // docs
	},
}

// labelTemplateLinks are the placeholder entries of the docs' screenshots
// and additional-urls examples, by label and key.
var labelTemplateLinks = map[string]map[string][]string{
	LabelScreenshots: {
		"url": {"https://example.com/image1.png", "https://example.com/image2.jpg"},
		"alt": {"alternative text for image 1", "alternative text for image2"},
	},
	LabelAdditionalURLs: {
		"url": {"https://example.com/docs", "https://example.com/bar/support", "https://example.com/tos", "https://example.com/privacy"},
	},
}

// labelTemplateIcons are the Moby logos the tutorial and older SDK templates
// use as the icon; only Docker's own extensions should keep them.
var labelTemplateIcons = []string{
	"https://www.docker.com/wp-content/uploads/2022/03/Moby-logo.png",
	"https://www.docker.com/sites/default/files/d8/2019-07/Moby-logo.png",
}

// normalizeLabelTemplate folds case, white space, white space next to HTML
// tags and a trailing slash, so reformatted placeholders still match.
func normalizeLabelTemplate(s string) string {
	s = strings.ToLower(strings.Join(strings.Fields(s), " "))
	s = strings.ReplaceAll(strings.ReplaceAll(s, "> ", ">"), " <", "<")
	return strings.TrimSuffix(s, "/")
}

// labelIsTemplate reports whether value is one of the placeholders.
func labelIsTemplate(value string, placeholders []string) bool {
	n := normalizeLabelTemplate(value)
	return n != "" && slices.ContainsFunc(placeholders, func(p string) bool { return normalizeLabelTemplate(p) == n })
}

// labelVendorIsDocker reports whether the publisher is Docker itself.
func labelVendorIsDocker(labels map[string]string) bool {
	for _, name := range []string{LabelVendor, LabelAuthors} {
		switch strings.TrimSuffix(normalizeLabelTemplate(labels[name]), ".") {
		case "docker", "docker inc", "docker, inc":
			return true
		}
	}
	return false
}

// checkLabelTemplate returns a message per placeholder in the value of the
// label name; labels are the variant's other labels.
func checkLabelTemplate(name, value string, labels map[string]string) []string {
	if labelBlank(value) || len(value) > labelFormatMax {
		return nil
	}
	var problems []string
	if labelIsTemplate(value, labelTemplateValues[name]) {
		problems = append(problems, fmt.Sprintf("label %q still has the placeholder value %s", name, quoteLabelValue(value)))
	}
	if (name == LabelIcon || name == labelPluginIcon) && labelIsTemplate(value, labelTemplateIcons) && !labelVendorIsDocker(labels) {
		problems = append(problems, fmt.Sprintf("label %q is still the template's Moby logo %s", name, quoteLabelValue(value)))
	}
	if keys := labelTemplateLinks[name]; keys != nil {
		doc, err := ParseJSON([]byte(value))
		if err != nil {
			return problems // labels/format reports it
		}
		list, _ := doc.([]any)
		short := strings.TrimPrefix(name, "com.docker.extension.")
		for i, e := range list {
			obj, _ := e.(map[string]any)
			for _, key := range []string{"alt", "title", "url"} {
				s, _ := obj[key].(string)
				if labelIsTemplate(s, keys[key]) {
					problems = append(problems, fmt.Sprintf("label %q still has the placeholder %s at %s[%d].%s",
						name, quoteLabelValue(s), short, i, key))
				}
			}
		}
	}
	return problems
}

func runLabelsTemplate(ctx context.Context, p *Pass) error {
	vs, err := labelsOfVariants(ctx, p.Target)
	if err != nil {
		return err
	}
	names := []string{labelPluginIcon}
	for name := range labelTemplateValues {
		names = append(names, name)
	}
	for name := range labelTemplateLinks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		for _, lv := range labelValues(vs, name) {
			for _, msg := range checkLabelTemplate(name, lv.value, lv.labels) {
				p.Report(Finding{Platform: lv.platform, Label: name, Message: msg})
			}
		}
	}
	return nil
}
