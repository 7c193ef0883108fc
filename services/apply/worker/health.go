package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/event"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// healthPoll is how often the objects' kstatus is computed while waiting.
// It reads the drift watch's informer cache, so a wait costs no requests
// to the API server and no memory of its own, however many apps wait.
const healthPoll = 250 * time.Millisecond

// objectLookup returns a live object from a cache.
type objectLookup func(gk schema.GroupKind, namespace, name string) (*unstructured.Unstructured, bool)

// Causes that end a health wait early.
var (
	errNewerRevision = errors.New("a newer revision arrived while waiting for health")
	errHealthDone    = errors.New("every object reached a final status")
)

// healthReport is the outcome of waiting for an app's objects.
type healthReport struct {
	health  ferryv1.Health
	message string
	objects map[object.ObjMetadata]objectHealth
}

// objectHealth is one object's health and kstatus message.
type objectHealth struct {
	health  ferryv1.Health
	message string
}

// waitHealth computes the kstatus of set (as ssa's WaitForSet does) from
// the objects in lookup's cache until every object is Current or Failed,
// or timeout passes, or newer is closed, or ctx ends. The app is Healthy
// when all objects are Current; Degraded when one Failed, or when one is
// still not Current at the timeout; otherwise Progressing (the wait was cut
// short).
func waitHealth(ctx context.Context, lookup objectLookup, set object.ObjMetadataSet, timeout time.Duration, newer <-chan struct{}) healthReport {
	if len(set) == 0 {
		return healthReport{health: ferryv1.Health_HEALTH_HEALTHY, message: "no objects"}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	defer cancelTimeout()
	go func() {
		select {
		case <-newer:
			cancel(errNewerRevision)
		case <-ctx.Done():
		}
	}()

	last := make(map[object.ObjMetadata]*event.ResourceStatus, len(set))
	tick := time.NewTicker(healthPoll)
	defer tick.Stop()
	for {
		for _, id := range set {
			last[id] = statusOf(lookup, id)
		}
		if final(set, last) {
			cancel(errHealthDone)
		}
		select {
		case <-ctx.Done():
			return report(set, last, context.Cause(ctx), timeout, nil)
		case <-tick.C:
		}
	}
}

// healthNow computes the kstatus of set from lookup's cache once, without
// waiting: the app's health is the worst of its objects' (see worse), and
// Healthy when set is empty. An object the cache does not hold is
// Degraded, as it is at the end of a wait. The report has no message.
func healthNow(lookup objectLookup, set object.ObjMetadataSet) healthReport {
	r := healthReport{health: ferryv1.Health_HEALTH_HEALTHY, objects: make(map[object.ObjMetadata]objectHealth, len(set))}
	for _, id := range set {
		rs := statusOf(lookup, id)
		h := objectHealth{health: healthOf(rs.Status), message: rs.Message}
		if rs.Error != nil {
			h.message = rs.Error.Error()
		}
		r.health = worse(r.health, h.health)
		r.objects[id] = h
	}
	return r
}

// statusOf computes the kstatus of one object from the cache.
func statusOf(lookup objectLookup, id object.ObjMetadata) *event.ResourceStatus {
	u, ok := lookup(id.GroupKind, id.Namespace, id.Name)
	if !ok {
		return &event.ResourceStatus{Identifier: id, Status: status.NotFoundStatus, Message: "not found"}
	}
	res, err := status.Compute(u)
	if err != nil {
		return &event.ResourceStatus{Identifier: id, Status: status.UnknownStatus, Error: err}
	}
	return &event.ResourceStatus{Identifier: id, Status: res.Status, Message: res.Message}
}

// final reports whether every object of set is Current or Failed.
func final(set object.ObjMetadataSet, last map[object.ObjMetadata]*event.ResourceStatus) bool {
	for _, id := range set {
		rs := last[id]
		if rs == nil || (rs.Status != status.CurrentStatus && rs.Status != status.FailedStatus) {
			return false
		}
	}
	return true
}

// report turns the last statuses into per-object and app health; cause
// says why the wait ended.
func report(set object.ObjMetadataSet, last map[object.ObjMetadata]*event.ResourceStatus, cause error, timeout time.Duration, pollErr error) healthReport {
	timedOut := errors.Is(cause, context.DeadlineExceeded)
	r := healthReport{health: ferryv1.Health_HEALTH_HEALTHY, objects: make(map[object.ObjMetadata]objectHealth, len(set))}
	var bad []string
	for _, id := range set {
		h := objectHealth{health: ferryv1.Health_HEALTH_UNKNOWN, message: "status not read"}
		if rs := last[id]; rs != nil {
			h = objectHealth{health: healthOf(rs.Status), message: rs.Message}
			if rs.Error != nil {
				h.message = rs.Error.Error()
			}
		} else if pollErr != nil {
			h.message = pollErr.Error()
		}
		if timedOut && h.health != ferryv1.Health_HEALTH_HEALTHY {
			h.health = ferryv1.Health_HEALTH_DEGRADED
			h.message = fmt.Sprintf("not ready after %s: %s", timeout, h.message)
		}
		if h.health != ferryv1.Health_HEALTH_HEALTHY {
			bad = append(bad, fmt.Sprintf("%s/%s: %s", id.GroupKind.Kind, id.Name, h.message))
		}
		r.health = worse(r.health, h.health)
		r.objects[id] = h
	}
	switch {
	case len(bad) == 0:
		r.message = "healthy"
		return r
	case errors.Is(cause, errNewerRevision):
		r.health = ferryv1.Health_HEALTH_PROGRESSING
		r.message = cause.Error()
	case timedOut || r.health == ferryv1.Health_HEALTH_DEGRADED:
		r.health = ferryv1.Health_HEALTH_DEGRADED
		r.message = "degraded"
	default: // shutting down, or the sync's context ended
		r.health = ferryv1.Health_HEALTH_PROGRESSING
		r.message = "health not awaited to the end"
	}
	if len(bad) > 3 {
		bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
	}
	r.message += ": " + strings.Join(bad, "; ")
	return r
}

// healthOf maps a kstatus status to Ferry's health.
func healthOf(s status.Status) ferryv1.Health {
	switch s {
	case status.CurrentStatus:
		return ferryv1.Health_HEALTH_HEALTHY
	case status.InProgressStatus, status.TerminatingStatus:
		return ferryv1.Health_HEALTH_PROGRESSING
	case status.FailedStatus, status.NotFoundStatus:
		return ferryv1.Health_HEALTH_DEGRADED
	default:
		return ferryv1.Health_HEALTH_UNKNOWN
	}
}

// worse returns the worse of two healths: Degraded, then Progressing, then
// Unknown, then Healthy.
func worse(a, b ferryv1.Health) ferryv1.Health {
	rank := func(h ferryv1.Health) int {
		switch h {
		case ferryv1.Health_HEALTH_DEGRADED:
			return 3
		case ferryv1.Health_HEALTH_PROGRESSING:
			return 2
		case ferryv1.Health_HEALTH_UNKNOWN:
			return 1
		default:
			return 0
		}
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
