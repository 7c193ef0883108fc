# Ferry — build, test, benchmark. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
MODULES := pkg proto services/ingest services/render services/apply services/drift services/dashboard services/ferry test
PROTOC_GEN_GO_VERSION := v1.36.10
TOOLS := $(CURDIR)/.tools
BIN := $(CURDIR)/bin
# grpcnotrace leaves gRPC's x/net/trace debug pages (never served by Ferry)
# out of the binaries: through html/template they keep every method of
# every linked type, a quarter of the apply worker's binary (BENCHMARKS.md,
# "Apply worker memory").
GO_TAGS := grpcnotrace

.PHONY: help demo test test-deps test-short bench build proto verify tidy vet images compose-smoke

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

demo: ## run ferry dev: embedded NATS, all services, a local cluster, a sample repo
	$(GO) run ./services/ferry dev

build: ## build every binary into bin/
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -tags $(GO_TAGS) -o $(BIN)/ ./services/ferry ./services/ingest ./services/render ./services/apply ./services/drift ./services/dashboard

test: test-deps ## run every test, with real NATS, git and a local kube-apiserver
	$(GO) vet $(addprefix ./,$(addsuffix /...,$(MODULES)))
	$(GO) test -count=1 -timeout 40m $(addprefix ./,$(addsuffix /...,$(MODULES)))

test-deps: ## install what the tests need beyond Go and git: Chromium for the dashboard's browser tests
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Chromium from Debian's packages for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "the browser tests need Chromium: sudo apt-get install -y chromium"; exit 1; fi; }

test-short: ## unit tests only (no control plane)
	$(GO) test -short -count=1 $(addprefix ./,$(addsuffix /...,$(MODULES)))

bench: ## run the benchmarks and print tables (see BENCHMARKS.md)
	$(GO) run ./test/cmd/ferrybench
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./services/ingest/webhook
	$(GO) test -run '^$$' -bench Render -benchtime 20x ./services/render/renderer
	$(GO) test -run '^$$' -bench Monorepo500 -benchtime 1x ./services/render/renderer
	$(GO) test -run '^$$' -bench DriftToSlack -benchtime 200x ./services/drift/alerter
	$(GO) test -run '^$$' -bench Deployments -benchtime 20x ./pkg/fleet

$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) GOWORK=off $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)

proto: $(TOOLS)/protoc-gen-go ## regenerate Go from proto/ (needs protoc: apt-get install protobuf-compiler)
	protoc --plugin=protoc-gen-go=$(TOOLS)/protoc-gen-go -I proto --go_out=proto --go_opt=module=github.com/ferrycd/ferry/proto proto/ferry/v1/*.proto

verify: $(TOOLS)/protoc-gen-go ## fail when generated code or go.mod files are stale
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	protoc --plugin=protoc-gen-go=$(TOOLS)/protoc-gen-go -I proto --go_out=$$tmp --go_opt=module=github.com/ferrycd/ferry/proto proto/ferry/v1/*.proto && \
	diff -ru proto/ferryv1 $$tmp/ferryv1 || { echo "generated code in proto/ferryv1 is stale: run make proto"; exit 1; }
	@test -z "$$(gofmt -l $(MODULES))" || { gofmt -l $(MODULES); echo "gofmt needed"; exit 1; }

tidy: ## go mod tidy in every module
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy) || exit 1; done

# Images are FROM scratch around static binaries built here: nothing is
# pulled (see deploy/README.md). The dashboard joins once its main.go exists.
NATS_SERVER_VERSION := v2.15.2
IMAGE_TAG ?= dev
IMAGE_BINS := ingest render apply drift $(if $(wildcard services/dashboard/main.go),dashboard)

images: ## build static binaries and FROM-scratch images ferry/<name>:dev, nats-server included
	@mkdir -p $(BIN)/.image-data
	CGO_ENABLED=0 $(GO) build -tags $(GO_TAGS) -trimpath -ldflags "-s -w" -o $(BIN)/ $(addprefix ./services/,$(IMAGE_BINS))
	GOBIN=$(BIN) GOWORK=off CGO_ENABLED=0 $(GO) install -trimpath -ldflags "-s -w" github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)
	cp /etc/ssl/certs/ca-certificates.crt $(BIN)/ca-certificates.crt
	@set -e; for b in $(IMAGE_BINS) nats-server; do \
	  printf '*\n!%s\n!ca-certificates.crt\n!.image-data\n' $$b > $(BIN)/.dockerignore; \
	  docker build -q -f deploy/docker/Dockerfile --build-arg BIN=$$b -t ferry/$$b:$(IMAGE_TAG) $(BIN) >/dev/null; \
	  echo "ferry/$$b:$(IMAGE_TAG)"; \
	done

compose-smoke: images ## docker-compose up the whole system, send one signed webhook, check, tear down (not in make test)
	deploy/compose-smoke.sh
