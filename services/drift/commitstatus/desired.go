package commitstatus

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// desiredHead is the part of ferryv1.DesiredState a pending status needs.
type desiredHead struct {
	App, Cluster, Revision, RepoURL string
	Deleted                         bool
}

// Field numbers of ferryv1.DesiredState (proto/ferry/v1/desired.proto).
const (
	fieldApp      = 1
	fieldCluster  = 2
	fieldRevision = 4
	fieldRepoURL  = 5
	fieldDeleted  = 15
)

// decodeDesiredHead reads app, cluster, revision, repo_url and deleted from
// an encoded DesiredState and skips everything else without copying it, so
// a message carrying megabytes of manifests costs no allocation for them.
func decodeDesiredHead(b []byte) (desiredHead, error) {
	var h desiredHead
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return h, fmt.Errorf("decode desired state: %w", protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case typ == protowire.BytesType && (num == fieldApp || num == fieldCluster || num == fieldRevision || num == fieldRepoURL):
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return h, fmt.Errorf("decode desired state field %d: %w", num, protowire.ParseError(m))
			}
			switch num {
			case fieldApp:
				h.App = string(v)
			case fieldCluster:
				h.Cluster = string(v)
			case fieldRevision:
				h.Revision = string(v)
			case fieldRepoURL:
				h.RepoURL = string(v)
			}
			b = b[m:]
		case typ == protowire.VarintType && num == fieldDeleted:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return h, fmt.Errorf("decode desired state field %d: %w", num, protowire.ParseError(m))
			}
			h.Deleted = v != 0
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return h, fmt.Errorf("decode desired state field %d: %w", num, protowire.ParseError(m))
			}
			b = b[m:]
		}
	}
	return h, nil
}
