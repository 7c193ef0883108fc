// Package incident turns sync results and drift events into incidents and
// the Slack messages they need, as a pure state machine per app: apply an
// observation to the app's State, and the State's outbox lists what is left
// to send. The State lives in a JetStream KV bucket (Store), so an open
// incident and its undelivered messages survive a restart.
package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ferrycd/ferry/services/drift/config"
)

// Kind is what went wrong; with cluster and app it identifies an incident.
type Kind string

// Incident kinds.
const (
	// KindDrift is live state that left the desired state.
	KindDrift Kind = "drift"
	// KindFailed is a failed sync or render.
	KindFailed Kind = "failed"
	// KindDegraded is an applied app whose health is degraded.
	KindDegraded Kind = "degraded"
	// KindFighting is self-heal stopped because another writer keeps
	// reverting Ferry's corrections.
	KindFighting Kind = "fighting"
)

// Op is one kind of Slack message an incident needs.
type Op string

// Operations in an outbox.
const (
	// OpOpen posts the incident's first message.
	OpOpen Op = "open"
	// OpUpdate rewrites the first message (Web API chat.update) with the latest count and details.
	OpUpdate Op = "update"
	// OpReply posts into the first message's thread (Web API) when the details changed.
	OpReply Op = "reply"
	// OpReminder posts a repeat on a webhook route once the quiet window has passed.
	OpReminder Op = "reminder"
	// OpResolve says the app is back in sync (threaded on the first message when possible).
	OpResolve Op = "resolve"
	// OpNotice posts a one-off message for drift that was already corrected.
	OpNotice Op = "notice"
)

// Repeat reports whether op only repeats what an earlier message said, so
// that it may be dropped when an app is throttled.
func (o Op) Repeat() bool { return o == OpUpdate || o == OpReply || o == OpReminder }

// Object is one affected Kubernetes object, for the message.
type Object struct {
	// Ref reads like "apps/Deployment guestbook/web".
	Ref string `json:"ref"`
	// ChangedBy is the field manager of a drift, when known.
	ChangedBy string `json:"changedBy,omitempty"`
	// Deleted marks a managed object that was deleted.
	Deleted bool `json:"deleted,omitempty"`
}

// Observation is one decoded event, reduced to what incidents need.
type Observation struct {
	// Source and Seq identify the message (stream name and stream
	// sequence), so a redelivered message is applied once.
	Source string
	Seq    uint64
	// Cluster, App, Revision and RepoURL say where and at which commit.
	Cluster, App, Revision, RepoURL string
	// TraceID is the W3C trace id of the event, hex; empty when absent.
	TraceID string
	// At is when the event happened.
	At time.Time
	// Kind opens or repeats an incident of this kind; empty when the
	// observation only resolves.
	Kind Kind
	// Severity of the incident Kind would open.
	Severity config.Severity
	// Summary is one line: the error, or how many objects drifted.
	Summary string
	// Objects lists the affected objects.
	Objects []Object
	// Diff is a readable diff snippet (already redacted by the producer).
	Diff string
	// OneShot marks corrected drift: when no incident of Kind is open, it
	// is reported once as a notice and nothing stays open.
	OneShot bool
	// Resolves lists the kinds of open incidents this observation ends.
	Resolves []Kind
	// Reason says why they are resolved ("sync succeeded", "drift corrected").
	Reason string
}

// Incident is one (cluster, app, kind) problem from first sighting to resolution.
type Incident struct {
	ID       string          `json:"id"`
	Kind     Kind            `json:"kind"`
	Severity config.Severity `json:"severity"`
	OpenedAt time.Time       `json:"openedAt"`
	LastSeen time.Time       `json:"lastSeen"`
	// Count is how many events reported it.
	Count    int      `json:"count"`
	Revision string   `json:"revision,omitempty"`
	RepoURL  string   `json:"repoURL,omitempty"`
	TraceID  string   `json:"traceID,omitempty"`
	Summary  string   `json:"summary,omitempty"`
	Objects  []Object `json:"objects,omitempty"`
	Diff     string   `json:"diff,omitempty"`
	// Fingerprint of the latest details, to reply only when they change.
	Fingerprint string `json:"fingerprint,omitempty"`
	// OneShot incidents were corrected before anyone was told.
	OneShot    bool      `json:"oneShot,omitempty"`
	Resolved   bool      `json:"resolved,omitempty"`
	ResolvedAt time.Time `json:"resolvedAt,omitzero"`
	Reason     string    `json:"reason,omitempty"`
	// Routes holds what was delivered on each route, by route name.
	Routes map[string]*Delivery `json:"routes,omitempty"`
}

// Delivery is the Slack side of an incident on one route.
type Delivery struct {
	// Channel and TS identify the first message (Web API only).
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
	// Posted is set once the first message went out.
	Posted bool `json:"posted,omitempty"`
	// LastNotified is when a message that notifies people (open, reply,
	// reminder) last went out.
	LastNotified time.Time `json:"lastNotified,omitzero"`
}

// Action is one message still to send.
type Action struct {
	// ID is unique within the app's state; with the incident id it tags the
	// Slack message so a retry can find a post whose outcome was unknown.
	ID       uint64 `json:"id"`
	Incident string `json:"incident"`
	Route    string `json:"route"`
	Op       Op     `json:"op"`
	// Uncertain marks an attempt whose outcome is unknown (timeout after
	// the request was sent); AttemptAt is when it started.
	Uncertain bool      `json:"uncertain,omitempty"`
	AttemptAt time.Time `json:"attemptAt,omitzero"`
}

// Key returns a stable tag of the action for message metadata.
func (a Action) Key() string { return fmt.Sprintf("%s-%d", a.Incident, a.ID) }

// State is everything the alerter knows about one app in one cluster.
type State struct {
	Cluster string `json:"cluster"`
	App     string `json:"app"`
	// Incidents by id: the open ones and resolved ones with messages left to send.
	Incidents map[string]*Incident `json:"incidents,omitempty"`
	// Open maps a kind to its open incident's id.
	Open map[Kind]string `json:"open,omitempty"`
	// Outbox lists messages to send, in order.
	Outbox []Action `json:"outbox,omitempty"`
	// Applied is the highest stream sequence applied, by stream.
	Applied    map[string]uint64 `json:"applied,omitempty"`
	NextAction uint64            `json:"nextAction,omitempty"`
}

// NewState returns the empty state of an app.
func NewState(cluster, app string) *State {
	return &State{Cluster: cluster, App: app}
}

// Incident returns the incident with id, or nil.
func (s *State) Incident(id string) *Incident { return s.Incidents[id] }

// OpenIncident returns the open incident of kind, or nil.
func (s *State) OpenIncident(k Kind) *Incident { return s.Incidents[s.Open[k]] }

func incidentID(cluster, app string, k Kind, source string, seq uint64, at time.Time) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%s\x00%d\x00%d", cluster, app, k, source, seq, at.UnixNano()))
	return hex.EncodeToString(h[:6])
}

func fingerprint(o Observation) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", o.Revision, o.Summary, o.Diff)
	for _, ob := range o.Objects {
		fmt.Fprintf(h, "%s\x00%s\x00%t\x00", ob.Ref, ob.ChangedBy, ob.Deleted)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
