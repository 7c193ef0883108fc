package webhook

import (
	"errors"
	"net/http"
)

// Sentinel errors; statusOf maps each to the HTTP status the Git host sees.
var (
	// ErrNoSecret: the provider has no secret configured, so nothing it sends can be trusted.
	ErrNoSecret = errors.New("no secret configured")
	// ErrMissingSignature: the request carries no signature or token header.
	ErrMissingSignature = errors.New("missing signature")
	// ErrBadSignature: the signature or token does not match the secret.
	ErrBadSignature = errors.New("signature mismatch")
	// ErrNotPush: a verified event that is not a push (ping, issues, ...); ignored with 202.
	ErrNotPush = errors.New("not a push event")
	// ErrTooLarge: the body exceeds MaxBodyBytes.
	ErrTooLarge = errors.New("body too large")
	// ErrMalformed: the body is not a push payload Ferry understands.
	ErrMalformed = errors.New("malformed payload")
	// ErrUnknownProvider: POST /webhooks could not tell which Git host sent the request.
	ErrUnknownProvider = errors.New("unknown webhook provider")
	// ErrUnavailable: NATS is down or did not acknowledge in time; the host should retry.
	ErrUnavailable = errors.New("event store unavailable")
	// ErrBusy: the bodies already in flight leave no room for this one
	// (Options.MaxInflightBytes); the host should retry.
	ErrBusy = errors.New("ingest busy")
)

// retryAfter is the Retry-After, in seconds, of a 503.
const retryAfter = "2"

// statusOf returns the HTTP status for an error returned while handling a webhook.
func statusOf(err error) int {
	switch {
	case err == nil, errors.Is(err, ErrNotPush):
		return http.StatusAccepted
	case errors.Is(err, ErrNoSecret), errors.Is(err, ErrMissingSignature), errors.Is(err, ErrBadSignature):
		return http.StatusUnauthorized
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownProvider):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}
