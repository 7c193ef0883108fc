package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
)

// verifyHMAC checks that sig (hex, optionally prefixed with "sha256=") is
// the HMAC-SHA256 of body under secret, in constant time.
func verifyHMAC(secret []byte, sig string, body []byte) error {
	want, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(sig), "sha256="))
	if err != nil || len(want) != sha256.Size {
		return fmt.Errorf("%w: not a hex sha256 hmac", ErrBadSignature)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), want) {
		return ErrBadSignature
	}
	return nil
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

// verifyGitHub, verifyGitea and verifyBitbucket check an HMAC-SHA256 of the
// raw body; Bitbucket Cloud must use the sha256= form.
func verifyGitHub(secret []byte, sig string, body []byte) error {
	if !strings.HasPrefix(sig, shaPrefixed) {
		return fmt.Errorf("%w: %s must start with sha256=", ErrBadSignature, hdrGitHubSig)
	}
	return verifyHMAC(secret, sig, body)
}

func verifyGitea(secret []byte, sig string, body []byte) error { return verifyHMAC(secret, sig, body) }

func verifyBitbucket(secret []byte, sig string, body []byte) error {
	if !strings.HasPrefix(sig, shaPrefixed) {
		return fmt.Errorf("%w: %s must start with sha256=", ErrBadSignature, hdrBitbucket)
	}
	return verifyHMAC(secret, sig, body)
}

// verifyGitLab compares X-Gitlab-Token with the configured token.
func verifyGitLab(secret []byte, tok string, _ []byte) error { return verifyToken(secret, tok) }
