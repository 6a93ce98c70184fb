# s3nbd — entry points. CMake builds underneath; see README.md.
#   make            build build/nbdkit-s3nbd-plugin.so and build/s3nbd
#   make deps       install the Debian packages (idempotent, root)
#   make check      the whole test suite: unit, ASan/UBSan unit, fuzz, units, the .deb,
#                   integration against Ceph RGW
#   make check-e2e  end-to-end: kernel nbd driver in a qemu guest, qemu's NBD disk, qemu-img
#   make check-fuzz build the libFuzzer targets (clang) and run each FUZZ_RUNS times
#   make check-thread-safety  compile everything with clang -Wthread-safety -Werror (build-tsa/)
#   make check-faults  reliability suite: S3 faults, outages, crashes, full disks, hostile input
#   make demo       the main job: local S3 server, a volume, ext4 on it, files written and read
#   make man        the man pages (docs/*.pod -> build/man/)
#   make install    plugin (into nbdkit's plugindir), CLI, man pages, systemd units,
#                   /etc/s3nbd/example.conf.sample (DESTDIR=, PLUGINDIR= to override)
#   make deb        the Debian package: build-deb/s3nbd_VERSION_amd64.deb (dpkg-buildpackage
#                   from debian/ in a copy of the tree under build-deb/; lintian runs on it)
#   make check-deb  builds the .deb and checks its contents and 'nbdkit s3nbd --help' from it
#   make bench      s3nbd next to nbdkit memory/file, s3backer and raw S3 (BENCH_QUICK=1: ~5 min)
#   make bench-smoke  a tiny bench run (<60 s): does the harness work?
BUILD ?= build
ASAN_BUILD ?= build-asan
TSA_BUILD ?= build-tsa
WERROR ?= $(if $(CI),ON,ON)
JOBS ?= $(shell nproc)
# one version: the top entry of debian/changelog
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
# nbdkit finds plugins by short name ('nbdkit s3nbd') in its compiled-in plugin directory
PLUGINDIR ?= $(shell pkg-config --variable=plugindir nbdkit 2>/dev/null || \
               echo /usr/lib/$$(dpkg-architecture -qDEB_HOST_MULTIARCH)/nbdkit/plugins)
UNITDIR ?= /lib/systemd/system
DEB_BUILD ?= build-deb

.PHONY: all deps build unit-tests check check-unit check-asan check-thread-safety check-integration check-e2e check-fuzz fuzzers \
        check-faults check-fuzz-xml faults-tools \
        demo clean install install-files man check-units deb check-deb \
        bench bench-deps bench-build bench-smoke

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DS3NBD_WERROR=$(WERROR) >/dev/null

build: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(BUILD) -j$(JOBS) nbdkit-s3nbd-plugin s3nbd s3nbd-test-encode-block s3nbd-test-object-store

unit-tests: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(BUILD) -j$(JOBS) unit_tests

check-unit: unit-tests
	$(BUILD)/unit_tests --gtest_brief=1

$(ASAN_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DS3NBD_SANITIZE=ON -DS3NBD_WERROR=$(WERROR) >/dev/null

check-asan: $(ASAN_BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(ASAN_BUILD) -j$(JOBS) unit_tests
	$(ASAN_BUILD)/unit_tests --gtest_brief=1

# The lock rules (GUARDED_BY/REQUIRES on cache/util/mutex.h's Mutex) checked by clang: the
# library, plugin, CLI and unit tests compiled with -Wthread-safety -Werror. Compiling is the
# check; nothing runs.
$(TSA_BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(TSA_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DS3NBD_WERROR=ON >/dev/null

check-thread-safety: $(TSA_BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(TSA_BUILD) -j$(JOBS) nbdkit-s3nbd-plugin s3nbd unit_tests

check-integration: build
	bash tests/run-integration.sh

# libFuzzer targets (tests/fuzz/*_fuzz.cc) built with clang from the few sources they need;
# each runs FUZZ_RUNS inputs from a fixed seed and its checked-in corpus (run longer by
# hand: make check-fuzz FUZZ_RUNS=10000000).
FUZZ_BUILD ?= build-fuzz
FUZZ_RUNS ?= 20000
FUZZ_CXX ?= clang++
FUZZ_TARGETS := block_decoder descriptor s3_xml credential_docs cache_format_v4 generation_decoder \
                segment_decoder manifest_decoder
FUZZ_SOURCES := cache/codec/block_codec.cc cache/codec/zstd_frame.cc cache/codec/aes_gcm.cc cache/codec/volume_key.cc cache/volume/volume_descriptor.cc cache/s3/block_key.cc \
                cache/versioned/generation_codec.cc cache/versioned/object_subkey.cc \
                cache/s3/s3_xml.cc cache/s3/flat_json.cc cache/s3/credentials.cc \
                cache/s3/process_credential_provider.cc cache/s3/imds_credential_provider.cc \
                cache/s3/sts_client.cc cache/s3/credential_http.cc cache/s3/env_credential_provider.cc \
                cache/s3/sigv4.cc cache/s3/s3_url.cc cache/s3/curl_handle_pool.cc cache/s3/tls_failure.cc \
                cache/local/cache_format.cc cache/local/cache_format_v4.cc cache/local/sector_set.cc \
                cache/versioned/segment_format.cc cache/versioned/shard_object.cc \
                cache/versioned/manifest_root.cc cache/versioned/checkpoint_pointer.cc
FUZZ_HEADERS := $(wildcard cache/*.h cache/*/*.h)

# The sources are compiled once (instrumented for coverage: fuzzer-no-link) and every target
# links them, instead of each target compiling all of them again.
FUZZ_FLAGS := -std=c++20 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -I.
FUZZ_OBJS := $(FUZZ_SOURCES:%.cc=$(FUZZ_BUILD)/obj/%.o)
.SECONDARY: $(FUZZ_OBJS)  # kept: made by a pattern rule, make would delete them after the link

$(FUZZ_BUILD)/obj/%.o: %.cc $(FUZZ_HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/%_fuzz: tests/fuzz/%_fuzz.cc $(FUZZ_OBJS) $(FUZZ_HEADERS)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@ \
	  $$(pkg-config --libs openssl libzstd libxxhash libcurl)

fuzzers: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%_fuzz)

check-fuzz: fuzzers
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$t; \
	  echo "fuzz $$t: $(FUZZ_RUNS) runs"; \
	  $(FUZZ_BUILD)/$${t}_fuzz -runs=$(FUZZ_RUNS) -seed=1 -max_len=9000 $(FUZZ_BUILD)/corpus-$$t tests/fuzz/corpus/$$t \
	    >$(FUZZ_BUILD)/$$t.log 2>&1 || { tail -n 40 $(FUZZ_BUILD)/$$t.log; echo "fuzz $$t: FAILED"; exit 1; }; \
	  tail -n 1 $(FUZZ_BUILD)/$$t.log; \
	done

# the S3 XML parser's target alone (run by check-faults)
check-fuzz-xml:
	@$(MAKE) --no-print-directory check-fuzz FUZZ_TARGETS=s3_xml

# the reliability suite's own tools (the power-cut test's FUSE file system; needs libfuse3-dev)
faults-tools: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(BUILD) -j$(JOBS) s3nbd-test-lazyfs

check-faults: deps build faults-tools check-fuzz-xml
	bash tests/faults/run-faults.sh

check: deps
	@$(MAKE) --no-print-directory build unit-tests
	@$(MAKE) --no-print-directory check-unit check-asan check-thread-safety check-fuzz check-units check-deb \
	  check-integration

check-e2e: deps
	@$(MAKE) --no-print-directory build
	bash tests/e2e/run-e2e.sh

# systemd-analyze verify of systemd/*.service in a throw-away root
check-units: build man
	bash scripts/check-units.sh $(BUILD)

MANPAGES = $(BUILD)/man/s3nbd.8 $(BUILD)/man/nbdkit-s3nbd-plugin.1
man: $(MANPAGES)

$(BUILD)/man/%.8: docs/%.pod
	@mkdir -p $(dir $@)
	@podchecker -warnings $<
	pod2man --section=8 --center="s3nbd" --release="s3nbd $(VERSION)" --name=$(shell echo $* | tr a-z A-Z) $< $@

$(BUILD)/man/%.1: docs/%.pod
	@mkdir -p $(dir $@)
	@podchecker -warnings $<
	pod2man --section=1 --center="s3nbd" --release="s3nbd $(VERSION)" --name=$(shell echo $* | tr a-z A-Z) $< $@

demo: deps build
	bash scripts/demo.sh

bench-deps:
	@bash bench/install-deps.sh

bench-build: $(BUILD)/Makefile
	@$(MAKE) --no-print-directory -C $(BUILD) -j$(JOBS) nbdkit-s3nbd-plugin s3nbd s3load s3nbd-bench-fileio

bench: bench-deps
	@$(MAKE) --no-print-directory bench-build
	bash bench/run.sh

bench-smoke: bench-deps
	@$(MAKE) --no-print-directory bench-build
	BENCH_SMOKE=1 bash bench/run.sh

install: build man
	@$(MAKE) --no-print-directory install-files

# the files alone, from an existing build (debian/rules calls this with its own BUILD)
install-files:
	install -D -m 0644 $(BUILD)/nbdkit-s3nbd-plugin.so $(DESTDIR)$(PLUGINDIR)/nbdkit-s3nbd-plugin.so
	install -D -m 0755 $(BUILD)/s3nbd $(DESTDIR)/usr/bin/s3nbd
	install -D -m 0644 $(BUILD)/man/s3nbd.8 $(DESTDIR)/usr/share/man/man8/s3nbd.8
	install -D -m 0644 $(BUILD)/man/nbdkit-s3nbd-plugin.1 $(DESTDIR)/usr/share/man/man1/nbdkit-s3nbd-plugin.1
	for u in systemd/*.service; do install -D -m 0644 $$u $(DESTDIR)$(UNITDIR)/$$(basename $$u); done
	install -D -m 0644 systemd/example.conf.sample $(DESTDIR)/etc/s3nbd/example.conf.sample

# dpkg-buildpackage writes its results into the parent of the source tree: build in a copy
# of the tree (tracked and untracked-but-not-ignored files) under $(DEB_BUILD)/, so the
# checkout stays clean and the .deb lands at $(DEB_BUILD)/s3nbd_$(VERSION)_amd64.deb.
deb:
	@rm -rf $(DEB_BUILD)/src $(DEB_BUILD)/*.deb $(DEB_BUILD)/*.changes $(DEB_BUILD)/*.buildinfo
	@mkdir -p $(DEB_BUILD)/src
	git ls-files -z --cached --others --exclude-standard | \
	  xargs -0 -I{} sh -c 'test ! -e "{}" || cp -a --parents "{}" $(DEB_BUILD)/src/'
	cd $(DEB_BUILD)/src && dpkg-buildpackage -us -uc -b -J$(JOBS) >../dpkg-buildpackage.log 2>&1 || \
	  { tail -n 40 ../dpkg-buildpackage.log; exit 1; }
	@rm -rf $(DEB_BUILD)/src
	@if command -v lintian >/dev/null; then lintian --fail-on error,warning \
	  $(DEB_BUILD)/s3nbd_$(VERSION)_*.changes; else echo "deb: lintian not installed (make deps)"; fi
	@ls -l $(DEB_BUILD)/*.deb

check-deb: deps
	bash scripts/check-deb.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSA_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
