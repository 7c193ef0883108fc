package worker

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ferrycd/ferry/pkg/events"
	"github.com/ferrycd/ferry/pkg/logging"
	"github.com/ferrycd/ferry/pkg/subject"
	ferryv1 "github.com/ferrycd/ferry/proto/ferryv1"
)

// publishTimeout bounds publishing one result, also while shutting down.
const publishTimeout = 10 * time.Second

// maxTermReason keeps the reason sent with Term short.
const maxTermReason = 256

// settle reports res and settles d according to err:
//
//   - nil: publish res, then Ack;
//   - permanent: publish the FAILED res, then Term, so it is not redelivered;
//   - transient: NakWithDelay with exponential backoff, without a result,
//     except once on the reportAfter-th delivery so an outage is visible;
//     when the worker is shutting down, Nak at once for the next worker.
//
// A result that cannot be published is retried like a transient error:
// a message is only acknowledged after its outcome is reported.
func (w *worker) settle(ctx context.Context, d *delivery, res *ferryv1.SyncResult, err error) {
	log := logging.From(ctx)
	span := trace.SpanFromContext(ctx)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	if err != nil && !isPermanent(err) {
		if ctx.Err() != nil {
			log.Info("sync interrupted by shutdown, handing it back", "error", err)
			_ = d.msg.Nak()
			return
		}
		delay := retryDelay(d.meta.NumDelivered)
		log.Warn("sync failed, will retry", "error", err, "retry_in", delay)
		if d.meta.NumDelivered == reportAfter {
			res.Message = fmt.Sprintf("still retrying after %d attempts: %s", reportAfter, res.GetMessage())
			_ = w.publish(ctx, res)
		}
		_ = d.msg.NakWithDelay(delay)
		return
	}
	if perr := w.publish(ctx, res); perr != nil {
		delay := retryDelay(d.meta.NumDelivered)
		log.Warn("could not report the sync, will retry", "error", perr, "retry_in", delay)
		_ = d.msg.NakWithDelay(delay)
		return
	}
	if err != nil {
		log.Error("sync failed", "error", err)
		if terr := d.msg.TermWithReason(truncate(err.Error(), maxTermReason)); terr != nil {
			log.Warn("terminate message", "error", terr)
		}
		return
	}
	log.Info("synced", "phase", res.GetPhase().String(), "result", res.GetMessage(),
		"took", time.Duration(res.GetFinishedUnixNano()-res.GetStartedUnixNano()))
	if aerr := d.msg.Ack(); aerr != nil {
		log.Warn("ack message", "error", aerr)
	}
}

// publish sends res on the app's status subject and waits for JetStream's
// ack. It outlives a cancelled ctx, so a finished sync is still reported
// while the worker shuts down.
func (w *worker) publish(ctx context.Context, res *ferryv1.SyncResult) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	w.noteResult(ctx, res) // heartbeat's last applied revision, command replies (heartbeat.go)
	_, err := events.Publish(ctx, w.js, subject.Status(w.opts.Cluster, res.GetApp()), res, "")
	return err
}

// truncate shortens s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
