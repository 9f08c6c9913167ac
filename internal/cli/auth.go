package cli

import (
	"path/filepath"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// configKeychain reads credentials from a Docker config directory
// ($DOCKER_CONFIG, else ~/.docker), including credential helpers.
type configKeychain struct {
	dir string
}

func newConfigKeychain(getenv func(string) string) authn.Keychain {
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		if home := getenv("HOME"); home != "" {
			dir = filepath.Join(home, ".docker")
		}
	}
	return &configKeychain{dir: dir}
}

// Resolve implements authn.Keychain.
func (k *configKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if k.dir == "" {
		return authn.Anonymous, nil
	}
	cf, err := config.Load(k.dir)
	if err != nil {
		return nil, err
	}
	key := target.RegistryStr()
	if key == name.DefaultRegistry {
		key = authn.DefaultAuthKey
	}
	var cfg types.AuthConfig
	for _, try := range []string{key, "https://" + key, "http://" + key} {
		cfg, err = cf.GetAuthConfig(try)
		if err != nil {
			return nil, err
		}
		if cfg != (types.AuthConfig{}) && (cfg.Username != "" || cfg.Password != "" || cfg.IdentityToken != "" || cfg.RegistryToken != "" || cfg.Auth != "") {
			break
		}
	}
	empty := types.AuthConfig{ServerAddress: cfg.ServerAddress}
	if cfg == empty || cfg == (types.AuthConfig{}) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      cfg.Username,
		Password:      cfg.Password,
		Auth:          cfg.Auth,
		IdentityToken: cfg.IdentityToken,
		RegistryToken: cfg.RegistryToken,
	}), nil
}
