package checks

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/docker/desktop-plugin-check/image"
	"github.com/xeipuuv/gojsonschema"
)

// metadataRules are the rules about /metadata.json: present, in the
// documented format, without obsolete keys, and the same in every variant.
var metadataRules = []*Rule{metadataPresent, metadataSchema, metadataObsolete, metadataConsistent}

// metadataProblemsMax caps the schema problems reported for one
// metadata.json, so a hostile file cannot flood the report.
const metadataProblemsMax = 100

// metadataQuoteMax is how much of a key or value a message quotes, in runes.
const metadataQuoteMax = 64

var metadataPresent = &Rule{
	ReadsFiles: true,
	ID:         "metadata/present",
	Title:      "/metadata.json is missing or not a regular file",
	Severity:   Error,
	Help: `Docker Desktop installs a plugin by reading /metadata.json at the root of the
image's file system: it names the icon, the UI, the VM backend and the host
binaries. Without it, installation fails.

The file is missing when the Dockerfile's final stage does not copy it, when a
later layer deletes it, or when it is a directory or a symbolic link that leads
nowhere. Copy it in the final stage, for every platform:

~~~dockerfile
COPY metadata.json .
~~~

See https://docs.docker.com/extensions/extensions-sdk/architecture/metadata/.`,
	Run: runMetadataPresent,
}

var metadataSchema = &Rule{
	ReadsFiles: true,
	ID:         "metadata/schema",
	Title:      "metadata.json is not JSON or does not match the documented format",
	Severity:   Error,
	Help: `Docker Desktop reads metadata.json to install the plugin. The documented format is:

~~~json
{
  "icon": "docker.svg",
  "ui": {
    "dashboard-tab": {"title": "My Plugin", "root": "/ui", "src": "index.html",
                      "backend": {"socket": "backend.sock"}}
  },
  "vm": {"image": "${DESKTOP_PLUGIN_IMAGE}", "exposes": {"socket": "backend.sock"}},
  "host": {
    "binaries": [
      {"darwin": [{"path": "/darwin/tool"}], "windows": [{"path": "/windows/tool.exe"}],
       "linux": [{"path": "/linux/tool"}]}
    ]
  }
}
~~~

Every section is optional. ui.dashboard-tab needs title, root and src; vm has
either image or composefile, not both; every host binary has a path. Docker
Desktop silently ignores keys it does not know, so a misspelt key ("hosts",
"composeFile") ships a plugin without the part it names: unknown keys are
reported too. The file must be at most 1 MiB and nested at most 256 levels
deep.

See https://docs.docker.com/extensions/extensions-sdk/architecture/metadata/.`,
	Run: runMetadataSchema,
}

var metadataObsolete = &Rule{
	ReadsFiles: true,
	ID:         "metadata/obsolete",
	Title:      "metadata.json has keys of the plugin era",
	Severity:   Warning,
	Help: `Early plugins described themselves in metadata.json with "name", "provider" and
"desktop-plugin-version". Docker Desktop now reads this information from image
labels, and docker extension validate rejects the keys: "metadata.json: (root):
Additional property name is not allowed" (Extensions SDK 0.2.3 release notes:
"docker extension validate now detect obsolete fields name and provider in
metadata.json"). Under the extension profile a key is therefore an error; under the
plugin profile, where these keys were the format of the time, a warning.

- "name": set the org.opencontainers.image.title label.
- "provider": set the org.opencontainers.image.vendor label.
- "desktop-plugin-version": set the API version label
  (com.docker.desktop.extension.api.version, or com.docker.desktop.plugin.api.version
  under the plugin profile) to the Docker Desktop API versions the plugin needs,
  such as ">= 0.3.4".

Then remove the keys from metadata.json.`,
	Run: runMetadataObsolete,
}

var metadataConsistent = &Rule{
	ReadsFiles: true,
	ID:         "metadata/consistent",
	Title:      "metadata.json differs between platform variants",
	Severity:   Error,
	Help: `Docker Desktop installs the variant of the user's platform, so a metadata.json
that differs between variants gives Intel and Apple silicon users different
plugins, and one that is missing in a variant cannot be installed there. It
usually means the variants were built from different Dockerfiles or commits.

Build every platform in one build from one Dockerfile, and copy the same
metadata.json in its final stage:

~~~sh
docker buildx build --platform linux/amd64,linux/arm64 --push -t acme/disk-usage:1.2.0 .
~~~

Differences in white space only are not reported.`,
	Run: runMetadataConsistent,
}

// metadataVariant is one variant's metadata.json.
type metadataVariant struct {
	platform string
	m        *Metadata
}

// regular reports whether the variant has a regular file /metadata.json.
func (mv metadataVariant) regular() bool {
	return mv.m != nil && mv.m.File.Exists() && mv.m.File.Kind == image.Regular
}

// parsed reports whether the variant's metadata.json is JSON.
func (mv metadataVariant) parsed() bool { return mv.regular() && mv.m.ParseError == nil }

// metadataOfVariants reads every variant's metadata.json.
func metadataOfVariants(ctx context.Context, t *Target) ([]metadataVariant, error) {
	var mvs []metadataVariant
	for _, v := range t.Variants() {
		m, err := t.Metadata(ctx, v)
		if err != nil {
			return nil, err
		}
		mvs = append(mvs, metadataVariant{platform: v.PlatformString(), m: m})
	}
	return mvs, nil
}

// metadataEquivalent reports whether two variants have the same
// metadata.json: both absent, the same bytes, or JSON of equal values.
func metadataEquivalent(a, b metadataVariant) bool {
	if !a.regular() || !b.regular() {
		return a.regular() == b.regular()
	}
	fa, fb := a.m.File, b.m.File
	if fa.Size == fb.Size && string(fa.Data) == string(fb.Data) {
		return true
	}
	return a.parsed() && b.parsed() && reflect.DeepEqual(a.m.Value, b.m.Value)
}

// metadataSame reports whether every variant has the same regular
// metadata.json, so its findings are reported once, without a platform.
func metadataSame(mvs []metadataVariant) bool {
	if len(mvs) == 0 || !mvs[0].regular() {
		return false
	}
	for _, mv := range mvs[1:] {
		if !metadataEquivalent(mvs[0], mv) {
			return false
		}
	}
	return true
}

// metadataToCheck returns the variants whose metadata.json the content rules
// check: only the first, without its platform, when all are the same.
func metadataToCheck(mvs []metadataVariant) []metadataVariant {
	if metadataSame(mvs) {
		return []metadataVariant{{m: mvs[0].m}}
	}
	var out []metadataVariant
	for _, mv := range mvs {
		if mv.regular() {
			out = append(out, mv)
		}
	}
	return out
}

// metadataAbsence explains why f is not a regular file /metadata.json, or
// returns "".
func metadataAbsence(f *image.File) string {
	switch {
	case f == nil:
		return MetadataPath + " does not exist"
	case f.Kind == image.Regular:
		return ""
	case f.Problem != "":
		return fmt.Sprintf("%s cannot be resolved: %s", MetadataPath, f.Problem)
	case f.Kind == image.Missing && f.Resolved != "" && f.Resolved != MetadataPath:
		return fmt.Sprintf("%s is a symbolic link to %s, which does not exist", MetadataPath, f.Resolved)
	case f.Kind == image.Missing:
		return MetadataPath + " does not exist"
	}
	return fmt.Sprintf("%s is a %s, not a regular file", MetadataPath, f.Kind)
}

func runMetadataPresent(ctx context.Context, p *Pass) error {
	mvs, err := metadataOfVariants(ctx, p.Target)
	if err != nil {
		return err
	}
	var absent []Finding
	for _, mv := range mvs {
		if msg := metadataAbsence(mv.m.File); msg != "" {
			absent = append(absent, Finding{Platform: mv.platform, Path: MetadataPath, Message: msg})
		}
	}
	same := len(absent) > 0 && len(absent) == len(mvs)
	for _, f := range absent {
		same = same && f.Message == absent[0].Message
	}
	if same {
		f := absent[0]
		f.Platform = ""
		if len(mvs) > 1 {
			f.Message += " (all platforms)"
		}
		p.Report(f)
		return nil
	}
	for _, f := range absent {
		p.Report(f)
	}
	return nil
}

func runMetadataSchema(ctx context.Context, p *Pass) error {
	mvs, err := metadataOfVariants(ctx, p.Target)
	if err != nil {
		return err
	}
	for _, mv := range metadataToCheck(mvs) {
		var problems []metadataProblem
		if mv.m.ParseError != nil {
			problems = []metadataProblem{{Message: metadataParseMessage(mv.m, p.Target.Options.MetadataMax)}}
		} else if problems, err = checkMetadataSchema(mv.m.Value); err != nil {
			return err
		}
		for _, pr := range problems {
			p.Report(Finding{Platform: mv.platform, Path: MetadataPath, Pointer: pr.Pointer, Message: pr.Message})
		}
	}
	return nil
}

// metadataParseMessage says why a regular metadata.json could not be parsed:
// too large, nested too deeply, or not JSON.
func metadataParseMessage(m *Metadata, limit int64) string {
	switch {
	case m.Raw == nil && limit > 0 && m.File.Size > limit:
		return fmt.Sprintf("metadata.json is too large: %d bytes, above the %d byte limit", m.File.Size, limit)
	case checkDepth(m.Raw, maxJSONDepth) != nil:
		return fmt.Sprintf("metadata.json is nested too deeply: more than %d levels", maxJSONDepth)
	}
	err := m.ParseError
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return fmt.Sprintf("metadata.json is not valid JSON: %v (at byte %d)", err, syntax.Offset)
	}
	return fmt.Sprintf("metadata.json is not valid JSON: %v", err)
}

// metadataObsoleteKeys are the plugin-era keys, with what replaces them
// under a profile.
var metadataObsoleteKeys = []struct {
	key     string
	instead func(Profile) string
}{
	{"name", func(Profile) string { return "Docker Desktop names the plugin after the " + LabelTitle + " label" }},
	{"provider", func(Profile) string { return "Docker Desktop names the publisher after the " + LabelVendor + " label" }},
	{"desktop-plugin-version", func(p Profile) string {
		return "the " + p.APIVersionLabel() + " label says which Docker Desktop API versions the plugin needs"
	}},
}

// isObsoleteMetadataKey reports whether key is one of metadataObsoleteKeys.
func isObsoleteMetadataKey(key string) bool {
	for _, o := range metadataObsoleteKeys {
		if o.key == key {
			return true
		}
	}
	return false
}

func runMetadataObsolete(ctx context.Context, p *Pass) error {
	mvs, err := metadataOfVariants(ctx, p.Target)
	if err != nil {
		return err
	}
	for _, mv := range metadataToCheck(mvs) {
		obj, ok := mv.m.Value.(map[string]any)
		if !ok || mv.m.ParseError != nil {
			continue
		}
		for _, o := range metadataObsoleteKeys {
			if _, ok := obj[o.key]; !ok {
				continue
			}
			f := Finding{Platform: mv.platform, Path: MetadataPath, Pointer: "/" + escapePointerToken(o.key),
				Message: fmt.Sprintf("%q is obsolete: %s", o.key, o.instead(p.Target.Profile))}
			if p.Target.Profile == ProfileExtension {
				f.Severity = Error
				f.Message = fmt.Sprintf("%q is obsolete and docker extension validate refuses it (\"Additional property %s is not allowed\"): %s", o.key, o.key, o.instead(p.Target.Profile))
			}
			p.Report(f)
		}
	}
	return nil
}

func runMetadataConsistent(ctx context.Context, p *Pass) error {
	mvs, err := metadataOfVariants(ctx, p.Target)
	if err != nil || len(mvs) < 2 {
		return err
	}
	// groups are the distinct metadata.json, in order of first appearance.
	var groups [][]metadataVariant
variants:
	for _, mv := range mvs {
		for i, g := range groups {
			if metadataEquivalent(g[0], mv) {
				groups[i] = append(g, mv)
				continue variants
			}
		}
		groups = append(groups, []metadataVariant{mv})
	}
	if len(groups) < 2 {
		return nil
	}
	// The largest group (the first of equals) is the reference; every
	// variant of another group is reported against it.
	refIndex := 0
	for i, g := range groups {
		if len(g) > len(groups[refIndex]) {
			refIndex = i
		}
	}
	ref := groups[refIndex]
	refNames := make([]string, len(ref))
	for i, mv := range ref {
		refNames[i] = mv.platform
	}
	refPlatforms := joinPlatforms(refNames)
	for i, g := range groups {
		if i == refIndex {
			continue
		}
		for _, mv := range g {
			f := Finding{Platform: mv.platform, Path: MetadataPath}
			switch {
			case !mv.regular():
				f.Message = fmt.Sprintf("metadata.json is missing in %s but present in %s", mv.platform, refPlatforms)
			case !ref[0].regular():
				f.Message = fmt.Sprintf("metadata.json is present in %s but missing in %s", mv.platform, refPlatforms)
			case mv.parsed() && ref[0].parsed():
				ptr, want, got := firstJSONDifference(ref[0].m.Value, mv.m.Value, "")
				f.Pointer = ptr
				at := ptr
				if at == "" {
					at = "the top level"
				}
				f.Message = fmt.Sprintf("metadata.json of %s differs from %s at %s: %s in %s, %s in %s",
					mv.platform, refPlatforms, at, describeJSONValue(got), mv.platform, describeJSONValue(want), refPlatforms)
			default:
				f.Message = fmt.Sprintf("metadata.json of %s differs from %s (not both are JSON)", mv.platform, refPlatforms)
			}
			p.Report(f)
		}
	}
	return nil
}

// joinPlatforms lists platforms: "a", "a and b", "a, b and c".
func joinPlatforms(ps []string) string {
	if len(ps) < 2 {
		return strings.Join(ps, "")
	}
	return strings.Join(ps[:len(ps)-1], ", ") + " and " + ps[len(ps)-1]
}

// jsonAbsent marks a value that is not there in firstJSONDifference.
type jsonAbsent struct{}

// firstJSONDifference returns the JSON pointer (below ptr) of the first
// place where a and b differ, visiting object keys in sorted order, and the
// values there (jsonAbsent{} where one has nothing). a and b are values
// ParseJSON returned and must differ.
func firstJSONDifference(a, b any, ptr string) (string, any, any) {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(a)+len(b))
		for k := range a {
			keys = append(keys, k)
		}
		for k := range b {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			at := ptr + "/" + escapePointerToken(k)
			va, inA := a[k]
			vb, inB := b[k]
			switch {
			case !inA:
				return at, jsonAbsent{}, vb
			case !inB:
				return at, va, jsonAbsent{}
			case !reflect.DeepEqual(va, vb):
				return firstJSONDifference(va, vb, at)
			}
		}
	case []any:
		b, ok := b.([]any)
		if !ok {
			break
		}
		for i := range max(len(a), len(b)) {
			at := ptr + "/" + strconv.Itoa(i)
			switch {
			case i >= len(a):
				return at, jsonAbsent{}, b[i]
			case i >= len(b):
				return at, a[i], jsonAbsent{}
			case !reflect.DeepEqual(a[i], b[i]):
				return firstJSONDifference(a[i], b[i], at)
			}
		}
	}
	return ptr, a, b
}

// describeJSONValue renders a JSON value for a message: scalars as JSON
// (strings cut short), containers by kind.
func describeJSONValue(v any) string {
	switch v := v.(type) {
	case jsonAbsent:
		return "absent"
	case nil:
		return "null"
	case string:
		return quoteMetadata(v)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return jsonKind(v)
}

// quoteMetadata quotes s for a message, cut to metadataQuoteMax runes.
func quoteMetadata(s string) string { return quoteCut(s, metadataQuoteMax) }

// escapePointerToken escapes a key for a JSON pointer (RFC 6901).
func escapePointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// metadataProblem is one way a metadata.json departs from the documented
// format.
type metadataProblem struct {
	// Pointer is the RFC 6901 JSON pointer of the value the problem is
	// about; for a missing key, of the object that lacks it.
	Pointer string
	Message string
}

//go:embed metadata.schema.json
var metadataSchemaJSON []byte

// compiledMetadataSchema is metadata.schema.json, compiled once.
var compiledMetadataSchema = sync.OnceValues(func() (*gojsonschema.Schema, error) {
	s, err := gojsonschema.NewSchema(gojsonschema.NewBytesLoader(metadataSchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("compiling metadata.schema.json: %w", err)
	}
	return s, nil
})

// metadataSchemaTree is metadata.schema.json as generic values, to look up
// the keys a schema object documents.
var metadataSchemaTree = sync.OnceValue(func() map[string]any {
	tree, _ := ParseJSON(metadataSchemaJSON)
	m, _ := tree.(map[string]any)
	return m
})

// contextDelimiter joins the tokens of a gojsonschema context. It is not
// valid UTF-8, so it never occurs in a key of a document encoding/json
// decoded (which replaces invalid bytes by U+FFFD).
const contextDelimiter = "\xff"

// combinatorMessages word the failures of the schema's anyOf and not
// clauses, which gojsonschema reports without saying what they mean. The key
// is the schema location (the pointer with array indices as "*") and the
// error type.
var combinatorMessages = map[string]string{
	"/vm number_any_of": `"image" or "composefile" is required`,
	"/vm number_not":    `"image" and "composefile" exclude each other: keep one`,
}

// checkMetadataSchema validates a parsed metadata.json (a value ParseJSON
// returned) against metadata.schema.json and returns its problems, sorted
// by pointer, at most metadataProblemsMax and a count of the rest.
func checkMetadataSchema(doc any) ([]metadataProblem, error) {
	schema, err := compiledMetadataSchema()
	if err != nil {
		return nil, err
	}
	res, err := schema.Validate(gojsonschema.NewGoLoader(doc))
	if err != nil {
		return nil, fmt.Errorf("validating metadata.json: %w", err)
	}
	// schemaError is a gojsonschema error with its pointer, the value it is
	// about (for a missing key, the object that lacks it).
	type schemaError struct {
		ptr    string
		tokens []string
		prop   string
		err    gojsonschema.ResultError
	}
	var errs []schemaError
	// combined are the pointers where an anyOf failed: gojsonschema adds the
	// "required" errors of the closest alternative, which the anyOf message
	// replaces.
	combined := map[string]bool{}
	for _, e := range res.Errors() {
		tokens := contextTokens(e.Context())
		se := schemaError{ptr: jsonPointer(tokens), tokens: tokens, err: e}
		se.prop, _ = e.Details()["property"].(string)
		switch e.Type() {
		case "additional_property_not_allowed":
			se.ptr += "/" + escapePointerToken(se.prop)
		case "number_any_of":
			combined[se.ptr] = true
		}
		errs = append(errs, se)
	}
	errs = slices.DeleteFunc(errs, func(se schemaError) bool {
		return se.err.Type() == "required" && combined[se.ptr]
	})
	slices.SortFunc(errs, func(a, b schemaError) int {
		return cmp.Or(strings.Compare(a.ptr, b.ptr), strings.Compare(a.err.Type(), b.err.Type()),
			strings.Compare(a.prop, b.prop))
	})
	errs = slices.CompactFunc(errs, func(a, b schemaError) bool {
		return a.ptr == b.ptr && a.err.Type() == b.err.Type() && a.prop == b.prop
	})
	// Messages are built only for the problems reported.
	rest := 0
	if len(errs) > metadataProblemsMax {
		rest = len(errs) - metadataProblemsMax
		errs = errs[:metadataProblemsMax]
	}
	problems := make([]metadataProblem, 0, len(errs)+1)
	for _, se := range errs {
		problems = append(problems, metadataProblem{Pointer: se.ptr,
			Message: schemaErrorMessage(doc, se.tokens, se.prop, se.err)})
	}
	if rest > 0 {
		problems = append(problems, metadataProblem{Message: fmt.Sprintf("metadata.json has %d more problems", rest)})
	}
	return problems, nil
}

// schemaErrorMessage words a gojsonschema error about the value at tokens
// in doc; prop is the key a required or unknown key error names.
func schemaErrorMessage(doc any, tokens []string, prop string, e gojsonschema.ResultError) string {
	where := metadataLocation(doc, tokens)
	switch e.Type() {
	case "required":
		return fmt.Sprintf("%s: %s is required", where, quoteMetadata(prop))
	case "additional_property_not_allowed":
		return fmt.Sprintf("%s: unknown key %s%s", where, quoteMetadata(prop), suggestMetadataKey(tokens, prop))
	case "invalid_type":
		expected, _ := e.Details()["expected"].(string)
		given, _ := e.Details()["given"].(string)
		return fmt.Sprintf("%s: must be %s, not %s", where, withArticle(expected), withArticle(given))
	case "string_gte":
		return where + ": must not be empty"
	case "number_any_of", "number_not", "number_one_of":
		if text, ok := combinatorMessages[schemaLocation(doc, tokens)+" "+e.Type()]; ok {
			return where + ": " + text
		}
		return where + ": does not match the documented format"
	}
	return where + ": " + e.Description()
}

// contextTokens returns the reference tokens of a gojsonschema context,
// without its "(root)".
func contextTokens(c *gojsonschema.JsonContext) []string {
	if c == nil {
		return nil
	}
	tokens := strings.Split(c.String(contextDelimiter), contextDelimiter)
	return tokens[1:]
}

// jsonPointer joins reference tokens into an RFC 6901 JSON pointer.
func jsonPointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapePointerToken(t))
	}
	return b.String()
}

// simpleMetadataKey matches keys a location can show after a dot.
var simpleMetadataKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// metadataLocation names the value at tokens in doc for a message:
// "ui.dashboard-tab", "host.binaries[0].windows[1].path", or "metadata.json"
// for the whole document.
func metadataLocation(doc any, tokens []string) string {
	if len(tokens) == 0 {
		return "metadata.json"
	}
	var b strings.Builder
	node := doc
	for _, t := range tokens {
		switch n := node.(type) {
		case []any:
			b.WriteString("[" + t + "]")
			node = nil
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < len(n) {
				node = n[i]
			}
			continue
		case map[string]any:
			node = n[t]
		default:
			node = nil
		}
		switch {
		case !simpleMetadataKey.MatchString(t):
			b.WriteString("[" + quoteMetadata(t) + "]")
		case b.Len() > 0:
			b.WriteString("." + t)
		default:
			b.WriteString(t)
		}
	}
	return b.String()
}

// schemaLocation is the pointer of tokens in doc with array indices as "*",
// the way the schema sees it.
func schemaLocation(doc any, tokens []string) string {
	var b strings.Builder
	node := doc
	for _, t := range tokens {
		b.WriteByte('/')
		switch n := node.(type) {
		case []any:
			b.WriteByte('*')
			node = nil
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < len(n) {
				node = n[i]
			}
		case map[string]any:
			b.WriteString(escapePointerToken(t))
			node = n[t]
		default:
			b.WriteString(escapePointerToken(t))
			node = nil
		}
	}
	return b.String()
}

// suggestMetadataKey returns ` (did you mean "host"?)` when the unknown key
// is a near miss of a key the schema documents for the object at tokens,
// or "".
func suggestMetadataKey(tokens []string, key string) string {
	if utf8.RuneCountInString(key) > metadataQuoteMax {
		return ""
	}
	node := metadataSchemaTree()
	for _, t := range tokens {
		node = resolveSchemaRef(node)
		if props, ok := node["properties"].(map[string]any); ok {
			if sub, ok := props[t].(map[string]any); ok {
				node = sub
				continue
			}
		}
		items, ok := node["items"].(map[string]any)
		if !ok {
			return ""
		}
		node = items
	}
	props, _ := resolveSchemaRef(node)["properties"].(map[string]any)
	best, bestDist := "", 0
	for k := range props {
		if isObsoleteMetadataKey(k) {
			continue
		}
		// A near miss is one edit away from a short key, two from a longer one.
		near := 1
		if len(k) > 4 {
			near = 2
		}
		d := editDistance(strings.ToLower(key), strings.ToLower(k))
		if d <= near && (best == "" || d < bestDist || (d == bestDist && k < best)) {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// resolveSchemaRef follows a local "$ref" of the schema.
func resolveSchemaRef(node map[string]any) map[string]any {
	ref, ok := node["$ref"].(string)
	if !ok {
		return node
	}
	name, ok := strings.CutPrefix(ref, "#/definitions/")
	if !ok {
		return node
	}
	defs, _ := metadataSchemaTree()["definitions"].(map[string]any)
	if def, ok := defs[name].(map[string]any); ok {
		return def
	}
	return node
}

// editDistance is the Levenshtein distance between short strings a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// withArticle reads a gojsonschema type name: "an object", "a string", "null".
func withArticle(typ string) string {
	switch typ {
	case "null", "":
		return "null"
	case "object", "array", "integer":
		return "an " + typ
	}
	return "a " + typ
}
