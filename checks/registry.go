package checks

// All returns every rule, family by family. Adding a rule family is one
// file in this package and one line here.
func All() []*Rule {
	var all []*Rule
	for _, family := range [][]*Rule{
		labelRules,
		metadataRules,
		filesRules,
		platformRules,
		hostRules,
		vmRules,
		versionRules,
		apiRules,
		layerRules,
		sourceRules,
	} {
		all = append(all, family...)
	}
	return all
}

// Lookup returns the rule with the ID, or nil.
func Lookup(id string) *Rule {
	for _, r := range All() {
		if r.ID == id {
			return r
		}
	}
	return nil
}
