package checks

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/docker/desktop-plugin-check/image"
	"go.yaml.in/yaml/v3"
)

var vmRules = []*Rule{vmCompose}

var vmCompose = &Rule{
	ReadsFiles: true,
	ID:         "vm/compose",
	Title:      "The VM compose file parses, names an image for every service and the plugin image correctly",
	Severity:   Error,
	Help: `Docker Desktop starts a plugin's backend from the compose file that ` + "`vm.composefile`" + ` names,
on users' machines (` + "`docker compose up -d`" + ` in the extension's vm directory), with no build context:
a service with ` + "`build:`" + ` and no ` + "`image:`" + ` cannot start there, a file that is not valid YAML starts
nothing, and the plugin's own image must be written exactly ` + "`${DESKTOP_PLUGIN_IMAGE}`" + ` for Desktop
to substitute it. A service with both ` + "`build:`" + ` and ` + "`image:`" + ` is fine: Compose "attempts to pull the
image first and then builds from source if the image isn't found"
(https://docs.docker.com/compose/compose-file/build/, "Using build and image"), and the image is
on Docker Hub.

` + "```yaml\nservices:\n  backend:\n    image: ${DESKTOP_PLUGIN_IMAGE}\n```",
	Run: func(ctx context.Context, p *Pass) error {
		return forEachPluginVariant(ctx, p, func(platform string, pf *PluginFiles) {
			if pf.Spec == nil || pf.Spec.Compose == nil {
				return
			}
			f := pf.Files[pf.Spec.Compose.Path]
			if !f.Exists() || f.Kind != image.Regular {
				return // metadata/files reports it
			}
			for _, prob := range composeProblems(f, p.Target.Options.MetadataMax) {
				p.Report(Finding{Platform: platform, Path: pf.Spec.Compose.Path, Pointer: pf.Spec.Compose.Pointer, Message: prob})
			}
		})
	},
}

// pluginImageLike finds what was probably meant as ${DESKTOP_PLUGIN_IMAGE}.
// A match without "$", braces or parentheses is a bare name ("desktop-
// extension-images" in a volume name, DESKTOP_PLUGIN_IMAGE as an
// environment variable's name), not a reference: only an image: value
// that is nothing but such a name counts (bareImageLike).
var pluginImageLike = regexp.MustCompile(`(?i)\$*[{(]*\s*desktop[_-]*(plugin|extension)[_-]*image\s*[})]*`)

// bareImageLike is an image: value that names the variable without "${}".
var bareImageLike = regexp.MustCompile(`(?i)^\s*desktop[_-]*(plugin|extension)[_-]*image\s*$`)

// composeProblems lists what is wrong with a compose file.
func composeProblems(f *image.File, max int64) []string {
	if f.Size > max {
		return []string{fmt.Sprintf("compose file is %d bytes, above the %d byte limit", f.Size, max)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(f.Data, &doc); err != nil {
		return []string{fmt.Sprintf("compose file is not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return []string{"compose file is not a YAML mapping with services"}
	}
	services := mappingValue(doc.Content[0], "services")
	if services == nil || services.Kind != yaml.MappingNode || len(services.Content) == 0 {
		return []string{"compose file defines no services"}
	}
	var probs []string
	for i := 0; i+1 < len(services.Content); i += 2 {
		name, svc := services.Content[i].Value, resolveAlias(services.Content[i+1])
		if name == "<<" {
			continue // a merge key, not a service
		}
		if svc == nil || svc.Kind != yaml.MappingNode {
			probs = append(probs, fmt.Sprintf("service %q (line %d) is not a mapping", name, services.Content[i].Line))
			continue
		}
		img := mappingValue(svc, "image")
		switch b := mappingKey(svc, "build"); {
		case img == nil && b != nil:
			probs = append(probs, fmt.Sprintf("service %q uses build: (line %d) and names no image: Docker Desktop cannot build on users' machines; push the image and name it with image:", name, b.Line))
		case img == nil:
			probs = append(probs, fmt.Sprintf("service %q (line %d) has no image", name, services.Content[i].Line))
		}
		switch {
		case img == nil:
		case img.Kind == yaml.ScalarNode && bareImageLike.MatchString(img.Value):
			probs = append(probs, fmt.Sprintf("%q (line %d) is not %s: Docker Desktop substitutes only that exact spelling", img.Value, img.Line, PluginImageVar))
		case img.Kind == yaml.MappingNode && len(img.Content) == 2 && bareImageLike.MatchString(img.Content[0].Value):
			// image: {DESKTOP_PLUGIN_IMAGE} reads as a YAML mapping.
			probs = append(probs, fmt.Sprintf("%q (line %d) is not %s: Docker Desktop substitutes only that exact spelling", "{"+img.Content[0].Value+"}", img.Line, PluginImageVar))
		case img.Kind != yaml.ScalarNode:
			probs = append(probs, fmt.Sprintf("service %q: image (line %d) is not a string", name, img.Line))
		}
	}
	// Misspellings of the plugin image variable anywhere in the file.
	seen := map[string]bool{}
	walkScalars(doc.Content[0], func(n *yaml.Node) {
		for _, m := range pluginImageLike.FindAllString(n.Value, -1) {
			if m == PluginImageVar || seen[m] || !strings.ContainsAny(m, "${}()") {
				continue
			}
			seen[m] = true
			probs = append(probs, fmt.Sprintf("%q (line %d) is not %s: Docker Desktop substitutes only that exact spelling", m, n.Line, PluginImageVar))
		}
	})
	sort.Strings(probs)
	return probs
}

// composeRunsPluginImage reports whether a compose file runs the plugin's
// own image in some service.
func composeRunsPluginImage(data []byte) bool {
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return false
	}
	for _, s := range doc.Services {
		if strings.Contains(s.Image, PluginImageVar) {
			return true
		}
	}
	return false
}

func mappingKey(m *yaml.Node, key string) *yaml.Node {
	k, _ := mappingEntry(m, key, 0, map[*yaml.Node]bool{})
	return k
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	_, v := mappingEntry(m, key, 0, map[*yaml.Node]bool{})
	return v
}

// maxMergeDepth bounds how deep "<<" merge keys and aliases are followed.
const maxMergeDepth = 8

// mappingEntry finds key in the mapping m as compose reads it: through
// aliases, and in the mappings that "<<" merge keys pull in when m does not
// set key itself. The value is returned with its alias resolved. Each
// mapping is searched once (seen), so a "billion laughs" of merge keys
// costs no more than its size.
func mappingEntry(m *yaml.Node, key string, depth int, seen map[*yaml.Node]bool) (k, v *yaml.Node) {
	m = resolveAlias(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > maxMergeDepth || seen[m] {
		return nil, nil
	}
	seen[m] = true
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], resolveAlias(m.Content[i+1])
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "<<" {
			continue
		}
		from := resolveAlias(m.Content[i+1])
		srcs := []*yaml.Node{from}
		if from != nil && from.Kind == yaml.SequenceNode {
			srcs = from.Content
		}
		for _, src := range srcs {
			if k, v := mappingEntry(src, key, depth+1, seen); k != nil {
				return k, v
			}
		}
	}
	return nil, nil
}

// resolveAlias returns the node an alias names (n itself otherwise).
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxMergeDepth; i++ {
		n = n.Alias
	}
	return n
}

func walkScalars(n *yaml.Node, fn func(*yaml.Node)) {
	if n.Kind == yaml.ScalarNode {
		fn(n)
	}
	for _, c := range n.Content {
		walkScalars(c, fn)
	}
}

// forEachPluginVariant calls fn with each variant's plugin files. (The
// runner folds a finding reported for every platform into one.)
func forEachPluginVariant(ctx context.Context, p *Pass, fn func(platform string, pf *PluginFiles)) error {
	for _, v := range p.Target.Variants() {
		pf, err := p.Target.PluginFiles(ctx, v)
		if err != nil {
			return err
		}
		fn(v.PlatformString(), pf)
	}
	return nil
}
