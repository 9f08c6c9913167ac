package checks

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/docker/desktop-plugin-check/source"
)

// Lint is what the lint read of a plugin's sources: the Dockerfile as
// BuildKit would build it for each platform, the build context and
// metadata.json. The source/* rules read it; without it they report
// nothing.
type Lint struct {
	// DockerfilePath is the Dockerfile's path as reports show it (relative
	// to the directory linted, slash-separated).
	DockerfilePath string
	// Err is why BuildKit would refuse the Dockerfile; Builds is then
	// empty.
	Err *source.Error
	// Builds are the Dockerfile built for each platform.
	Builds []LintBuild
	// Context is the build context; a file it lacks is not taken to be
	// missing (the checkout may be partial, or the file made before the
	// build).
	Context fs.FS
	// MetadataPath and Metadata are metadata.json's path as reports show it
	// and its content; Metadata is nil when it was not read.
	MetadataPath string
	Metadata     []byte
	// Built says the target is the image built from these sources, not the
	// lint's stand-in: source/files then leaves the paths to
	// metadata/files, and source/image-labels compares the image's labels
	// with the Dockerfile's.
	Built bool
}

// LintBuild is the Dockerfile as built for one platform.
type LintBuild struct {
	Platform   string
	Dockerfile *source.Dockerfile
}

// lintImageRules are the image rules that apply to the lint's stand-in
// image, whose config carries the Dockerfile's labels and whose one layer
// holds metadata.json and the compose file: the rules that read nothing
// else. metadata/present is not among them: source/files says whether
// the build puts /metadata.json in the image.
var lintImageRules = []*Rule{
	labelsRequired, labelsConsistent, labelsFormat, labelsTemplate,
	metadataSchema, metadataObsolete, metadataConsistent,
	vmCompose, apiVersion, apiBare, apiCompatible,
}

// LintRules returns the rules the lint runs for what it read: the image
// rules that apply to its stand-in image (no label or API rule when the
// Dockerfile cannot be read, since the labels are then not known), and
// the source/* rules.
func LintRules(l *Lint) []*Rule {
	var out []*Rule
	for _, r := range lintImageRules {
		if l.Err != nil && (strings.HasPrefix(r.ID, "labels/") || strings.HasPrefix(r.ID, "api/")) {
			continue
		}
		out = append(out, r)
	}
	return append(out, sourceRules...)
}

var sourceRules = []*Rule{sourceDockerfile, sourceStrayLabel, sourceLabelTwice, sourceUnsetArg, sourceQuote, sourceFiles, sourceImageLabels}

var sourceDockerfile = &Rule{
	ID:       "source/dockerfile",
	Title:    "BuildKit can read the Dockerfile",
	Severity: Error,
	Help: `The lint reads the Dockerfile with BuildKit's own parser and instruction reader, as
` + "`docker buildx build`" + ` does: a Dockerfile that BuildKit refuses (a line that is no instruction,
a LABEL without ` + "`=`" + `, a COPY --from naming a stage index that does not exist, a --target that is
no stage) cannot be built, and the finding points at its line. Until it parses, the label rules
are not run on it.

BuildKit's warnings are reported too, as warnings: an empty line inside an instruction continued
with ` + "`\\`" + ` ("Empty continuation lines will become errors in a future release"). A common cause
is a long LABEL value split over lines without a ` + "`\\`" + ` at the end of each:

` + "```dockerfile\nLABEL com.docker.extension.detailed-description=\"<p>First paragraph.</p>\\\n    <p>Second paragraph.</p>\"\n```",
	Run: runSourceDockerfile,
}

var sourceStrayLabel = &Rule{
	ID:       "source/stray-label",
	Title:    "A plugin label is set only in a stage that is not the image",
	Severity: Warning,
	Help: `Labels belong to the stage that sets them and to the stages built ` + "`FROM`" + ` it: a LABEL in
a build stage that the final stage only copies files from (` + "`COPY --from`" + `) is not in the image
Docker Desktop reads. Only labels Docker Desktop or the marketplace read
(` + "`com.docker.desktop.*`, `com.docker.extension.*`, `org.opencontainers.image.*`" + `) are reported; a
stage may carry its own labels (` + "`LABEL stage=builder`" + `) on purpose.

Move the LABEL into the final stage (the one ` + "`--target`" + ` names, else the last one).`,
	Run: runSourceStrayLabel,
}

var sourceLabelTwice = &Rule{
	ID:       "source/label-twice",
	Title:    "A label is set twice in the final stage with different values",
	Severity: Warning,
	Help: `When the final stage sets a label more than once, the image keeps the last value and the
first is lost: usually a copy-and-paste left from the SDK template, or a value edited in one
place only. The finding points at the value that is lost. A value set again unchanged is not
reported, nor a label that the final stage sets over one of the stage it is built FROM.`,
	Run: runSourceLabelTwice,
}

var sourceUnsetArg = &Rule{
	ID:       "source/unset-arg",
	Title:    "A label uses an ARG that has no value",
	Severity: Warning,
	Help: `A label written with ` + "`$NAME` or `${NAME}`" + ` is expanded when the image is built: an ARG with
no default that the build does not set with ` + "`--build-arg`" + ` expands to nothing, so the label is
empty, or cut (` + "`https://example.com/releases/v`" + `). A global ARG (declared before the first FROM)
is not visible in a stage until the stage declares it again with ` + "`ARG NAME`" + `.

Give the ARG a default, redeclare it in the final stage, or pass the same ` + "`--build-arg`" + ` to the
lint as to the build. ` + "`${NAME:-default}`" + ` is not reported.`,
	Run: runSourceUnsetArg,
}

var sourceQuote = &Rule{
	ID:       "source/quote",
	Title:    "A quote inside a label value ends the value early",
	Severity: Warning,
	Help: `BuildKit reads a LABEL value with shell quoting: a ` + "`\"`" + ` meant to be inside a double-quoted
value ends it, and what follows is glued on without the quotes. JSON labels then lose their
quotes and stop being JSON:

` + "```dockerfile\n# the image gets [{alt: Home, url: https://...}]\nLABEL com.docker.extension.screenshots=\"[{\"alt\": \"Home\", \"url\": \"https://...\"}]\"\n# write instead\nLABEL com.docker.extension.screenshots='[{\"alt\": \"Home\", \"url\": \"https://...\"}]'\n```" + `

The finding points at the quote that ends the value; it is reported when a word follows that
quote with no blank and another quote comes after it. It is a warning: HTML in a description
often survives the loss (` + "`<a href=https://...>`" + ` still links), and a label whose format the loss
breaks is an error of labels/format.`,
	Run: runSourceQuote,
}

var sourceFiles = &Rule{
	ID:       "source/files",
	Title:    "The final stage puts every path metadata.json names in the image",
	Severity: Error,
	Help: `Docker Desktop copies the files metadata.json names (the icon, the UI root, the compose file,
the host binaries) out of the image, and /metadata.json itself must be there. The lint follows
the COPY and ADD instructions of the final stage (and of the stages it is built FROM) from the
build context: a path that no COPY, ADD or RUN can put in the image is an error, on the line of
metadata.json that names it.

Without building, the lint cannot see what a ` + "`COPY --from`" + ` stage, an ` + "`ADD`" + ` of a URL or archive,
or a ` + "`RUN`" + ` produces: a path that only they may produce is a notice that says which lines, and
the image check (metadata/files) settles it. A ` + "`COPY --from`" + ` whose destination is the path counts
as putting it there (the build fails when its source is missing), and a UI entry point is
looked for only under a root that comes from the build context. A COPY source that is missing
from the directory linted is not a finding: the build fails on it anyway, and a partial
checkout or a file generated before the build must not raise false errors. Files of an
external base image are not known: copy what metadata.json names in the Dockerfile.`,
	Run: runSourceFiles,
}

var sourceImageLabels = &Rule{
	ID:       "source/image-labels",
	Title:    "The image's labels are what the Dockerfile says",
	Severity: Warning,
	Help: `When the Action is given both the sources and the image, the image's labels are compared with
the final stage's: a label that differs, or that the image lacks, means the image was built from
another commit (a stale image) or with a build argument the lint was not given. A label whose
value uses a variable (` + "`${VERSION}`" + `) and differs is a notice: pass the same ` + "`--build-arg`" + `
(input ` + "`build-args`" + `) to the lint as to the build.`,
	Run: runSourceImageLabels,
}

// lintOf returns the pass's lint, nil when there is none.
func lintOf(p *Pass) *Lint { return p.Target.Options.Lint }

// reportBuilds runs find for every build and reports its findings, once
// without a platform when every build has the same one.
func reportBuilds(p *Pass, builds []LintBuild, find func(b LintBuild) []Finding) {
	type key struct {
		msg, file, label, pointer, path string
		line, col                       int
		sev                             Severity
	}
	var order []key
	seen := map[key][]string{}
	first := map[key]Finding{}
	for _, b := range builds {
		for _, f := range find(b) {
			k := key{f.Message, f.File, f.Label, f.Pointer, f.Path, f.Line, f.Column, f.Severity}
			if _, ok := seen[k]; !ok {
				order = append(order, k)
				first[k] = f
			}
			seen[k] = append(seen[k], b.Platform)
		}
	}
	for _, k := range order {
		if len(seen[k]) == len(builds) {
			p.Report(first[k])
			continue
		}
		for _, platform := range seen[k] {
			f := first[k]
			f.Platform = platform
			p.Report(f)
		}
	}
}

func runSourceDockerfile(ctx context.Context, p *Pass) error {
	l := lintOf(p)
	if l == nil {
		return nil
	}
	if l.Err != nil {
		p.Report(Finding{File: l.DockerfilePath, Line: max(l.Err.Line, 1),
			Message: "BuildKit cannot build the Dockerfile: " + l.Err.Error()})
		return nil
	}
	reportBuilds(p, l.Builds, func(b LintBuild) []Finding {
		var out []Finding
		for _, w := range b.Dockerfile.Warnings {
			out = append(out, Finding{File: l.DockerfilePath, Line: max(w.Line, 1), Severity: Warning,
				Message: "BuildKit warns: " + w.Message})
		}
		return out
	})
	return nil
}

// readLabelPrefixes are the label namespaces Docker Desktop and the
// marketplace read.
var readLabelPrefixes = []string{"com.docker.desktop.", "com.docker.extension.", "org.opencontainers.image."}

func runSourceStrayLabel(ctx context.Context, p *Pass) error {
	l := lintOf(p)
	if l == nil {
		return nil
	}
	reportBuilds(p, l.Builds, func(b LintBuild) []Finding {
		df := b.Dockerfile
		var out []Finding
		for _, s := range df.StrayLabels {
			if !slices.ContainsFunc(readLabelPrefixes, func(pre string) bool { return strings.HasPrefix(s.Key, pre) }) {
				continue
			}
			col := 0
			for _, own := range df.Stages[s.Stage].Labels {
				if own.Key == s.Key && own.Line == s.Line {
					col = own.Column
				}
			}
			out = append(out, Finding{File: l.DockerfilePath, Line: s.Line, Column: col, Label: s.Key,
				Message: fmt.Sprintf("label %s is set in %s, which the image is not built FROM: it is not in the image; set it in %s",
					quoteLabelValue(s.Key), stageName(df, s.Stage), stageName(df, df.Target))})
		}
		return out
	})
	return nil
}

// stageName names a stage for a message: `stage "build" (line 3)`, or
// `the final stage (line 9)`.
func stageName(df *source.Dockerfile, i int) string {
	st := df.Stages[i]
	switch {
	case i == df.Target && st.Name != "":
		return fmt.Sprintf("the final stage %s (line %d)", quoteCut(st.Name, 40), st.Line)
	case i == df.Target:
		return fmt.Sprintf("the final stage (line %d)", st.Line)
	case st.Name != "":
		return fmt.Sprintf("stage %s (line %d)", quoteCut(st.Name, 40), st.Line)
	}
	return fmt.Sprintf("stage %d (line %d)", i, st.Line)
}

func runSourceLabelTwice(ctx context.Context, p *Pass) error {
	l := lintOf(p)
	if l == nil {
		return nil
	}
	reportBuilds(p, l.Builds, func(b LintBuild) []Finding {
		df := b.Dockerfile
		var out []Finding
		for _, key := range sortedKeys(df.Labels) {
			last := df.Labels[key]
			if len(last.Lines) < 2 {
				continue
			}
			own := df.Final().Labels
			for _, lost := range own[:lastIndex(own, key)] {
				if lost.Key != key || lost.Value == last.Value {
					continue
				}
				out = append(out, Finding{File: l.DockerfilePath, Line: lost.Line, Column: lost.Column, Label: key,
					Message: fmt.Sprintf("label %s is set again on line %d: this value (%s) is lost, the image gets %s",
						quoteLabelValue(key), last.Line, quoteLabelValue(lost.Value), quoteLabelValue(last.Value))})
			}
		}
		return out
	})
	return nil
}

// lastIndex is the index of the last of labels that sets key.
func lastIndex(labels []*source.Label, key string) int {
	for i := len(labels) - 1; i >= 0; i-- {
		if labels[i].Key == key {
			return i
		}
	}
	return -1
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func runSourceUnsetArg(ctx context.Context, p *Pass) error {
	l := lintOf(p)
	if l == nil {
		return nil
	}
	reportBuilds(p, l.Builds, func(b LintBuild) []Finding {
		df := b.Dockerfile
		var out []Finding
		for _, key := range sortedKeys(df.Labels) {
			lb := df.Labels[key]
			for _, name := range lb.Blank {
				out = append(out, Finding{File: l.DockerfilePath, Line: lb.Line, Column: lb.Column, Label: key,
					Message: fmt.Sprintf("label %s uses %s, which %s: the image gets %s",
						quoteLabelValue(key), name, whyUnset(df, lb.Stage, name), quoteLabelValue(lb.Value))})
			}
		}
		return out
	})
	return nil
}

// whyUnset says why the variable name has no value in stage i.
func whyUnset(df *source.Dockerfile, i int, name string) string {
	for s := i; s >= 0; s = df.Stages[s].BaseStage {
		for _, a := range df.Stages[s].Args {
			if a.Name == name {
				return fmt.Sprintf("ARG %s (line %d) declares with no default, and no --build-arg sets", name, a.Line)
			}
		}
	}
	for _, a := range df.Args {
		if a.Name == name && a.HasValue {
			return fmt.Sprintf("is a global ARG (line %d) that %s does not declare again (ARG %s after its FROM)", a.Line, stageName(df, i), name)
		}
		if a.Name == name {
			return fmt.Sprintf("the global ARG (line %d) declares with no default, and no --build-arg sets", a.Line)
		}
	}
	return "no ARG or ENV declares"
}

func runSourceQuote(ctx context.Context, p *Pass) error {
	l := lintOf(p)
	if l == nil {
		return nil
	}
	reportBuilds(p, l.Builds, func(b LintBuild) []Finding {
		df := b.Dockerfile
		var out []Finding
		for _, key := range sortedKeys(df.Labels) {
			lb := df.Labels[key]
			off := source.GluedQuote(lb.RawValue, df.EscapeToken)
			if off < 0 {
				continue
			}
			line, col := df.ValuePosition(lb, off)
			out = append(out, Finding{File: l.DockerfilePath, Line: line, Column: col, Label: key,
				Message: fmt.Sprintf("label %s: a %c inside the quoted value ends it, and the word after it is glued on without quotes: the image gets %s; quote the value with the other quote character, or escape the inner quotes",
					quoteLabelValue(key), lb.RawValue[off], quoteLabelValue(lb.Value))})
		}
		return out
	})
	return nil
}

func runSourceFiles(ctx context.Context, p *Pass) error {
	l := lintOf(p)
	if l == nil || l.Built {
		return nil
	}
	var spec *Spec
	if l.Metadata != nil {
		if doc, err := ParseJSON(l.Metadata); err == nil {
			spec = ParseSpec(doc)
		}
	}
	reportBuilds(p, l.Builds, func(b LintBuild) []Finding { return filesFindings(l, spec, b) })
	return nil
}

// filesFindings are source/files' findings for one build.
func filesFindings(l *Lint, spec *Spec, b LintBuild) []Finding {
	var out []Finding
	possible := 0
	check := func(sp *SpecPath, what string) source.Origin {
		o := b.Dockerfile.Origin(sp.Path, l.Context)
		f, ok := originFinding(b.Dockerfile, o, sp, what)
		if o.Kind == source.Possible {
			possible++
			ok = ok && possible <= maxPossibleNotices
		}
		if ok {
			out = append(out, f)
		}
		return o
	}
	if o := b.Dockerfile.Origin(MetadataPath, l.Context); o.Kind != source.Copied {
		f, _ := originFinding(b.Dockerfile, o, &SpecPath{Path: MetadataPath}, "metadata.json")
		// Not read, so placed on the Dockerfile: the first line that may
		// make it, else the final stage's FROM.
		f.File, f.Line = l.DockerfilePath, b.Dockerfile.Final().Line
		if len(o.Candidates) > 0 {
			f.Line = o.Candidates[0].Line
		}
		out = append(out, f)
	}
	if spec != nil {
		if spec.Icon != nil {
			check(spec.Icon, "icon")
		}
		for _, u := range spec.UIs {
			root := u.Root
			o := check(&root, "UI root of "+quoteMetadata(u.Name))
			if u.Src != nil && o.Kind == source.Copied && o.Copy != nil && o.Copy.From == "" {
				check(u.Src, "UI entry point of "+quoteMetadata(u.Name))
			}
		}
		if spec.Compose != nil {
			check(spec.Compose, "compose file")
		}
		for _, bin := range spec.Binaries {
			check(&bin.SpecPath, bin.OS+" host binary")
		}
	}
	if n := possible - maxPossibleNotices; n > 0 {
		out = append(out, Finding{Path: MetadataPath, Severity: Notice,
			Message: fmt.Sprintf("%d more paths metadata.json names may not be in the image, as above: the image check (metadata/files) settles them", n)})
	}
	return out
}

// maxPossibleNotices caps, per platform, the paths source/files reports as
// possibly missing; one notice counts the rest.
const maxPossibleNotices = 5

// originFinding is the finding for a path metadata.json names (sp) that
// the build may not put in the image, if any.
func originFinding(df *source.Dockerfile, o source.Origin, sp *SpecPath, what string) (Finding, bool) {
	f := Finding{Path: sp.Path, Pointer: sp.Pointer}
	switch o.Kind {
	case source.Absent:
		f.Message = fmt.Sprintf("%s %s is not in the image: no COPY, ADD or RUN of %s puts it there",
			what, quoteMetadata(sp.Path), stageName(df, df.Target))
		return f, true
	case source.Possible:
		var cs []string
		for i, c := range o.Candidates {
			if i == 3 {
				cs = append(cs, fmt.Sprintf("%d more", len(o.Candidates)-i))
				break
			}
			cs = append(cs, fmt.Sprintf("%s (line %d)", c.Instruction, c.Line))
		}
		f.Severity = Notice
		f.Message = fmt.Sprintf("%s %s may not be in the image: no COPY or ADD takes it from the files in the directory linted; %s may put it there, which the lint cannot tell without building (the image check, metadata/files, will)",
			what, quoteMetadata(sp.Path), strings.Join(cs, ", "))
		return f, true
	}
	return f, false
}

func runSourceImageLabels(ctx context.Context, p *Pass) error {
	l := lintOf(p)
	if l == nil || !l.Built || len(l.Builds) == 0 {
		return nil
	}
	for _, v := range p.Target.Variants() {
		labels, err := p.Target.Labels(ctx, v)
		if err != nil {
			return err
		}
		b := l.Builds[0]
		for _, c := range l.Builds {
			if c.Platform == v.PlatformString() {
				b = c
			}
		}
		for _, key := range sortedKeys(b.Dockerfile.Labels) {
			if f, ok := labelDifference(l, b.Dockerfile.Labels[key], labels); ok {
				f.Platform = v.PlatformString()
				p.Report(f)
			}
		}
	}
	return nil
}

// labelDifference is the finding for a label whose value in the image
// (labels) is not what the Dockerfile gives it (lb), if any.
func labelDifference(l *Lint, lb *source.Label, labels map[string]string) (Finding, bool) {
	got, ok := labels[lb.Key]
	if ok && got == lb.Value {
		return Finding{}, false
	}
	f := Finding{File: l.DockerfilePath, Line: lb.Line, Column: lb.Column, Label: lb.Key}
	if !ok {
		f.Message = fmt.Sprintf("label %s is not in the image, but the Dockerfile sets it (line %d) to %s: the image is stale, or was built from another Dockerfile or stage",
			quoteLabelValue(lb.Key), lb.Line, quoteLabelValue(lb.Value))
		return f, true
	}
	f.Message = fmt.Sprintf("label %s is %s in the image, but the Dockerfile (line %d) gives %s: the image is stale",
		quoteLabelValue(lb.Key), quoteLabelValue(got), lb.Line, quoteLabelValue(lb.Value))
	if strings.Contains(lb.RawKey+lb.RawValue, "$") {
		f.Severity = Notice
		f.Message += ", or the build set a variable of " + quoteLabelValue(lb.RawValue) + " that the lint was not given (--build-arg)"
	}
	return f, true
}
