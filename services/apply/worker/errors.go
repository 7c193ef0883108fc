package worker

import (
	"errors"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

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

// isPermanent reports whether err cannot be fixed by retrying: invalid
// manifests, kinds the API server does not serve, and 4xx answers other
// than 401, 408, 409 and 429. Everything else (API server unreachable,
// timeouts, 5xx, conflicts) is transient.
func isPermanent(err error) bool {
	var p *permanentError
	switch {
	case errors.As(err, &p), errors.Is(err, manifest.ErrInvalid), meta.IsNoMatchError(err):
		return true
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false
	}
	switch code := int(status.Status().Code); code {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return false
	default:
		return code >= 400 && code < 500
	}
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
