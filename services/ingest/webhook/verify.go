package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
)

// verifier authenticates one request in two steps. The headers are checked
// before a byte of the body is read: a missing or malformed signature and
// a wrong GitLab token cost no body read at all. An HMAC cannot be checked
// before the body is read, so the body is fed to mac while it is read
// (one pass, no copy) and verify compares the result at the end; the
// in-flight budget (inflight.go) bounds the memory such unverified bodies
// take meanwhile.
type verifier struct {
	// mac is nil when the headers alone authenticated the request.
	mac  hash.Hash
	want []byte
}

// writer is where the body goes while it is read, nil when nowhere.
func (v verifier) writer() io.Writer {
	if v.mac == nil {
		return nil
	}
	return v.mac
}

// verify reports whether the body fed to writer carried the signature.
func (v verifier) verify() error {
	if v.mac != nil && !hmac.Equal(v.mac.Sum(nil), v.want) {
		return ErrBadSignature
	}
	return nil
}

// hmacVerifier expects sig (hex, optionally prefixed with "sha256=") to be
// the HMAC-SHA256 of the body under secret; the comparison is constant-time.
func hmacVerifier(secret []byte, sig string) (verifier, error) {
	want, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(sig), "sha256="))
	if err != nil || len(want) != sha256.Size {
		return verifier{}, fmt.Errorf("%w: not a hex sha256 hmac", ErrBadSignature)
	}
	return verifier{mac: hmac.New(sha256.New, secret), want: want}, nil
}

// verifyToken compares a shared token in constant time; hashing both sides
// first keeps the comparison independent of the token's length.
func verifyToken(secret []byte, token string) error {
	a, b := sha256.Sum256(secret), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ErrBadSignature
	}
	return nil
}

// Signature headers per provider.
const (
	hdrGitHubSig  = "X-Hub-Signature-256"
	hdrGitLabTok  = "X-Gitlab-Token"
	hdrGiteaSig   = "X-Gitea-Signature"
	hdrGogsSig    = "X-Gogs-Signature"
	hdrBitbucket  = "X-Hub-Signature"
	shaPrefixed   = "sha256="
	zeroSHA1      = "0000000000000000000000000000000000000000"
	maxDeliveryID = 200
)

// githubSignature returns X-Hub-Signature-256 ("sha256=<hex>").
func githubSignature(h http.Header) string { return h.Get(hdrGitHubSig) }

// gitlabSignature returns X-Gitlab-Token.
func gitlabSignature(h http.Header) string { return h.Get(hdrGitLabTok) }

// giteaSignature returns X-Gitea-Signature, or Gogs' or the GitHub-style
// header that newer Gitea releases also send.
func giteaSignature(h http.Header) string {
	for _, k := range []string{hdrGiteaSig, hdrGogsSig, hdrGitHubSig} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// bitbucketSignature returns X-Hub-Signature, which Bitbucket Cloud sets to
// "sha256=<hex>" when the webhook has a secret.
func bitbucketSignature(h http.Header) string { return h.Get(hdrBitbucket) }

// authGitHub, authGitea and authBitbucket expect an HMAC-SHA256 of the raw
// body; GitHub and Bitbucket Cloud must use the sha256= form.
func authGitHub(secret []byte, sig string) (verifier, error) {
	if !strings.HasPrefix(sig, shaPrefixed) {
		return verifier{}, fmt.Errorf("%w: %s must start with sha256=", ErrBadSignature, hdrGitHubSig)
	}
	return hmacVerifier(secret, sig)
}

func authGitea(secret []byte, sig string) (verifier, error) { return hmacVerifier(secret, sig) }

func authBitbucket(secret []byte, sig string) (verifier, error) {
	if !strings.HasPrefix(sig, shaPrefixed) {
		return verifier{}, fmt.Errorf("%w: %s must start with sha256=", ErrBadSignature, hdrBitbucket)
	}
	return hmacVerifier(secret, sig)
}

// authGitLab compares X-Gitlab-Token with the configured token, before the
// body is read: GitLab does not sign bodies, the token is all there is.
func authGitLab(secret []byte, tok string) (verifier, error) {
	return verifier{}, verifyToken(secret, tok)
}
