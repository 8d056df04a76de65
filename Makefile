# idsnap: make test is what CI runs; make demo shows the tool on the simulators.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS := -s -w -X github.com/idsnap/idsnap.Version=$(VERSION) -X github.com/idsnap/idsnap.Commit=$(COMMIT)

.PHONY: all build test fmt vet demo bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/idsnap ./cmd/idsnap
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/idsim ./cmd/idsim

fmt:
	@out=$$(gofmt -l . | grep -v '^vendor/'); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: fmt vet
	$(GO) test -race -timeout 20m ./...

demo: build
	./scripts/demo.sh

# The targets' sizes take about 45 minutes on 2 cores; SCALE=small about 3.
SCALE ?= full
bench: build
	$(GO) run ./cmd/idsnap-bench -scale $(SCALE)

clean:
	rm -rf bin demo.db demo.db-* demo.db.* demo-evidence demo-roster.csv demo-campaign demo-campaign-closed
