package subject

// Names the central services' NATS identities (pkg/natsauth) are limited
// to besides their streams: their durable consumers and the inbox prefix
// of a connection identified by an nkey.

// Durable consumer names of the central services. The services spell them
// too (render's renderer.ConsumerName, drift's alerter.Durable and
// commitstatus.Durable); the natsauth tests hold the two together.
const (
	// ConsumerRender is render's durable consumer on StreamGit.
	ConsumerRender = "render"
	// ConsumerDrift is drift's durable consumer on StreamStatus and StreamDrift.
	ConsumerDrift = "drift"
	// ConsumerDriftCommitStatus is drift's commit status consumer on
	// StreamDesired and StreamStatus.
	ConsumerDriftCommitStatus = "drift-commit-status"
)

// IdentityInboxPrefix is the inbox prefix of a central service or
// operator connecting with the nkey whose public key ("U...") is given:
// its NATS user may subscribe to replies under it only, so one identity
// cannot read the replies (JetStream deliveries, direct gets) of another.
// A public key is upper case and a cluster name lower case, so it never
// equals a worker's WorkerInboxPrefix.
func IdentityInboxPrefix(publicKey string) string { return "_INBOX_" + publicKey }
