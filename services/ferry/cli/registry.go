package cli

import (
	"github.com/ferrycd/ferry/pkg/fleet"
)

// rejectionView is a platform repository whose latest ferry.yaml was
// rejected, in `get apps -o json|yaml`; its fields are stable.
type rejectionView struct {
	Repo     string `json:"repo"`
	Ref      string `json:"ref,omitempty"`
	Revision string `json:"revision"`
	File     string `json:"file,omitempty"`
	Reason   string `json:"reason"`
	// InForce is the commit of the registry that stays in force; empty
	// when no accepted reading is kept.
	InForce    string `json:"inForce,omitempty"`
	RejectedAt string `json:"rejectedAt,omitempty"`
	// Banner is the line the table prints.
	Banner string `json:"banner"`
}

func viewRejections(rs []fleet.RegistryReading) []rejectionView {
	out := make([]rejectionView, len(rs))
	for i, r := range rs {
		out[i] = rejectionView{Repo: r.Repo(), Ref: r.Latest.GetRef(), Revision: r.Latest.GetRevision(), File: r.Latest.GetFile(),
			Reason: r.Latest.GetReason(), InForce: r.InForce.GetRevision(), RejectedAt: timestamp(r.At), Banner: r.Banner()}
	}
	return out
}
