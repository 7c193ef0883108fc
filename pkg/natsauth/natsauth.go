// Package natsauth gives every Ferry component its own NATS identity, an
// nkey user whose permissions allow only the subjects it needs: one per
// central service (ingest, render, drift), two for people (operator-read
// for reading and diffs, operator for commands too; the dashboard and the
// CLI), and one per apply worker, limited to its own cluster. No identity
// may do everything, and none logs in with a password. All users live in
// one account with JetStream enabled, and subject permissions do the
// isolation, including for the JetStream API, whose subjects name the
// stream, the consumer and (for consumer creation and direct gets) the
// filter subject.
//
// Every identity may subscribe only to its own inbox: a worker's is
// _INBOX_<cluster> (subject.WorkerInboxPrefix), a central identity's
// _INBOX_<its public key> (subject.IdentityInboxPrefix; natsconn derives
// it from the seed), so no identity reads another's replies, JetStream
// deliveries (a desired state carries Secrets) included.
//
// # Who sets up the streams
//
// Render, and only render: it is the one identity allowed to create and
// update streams (stream.Ensure at its start), and the bundle object
// stores it creates on first use. Ingest, drift and the workers wait at
// start until the streams they use exist (natsconn.WaitForSetup); drift
// creates its own two buckets. Nobody may delete or purge a stream. Render
// is the service every deployment runs and the one that needs the most
// of the streams anyway; ingest, which faces the internet, gets the least.
// `ferry dev` connects each in-process service as its identity, render
// setting the streams up.
//
// # Central identities
//
// A "read" of a stream S below is: $JS.API.STREAM.INFO.S,
// $JS.API.CONSUMER.CREATE.S.> (consumers of any name: ordered and
// ephemeral ones have random names, and a consumer with several filters
// has them in the request body), CONSUMER.INFO.S.*, CONSUMER.MSG.NEXT.S.*,
// CONSUMER.DELETE.S.*, DIRECT.GET.S and DIRECT.GET.S.>, $JS.ACK.S.> and
// $JS.FC.S.>: reading, never writing a message. A "durable" D on S with
// filter F is $JS.API.CONSUMER.CREATE.S.D.F, CONSUMER.INFO.S.D,
// CONSUMER.MSG.NEXT.S.D and $JS.ACK.S.D.>.
//
//	ingest (publishes verified pushes):
//	  ferry.git.push.>                          pushes into FERRY_GIT, acked on its inbox
//	  $JS.API.STREAM.INFO.FERRY_GIT             to wait for the stream at start
//	  ferry.trace.*.ferry-ingest                its spans
//	render (the setup identity):
//	  $JS.API.STREAM.CREATE.*, STREAM.UPDATE.*, STREAM.INFO.*, $JS.API.INFO
//	                                            stream.Ensure and the ferry-bundles-<c> stores (a
//	                                            stream name is one token: these name every stream)
//	  durable render on FERRY_GIT, filter ferry.git.push.>
//	  read and $KV.ferry-apps.> of KV_ferry-apps   the app registry it keeps from ferry.yaml
//	  ferry.desired.>                           desired state
//	  $JS.API.DIRECT.GET.FERRY_DESIRED.>        the newest revision, to publish only changes
//	  ferry.status.>                            render failures, as sync results
//	  ferry.registry.>                          ferry.yaml outcomes (FERRY_REGISTRY)
//	  $O.*.>, $JS.API.DIRECT.GET.*.$O.*.M.>     bundle chunks and metadata
//	  ferry.trace.*.ferry-render
//	drift (alerts and commit statuses, which go to Git hosts over HTTP):
//	  durable drift on FERRY_STATUS (ferry.status.>) and FERRY_DRIFT (ferry.drift.>)
//	  durable drift-commit-status on FERRY_DESIRED (ferry.desired.>) and FERRY_STATUS
//	  durable drift-commit-status-registry on FERRY_REGISTRY (ferry.registry.>)
//	  $JS.API.STREAM.INFO of FERRY_STATUS, FERRY_DRIFT, FERRY_DESIRED, FERRY_REGISTRY
//	  $JS.API.INFO; STREAM.CREATE and STREAM.UPDATE of KV_ferry-incidents and
//	  KV_ferry-commit-status, and read and $KV.<bucket>.> of both
//	  ferry.trace.*.ferry-drift
//	operator-read (the dashboard without an operator token; ferry get,
//	status, history, events, trace, diff):
//	  read of FERRY_GIT, FERRY_DESIRED, FERRY_STATUS, FERRY_DRIFT, FERRY_CMD,
//	  FERRY_REGISTRY, FERRY_TRACES, KV_ferry-apps, KV_ferry-clusters,
//	  KV_ferry-app-state
//	  ferry.query.*.>                           diff queries, answered by the workers
//	operator (the dashboard with an operator token; ferry sync, rollback, ...):
//	  everything operator-read may, and
//	  ferry.cmd.>, $JS.API.STREAM.INFO.FERRY_CMD   commands
//	  subscribe ferry.reply.*.>                 the workers' answers
//
// Refused to all of them: deleting or purging a stream, another
// service's subjects (ingest may not write desired state or the app
// registry, render may not send commands or drift events, drift may not
// publish desired state, operator-read may not send commands or write a
// bucket, no operator may publish spans), posing as a worker (its status,
// drift, replies, spans), another identity's inbox. The natsauth tests
// run each identity through what its service does and through a set of
// refusals; services/ingest and services/drift run their binaries' code
// as their identity.
//
// Drift reads FERRY_DESIRED (commit statuses name the revision), so it
// sees desired states; the operators read them too (history, diffs).
// The operators' consumers of any name are denied the central services'
// durables (render, drift, drift-commit-status, drift-commit-status-registry); a worker's durables
// (apply-<c>, cmd-<c>) have no token a permission could match without
// knowing every cluster, so an operator identity could still update or
// delete one (the worker recreates it when it restarts).
//
// # Worker permissions
//
// A worker of cluster <c> may publish to exactly these subjects:
//
//	desired state (stream FERRY_DESIRED, its durable consumer apply-<c>):
//	  $JS.API.STREAM.INFO.FERRY_DESIRED                                  config and counts; may list subject names (app names), never payloads
//	  $JS.API.CONSUMER.CREATE.FERRY_DESIRED.apply-<c>.ferry.desired.<c>.>  create/update its durable, filter must be its cluster
//	  $JS.API.CONSUMER.INFO.FERRY_DESIRED.apply-<c>                      pending counts (heartbeat)
//	  $JS.API.CONSUMER.MSG.NEXT.FERRY_DESIRED.apply-<c>                  pull
//	  $JS.ACK.FERRY_DESIRED.apply-<c>.>                                  ack, nak, term, in-progress
//	  $JS.API.DIRECT.GET.FERRY_DESIRED.ferry.desired.<c>.>               newest revision of one of its apps
//	  ferry.desired.<c>.>                                                republish an earlier revision (rollback, sync now)
//	revision history for rollback (short-lived consumer history-<c>):
//	  $JS.API.CONSUMER.CREATE.FERRY_DESIRED.history-<c>.ferry.desired.<c>.>
//	  $JS.API.CONSUMER.MSG.NEXT.FERRY_DESIRED.history-<c>
//	  $JS.API.CONSUMER.DELETE.FERRY_DESIRED.history-<c>
//	operator commands (stream FERRY_CMD, durable cmd-<c>) and replies:
//	  $JS.API.CONSUMER.CREATE.FERRY_CMD.cmd-<c>.ferry.cmd.<c>.>
//	  $JS.API.CONSUMER.INFO.FERRY_CMD.cmd-<c>
//	  $JS.API.CONSUMER.MSG.NEXT.FERRY_CMD.cmd-<c>
//	  $JS.ACK.FERRY_CMD.cmd-<c>.>
//	  ferry.reply.<c>.>
//	results and drift:
//	  ferry.status.<c>.>
//	  ferry.drift.<c>.>
//	heartbeat (KV ferry-clusters, key <c>) and app controls (KV ferry-app-state, key <c>):
//	  $JS.API.STREAM.INFO.KV_ferry-clusters
//	  $KV.ferry-clusters.<c>
//	  $JS.API.DIRECT.GET.KV_ferry-clusters.$KV.ferry-clusters.<c>          its previous heartbeat, at start
//	  $JS.API.STREAM.INFO.KV_ferry-app-state
//	  $KV.ferry-app-state.<c>
//	  $JS.API.DIRECT.GET.KV_ferry-app-state.$KV.ferry-app-state.<c>
//	large bundles (its own object store ferry-bundles-<c>, read only):
//	  $JS.API.STREAM.INFO.OBJ_ferry-bundles-<c>
//	  $JS.API.DIRECT.GET.OBJ_ferry-bundles-<c>.$O.ferry-bundles-<c>.M.>
//	  $JS.API.CONSUMER.CREATE.OBJ_ferry-bundles-<c>.*.$O.ferry-bundles-<c>.C.*
//	  $JS.API.CONSUMER.DELETE.OBJ_ferry-bundles-<c>.*
//	  $JS.FC.OBJ_ferry-bundles-<c>.>
//	its trace spans (stream FERRY_TRACES), in any trace (a trace id is not
//	a cluster's) but only under its own origin, so they cannot pose as
//	another service's:
//	  ferry.trace.*.apply.<c>
//
// and subscribe only to its own inbox prefix, _INBOX_<c>.> (connect with
// ConnectOptions, which sets nats.CustomInboxPrefix), so it cannot read
// the replies and pull deliveries of another worker, and to its own
// cluster's queries, ferry.query.<c>.> (ferry diff), each of which it may
// answer once within a minute (the reply subject the asker chose).
//
// Everything else is denied: another cluster's desired state, commands,
// consumers and KV keys, creating or deleting streams, consumers without a
// filter (whose filter would be in the request body), STREAM.MSG.GET
// (whose subject is in the body, which is why FERRY_DESIRED allows direct
// gets).
//
// Large bundles live in one object store per cluster: an object is read
// through a push consumer whose filter (its chunk subject) can only be
// allowed as a wildcard, so a shared store would let a worker read every
// cluster's bundles; a store per cluster keeps the wildcard inside the
// worker's own.
package natsauth

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/ferrycd/ferry/pkg/natsconn"
	"github.com/ferrycd/ferry/pkg/subject"
)

// User is one NATS identity: an nkey pair and its permissions.
type User struct {
	// Name is a central identity (Ingest, Render, ...) or "worker-<cluster>", for logs.
	Name string
	// Cluster is the cluster of a worker user, empty for a central identity.
	Cluster string
	// PublicKey is the user's nkey public key ("U...").
	PublicKey string
	// Permissions are the user's subject permissions.
	Permissions *server.Permissions

	kp nkeys.KeyPair
}

// NewService creates the central identity name (Ingest, Render, Drift,
// OperatorRead or Operator) with ServicePermissions.
func NewService(name string) (*User, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("create nkey for %s: %w", name, err)
	}
	return ServiceFromKey(name, kp)
}

// ServiceFromKey is the central identity name with the nkey pair kp
// (from a seed file kept across runs, see WriteConfig).
func ServiceFromKey(name string, kp nkeys.KeyPair) (*User, error) {
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("public key of %s: %w", name, err)
	}
	perms, err := ServicePermissions(name, pub)
	if err != nil {
		return nil, err
	}
	return &User{Name: name, PublicKey: pub, Permissions: perms, kp: kp}, nil
}

// NewWorker creates the user of cluster's apply worker, with WorkerPermissions.
func NewWorker(cluster string) (*User, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("create nkey for worker-%s: %w", cluster, err)
	}
	return WorkerFromKey(cluster, kp)
}

// WorkerFromKey is the user of cluster's apply worker with the nkey pair kp.
func WorkerFromKey(cluster string, kp nkeys.KeyPair) (*User, error) {
	if err := subject.ValidateName(cluster); err != nil {
		return nil, fmt.Errorf("worker user: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("public key of worker-%s: %w", cluster, err)
	}
	return &User{Name: "worker-" + cluster, Cluster: cluster, PublicKey: pub, Permissions: WorkerPermissions(cluster), kp: kp}, nil
}

// Seed returns the user's private nkey seed ("SU..."). Keep it secret.
func (u *User) Seed() ([]byte, error) {
	seed, err := u.kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("seed of %s: %w", u.Name, err)
	}
	return seed, nil
}

// WriteSeedFile writes the user's seed to path, readable by the owner
// only, for a process to connect with SeedFileOptions (or a service's
// --nats-nkey-seed).
func (u *User) WriteSeedFile(path string) error {
	seed, err := u.Seed()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(seed, '\n'), 0o600); err != nil {
		return fmt.Errorf("write seed of %s: %w", u.Name, err)
	}
	return nil
}

// NkeyUser is the server side of the user.
func (u *User) NkeyUser() *server.NkeyUser {
	return &server.NkeyUser{Nkey: u.PublicKey, Permissions: u.Permissions}
}

// InboxPrefix is the prefix of the user's reply subjects, the only ones
// it may subscribe to: its cluster's for a worker, its key's otherwise.
func (u *User) InboxPrefix() string {
	if u.Cluster != "" {
		return subject.WorkerInboxPrefix(u.Cluster)
	}
	return subject.IdentityInboxPrefix(u.PublicKey)
}

// ConnectOptions are the nats.Options that connect as u: the nkey
// signature and the inbox prefix its permissions allow.
func (u *User) ConnectOptions() []nats.Option {
	return []nats.Option{nats.Nkey(u.PublicKey, u.kp.Sign), nats.CustomInboxPrefix(u.InboxPrefix())}
}

// SeedFileOptions are the nats.Options that connect with the seed in
// path (see WriteSeedFile); cluster is the worker's cluster, empty for a
// central identity.
func SeedFileOptions(path, cluster string) ([]nats.Option, error) {
	prefix := ""
	if cluster != "" {
		prefix = subject.WorkerInboxPrefix(cluster)
	}
	return natsconn.NkeySeed(path, prefix)
}

// Set is every central identity and one worker user per cluster.
type Set struct {
	// Services holds a user per name in Services.
	Services map[string]*User
	// Workers holds a user per cluster.
	Workers map[string]*User
	// Admin is an unrestricted user that only NewTestSet creates, for
	// tests that play several parts at once; no deployment has one.
	Admin *User
}

// NewSet creates the central identities and a worker user for each cluster.
func NewSet(clusters ...string) (*Set, error) {
	s := &Set{Services: map[string]*User{}, Workers: map[string]*User{}}
	for _, name := range Services {
		u, err := NewService(name)
		if err != nil {
			return nil, err
		}
		s.Services[name] = u
	}
	for _, c := range clusters {
		if _, dup := s.Workers[c]; dup {
			return nil, fmt.Errorf("worker user: cluster %q listed twice", c)
		}
		u, err := NewWorker(c)
		if err != nil {
			return nil, err
		}
		s.Workers[c] = u
	}
	return s, nil
}

// Service returns the central identity name.
func (s *Set) Service(name string) (*User, error) {
	u, ok := s.Services[name]
	if !ok {
		return nil, fmt.Errorf("no central identity %q", name)
	}
	return u, nil
}

// Worker returns the user of cluster's worker.
func (s *Set) Worker(cluster string) (*User, error) {
	u, ok := s.Workers[cluster]
	if !ok {
		return nil, fmt.Errorf("no worker user for cluster %q", cluster)
	}
	return u, nil
}

// Users returns every user of s, central identities first.
func (s *Set) Users() []*User {
	var out []*User
	for _, name := range Services {
		if u, ok := s.Services[name]; ok {
			out = append(out, u)
		}
	}
	clusters := make([]string, 0, len(s.Workers))
	for c := range s.Workers {
		clusters = append(clusters, c)
	}
	sort.Strings(clusters)
	for _, c := range clusters {
		out = append(out, s.Workers[c])
	}
	return out
}

// Configure makes opts accept exactly the users of s, each with its
// permissions. All users share the global account, which has JetStream
// when opts.JetStream is set.
func (s *Set) Configure(opts *server.Options) error {
	if s == nil || len(s.Services) == 0 {
		return errors.New("natsauth: a set needs its central identities")
	}
	opts.Nkeys = nil
	for _, u := range s.Users() {
		opts.Nkeys = append(opts.Nkeys, u.NkeyUser())
	}
	if s.Admin != nil {
		opts.Nkeys = append(opts.Nkeys, s.Admin.NkeyUser())
	}
	return nil
}
