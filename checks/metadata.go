package checks

var metadataRules = []*Rule{}
