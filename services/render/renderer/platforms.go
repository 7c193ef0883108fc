package renderer

import (
	"errors"
	"fmt"

	"github.com/ferrycd/ferry/pkg/repoid"
)

// platforms are the repositories whose ferry.yaml declares apps, as the
// operator configured them (Options.PlatformRepos). No other repository
// may add, change or take over an app.
type platforms []repoid.Pattern

// errNoPlatform is returned by Run when no platform repository is configured.
var errNoPlatform = errors.New("no platform repository: set --platform-repo (FERRY_RENDER_PLATFORM_REPO) to the clone URL of the repository whose ferry.yaml declares the apps")

func parsePlatforms(raw []string) (platforms, error) {
	var out platforms
	for _, s := range raw {
		if s == "" {
			continue
		}
		p, err := repoid.ParsePattern(s)
		if err != nil {
			return nil, fmt.Errorf("platform repository %q: %w", s, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errNoPlatform
	}
	return out, nil
}

// match returns the URL render fetches the platform repository id from
// (the configured one, never the spelling a webhook used), or false when
// id is not a platform repository.
func (ps platforms) match(id repoid.ID) (string, bool) {
	for _, p := range ps {
		if p.Match(id) {
			return p.URLFor(id), true
		}
	}
	return "", false
}

// trusts reports whether url, the platform an app entry names, is still a
// configured platform repository. Entries declared by a repository that is
// no longer one (or was never one, under an older Ferry) are not rendered
// and may be redeclared by a platform repository.
func (ps platforms) trusts(url string) bool {
	id, err := repoid.Parse(url)
	if err != nil {
		return false
	}
	_, ok := ps.match(id)
	return ok
}
