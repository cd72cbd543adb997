# paas: build, run and test.
GO      ?= go
BIN     := bin
# Admit the developer's own key at start when no key file is named.
PAAS_AUTHORIZED_KEYS ?= $(firstword $(wildcard $(HOME)/.ssh/id_ed25519.pub $(HOME)/.ssh/id_ecdsa.pub $(HOME)/.ssh/id_rsa.pub))
export PAAS_AUTHORIZED_KEYS
# Build with the toolchain go.mod names (a patched release of Go 1.26),
# which the go command fetches from the module proxy when the installed
# one is older, even where the environment says GOTOOLCHAIN=local.
export GOTOOLCHAIN := auto

.PHONY: build run test vet vulncheck fuzz bench clean

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/paasd ./cmd/paasd
	CGO_ENABLED=0 $(GO) build -o $(BIN)/paas ./cmd/paas

run: build
	./$(BIN)/paasd

vet:
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above"; exit 1)
	$(GO) vet ./...

test: vet
	$(GO) test -race -count=1 -timeout 60m ./...

vulncheck:
	bash .ci/vulncheck

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzSplit -fuzztime 20s ./shellwords
	$(GO) test -run '^$$' -fuzz FuzzParseProcfile -fuzztime 20s ./buildpacks

bench: build
	$(GO) run ./bench/push

clean:
	rm -rf $(BIN)
