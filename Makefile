# ttypong: Pong in a terminal against a neural network that learns as you play.
#
#   make              build ./ttypong
#   make play         install what is missing, build, and start the game
#   make test         install what is missing, build, and run every test,
#                     the C tests under AddressSanitizer and UBSan as well
#   make bench        print speed figures beside peers measured in the same run
#   make sanitize     build ./build/asan/ttypong with ASan and UBSan
#   make install      install under $(DESTDIR)$(PREFIX)
#   make clean        remove build output (saves are kept)
#
# Set CI=true to turn warnings into errors.

# The one place that names the release; -V, model.json and C headers show it.
VERSION := 0.1.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/ttypong
MANDIR ?= $(PREFIX)/share/man

PKGS := ncursesw sqlite3 jansson
TEST_PKGS := criterion

CFLAGS ?= -O2 -g
WARNINGS := -std=c11 -Wall -Wextra -pedantic
ifneq ($(CI),)
WARNINGS += -Werror
endif
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# pkg-config supplies every library's flags; ncursesw's also set the feature
# test macros (_DEFAULT_SOURCE, _XOPEN_SOURCE) that the whole program uses.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)
ALL_CFLAGS = $(WARNINGS) $(CFLAGS) $(PKG_CFLAGS) -Igame -Iai -MMD -MP \
	-DTTYPONG_DATADIR='"$(DATADIR)"' -DTTYPONG_VERSION='"$(VERSION)"'

LIB_SRC := $(filter-out game/main.c,$(wildcard game/*.c ai/*.c))
TEST_SRC := $(wildcard tests/*_test.c)
BENCH_SRC := $(wildcard tests/bench/*.c)

REL := build/release
SAN := build/asan

lib_objs = $(patsubst %.c,$(1)/%.o,$(LIB_SRC))

.PHONY: all play test test-c test-node test-term bench sanitize install uninstall clean deps test-deps
.DEFAULT_GOAL := all

all: ttypong

ttypong: $(REL)/ttypong
	cp $< $@

# Objects, per build variant.
$(REL)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(SAN)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) -c $< -o $@

$(REL)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests -c $< -o $@

$(SAN)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests $(SANITIZE) -c $< -o $@

$(REL)/libttypong.a: $(call lib_objs,$(REL))
	$(AR) rcs $@ $^

$(SAN)/libttypong.a: $(call lib_objs,$(SAN))
	$(AR) rcs $@ $^

$(REL)/ttypong: $(REL)/game/main.o $(REL)/libttypong.a
	$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@

$(SAN)/ttypong: $(SAN)/game/main.o $(SAN)/libttypong.a
	$(CC) $(CFLAGS) $(SANITIZE) $^ $(PKG_LIBS) -o $@

# All C tests link into one Criterion runner, so one summary line covers them.
# Criterion loads libnanomsg, whose exported nn_free and nn_strerror would
# otherwise bind to ours; hiding the archive's symbols keeps both apart.
TEST_LDFLAGS := -Wl,--exclude-libs,ALL

$(REL)/tests/unit: $(patsubst %.c,$(REL)/%.o,$(TEST_SRC)) $(REL)/libttypong.a
	$(CC) $(CFLAGS) $(TEST_LDFLAGS) $^ $(PKG_LIBS) $(TEST_LIBS) -o $@

$(SAN)/tests/unit: $(patsubst %.c,$(SAN)/%.o,$(TEST_SRC)) $(SAN)/libttypong.a
	$(CC) $(CFLAGS) $(SANITIZE) $(TEST_LDFLAGS) $^ $(PKG_LIBS) $(TEST_LIBS) -o $@

# Test-only program through which tests/js compares the network with TF.js.
$(REL)/tests/nn_driver: $(REL)/tests/js/nn_driver.o $(REL)/libttypong.a
	$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@

# The Node tests drive ttypong's TF.js import and export through this program.
$(REL)/tests/tfjs_driver: $(REL)/tests/js/tfjs_driver.o $(REL)/libttypong.a
	$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@

$(REL)/tests/bench/%: $(REL)/tests/bench/%.o $(REL)/libttypong.a
	$(CC) $(CFLAGS) $^ $(PKG_LIBS) -o $@

sanitize: $(SAN)/ttypong

# The data directory is compiled into the binary, so a build for another
# PREFIX must rebuild the code that looks for the web page there.
$(REL)/.datadir $(SAN)/.datadir: FORCE
	@mkdir -p $(@D)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' >$@

$(REL)/game/xfer.o: $(REL)/.datadir
$(SAN)/game/xfer.o: $(SAN)/.datadir

.PHONY: FORCE
FORCE:

# Set-up: .ci/deps installs missing Debian packages when run as root and
# otherwise prints the apt-get command to run, then fails.
deps:
	@sh .ci/deps build

test-deps:
	@sh .ci/deps test

play: deps
	@$(MAKE) --no-print-directory ttypong
	./ttypong play

test: test-deps
	@$(MAKE) --no-print-directory ttypong $(REL)/tests/unit $(SAN)/tests/unit $(SAN)/ttypong \
		$(REL)/tests/nn_driver $(REL)/tests/tfjs_driver
	@sh tests/run.sh

test-c: $(REL)/tests/unit $(SAN)/tests/unit
	@sh tests/run.sh c

bench: test-deps
	@$(MAKE) --no-print-directory ttypong $(patsubst %.c,$(REL)/%,$(BENCH_SRC))
	@sh tests/bench/run.sh

install: ttypong
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)/man6
	install -m 755 ttypong $(DESTDIR)$(BINDIR)/ttypong
	cp -R assets/. $(DESTDIR)$(DATADIR)/
	if [ -f assets/ttypong.6 ]; then install -m 644 assets/ttypong.6 $(DESTDIR)$(MANDIR)/man6/ttypong.6; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ttypong $(DESTDIR)$(MANDIR)/man6/ttypong.6
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build ttypong

-include $(shell find build -name '*.d' 2>/dev/null)
