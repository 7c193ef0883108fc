package subject

import "testing"

func TestWorkerNames(t *testing.T) {
	for got, want := range map[string]string{
		CommandReply("prod", "abc"):       "ferry.reply.prod.abc",
		CommandRepliesForCluster("prod"):  "ferry.reply.prod.>",
		ApplyConsumer("prod"):             "apply-prod",
		CommandConsumer("prod"):           "cmd-prod",
		HistoryConsumer("prod"):           "history-prod",
		WorkerInboxPrefix("prod"):         "_INBOX_prod",
		Command("prod", "web", VerbUnpin): "ferry.cmd.prod.web.unpin",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestQueryNames(t *testing.T) {
	for got, want := range map[string]string{
		Query("prod", QueryDiff):                  "ferry.query.prod.diff",
		QueriesForCluster("prod"):                 "ferry.query.prod.>",
		Trace("0af7651916cd43dd8448eb211c80319c"): "ferry.trace.0af7651916cd43dd8448eb211c80319c",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestMatching(t *testing.T) {
	for got, want := range map[string]string{
		DesiredMatching("", ""):         "ferry.desired.*.*",
		StatusMatching("prod", ""):      "ferry.status.prod.*",
		DriftMatching("", "web"):        "ferry.drift.*.web",
		CommandsMatching("prod", "web"): "ferry.cmd.prod.web.*",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
