// Package subject builds every NATS subject, stream, KV bucket and object
// store name Ferry uses. No other package spells these names.
package subject

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/ferrycd/ferry/pkg/repoid"
)

// Stream names.
const (
	// StreamGit holds verified push events.
	StreamGit = "FERRY_GIT"
	// StreamDesired holds rendered desired state, the last revisions per app and cluster.
	StreamDesired = "FERRY_DESIRED"
	// StreamStatus holds sync results.
	StreamStatus = "FERRY_STATUS"
	// StreamDrift holds drift events.
	StreamDrift = "FERRY_DRIFT"
	// StreamCommands holds operator commands.
	StreamCommands = "FERRY_CMD"
	// StreamRegistry holds what render made of each repository's
	// ferry.yaml: accepted, rejected (with the reason) or ignored.
	StreamRegistry = "FERRY_REGISTRY"
)

// KV buckets and object stores.
const (
	// BucketApps is the app registry loaded from ferry.yaml.
	BucketApps = "ferry-apps"
	// BucketClusters holds apply worker heartbeats.
	BucketClusters = "ferry-clusters"
	// BucketBundles prefixes the per-cluster object stores of large
	// rendered bundles; see Bundles.
	BucketBundles = "ferry-bundles"
	// BucketIncidents holds the drift service's open alert incidents.
	BucketIncidents = "ferry-incidents"
	// BucketCommitStatus holds the last commit status reported per revision and cluster.
	BucketCommitStatus = "ferry-commit-status"
)

// Subject prefixes, one per stream.
const (
	prefixGit     = "ferry.git.push"
	prefixDesired = "ferry.desired"
	prefixStatus  = "ferry.status"
	prefixDrift   = "ferry.drift"
	prefixCmd     = "ferry.cmd"
	prefixReg     = "ferry.registry"
)

// CommitStatusRegistryConsumer is the drift service's durable consumer
// on StreamRegistry that sets the ferry.yaml commit status.
const CommitStatusRegistryConsumer = "drift-commit-status-registry"

// AllRegistry matches every registry outcome.
const AllRegistry = prefixReg + ".>"

// Registry is the subject of the registry outcomes of one repository
// (a RepoKey): the platform repository's accepted or rejected ferry.yaml,
// or the notice that another repository's ferry.yaml was ignored.
func Registry(repoKey string) string { return prefixReg + "." + repoKey }

// AllGit matches every push event.
const AllGit = prefixGit + ".>"

// AllDesired matches every desired state.
const AllDesired = prefixDesired + ".>"

// AllStatus matches every sync result.
const AllStatus = prefixStatus + ".>"

// AllDrift matches every drift event.
const AllDrift = prefixDrift + ".>"

// AllCommands matches every command.
const AllCommands = prefixCmd + ".>"

// ErrInvalidName reports a cluster or app name that is not a DNS-1123 label.
var ErrInvalidName = errors.New("invalid name")

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// ValidateName checks that name is a DNS-1123 label, which makes it a safe
// NATS subject token.
func ValidateName(name string) error {
	if len(name) == 0 || len(name) > 63 || !dns1123.MatchString(name) {
		return fmt.Errorf("%w: %q must be a DNS-1123 label (lowercase letters, digits, '-', at most 63)", ErrInvalidName, name)
	}
	return nil
}

// GitPush is the subject of push events for one repository key.
func GitPush(repoKey string) string { return prefixGit + "." + repoKey }

// Desired is the subject of one app's desired state in one cluster.
func Desired(cluster, app string) string { return prefixDesired + "." + cluster + "." + app }

// DesiredForCluster matches every desired state of one cluster.
func DesiredForCluster(cluster string) string { return prefixDesired + "." + cluster + ".>" }

// Status is the subject of one app's sync results in one cluster.
func Status(cluster, app string) string { return prefixStatus + "." + cluster + "." + app }

// StatusForCluster matches every sync result of one cluster.
func StatusForCluster(cluster string) string { return prefixStatus + "." + cluster + ".>" }

// Drift is the subject of one app's drift events in one cluster.
func Drift(cluster, app string) string { return prefixDrift + "." + cluster + "." + app }

// DriftForCluster matches every drift event of one cluster.
func DriftForCluster(cluster string) string { return prefixDrift + "." + cluster + ".>" }

// Command is the subject of one verb for one app in one cluster.
func Command(cluster, app, verb string) string {
	return prefixCmd + "." + cluster + "." + app + "." + verb
}

// CommandsForCluster matches every command for one cluster.
func CommandsForCluster(cluster string) string { return prefixCmd + "." + cluster + ".>" }

// ClusterApp splits a desired, status or drift subject into its cluster and app.
func ClusterApp(subj string) (cluster, app string, err error) {
	parts := strings.Split(subj, ".")
	if len(parts) < 4 || parts[0] != "ferry" {
		return "", "", fmt.Errorf("subject %q is not ferry.<kind>.<cluster>.<app>", subj)
	}
	return parts[2], parts[3], nil
}

// RepoKey turns a repository URL (https, http, ssh, git or scp-like)
// into a single subject token that is the same for every spelling of one
// repository and different for different repositories (pkg/repoid's
// Key). A URL Ferry would not fetch from keys as "invalid-<hash>".
func RepoKey(repoURL string) string {
	id, err := repoid.Parse(repoURL)
	if err != nil {
		sum := sha256.Sum256([]byte(repoURL))
		return "invalid-" + hex.EncodeToString(sum[:8])
	}
	return id.Key()
}

// Bundles is the object store holding one cluster's large bundles. One
// store per cluster lets a worker's NATS permissions reach only its own.
func Bundles(cluster string) string { return BucketBundles + "-" + cluster }
