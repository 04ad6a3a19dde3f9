# git-mlp build.  `make`, `make test`, `make demo`, `make install`.
# Knobs: prefix, DESTDIR, DEVELOPER=1 (warnings are errors),
#        SANITIZE=address,undefined (separate build directory),
#        STATIC_DEPS=auto|yes|no (link libgit2 and the other libraries
#        statically; see below).

prefix ?= /usr/local
bindir ?= $(prefix)/bin
mandir ?= $(prefix)/share/man
man1dir ?= $(mandir)/man1
# Completions.  bash-completion's pkg-config file names its directory; the
# prefix is rebased so that `make install prefix=...` stays inside prefix.
bashcompdir ?= $(shell pkg-config --define-variable=prefix=$(prefix) \
	--variable=completionsdir bash-completion 2>/dev/null || \
	echo $(prefix)/share/bash-completion/completions)
zshcompdir ?= $(prefix)/share/zsh/vendor-completions
fishcompdir ?= $(prefix)/share/fish/vendor_completions.d

CC ?= cc
CFLAGS ?= -O2 -g
PKGS := libgit2 msgpack libxxhash jansson yaml-0.1 libpcre2-8 zlib sqlite3

DEB_PKGS := gcc make pkg-config git python3 libgit2-dev libmsgpack-dev \
	libxxhash-dev libcmocka-dev libjansson-dev libyaml-dev libpcre2-dev zlib1g-dev \
	libsqlite3-dev
# e2e sync tests: smart HTTP through git http-backend as CGI (git daemon ships with git)
DEB_PKGS += lighttpd

ifdef SANITIZE
BUILD := build/san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD := build/default
SANFLAGS :=
endif

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wmissing-prototypes
ifdef DEVELOPER
WARN += -Werror
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread

# Start-up time (issue 2, docs/benchmarks.md): loading libgit2 as a shared
# library brings 24 more (its TLS, SSH and Kerberos dependencies), about
# 2.5 ms of relocations and page faults before main() on every command.
# With STATIC_DEPS, git-mlp links the archives of libgit2 and of the other
# libraries instead.  cmd/static/transports.c stands in for libgit2's SSH
# transport and Negotiate authentication, which git-mlp never uses, so
# neither libssh2, OpenSSL's libcrypto nor Kerberos (which Debian ships
# without archives) is linked.  The --wrap options let cmd/fastinit.c
# replace two steps of libgit2's global init.
# auto (the default, except for SANITIZE builds): static when Debian's
# archives are installed and the link works, else shared, with a note.
# The price: a security update of those libraries needs a rebuild.
# pack-relative-relocs (DT_RELR, binutils 2.38 and glibc 2.36) stores the
# relative relocations of the position-independent executable in a few
# KB instead of hundreds, which the dynamic loader reads at every start.
STATIC_ARCHIVES := git2 mbedtls mbedx509 mbedcrypto http_parser \
	pcre2-8 z msgpackc xxhash jansson yaml sqlite3
STATIC_WRAPS := mbedtls_x509_crt_parse_file mbedtls_havege_init mbedtls_havege_poll
STATIC_OBJ = $(BUILD)/cmd/static/transports.o
STATIC_LIBS = $(STATIC_WRAPS:%=-Wl,--wrap=%) -Wl,-z,pack-relative-relocs $(STATIC_OBJ) \
	-Wl,-Bstatic $(STATIC_ARCHIVES:%=-l%) -Wl,-Bdynamic -lm -lpthread -ldl
ifdef SANITIZE
STATIC_DEPS ?= no
else
STATIC_DEPS ?= auto
endif
ifeq ($(STATIC_DEPS),auto)
STATIC_MISSING := $(shell for a in $(STATIC_ARCHIVES:%=lib%.a); do \
	expr "`$(CC) -print-file-name=$$a`" : / >/dev/null || echo $$a; done)
ifneq ($(strip $(STATIC_MISSING)),)
STATIC_DEPS := no
endif
endif

ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) $(PKG_CFLAGS) -Ilib
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

LIB_SRC := $(sort $(wildcard lib/*.c))
CMD_SRC := $(sort $(wildcard cmd/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*_test.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

all: git-mlp

git-mlp: $(BUILD)/git-mlp
ifndef SANITIZE
	@cp $< $@
endif

$(BUILD)/git-mlp: $(CMD_OBJ) $(BUILD)/libmlp.a $(if $(filter no,$(STATIC_DEPS)),,$(STATIC_OBJ))
ifeq ($(STATIC_DEPS),no)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libmlp.a $(PKG_LIBS)
else ifeq ($(STATIC_DEPS),yes)
	$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libmlp.a $(STATIC_LIBS)
else
	@echo "$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libmlp.a $(STATIC_LIBS)"
	@$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libmlp.a $(STATIC_LIBS) 2>$@.static.log || { \
		echo "note: the static link failed ($@.static.log); linking the shared libraries"; \
		echo "$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libmlp.a $(PKG_LIBS)"; \
		$(CC) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libmlp.a $(PKG_LIBS); }
	@rm -f $@.static.log
endif

$(BUILD)/libmlp.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c $(wildcard lib/*.h) $(wildcard cmd/*.h) VERSION | check-seams
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DMLP_VERSION='"$(VERSION)"' -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libmlp.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(BUILD)/libmlp.a $(PKG_LIBS) $$(pkg-config --libs cmocka)

# The seam between the tool and the library (STYLE.md): lib/ never prints
# or exits, cmd/ never touches msgpack or xxHash directly.
check-seams:
	@if grep -nE '\b(printf|fprintf|puts|fputs|putchar|perror|exit|_exit|abort)[[:space:]]*\(' lib/*.c \
		| grep -v 'mlp-allow-seam' ; then \
		echo 'error: lib/ must not print or exit (see STYLE.md)'; exit 1; fi
	@if grep -nE '#include[[:space:]]*[<"](msgpack|xxhash|xxh3)' cmd/*.c cmd/*.h 2>/dev/null; then \
		echo 'error: cmd/ must not include msgpack or xxHash headers'; exit 1; fi

deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then \
		echo "note: not a Debian system; install: $(DEB_PKGS)"; exit 0; fi; \
	missing=; for p in $(DEB_PKGS) $(EXTRA_DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "missing packages; run: sudo apt-get install$$missing"; exit 1; \
	fi

unit: $(UNIT_BIN)

test: deps
	@$(MAKE) --no-print-directory all unit
	@MLP_BUILD=$(CURDIR)/$(BUILD) sh tests/run-tests.sh $(TESTS)

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo/demo.sh

bench: EXTRA_DEB_PKGS = hyperfine
bench: deps
	@$(MAKE) --no-print-directory all
	@sh tests/bench/run-overhead.sh

# Fuzzing (docs/security.md): libFuzzer from Debian's clang; the targets
# and the library built with ASan+UBSan into build/fuzz/, each target run
# for FUZZ_SECONDS (FUZZ_TARGETS: a subset by name, e.g. "record query").
FUZZ_DEB_PKGS := clang libclang-rt-14-dev
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all $(PKG_CFLAGS) -Ilib
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

build/fuzz/lib/%.o: lib/%.c $(wildcard lib/*.h) VERSION | check-seams
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DMLP_VERSION='"$(VERSION)"' -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)

.SECONDARY: $(FUZZ_LIB_OBJ)

fuzz: EXTRA_DEB_PKGS = $(FUZZ_DEB_PKGS)
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

bench-artifacts: EXTRA_DEB_PKGS = time git-lfs git-annex hyperfine
bench-artifacts: deps
	@$(MAKE) --no-print-directory all
	@sh tests/bench/artifact-ingest.sh

# Against DVC and MLflow (docs/benchmarks.md): a venv with the pinned
# dvc, dvclive and mlflow of tests/bench/peers/requirements.txt.
PEERS_VENV := build/peers-venv
bench-peers: EXTRA_DEB_PKGS = hyperfine
bench-peers: deps
	@$(MAKE) --no-print-directory all
	@test -x $(PEERS_VENV)/bin/python || python3 -m venv $(PEERS_VENV)
	@$(PEERS_VENV)/bin/pip install -q -r tests/bench/peers/requirements.txt
	@PEERS_VENV=$(CURDIR)/$(PEERS_VENV) sh tests/bench/peers/run.sh

doc:
	@$(MAKE) --no-print-directory -C docs

install: all
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(man1dir) \
		$(DESTDIR)$(bashcompdir) $(DESTDIR)$(zshcompdir) $(DESTDIR)$(fishcompdir)
	install -m 755 $(BUILD)/git-mlp $(DESTDIR)$(bindir)/git-mlp
	install -m 644 docs/*.1 $(DESTDIR)$(man1dir)/
	install -m 644 completions/git-mlp.bash $(DESTDIR)$(bashcompdir)/git-mlp
	install -m 644 completions/_git-mlp $(DESTDIR)$(zshcompdir)/_git-mlp
	install -m 644 completions/git-mlp.fish $(DESTDIR)$(fishcompdir)/git-mlp.fish

clean:
	rm -rf build git-mlp

.PHONY: all deps unit test demo bench bench-artifacts bench-peers fuzz fuzz-build doc install clean check-seams git-mlp
