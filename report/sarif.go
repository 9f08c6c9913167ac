package report

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/docker/desktop-plugin-check/checks"
	"github.com/docker/desktop-plugin-check/internal/escape"
	"github.com/docker/desktop-plugin-check/source"
)

// SARIF 2.1.0 wire structures: the subset GitHub code scanning reads.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                       `json:"tool"`
	Invocations        []sarifInvocation               `json:"invocations"`
	OriginalURIBaseIDs map[string]sarifArtifactBaseURI `json:"originalUriBaseIds"`
	Results            []sarifResult                   `json:"results"`
	Properties         *sarifRunProperties             `json:"properties,omitempty"`
}

// sarifInvocation says whether the check ran to its end; code scanning
// must not read a run that could not check as "no alerts".
type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string       `json:"level"`
	Message sarifMessage `json:"message"`
}

// sarifArtifactBaseURI describes a uriBaseId; the repository root has no
// absolute URI the tool knows, so it carries a description only (SARIF
// 2.1.0, 3.14.14: uri may be absent).
type sarifArtifactBaseURI struct {
	Description sarifMessage `json:"description"`
}

type sarifRunProperties struct {
	// OmittedResults counts the findings left out (maxSARIFResults).
	OmittedResults int `json:"omittedResults"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name            string      `json:"name"`
	Version         string      `json:"version,omitempty"`
	SemanticVersion string      `json:"semanticVersion,omitempty"`
	InformationURI  string      `json:"informationUri"`
	Rules           []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string              `json:"id"`
	Name                 string              `json:"name"`
	ShortDescription     sarifMessage        `json:"shortDescription"`
	FullDescription      sarifMessage        `json:"fullDescription"`
	Help                 *sarifMessage       `json:"help,omitempty"`
	DefaultConfiguration sarifConfiguration  `json:"defaultConfiguration"`
	Properties           sarifRuleProperties `json:"properties"`
}

type sarifRuleProperties struct {
	Tags []string `json:"tags"`
}

// sarifMessage is a message or multiformatMessageString: text is required
// and non-empty, markdown optional.
type sarifMessage struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string                 `json:"ruleId"`
	RuleIndex           int                    `json:"ruleIndex"`
	Level               string                 `json:"level"`
	Message             sarifMessage           `json:"message"`
	Locations           []sarifLocation        `json:"locations,omitempty"`
	PartialFingerprints map[string]string      `json:"partialFingerprints"`
	Properties          *sarifResultProperties `json:"properties,omitempty"`
}

type sarifResultProperties struct {
	Platform string `json:"platform,omitempty"`
	Label    string `json:"label,omitempty"`
	Path     string `json:"path,omitempty"`
	Pointer  string `json:"pointer,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

const (
	sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"
	toolName    = "desktop-plugin-check"
	toolURI     = "https://github.com/docker/desktop-plugin-check"
	// fingerprintKey names this tool's partial fingerprint; bump the
	// version if what it hashes changes. GitHub reads only
	// primaryLineHashKey (and computes it from the line's text when absent,
	// which merges every label finding on one LABEL line into one alert),
	// so the same hash goes there too.
	fingerprintKey     = "desktopPluginCheck/v1"
	primaryLineHashKey = "primaryLocationLineHash"
	// srcRoot is the uriBaseId of repository files.
	srcRoot = "%SRCROOT%"
	// maxSARIFResults is how many results GitHub code scanning keeps of a
	// run (the most severe); the others are left out and counted.
	maxSARIFResults = 5000
	// maxSARIFMessageBytes caps a result's message.
	maxSARIFMessageBytes = 4096
)

// SARIF writes the report as SARIF 2.1.0 for GitHub code scanning
// (github/codeql-action/upload-sarif): one run whose driver lists every rule
// with its help, and one result per finding.
//
// Code scanning rejects a whole file when any result has no location
// ("locationFromSarifResult: expected at least one location"), so a finding
// that Locate places nowhere is placed on the Dockerfile's final FROM line
// (else on metadata.json); only without Sources do results have no location.
// partialFingerprints hash the rule, platform, label, JSON pointer and path
// (not the message or line), so alerts match across runs.
func SARIF(w io.Writer, r *Report) error {
	rules, index := sarifRules(r)
	driver := sarifDriver{Name: toolName, InformationURI: toolURI, Rules: rules, Version: r.ToolVersion}
	if strings.Count(r.ToolVersion, ".") == 2 && !strings.ContainsAny(r.ToolVersion, " +") {
		driver.SemanticVersion = strings.TrimPrefix(r.ToolVersion, "v")
	}
	out := sarifLog{
		Schema:  sarifSchema,
		Version: "2.1.0",
		Runs: []sarifRun{{
			Tool:               sarifTool{Driver: driver},
			Invocations:        []sarifInvocation{sarifInvocationOf(r)},
			OriginalURIBaseIDs: map[string]sarifArtifactBaseURI{srcRoot: {Description: sarifMessage{Text: "The root of the repository the check ran in."}}},
			Results:            []sarifResult{},
		}},
	}
	run := &out.Runs[0]
	keep := keptResults(r.Findings)
	if omitted := len(r.Findings) - len(keep); omitted > 0 {
		run.Properties = &sarifRunProperties{OmittedResults: omitted}
	}
	fallback := fallbackLocation(r.Sources)
	seen := map[string]int{}
	for _, i := range keep {
		f := r.Findings[i]
		msg := f.Message
		if f.Platform != "" {
			msg = "[" + f.Platform + "] " + msg
		}
		msg = escape.SARIFText(escape.Display(msg, maxSARIFMessageBytes))
		if strings.TrimSpace(msg) == "" {
			msg = f.Rule
		}
		res := sarifResult{
			RuleID:    f.Rule,
			RuleIndex: index[f.Rule],
			Level:     sarifLevel(f.Severity),
			Message:   sarifMessage{Text: msg},
		}
		fp := fingerprint(f, seen)
		res.PartialFingerprints = map[string]string{fingerprintKey: fp, primaryLineHashKey: fp}
		if f.Platform != "" || f.Label != "" || f.Path != "" || f.Pointer != "" {
			res.Properties = &sarifResultProperties{Platform: f.Platform, Label: f.Label, Path: f.Path, Pointer: f.Pointer}
		}
		if l := locate(r.Sources, f); l.File != "" {
			res.Locations = []sarifLocation{sarifLocationAt(l)}
		} else if fallback != nil {
			res.Locations = []sarifLocation{*fallback}
		}
		run.Results = append(run.Results, res)
	}
	return encodeJSON(w, out, true)
}

// sarifInvocationOf says whether the run checked the image to its end, and
// if not, why (one notification per error line, escaped).
func sarifInvocationOf(r *Report) sarifInvocation {
	inv := sarifInvocation{ExecutionSuccessful: r.Result != ResultError}
	for _, e := range r.Errors {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications,
			sarifNotification{Level: "error", Message: sarifMessage{Text: escape.SARIFText(escape.Display(e, maxSARIFMessageBytes))}})
	}
	if !inv.ExecutionSuccessful && len(inv.ToolExecutionNotifications) == 0 {
		inv.ToolExecutionNotifications = []sarifNotification{{Level: "error", Message: sarifMessage{Text: "the check could not run to its end"}}}
	}
	return inv
}

// sarifRules lists the rules that ran, and any rule a finding names that is
// not among them, with the index of each ID.
func sarifRules(r *Report) ([]sarifRule, map[string]int) {
	rules := []sarifRule{}
	index := map[string]int{}
	add := func(id, title, help string, sev checks.Severity) {
		if _, ok := index[id]; ok {
			return
		}
		if title == "" {
			title = id
		}
		rule := sarifRule{
			ID:                   id,
			Name:                 ruleName(id),
			ShortDescription:     sarifMessage{Text: title},
			FullDescription:      sarifMessage{Text: firstParagraph(help, title)},
			DefaultConfiguration: sarifConfiguration{Level: sarifLevel(sev)},
			Properties:           sarifRuleProperties{Tags: []string{toolName}},
		}
		if family, _, ok := strings.Cut(id, "/"); ok && family != "" {
			rule.Properties.Tags = append(rule.Properties.Tags, family)
		}
		if strings.TrimSpace(help) != "" {
			rule.Help = &sarifMessage{Text: help, Markdown: help}
		}
		index[id] = len(rules)
		rules = append(rules, rule)
	}
	for _, rule := range r.Rules {
		if rule != nil && rule.ID != "" {
			add(rule.ID, rule.Title, rule.Help, rule.Severity)
		}
	}
	for _, f := range r.Findings {
		add(f.Rule, "", "", f.Severity)
	}
	return rules, index
}

// keptResults are the indexes of the findings written: all of them, or the
// maxSARIFResults most severe, in report order.
func keptResults(findings []checks.Finding) []int {
	idx := make([]int, len(findings))
	for i := range idx {
		idx[i] = i
	}
	if len(idx) <= maxSARIFResults {
		return idx
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return annotationRank(findings[idx[a]].Severity) > annotationRank(findings[idx[b]].Severity)
	})
	idx = idx[:maxSARIFResults]
	sort.Ints(idx)
	return idx
}

// fallbackLocation is the SARIF location of source.Sources.Fallback, nil
// for none.
func fallbackLocation(src *source.Sources) *sarifLocation {
	l := src.Fallback()
	if l.File == "" {
		return nil
	}
	loc := sarifLocationAt(l)
	return &loc
}

// sarifLocationAt is a location in a repository file: a relative URI
// reference (spaces and the like percent-encoded) against %SRCROOT%, with
// the line and, where known, the column.
func sarifLocationAt(l source.Location) sarifLocation {
	loc := sarifLocation{PhysicalLocation: sarifPhysicalLocation{
		ArtifactLocation: sarifArtifactLocation{URI: (&url.URL{Path: l.File}).String(), URIBaseID: srcRoot},
	}}
	if l.Line > 0 {
		loc.PhysicalLocation.Region = &sarifRegion{StartLine: l.Line, StartColumn: l.Column}
	}
	return loc
}

// fingerprint identifies a finding across runs: a hash of its rule,
// platform, label, pointer and path, and of how many findings before it had
// the same, so that equal findings stay distinct.
func fingerprint(f checks.Finding, seen map[string]int) string {
	key := strings.Join([]string{f.Rule, f.Platform, f.Label, f.Pointer, f.Path}, "\x00")
	n := seen[key]
	seen[key]++
	sum := sha256.Sum256([]byte(key + "\x00" + strconv.Itoa(n)))
	return hex.EncodeToString(sum[:16])
}

// sarifLevel is the SARIF level of a severity.
func sarifLevel(s checks.Severity) string {
	switch s {
	case checks.Error:
		return "error"
	case checks.Warning:
		return "warning"
	case checks.Notice:
		return "note"
	}
	return "none"
}

// ruleName is a rule's SARIF name: its ID in Pascal case
// ("labels/required" is LabelsRequired).
func ruleName(id string) string {
	var b strings.Builder
	upper := true
	for _, r := range id {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			upper = true
			continue
		}
		if upper {
			r = unicode.ToUpper(r)
			upper = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// firstParagraph is the first paragraph of markdown help, else def.
func firstParagraph(help, def string) string {
	help = strings.TrimSpace(strings.ReplaceAll(help, "\r\n", "\n"))
	if p, _, _ := strings.Cut(help, "\n\n"); strings.TrimSpace(p) != "" {
		return strings.TrimSpace(p)
	}
	return def
}
