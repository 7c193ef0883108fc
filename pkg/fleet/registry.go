package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ferrycd/ferry/pkg/repoid"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// RegistryReading is the state of one repository's ferry.yaml: render's
// latest reading of it (FERRY_REGISTRY keeps the last ones per
// repository) and, while that reading is a rejection, the accepted one
// still in force.
type RegistryReading struct {
	// Subject is the repository's subject on FERRY_REGISTRY.
	Subject string
	// Latest is the newest reading; At and Seq say when it was stored.
	Latest *ferryv1.RegistryStatus
	At     time.Time
	Seq    uint64
	// InForce is the newest accepted reading stored before Latest; nil
	// when Latest is accepted or when no older accepted one is kept.
	InForce *ferryv1.RegistryStatus
}

// Rejected reports whether the repository's latest ferry.yaml was
// refused, so the registry of an earlier one stays in force.
func (r RegistryReading) Rejected() bool {
	return r.Latest.GetOutcome() == ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED
}

// Repo is the repository as people read it: host/path, never the
// credentials a URL may carry.
func (r RegistryReading) Repo() string {
	return RepoName(r.Latest.GetRepoUrl(), strings.TrimPrefix(r.Subject, subject.Registry("")))
}

// InForceRevision is the short commit of the registry still in force
// after a rejection, or "earlier" when no accepted reading is kept.
func (r RegistryReading) InForceRevision() string {
	if rev := Short(r.InForce.GetRevision()); rev != "" {
		return rev
	}
	return "earlier"
}

// Banner is the one line that says a rejection is in force: "ferry.yaml
// of REPO at SHA rejected: REASON — the registry from SHA stays in
// force". Its text is printable: control characters are escaped.
func (r RegistryReading) Banner() string {
	return fmt.Sprintf("%s of %s at %s rejected: %s — the registry from %s stays in force",
		cmp.Or(Printable(r.Latest.GetFile()), "ferry.yaml"), r.Repo(), cmp.Or(Short(r.Latest.GetRevision()), "?"),
		cmp.Or(Printable(FirstLine(r.Latest.GetReason())), "no reason given"), r.InForceRevision())
}

// Registry returns the state of every repository render read a
// ferry.yaml from, ordered by repository: platform ones (accepted or
// rejected) and others whose ferry.yaml was ignored. It reads the latest
// reading per repository, and the older ones only of a repository whose
// latest was rejected. A NATS without FERRY_REGISTRY (no render of this
// version ran yet) has none.
func (c *Client) Registry(ctx context.Context) ([]RegistryReading, error) {
	latest, err := c.read(ctx, subject.StreamRegistry, subject.AllRegistry, true)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out, err := registryReadings(latest)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if !out[i].Rejected() {
			continue
		}
		// What stays in force: the subject's history, up to the latest.
		history, err := c.read(ctx, subject.StreamRegistry, out[i].Subject, false)
		if err != nil {
			return nil, err
		}
		history = slices.DeleteFunc(history, func(m stored) bool { return m.seq > out[i].Seq })
		full, err := registryReadings(history)
		if err != nil {
			return nil, err
		}
		if len(full) == 1 && full[0].Seq == out[i].Seq {
			out[i].InForce = full[0].InForce
		}
	}
	return out, nil
}

// RegistryRejections returns the platform repositories whose latest
// ferry.yaml was rejected: what `ferry get apps` and the dashboard warn of.
func (c *Client) RegistryRejections(ctx context.Context) ([]RegistryReading, error) {
	all, err := c.Registry(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(r RegistryReading) bool { return !r.Rejected() }), nil
}

// registryReadings folds msgs, in stream order, into one reading per
// subject, with the accepted one in force where the latest is rejected.
func registryReadings(msgs []stored) ([]RegistryReading, error) {
	by := map[string]*RegistryReading{}
	for _, m := range msgs {
		st := &ferryv1.RegistryStatus{}
		if err := decodeInto(m, st); err != nil {
			return nil, err
		}
		r := by[m.subject]
		if r == nil {
			r = &RegistryReading{Subject: m.subject}
			by[m.subject] = r
		}
		if r.Latest.GetOutcome() == ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED {
			r.InForce = r.Latest
		}
		r.Latest, r.At, r.Seq = st, m.at, m.seq
	}
	out := make([]RegistryReading, 0, len(by))
	for _, r := range by {
		if !r.Rejected() {
			r.InForce = nil
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b RegistryReading) int { return cmp.Compare(a.Subject, b.Subject) })
	return out, nil
}

// RegistrySummary is one line about a reading of a ferry.yaml, for
// `ferry events`: how many apps an accepted one holds, why one was
// rejected, that one outside the platform repository was ignored.
func RegistrySummary(st *ferryv1.RegistryStatus, repoKey string) string {
	repo := RepoName(st.GetRepoUrl(), repoKey)
	at := cmp.Or(Short(st.GetRevision()), "?")
	switch st.GetOutcome() {
	case ferryv1.RegistryOutcome_REGISTRY_OUTCOME_ACCEPTED:
		n := len(st.GetApps())
		return fmt.Sprintf("registry %s@%s: %d app%s", repo, at, n, plural(n))
	case ferryv1.RegistryOutcome_REGISTRY_OUTCOME_REJECTED:
		return fmt.Sprintf("registry %s@%s rejected: %s; the previous registry stays in force", repo, at,
			cmp.Or(Printable(FirstLine(st.GetReason())), "no reason given"))
	case ferryv1.RegistryOutcome_REGISTRY_OUTCOME_IGNORED:
		return fmt.Sprintf("registry ferry.yaml in %s@%s ignored: not a platform repository", repo, at)
	}
	return fmt.Sprintf("registry %s@%s: unknown outcome %d", repo, at, st.GetOutcome())
}

// OutcomeName is a registry outcome in lowercase: "accepted", "rejected",
// "ignored".
func OutcomeName(o ferryv1.RegistryOutcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "REGISTRY_OUTCOME_"))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// RepoName is a repository URL as host/path, without credentials or
// scheme; a URL repoid refuses is shown without its credentials, and
// fallback (a repository key) stands for one that does not parse at all.
func RepoName(repoURL, fallback string) string {
	if id, err := repoid.Parse(repoURL); err == nil {
		return Printable(id.String())
	}
	if u, err := url.Parse(repoURL); err == nil && u.Host != "" {
		u.User = nil
		return Printable(u.String())
	}
	return Printable(fallback)
}

// Printable replaces control characters and bidirectional overrides in
// s (text that came from a pushed file) with their escaped form, so a
// terminal prints them instead of obeying them.
func Printable(s string) string {
	if !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unprintable(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unprintable reports whether r would steer a terminal or reorder the
// text around it.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
