package checks

import (
	"fmt"
	"strings"
)

// Profile is a set of distribution rules: the original plugin rules or
// today's extension marketplace.
type Profile string

// Profiles.
const (
	ProfileAuto      Profile = "auto"
	ProfilePlugin    Profile = "plugin"
	ProfileExtension Profile = "extension"
)

// ParseProfile reads a profile name; "" means auto.
func ParseProfile(s string) (Profile, error) {
	switch p := Profile(strings.ToLower(strings.TrimSpace(s))); p {
	case "":
		return ProfileAuto, nil
	case ProfileAuto, ProfilePlugin, ProfileExtension:
		return p, nil
	}
	return "", fmt.Errorf("unknown profile %q (want auto, plugin or extension)", s)
}

// Label names used by the profiles.
const (
	LabelTitle               = "org.opencontainers.image.title"
	LabelAuthors             = "org.opencontainers.image.authors"
	LabelDescription         = "org.opencontainers.image.description"
	LabelVendor              = "org.opencontainers.image.vendor"
	LabelPluginAPIVersion    = "com.docker.desktop.plugin.api.version"
	LabelExtensionAPIVersion = "com.docker.desktop.extension.api.version"
	LabelIcon                = "com.docker.desktop.extension.icon"
	LabelScreenshots         = "com.docker.extension.screenshots"
	LabelDetailedDescription = "com.docker.extension.detailed-description"
	LabelPublisherURL        = "com.docker.extension.publisher-url"
	LabelChangelog           = "com.docker.extension.changelog"
	LabelCategories          = "com.docker.extension.categories"
	LabelAdditionalURLs      = "com.docker.extension.additional-urls"
	LabelAccountInfo         = "com.docker.extension.account-info"
)

// RequiredLabels returns the labels a profile requires, in documentation order.
func (p Profile) RequiredLabels() []string {
	switch p {
	case ProfileExtension:
		return []string{LabelTitle, LabelDescription, LabelVendor, LabelExtensionAPIVersion, LabelIcon,
			LabelScreenshots, LabelDetailedDescription, LabelPublisherURL, LabelChangelog, LabelCategories}
	case ProfilePlugin:
		return []string{LabelTitle, LabelAuthors, LabelPluginAPIVersion}
	}
	return nil
}

// APIVersionLabel returns the label that carries the Desktop API version
// constraint under the profile.
func (p Profile) APIVersionLabel() string {
	if p == ProfileExtension {
		return LabelExtensionAPIVersion
	}
	return LabelPluginAPIVersion
}

// DetectProfile picks extension when any extension label is present, else plugin.
func DetectProfile(labels ...map[string]string) Profile {
	for _, ls := range labels {
		for k := range ls {
			if strings.HasPrefix(k, "com.docker.desktop.extension.") || strings.HasPrefix(k, "com.docker.extension.") {
				return ProfileExtension
			}
		}
	}
	return ProfilePlugin
}
