package config

import (
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Delay is the exponential backoff before redelivery number n (1 for the
// first), doubling from Initial up to Max with ±20% jitter.
func (r Retry) Delay(n uint64) time.Duration {
	initial, maxD := r.Initial.D(), r.Max.D()
	if initial <= 0 {
		initial = DefaultRetryInitial
	}
	if maxD < initial {
		maxD = max(initial, DefaultRetryMax)
	}
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initial),
		backoff.WithMaxInterval(maxD),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.2),
		backoff.WithMaxElapsedTime(0),
	)
	d := b.NextBackOff()
	for i := uint64(1); i < n && i < 64; i++ {
		d = b.NextBackOff()
	}
	return d
}
