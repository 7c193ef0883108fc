package worker

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferrycd/ferry/pkg/manifest"
)

// Retry pacing for transient errors: the first redelivery after about a
// second, doubling up to two minutes, never giving up (a cluster that is
// down for an hour still gets its desired state when it comes back).
const (
	retryInitial = time.Second
	retryMax     = 2 * time.Minute
	// reportAfter is the delivery on which a still-failing transient error
	// is reported once as a FAILED result, so a long outage is visible
	// without a result per retry.
	reportAfter = 5
)

// permanentError marks an error that retrying the same desired state
// cannot fix: the message gets a FAILED result and is terminated.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanent marks err as not worth retrying.
func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// isPermanent reports whether err cannot be fixed by retrying the same
// desired state. It is the worker's one classification of sync errors:
//
//   - permanent: errors marked permanent, joined errors whose every part
//     is permanent, a dry run or apply whose every
//     failing object failed permanently, invalid manifests, kinds the API
//     server does not serve, requests client-go refuses to build from the
//     object (no name, a name or namespace that cannot be a path segment),
//     4xx answers other than 401, 408, 409, 429 and a namespace that is
//     being deleted, and 500 answers that say the object itself cannot be
//     decoded (server-side apply answers a type mismatch or an unknown
//     field with 500 "failed to create typed patch object");
//   - transient: everything else, such as an unreachable API server,
//     timeouts, conflicts, throttling, 5xx and failing admission or
//     conversion webhooks.
func isPermanent(err error) bool {
	// Walk the chain down to the first joined error: a part marked
	// permanent on the way decides; joined parts are permanent only
	// together (a refused revision whose inventory could not be restored
	// is worth a retry).
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, ok := e.(*permanentError); ok {
			return true
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			parts := j.Unwrap()
			for _, part := range parts {
				if !isPermanent(part) {
					return false
				}
			}
			return len(parts) > 0
		}
	}
	var set *setError
	switch {
	case err == nil:
		return false
	case errors.As(err, &set):
		return set.permanent()
	case errors.Is(err, manifest.ErrInvalid), meta.IsNoMatchError(err):
		return true
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return refusedByClient(err)
	}
	s := status.Status()
	switch code := int(s.Code); {
	case code == http.StatusUnauthorized, code == http.StatusRequestTimeout,
		code == http.StatusConflict, code == http.StatusTooManyRequests:
		return false
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return false // the namespace is going away; a retry may recreate it
	case code >= 400 && code < 500:
		return true
	case code == http.StatusInternalServerError:
		return undecodable(s.Message)
	default:
		return false
	}
}

// clientRefusals are the messages with which client-go's request builder
// refuses an object before sending it (k8s.io/client-go/rest/request.go
// has no sentinel errors for them). Only the object can fix them.
var clientRefusals = []string{
	"resource name may not be empty",
	"invalid resource name ",
	"invalid namespace ",
}

// refusedByClient reports whether err is client-go refusing to build a
// request from the object, not an answer of the API server.
func refusedByClient(err error) bool {
	msg := err.Error()
	return slices.ContainsFunc(clientRefusals, func(m string) bool { return strings.Contains(msg, m) })
}

// decodeFailures are the parts of a 500 message by which kube-apiserver
// (1.37) says the object it was sent cannot be decoded or typed, e.g.
// `failed to create typed patch object (ns/web; apps/v1, Kind=Deployment):
// .spec.replicas: expected numeric (int or float), got string`.
var decodeFailures = []string{
	"failed to create typed patch object",
	"field not declared in schema",
	"json: cannot unmarshal",
	"unable to decode",
}

// undecodable reports whether a 500 message says the object cannot be
// decoded. A webhook's failure is the webhook's, not the object's, even
// when it failed to decode something.
func undecodable(msg string) bool {
	if strings.Contains(msg, "webhook") {
		return false
	}
	return slices.ContainsFunc(decodeFailures, func(m string) bool { return strings.Contains(msg, m) })
}

// explain adds to a permanent error of u's dry run or apply what the
// API server's answer does not say. Server-side apply needs a name, so an
// object with only generateName (as kubectl create accepts) is refused.
func explain(u *unstructured.Unstructured, err error) error {
	if u.GetName() == "" && refusedByClient(err) {
		if g := u.GetGenerateName(); g != "" {
			return fmt.Errorf("%w: metadata.name is empty (generateName %q is not supported: server-side apply needs a fixed name)", err, g)
		}
		return fmt.Errorf("%w: metadata.name is empty", err)
	}
	return err
}

// retryDelay is the NakWithDelay delay after the numDelivered-th delivery
// failed: exponential with jitter, from retryInitial up to retryMax.
func retryDelay(numDelivered uint64) time.Duration {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(retryInitial),
		backoff.WithMaxInterval(retryMax),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.2),
		backoff.WithMaxElapsedTime(0),
	)
	d := b.NextBackOff()
	for i := uint64(1); i < numDelivered && i < 32; i++ {
		d = b.NextBackOff()
	}
	return d
}
