package checks

var labelRules = []*Rule{}
