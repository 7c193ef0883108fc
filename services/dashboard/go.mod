module github.com/ferrycd/ferry/services/dashboard

go 1.26.0

require (
	github.com/ferrycd/ferry/pkg v0.0.0
	github.com/ferrycd/ferry/proto v0.0.0
	github.com/nats-io/nats.go v1.55.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/ferrycd/ferry/pkg => ../../pkg

replace github.com/ferrycd/ferry/proto => ../../proto
