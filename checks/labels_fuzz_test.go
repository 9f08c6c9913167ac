package checks

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLabelFormat runs the label format and template checks on arbitrary
// values of every label with a documented shape: they must not panic, must
// not report blank values, and must keep to the problem cap.
func FuzzLabelFormat(f *testing.F) {
	var names []string
	for name := range labelFormats {
		names = append(names, name)
	}
	names = append(names, labelPluginIcon, LabelTitle, LabelChangelog)
	slices.Sort(names)
	for _, seed := range []string{
		"",
		" ",
		`[{"alt":"Main view","url":"https://acme.example/s1.png"}]`,
		`[{"title":"Docs","url":"https://acme.example/docs"}]`,
		`[{"alt":"x","url":"javascript:alert(1)"},{"url":1},null,"s",[],{}]`,
		`{"alt":"x"}`,
		`[{"alt":"x",`,
		strings.Repeat("[", 300),
		"https://acme.example/icon.svg",
		"/icon.svg",
		"http://[::1",
		"kubernetes, networking,,AI",
		"required",
		"My extension",
		"<p>Extension changelog<ul> <li>New feature A</li><li>Bug fix on feature B</li></ul></p>",
		"\xff\xfe",
	} {
		for i := range names {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := names[int(which)%len(names)]
		problems := checkLabelFormat(name, value)
		if labelBlank(value) && len(problems) > 0 {
			t.Errorf("checkLabelFormat(%q, %q) reported a blank value: %v", name, value, problems)
		}
		if len(problems) > labelProblemsMax+1 {
			t.Errorf("checkLabelFormat(%q, %q) reported %d problems, above the cap", name, value, len(problems))
		}
		for _, p := range problems {
			if p.msg == "" || !utf8.ValidString(p.msg) || strings.ContainsAny(p.msg, "\n\r") {
				t.Errorf("checkLabelFormat(%q, %q) reported the bad message %q", name, value, p.msg)
			}
			if p.sev == Error || p.sev < Off {
				t.Errorf("checkLabelFormat(%q, %q) gave severity %v; errors are Off (the rule's own)", name, value, p.sev)
			}
		}
		for _, p := range checkLabelTemplate(name, value, map[string]string{LabelVendor: value}) {
			if p == "" || !utf8.ValidString(p) || strings.ContainsAny(p, "\n\r") {
				t.Errorf("checkLabelTemplate(%q, %q) reported the bad message %q", name, value, p)
			}
		}
	})
}
